//! check-status, `"target": "serverless"`: one GetJobRun, and what it means for the run: running (with the delay
//! before the next check, and the backstop of a wait for EMR Serverless's events), succeeded, or failed (the job run
//! FAILED or was CANCELLED: `StepFailed`), with what the job run cost once it has ended. The run's age is in the
//! answer (`elapsedSeconds`): the state machine judges its timeout, as it does for clusters, and cancels the job run
//! first. With a `wait` (a task token), check-status registers the wait instead ([`crate::wait`]).

use chrono::{DateTime, Utc};
use dfr_core::error_names::ErrorName;
use dfr_core::execution::defaults::defaults;
use dfr_core::serverless::status::{job_run_cost, JobRunPhase};
use dfr_core::serverless::Architecture;
use dfr_core::status::{backstop_seconds, next_poll_seconds, BackstopLimits, Phase};
use serde::{Deserialize, Serialize};

use super::{driver_logs, EmrServerless, JobRunInfo, Target};
use crate::check::WaitFor;
use crate::error::Error;
use crate::payload::cut;
use crate::prices::PriceSource;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckEvent {
    pub target: Target,
    #[serde(deserialize_with = "super::application_id")]
    pub application_id: String,
    #[serde(
        default,
        deserialize_with = "crate::event::region",
        skip_serializing_if = "Option::is_none"
    )]
    pub region: Option<String>,
    #[serde(deserialize_with = "super::job_run_id")]
    pub job_run_id: String,
    #[serde(
        default,
        deserialize_with = "crate::event::optional_execution_arn",
        skip_serializing_if = "Option::is_none"
    )]
    pub execution: Option<String>,
    /// When the run began (`$$.Execution.StartTime`): the timeout counts from it. The job run's creation when
    /// absent.
    #[serde(
        default,
        deserialize_with = "crate::event::time",
        skip_serializing_if = "Option::is_none"
    )]
    pub since: Option<DateTime<Utc>>,
    /// The application's architecture (`X86_64`, `ARM64`), as launch-cluster answered it: what an ended job run is
    /// priced as. Read with GetApplication when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<Architecture>,
    #[serde(default)]
    pub options: CheckOptions,
    /// Present when the state machine waits for EMR Serverless's events on a task token (registration:
    /// [`crate::wait`]).
    #[serde(default, skip_serializing)]
    pub wait: Option<WaitFor>,
}

