//! What an execution of serverless-run-transient that ended without its own cleanup (stopped, timed out, or failed
//! before its cleanup states) left on EMR Serverless, found and ended: for terminate-cluster's end of an execution
//! (the stack's cleanup rule) and for the reconciler's sweep (a lost cleanup event).
//!
//! EMR Serverless has no listing by tag: the applications of a region are listed (ListApplications, by state) and
//! each one's tags read (GetApplication, which IAM allows on this stack's applications only: one it refuses is not
//! this stack's, and is skipped). An application is the execution's own when the launch tagged it as created by
//! that run ([`created_by`]); its end is one pass of [`super::cleanup::cleanup_pass`] (cancel its job runs, stop it,
//! delete it). A pass that finds something still on its way (job runs cancelling, the application STOPPING) leaves
//! it so: the next pass (the reconciler's next sweep) goes on from there. A reused application is never stopped or
//! deleted: only the execution's own job runs on it (their tags name it) are cancelled.

use dfr_core::serverless::status::JOB_RUN_NOT_ENDED;
use serde::{Deserialize, Serialize};

use super::cleanup::{cleanup_pass, CleanupEvent};
use super::{ApplicationInfo, EmrServerless, Target};
use crate::error::Error;
use crate::run::{TAG_EXECUTION, TAG_MANAGED, TAG_RUN_KEY};

/// The application states a cleanup looks at: all but TERMINATED.
pub const APPLICATION_NOT_ENDED: [&str; 6] = [
    "CREATING", "CREATED", "STARTING", "STARTED", "STOPPING", "STOPPED",
];

/// How many applications one pass reads in a region at most (GetApplication each); more is an error naming the
/// count (the event is retried, the sweep reports it), never a pass past the function's timeout.
pub const MAX_APPLICATIONS_READ: usize = 200;

/// What an application is to an execution, by its tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Created for the execution's run: stopped and deleted once the execution has ended.
    Created,
    /// One of this stack's applications not created by this execution's run (reused: tagged by hand for runs to use,
    /// or created by serverless-up): the execution's own job runs on it are cancelled, the application is left as
    /// it is.
    Reused,
    /// Another execution's application, or not this stack's: left alone.
    Other,
}

/// The execution whose run created the application (its `dataflow-runner:execution` tag, and a run key
/// `<execution>#<attempt>` as the launch writes it), if a run did.
pub fn creator(tags: &[(String, String)]) -> Option<&str> {
    let tag = |k| crate::emr::tag(tags, k);
    if tag(TAG_MANAGED) != Some("true") {
        return None;
    }
    let execution = tag(TAG_EXECUTION)?;
    let run_key = tag(TAG_RUN_KEY)?;
    let attempt = run_key.strip_prefix(execution)?.strip_prefix('#')?;
    (!attempt.is_empty() && attempt.bytes().all(|b| b.is_ascii_digit())).then_some(execution)
}

/// The state machine whose executions create the applications they hand over (`<stack>-serverless-up`): such an
/// application outlives its execution, runs reuse it (`run --emr-application`), and serverless-down deletes it.
pub const UP_MACHINE: &str = "-serverless-up";

/// Whether a serverless-up execution created the application (its run tags say so): one handed over to its user.
pub fn created_by_up(tags: &[(String, String)]) -> bool {
    creator(tags)
        .and_then(crate::event::execution_machine)
        .is_some_and(|m| m.ends_with(UP_MACHINE))
}

/// The one rule for what an application is to `execution`.
pub fn role(tags: &[(String, String)], execution: &str) -> Role {
    match creator(tags) {
        Some(e) if e == execution => Role::Created,
        Some(_) if created_by_up(tags) => Role::Reused,
        Some(_) => Role::Other,
        None if crate::emr::tag(tags, TAG_MANAGED) == Some("true") => Role::Reused,
        None => Role::Other,
    }
}

