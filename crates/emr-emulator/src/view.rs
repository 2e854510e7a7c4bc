//! Views of the model: EMR wire shapes and the Rust snapshots of [`crate::EmulatorHandle`].

use serde::Serialize;

use crate::model::{ActionOnFailure, Cluster, ClusterState, Step, StepState};
use crate::wire::{self, epoch};

pub fn cluster_status(c: &Cluster) -> wire::ClusterStatus {
    wire::ClusterStatus {
        state: c.state.as_str().to_string(),
        state_change_reason: wire::StateChangeReason {
            code: c.reason_code.clone(),
            message: c.reason_message.clone(),
        },
        timeline: wire::ClusterTimeline {
            creation_date_time: Some(epoch(c.created)),
            ready_date_time: c.ready.map(epoch),
            end_date_time: c.ended.map(epoch),
        },
        error_details: c.error_details.clone(),
    }
}

fn tags(c: &Cluster) -> Vec<wire::Tag> {
    c.spec
        .tags
        .iter()
        .map(|(k, v)| wire::Tag {
            key: Some(k.clone()),
            value: Some(v.clone()),
        })
        .collect()
}

/// DescribeCluster's `Cluster` at virtual time `now` (NormalizedInstanceHours grows while instances run).
pub fn cluster(c: &Cluster, now: f64) -> wire::Cluster {
    let up = c.ready.is_some() && !c.state.is_terminal();
    wire::Cluster {
        id: c.id.clone(),
        name: c.name.clone(),
        status: cluster_status(c),
        instance_collection_type: c.spec.instance_collection_type.to_string(),
        log_uri: c.spec.log_uri.clone(),
        requested_ami_version: c.spec.ami_version.clone(),
        running_ami_version: c.spec.ami_version.clone(),
        release_label: c.spec.release_label.clone(),
        auto_terminate: !c.spec.keep_alive,
        termination_protected: c.spec.termination_protected,
        visible_to_all_users: c.spec.visible_to_all_users,
        applications: c.spec.applications.clone(),
        tags: tags(c),
        service_role: c.spec.service_role.clone(),
        normalized_instance_hours: c.instances.normalized_instance_hours(now),
        ec2_instance_attributes: c.instances.ec2_attributes(),
        master_public_dns_name: up
            .then(|| format!("ec2-emulated-{}.compute.internal", c.id.to_lowercase())),
        configurations: c.spec.configurations.clone(),
        cluster_arn: c.arn.clone(),
        step_concurrency_level: c.spec.step_concurrency_level,
    }
}

pub fn cluster_summary(c: &Cluster, now: f64) -> wire::ClusterSummary {
    wire::ClusterSummary {
        id: c.id.clone(),
        name: c.name.clone(),
        status: cluster_status(c),
        normalized_instance_hours: c.instances.normalized_instance_hours(now),
        cluster_arn: c.arn.clone(),
    }
}

pub fn step(s: &Step) -> wire::Step {
    wire::Step {
        id: s.id.clone(),
        name: s.name.clone(),
        config: wire::HadoopStepConfig {
            jar: s.jar.clone(),
            properties: s.properties.clone(),
            main_class: s.main_class.clone(),
            args: s.args.clone(),
        },
        action_on_failure: s.action_on_failure.as_str().to_string(),
        status: wire::StepStatus {
            state: s.state.as_str().to_string(),
            state_change_reason: wire::StateChangeReason::default(),
            failure_details: s.failure.clone().map(|(reason, message, log_file)| {
                wire::FailureDetails {
                    reason,
                    message,
                    log_file,
                }
            }),
            timeline: wire::StepTimeline {
                creation_date_time: Some(epoch(s.created)),
                start_date_time: s.started.map(epoch),
                end_date_time: s.ended.map(epoch),
            },
        },
    }
}

/// A cluster as the admin state dump shows it: DescribeCluster's shape plus its steps in
/// submission order (ListSteps' shape).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DumpCluster {
    #[serde(flatten)]
    pub cluster: wire::Cluster,
    pub steps: Vec<wire::Step>,
}

