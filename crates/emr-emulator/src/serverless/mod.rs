//! EMR Serverless: applications and job runs with their states, advanced on the virtual clock like EMR's clusters
//! and steps (each transition at its exact scheduled time, applied lazily and in time order), their EventBridge
//! events, the account's concurrent-vCPU quota and what a job run is billed. The operations are in [`ops`].

pub mod ops;

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::clock::iso8601_millis;
use crate::faults::EVENT_DETAIL_TYPES;
use crate::state::ACCOUNT_ID;

pub const SOURCE: &str = "aws.emr-serverless";
pub const APPLICATION_STATE_CHANGE: &str = EVENT_DETAIL_TYPES[2];
pub const JOB_RUN_STATE_CHANGE: &str = EVENT_DETAIL_TYPES[3];
/// Storage every worker has without charge (GB).
pub const FREE_STORAGE_GB_PER_WORKER: f64 = 20.0;
/// Every worker is billed for at least this long (seconds).
pub const MINIMUM_BILLED_SECONDS: f64 = 60.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AppState {
    Creating,
    Created,
    Starting,
    Started,
    Stopping,
    Stopped,
    Terminated,
}

impl AppState {
    pub fn as_str(self) -> &'static str {
        match self {
            AppState::Creating => "CREATING",
            AppState::Created => "CREATED",
            AppState::Starting => "STARTING",
            AppState::Started => "STARTED",
            AppState::Stopping => "STOPPING",
            AppState::Stopped => "STOPPED",
            AppState::Terminated => "TERMINATED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(json!(s)).ok()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobState {
    Submitted,
    Pending,
    Scheduled,
    Running,
    Success,
    Failed,
    Cancelling,
    Cancelled,
    Queued,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Submitted => "SUBMITTED",
            JobState::Pending => "PENDING",
            JobState::Scheduled => "SCHEDULED",
            JobState::Running => "RUNNING",
            JobState::Success => "SUCCESS",
            JobState::Failed => "FAILED",
            JobState::Cancelling => "CANCELLING",
            JobState::Cancelled => "CANCELLED",
            JobState::Queued => "QUEUED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(json!(s)).ok()
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobState::Success | JobState::Failed | JobState::Cancelled
        )
    }

    /// Holds one of its application's concurrent-run slots (`schedulerConfiguration.maxConcurrentRuns`).
    fn takes_slot(self) -> bool {
        matches!(
            self,
            JobState::Pending | JobState::Scheduled | JobState::Running | JobState::Cancelling
        )
    }
}

/// How a job run ends when nobody cancels it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobOutcome {
    Success,
    Failed,
}

/// EMR Serverless durations (virtual seconds) and the account's quota, in a scenario's `serverless`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct ServerlessSettings {
    pub creating_seconds: f64,
    pub starting_seconds: f64,
    pub stopping_seconds: f64,
    pub submitted_seconds: f64,
    pub pending_seconds: f64,
    pub scheduled_seconds: f64,
    pub running_seconds: f64,
    pub cancelling_seconds: f64,
    /// The account's "Max concurrent vCPUs" quota.
    pub max_concurrent_vcpus: f64,
}

impl Default for ServerlessSettings {
    fn default() -> Self {
        ServerlessSettings {
            creating_seconds: 5.0,
            starting_seconds: 60.0,
            stopping_seconds: 30.0,
            submitted_seconds: 1.0,
            pending_seconds: 5.0,
            scheduled_seconds: 20.0,
            running_seconds: 600.0,
            cancelling_seconds: 5.0,
            max_concurrent_vcpus: 16.0,
        }
    }
}

/// A job run's scripted future and the resources it holds while it runs, fixed at StartJobRun.
#[derive(Clone, Debug, PartialEq)]
pub struct JobPlan {
    pub outcome: JobOutcome,
    pub scheduled_seconds: f64,
    pub running_seconds: f64,
    pub failure_message: Option<String>,
    pub vcpu: f64,
    pub memory_gb: f64,
    pub storage_gb: f64,
    /// Driver and executors.
    pub workers: f64,
}

