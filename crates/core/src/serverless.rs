//! EMR Serverless as a second place to run a playbook: the ServerlessConfig model (schema
//! `iglu:com.dataflowrunner.serverless/ServerlessConfig/jsonschema/1-0-0`), the translation of a playbook's steps
//! into job runs ([`translate`]), the client tokens that make a retried call start nothing twice
//! ([`client_token`]), and the CreateApplication / StartApplication / StartJobRun requests, in the EMR Serverless
//! REST API's own JSON shape (camelCase members; absent fields are omitted, never sent empty). Pure, as the rest of
//! the core: the execution id is an argument, never read.

pub mod status;
pub mod translate;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::diagnostics::ConfigErrors;
use crate::load::Loaded;
use crate::model::{Credentials, PlaybookConfig, Tag};
pub use translate::{translate, JobDriver, JobRun, OnFailure, Translation};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServerlessConfig {
    pub region: Option<String>,
    pub credentials: Option<Credentials>,
    /// An application created for each run; the schema allows this or `application_id`, never both.
    pub application: Option<Application>,
    /// An existing application, reused.
    pub application_id: Option<String>,
    pub execution_role_arn: String,
    pub log_uri: Option<String>,
    pub execution_timeout_minutes: Option<u32>,
    pub tags: Option<Vec<Tag>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Application {
    pub name: Option<String>,
    pub release_label: String,
    #[serde(rename = "type")]
    pub application_type: ApplicationType,
    pub architecture: Option<Architecture>,
    pub initial_capacity: Option<IndexMap<String, InitialCapacity>>,
    pub maximum_capacity: Option<WorkerResources>,
    pub network: Option<NetworkConfiguration>,
    pub auto_stop: Option<AutoStopConfiguration>,
}

/// What an application runs: one kind of job only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum ApplicationType {
    Spark,
    Hive,
}

impl ApplicationType {
    /// As the config and the API write it.
    pub fn as_api(self) -> &'static str {
        match self {
            Self::Spark => "Spark",
            Self::Hive => "Hive",
        }
    }

    /// The worker types `initialCapacity` may name for this type.
    pub fn worker_types(self) -> &'static [&'static str] {
        match self {
            Self::Spark => &["Driver", "Executor"],
            Self::Hive => &["HiveDriver", "TezTask"],
        }
    }
}

/// An application's architecture; the default is EMR Serverless's when CreateApplication names none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum Architecture {
    #[default]
    #[serde(rename = "X86_64")]
    X86_64,
    #[serde(rename = "ARM64")]
    Arm64,
}

impl Architecture {
    /// EMR Serverless's name of it, as its API and price list say.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::X86_64 => "X86_64",
            Self::Arm64 => "ARM64",
        }
    }
}

/// `initialCapacity`'s value per worker type, in the config as in the API.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InitialCapacity {
    pub worker_count: u32,
    pub worker_configuration: WorkerResources,
}

/// cpu, memory and disk: a worker's (`workerConfiguration`) or the application's ceiling (`maximumCapacity`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkerResources {
    pub cpu: String,
    pub memory: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkConfiguration {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet_ids: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_group_ids: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AutoStopConfiguration {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_timeout_minutes: Option<u32>,
}

/// The first EMR release EMR Serverless runs.
pub const FIRST_RELEASE: (u32, u32) = (6, 6);

/// Whether EMR Serverless has the release `label` (`emr-X.Y.Z`, X.Y at least [`FIRST_RELEASE`]). A label of
/// another shape is the schema's to refuse.
pub fn release_supported(label: &str) -> bool {
    let mut parts = label
        .strip_prefix("emr-")
        .unwrap_or(label)
        .split('.')
        .map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) => (major, minor) >= FIRST_RELEASE,
        _ => true,
    }
}

/// What a client token is for. Each call that starts something takes one, so that a retried call returns what the
/// first one started instead of starting it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFor {
    CreateApplication,
    /// The job run of the playbook's step at this index (from 0).
    StartJobRun(usize),
}

/// The longest client token the API takes (both CreateApplication and StartJobRun: 1 to 64 of `[A-Za-z0-9._-]`).
pub const MAX_CLIENT_TOKEN: usize = 64;

