//! In-memory stand-ins for the ports, for unit tests of the decisions (the real table, EMR and Step Functions run in
//! tests/statemachine).

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use dfr_core::plan::{AddJobFlowStepsRequest, RunJobFlowRequest};
use dfr_core::status::Mode;
use dfr_core::status::StepOutcome;
use serde_json::json;
use serde_json::Value;

use crate::check::CheckEvent;
use dfr_core::cost::{PriceBook, RunCost};

use crate::emr::{
    ClusterInfo, ClusterInstance, ClusterSummary, ClusterUsage, Emr, Market, StepCancellation,
    StepInfo,
};
use crate::error::Error;
use crate::prices::PriceSource;
use crate::serverless::run_end::{RunNote, ServerlessRuns};
use crate::unfinished::{UnfinishedRun, UnfinishedRuns};
use crate::wait::{Answering, Callbacks, Delivery, Wait, Waits};
use dfr_core::serverless::status::ServerlessRunCost;

pub const CLUSTER: &str = "j-1ABCDEFGHIJKL";

/// One cluster's state and steps (DescribeCluster, ListSteps, counted in `calls`), a listing (`listed`, for
/// ListClusters) and the clusters terminated.
#[derive(Default)]
pub struct FakeEmr {
    pub state: RefCell<String>,
    pub steps: RefCell<Vec<(String, String)>>,
    pub calls: Cell<usize>,
    pub listed: RefCell<Vec<ClusterSummary>>,
    pub terminated: RefCell<Vec<String>>,
    /// What `cluster_usage` answers (ClusterNotFound when `None`).
    pub usage: RefCell<Option<ClusterUsage>>,
}

impl Emr for &FakeEmr {
    async fn list_clusters(
        &self,
        _: Option<DateTime<Utc>>,
        states: &[&str],
    ) -> Result<Vec<ClusterSummary>, Error> {
        Ok(self
            .listed
            .borrow()
            .iter()
            .filter(|c| states.is_empty() || states.contains(&c.state.as_str()))
            .cloned()
            .collect())
    }
    async fn describe_cluster(&self, id: &str) -> Result<ClusterInfo, Error> {
        self.calls.set(self.calls.get() + 1);
        Ok(ClusterInfo {
            id: id.into(),
            name: "nightly".into(),
            state: self.state.borrow().clone(),
            reason_code: Some("ALL_STEPS_COMPLETED".into()),
            reason_message: None,
            tags: vec![],
            log_uri: None,
            created_at: None,
            availability_zone: None,
            normalized_instance_hours: None,
            instance_fleets: false,
        })
    }
    async fn run_job_flow(&self, _: &RunJobFlowRequest) -> Result<String, Error> {
        unreachable!("the router and the reconciler never launch")
    }
    async fn add_job_flow_steps(&self, _: &AddJobFlowStepsRequest) -> Result<Vec<String>, Error> {
        unreachable!("the router and the reconciler never add steps")
    }
    async fn list_steps(
        &self,
        _: &str,
        ids: Option<&[String]>,
        _: Option<DateTime<Utc>>,
    ) -> Result<Vec<StepInfo>, Error> {
        self.calls.set(self.calls.get() + 1);
        Ok(self
            .steps
            .borrow()
            .iter()
            .filter(|(id, _)| ids.is_none_or(|ids| ids.contains(id)))
            .map(|(id, state)| StepInfo {
                outcome: StepOutcome {
                    name: id.clone(),
                    id: id.clone(),
                    state: state.clone(),
                    start: None,
                    end: None,
                    duration_seconds: None,
                    failure: None,
                },
                created_at: None,
            })
            .collect())
    }
    async fn terminate_job_flows(&self, id: &str) -> Result<(), Error> {
        self.terminated.borrow_mut().push(id.to_string());
        Ok(())
    }
    async fn cancel_steps(&self, _: &str, _: &[String]) -> Result<Vec<StepCancellation>, Error> {
        unreachable!("the router and the reconciler never cancel steps")
    }
    async fn cluster_usage(&self, cluster: &ClusterInfo) -> Result<ClusterUsage, Error> {
        self.calls.set(self.calls.get() + 1);
        self.usage.borrow().clone().ok_or_else(|| {
            Error::ClusterNotFound(format!("no usage of {} in this test", cluster.id))
        })
    }
}

