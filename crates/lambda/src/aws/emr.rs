//! The EMR port ([`crate::emr::Emr`]) over `aws-sdk-emr`, one client per region.

use std::collections::HashMap;

use aws_sdk_emr::types::ClusterState;
use aws_sdk_emr::Client;
use chrono::{DateTime, TimeZone, Utc};
use dfr_core::plan::{AddJobFlowStepsRequest, RunJobFlowRequest};
use dfr_core::status::{StepFailure, StepOutcome};

use crate::emr::{ClusterInfo, ClusterSummary, Emr, StepCancellation, StepInfo};
use crate::error::Error;

/// The port over the real SDK client for one region.
#[derive(Clone, Debug)]
pub struct SdkEmr {
    client: Client,
    /// Clusters seen TERMINATED or TERMINATED_WITH_ERRORS, which never change again: a warm function answers
    /// DescribeCluster for them from memory. The end of a run then needs only ListSteps to succeed, which matters
    /// when EMR throttles most reads.
    ended: std::sync::Arc<std::sync::Mutex<HashMap<String, ClusterInfo>>>,
}

/// Cluster states that are final: nothing about the cluster changes after them.
const FINAL_STATES: [&str; 2] = ["TERMINATED", "TERMINATED_WITH_ERRORS"];

impl SdkEmr {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            ended: Default::default(),
        }
    }

    /// DescribeCluster on EMR itself.
    async fn describe_cluster_remotely(&self, id: &str) -> Result<ClusterInfo, Error> {
        let resp = self
            .client
            .describe_cluster()
            .cluster_id(id)
            .send()
            .await
            .map_err(|e| Error::from_sdk("DescribeCluster", e))?;
        let c = resp
            .cluster()
            .ok_or_else(|| Error::ClusterNotFound(format!("DescribeCluster: no cluster {id}")))?;
        let status = c.status();
        let reason = status.and_then(|s| s.state_change_reason());
        Ok(ClusterInfo {
            id: c.id().unwrap_or(id).to_string(),
            name: c.name().unwrap_or_default().to_string(),
            state: status
                .and_then(|s| s.state())
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            reason_code: reason
                .and_then(|r| r.code())
                .map(|c| c.as_str().to_string()),
            reason_message: reason.and_then(|r| r.message()).map(str::to_string),
            tags: c
                .tags()
                .iter()
                .map(|t| {
                    (
                        t.key().unwrap_or_default().to_string(),
                        t.value().unwrap_or_default().to_string(),
                    )
                })
                .collect(),
            log_uri: c.log_uri().map(str::to_string),
            created_at: to_chrono(
                status
                    .and_then(|s| s.timeline())
                    .and_then(|t| t.creation_date_time()),
            ),
        })
    }
}

fn no_retries() -> aws_sdk_emr::config::Builder {
    aws_sdk_emr::config::Builder::default()
        .retry_config(aws_sdk_emr::config::retry::RetryConfig::disabled())
}

fn to_chrono(t: Option<&aws_sdk_emr::primitives::DateTime>) -> Option<DateTime<Utc>> {
    t.and_then(|t| Utc.timestamp_opt(t.secs(), t.subsec_nanos()).single())
}

fn to_smithy(t: DateTime<Utc>) -> aws_sdk_emr::primitives::DateTime {
    aws_sdk_emr::primitives::DateTime::from_secs(t.timestamp())
}

