//! The narrow port the Lambdas use to talk to EMR, in the project's own types (its adapter over `aws-sdk-emr` is
//! `aws/emr.rs`). Decisions never see SDK types.

use chrono::{DateTime, Utc};
use dfr_core::plan::{AddJobFlowStepsRequest, RunJobFlowRequest};
use dfr_core::status::StepOutcome;

use crate::error::Error;

#[derive(Debug, Clone, PartialEq)]
pub struct ClusterSummary {
    pub id: String,
    pub name: String,
    pub state: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClusterInfo {
    pub id: String,
    pub name: String,
    pub state: String,
    pub reason_code: Option<String>,
    pub reason_message: Option<String>,
    pub tags: Vec<(String, String)>,
    pub log_uri: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    /// What a run's cost is read with ([`Emr::cluster_usage`]): the zone its instances run in, EMR's own count of
    /// its instance-hours, and whether its instances come from fleets (else groups).
    pub availability_zone: Option<String>,
    pub normalized_instance_hours: Option<i64>,
    pub instance_fleets: bool,
}

impl ClusterInfo {
    pub fn tag(&self, key: &str) -> Option<&str> {
        tag(&self.tags, key)
    }
}

/// The value of the tag `key` among a cluster's tags.
pub fn tag<'a>(tags: &'a [(String, String)], key: &str) -> Option<&'a str> {
    tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// A step with its creation time, which `add-steps` uses to stop paging early.
#[derive(Debug, Clone, PartialEq)]
pub struct StepInfo {
    pub outcome: StepOutcome,
    pub created_at: Option<DateTime<Utc>>,
}

/// EMR's answer to CancelSteps for one step: whether the cancellation was submitted (EMR cancels asynchronously,
/// so the step ends CANCELLED later), and why not.
#[derive(Debug, Clone, PartialEq)]
pub struct StepCancellation {
    pub step_id: String,
    pub submitted: bool,
    pub reason: Option<String>,
}

/// How an instance is bought: the core's, which prices it.
pub use dfr_core::cost::Market;

/// One EBS volume attached to an instance, as its instance group (or its fleet's instance type) specifies it.
#[derive(Debug, Clone, PartialEq)]
pub struct EbsVolume {
    /// `gp2`, `gp3`, `io1`, `st1`, …
    pub volume_type: String,
    pub size_gib: u32,
    pub iops: Option<u32>,
    pub throughput_mibps: Option<u32>,
}

/// One EC2 instance of a cluster, as ListInstances reports it (whatever its state), with the EBS volumes of its
/// group or fleet.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterInstance {
    /// EMR's id of the instance (`ci-…`).
    pub id: String,
    pub ec2_instance_id: Option<String>,
    /// `MASTER`, `CORE` or `TASK`: its group's or fleet's; `None` if EMR did not list that group or fleet.
    pub role: Option<String>,
    pub instance_type: String,
    pub market: Market,
    /// `AWAITING_FULFILLMENT`, `PROVISIONING`, `BOOTSTRAPPING`, `RUNNING` or `TERMINATED`.
    pub state: String,
    pub created_at: Option<DateTime<Utc>>,
    pub ready_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub volumes: Vec<EbsVolume>,
}

/// What EMR knows of a cluster's use of EC2: where its instances ran, EMR's own approximation of it
/// (NormalizedInstanceHours: m1.small-hours, rounded up per instance-hour; not a price), and every instance EMR still
/// lists (those ended within the last 30 days).
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterUsage {
    pub cluster_id: String,
    /// The cluster's state when asked.
    pub state: String,
    /// The availability zone all its instances run in.
    pub availability_zone: Option<String>,
    pub normalized_instance_hours: Option<i64>,
    pub instances: Vec<ClusterInstance>,
}

/// What the Lambdas need from EMR, and nothing more.
#[allow(async_fn_in_trait)]
pub trait Emr {
    /// Clusters created after `created_after` (any time when `None`), in the given states (all states when empty),
    /// every page.
    async fn list_clusters(
        &self,
        created_after: Option<DateTime<Utc>>,
        states: &[&str],
    ) -> Result<Vec<ClusterSummary>, Error>;
    async fn describe_cluster(&self, id: &str) -> Result<ClusterInfo, Error>;
    /// Never retried by the SDK: EMR writes carry no idempotency token, callers look up before retrying.
    async fn run_job_flow(&self, request: &RunJobFlowRequest) -> Result<String, Error>;
    /// Never retried by the SDK, for the same reason.
    async fn add_job_flow_steps(
        &self,
        request: &AddJobFlowStepsRequest,
    ) -> Result<Vec<String>, Error>;
    /// Steps newest first. With `step_ids`, only those (asked for in batches of ten, EMR's limit); otherwise page
    /// until `stop_before` (steps created earlier are not wanted) or the end.
    async fn list_steps(
        &self,
        cluster_id: &str,
        step_ids: Option<&[String]>,
        stop_before: Option<DateTime<Utc>>,
    ) -> Result<Vec<StepInfo>, Error>;
    async fn terminate_job_flows(&self, cluster_id: &str) -> Result<(), Error>;
    /// CancelSteps (at most 256 ids): pending steps are cancelled, running ones interrupted (SEND_INTERRUPT, on
    /// releases that can cancel a running step). Idempotent: cancelling a step twice is harmless.
    async fn cancel_steps(
        &self,
        cluster_id: &str,
        step_ids: &[String],
    ) -> Result<Vec<StepCancellation>, Error>;
    /// The instances of a cluster just described (ListInstances, every page and state) and their groups' or fleets'
    /// EBS volumes (ListInstanceGroups or ListInstanceFleets), with the zone and NormalizedInstanceHours the
    /// description holds: what pricing a run needs from EMR, in two calls beyond the check's own DescribeCluster.
    async fn cluster_usage(&self, cluster: &ClusterInfo) -> Result<ClusterUsage, Error>;
}