/// The client token of one call of one execution: the same for the same (execution, call), whatever retried it,
/// and different for any other. The execution id (a Step Functions execution name or ARN, any length and
/// characters) is hashed, so every token has the API's shape and length: `dfr-` and 40 hex digits of its SHA-256,
/// then `-app` or `-step-N`.
pub fn client_token(execution_id: &str, call: TokenFor) -> String {
    let digest = Sha256::digest(execution_id.as_bytes());
    let hex: String = digest.iter().take(20).map(|b| format!("{b:02x}")).collect();
    match call {
        TokenFor::CreateApplication => format!("dfr-{hex}-app"),
        TokenFor::StartJobRun(index) => format!("dfr-{hex}-step-{index}"),
    }
}

/// Whether EMR Serverless accepts `token` as a `clientToken` (1 to [`MAX_CLIENT_TOKEN`] of `[A-Za-z0-9._-]`).
pub fn is_client_token(token: &str) -> bool {
    (1..=MAX_CLIENT_TOKEN).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// What stands for the id of the application CreateApplication will create, where a request needs it before it
/// exists (in `plan`; the runner puts the id CreateApplication returned).
pub const CREATED_APPLICATION_ID: &str = "<applicationId returned by CreateApplication>";

/// What `dataflow-runner plan` prints for a ServerlessConfig: EMR Serverless operation name → request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerlessPlan {
    #[serde(rename = "CreateApplication", skip_serializing_if = "Option::is_none")]
    pub create_application: Option<CreateApplicationRequest>,
    #[serde(rename = "StartApplication")]
    pub start_application: StartApplicationRequest,
    /// One per step, in the playbook's order.
    #[serde(rename = "StartJobRun", skip_serializing_if = "Vec::is_empty")]
    pub start_job_runs: Vec<StartJobRunRequest>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateApplicationRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub release_label: String,
    #[serde(rename = "type")]
    pub application_type: ApplicationType,
    pub client_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub architecture: Option<Architecture>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_capacity: Option<IndexMap<String, InitialCapacity>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum_capacity: Option<WorkerResources>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_stop_configuration: Option<AutoStopConfiguration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_configuration: Option<NetworkConfiguration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monitoring_configuration: Option<MonitoringConfiguration>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub tags: IndexMap<String, String>,
}

