//! add-steps: add a playbook's steps to a running cluster, once per run; and, when the run gives up on them (a
//! timeout, its status unknown), cancel them, so the run's lock never ends while its steps still run.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use dfr_core::plan;
use dfr_core::status::CLUSTER_ACTIVE;
use gotemplate::Clock;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::emr::{Emr, StepCancellation};
use crate::error::Error;
use crate::payload::size_of;
use crate::run::Run;
use crate::source::{self, ConfigInput, ObjectStore};

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddStepsEvent {
    #[serde(deserialize_with = "crate::event::cluster_id")]
    pub cluster_id: String,
    #[serde(default, deserialize_with = "crate::event::region")]
    pub region: Option<String>,
    pub playbook: ConfigInput,
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    /// Files the configs read with `base64File`: path as written → text, or an `s3://` URI.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// What `systemEnv` reads (never the function's own environment).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The playbook was rendered already (by the dataflow-runner CLI): validated, not rendered again.
    #[serde(default)]
    pub rendered: bool,
    pub run: Run,
    /// The execution's options, checked before anything else.
    #[serde(default)]
    pub execution: Option<crate::event::ExecutionOptions>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddStepsOutput {
    pub cluster_id: String,
    pub step_ids: Vec<String>,
    pub step_names: Vec<String>,
    pub already_added: bool,
}

pub async fn add_steps(
    event: &AddStepsEvent,
    emr: &impl Emr,
    store: &impl ObjectStore,
    clock: &dyn Clock,
    now: DateTime<Utc>,
) -> Result<AddStepsOutput, Error> {
    if let Some(execution) = &event.execution {
        execution.check()?;
    }
    let configs = [("playbook", size_of(&event.playbook))];
    let env = &mut source::prepare(clock, &configs, &event.vars, &event.files, &event.env)?;
    let playbook =
        source::load_playbook(&event.playbook, &event.vars, store, env, event.rendered).await?;
    let mut request = plan::add_job_flow_steps(&event.cluster_id, &playbook.config);
    let suffix = event.run.step_suffix();
    for s in &mut request.steps {
        s.name.push_str(&suffix);
    }
    let names: Vec<String> = request.steps.iter().map(|s| s.name.clone()).collect();
    let cluster = emr.describe_cluster(&event.cluster_id).await?;
    // Steps already added by this run (a retry after a lost response) are recognised by their run suffix.
    let already = |step_ids| AddStepsOutput {
        cluster_id: event.cluster_id.clone(),
        step_ids,
        step_names: names.clone(),
        already_added: true,
    };
    if let Some(step_ids) = added_by_run(emr, event, &suffix, now).await? {
        return Ok(already(step_ids));
    }
    if !CLUSTER_ACTIVE.contains(&cluster.state.as_str()) {
        return Err(Error::ClusterNotActive(format!(
            "cluster {} is {}: steps can only be added while it is STARTING, BOOTSTRAPPING, RUNNING or WAITING",
            event.cluster_id, cluster.state
        )));
    }
    let step_ids = match emr.add_job_flow_steps(&request).await {
        Ok(ids) => ids,
        // No answer: the steps may be queued. Look for them before reporting a retryable failure.
        Err(Error::EmrUnavailable(why)) => {
            let found = crate::run::settle(|| added_by_run(emr, event, &suffix, now)).await?;
            let Some(step_ids) = found else {
                return Err(Error::EmrUnavailable(why));
            };
            tracing::warn!(cluster_id = %event.cluster_id, "AddJobFlowSteps got no answer but took effect");
            return Ok(already(step_ids));
        }
        Err(other) => return Err(other),
    };
    Ok(AddStepsOutput {
        cluster_id: event.cluster_id.clone(),
        step_ids,
        step_names: names,
        already_added: false,
    })
}

/// The ids of the steps this run already added (recognised by their run suffix), in the playbook's order.
async fn added_by_run(
    emr: &impl Emr,
    event: &AddStepsEvent,
    suffix: &str,
    now: DateTime<Utc>,
) -> Result<Option<Vec<String>>, Error> {
    let mine: Vec<String> = emr
        .list_steps(&event.cluster_id, None, Some(event.run.look_back_from(now)))
        .await?
        .into_iter()
        .filter(|s| s.outcome.name.ends_with(suffix))
        .map(|s| s.outcome.id)
        .collect();
    // AddJobFlowSteps is all or nothing; ListSteps is newest first, so reverse to the playbook's order.
    Ok((!mine.is_empty()).then(|| mine.into_iter().rev().collect()))
}

/// What the add-steps function is asked: add a playbook's steps, or (`"action": "cancel"`) cancel the steps a run
/// added.
#[derive(Debug, Clone)]
pub enum AddStepsRequest {
    Add(Box<AddStepsEvent>),
    Cancel(CancelStepsEvent),
}

impl AddStepsRequest {
    pub fn parse(payload: Value) -> Result<Self, Error> {
        if payload.get("action").is_some() {
            crate::runtime::decode("add-steps", payload).map(Self::Cancel)
        } else {
            crate::runtime::decode("add-steps", payload).map(|e| Self::Add(Box::new(e)))
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CancelAction {
    Cancel,
}

/// Cancel these steps of a run (the `stepIds` add-steps returned), no others.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CancelStepsEvent {
    pub action: CancelAction,
    #[serde(deserialize_with = "crate::event::cluster_id")]
    pub cluster_id: String,
    #[serde(default, deserialize_with = "crate::event::region")]
    pub region: Option<String>,
    #[serde(deserialize_with = "crate::event::step_ids")]
    pub step_ids: Vec<String>,
}

/// A step and the state it was in when the run cancelled its steps.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepState {
    pub step_id: String,
    pub state: String,
}

/// A step EMR did not cancel, and EMR's reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotCancelled {
    pub step_id: String,
    pub state: String,
    pub reason: String,
}

/// What the failure's Cause quotes: which of the run's steps were cancelled, which EMR refused to cancel (they
/// may still run), which had ended already.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelStepsOutput {
    pub cluster_id: String,
    pub cancelled: Vec<StepState>,
    pub not_cancelled: Vec<NotCancelled>,
    pub already_ended: Vec<StepState>,
    pub message: String,
}