/// What one pass did in all the regions it looked in.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ended {
    /// Applications deleted (or found deleted) by this pass.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applications_deleted: Vec<String>,
    /// Applications whose end is on its way (job runs cancelling, STOPPING, CREATING): the next pass deletes them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applications_ending: Vec<String>,
    /// Job runs this pass cancelled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub job_runs_cancelled: Vec<String>,
    /// The applications this pass deleted, with their job runs: the runs' ends, for the caller to record
    /// ([`super::run_end::record`]).
    #[serde(skip)]
    pub runs_ended: Vec<super::run_end::EndedRun>,
    /// `applications_ending` with their regions.
    #[serde(skip)]
    pub ending_in: Vec<(String, String)>,
}

/// The region's applications this stack may act on, with their tags: every application not TERMINATED, read
/// one by one (one IAM refuses is another's, and skipped; one deleted meanwhile too).
pub async fn stack_applications(
    serverless: &impl EmrServerless,
    region: &str,
) -> Result<(Vec<ApplicationInfo>, Vec<Error>), Error> {
    let listed = serverless.list_applications(&APPLICATION_NOT_ENDED).await?;
    let mut errors = Vec::new();
    if listed.len() > MAX_APPLICATIONS_READ {
        errors.push(Error::EmrUnavailable(format!(
            "{region}: {} applications not TERMINATED, more than the {MAX_APPLICATIONS_READ} one pass reads",
            listed.len()
        )));
    }
    let mut apps = Vec::new();
    for summary in listed.iter().take(MAX_APPLICATIONS_READ) {
        match serverless.get_application(&summary.id).await {
            Ok(app) => apps.push(app),
            Err(Error::AccessDenied(_) | Error::ClusterNotFound(_)) => {
                tracing::debug!(application_id = %summary.id, "not this stack's (or deleted meanwhile)");
            }
            Err(e) => errors.push(e),
        }
    }
    Ok((apps, errors))
}

/// One pass of the cleanup of `application_id` (a [`Role::Created`] application, with `job_run_ids` empty; a
/// reused one, with the execution's job runs on it): the job runs cancelled, then, for a created one, the
/// application stopped and deleted. Something still on its way is `Ok` with the application in `applications_ending`.
pub async fn end_application(
    serverless: &impl EmrServerless,
    region: &str,
    application_id: &str,
    created: bool,
    job_run_ids: Vec<String>,
    execution: &str,
    out: &mut Ended,
) -> Result<(), Error> {
    let event = CleanupEvent {
        target: Target::Serverless,
        application_id: application_id.to_string(),
        region: Some(region.to_string()),
        created,
        job_run_ids,
        execution: Some(execution.to_string()),
        down: false,
        outcome: None,
        started_at: None,
    };
    let pass = cleanup_pass(&event, serverless).await?;
    out.job_runs_cancelled.extend(pass.output.cancelled);
    if let Some(why) = pass.pending {
        tracing::info!(application_id = %application_id, %why, "on its way: the next pass goes on");
        out.applications_ending.push(application_id.to_string());
        out.ending_in
            .push((application_id.to_string(), region.to_string()));
    } else if pass.output.deleted {
        out.applications_deleted.push(pass.output.application_id);
    }
    out.runs_ended.extend(pass.output.ended);
    Ok(())
}

