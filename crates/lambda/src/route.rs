//! event-router: EMR's `EMR Cluster State Change` and `EMR Step Status Change` events, and EMR Serverless's `EMR
//! Serverless Job Run State Change` (EventBridge, best effort), end the waits of the runs they concern (see
//! [`crate::wait`]).
//!
//! For each event: note it against its subject (the cluster, or the job run), find the executions waiting on it,
//! and for each wait the event can matter to (a decisive cluster state for its mode; for a `run` wait, the last of
//! its own steps ending; a job run's final state) check exactly as check-status would, answering the token if the
//! wait is over. Events nobody waits on, events that cannot end a wait, stale and duplicate events cost no call and
//! answer nothing. Every EMR or EMR Serverless call goes to a cluster or job run one of this stack's executions
//! registered, never to the one an event names alone.
//!
//! A cluster's end also records the cost of the run that left it, when that run ended without finishing and the
//! cleanup path noted it ([`crate::unfinished`]).

use dfr_core::serverless::status::JobRunPhase;
use dfr_core::status::{decisive_cluster_states, Mode, CLUSTER_ENDED, STEP_FINAL};
use serde::Serialize;
use serde_json::Value;

use crate::emr::Emr;
use crate::error::Error;
use crate::event::is_cluster_id;
use crate::prices::PriceSource;
use crate::serverless::{is_resource_id, EmrServerless};
use crate::unfinished::{record_cost, Recorded, UnfinishedRuns};
use crate::wait::{job_run_key, Answering, Callbacks, Delivery, Wait, WaitRequest, Waits};

/// The fields of an EMR or EMR Serverless event the router reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmrEvent {
    Cluster {
        cluster_id: String,
        state: String,
    },
    Step {
        cluster_id: String,
        step_id: String,
        state: String,
    },
    JobRun {
        application_id: String,
        job_run_id: String,
        state: String,
    },
}

/// The fields of an event the router reads.
fn field(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

impl EmrEvent {
    /// The event, or why it is not one the router acts on (anything can be sent to a function).
    pub fn parse(event: &Value) -> Result<Self, String> {
        match field(event, "source").as_deref() {
            Some("aws.emr") => Self::parse_emr(event),
            Some("aws.emr-serverless") => Self::parse_serverless(event),
            _ => Err("not an aws.emr or aws.emr-serverless event".into()),
        }
    }

    fn parse_serverless(event: &Value) -> Result<Self, String> {
        if field(event, "detail-type").as_deref() != Some("EMR Serverless Job Run State Change") {
            return Err("a detail-type the router does not handle".into());
        }
        let detail = event.get("detail").ok_or("no detail")?;
        let id = |key: &str| -> Result<String, String> {
            let id = field(detail, key).ok_or(format!("no detail.{key}"))?;
            if is_resource_id(&id) {
                Ok(id)
            } else {
                Err(format!("detail.{key} is not an EMR Serverless id"))
            }
        };
        Ok(Self::JobRun {
            application_id: id("applicationId")?,
            job_run_id: id("jobRunId")?,
            state: field(detail, "state").ok_or("no detail.state")?,
        })
    }

    fn parse_emr(event: &Value) -> Result<Self, String> {
        let detail = event.get("detail").ok_or("no detail")?;
        let cluster_id = field(detail, "clusterId").ok_or("no detail.clusterId")?;
        if !is_cluster_id(&cluster_id) {
            return Err("detail.clusterId is not a cluster id".into());
        }
        let state = field(detail, "state").ok_or("no detail.state")?;
        match field(event, "detail-type").as_deref() {
            Some("EMR Cluster State Change") => Ok(Self::Cluster { cluster_id, state }),
            Some("EMR Step Status Change") => {
                let step_id = field(detail, "stepId").ok_or("no detail.stepId")?;
                Ok(Self::Step {
                    cluster_id,
                    step_id,
                    state,
                })
            }
            _ => Err("a detail-type the router does not handle".into()),
        }
    }

    /// What the event is about, as waits are stored against it ([`Wait::subject`]).
    pub fn subject(&self) -> String {
        match self {
            Self::Cluster { cluster_id, .. } | Self::Step { cluster_id, .. } => cluster_id.clone(),
            Self::JobRun {
                application_id,
                job_run_id,
                ..
            } => job_run_key(application_id, job_run_id),
        }
    }
}

/// What the router did with one event.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Routed {
    /// Why the event was not acted on at all, if it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored: Option<String>,
    /// Executions waiting on the cluster.
    pub waits: usize,
    /// Waits the event could end, so checked.
    pub checked: usize,
    /// Tokens answered (`delivered`) and tokens found dead.
    pub delivered: usize,
    pub stale: usize,
    /// Whether this event recorded the cost of a run that ended without finishing (its cluster has ended).
    pub cost_recorded: bool,
}

