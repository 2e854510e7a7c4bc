//! add-steps, `"target": "serverless"`: start one job run, once. StartJobRun takes the client token of the
//! execution and the step's index, so a retry after a lost answer gets back the job run the first call started.

use dfr_core::serverless::status::ApplicationPhase;
use dfr_core::serverless::{client_token, TokenFor};
use serde::{Deserialize, Serialize};

use super::launch::JobRunInput;
use super::{EmrServerless, Target};
use crate::error::Error;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartEvent {
    pub target: Target,
    #[serde(deserialize_with = "super::application_id")]
    pub application_id: String,
    #[serde(default, deserialize_with = "crate::event::region")]
    pub region: Option<String>,
    /// `$$.Execution.Id`: with `index`, the job run's client token.
    #[serde(deserialize_with = "crate::event::execution_arn")]
    pub execution: String,
    /// The step's index in the playbook (`$$.Map.Item.Index`).
    pub index: usize,
    pub job_run: JobRunInput,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartOutput {
    pub job_run_id: String,
    pub index: usize,
    pub name: String,
}

/// What add-steps does with an application in `state`: `Ok` to start the job run (a CREATED or STOPPED application
/// starts itself on it), or the error to answer.
pub fn may_start(application_id: &str, state: &str) -> Result<(), Error> {
    match state {
        "CREATING" | "STOPPING" => Err(Error::ApplicationNotReady(format!(
            "application {application_id} is {state}: its job run starts once it is CREATED, STARTED or STOPPED"
        ))),
        _ if ApplicationPhase::of(state) == ApplicationPhase::Ended => {
            Err(Error::ClusterNotActive(format!(
                "application {application_id} is {state}: no job run can start on it"
            )))
        }
        _ => Ok(()),
    }
}

/// Starts the job run of step `event.index` on the application, or answers the one a first try started.
pub async fn start(
    event: &StartEvent,
    serverless: &impl EmrServerless,
) -> Result<StartOutput, Error> {
    let app = serverless.get_application(&event.application_id).await?;
    may_start(&event.application_id, &app.state)?;
    let token = client_token(&event.execution, TokenFor::StartJobRun(event.index));
    let id = serverless
        .start_job_run(&event.application_id, &event.job_run.request, &token)
        .await?;
    tracing::info!(application_id = %event.application_id, job_run_id = %id, index = event.index, "job run started (or found by its client token)");
    Ok(StartOutput {
        job_run_id: id,
        index: event.index,
        name: event.job_run.name.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_run_starts_on_an_application_that_exists_and_is_not_changing_state() {
        for state in ["CREATED", "STARTING", "STARTED", "STOPPED"] {
            assert!(may_start("00a", state).is_ok(), "{state}");
        }
        for state in ["CREATING", "STOPPING"] {
            let e = may_start("00a", state).unwrap_err();
            assert_eq!(e.name(), "ApplicationNotReady");
            assert!(e.retryable());
        }
        assert_eq!(
            may_start("00a", "TERMINATED").unwrap_err().name(),
            "ClusterNotActive"
        );
    }
}
