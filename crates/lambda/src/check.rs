//! check-status: one poll. One DescribeCluster in steady state; the steps are listed only when the core says the
//! answer depends on them.

use chrono::{DateTime, Utc};
use dfr_core::status::{self, Mode, Phase, Reason, RunFailure, StepOutcome};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::emr::Emr;
use crate::error::Error;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckEvent {
    #[serde(deserialize_with = "crate::event::cluster_id")]
    pub cluster_id: String,
    #[serde(default, deserialize_with = "crate::event::region")]
    pub region: Option<String>,
    pub mode: Mode,
    /// `run` mode: the steps of this run.
    #[serde(default, deserialize_with = "crate::event::step_ids")]
    pub step_ids: Vec<String>,
    /// When the wait began (polling slows down with age); the cluster's creation time when absent.
    #[serde(default, deserialize_with = "crate::event::time")]
    pub since: Option<DateTime<Utc>>,
    #[serde(default)]
    pub previous: Option<Previous>,
    #[serde(default)]
    pub options: PollOptions,
}

/// What the last poll saw; the state machine passes the last output's fields back.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Previous {
    pub cluster_state: Option<String>,
    #[serde(default)]
    pub polls_since_steps: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PollOptions {
    #[serde(default = "default_min")]
    pub min_poll_seconds: u32,
    #[serde(default = "default_max")]
    pub max_poll_seconds: u32,
}

impl Default for PollOptions {
    fn default() -> Self {
        Self {
            min_poll_seconds: default_min(),
            max_poll_seconds: default_max(),
        }
    }
}

fn default_min() -> u32 {
    30
}

fn default_max() -> u32 {
    900
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckOutput {
    pub phase: Phase,
    pub finished: bool,
    pub cluster_id: String,
    pub cluster_state: String,
    pub reason: Reason,
    /// The run's steps as last listed (empty when this poll did not need them).
    pub steps: Vec<StepOutcome>,
    pub steps_listed: bool,
    pub polls_since_steps: u32,
    /// Seconds since `since` (or the cluster's creation): what the state machines compare with their timeout.
    pub elapsed_seconds: i64,
    pub next_poll_seconds: u32,
    pub error: Option<RunError>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunError {
    pub name: RunFailure,
    /// What a person on call needs: cluster, reason, and each failed step's reason, message and log file.
    pub cause: Value,
}

pub async fn check_status(
    event: &CheckEvent,
    emr: &impl Emr,
    now: DateTime<Utc>,
    jitter: f64,
) -> Result<CheckOutput, Error> {
    let cluster = emr.describe_cluster(&event.cluster_id).await?;
    let previous = event.previous.clone().unwrap_or_default();
    let list = status::needs_steps(
        event.mode,
        &cluster.state,
        previous.cluster_state.as_deref(),
        previous.polls_since_steps,
    );
    let steps: Option<Vec<StepOutcome>> = if list {
        let ids = (event.mode == Mode::Run).then_some(event.step_ids.as_slice());
        let mut steps: Vec<StepOutcome> = emr
            .list_steps(&event.cluster_id, ids, None)
            .await?
            .into_iter()
            .map(|s| s.outcome)
            .collect();
        steps.reverse(); // EMR lists newest first; report in run order
        Some(steps)
    } else {
        None
    };
    let verdict = status::judge(
        event.mode,
        &cluster.state,
        cluster.reason_code.as_deref(),
        steps.as_deref(),
    );
    let since = event.since.or(cluster.created_at).unwrap_or(now);
    let reason = Reason {
        code: cluster.reason_code.clone(),
        message: cluster.reason_message.clone(),
    };
    let error = verdict.failure.map(|name| RunError {
        name,
        cause: json!({
            "clusterId": cluster.id,
            "clusterState": cluster.state,
            "reason": reason,
            "logUri": cluster.log_uri,
            "failedSteps": steps.iter().flatten().filter(|s| s.state != "COMPLETED").collect::<Vec<_>>(),
        }),
    });
    let elapsed_seconds = (now - since).num_seconds().max(0);
    Ok(CheckOutput {
        phase: verdict.phase,
        finished: verdict.phase.is_final(),
        cluster_id: cluster.id.clone(),
        cluster_state: cluster.state.clone(),
        reason,
        steps_listed: steps.is_some(),
        polls_since_steps: if list {
            0
        } else {
            previous.polls_since_steps.saturating_add(1)
        },
        steps: steps.unwrap_or_default(),
        elapsed_seconds,
        next_poll_seconds: status::next_poll_seconds(
            verdict.phase,
            elapsed_seconds,
            event.options.min_poll_seconds,
            event.options.max_poll_seconds,
            jitter,
        ),
        error,
    })
}
