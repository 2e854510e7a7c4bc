//! launch-cluster, `"target": "serverless"` with `"action": "start"`: serverless-up's start of the application it
//! created. One call starts a CREATED or STOPPED application (StartApplication) and answers `ApplicationNotReady`
//! until it is STARTED, which the state machine retries: a repeated call starts nothing twice (starting a STARTING
//! or STARTED application changes nothing).

use serde::{Deserialize, Serialize};

use super::{EmrServerless, Target};
use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Start,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReadyEvent {
    pub target: Target,
    pub action: Action,
    #[serde(deserialize_with = "super::application_id")]
    pub application_id: String,
    #[serde(default, deserialize_with = "crate::event::region")]
    pub region: Option<String>,
}

/// Whether a launch-cluster event is this one (its `action`), rather than a launch.
pub fn is_ready(event: &serde_json::Value) -> bool {
    event.get("action").is_some()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadyOutput {
    pub application_id: String,
    /// STARTED.
    pub state: String,
}

/// What one call does with an application in `state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// STARTED: done.
    Ready,
    /// CREATED or STOPPED: StartApplication, then wait.
    Start,
    /// On its way (CREATING, STARTING, STOPPING): wait.
    Wait,
    /// TERMINATED: it can never start.
    Gone,
}

pub fn next_step(state: &str) -> Next {
    match state {
        "STARTED" => Next::Ready,
        "CREATED" | "STOPPED" => Next::Start,
        "TERMINATED" => Next::Gone,
        _ => Next::Wait,
    }
}

/// Starts the application, or answers it STARTED; `ApplicationNotReady` while it is on its way.
pub async fn ready(
    event: &ReadyEvent,
    serverless: &impl EmrServerless,
) -> Result<ReadyOutput, Error> {
    let id = &event.application_id;
    let state = serverless.get_application(id).await?.state;
    let waiting = |why: String| {
        Err(Error::ApplicationNotReady(format!(
            "application {id} is {why}; it is ready once STARTED"
        )))
    };
    match next_step(&state) {
        Next::Ready => Ok(ReadyOutput {
            application_id: id.clone(),
            state,
        }),
        Next::Start => {
            serverless.start_application(id).await?;
            tracing::info!(application_id = %id, was = %state, "application starting");
            waiting(format!("starting (was {state})"))
        }
        Next::Wait => waiting(state),
        Next::Gone => Err(Error::ClusterNotActive(format!(
            "application {id} is {state}: it can no longer start"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_application_is_started_once_and_waited_for_until_started() {
        assert_eq!(next_step("STARTED"), Next::Ready);
        assert_eq!(next_step("CREATED"), Next::Start);
        assert_eq!(next_step("STOPPED"), Next::Start);
        for s in ["CREATING", "STARTING", "STOPPING", "SOMETHING_NEW"] {
            assert_eq!(next_step(s), Next::Wait, "{s}");
        }
        assert_eq!(next_step("TERMINATED"), Next::Gone);
    }

    #[test]
    fn the_event_is_told_apart_from_a_launch_and_checks_its_id() {
        let ok = serde_json::json!({"target": "serverless", "action": "start", "applicationId": "00abc"});
        assert!(is_ready(&ok));
        assert!(serde_json::from_value::<ReadyEvent>(ok).is_ok());
        let bad =
            serde_json::json!({"target": "serverless", "action": "start", "applicationId": "../x"});
        assert!(serde_json::from_value::<ReadyEvent>(bad).is_err());
        assert!(!is_ready(
            &serde_json::json!({"target": "serverless", "cluster": "{}"})
        ));
    }
}
