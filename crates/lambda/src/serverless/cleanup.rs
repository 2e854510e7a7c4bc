//! terminate-cluster, `"target": "serverless"`: the cleanup of a run on EMR Serverless, safe to repeat. It cancels
//! the run's job runs that have not ended and, for an application created for the run, every job run of it not
//! ended, then stops and deletes the application. While something is still on its way (job runs cancelling, the
//! application STOPPING) it answers `ApplicationNotReady`, which the state machine retries. A reused application
//! is never stopped or deleted.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use dfr_core::serverless::status::{ApplicationPhase, JobRunPhase, ServerlessRunCost};
use serde::{Deserialize, Serialize};

use super::run_end::{self, EndedRun, RunEnd, ServerlessRuns};
use super::{EmrServerless, Target};
use crate::error::Error;
use crate::prices::PriceSource;

/// Job run ids a cleanup takes: one per step of a playbook (EMR's limit of steps, as for clusters).
pub const MAX_JOB_RUN_IDS: usize = crate::event::MAX_STEP_IDS;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CleanupEvent {
    pub target: Target,
    #[serde(deserialize_with = "super::application_id")]
    pub application_id: String,
    #[serde(default, deserialize_with = "crate::event::region")]
    pub region: Option<String>,
    /// The application was created for the run (launch-cluster's `created`): it is stopped and deleted.
    pub created: bool,
    /// The job runs the run started.
    #[serde(default, deserialize_with = "job_run_ids")]
    pub job_run_ids: Vec<String>,
    #[serde(default, deserialize_with = "crate::event::optional_execution_arn")]
    pub execution: Option<String>,
    /// serverless-down: the application must be one serverless-up created (else `ClusterNotManaged`, also when IAM
    /// will not let it be read); `created` must be true.
    #[serde(default)]
    pub down: bool,
    /// How the run ended, for its run-end line and cost record: `SUCCEEDED`, or the failure's name (the state
    /// machine's cleanup states give it).
    #[serde(default, deserialize_with = "outcome")]
    pub outcome: Option<String>,
    /// When the execution started (`$$.Execution.StartTime`): the run's duration.
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
}

/// An outcome: an error name's characters (letters, digits, `.`, `_`), at most 128. Any other text is `INVALID`,
/// never a refused event: an outcome only labels the run's cost, and must never keep its application from being
/// deleted.
fn outcome<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let text = Option::<String>::deserialize(d)?;
    Ok(text.map(|t| {
        let name = (1..=128).contains(&t.len())
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_');
        if name {
            t
        } else {
            "INVALID".to_string()
        }
    }))
}

fn job_run_ids<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(transparent)]
    struct Id(#[serde(deserialize_with = "super::job_run_id")] String);
    let ids = Vec::<Id>::deserialize(d)?;
    if ids.len() > MAX_JOB_RUN_IDS {
        return Err(serde::de::Error::custom(format!(
            "{} job run ids; a run starts at most {MAX_JOB_RUN_IDS}",
            ids.len()
        )));
    }
    Ok(ids.into_iter().map(|Id(id)| id).collect())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CleanupOutput {
    pub application_id: String,
    /// The application is deleted (TERMINATED or gone); always false for a reused one.
    pub deleted: bool,
    /// The job runs this call cancelled.
    pub cancelled: Vec<String>,
    /// What the run cost, when this call deleted its application (the run's end): its job runs added up
    /// ([`super::run_end`]); `null` otherwise.
    pub cost: Option<ServerlessRunCost>,
    /// The application this call deleted, and its job runs as they were just before: the run's end.
    #[serde(skip)]
    pub ended: Option<EndedRun>,
}

/// What to do with the application once its job runs have ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Stop,
    Delete,
    /// Deleted already.
    Done,
    /// On its way to a state it can be stopped or deleted in.
    Wait,
}

/// The next step of a created application's cleanup in `state`.
pub fn next_step(state: &str) -> Next {
    match state {
        "STARTED" | "STARTING" => Next::Stop,
        s if ApplicationPhase::deletable(s) => Next::Delete,
        s if ApplicationPhase::of(s) == ApplicationPhase::Ended => Next::Done,
        _ => Next::Wait,
    }
}

fn not_ready(application_id: &str, why: &str) -> Error {
    Error::ApplicationNotReady(format!(
        "application {application_id}: {why}; the cleanup goes on when the call is repeated"
    ))
}

