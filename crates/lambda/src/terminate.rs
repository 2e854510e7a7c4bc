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
    cluster_id: String,
    #[serde(default)]
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
            let started_at = detail["startDate"]
                .as_i64()
                .and_then(|ms| Utc.timestamp_millis_opt(ms).single());
            let status = detail["status"].as_str().unwrap_or_default().to_string();
            return Ok(Self::ExecutionEnded {
                execution_arn,
                status,
                started_at,
            });
        }
        let d: DirectEvent = serde_json::from_value(v.clone())
            .map_err(|e| Error::InvalidConfig(format!("terminate-cluster event: {e}")))?;
        if !d.cluster_id.starts_with("j-") {
            return Err(Error::InvalidConfig(format!(
                "\"{}\" is not an EMR cluster id (j-…)",
                d.cluster_id
            )));
        }
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