pub fn dump(c: &Cluster, now: f64) -> DumpCluster {
    DumpCluster {
        cluster: cluster(c, now),
        steps: c.steps.iter().map(step).collect(),
    }
}

/// A step, as [`crate::EmulatorHandle::clusters`] returns it. Times are virtual epoch seconds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepSnapshot {
    pub id: String,
    pub name: String,
    pub state: StepState,
    pub action_on_failure: ActionOnFailure,
    pub args: Vec<String>,
    pub created: f64,
    pub started: Option<f64>,
    pub ended: Option<f64>,
    pub failure_reason: Option<String>,
    pub failure_message: Option<String>,
    pub failure_log_file: Option<String>,
}

/// A cluster, as [`crate::EmulatorHandle::clusters`] returns it. Times are virtual epoch seconds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClusterSnapshot {
    pub id: String,
    pub arn: String,
    pub name: String,
    pub state: ClusterState,
    pub reason_code: Option<String>,
    pub reason_message: Option<String>,
    pub created: f64,
    pub ready: Option<f64>,
    pub ended: Option<f64>,
    pub auto_terminate: bool,
    pub termination_protected: bool,
    pub step_concurrency_level: i64,
    pub tags: Vec<(String, String)>,
    pub steps: Vec<StepSnapshot>,
    /// The zone its instances run in (DescribeCluster's `Ec2InstanceAttributes.Ec2AvailabilityZone`).
    pub availability_zone: String,
    /// In launch order, the master first.
    pub instances: Vec<InstanceSnapshot>,
}

/// An EC2 instance of a cluster, as [`crate::EmulatorHandle::clusters`] returns it. Times are virtual epoch seconds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InstanceSnapshot {
    pub id: String,
    pub ec2_instance_id: String,
    /// `MASTER`, `CORE` or `TASK`.
    pub role: &'static str,
    /// `ON_DEMAND` or `SPOT`.
    pub market: &'static str,
    pub instance_type: String,
    /// The EBS volumes attached, as (volume type, size in GiB).
    pub volumes: Vec<(String, i64)>,
    pub created: f64,
    pub ready: Option<f64>,
    pub ended: Option<f64>,
}

pub fn snapshot(c: &Cluster) -> ClusterSnapshot {
    ClusterSnapshot {
        id: c.id.clone(),
        arn: c.arn.clone(),
        name: c.name.clone(),
        state: c.state,
        reason_code: c.reason_code.clone(),
        reason_message: c.reason_message.clone(),
        created: c.created,
        ready: c.ready,
        ended: c.ended,
        auto_terminate: !c.spec.keep_alive,
        termination_protected: c.spec.termination_protected,
        step_concurrency_level: c.spec.step_concurrency_level,
        tags: c.spec.tags.clone(),
        availability_zone: c.instances.ec2.availability_zone.clone(),
        instances: c
            .instances
            .list
            .iter()
            .map(|i| InstanceSnapshot {
                id: i.id.clone(),
                ec2_instance_id: i.ec2_instance_id.clone(),
                role: i.role.as_str(),
                market: i.market.as_str(),
                instance_type: i.instance_type.clone(),
                volumes: c
                    .instances
                    .volume_specs(i)
                    .iter()
                    .map(|v| (v.volume_type.clone(), v.size_gib))
                    .collect(),
                created: i.created,
                ready: i.ready,
                ended: i.ended,
            })
            .collect(),
        steps: c
            .steps
            .iter()
            .map(|s| {
                let (failure_reason, failure_message, failure_log_file) =
                    s.failure.clone().unwrap_or_default();
                StepSnapshot {
                    id: s.id.clone(),
                    name: s.name.clone(),
                    state: s.state,
                    action_on_failure: s.action_on_failure,
                    args: s.args.clone(),
                    created: s.created,
                    started: s.started,
                    ended: s.ended,
                    failure_reason,
                    failure_message,
                    failure_log_file,
                }
            })
            .collect(),
    }
}