/// Whether `event` can end `wait`: a decisive cluster state for its mode, or (a `run` wait) the last of its steps
/// ending. Steps are recorded as they end, so a lost step event only delays the end to the next one or the backstop.
async fn can_end(event: &EmrEvent, wait: &Wait, waits: &impl Waits) -> Result<bool, Error> {
    let request = match (&wait.request, event) {
        (WaitRequest::JobRun(_), EmrEvent::JobRun { state, .. }) => {
            return Ok(JobRunPhase::of(state).is_final())
        }
        (WaitRequest::Cluster(request), EmrEvent::Cluster { .. } | EmrEvent::Step { .. }) => {
            request
        }
        // A subject is a cluster's or a job run's, never both.
        _ => return Ok(false),
    };
    match event {
        EmrEvent::Cluster { state, .. } => {
            Ok(decisive_cluster_states(request.mode).contains(&state.as_str()))
        }
        EmrEvent::Step { step_id, state, .. } => {
            if request.mode != Mode::Run
                || !STEP_FINAL.contains(&state.as_str())
                || !request.step_ids.contains(step_id)
            {
                return Ok(false);
            }
            Ok(match waits.step_ended(wait, step_id).await? {
                Some(ended) => request.step_ids.iter().all(|id| ended.contains(id)),
                None => false,
            })
        }
        EmrEvent::JobRun { .. } => Ok(false),
    }
}

/// What one event did to one wait.
enum Handled {
    /// The event cannot end it: no EMR call.
    NotDecisive,
    /// Checked: the run goes on, the wait stays.
    GoesOn,
    /// Checked: the run is over, its token answered.
    Answered(Delivery),
}

/// The EMR and EMR Serverless ports of a region (`None`: the functions' own): the wait's own region, as
/// check-status would use it.
pub struct Regional<FE, FS> {
    pub emr: FE,
    pub serverless: FS,
}

async fn handle<E, S, FE, FS, W, C, P>(
    event: &EmrEvent,
    wait: &Wait,
    ports: &Regional<FE, FS>,
    with: &Answering<'_, W, C, P>,
) -> Result<Handled, Error>
where
    E: Emr,
    S: EmrServerless,
    FE: Fn(Option<&str>) -> E,
    FS: Fn(Option<&str>) -> S,
    W: Waits,
    C: Callbacks,
    P: PriceSource,
{
    if !can_end(event, wait, with.waits).await? {
        return Ok(Handled::NotDecisive);
    }
    let region = wait.request.region();
    let delivery = match &wait.request {
        WaitRequest::Cluster(_) => with
            .check_and_answer(wait, &(ports.emr)(region))
            .await?
            .map(|(delivery, _)| delivery),
        WaitRequest::JobRun(_) => with
            .check_and_answer_job_run(wait, &(ports.serverless)(region))
            .await?
            .map(|(delivery, _)| delivery),
    };
    Ok(match delivery {
        None => Handled::GoesOn,
        Some(delivery) => Handled::Answered(delivery),
    })
}