impl Emr for SdkEmr {
    async fn list_clusters(
        &self,
        created_after: Option<DateTime<Utc>>,
        states: &[&str],
    ) -> Result<Vec<ClusterSummary>, Error> {
        let mut out = Vec::new();
        let mut marker = None;
        loop {
            let resp = self
                .client
                .list_clusters()
                .set_created_after(created_after.map(to_smithy))
                .set_cluster_states(if states.is_empty() {
                    None
                } else {
                    Some(states.iter().map(|s| ClusterState::from(*s)).collect())
                })
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| Error::from_sdk("ListClusters", e))?;
            for c in resp.clusters() {
                out.push(ClusterSummary {
                    id: c.id().unwrap_or_default().to_string(),
                    name: c.name().unwrap_or_default().to_string(),
                    state: c
                        .status()
                        .and_then(|s| s.state())
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                });
            }
            marker = resp.marker().map(str::to_string);
            if marker.is_none() {
                return Ok(out);
            }
        }
    }

    async fn describe_cluster(&self, id: &str) -> Result<ClusterInfo, Error> {
        if let Some(known) = self.ended.lock().ok().and_then(|m| m.get(id).cloned()) {
            return Ok(known);
        }
        let info = self.describe_cluster_remotely(id).await?;
        if FINAL_STATES.contains(&info.state.as_str()) {
            if let Ok(mut m) = self.ended.lock() {
                // A few runs' worth is all a warm function needs; start over rather than grow.
                if m.len() >= 256 {
                    m.clear();
                }
                m.insert(id.to_string(), info.clone());
            }
        }
        Ok(info)
    }

    async fn run_job_flow(&self, request: &RunJobFlowRequest) -> Result<String, Error> {
        let resp = super::emr_requests::run_job_flow(self.client.run_job_flow(), request)
            .customize()
            .config_override(no_retries())
            .send()
            .await
            .map_err(|e| Error::from_sdk("RunJobFlow", e))?;
        resp.job_flow_id()
            .map(str::to_string)
            .ok_or_else(|| Error::Internal("RunJobFlow answered without a JobFlowId".into()))
    }

    async fn add_job_flow_steps(
        &self,
        request: &AddJobFlowStepsRequest,
    ) -> Result<Vec<String>, Error> {
        let resp =
            super::emr_requests::add_job_flow_steps(self.client.add_job_flow_steps(), request)
                .customize()
                .config_override(no_retries())
                .send()
                .await
                .map_err(|e| Error::from_sdk("AddJobFlowSteps", e))?;
        Ok(resp.step_ids().to_vec())
    }

    async fn list_steps(
        &self,
        cluster_id: &str,
        step_ids: Option<&[String]>,
        stop_before: Option<DateTime<Utc>>,
    ) -> Result<Vec<StepInfo>, Error> {
        let batches: Vec<Option<Vec<String>>> = match step_ids {
            Some(ids) => ids.chunks(10).map(|c| Some(c.to_vec())).collect(),
            None => vec![None],
        };
        let mut out = Vec::new();
        for batch in batches {
            let mut marker = None;
            loop {
                let resp = self
                    .client
                    .list_steps()
                    .cluster_id(cluster_id)
                    .set_step_ids(batch.clone())
                    .set_marker(marker)
                    .send()
                    .await
                    .map_err(|e| Error::from_sdk("ListSteps", e))?;
                let mut older_seen = false;
                for s in resp.steps() {
                    let info = step_info(s);
                    if let (Some(stop), Some(created)) = (stop_before, info.created_at) {
                        if created < stop {
                            older_seen = true;
                            continue;
                        }
                    }
                    out.push(info);
                }
                marker = resp.marker().map(str::to_string);
                if marker.is_none() || older_seen {
                    break;
                }
            }
        }
        Ok(out)
    }

    async fn terminate_job_flows(&self, cluster_id: &str) -> Result<(), Error> {
        self.client
            .terminate_job_flows()
            .job_flow_ids(cluster_id)
            .send()
            .await
            .map_err(|e| Error::from_sdk("TerminateJobFlows", e))?;
        Ok(())
    }

    async fn cancel_steps(
        &self,
        cluster_id: &str,
        step_ids: &[String],
    ) -> Result<Vec<StepCancellation>, Error> {
        let resp = self
            .client
            .cancel_steps()
            .cluster_id(cluster_id)
            .set_step_ids(Some(step_ids.to_vec()))
            .step_cancellation_option(aws_sdk_emr::types::StepCancellationOption::SendInterrupt)
            .send()
            .await
            .map_err(|e| Error::from_sdk("CancelSteps", e))?;
        Ok(resp
            .cancel_steps_info_list()
            .iter()
            .map(|i| StepCancellation {
                step_id: i.step_id().unwrap_or_default().to_string(),
                submitted: i.status().is_some_and(|s| s.as_str() == "SUBMITTED"),
                reason: i.reason().map(str::to_string),
            })
            .collect())
    }
}

fn step_info(s: &aws_sdk_emr::types::StepSummary) -> StepInfo {
    let status = s.status();
    let timeline = status.and_then(|st| st.timeline());
    let start = to_chrono(timeline.and_then(|t| t.start_date_time()));
    let end = to_chrono(timeline.and_then(|t| t.end_date_time()));
    let failure = status
        .and_then(|st| st.failure_details())
        .map(|f| StepFailure {
            reason: f.reason().map(str::to_string),
            message: f.message().map(str::to_string),
            log_file: f.log_file().map(str::to_string),
        });
    StepInfo {
        outcome: StepOutcome {
            name: s.name().unwrap_or_default().to_string(),
            id: s.id().unwrap_or_default().to_string(),
            state: status
                .and_then(|st| st.state())
                .map(|st| st.as_str().to_string())
                .unwrap_or_default(),
            start: start.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            end: end.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            duration_seconds: match (start, end) {
                (Some(s), Some(e)) => Some((e - s).num_seconds()),
                _ => None,
            },
            failure,
        },
        created_at: to_chrono(timeline.and_then(|t| t.creation_date_time())),
    }
}
