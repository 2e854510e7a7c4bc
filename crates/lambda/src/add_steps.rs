//! add-steps: add a playbook's steps to a running cluster, once per run.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use dfr_core::plan;
use dfr_core::status::CLUSTER_ACTIVE;
use dfr_core::template::TemplateEnv;
use serde::{Deserialize, Serialize};

use crate::emr::Emr;
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
    env: &dyn TemplateEnv,
    now: DateTime<Utc>,
) -> Result<AddStepsOutput, Error> {
    let configs = [("playbook", size_of(&event.playbook))];
    let env = &mut source::prepare(env, &configs, &event.vars, &event.files, &event.env)?;
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