impl CheckEvent {
    /// The request a wait stores and answers with: the check without its token.
    pub fn without_wait(&self) -> Self {
        Self {
            wait: None,
            ..self.clone()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckOptions {
    #[serde(default = "default_min")]
    pub min_poll_seconds: u32,
    #[serde(default = "default_max")]
    pub max_poll_seconds: u32,
    /// Bounds of the backstop of a wait for events ([`backstop_seconds`]), and the run's timeout, which a backstop
    /// never passes.
    #[serde(default = "default_min_backstop")]
    pub min_backstop_seconds: u32,
    #[serde(default = "default_max_backstop")]
    pub max_backstop_seconds: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
}

fn default_min() -> u32 {
    defaults().min_poll_seconds
}

fn default_max() -> u32 {
    defaults().max_poll_seconds
}

fn default_min_backstop() -> u32 {
    defaults().min_backstop_seconds
}

fn default_max_backstop() -> u32 {
    defaults().max_backstop_seconds
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            min_poll_seconds: default_min(),
            max_poll_seconds: default_max(),
            min_backstop_seconds: default_min_backstop(),
            max_backstop_seconds: default_max_backstop(),
            timeout_seconds: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckPhase {
    Running,
    Succeeded,
    Failed,
}

/// A job run's billed resources and their estimated price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckCost {
    pub vcpu_hours: f64,
    pub memory_gb_hours: f64,
    pub storage_gb_hours: f64,
    /// USD with 4 decimals; `null` when the prices could not be read.
    pub usd: Option<String>,
}

/// Why the run failed, in check-status's shape for a cluster's run (`{"name", "cause"}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckError {
    pub name: ErrorName,
    pub cause: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckOutput {
    pub phase: CheckPhase,
    pub state: String,
    pub state_details: Option<String>,
    pub next_poll_seconds: u32,
    /// Seconds since `since` (the run's start): what the state machine compares with `options.timeoutSeconds`.
    pub elapsed_seconds: i64,
    /// How long a wait for events lasts before a backstop check: twice the job run's age within the options'
    /// backstop bounds, never past the run's timeout.
    pub backstop_seconds: u32,
    /// When GetJobRun answered: a wait registered later checks again if an event of the job run came since.
    pub checked_at: DateTime<Utc>,
    pub job_run_id: String,
    /// Where the driver's logs are: `<logUri>/applications/<application>/jobs/<job run>/`.
    pub log_uri: Option<String>,
    pub cost: Option<CheckCost>,
    pub error: Option<CheckError>,
}

/// How much of a job run's state details a check keeps (AWS's can be a long stack trace).
pub const MAX_STATE_DETAILS: usize = 4096;

/// What one GetJobRun's answer means for the run, `now`.
pub fn verdict(
    info: &JobRunInfo,
    application_id: &str,
    event: &CheckEvent,
    now: DateTime<Utc>,
    jitter: f64,
) -> CheckOutput {
    let since = event.since.or(info.created_at).unwrap_or(now);
    let elapsed = (now - since).num_seconds();
    // Each job run is polled as a step of its own: the pause grows with the job run's age, not the run's, so a late
    // step's end is seen as soon as an early one's.
    let job_age = info
        .created_at
        .map_or(elapsed, |created| (now - created).num_seconds());
    let log_uri = info
        .log_uri
        .as_deref()
        .map(|l| driver_logs(l, application_id, &info.id));
    let state_details = info
        .state_details
        .as_deref()
        .map(|d| cut(d, MAX_STATE_DETAILS));
    let name = info.name.as_deref().unwrap_or(&info.id);
    let (phase, error) = match JobRunPhase::of(&info.state) {
        JobRunPhase::Succeeded => (CheckPhase::Succeeded, None),
        JobRunPhase::Failed | JobRunPhase::Cancelled => {
            let mut cause = format!("job run {} ({name}) ended {}", info.id, info.state);
            if let Some(d) = &state_details {
                cause.push_str(&format!(": {d}"));
            }
            if let Some(l) = &log_uri {
                cause.push_str(&format!("; driver logs: {l}"));
            }
            (
                CheckPhase::Failed,
                Some(CheckError {
                    name: ErrorName::StepFailed,
                    cause,
                }),
            )
        }
        _ => (CheckPhase::Running, None),
    };
    CheckOutput {
        phase,
        state: info.state.clone(),
        state_details,
        next_poll_seconds: next_poll_seconds(
            Phase::Running,
            job_age,
            event.options.min_poll_seconds,
            event.options.max_poll_seconds,
            jitter,
        ),
        elapsed_seconds: elapsed,
        backstop_seconds: backstop_seconds(
            Phase::Running,
            job_age,
            &BackstopLimits {
                min: event.options.min_backstop_seconds,
                max: event.options.max_backstop_seconds,
                startup_timeout: None,
                // The backstop counts from the job run's age; the timeout from the run's.
                timeout: event
                    .options
                    .timeout_seconds
                    .map(|t| (t as i64 - elapsed + job_age).max(0) as u64),
            },
        ),
        checked_at: now,
        job_run_id: info.id.clone(),
        log_uri,
        cost: None,
        error,
    }
}

impl CheckOutput {
    /// Whether the job run has ended (a wait's answer is due).
    pub fn ended(&self) -> bool {
        self.phase != CheckPhase::Running
    }
}

/// One check of the job run: GetJobRun, and once it has ended with its billed utilization, its price (read with
/// `prices` in the run's region; never a failed check for prices).
pub async fn check(
    event: &CheckEvent,
    serverless: &impl EmrServerless,
    prices: &impl PriceSource,
    now: DateTime<Utc>,
    jitter: f64,
) -> Result<CheckOutput, Error> {
    let info = serverless
        .get_job_run(&event.application_id, &event.job_run_id)
        .await?;
    let mut out = verdict(&info, &event.application_id, event, now, jitter);
    if let Some(billed) = &info.billed {
        let ended = JobRunPhase::of(&info.state).is_final();
        // The architecture the job run is priced as is its application's.
        let architecture = match &event.architecture {
            Some(a) => Ok(a.as_str().to_string()),
            None => serverless
                .get_application(&event.application_id)
                .await
                .map(|app| {
                    app.architecture
                        .unwrap_or_else(|| Architecture::default().as_str().into())
                })
                .map_err(|e| {
                    format!(
                        "the application's architecture could not be read ({})",
                        e.kind()
                    )
                }),
        };
        let priced = match architecture {
            Ok(a) => {
                prices
                    .serverless_prices(event.region.as_deref(), &a, now)
                    .await
            }
            Err(why) => Err(why),
        };
        if let Err(why) = &priced {
            tracing::warn!(why = %why, "job run not priced");
        }
        let cost = job_run_cost(billed, priced.as_ref().map_err(String::as_str), ended);
        out.cost = Some(CheckCost {
            vcpu_hours: billed.vcpu_hour,
            memory_gb_hours: billed.memory_gb_hour,
            storage_gb_hours: billed.storage_gb_hour,
            usd: cost.usd.map(|u| format!("{u:.4}")),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    fn info(state: &str) -> JobRunInfo {
        JobRunInfo {
            application_id: "00app".into(),
            id: "00run".into(),
            name: Some("Step 1".into()),
            state: state.into(),
            state_details: Some("boom".into()),
            billed: None,
            total: None,
            total_execution_duration_seconds: None,
            created_at: None,
            updated_at: None,
            started_at: None,
            ended_at: None,
            log_uri: Some("s3://logs/x/".into()),
            tags: Vec::new(),
        }
    }

    fn event() -> CheckEvent {
        let e = json!({"target": "serverless", "applicationId": "00app", "jobRunId": "00run",
                       "since": "2026-12-07T10:00:00Z", "options": {"minPollSeconds": 10, "maxPollSeconds": 60}});
        serde_json::from_value(e).unwrap()
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 10, 0, 0).unwrap() + chrono::Duration::seconds(seconds)
    }

    #[test]
    fn each_state_is_running_succeeded_or_failed_with_the_steps_name_details_and_logs() {
        for (state, phase) in [
            ("SUBMITTED", CheckPhase::Running),
            ("RUNNING", CheckPhase::Running),
            ("CANCELLING", CheckPhase::Running),
            ("SUCCESS", CheckPhase::Succeeded),
            ("FAILED", CheckPhase::Failed),
            ("CANCELLED", CheckPhase::Failed),
        ] {
            let out = verdict(&info(state), "00app", &event(), at(100), 0.0);
            assert_eq!(out.phase, phase, "{state}");
            assert_eq!(
                out.log_uri.as_deref(),
                Some("s3://logs/x/applications/00app/jobs/00run/")
            );
            if phase == CheckPhase::Failed {
                let e = out.error.unwrap();
                assert_eq!(e.name, ErrorName::StepFailed);
                for part in [
                    "Step 1",
                    "boom",
                    "s3://logs/x/applications/00app/jobs/00run/",
                    state,
                ] {
                    assert!(e.cause.contains(part), "{part}: {}", e.cause);
                }
            } else {
                assert!(out.error.is_none());
            }
        }
    }

    #[test]
    fn a_job_run_not_ended_is_running_whatever_the_runs_age_which_the_answer_gives() {
        for age in [0, 601, 30 * 86_400] {
            let out = verdict(&info("RUNNING"), "00app", &event(), at(age), 0.0);
            assert_eq!(out.phase, CheckPhase::Running);
            assert!(out.error.is_none());
            assert_eq!(out.elapsed_seconds, age);
        }
        let out = verdict(&info("SUCCESS"), "00app", &event(), at(900), 0.0);
        assert_eq!(out.phase, CheckPhase::Succeeded);
    }

    #[test]
    fn the_pause_grows_with_the_job_runs_age_not_the_runs() {
        let mut young = info("RUNNING");
        young.created_at = Some(at(3 * 3600));
        let mut old = info("RUNNING");
        old.created_at = Some(at(0));
        let e = json!({"target": "serverless", "applicationId": "00app", "jobRunId": "00run",
                       "since": "2026-12-07T10:00:00Z", "options": {"minPollSeconds": 10, "maxPollSeconds": 900}});
        let e: CheckEvent = serde_json::from_value(e).unwrap();
        let now = at(3 * 3600 + 60);
        let young = verdict(&young, "00app", &e, now, 0.0);
        let old = verdict(&old, "00app", &e, now, 0.0);
        assert_eq!(young.elapsed_seconds, old.elapsed_seconds);
        assert!(
            young.next_poll_seconds < old.next_poll_seconds,
            "{} {}",
            young.next_poll_seconds,
            old.next_poll_seconds
        );
    }

    #[test]
    fn the_backstop_doubles_the_job_runs_age_within_its_bounds_and_never_passes_the_runs_timeout() {
        let e = json!({"target": "serverless", "applicationId": "00app", "jobRunId": "00run",
                       "since": "2026-12-07T10:00:00Z",
                       "options": {"minBackstopSeconds": 600, "maxBackstopSeconds": 7200, "timeoutSeconds": 10_000}});
        let e: CheckEvent = serde_json::from_value(e).unwrap();
        let mut job = info("RUNNING");
        // A job run started 5,000 s into the run.
        job.created_at = Some(at(5000));
        let backstop = |age: i64| verdict(&job, "00app", &e, at(5000 + age), 0.0).backstop_seconds;
        assert_eq!(backstop(0), 600, "a young job run: the least backstop");
        assert_eq!(
            backstop(1000),
            2000,
            "twice the job run's age, not the run's"
        );
        assert_eq!(
            backstop(4500),
            501,
            "never past the run's timeout (10,000 s from its start): a check then judges it"
        );
        let out = verdict(&job, "00app", &e, at(5100), 0.0);
        assert_eq!(out.checked_at, at(5100));
    }

    #[test]
    fn an_architecture_is_one_emr_serverless_has() {
        let with = |a: &str| {
            serde_json::from_value::<CheckEvent>(
                json!({"target": "serverless", "applicationId": "00app",
                "jobRunId": "00run", "architecture": a}),
            )
        };
        assert_eq!(
            with("ARM64").unwrap().architecture,
            Some(Architecture::Arm64)
        );
        assert!(with("../X86_64").is_err());
    }

    #[test]
    fn the_next_poll_is_within_the_options_bounds() {
        for elapsed in [0, 30, 3600, 86_400] {
            for jitter in [-1.0, 0.0, 1.0] {
                let n = verdict(&info("RUNNING"), "00app", &event(), at(elapsed), jitter)
                    .next_poll_seconds;
                assert!((10..=60).contains(&n), "{elapsed} {jitter}: {n}");
            }
        }
    }
}