/// Cancels `id` if it may be cancelled; answers whether it has ended.
async fn cancel(
    serverless: &impl EmrServerless,
    application_id: &str,
    id: &str,
    state: &str,
    cancelled: &mut Vec<String>,
) -> Result<bool, Error> {
    let phase = JobRunPhase::of(state);
    if phase.is_cancellable() {
        serverless.cancel_job_run(application_id, id).await?;
        cancelled.push(id.to_string());
        return Ok(false);
    }
    Ok(phase.is_final())
}

/// serverless-down's check: the application exists and serverless-up created it (its run tags; IAM refuses to read
/// one that is not this stack's, which is not this stack's to delete either).
async fn handed_over(event: &CleanupEvent, serverless: &impl EmrServerless) -> Result<(), Error> {
    let id = &event.application_id;
    let not_managed = || {
        Error::ClusterNotManaged(format!(
            "application {id} was not created by this stack's up (or does not exist: IAM lets the function read \
             only this stack's applications): down stops and deletes only those"
        ))
    };
    if !event.created {
        return Err(Error::InvalidConfig(
            "$.created: down deletes the application: give true".into(),
        ));
    }
    match serverless.get_application(id).await {
        Ok(app) if super::ended::created_by_up(&app.tags) => Ok(()),
        Ok(_) | Err(Error::AccessDenied(_)) => Err(not_managed()),
        Err(e) => Err(e),
    }
}

/// One pass of the cleanup: what it did, and what is still on its way (why the cleanup is not over yet), if anything.
#[derive(Debug, Clone, PartialEq)]
pub struct Pass {
    pub output: CleanupOutput,
    /// `None`: the cleanup is over (a created application deleted; the job runs given ended).
    pub pending: Option<String>,
}

/// The cleanup of the run's application: see the module's documentation. Something still on its way is
/// `ApplicationNotReady`, which the state machine retries.
pub async fn cleanup(
    event: &CleanupEvent,
    serverless: &impl EmrServerless,
) -> Result<CleanupOutput, Error> {
    let pass = cleanup_pass(event, serverless).await?;
    match pass.pending {
        None => Ok(pass.output),
        Some(why) => Err(not_ready(&pass.output.application_id, &why)),
    }
}

/// The cleanup of the state machine's cleanup states: [`cleanup`], and, by the call that deletes the application,
/// the run's end recorded ([`run_end::record`]: its cost in the answer, the wait table and the run-end line).
pub async fn cleanup_run(
    event: &CleanupEvent,
    serverless: &impl EmrServerless,
    table: &impl ServerlessRuns,
    prices: &impl PriceSource,
    now: DateTime<Utc>,
) -> Result<CleanupOutput, Error> {
    let mut out = cleanup(event, serverless).await?;
    if let (Some(ended), Some(execution)) = (out.ended.take(), &event.execution) {
        let end = RunEnd {
            execution: execution.clone(),
            outcome: event.outcome.clone().unwrap_or_else(|| "UNKNOWN".into()),
            started_at: event.started_at,
            region: event.region.clone(),
        };
        out.cost = Some(run_end::record(&ended, &end, table, prices, now).await);
    }
    Ok(out)
}

