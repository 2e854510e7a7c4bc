//! Running a playbook on EMR Serverless: the narrow port the Lambdas use, in the project's own types (its adapter
//! over `aws-sdk-emrserverless` is `aws/serverless.rs`; what the answers mean is decided in
//! `dfr_core::serverless::status`), and the handlers of the four functions' `"target": "serverless"` events:
//! [`launch`] (launch-cluster; [`ready`]: serverless-up's start of its application), [`start`] (add-steps: one job run), [`check`] (check-status: one GetJobRun) and
//! [`cleanup`] (terminate-cluster).
//!
//! Requests go in as JSON in the API's wire shape (CreateApplication's and StartJobRun's bodies: camelCase members
//! `name`, `releaseLabel`, `type`, `jobDriver`, `executionRoleArn`, `configurationOverrides`, …), as the core plans
//! them; the adapter refuses a member it does not send (`InvalidConfig`) rather than drop it.

pub mod check;
pub mod cleanup;
pub mod ended;
pub mod launch;
pub mod ready;
pub mod run_end;
pub mod start;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Error;

/// The `target` of an event for EMR Serverless: `"serverless"`. Events without it are for EMR clusters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    Serverless,
}

/// Whether a function's event is for EMR Serverless (`"target": "serverless"`): what each function's `main.rs`
/// decodes to these handlers rather than its own.
pub fn is_serverless(event: &Value) -> bool {
    event.get("target").and_then(Value::as_str) == Some("serverless")
}

/// An EMR Serverless application id (`00` and lowercase letters and digits, 16 characters on AWS): checked while
/// an event is decoded, so a malformed id is `InvalidConfig` naming the field, never part of a request path.
pub fn application_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let id = String::deserialize(d)?;
    if is_resource_id(&id) {
        Ok(id)
    } else {
        Err(serde::de::Error::custom(format!(
            "{:?} is not an EMR Serverless application id: give the applicationId launch-cluster returned",
            id.chars().take(80).collect::<String>()
        )))
    }
}

/// An EMR Serverless job run id, checked as [`application_id`].
pub fn job_run_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let id = String::deserialize(d)?;
    if is_resource_id(&id) {
        Ok(id)
    } else {
        Err(serde::de::Error::custom(format!(
            "{:?} is not an EMR Serverless job run id: give the jobRunId add-steps returned",
            id.chars().take(80).collect::<String>()
        )))
    }
}

/// EMR Serverless's ids: 1 to 64 lowercase letters and digits.
pub fn is_resource_id(id: &str) -> bool {
    dfr_core::ids::is_application_id(id)
}

/// Where the driver's logs of a job run are, under the `logUri` it was given:
/// `<logUri>/applications/<application id>/jobs/<job run id>/`.
pub fn driver_logs(log_uri: &str, application_id: &str, job_run_id: &str) -> String {
    format!(
        "{}/applications/{application_id}/jobs/{job_run_id}/",
        log_uri.trim_end_matches('/')
    )
}

/// A job run's vCPU-, memory GB- and storage GB-hours: the core's, which prices them.
pub use dfr_core::serverless::status::ResourceUtilization;

/// GetApplication's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplicationInfo {
    pub id: String,
    pub name: Option<String>,
    /// CREATING, CREATED, STARTING, STARTED, STOPPING, STOPPED or TERMINATED
    /// (`dfr_core::serverless::status::ApplicationPhase`).
    pub state: String,
    pub state_details: Option<String>,
    pub release_label: String,
    /// `SPARK` or `HIVE`.
    pub kind: String,
    /// `X86_64` or `ARM64` (what its job runs are priced as); `None` when not said.
    pub architecture: Option<String>,
    pub tags: Vec<(String, String)>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// One application as ListApplications lists it (no tags: GetApplication has them).
#[derive(Debug, Clone, PartialEq)]
pub struct ApplicationSummary {
    pub id: String,
    pub state: String,
    pub created_at: Option<DateTime<Utc>>,
}

/// One job run as ListJobRuns lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRunSummary {
    pub id: String,
    pub name: Option<String>,
    pub state: String,
    pub state_details: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
}

/// GetJobRun's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRunInfo {
    pub application_id: String,
    pub id: String,
    pub name: Option<String>,
    /// SUBMITTED, QUEUED, PENDING, SCHEDULED, RUNNING, SUCCESS, FAILED, CANCELLING or CANCELLED
    /// (`dfr_core::serverless::status::JobRunPhase`).
    pub state: String,
    /// Why it is in that state (a failed run's error, "Job run cancelled by user.", …); `None` when empty.
    pub state_details: Option<String>,
    /// What AWS bills (each worker at least a minute, storage beyond the free 20 GB a worker); `None` until the run
    /// has ended.
    pub billed: Option<ResourceUtilization>,
    /// What the run actually used; `None` until the run has ended.
    pub total: Option<ResourceUtilization>,
    pub total_execution_duration_seconds: Option<i64>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// Where its logs go (its `configurationOverrides.monitoringConfiguration.s3MonitoringConfiguration.logUri`);
    /// the driver's are under `<logUri>/applications/<application id>/jobs/<job run id>/SPARK_DRIVER/`.
    pub log_uri: Option<String>,
    /// Its tags (the run's tags, for a job run this project started).
    pub tags: Vec<(String, String)>,
}

/// What the Lambdas need from EMR Serverless, and nothing more. Both writes that create something take a client
/// token (`dfr_core::serverless::client_token`): a call retried with the same token, by the SDK or by the
/// state machine after a lost answer, answers what the first one made and never makes a second.
#[allow(async_fn_in_trait)]
pub trait EmrServerless {
    /// CreateApplication with `request` (its wire-shape body; a `clientToken` in it must be `client_token`);
    /// answers the application's id.
    async fn create_application(
        &self,
        request: &Value,
        client_token: &str,
    ) -> Result<String, Error>;
    async fn get_application(&self, id: &str) -> Result<ApplicationInfo, Error>;
    /// Starting a STARTING or STARTED application changes nothing.
    async fn start_application(&self, id: &str) -> Result<(), Error>;
    /// Stopping a STOPPING or STOPPED application changes nothing; one with job runs not ended is refused.
    async fn stop_application(&self, id: &str) -> Result<(), Error>;
    /// DeleteApplication (CREATED or STOPPED only). Idempotent: an application already TERMINATED is left as it is.
    async fn delete_application(&self, id: &str) -> Result<(), Error>;
    /// StartJobRun of `request` (its wire-shape body, without `applicationId`) on the application; answers the job
    /// run's id.
    async fn start_job_run(
        &self,
        application_id: &str,
        request: &Value,
        client_token: &str,
    ) -> Result<String, Error>;
    async fn get_job_run(
        &self,
        application_id: &str,
        job_run_id: &str,
    ) -> Result<JobRunInfo, Error>;
    /// CancelJobRun. Idempotent: a run already ended (or cancelling) is left as it is.
    async fn cancel_job_run(&self, application_id: &str, job_run_id: &str) -> Result<(), Error>;
    /// The region's applications in the given states (all when empty), every page.
    async fn list_applications(&self, states: &[&str]) -> Result<Vec<ApplicationSummary>, Error>;
    /// The application's job runs in the given states (all when empty), newest first, every page.
    async fn list_job_runs(
        &self,
        application_id: &str,
        states: &[&str],
    ) -> Result<Vec<JobRunSummary>, Error>;
}