#[derive(Clone, Debug)]
pub struct Application {
    pub id: String,
    pub name: Option<String>,
    pub arn: String,
    pub region: String,
    pub release_label: String,
    pub kind: String,
    pub state: AppState,
    pub state_details: Option<String>,
    pub created_at: f64,
    pub updated_at: f64,
    pub tags: BTreeMap<String, String>,
    pub auto_start: bool,
    pub auto_stop: bool,
    pub idle_timeout_minutes: f64,
    /// `schedulerConfiguration`: (maxConcurrentRuns, queueTimeoutMinutes), when job queuing is on.
    pub scheduler: Option<(u32, f64)>,
    /// vCPUs of the pre-initialized workers (`initialCapacity`), held while STARTING or STARTED.
    pub initial_vcpu: f64,
    /// The CreateApplication request, echoed by GetApplication (configurations as given).
    pub request: Value,
    next: Option<(f64, AppState)>,
}

#[derive(Clone, Debug)]
pub struct JobRun {
    pub id: String,
    pub app: usize,
    pub app_id: String,
    pub arn: String,
    pub name: Option<String>,
    pub execution_role: String,
    pub created_by: String,
    pub release_label: String,
    pub created_at: f64,
    pub updated_at: f64,
    pub state: JobState,
    pub state_details: String,
    pub tags: BTreeMap<String, String>,
    pub execution_timeout_minutes: f64,
    /// The StartJobRun request (jobDriver, configurationOverrides, mode…), echoed by GetJobRun.
    pub request: Value,
    pub plan: JobPlan,
    /// The plan's failure message as scripted (a queue timeout replaces it while queued).
    pub scripted_failure: Option<String>,
    pub queued_at: Option<f64>,
    pub queued_seconds: f64,
    pub started_at: Option<f64>,
    pub ended_at: Option<f64>,
    /// Holds its vCPUs against the account's quota (from SCHEDULED with capacity until it ends).
    holds: bool,
    next: Option<(f64, JobState)>,
}

/// Resource use of an ended job run: (vCPU-hours, memory GB-hours, storage GB-hours).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Utilization {
    pub vcpu_hours: f64,
    pub memory_gb_hours: f64,
    pub storage_gb_hours: f64,
}