/// A cluster in `state` whose one m5.xlarge lived from 10:00 to 10:40.
pub fn cluster(state: &str) -> FakeEmr {
    let emr = FakeEmr::default();
    emr.state.replace(state.into());
    emr.usage.replace(Some(ClusterUsage {
        cluster_id: CLUSTER.into(),
        state: state.into(),
        availability_zone: None,
        normalized_instance_hours: Some(8),
        instances: vec![ClusterInstance {
            id: "ci-1".into(),
            ec2_instance_id: None,
            role: Some("MASTER".into()),
            instance_type: "m5.xlarge".into(),
            market: Market::OnDemand,
            state: "TERMINATED".into(),
            created_at: Some("2026-12-02T10:00:00Z".parse().unwrap()),
            ready_at: None,
            ended_at: Some("2026-12-02T10:40:00Z".parse().unwrap()),
            volumes: vec![],
        }],
    }));
    emr
}

#[derive(Default)]
pub struct FakeTable {
    pub waits: RefCell<HashMap<String, Wait>>,
    pub note: Cell<Option<DateTime<Utc>>>,
    /// Unfinished runs by cluster, and the costs recorded for them.
    pub unfinished: RefCell<HashMap<String, UnfinishedRun>>,
    pub recorded: RefCell<HashMap<String, RunCost>>,
    /// Serverless runs by application: the note, and the cost once recorded.
    pub serverless: RefCell<HashMap<String, ServerlessItem>>,
}

/// A serverless run's item: its note, and its cost once recorded.
pub type ServerlessItem = (RunNote, Option<ServerlessRunCost>);

impl ServerlessRuns for FakeTable {
    async fn note_application(&self, note: &RunNote, _: DateTime<Utc>) -> Result<(), Error> {
        self.serverless
            .borrow_mut()
            .entry(note.application_id.clone())
            .or_insert_with(|| (note.clone(), None));
        Ok(())
    }
    async fn application_noted(&self, application_id: &str) -> Result<bool, Error> {
        Ok(self.serverless.borrow().contains_key(application_id))
    }
    async fn record_application(
        &self,
        note: &RunNote,
        cost: &ServerlessRunCost,
        _: DateTime<Utc>,
    ) -> Result<bool, Error> {
        let mut items = self.serverless.borrow_mut();
        if matches!(items.get(&note.application_id), Some((_, Some(_)))) {
            return Ok(false);
        }
        items.insert(
            note.application_id.clone(),
            (note.clone(), Some(cost.clone())),
        );
        Ok(true)
    }
}

impl UnfinishedRuns for FakeTable {
    async fn note(&self, run: &UnfinishedRun, _: DateTime<Utc>) -> Result<(), Error> {
        self.unfinished
            .borrow_mut()
            .entry(run.cluster_id.clone())
            .or_insert_with(|| run.clone());
        Ok(())
    }
    async fn unrecorded_of(&self, cluster_id: &str) -> Result<Option<UnfinishedRun>, Error> {
        Ok(self
            .unfinished
            .borrow()
            .get(cluster_id)
            .filter(|_| !self.recorded.borrow().contains_key(cluster_id))
            .cloned())
    }
    async fn unrecorded(&self) -> Result<Vec<UnfinishedRun>, Error> {
        let recorded = self.recorded.borrow();
        Ok(self
            .unfinished
            .borrow()
            .values()
            .filter(|r| !recorded.contains_key(&r.cluster_id))
            .cloned()
            .collect())
    }
    async fn record(
        &self,
        run: &UnfinishedRun,
        cost: &RunCost,
        _: DateTime<Utc>,
    ) -> Result<bool, Error> {
        if !self.unfinished.borrow().contains_key(&run.cluster_id) {
            return Ok(false);
        }
        let mut recorded = self.recorded.borrow_mut();
        if recorded.contains_key(&run.cluster_id) {
            return Ok(false);
        }
        recorded.insert(run.cluster_id.clone(), cost.clone());
        Ok(true)
    }
}