/// Handles one event. `ports` give the EMR and EMR Serverless ports of a region.
/// Goes through every wait even when one fails, then reports the first failure (EventBridge's asynchronous
/// invocation then tries the event again; answering again is harmless).
pub async fn route<E, S, FE, FS, W, C, P>(
    event: &Value,
    ports: &Regional<FE, FS>,
    with: &Answering<'_, W, C, P>,
) -> Result<Routed, Error>
where
    E: Emr,
    S: EmrServerless,
    FE: Fn(Option<&str>) -> E,
    FS: Fn(Option<&str>) -> S,
    W: Waits + UnfinishedRuns,
    C: Callbacks,
    P: PriceSource,
{
    let event = match EmrEvent::parse(event) {
        Ok(e) => e,
        Err(why) => {
            tracing::info!(%why, "event ignored");
            return Ok(Routed {
                ignored: Some(why),
                ..Routed::default()
            });
        }
    };
    let subject = event.subject();
    with.waits.note_event(&subject, with.now).await?;
    let found = with.waits.waiting_on(&subject).await?;
    let mut routed = Routed {
        waits: found.len(),
        ..Routed::default()
    };
    let mut first_error = None;
    for wait in &found {
        match handle(&event, wait, ports, with).await {
            Ok(Handled::NotDecisive) => {}
            Ok(Handled::GoesOn) => routed.checked += 1,
            Ok(Handled::Answered(delivery)) => {
                routed.checked += 1;
                match delivery {
                    Delivery::Delivered => routed.delivered += 1,
                    Delivery::Stale => routed.stale += 1,
                }
            }
            Err(e) => {
                tracing::warn!(execution = %wait.execution, error = %e, "a wait could not be checked");
                first_error.get_or_insert(e);
            }
        }
    }
    if let EmrEvent::Cluster { cluster_id, state } = &event {
        if CLUSTER_ENDED.contains(&state.as_str()) {
            match record_unfinished(cluster_id, &ports.emr, with).await {
                Ok(recorded) => routed.cost_recorded = recorded,
                Err(e) => {
                    tracing::warn!(%cluster_id, error = %e, "the cost of the run that left the cluster could not be recorded");
                    first_error.get_or_insert(e);
                }
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(routed),
    }
}

/// Records the final cost of the run that ended without finishing and left `cluster_id`, if the cleanup noted one
/// (one GetItem; EMR is called only for a noted cluster, in the noted region).
async fn record_unfinished<E: Emr, W: UnfinishedRuns, C, P: PriceSource>(
    cluster_id: &str,
    emr: &impl Fn(Option<&str>) -> E,
    with: &Answering<'_, W, C, P>,
) -> Result<bool, Error> {
    let Some(run) = with.waits.unrecorded_of(cluster_id).await? else {
        return Ok(false);
    };
    let recorded = record_cost(
        &run,
        &emr(run.region.as_deref()),
        with.waits,
        with.prices,
        with.now,
    )
    .await?;
    Ok(matches!(recorded, Recorded::Now(_)))
}

#[cfg(test)]
mod tests {
    //! The routing and registration logic over in-memory ports (the real table, EMR and Step Functions run in
    //! tests/statemachine: callbacks.test.mjs, events.test.mjs).
    use std::collections::BTreeSet;

    use dfr_core::status::Mode;
    use serde_json::{json, Value};

    use super::*;
    use crate::fakes::{
        answering as with, request, FakeCallbacks, FakeEmr, FakeServerless, FakeTable, CLUSTER,
    };

    fn waiting(table: &FakeTable, execution: &str, mode: Mode, step_ids: &[&str]) {
        table.waits.borrow_mut().insert(
            execution.into(),
            Wait {
                subject: CLUSTER.into(),
                execution: execution.into(),
                token: format!("token-of-{execution}"),
                request: WaitRequest::Cluster(request(mode, step_ids)),
                steps_ended: BTreeSet::new(),
            },
        );
    }

    fn cluster_event(state: &str) -> Value {
        json!({"source": "aws.emr", "detail-type": "EMR Cluster State Change", "detail": {"clusterId": CLUSTER, "state": state}})
    }

    fn step_event(step: &str, state: &str) -> Value {
        json!({"source": "aws.emr", "detail-type": "EMR Step Status Change",
               "detail": {"clusterId": CLUSTER, "stepId": step, "state": state}})
    }

    async fn send(event: Value, emr: &FakeEmr, table: &FakeTable, sfn: &FakeCallbacks) -> Routed {
        send_both(event, emr, &FakeServerless::default(), table, sfn)
            .await
            .unwrap()
    }

    async fn send_both(
        event: Value,
        emr: &FakeEmr,
        serverless: &FakeServerless,
        table: &FakeTable,
        sfn: &FakeCallbacks,
    ) -> Result<Routed, Error> {
        let ports = Regional {
            emr: |_: Option<&str>| emr,
            serverless: |_: Option<&str>| serverless,
        };
        route(&event, &ports, &with(table, sfn)).await
    }

    const APP: &str = "00app1";

    fn job_run_event(job_run: &str, state: &str) -> Value {
        json!({"source": "aws.emr-serverless", "detail-type": "EMR Serverless Job Run State Change",
               "detail": {"applicationId": APP, "jobRunId": job_run, "state": state, "previousState": "RUNNING"}})
    }

    fn waiting_on_job_run(table: &FakeTable, execution: &str, job_run: &str) {
        let request = serde_json::from_value(json!({
            "target": "serverless", "applicationId": APP, "jobRunId": job_run,
            "since": "2026-12-02T10:00:00Z", "architecture": "ARM64"
        }))
        .unwrap();
        table.waits.borrow_mut().insert(
            execution.into(),
            Wait {
                subject: job_run_key(APP, job_run),
                execution: execution.into(),
                token: format!("token-of-{execution}"),
                request: WaitRequest::JobRun(request),
                steps_ended: BTreeSet::new(),
            },
        );
    }

    #[tokio::test]
    async fn a_job_run_wait_is_answered_by_its_own_job_runs_final_event_with_one_get_job_run() {
        let (emr, serverless, table, sfn) = (
            FakeEmr::default(),
            FakeServerless::default(),
            FakeTable::default(),
            FakeCallbacks::default(),
        );
        serverless.jobs.borrow_mut().push((
            APP.into(),
            "00run1".into(),
            "RUNNING".into(),
            Vec::new(),
        ));
        waiting_on_job_run(&table, "exec-1", "00run1");
        waiting(&table, "exec-2", Mode::Transient, &[]);
        // Not final, and another job run's end: no call, no answer.
        for event in [
            job_run_event("00run1", "RUNNING"),
            job_run_event("00run2", "SUCCESS"),
        ] {
            let routed = send_both(event, &emr, &serverless, &table, &sfn)
                .await
                .unwrap();
            assert_eq!(routed.checked, 0);
        }
        assert_eq!(serverless.reads.get(), 0);
        serverless.set_job("00run1", "SUCCESS");
        let routed = send_both(
            job_run_event("00run1", "SUCCESS"),
            &emr,
            &serverless,
            &table,
            &sfn,
        )
        .await
        .unwrap();
        assert_eq!((routed.waits, routed.checked, routed.delivered), (1, 1, 1));
        assert_eq!(
            serverless.reads.get(),
            1,
            "one GetJobRun, no GetApplication"
        );
        assert_eq!(emr.calls.get(), 0);
        let answered = sfn.answered.borrow().clone();
        assert_eq!(answered.len(), 1);
        assert_eq!(answered[0].0, "token-of-exec-1");
        assert_eq!(answered[0].1["phase"], "succeeded");
        assert_eq!(answered[0].1["jobRunId"], "00run1");
        assert!(
            table.waits.borrow().contains_key("exec-2"),
            "the cluster's wait stays"
        );
        assert!(!table.waits.borrow().contains_key("exec-1"));
        // A duplicate: nobody waits any more, no call.
        let routed = send_both(
            job_run_event("00run1", "SUCCESS"),
            &emr,
            &serverless,
            &table,
            &sfn,
        )
        .await
        .unwrap();
        assert_eq!((routed.waits, routed.checked), (0, 0));
        assert_eq!(serverless.reads.get(), 1);
    }

    #[tokio::test]
    async fn a_final_event_the_job_run_does_not_confirm_leaves_the_wait() {
        let (emr, serverless, table, sfn) = (
            FakeEmr::default(),
            FakeServerless::default(),
            FakeTable::default(),
            FakeCallbacks::default(),
        );
        serverless.jobs.borrow_mut().push((
            APP.into(),
            "00run1".into(),
            "RUNNING".into(),
            Vec::new(),
        ));
        waiting_on_job_run(&table, "exec-1", "00run1");
        // A forged or reordered event: GetJobRun says the job run still runs.
        let routed = send_both(
            job_run_event("00run1", "FAILED"),
            &emr,
            &serverless,
            &table,
            &sfn,
        )
        .await
        .unwrap();
        assert_eq!((routed.checked, routed.delivered), (1, 0));
        assert!(sfn.answered.borrow().is_empty());
        assert!(table.waits.borrow().contains_key("exec-1"));
    }

    #[tokio::test]
    async fn a_transient_run_is_answered_once_its_cluster_ends_and_never_checked_before() {
        let (emr, table, sfn) = (
            FakeEmr::default(),
            FakeTable::default(),
            FakeCallbacks::default(),
        );
        waiting(&table, "exec-1", Mode::Transient, &[]);
        *emr.state.borrow_mut() = "RUNNING".into();
        emr.steps
            .borrow_mut()
            .push(("s-1".into(), "COMPLETED".into()));
        for event in [cluster_event("RUNNING"), step_event("s-1", "COMPLETED")] {
            let routed = send(event, &emr, &table, &sfn).await;
            assert_eq!((routed.waits, routed.checked), (1, 0));
        }
        assert_eq!(
            emr.calls.get(),
            0,
            "events that cannot end a transient run cost no EMR call"
        );
        *emr.state.borrow_mut() = "TERMINATING".into();
        let routed = send(cluster_event("TERMINATING"), &emr, &table, &sfn).await;
        assert_eq!(
            (routed.waits, routed.checked, routed.delivered),
            (1, 0, 0),
            "a transient run ends with its cluster's end, not while it terminates"
        );
        assert_eq!(emr.calls.get(), 0);
        *emr.state.borrow_mut() = "TERMINATED".into();
        let routed = send(cluster_event("TERMINATED"), &emr, &table, &sfn).await;
        assert_eq!((routed.checked, routed.delivered), (1, 1));
        assert_eq!(
            emr.calls.get(),
            3,
            "DescribeCluster, ListSteps, and the instances the run's cost is read from"
        );
        let answered = sfn.answered.borrow().clone();
        assert_eq!(answered.len(), 1);
        assert_eq!(answered[0].0, "token-of-exec-1");
        assert_eq!(answered[0].1["phase"], "succeeded");
        assert_eq!(answered[0].1["finished"], true);
        assert!(
            table.waits.borrow().is_empty(),
            "an answered wait is forgotten"
        );
        // the same event again (EventBridge delivers at least once): nobody waits
        let routed = send(cluster_event("TERMINATED"), &emr, &table, &sfn).await;
        assert_eq!((routed.waits, routed.checked, routed.delivered), (0, 0, 0));
        assert_eq!(emr.calls.get(), 3, "no call after the answer");
    }

    #[tokio::test]
    async fn a_run_wait_is_checked_only_when_the_last_of_its_own_steps_ends() {
        let (emr, table, sfn) = (
            FakeEmr::default(),
            FakeTable::default(),
            FakeCallbacks::default(),
        );
        waiting(&table, "exec-run", Mode::Run, &["s-1", "s-2"]);
        *emr.state.borrow_mut() = "RUNNING".into();
        emr.steps.borrow_mut().extend([
            ("s-1".into(), "COMPLETED".into()),
            ("s-2".into(), "RUNNING".into()),
        ]);
        let routed = send(step_event("s-1", "COMPLETED"), &emr, &table, &sfn).await;
        assert_eq!(routed.checked, 0);
        // a step of somebody else's run, and a step that only started
        send(step_event("s-9", "COMPLETED"), &emr, &table, &sfn).await;
        send(step_event("s-2", "RUNNING"), &emr, &table, &sfn).await;
        assert_eq!(emr.calls.get(), 0);
        emr.steps.borrow_mut()[1].1 = "COMPLETED".into();
        let routed = send(step_event("s-2", "COMPLETED"), &emr, &table, &sfn).await;
        assert_eq!((routed.checked, routed.delivered), (1, 1));
        assert_eq!(sfn.answered.borrow()[0].1["phase"], "succeeded");
    }

    #[tokio::test]
    async fn a_check_that_finds_the_run_going_on_answers_nothing_and_keeps_the_wait() {
        let (emr, table, sfn) = (
            FakeEmr::default(),
            FakeTable::default(),
            FakeCallbacks::default(),
        );
        waiting(&table, "exec-run", Mode::Run, &["s-1"]);
        *emr.state.borrow_mut() = "WAITING".into();
        emr.steps
            .borrow_mut()
            .push(("s-1".into(), "RUNNING".into()));
        let routed = send(cluster_event("WAITING"), &emr, &table, &sfn).await;
        assert_eq!((routed.checked, routed.delivered), (1, 0));
        assert!(sfn.answered.borrow().is_empty());
        assert_eq!(table.waits.borrow().len(), 1);
    }

    #[tokio::test]
    async fn a_dead_token_counts_as_stale_and_its_wait_is_forgotten() {
        let (emr, table, sfn) = (
            FakeEmr::default(),
            FakeTable::default(),
            FakeCallbacks::default(),
        );
        waiting(&table, "exec-1", Mode::Up, &[]);
        sfn.answered
            .borrow_mut()
            .push(("token-of-exec-1".into(), Value::Null));
        *emr.state.borrow_mut() = "WAITING".into();
        let routed = send(cluster_event("WAITING"), &emr, &table, &sfn).await;
        assert_eq!((routed.delivered, routed.stale), (0, 1));
        assert!(table.waits.borrow().is_empty());
    }

    #[tokio::test]
    async fn a_clusters_end_records_the_cost_of_the_unfinished_run_that_left_it_once() {
        use crate::unfinished::{UnfinishedRun, UnfinishedRuns};
        let table = FakeTable::default();
        let sfn = FakeCallbacks::default();
        // Nobody noted the cluster: its end costs one table read and no EMR call.
        let emr = crate::fakes::cluster("TERMINATED");
        let routed = send(cluster_event("TERMINATED"), &emr, &table, &sfn).await;
        assert!(!routed.cost_recorded);
        assert_eq!(emr.calls.get(), 0);
        let run = UnfinishedRun {
            cluster_id: CLUSTER.into(),
            region: None,
            execution: "arn:aws:states:eu-west-1:123456789012:execution:dfr-run-transient:n".into(),
            status: "ABORTED".into(),
            started_at: None,
            stopped_at: None,
        };
        table.note(&run, crate::fakes::now()).await.unwrap();
        // TERMINATING is not an end: nothing read.
        let routed = send(cluster_event("TERMINATING"), &emr, &table, &sfn).await;
        assert!(!routed.cost_recorded);
        assert_eq!(emr.calls.get(), 0);
        let routed = send(cluster_event("TERMINATED"), &emr, &table, &sfn).await;
        assert!(routed.cost_recorded);
        assert!(table.recorded.borrow().contains_key(CLUSTER));
        // A duplicate of the event: recorded already, no EMR call.
        let calls = emr.calls.get();
        let routed = send(cluster_event("TERMINATED"), &emr, &table, &sfn).await;
        assert!(!routed.cost_recorded);
        assert_eq!(emr.calls.get(), calls);
    }

    #[tokio::test]
    async fn events_that_are_not_emr_cluster_or_step_changes_are_ignored_without_a_trace() {
        let (emr, table, sfn) = (
            FakeEmr::default(),
            FakeTable::default(),
            FakeCallbacks::default(),
        );
        waiting(&table, "exec-1", Mode::Transient, &[]);
        for event in [
            json!({"source": "aws.states", "detail-type": "EMR Cluster State Change", "detail": {"clusterId": CLUSTER, "state": "TERMINATED"}}),
            json!({"source": "aws.emr", "detail-type": "EMR Auto Scaling Policy State Change", "detail": {"clusterId": CLUSTER, "state": "TERMINATED"}}),
            json!({"source": "aws.emr", "detail-type": "EMR Cluster State Change", "detail": {"clusterId": "../j-1", "state": "TERMINATED"}}),
            json!({"source": "aws.emr", "detail-type": "EMR Step Status Change", "detail": {"clusterId": CLUSTER, "state": "COMPLETED"}}),
            json!({"source": "aws.emr-serverless", "detail-type": "EMR Serverless Application State Change", "detail": {"applicationId": "00app1", "state": "STOPPED"}}),
            json!({"source": "aws.emr-serverless", "detail-type": "EMR Serverless Job Run State Change", "detail": {"applicationId": "00app1/x", "jobRunId": "00run1", "state": "SUCCESS"}}),
            json!({"source": "aws.emr-serverless", "detail-type": "EMR Serverless Job Run State Change", "detail": {"applicationId": "00app1", "state": "SUCCESS"}}),
            json!("TERMINATED"),
        ] {
            let routed = send(event, &emr, &table, &sfn).await;
            assert!(routed.ignored.is_some());
        }
        assert_eq!(table.note.get(), None);
        assert_eq!(emr.calls.get(), 0);
    }
}