/// The execution's job runs on a reused application that have not ended (each read for its tags: ListJobRuns has
/// none).
async fn own_job_runs(
    serverless: &impl EmrServerless,
    application_id: &str,
    execution: &str,
) -> Result<Vec<String>, Error> {
    let mut own = Vec::new();
    for run in serverless
        .list_job_runs(application_id, &JOB_RUN_NOT_ENDED)
        .await?
    {
        match serverless.get_job_run(application_id, &run.id).await {
            Ok(info) if crate::emr::tag(&info.tags, TAG_EXECUTION) == Some(execution) => {
                own.push(run.id)
            }
            Ok(_) | Err(Error::AccessDenied(_) | Error::ClusterNotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(own)
}

/// Ends what `execution` left in one region: its created applications, its job runs on reused ones. Goes on past
/// every error (kept in `errors`).
pub async fn end_execution(
    serverless: &impl EmrServerless,
    region: &str,
    execution: &str,
    out: &mut Ended,
    errors: &mut Vec<Error>,
) {
    let apps = match stack_applications(serverless, region).await {
        Ok((apps, mut errs)) => {
            errors.append(&mut errs);
            apps
        }
        Err(e) => {
            errors.push(e);
            return;
        }
    };
    for app in apps {
        let result = match role(&app.tags, execution) {
            Role::Created => {
                end_application(
                    serverless,
                    region,
                    &app.id,
                    true,
                    Vec::new(),
                    execution,
                    out,
                )
                .await
            }
            Role::Reused => match own_job_runs(serverless, &app.id, execution).await {
                Ok(ids) if ids.is_empty() => Ok(()),
                Ok(ids) => {
                    end_application(serverless, region, &app.id, false, ids, execution, out).await
                }
                Err(e) => Err(e),
            },
            Role::Other => Ok(()),
        };
        if let Err(e) = result {
            errors.push(e);
        } else if role(&app.tags, execution) != Role::Other {
            tracing::info!(application_id = %app.id, %region, %execution, "ended what the execution left on it");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXEC: &str = "arn:aws:states:eu-west-1:1:execution:dfr-serverless-run-transient:nightly";

    fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn an_application_is_the_executions_own_only_when_its_run_tags_say_the_run_created_it() {
        let created = tags(&[
            (TAG_MANAGED, "true"),
            (TAG_EXECUTION, EXEC),
            (TAG_RUN_KEY, &format!("{EXEC}#1")),
        ]);
        assert_eq!(role(&created, EXEC), Role::Created);
        assert_eq!(creator(&created), Some(EXEC));
        // Another execution's application is not this one's, nor reused.
        assert_eq!(role(&created, &format!("{EXEC}-2")), Role::Other);
        // Tagged for reuse by hand: managed and an execution of the stack, but no run created it.
        let reused = tags(&[(TAG_MANAGED, "true"), (TAG_EXECUTION, EXEC)]);
        assert_eq!(role(&reused, EXEC), Role::Reused);
        let odd_key = tags(&[
            (TAG_MANAGED, "true"),
            (TAG_EXECUTION, EXEC),
            (TAG_RUN_KEY, &format!("{EXEC}-other#1")),
        ]);
        assert_eq!(role(&odd_key, EXEC), Role::Reused);
        let no_attempt = tags(&[
            (TAG_MANAGED, "true"),
            (TAG_EXECUTION, EXEC),
            (TAG_RUN_KEY, &format!("{EXEC}#")),
        ]);
        assert_eq!(role(&no_attempt, EXEC), Role::Reused);
        // Created by serverless-up and handed over: every run on it reuses it.
        let up = "arn:aws:states:eu-west-1:1:execution:dfr-serverless-up:up-1";
        let handed_over = tags(&[
            (TAG_MANAGED, "true"),
            (TAG_EXECUTION, up),
            (TAG_RUN_KEY, &format!("{up}#1")),
        ]);
        assert!(created_by_up(&handed_over));
        assert!(!created_by_up(&created));
        assert_eq!(role(&handed_over, EXEC), Role::Reused);
        assert_eq!(role(&handed_over, up), Role::Created);
        // Not managed: never this stack's, whatever else it says.
        let foreign = tags(&[
            (TAG_MANAGED, "false"),
            (TAG_EXECUTION, EXEC),
            (TAG_RUN_KEY, &format!("{EXEC}#1")),
        ]);
        assert_eq!(role(&foreign, EXEC), Role::Other);
        assert_eq!(role(&[], EXEC), Role::Other);
    }

    #[test]
    fn every_application_state_but_terminated_is_looked_at() {
        use dfr_core::serverless::status::ApplicationPhase;
        for s in APPLICATION_NOT_ENDED {
            assert_ne!(ApplicationPhase::of(s), ApplicationPhase::Ended, "{s}");
            assert_ne!(ApplicationPhase::of(s), ApplicationPhase::Unknown, "{s}");
        }
    }
}