impl Utilization {
    pub fn to_json(self) -> Value {
        json!({
            "vCPUHour": round3(self.vcpu_hours),
            "memoryGBHour": round3(self.memory_gb_hours),
            "storageGBHour": round3(self.storage_gb_hours),
        })
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

impl JobRun {
    /// Seconds it ran (RUNNING until it ended), once ended.
    pub fn run_seconds(&self) -> Option<f64> {
        Some(self.ended_at? - self.started_at?)
    }

    /// What it used: its resources for the time it ran.
    pub fn total_utilization(&self) -> Option<Utilization> {
        let hours = self.run_seconds()? / 3600.0;
        Some(Utilization {
            vcpu_hours: self.plan.vcpu * hours,
            memory_gb_hours: self.plan.memory_gb * hours,
            storage_gb_hours: self.plan.storage_gb * hours,
        })
    }

    /// What it is billed: every worker for at least a minute, storage beyond each worker's free 20 GB.
    pub fn billed_utilization(&self) -> Option<Utilization> {
        let hours = self.run_seconds()?.max(MINIMUM_BILLED_SECONDS) / 3600.0;
        let storage =
            (self.plan.storage_gb - FREE_STORAGE_GB_PER_WORKER * self.plan.workers).max(0.0);
        Some(Utilization {
            vcpu_hours: self.plan.vcpu * hours,
            memory_gb_hours: self.plan.memory_gb * hours,
            storage_gb_hours: storage * hours,
        })
    }
}

/// One state change, for its event.
#[derive(Clone, Debug)]
enum Change {
    App {
        index: usize,
        from: Option<AppState>,
        to: AppState,
        at: f64,
    },
    Job {
        index: usize,
        from: Option<JobState>,
        to: JobState,
        at: f64,
    },
}

/// A transition that falls due.
enum Due {
    App(usize, AppState),
    Job(usize, JobState),
}

/// An event about to be emitted: virtual time, detail-type, region, detail.
pub struct Emitted {
    pub at: f64,
    pub detail_type: &'static str,
    pub region: String,
    pub detail: Value,
}

/// Every application and job run, with the client tokens they were created with.
#[derive(Debug, Default)]
pub struct Serverless {
    pub apps: Vec<Application>,
    pub jobs: Vec<JobRun>,
    /// (region, clientToken) → (application, request fingerprint).
    app_tokens: HashMap<(String, String), (usize, String)>,
    /// (application id, clientToken) → (job run, request fingerprint).
    job_tokens: HashMap<(String, String), (usize, String)>,
    changes: Vec<Change>,
}

pub fn application_arn(region: &str, id: &str) -> String {
    format!("arn:aws:emr-serverless:{region}:{ACCOUNT_ID}:/applications/{id}")
}

impl Serverless {
    pub fn app_index(&self, id: &str, region: &str) -> Option<usize> {
        self.apps
            .iter()
            .position(|a| a.id == id && a.region == region)
    }

    pub fn job_index(&self, app: usize, id: &str) -> Option<usize> {
        self.jobs.iter().position(|j| j.app == app && j.id == id)
    }

    pub fn insert_app(
        &mut self,
        app: Application,
        at: f64,
        settings: &ServerlessSettings,
    ) -> usize {
        self.apps.push(app);
        let i = self.apps.len() - 1;
        self.set_app(i, None, AppState::Creating, at, settings);
        i
    }

    pub fn insert_job(&mut self, job: JobRun, at: f64, settings: &ServerlessSettings) -> usize {
        self.jobs.push(job);
        let i = self.jobs.len() - 1;
        self.set_job(i, None, JobState::Submitted, at, settings);
        i
    }

    fn set_app(
        &mut self,
        index: usize,
        from: Option<AppState>,
        to: AppState,
        at: f64,
        s: &ServerlessSettings,
    ) {
        let app = &mut self.apps[index];
        app.state = to;
        app.updated_at = at;
        app.next = match to {
            AppState::Creating => Some((at + s.creating_seconds, AppState::Created)),
            AppState::Starting => Some((at + s.starting_seconds, AppState::Started)),
            AppState::Stopping => Some((at + s.stopping_seconds, AppState::Stopped)),
            _ => None,
        };
        self.changes.push(Change::App {
            index,
            from,
            to,
            at,
        });
    }

    fn set_job(
        &mut self,
        index: usize,
        from: Option<JobState>,
        to: JobState,
        at: f64,
        s: &ServerlessSettings,
    ) {
        let queue_timeout = self.apps[self.jobs[index].app].scheduler.map(|(_, m)| m);
        let job = &mut self.jobs[index];
        job.state = to;
        job.updated_at = at;
        if let Some(q) = job.queued_at.take() {
            job.queued_seconds += at - q;
        }
        job.next = match to {
            JobState::Submitted => Some((at + s.submitted_seconds, JobState::Pending)),
            JobState::Pending => {
                if from == Some(JobState::Queued) {
                    job.plan.failure_message = job.scripted_failure.clone();
                }
                Some((at + s.pending_seconds, JobState::Scheduled))
            }
            JobState::Queued => {
                job.queued_at = Some(at);
                queue_timeout.map(|minutes| {
                    job.plan.failure_message = Some(format!(
                        "Job run timed out after waiting {minutes} minutes in the queue."
                    ));
                    (at + minutes * 60.0, JobState::Failed)
                })
            }
            JobState::Scheduled => None,
            JobState::Running => {
                job.started_at = Some(at);
                let timeout = job.execution_timeout_minutes * 60.0;
                if job.plan.running_seconds > timeout {
                    Some((at + timeout, JobState::Cancelling))
                } else {
                    let end = match job.plan.outcome {
                        JobOutcome::Success => JobState::Success,
                        JobOutcome::Failed => JobState::Failed,
                    };
                    Some((at + job.plan.running_seconds, end))
                }
            }
            JobState::Cancelling => Some((at + s.cancelling_seconds, JobState::Cancelled)),
            JobState::Success | JobState::Failed | JobState::Cancelled => {
                job.ended_at = Some(at);
                job.holds = false;
                None
            }
        };
        job.state_details = match to {
            JobState::Failed => job
                .plan
                .failure_message
                .clone()
                .unwrap_or_else(|| "Job failed, please check complete logs in configured logging destination. ExitCode: 1.".to_string()),
            JobState::Cancelling if from == Some(JobState::Running) && job.state_details.is_empty() => {
                "Job run has timed out.".to_string()
            }
            JobState::Cancelling | JobState::Cancelled => job.state_details.clone(),
            _ => String::new(),
        };
        self.changes.push(Change::Job {
            index,
            from,
            to,
            at,
        });
    }

    /// Cancel a job run that has not ended: CANCELLING now, CANCELLED `cancellingSeconds` later.
    pub fn cancel(&mut self, index: usize, at: f64, s: &ServerlessSettings) {
        let from = self.jobs[index].state;
        self.jobs[index].state_details = "Job run cancelled by user.".to_string();
        self.set_job(index, Some(from), JobState::Cancelling, at, s);
        self.wake(at, s);
    }

    pub fn start_app(&mut self, index: usize, at: f64, s: &ServerlessSettings) {
        let from = self.apps[index].state;
        self.set_app(index, Some(from), AppState::Starting, at, s);
    }

    pub fn stop_app(&mut self, index: usize, at: f64, s: &ServerlessSettings) {
        let from = self.apps[index].state;
        self.set_app(index, Some(from), AppState::Stopping, at, s);
    }

    pub fn terminate_app(&mut self, index: usize, at: f64, s: &ServerlessSettings) {
        let from = self.apps[index].state;
        self.set_app(index, Some(from), AppState::Terminated, at, s);
    }

    /// vCPUs held against the account's quota. A starting or started application holds its pre-initialized
    /// capacity; its job runs use those workers first and hold only what they need beyond them (on-demand workers),
    /// from SCHEDULED (with capacity) until they end: an application holds the larger of the two.
    pub fn vcpus_in_use(&self) -> f64 {
        (0..self.apps.len()).map(|i| self.app_vcpus(i, 0.0)).sum()
    }

    /// What application `app` holds, with `more` vCPUs of job runs besides those holding now.
    fn app_vcpus(&self, app: usize, more: f64) -> f64 {
        let jobs: f64 = self
            .jobs
            .iter()
            .filter(|j| j.app == app && j.holds)
            .map(|j| j.plan.vcpu)
            .sum::<f64>()
            + more;
        let a = &self.apps[app];
        if matches!(a.state, AppState::Starting | AppState::Started) {
            jobs.max(a.initial_vcpu)
        } else {
            jobs
        }
    }

    /// Whether a job run of `vcpu` on application `app` fits in the quota now.
    fn fits(&self, app: usize, vcpu: f64, s: &ServerlessSettings) -> bool {
        self.vcpus_in_use() - self.app_vcpus(app, 0.0) + self.app_vcpus(app, vcpu)
            <= s.max_concurrent_vcpus
    }

    /// Job runs of application `app` that have not ended.
    pub fn active_jobs(&self, app: usize) -> usize {
        self.jobs
            .iter()
            .filter(|j| j.app == app && !j.state.is_terminal())
            .count()
    }

    fn slot_free(&self, app: usize) -> bool {
        match self.apps[app].scheduler {
            None => true,
            Some((max, _)) => {
                let taken = self
                    .jobs
                    .iter()
                    .filter(|j| j.app == app && j.state.takes_slot())
                    .count();
                taken < max as usize
            }
        }
    }

    /// Apply every transition due by `now`, earliest first; after each, what it unblocks.
    pub fn advance(&mut self, now: f64, s: &ServerlessSettings) {
        loop {
            // Applications first among equal times (a job run waits on its application).
            let apps = self
                .apps
                .iter()
                .enumerate()
                .filter_map(|(i, a)| a.next.map(|(t, to)| (t, Due::App(i, to))));
            let jobs = self
                .jobs
                .iter()
                .enumerate()
                .filter_map(|(i, j)| j.next.map(|(t, to)| (t, Due::Job(i, to))));
            let Some((t, due)) = apps
                .chain(jobs)
                .filter(|(t, _)| *t <= now)
                .min_by(|a, b| a.0.total_cmp(&b.0))
            else {
                break;
            };
            match due {
                Due::App(i, to) => {
                    let from = self.apps[i].state;
                    self.set_app(i, Some(from), to, t, s);
                }
                Due::Job(i, to) => {
                    let from = self.jobs[i].state;
                    let to = if to == JobState::Pending && !self.slot_free(self.jobs[i].app) {
                        JobState::Queued
                    } else {
                        to
                    };
                    self.set_job(i, Some(from), to, t, s);
                }
            }
            self.wake(t, s);
        }
    }

    /// At `t`, after a change: queued runs with a free slot go PENDING; SCHEDULED runs get capacity when their
    /// application is STARTED and the quota allows (starting it if it may auto-start), or fail if they could
    /// never fit; an application with nothing to run schedules its auto-stop.
    pub fn wake(&mut self, t: f64, s: &ServerlessSettings) {
        for i in 0..self.jobs.len() {
            if self.jobs[i].state == JobState::Queued && self.slot_free(self.jobs[i].app) {
                self.set_job(i, Some(JobState::Queued), JobState::Pending, t, s);
            }
        }
        for i in 0..self.jobs.len() {
            let job = &self.jobs[i];
            if job.state != JobState::Scheduled || job.next.is_some() {
                continue;
            }
            let (app, vcpu) = (job.app, job.plan.vcpu);
            if vcpu > s.max_concurrent_vcpus {
                self.jobs[i].plan.failure_message = Some(format!(
                    "Job run needs {vcpu} vCPUs, more than the account's quota of {} concurrent vCPUs.",
                    s.max_concurrent_vcpus
                ));
                self.set_job(i, Some(JobState::Scheduled), JobState::Failed, t, s);
                continue;
            }
            let app_state = self.apps[app].state;
            if matches!(app_state, AppState::Created | AppState::Stopped)
                && self.apps[app].auto_start
            {
                self.set_app(app, Some(app_state), AppState::Starting, t, s);
            }
            if self.apps[app].state == AppState::Started && self.fits(app, vcpu, s) {
                let job = &mut self.jobs[i];
                job.holds = true;
                job.next = Some((t + job.plan.scheduled_seconds, JobState::Running));
            }
        }
        for i in 0..self.apps.len() {
            if self.apps[i].state != AppState::Started || !self.apps[i].auto_stop {
                continue;
            }
            let idle = self.active_jobs(i) == 0;
            let app = &mut self.apps[i];
            match (idle, app.next) {
                (true, None) => {
                    app.next = Some((t + app.idle_timeout_minutes * 60.0, AppState::Stopping))
                }
                (false, Some(_)) => app.next = None,
                _ => {}
            }
        }
    }

    /// The earliest scheduled transition (blocked job runs wait for one of these).
    pub fn next_transition_at(&self) -> Option<f64> {
        let apps = self.apps.iter().filter_map(|a| a.next.map(|(t, _)| t));
        let jobs = self.jobs.iter().filter_map(|j| j.next.map(|(t, _)| t));
        apps.chain(jobs).min_by(f64::total_cmp)
    }

    /// The events of the changes made since the last call, in the order they were made (which is time order).
    pub fn take_events(&mut self) -> Vec<Emitted> {
        let changes = std::mem::take(&mut self.changes);
        changes
            .into_iter()
            .map(|c| match c {
                Change::App {
                    index,
                    from,
                    to,
                    at,
                } => {
                    let a = &self.apps[index];
                    Emitted {
                        at,
                        detail_type: APPLICATION_STATE_CHANGE,
                        region: a.region.clone(),
                        detail: app_detail(a, from, to, at),
                    }
                }
                Change::Job {
                    index,
                    from,
                    to,
                    at,
                } => {
                    let j = &self.jobs[index];
                    Emitted {
                        at,
                        detail_type: JOB_RUN_STATE_CHANGE,
                        region: self.apps[j.app].region.clone(),
                        detail: job_detail(j, from, to, at),
                    }
                }
            })
            .collect()
    }

    /// The application a client token made, if any: `Ok(None)` for a new token, `Err` for a token used with
    /// another request.
    pub fn app_for_token(
        &self,
        region: &str,
        token: &str,
        fingerprint: &str,
    ) -> Result<Option<usize>, ()> {
        token_lookup(
            &self.app_tokens,
            (region.to_string(), token.to_string()),
            fingerprint,
        )
    }

    pub fn remember_app_token(&mut self, region: &str, token: &str, fingerprint: String, i: usize) {
        self.app_tokens
            .insert((region.to_string(), token.to_string()), (i, fingerprint));
    }

    pub fn job_for_token(
        &self,
        app_id: &str,
        token: &str,
        fingerprint: &str,
    ) -> Result<Option<usize>, ()> {
        token_lookup(
            &self.job_tokens,
            (app_id.to_string(), token.to_string()),
            fingerprint,
        )
    }

    pub fn remember_job_token(&mut self, app_id: &str, token: &str, fingerprint: String, i: usize) {
        self.job_tokens
            .insert((app_id.to_string(), token.to_string()), (i, fingerprint));
    }
}

fn token_lookup(
    map: &HashMap<(String, String), (usize, String)>,
    key: (String, String),
    fingerprint: &str,
) -> Result<Option<usize>, ()> {
    match map.get(&key) {
        None => Ok(None),
        Some((i, f)) if f == fingerprint => Ok(Some(*i)),
        Some(_) => Err(()),
    }
}

/// `detail` of an "EMR Serverless Application State Change" event.
fn app_detail(a: &Application, from: Option<AppState>, to: AppState, at: f64) -> Value {
    json!({
        "applicationId": a.id,
        "applicationName": a.name.clone().unwrap_or_default(),
        "arn": a.arn,
        "releaseLabel": a.release_label,
        "state": to.as_str(),
        "previousState": from.map_or("", AppState::as_str),
        "type": a.kind,
        "createdAt": iso8601_millis(a.created_at),
        "updatedAt": iso8601_millis(at),
        "autoStopConfig": {"enabled": a.auto_stop, "idleTimeout": a.idle_timeout_minutes as i64},
        "autoStartConfig": {"enabled": a.auto_start},
    })
}

/// `detail` of an "EMR Serverless Job Run State Change" event.
fn job_detail(j: &JobRun, from: Option<JobState>, to: JobState, at: f64) -> Value {
    json!({
        "jobRunId": j.id,
        "jobRunName": j.name.clone().unwrap_or_default(),
        "applicationId": j.app_id,
        "arn": j.arn,
        "releaseLabel": j.release_label,
        "state": to.as_str(),
        "previousState": from.map_or("", JobState::as_str),
        "createdBy": j.created_by,
        "updatedAt": iso8601_millis(at),
        "createdAt": iso8601_millis(j.created_at),
    })
}