impl Waits for FakeTable {
    async fn put(&self, wait: &Wait, _: DateTime<Utc>) -> Result<(), Error> {
        let mut waits = self.waits.borrow_mut();
        let steps_ended = waits
            .get(&wait.execution)
            .map(|w| w.steps_ended.clone())
            .unwrap_or_default();
        waits.insert(
            wait.execution.clone(),
            Wait {
                steps_ended,
                ..wait.clone()
            },
        );
        Ok(())
    }
    async fn all(&self) -> Result<Vec<Wait>, Error> {
        Ok(self.waits.borrow().values().cloned().collect())
    }
    async fn last_event(&self, _: &str) -> Result<Option<DateTime<Utc>>, Error> {
        Ok(self.note.get())
    }
    async fn note_event(&self, _: &str, at: DateTime<Utc>) -> Result<(), Error> {
        self.note.set(Some(at));
        Ok(())
    }
    async fn waiting_on(&self, subject: &str) -> Result<Vec<Wait>, Error> {
        Ok(self
            .waits
            .borrow()
            .values()
            .filter(|w| w.subject == subject)
            .cloned()
            .collect())
    }
    async fn step_ended(
        &self,
        wait: &Wait,
        step_id: &str,
    ) -> Result<Option<BTreeSet<String>>, Error> {
        let mut waits = self.waits.borrow_mut();
        Ok(waits
            .get_mut(&wait.execution)
            .filter(|w| w.token == wait.token)
            .map(|w| {
                w.steps_ended.insert(step_id.to_string());
                w.steps_ended.clone()
            }))
    }
    async fn remove(&self, wait: &Wait) -> Result<(), Error> {
        let mut waits = self.waits.borrow_mut();
        if waits
            .get(&wait.execution)
            .is_some_and(|w| w.token == wait.token)
        {
            waits.remove(&wait.execution);
        }
        Ok(())
    }
}

/// Step Functions: each token can be answered once; later answers find it dead. With `refuse`, every answer is
/// refused as IAM would without SendTaskSuccess.
#[derive(Default)]
pub struct FakeCallbacks {
    pub answered: RefCell<Vec<(String, Value)>>,
    pub refuse: Cell<bool>,
}

impl Callbacks for FakeCallbacks {
    async fn succeed(&self, token: &str, output: &Value) -> Result<Delivery, Error> {
        if self.refuse.get() {
            return Err(Error::AccessDenied(
                "SendTaskSuccess: not authorized to perform: states:SendTaskSuccess".into(),
            ));
        }
        let mut answered = self.answered.borrow_mut();
        if answered.iter().any(|(t, _)| t == token) {
            return Ok(Delivery::Stale);
        }
        answered.push((token.to_string(), output.clone()));
        Ok(Delivery::Delivered)
    }
}

pub fn now() -> DateTime<Utc> {
    "2026-12-02T12:00:00Z".parse().unwrap()
}

pub fn answering<'a>(
    table: &'a FakeTable,
    sfn: &'a FakeCallbacks,
) -> Answering<'a, FakeTable, FakeCallbacks, NoPrices> {
    Answering {
        waits: table,
        callbacks: sfn,
        prices: &NoPrices,
        now: now(),
        jitter: 0.0,
    }
}

/// Prices that cannot be read: a cost then has its instance-hours and `pricesUnavailable`.
pub struct NoPrices;

impl PriceSource for NoPrices {
    async fn price_book(
        &self,
        _region: Option<&str>,
        _usage: &ClusterUsage,
        _now: DateTime<Utc>,
    ) -> Result<PriceBook, String> {
        Err("no prices in this test".into())
    }
}

pub fn request(mode: Mode, step_ids: &[&str]) -> CheckEvent {
    serde_json::from_value(json!({
        "clusterId": CLUSTER, "mode": mode, "stepIds": step_ids,
        "since": "2026-12-02T10:00:00Z", "previous": {"clusterState": "RUNNING", "pollsSinceSteps": 0}
    }))
    .unwrap()
}

/// EMR Serverless in memory: applications (state, tags; AccessDenied for one not tagged managed, as the stack's IAM
/// answers), their job runs (state, tags), and the writes made. States change only when a test sets them.
/// (application id, state, tags).
pub type FakeApplication = (String, String, Vec<(String, String)>);
/// (application id, job run id, state, tags).
pub type FakeJobRun = (String, String, String, Vec<(String, String)>);

#[derive(Default)]
pub struct FakeServerless {
    pub apps: RefCell<Vec<FakeApplication>>,
    pub jobs: RefCell<Vec<FakeJobRun>>,
    pub writes: RefCell<Vec<String>>,
    /// GetJobRun calls.
    pub reads: Cell<u32>,
}

