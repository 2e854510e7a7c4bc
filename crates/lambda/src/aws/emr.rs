//! The EMR port ([`crate::emr::Emr`]) over `aws-sdk-emr`, one client per region.

use std::collections::HashMap;

use aws_sdk_emr::types::ClusterState;
use aws_sdk_emr::Client;
use chrono::{DateTime, TimeZone, Utc};
use dfr_core::plan::{AddJobFlowStepsRequest, RunJobFlowRequest};
use dfr_core::status::{StepFailure, StepOutcome, CLUSTER_ENDED};

use crate::emr::{
    ClusterInfo, ClusterInstance, ClusterSummary, ClusterUsage, EbsVolume, Emr, Market,
    StepCancellation, StepInfo,
};
use crate::error::Error;

/// The port over the real SDK client for one region.
#[derive(Clone, Debug)]
pub struct SdkEmr {
    client: Client,
    /// Clusters seen TERMINATED or TERMINATED_WITH_ERRORS, which never change again: a warm function answers
    /// DescribeCluster for them from memory. The end of a run then needs only ListSteps to succeed, which matters
    /// when EMR throttles most reads.
    ended: Memory<ClusterInfo>,
    /// The usage of clusters seen ended, which never changes again either.
    ended_usage: Memory<ClusterUsage>,
}

type Memory<T> = std::sync::Arc<std::sync::Mutex<HashMap<String, T>>>;

/// Keeps what EMR said of an ended cluster. A few runs' worth is all a warm function needs; it starts over rather
/// than grow.
fn remember<T: Clone>(memory: &Memory<T>, id: &str, value: &T) {
    if let Ok(mut m) = memory.lock() {
        if m.len() >= 256 {
            m.clear();
        }
        m.insert(id.to_string(), value.clone());
    }
}

impl SdkEmr {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            ended: Default::default(),
            ended_usage: Default::default(),
        }
    }

    /// Every instance group's role and volumes, by group id.
    async fn group_volumes(&self, id: &str) -> Result<HashMap<String, Holder>, Error> {
        let groups = dfr_locks::all_pages::<_, _, Error, _, _>(|marker| async move {
            let resp = self
                .client
                .list_instance_groups()
                .cluster_id(id)
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| Error::from_sdk("ListInstanceGroups", e))?;
            let groups = resp.instance_groups().iter().map(|g| {
                let holder = Holder {
                    role: g.instance_group_type().map(|t| t.as_str().to_string()),
                    volumes: HashMap::from([(String::new(), volumes(g.ebs_block_devices()))]),
                };
                (g.id().unwrap_or_default().to_string(), holder)
            });
            Ok((groups.collect(), resp.marker().map(str::to_string)))
        })
        .await?;
        Ok(groups.into_iter().collect())
    }

    /// Every instance fleet's role and volumes per instance type, by fleet id.
    async fn fleet_volumes(&self, id: &str) -> Result<HashMap<String, Holder>, Error> {
        let fleets = dfr_locks::all_pages::<_, _, Error, _, _>(|marker| async move {
            let resp = self
                .client
                .list_instance_fleets()
                .cluster_id(id)
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| Error::from_sdk("ListInstanceFleets", e))?;
            let fleets = resp.instance_fleets().iter().map(|f| {
                let per_type = f.instance_type_specifications().iter().map(|t| {
                    let instance_type = t.instance_type().unwrap_or_default().to_string();
                    (instance_type, volumes(t.ebs_block_devices()))
                });
                let holder = Holder {
                    role: f.instance_fleet_type().map(|t| t.as_str().to_string()),
                    volumes: per_type.collect(),
                };
                (f.id().unwrap_or_default().to_string(), holder)
            });
            Ok((fleets.collect(), resp.marker().map(str::to_string)))
        })
        .await?;
        Ok(fleets.into_iter().collect())
    }

    async fn cluster_usage_remotely(&self, cluster: &ClusterInfo) -> Result<ClusterUsage, Error> {
        let id = cluster.id.as_str();
        let holders = if cluster.instance_fleets {
            self.fleet_volumes(id).await?
        } else {
            self.group_volumes(id).await?
        };
        let holders = &holders;
        let instances = dfr_locks::all_pages::<_, _, Error, _, _>(|marker| async move {
            let resp = self
                .client
                .list_instances()
                .cluster_id(id)
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| Error::from_sdk("ListInstances", e))?;
            let page = resp.instances().iter().map(|i| instance(i, holders));
            Ok((page.collect(), resp.marker().map(str::to_string)))
        })
        .await?;
        Ok(ClusterUsage {
            cluster_id: cluster.id.clone(),
            state: cluster.state.clone(),
            availability_zone: cluster.availability_zone.clone(),
            normalized_instance_hours: cluster.normalized_instance_hours,
            instances,
        })
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
            availability_zone: c
                .ec2_instance_attributes()
                .and_then(|a| a.ec2_availability_zone())
                .map(str::to_string),
            normalized_instance_hours: c.normalized_instance_hours().map(i64::from),
            instance_fleets: c.instance_collection_type()
                == Some(&aws_sdk_emr::types::InstanceCollectionType::InstanceFleet),
        })
    }
}

