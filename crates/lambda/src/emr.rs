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
}