impl FakeServerless {
    pub fn set_app(&self, id: &str, state: &str) {
        for a in self.apps.borrow_mut().iter_mut().filter(|a| a.0 == id) {
            a.1 = state.into();
        }
    }

    pub fn set_job(&self, id: &str, state: &str) {
        for j in self.jobs.borrow_mut().iter_mut().filter(|j| j.1 == id) {
            j.2 = state.into();
        }
    }

    pub fn app_state(&self, id: &str) -> String {
        self.apps
            .borrow()
            .iter()
            .find(|a| a.0 == id)
            .unwrap()
            .1
            .clone()
    }
}

impl crate::serverless::EmrServerless for &FakeServerless {
    async fn create_application(&self, _: &Value, _: &str) -> Result<String, Error> {
        unimplemented!()
    }
    async fn get_application(&self, id: &str) -> Result<crate::serverless::ApplicationInfo, Error> {
        let apps = self.apps.borrow();
        let (id, state, tags) = apps
            .iter()
            .find(|a| a.0 == id)
            .ok_or_else(|| Error::ClusterNotFound(id.into()))?;
        if crate::emr::tag(tags, crate::run::TAG_MANAGED) != Some("true") {
            return Err(Error::AccessDenied(format!("not allowed on {id}")));
        }
        Ok(crate::serverless::ApplicationInfo {
            id: id.clone(),
            name: None,
            state: state.clone(),
            state_details: None,
            release_label: "emr-7.5.0".into(),
            kind: "SPARK".into(),
            architecture: None,
            tags: tags.clone(),
            created_at: None,
            updated_at: None,
        })
    }
    async fn start_application(&self, _: &str) -> Result<(), Error> {
        unimplemented!()
    }
    async fn stop_application(&self, id: &str) -> Result<(), Error> {
        self.writes.borrow_mut().push(format!("stop {id}"));
        self.set_app(id, "STOPPING");
        Ok(())
    }
    async fn delete_application(&self, id: &str) -> Result<(), Error> {
        self.writes.borrow_mut().push(format!("delete {id}"));
        self.set_app(id, "TERMINATED");
        Ok(())
    }
    async fn start_job_run(&self, _: &str, _: &Value, _: &str) -> Result<String, Error> {
        unimplemented!()
    }
    async fn get_job_run(
        &self,
        application_id: &str,
        job_run_id: &str,
    ) -> Result<crate::serverless::JobRunInfo, Error> {
        self.reads.set(self.reads.get() + 1);
        let jobs = self.jobs.borrow();
        let (_, id, state, tags) = jobs
            .iter()
            .find(|j| j.0 == application_id && j.1 == job_run_id)
            .ok_or_else(|| Error::ClusterNotFound(job_run_id.into()))?;
        Ok(crate::serverless::JobRunInfo {
            application_id: application_id.into(),
            id: id.clone(),
            name: None,
            state: state.clone(),
            state_details: None,
            billed: None,
            total: None,
            total_execution_duration_seconds: None,
            created_at: None,
            updated_at: None,
            started_at: None,
            ended_at: None,
            log_uri: None,
            tags: tags.clone(),
        })
    }
    async fn cancel_job_run(&self, _: &str, job_run_id: &str) -> Result<(), Error> {
        self.writes
            .borrow_mut()
            .push(format!("cancel {job_run_id}"));
        self.set_job(job_run_id, "CANCELLING");
        Ok(())
    }
    async fn list_applications(
        &self,
        states: &[&str],
    ) -> Result<Vec<crate::serverless::ApplicationSummary>, Error> {
        Ok(self
            .apps
            .borrow()
            .iter()
            .filter(|a| states.is_empty() || states.contains(&a.1.as_str()))
            .map(|a| crate::serverless::ApplicationSummary {
                id: a.0.clone(),
                state: a.1.clone(),
                created_at: None,
            })
            .collect())
    }
    async fn list_job_runs(
        &self,
        application_id: &str,
        states: &[&str],
    ) -> Result<Vec<crate::serverless::JobRunSummary>, Error> {
        Ok(self
            .jobs
            .borrow()
            .iter()
            .filter(|j| {
                j.0 == application_id && (states.is_empty() || states.contains(&j.2.as_str()))
            })
            .map(|j| crate::serverless::JobRunSummary {
                id: j.1.clone(),
                name: None,
                state: j.2.clone(),
                state_details: None,
                created_at: None,
            })
            .collect())
    }
}