/// An instance group or fleet as pricing sees it: its role, and the volumes each of its instances gets (a group's
/// under the key `""`, a fleet's per instance type).
struct Holder {
    role: Option<String>,
    volumes: HashMap<String, Vec<EbsVolume>>,
}

fn volumes(devices: &[aws_sdk_emr::types::EbsBlockDevice]) -> Vec<EbsVolume> {
    let size = |n: Option<i32>| n.and_then(|n| u32::try_from(n).ok());
    devices
        .iter()
        .filter_map(|d| d.volume_specification())
        .map(|v| EbsVolume {
            volume_type: v.volume_type().unwrap_or_default().to_string(),
            size_gib: size(v.size_in_gb()).unwrap_or(0),
            iops: size(v.iops()),
            throughput_mibps: size(v.throughput()),
        })
        .collect()
}

fn instance(
    i: &aws_sdk_emr::types::Instance,
    holders: &HashMap<String, Holder>,
) -> ClusterInstance {
    let instance_type = i.instance_type().unwrap_or_default().to_string();
    let holder = i
        .instance_group_id()
        .or(i.instance_fleet_id())
        .and_then(|h| holders.get(h));
    let volumes = holder
        .and_then(|h| h.volumes.get("").or_else(|| h.volumes.get(&instance_type)))
        .cloned()
        .unwrap_or_default();
    let status = i.status();
    let timeline = status.and_then(|s| s.timeline());
    ClusterInstance {
        id: i.id().unwrap_or_default().to_string(),
        ec2_instance_id: i.ec2_instance_id().map(str::to_string),
        role: holder.and_then(|h| h.role.clone()),
        market: match i.market() {
            Some(aws_sdk_emr::types::MarketType::Spot) => Market::Spot,
            _ => Market::OnDemand,
        },
        state: status
            .and_then(|s| s.state())
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        created_at: to_chrono(timeline.and_then(|t| t.creation_date_time())),
        ready_at: to_chrono(timeline.and_then(|t| t.ready_date_time())),
        ended_at: to_chrono(timeline.and_then(|t| t.end_date_time())),
        instance_type,
        volumes,
    }
}

fn no_retries() -> aws_sdk_emr::config::Builder {
    aws_sdk_emr::config::Builder::default()
        .retry_config(aws_sdk_emr::config::retry::RetryConfig::disabled())
}

/// A time of the SDKs (every AWS SDK's `DateTime` is smithy's) in chrono's.
pub(super) fn to_chrono(t: Option<&aws_sdk_emr::primitives::DateTime>) -> Option<DateTime<Utc>> {
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
        if CLUSTER_ENDED.contains(&info.state.as_str()) {
            remember(&self.ended, id, &info);
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

    async fn cluster_usage(&self, cluster: &ClusterInfo) -> Result<ClusterUsage, Error> {
        if let Some(known) = self
            .ended_usage
            .lock()
            .ok()
            .and_then(|m| m.get(&cluster.id).cloned())
        {
            return Ok(known);
        }
        let usage = self.cluster_usage_remotely(cluster).await?;
        if CLUSTER_ENDED.contains(&usage.state.as_str()) {
            remember(&self.ended_usage, &cluster.id, &usage);
        }
        Ok(usage)
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