/// One pass of [`cleanup`], answering what is still on its way rather than failing with it (for a caller that
/// goes on later by itself: the end of an execution, the reconciler).
pub async fn cleanup_pass(
    event: &CleanupEvent,
    serverless: &impl EmrServerless,
) -> Result<Pass, Error> {
    let app_id = event.application_id.as_str();
    let mut cancelled = Vec::new();
    let mut ended = true;
    let mut seen = BTreeSet::new();
    let output = |deleted: bool, cancelled: Vec<String>, pending: Option<String>| Pass {
        output: CleanupOutput {
            application_id: app_id.to_string(),
            deleted,
            cancelled,
            cost: None,
            ended: None,
        },
        pending,
    };
    if event.down {
        handed_over(event, serverless).await?;
    }
    if event.created {
        let app = match serverless.get_application(app_id).await {
            Ok(app) => app,
            Err(Error::ClusterNotFound(_)) => return Ok(output(true, cancelled, None)),
            Err(e) => return Err(e),
        };
        if ApplicationPhase::of(&app.state) == ApplicationPhase::Ended {
            return Ok(output(true, cancelled, None));
        }
        for run in serverless.list_job_runs(app_id, &[]).await? {
            seen.insert(run.id.clone());
            ended &= cancel(serverless, app_id, &run.id, &run.state, &mut cancelled).await?;
        }
    }
    for id in &event.job_run_ids {
        if seen.contains(id) {
            continue;
        }
        let state = match serverless.get_job_run(app_id, id).await {
            Ok(info) => info.state,
            Err(Error::ClusterNotFound(_)) => continue,
            Err(e) => return Err(e),
        };
        ended &= cancel(serverless, app_id, id, &state, &mut cancelled).await?;
    }
    if !ended {
        tracing::info!(application_id = %app_id, cancelled = ?cancelled, "job runs cancelling");
        let why = format!(
            "job runs still ending (cancelled by this call: {})",
            if cancelled.is_empty() {
                "none".to_string()
            } else {
                cancelled.join(", ")
            }
        );
        return Ok(output(false, cancelled, Some(why)));
    }
    if !event.created {
        return Ok(output(false, cancelled, None));
    }
    // Read again: the job runs' end may have changed it.
    let app = serverless.get_application(app_id).await?;
    let state = app.state.clone();
    match next_step(&state) {
        Next::Done => Ok(output(true, cancelled, None)),
        Next::Delete => {
            // The run's end: its job runs, all ended, read before the application goes.
            let mut job_runs = Vec::new();
            for id in seen.iter().chain(&event.job_run_ids) {
                match serverless.get_job_run(app_id, id).await {
                    Ok(info) if !job_runs.iter().any(|j: &super::JobRunInfo| j.id == info.id) => {
                        job_runs.push(info)
                    }
                    Ok(_) | Err(Error::ClusterNotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            serverless.delete_application(app_id).await?;
            tracing::info!(application_id = %app_id, "application deleted");
            let mut pass = output(true, cancelled, None);
            pass.output.ended = Some(EndedRun {
                application: app,
                region: event.region.clone(),
                job_runs,
            });
            Ok(pass)
        }
        Next::Stop => {
            serverless.stop_application(app_id).await?;
            let why = format!("stopping (was {state}), then deleted");
            Ok(output(false, cancelled, Some(why)))
        }
        Next::Wait => Ok(output(false, cancelled, Some(state))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_application_is_stopped_then_deleted_and_waited_for_in_between() {
        assert_eq!(next_step("STARTED"), Next::Stop);
        assert_eq!(next_step("STARTING"), Next::Stop);
        assert_eq!(next_step("CREATED"), Next::Delete);
        assert_eq!(next_step("STOPPED"), Next::Delete);
        assert_eq!(next_step("TERMINATED"), Next::Done);
        assert_eq!(next_step("STOPPING"), Next::Wait);
        assert_eq!(next_step("CREATING"), Next::Wait);
        assert_eq!(next_step("SOMETHING_NEW"), Next::Wait);
    }

    #[test]
    fn an_outcome_is_an_error_name_and_any_other_text_never_refuses_the_cleanup() {
        let event = |outcome: &str| -> CleanupEvent {
            serde_json::from_value(serde_json::json!({
                "target": "serverless", "applicationId": "00abc", "created": true, "outcome": outcome,
                "startedAt": "2026-12-07T17:07:50.936Z"
            }))
            .unwrap()
        };
        assert_eq!(
            event("States.Timeout").outcome.as_deref(),
            Some("States.Timeout")
        );
        for odd in ["", "a b", "x\u{7}", &"A".repeat(129)] {
            assert_eq!(event(odd).outcome.as_deref(), Some("INVALID"), "{odd:?}");
        }
        assert!(event("SUCCEEDED").started_at.is_some());
    }

    #[test]
    fn job_run_ids_are_checked_and_bounded() {
        let ok: Result<CleanupEvent, _> = serde_json::from_value(serde_json::json!({
            "target": "serverless", "applicationId": "00abc", "created": true, "jobRunIds": ["00r1"]
        }));
        assert_eq!(ok.unwrap().job_run_ids, vec!["00r1"]);
        for bad in [
            serde_json::json!(["../x"]),
            serde_json::json!(vec!["00r"; 257]),
        ] {
            let e: Result<CleanupEvent, _> = serde_json::from_value(serde_json::json!({
                "target": "serverless", "applicationId": "00abc", "created": true, "jobRunIds": bad
            }));
            assert!(e.is_err());
        }
    }
}
