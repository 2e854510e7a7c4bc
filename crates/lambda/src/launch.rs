//! launch-cluster: validate and render the configs once, then launch the cluster — unless this run already did.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use dfr_core::plan::{self, AutoTerminationPolicy, Lifecycle};
use gotemplate::Clock;
use serde::{Deserialize, Serialize};

use crate::emr::Emr;
use crate::error::Error;
use crate::payload::size_of;
use crate::run::{Run, TAG_KEEP_ON_FAILURE, TAG_RUN_KEY};
use crate::source::{self, ConfigInput, ObjectStore};
use crate::stack::Stack;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LifecycleInput {
    Transient,
    Persistent,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LaunchEvent {
    pub cluster: ConfigInput,
    #[serde(default)]
    pub playbook: Option<ConfigInput>,
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    /// Files the configs read with `base64File`: path as written → text, or an `s3://` URI.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// What `systemEnv` reads (never the function's own environment).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The configs were rendered already (by the dataflow-runner CLI, where the user's environment and files are):
    /// they are validated, not rendered again, so a rendered value may hold `{{`.
    #[serde(default)]
    pub rendered: bool,
    pub lifecycle: LifecycleInput,
    pub run: Run,
    /// An idle auto-termination policy for a transient cluster whose config sets none; absent or 0: none. Off by
    /// default: a transient cluster ends itself after its last step, and EMR judges idleness by YARN applications,
    /// not steps, so a long step that is not a YARN application (a script through command-runner) could be cut off.
    #[serde(default, deserialize_with = "idle_timeout")]
    pub idle_timeout_seconds: Option<i64>,
    /// Keep the cluster when the run fails (tagged so the cleanup rule leaves it alone).
    #[serde(default)]
    pub keep_on_failure: bool,
    /// The execution's options, checked before anything else.
    #[serde(default)]
    pub execution: Option<crate::event::ExecutionOptions>,
}

/// 0 (no safety net) or what EMR takes as an idle timeout (the execution-input schema's `idleTimeoutSeconds`: 60 s
/// to 7 days). Anything else would make EMR refuse the launch, or quietly leave a transient cluster without its
/// safety net.
fn idle_timeout<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let emr = dfr_core::execution::defaults::idle_timeout_seconds();
    match Option::<i64>::deserialize(d)? {
        Some(s) if s != 0 && !u64::try_from(s).is_ok_and(|s| emr.contains(&s)) => {
            Err(serde::de::Error::custom(format!(
                "{s} seconds: EMR takes an idle timeout of {} to {} seconds (7 days); 0 or absent: none",
                emr.start(),
                emr.end()
            )))
        }
        other => Ok(other),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LaunchOutput {
    pub cluster_id: String,
    pub region: Option<String>,
    pub cluster_name: String,
    pub already_launched: bool,
    pub steps: Vec<String>,
}

/// Launches the cluster for `event.run`, or returns the one this run already launched.
pub async fn launch_cluster<E: Emr>(
    event: &LaunchEvent,
    emr_for: impl Fn(Option<&str>) -> E,
    store: &impl ObjectStore,
    clock: &dyn Clock,
    stack: &Stack,
    now: DateTime<Utc>,
) -> Result<LaunchOutput, Error> {
    if let Some(execution) = &event.execution {
        execution.check()?;
    }
    let configs = [
        ("cluster", size_of(&event.cluster)),
        ("playbook", size_of(&event.playbook)),
    ];
    let env = &mut source::prepare(clock, &configs, &event.vars, &event.files, &event.env)?;
    let cluster =
        source::load_cluster(&event.cluster, &event.vars, store, env, event.rendered).await?;
    let playbook = match &event.playbook {
        Some(p) => Some(source::load_playbook(p, &event.vars, store, env, event.rendered).await?),
        None => None,
    };
    for w in cluster
        .warnings
        .iter()
        .chain(playbook.iter().flat_map(|p| &p.warnings))
    {
        tracing::warn!(warning = %w, "config warning");
    }
    let lifecycle = match event.lifecycle {
        LifecycleInput::Transient => Lifecycle::Transient,
        LifecycleInput::Persistent => Lifecycle::Persistent,
    };
    if lifecycle == Lifecycle::Transient && playbook.is_none() {
        return Err(Error::InvalidConfig(
            "a transient run needs a playbook: its steps are the run".into(),
        ));
    }
    stack.regions.check(cluster.config.region.as_deref())?;
    if let Some(p) = &playbook {
        dfr_core::checks::pair("$.cluster", &cluster.config, "$.playbook", &p.config)?;
    }
    let mut request = plan::run_job_flow(
        &cluster.config,
        lifecycle,
        playbook.as_ref().map(|p| &p.config),
    );
    request.tags.extend(event.run.tags());
    if event.keep_on_failure {
        request.tags.push(dfr_core::plan::EmrTag {
            key: TAG_KEEP_ON_FAILURE.into(),
            value: "true".into(),
        });
    }
    let supports_auto_termination = dfr_core::checks::supports_auto_termination(&cluster.config);
    let idle = event.idle_timeout_seconds.unwrap_or(0);
    if lifecycle == Lifecycle::Transient
        && request.auto_termination_policy.is_none()
        && supports_auto_termination
        && idle > 0
    {
        request.auto_termination_policy = Some(AutoTerminationPolicy { idle_timeout: idle });
    }
    let emr = emr_for(cluster.config.region.as_deref());
    let emr = &emr;
    let output = |cluster_id: String, already_launched: bool| LaunchOutput {
        cluster_id,
        region: cluster.config.region.clone(),
        cluster_name: request.name.clone(),
        already_launched,
        steps: request.steps.iter().map(|s| s.name.clone()).collect(),
    };
    if let Some(existing) = find_launched(emr, &request.name, &event.run, now).await? {
        tracing::info!(cluster_id = %existing, run_key = %event.run.launch_key(), "this run already launched its cluster");
        return Ok(output(existing, true));
    }
    let id = match emr.run_job_flow(&request).await {
        Ok(id) => id,
        // No answer: the launch may have taken effect. Look for it before reporting a retryable failure, so the
        // retry does not depend on how soon ListClusters shows the new cluster.
        Err(Error::EmrUnavailable(why)) => {
            let found =
                crate::run::settle(|| find_launched(emr, &request.name, &event.run, now)).await?;
            let Some(found) = found else {
                return Err(Error::EmrUnavailable(why));
            };
            tracing::warn!(cluster_id = %found, "RunJobFlow got no answer but took effect");
            return Ok(output(found, true));
        }
        Err(other) => return Err(other),
    };
    tracing::info!(cluster_id = %id, run_key = %event.run.launch_key(), "cluster launched");
    Ok(output(id, false))
}

/// The cluster already launched for this run and attempt, whatever its state: ListClusters (bounded by the run's
/// start) filtered by name, then DescribeCluster only for same-named candidates to read their run tag.
pub async fn find_launched(
    emr: &impl Emr,
    name: &str,
    run: &Run,
    now: DateTime<Utc>,
) -> Result<Option<String>, Error> {
    let key = run.launch_key();
    for c in emr
        .list_clusters(Some(run.look_back_from(now)), &[])
        .await?
        .iter()
        .filter(|c| c.name == name)
    {
        let info = emr.describe_cluster(&c.id).await?;
        if info.tag(TAG_RUN_KEY) == Some(key.as_str()) {
            return Ok(Some(info.id));
        }
    }
    Ok(None)
}