/// StartApplication has no body: its one member is the URI's application id.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartApplicationRequest {
    pub application_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartJobRunRequest {
    /// The URI's application id.
    pub application_id: String,
    pub client_token: String,
    pub execution_role_arn: String,
    pub name: String,
    pub job_driver: JobDriver,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub configuration_overrides: Option<ConfigurationOverrides>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_timeout_minutes: Option<u32>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub tags: IndexMap<String, String>,
    /// What the run does when this job run fails (the step's `actionOnFailure`): not part of the request.
    #[serde(skip)]
    pub on_failure: OnFailure,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigurationOverrides {
    pub monitoring_configuration: MonitoringConfiguration,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MonitoringConfiguration {
    pub s3_monitoring_configuration: S3MonitoringConfiguration,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct S3MonitoringConfiguration {
    pub log_uri: String,
}

fn monitoring(c: &ServerlessConfig) -> Option<MonitoringConfiguration> {
    c.log_uri.clone().map(|log_uri| MonitoringConfiguration {
        s3_monitoring_configuration: S3MonitoringConfiguration { log_uri },
    })
}

fn tag_map<'a>(tags: impl IntoIterator<Item = &'a Tag>) -> IndexMap<String, String> {
    tags.into_iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect()
}

/// CreateApplication for a config that creates its application; `None` for one that reuses an application.
pub fn create_application(
    c: &ServerlessConfig,
    execution_id: &str,
) -> Option<CreateApplicationRequest> {
    let app = c.application.as_ref()?;
    Some(CreateApplicationRequest {
        name: app.name.clone(),
        release_label: app.release_label.clone(),
        application_type: app.application_type,
        client_token: client_token(execution_id, TokenFor::CreateApplication),
        architecture: app.architecture,
        initial_capacity: app.initial_capacity.clone(),
        maximum_capacity: app.maximum_capacity.clone(),
        auto_stop_configuration: app.auto_stop.clone(),
        network_configuration: app.network.clone(),
        monitoring_configuration: monitoring(c),
        tags: tag_map(c.tags.iter().flatten()),
    })
}

/// The id the job runs go to: the reused application's, or [`CREATED_APPLICATION_ID`] standing for the one
/// CreateApplication returns.
pub fn application_id(c: &ServerlessConfig) -> &str {
    c.application_id
        .as_deref()
        .unwrap_or(CREATED_APPLICATION_ID)
}

/// StartJobRun for one translated step. Its tags are the config's and the playbook's (the playbook's win on the
/// same key); its logs go under the config's `logUri`.
pub fn start_job_run(
    c: &ServerlessConfig,
    playbook: &PlaybookConfig,
    application_id: &str,
    execution_id: &str,
    index: usize,
    job: &JobRun,
) -> StartJobRunRequest {
    StartJobRunRequest {
        application_id: application_id.to_string(),
        client_token: client_token(execution_id, TokenFor::StartJobRun(index)),
        execution_role_arn: c.execution_role_arn.clone(),
        name: job.name.clone(),
        job_driver: job.driver.clone(),
        configuration_overrides: monitoring(c).map(|monitoring_configuration| {
            ConfigurationOverrides {
                monitoring_configuration,
            }
        }),
        execution_timeout_minutes: c.execution_timeout_minutes,
        tags: tag_map(
            c.tags
                .iter()
                .flatten()
                .chain(playbook.tags.iter().flatten()),
        ),
        on_failure: job.on_failure,
    }
}

/// Every request a run of `playbook` (if any, with its file name) on `c` makes, in order, for the execution
/// `execution_id`; or why the playbook cannot run on EMR Serverless (every refused step, located in the file). The
/// warnings are the spark-submit options left out ([`translate`]).
pub fn plan(
    c: &ServerlessConfig,
    playbook: Option<(&str, &Loaded<PlaybookConfig>)>,
    execution_id: &str,
) -> Result<(ServerlessPlan, Vec<crate::diagnostics::Diagnostic>), ConfigErrors> {
    let application_id = application_id(c);
    let (start_job_runs, warnings) = match playbook {
        Some((file, loaded)) => {
            let p = &loaded.config;
            let kind = c.application.as_ref().map(|a| a.application_type);
            let mut t = translate(file, &loaded.lines, p, kind)
                .map_err(|e| e.redact(&loaded.redactions))?;
            for w in &mut t.warnings {
                w.redact(&loaded.redactions);
            }
            let runs = t
                .jobs
                .iter()
                .enumerate()
                .map(|(i, job)| start_job_run(c, p, application_id, execution_id, i, job))
                .collect();
            (runs, t.warnings)
        }
        None => (Vec::new(), Vec::new()),
    };
    Ok((
        ServerlessPlan {
            create_application: create_application(c, execution_id),
            start_application: StartApplicationRequest {
                application_id: application_id.to_string(),
            },
            start_job_runs,
        },
        warnings,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_tokens_have_the_apis_shape_and_differ_per_execution_and_call() {
        let long = "arn:aws:states:eu-west-1:123456789012:execution:dataflow-runner-run:".repeat(4);
        let mut seen = std::collections::BTreeSet::new();
        for execution in ["a", "b", "run-2026-12-07", long.as_str(), "é:/ "] {
            for call in [
                TokenFor::CreateApplication,
                TokenFor::StartJobRun(0),
                TokenFor::StartJobRun(1),
                TokenFor::StartJobRun(255),
            ] {
                let token = client_token(execution, call);
                assert!(
                    is_client_token(&token),
                    "{token}: {} characters",
                    token.len()
                );
                assert_eq!(token, client_token(execution, call), "not deterministic");
                assert!(seen.insert(token.clone()), "{token} given twice");
            }
        }
        assert_eq!(seen.len(), 20);
        for bad in ["", "a b", "a/b", &"a".repeat(MAX_CLIENT_TOKEN + 1)] {
            assert!(!is_client_token(bad), "{bad:?}");
        }
        assert!(is_client_token(&"a".repeat(MAX_CLIENT_TOKEN)));
    }

    #[test]
    fn a_client_token_is_the_sha_256_of_the_execution_id() {
        // FIPS 180-2's example: SHA-256("abc").
        assert_eq!(
            client_token("abc", TokenFor::CreateApplication),
            "dfr-ba7816bf8f01cfea414140de5dae2223b00361a3-app"
        );
        assert_eq!(
            client_token("abc", TokenFor::StartJobRun(7)),
            "dfr-ba7816bf8f01cfea414140de5dae2223b00361a3-step-7"
        );
    }

    #[test]
    fn releases_before_6_6_are_not_on_emr_serverless() {
        assert!(release_supported("emr-6.6.0"));
        assert!(release_supported("emr-7.5.0"));
        assert!(release_supported("emr-10.0.0"));
        assert!(!release_supported("emr-6.5.0"));
        assert!(!release_supported("emr-5.36.1"));
    }
}
