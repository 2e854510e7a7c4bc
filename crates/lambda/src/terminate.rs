//! terminate-cluster: end a cluster this project launched — one by id, or every cluster an execution launched
//! when EventBridge reports that execution stopped, failed or timed out (no Catch runs then).

use chrono::{DateTime, TimeZone, Utc};
use dfr_core::status::{CLUSTER_ACTIVE, CLUSTER_ENDING};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::emr::Emr;
use crate::error::Error;
use crate::run::{TAG_EXECUTION, TAG_KEEP_ON_FAILURE, TAG_MANAGED};

#[derive(Debug, Clone, PartialEq)]
pub enum TerminateEvent {
    Cluster {
        cluster_id: String,
        region: Option<String>,
        force: bool,
    },
    ExecutionEnded {
        execution_arn: String,
        status: String,
        started_at: Option<DateTime<Utc>>,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DirectEvent {
    #[serde(deserialize_with = "crate::event::cluster_id")]
    cluster_id: String,
    #[serde(default, deserialize_with = "crate::event::region")]
    region: Option<String>,
    #[serde(default)]
    force: bool,
}

impl TerminateEvent {
    /// A direct request, or an EventBridge `Step Functions Execution Status Change` event.
    pub fn parse(v: &Value) -> Result<Self, Error> {
        if let Some(kind) = v.get("detail-type").and_then(Value::as_str) {
            if kind != "Step Functions Execution Status Change" {
                return Err(Error::InvalidConfig(format!(
                    "unexpected EventBridge event \"{kind}\""
                )));
            }
            let detail = &v["detail"];
            let execution_arn = detail["executionArn"]
                .as_str()
                .ok_or_else(|| {
                    Error::InvalidConfig("EventBridge event without detail.executionArn".into())
                })?
                .to_string();
            cleaned_up_machine(&execution_arn)?;
            let started_at = detail["startDate"]
                .as_i64()
                .and_then(|ms| Utc.timestamp_millis_opt(ms).single());
            let status = detail["status"].as_str().unwrap_or_default().to_string();
            if !ENDED_UNFINISHED.contains(&status.as_str()) {
                return Err(Error::InvalidConfig(format!(
                    "$.detail.status: {status:?}: the cleanup ends the clusters of an execution that stopped without \
                     finishing ({}); a running or succeeded execution's clusters are its own (up's outlives it)",
                    ENDED_UNFINISHED.join(", ")
                )));
            }
            return Ok(Self::ExecutionEnded {
                execution_arn,
                status,
                started_at,
            });
        }
        let d: DirectEvent = crate::runtime::decode("terminate-cluster", v.clone())?;
        Ok(Self::Cluster {
            cluster_id: d.cluster_id,
            region: d.region,
            force: d.force,
        })
    }

    pub fn region(&self) -> Option<&str> {
        match self {
            Self::Cluster { region, .. } => region.as_deref(),
            Self::ExecutionEnded { .. } => None,
        }
    }
}

/// The execution statuses the cleanup acts on: what the stack's EventBridge rule forwards.
pub const ENDED_UNFINISHED: [&str; 3] = ["ABORTED", "TIMED_OUT", "FAILED"];

/// The state machines whose executions launch clusters (named `<stack>-run-transient` and `<stack>-up`, as the IAM
/// conditions on the cluster tags expect).
const LAUNCHING_MACHINES: [&str; 2] = ["-run-transient", "-up"];

/// Checks that `arn` is a Step Functions execution ARN of a state machine that launches clusters; `run` and `down`
/// executions launch none, so an event for one is misrouted (and would be a wasted scan of every cluster).
fn cleaned_up_machine(arn: &str) -> Result<(), Error> {
    let parts: Vec<&str> = arn.split(':').collect();
    let machine = match parts.as_slice() {
        ["arn", _, "states", _, _, "execution", machine, name] if !name.is_empty() => *machine,
        _ => {
            return Err(Error::InvalidConfig(format!(
                "$.detail.executionArn: {arn:?} is not a Step Functions execution ARN \
                 (arn:aws:states:<region>:<account>:execution:<state machine>:<name>)"
            )))
        }
    };
    if LAUNCHING_MACHINES.iter().any(|m| machine.ends_with(m)) {
        Ok(())
    } else {
        Err(Error::InvalidConfig(format!(
            "$.detail.executionArn: executions of state machine {machine} launch no clusters; the cleanup is for \
             the run-transient and up state machines' executions"
        )))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TerminateOutput {
    pub terminated: Vec<String>,
    pub already_terminated: Vec<String>,
    /// Clusters of a failed execution that asked to keep them.
    pub kept: Vec<String>,
}

pub async fn terminate(
    event: &TerminateEvent,
    emr: &impl Emr,
    now: DateTime<Utc>,
) -> Result<TerminateOutput, Error> {
    let mut out = TerminateOutput::default();
    match event {
        TerminateEvent::Cluster {
            cluster_id, force, ..
        } => {
            let info = emr.describe_cluster(cluster_id).await?;
            if CLUSTER_ENDING.contains(&info.state.as_str()) {
                out.already_terminated.push(info.id);
                return Ok(out);
            }
            if info.tag(TAG_MANAGED) != Some("true") && !force {
                return Err(Error::ClusterNotManaged(format!(
                    "cluster {cluster_id} was not launched by Dataflow Runner (no {TAG_MANAGED} tag); pass \"force\": true to terminate it anyway"
                )));
            }
            emr.terminate_job_flows(cluster_id).await?;
            out.terminated.push(info.id);
        }
        TerminateEvent::ExecutionEnded {
            execution_arn,
            started_at,
            status,
        } => {
            let since = started_at.unwrap_or(now - chrono::Duration::days(14))
                - chrono::Duration::minutes(10);
            for c in emr.list_clusters(since, &CLUSTER_ACTIVE).await? {
                let info = emr.describe_cluster(&c.id).await?;
                if info.tag(TAG_EXECUTION) != Some(execution_arn.as_str())
                    || info.tag(TAG_MANAGED) != Some("true")
                {
                    continue;
                }
                if status == "FAILED" && info.tag(TAG_KEEP_ON_FAILURE) == Some("true") {
                    tracing::info!(cluster_id = %info.id, "kept for debugging, as the run asked");
                    out.kept.push(info.id);
                    continue;
                }
                emr.terminate_job_flows(&info.id).await?;
                tracing::info!(cluster_id = %info.id, execution_arn = %execution_arn, status = %status, "terminated a cluster the execution left");
                out.terminated.push(info.id);
            }
        }
    }
    Ok(out)
}