/// States in which a step still runs or will: what a cancellation is for.
const ACTIVE_STEP_STATES: [&str; 3] = ["PENDING", "RUNNING", "CANCEL_PENDING"];

/// Cancels the run's steps that have not ended: ListSteps by id for their states, then one CancelSteps for the
/// active ones (a running step is interrupted). Steps of other runs are never named, so never touched.
pub async fn cancel_steps(
    event: &CancelStepsEvent,
    emr: &impl Emr,
) -> Result<CancelStepsOutput, Error> {
    let listed = emr
        .list_steps(&event.cluster_id, Some(&event.step_ids), None)
        .await?;
    let state_of = |id: &str| {
        listed
            .iter()
            .find(|s| s.outcome.id == id)
            .map(|s| s.outcome.state.clone())
    };
    let mut out = CancelStepsOutput {
        cluster_id: event.cluster_id.clone(),
        cancelled: vec![],
        not_cancelled: vec![],
        already_ended: vec![],
        message: String::new(),
    };
    let mut active = Vec::new();
    for id in &event.step_ids {
        match state_of(id) {
            Some(state) if ACTIVE_STEP_STATES.contains(&state.as_str()) => active.push(id.clone()),
            Some(state) => out.already_ended.push(StepState {
                step_id: id.clone(),
                state,
            }),
            None => out.not_cancelled.push(NotCancelled {
                step_id: id.clone(),
                state: "UNKNOWN".into(),
                reason: format!("ListSteps does not show step {id} on {}", event.cluster_id),
            }),
        }
    }
    let answers: Vec<StepCancellation> = if active.is_empty() {
        vec![]
    } else {
        emr.cancel_steps(&event.cluster_id, &active).await?
    };
    for id in active {
        let state = state_of(&id).unwrap_or_default();
        match answers.iter().find(|a| a.step_id == id) {
            Some(a) if a.submitted => out.cancelled.push(StepState { step_id: id, state }),
            answer => out.not_cancelled.push(NotCancelled {
                step_id: id,
                state,
                reason: answer
                    .and_then(|a| a.reason.clone())
                    .unwrap_or_else(|| "EMR did not accept the cancellation".into()),
            }),
        }
    }
    out.message = cancellation_message(&out);
    Ok(out)
}

fn cancellation_message(out: &CancelStepsOutput) -> String {
    let list = |steps: &[StepState]| {
        steps
            .iter()
            .map(|s| format!("{} ({})", s.step_id, s.state))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut parts = Vec::new();
    if !out.cancelled.is_empty() {
        parts.push(format!(
            "Cancelled this run's steps {} (a running one is interrupted; EMR ends them CANCELLED).",
            list(&out.cancelled)
        ));
    }
    if !out.not_cancelled.is_empty() {
        let refused: Vec<String> = out
            .not_cancelled
            .iter()
            .map(|n| format!("{} ({}): {}", n.step_id, n.state, n.reason))
            .collect();
        parts.push(format!(
            "Could not cancel {}; they may still be running: cancel them on the cluster (aws emr cancel-steps) \
             before the next run.",
            refused.join("; ")
        ));
    }
    if !out.already_ended.is_empty() {
        parts.push(format!("Already ended: {}.", list(&out.already_ended)));
    }
    if parts.is_empty() {
        parts.push("The run had no steps to cancel.".into());
    }
    parts.join(" ")
}
