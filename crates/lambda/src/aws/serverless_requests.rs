//! CreateApplication's and StartJobRun's bodies in the API's wire shape (JSON, camelCase, as the API reference
//! writes them) as `aws-sdk-emrserverless` inputs, for the adapter in `serverless`. A mechanical translation of the
//! members the project sends; any other member is refused (`InvalidConfig`, naming it) rather than silently dropped.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_emrserverless::operation::create_application::builders::CreateApplicationFluentBuilder;
use aws_sdk_emrserverless::operation::start_job_run::builders::StartJobRunFluentBuilder;
use aws_sdk_emrserverless::types as es;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::error::Error;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateApplication {
    name: Option<String>,
    release_label: String,
    #[serde(rename = "type")]
    kind: String,
    client_token: Option<String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    architecture: Option<String>,
    #[serde(default)]
    initial_capacity: BTreeMap<String, InitialCapacity>,
    maximum_capacity: Option<Resources>,
    auto_start_configuration: Option<AutoStart>,
    auto_stop_configuration: Option<AutoStop>,
    network_configuration: Option<Network>,
    image_configuration: Option<Image>,
    #[serde(default)]
    runtime_configuration: Vec<Configuration>,
    monitoring_configuration: Option<Monitoring>,
    scheduler_configuration: Option<Scheduler>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct InitialCapacity {
    worker_count: i64,
    worker_configuration: Option<Worker>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Worker {
    cpu: String,
    memory: String,
    disk: Option<String>,
    disk_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Resources {
    cpu: String,
    memory: String,
    disk: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AutoStart {
    enabled: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AutoStop {
    enabled: Option<bool>,
    idle_timeout_minutes: Option<i32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Network {
    #[serde(default)]
    subnet_ids: Vec<String>,
    #[serde(default)]
    security_group_ids: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Image {
    image_uri: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Configuration {
    classification: String,
    #[serde(default)]
    properties: BTreeMap<String, String>,
    #[serde(default)]
    configurations: Vec<Configuration>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Monitoring {
    s3_monitoring_configuration: Option<S3Monitoring>,
    managed_persistence_monitoring_configuration: Option<ManagedPersistence>,
    cloud_watch_logging_configuration: Option<CloudWatch>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct S3Monitoring {
    log_uri: Option<String>,
    encryption_key_arn: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ManagedPersistence {
    enabled: Option<bool>,
    encryption_key_arn: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CloudWatch {
    enabled: bool,
    log_group_name: Option<String>,
    log_stream_name_prefix: Option<String>,
    encryption_key_arn: Option<String>,
    #[serde(default)]
    log_types: BTreeMap<String, Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Scheduler {
    queue_timeout_minutes: Option<i32>,
    max_concurrent_runs: Option<i32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StartJobRun {
    name: Option<String>,
    client_token: Option<String>,
    execution_role_arn: String,
    job_driver: JobDriver,
    configuration_overrides: Option<Overrides>,
    execution_timeout_minutes: Option<i64>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct JobDriver {
    spark_submit: Option<SparkSubmit>,
    hive: Option<Hive>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SparkSubmit {
    entry_point: String,
    #[serde(default)]
    entry_point_arguments: Vec<String>,
    spark_submit_parameters: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Hive {
    query: String,
    init_query_file: Option<String>,
    parameters: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Overrides {
    #[serde(default)]
    application_configuration: Vec<Configuration>,
    monitoring_configuration: Option<Monitoring>,
}

/// The body as `T`, or `InvalidConfig` naming the member at fault (`$.jobDriver.sparkSubmit.entryPoint`).
fn parse<T: DeserializeOwned>(operation: &str, body: &Value) -> Result<T, Error> {
    serde_path_to_error::deserialize(body).map_err(|e| {
        let path = e.path().to_string();
        let at = if path == "." {
            String::new()
        } else {
            format!(" at {path}")
        };
        Error::InvalidConfig(format!("{operation} request{at}: {}", e.into_inner()))
    })
}

/// A `clientToken` in the body must be the call's own: two tokens for one call would make a retry ambiguous.
fn same_token(operation: &str, in_body: Option<&str>, token: &str) -> Result<(), Error> {
    match in_body {
        Some(t) if t != token => Err(Error::Internal(format!(
            "{operation}: the request's clientToken is not the call's"
        ))),
        _ => Ok(()),
    }
}

fn invalid(operation: &str, e: impl std::fmt::Display) -> Error {
    Error::InvalidConfig(format!("{operation} request: {e}"))
}

fn non_empty<T>(items: Vec<T>) -> Option<Vec<T>> {
    (!items.is_empty()).then_some(items)
}

fn map<V: Clone>(items: &BTreeMap<String, V>) -> Option<HashMap<String, V>> {
    (!items.is_empty()).then(|| items.clone().into_iter().collect())
}

fn configuration(c: &Configuration) -> Result<es::Configuration, String> {
    let nested = c
        .configurations
        .iter()
        .map(configuration)
        .collect::<Result<Vec<_>, _>>()?;
    es::Configuration::builder()
        .classification(&c.classification)
        .set_properties(map(&c.properties))
        .set_configurations(non_empty(nested))
        .build()
        .map_err(|e| e.to_string())
}

fn configurations(items: &[Configuration]) -> Result<Option<Vec<es::Configuration>>, String> {
    Ok(non_empty(
        items.iter().map(configuration).collect::<Result<_, _>>()?,
    ))
}

fn monitoring(m: &Monitoring) -> Result<es::MonitoringConfiguration, String> {
    let cloud_watch = match &m.cloud_watch_logging_configuration {
        None => None,
        Some(c) => Some(
            es::CloudWatchLoggingConfiguration::builder()
                .enabled(c.enabled)
                .set_log_group_name(c.log_group_name.clone())
                .set_log_stream_name_prefix(c.log_stream_name_prefix.clone())
                .set_encryption_key_arn(c.encryption_key_arn.clone())
                .set_log_types(map(&c.log_types))
                .build()
                .map_err(|e| e.to_string())?,
        ),
    };
    Ok(es::MonitoringConfiguration::builder()
        .set_s3_monitoring_configuration(m.s3_monitoring_configuration.as_ref().map(|s| {
            es::S3MonitoringConfiguration::builder()
                .set_log_uri(s.log_uri.clone())
                .set_encryption_key_arn(s.encryption_key_arn.clone())
                .build()
        }))
        .set_managed_persistence_monitoring_configuration(
            m.managed_persistence_monitoring_configuration
                .as_ref()
                .map(|p| {
                    es::ManagedPersistenceMonitoringConfiguration::builder()
                        .set_enabled(p.enabled)
                        .set_encryption_key_arn(p.encryption_key_arn.clone())
                        .build()
                }),
        )
        .set_cloud_watch_logging_configuration(cloud_watch)
        .build())
}

fn initial_capacity(c: &InitialCapacity) -> Result<es::InitialCapacityConfig, String> {
    let worker = match &c.worker_configuration {
        None => None,
        Some(w) => Some(
            es::WorkerResourceConfig::builder()
                .cpu(&w.cpu)
                .memory(&w.memory)
                .set_disk(w.disk.clone())
                .set_disk_type(w.disk_type.clone())
                .build()
                .map_err(|e| e.to_string())?,
        ),
    };
    es::InitialCapacityConfig::builder()
        .worker_count(c.worker_count)
        .set_worker_configuration(worker)
        .build()
        .map_err(|e| e.to_string())
}

/// Fills a CreateApplication call with `body` and `token`.
pub fn create_application(
    b: CreateApplicationFluentBuilder,
    body: &Value,
    token: &str,
) -> Result<CreateApplicationFluentBuilder, Error> {
    const OP: &str = "CreateApplication";
    let r: CreateApplication = parse(OP, body)?;
    same_token(OP, r.client_token.as_deref(), token)?;
    let mut capacity = HashMap::new();
    for (worker_type, c) in &r.initial_capacity {
        capacity.insert(
            worker_type.clone(),
            initial_capacity(c).map_err(|e| invalid(OP, e))?,
        );
    }
    let maximum = match &r.maximum_capacity {
        None => None,
        Some(m) => Some(
            es::MaximumAllowedResources::builder()
                .cpu(&m.cpu)
                .memory(&m.memory)
                .set_disk(m.disk.clone())
                .build()
                .map_err(|e| invalid(OP, e))?,
        ),
    };
    let monitoring = r
        .monitoring_configuration
        .as_ref()
        .map(monitoring)
        .transpose()
        .map_err(|e| invalid(OP, e))?;
    Ok(b.client_token(token)
        .set_name(r.name)
        .release_label(r.release_label)
        .r#type(r.kind)
        .set_tags(map(&r.tags))
        .set_architecture(r.architecture.as_deref().map(es::Architecture::from))
        .set_initial_capacity((!capacity.is_empty()).then_some(capacity))
        .set_maximum_capacity(maximum)
        .set_auto_start_configuration(r.auto_start_configuration.map(|a| {
            es::AutoStartConfig::builder()
                .set_enabled(a.enabled)
                .build()
        }))
        .set_auto_stop_configuration(r.auto_stop_configuration.map(|a| {
            es::AutoStopConfig::builder()
                .set_enabled(a.enabled)
                .set_idle_timeout_minutes(a.idle_timeout_minutes)
                .build()
        }))
        .set_network_configuration(r.network_configuration.map(|n| {
            es::NetworkConfiguration::builder()
                .set_subnet_ids(non_empty(n.subnet_ids))
                .set_security_group_ids(non_empty(n.security_group_ids))
                .build()
        }))
        .set_image_configuration(r.image_configuration.map(|i| {
            es::ImageConfigurationInput::builder()
                .set_image_uri(i.image_uri)
                .build()
        }))
        .set_runtime_configuration(
            configurations(&r.runtime_configuration).map_err(|e| invalid(OP, e))?,
        )
        .set_monitoring_configuration(monitoring)
        .set_scheduler_configuration(r.scheduler_configuration.map(|s| {
            es::SchedulerConfiguration::builder()
                .set_queue_timeout_minutes(s.queue_timeout_minutes)
                .set_max_concurrent_runs(s.max_concurrent_runs)
                .build()
        })))
}

fn job_driver(d: &JobDriver) -> Result<es::JobDriver, String> {
    match (&d.spark_submit, &d.hive) {
        (Some(s), None) => es::SparkSubmit::builder()
            .entry_point(&s.entry_point)
            .set_entry_point_arguments(Some(s.entry_point_arguments.clone()))
            .set_spark_submit_parameters(s.spark_submit_parameters.clone())
            .build()
            .map(es::JobDriver::SparkSubmit)
            .map_err(|e| e.to_string()),
        (None, Some(h)) => es::Hive::builder()
            .query(&h.query)
            .set_init_query_file(h.init_query_file.clone())
            .set_parameters(h.parameters.clone())
            .build()
            .map(es::JobDriver::Hive)
            .map_err(|e| e.to_string()),
        _ => Err("jobDriver needs exactly one of sparkSubmit and hive".into()),
    }
}

/// Fills a StartJobRun call on `application_id` with `body` and `token`.
pub fn start_job_run(
    b: StartJobRunFluentBuilder,
    application_id: &str,
    body: &Value,
    token: &str,
) -> Result<StartJobRunFluentBuilder, Error> {
    const OP: &str = "StartJobRun";
    let r: StartJobRun = parse(OP, body)?;
    same_token(OP, r.client_token.as_deref(), token)?;
    let overrides = match &r.configuration_overrides {
        None => None,
        Some(o) => Some(
            es::ConfigurationOverrides::builder()
                .set_application_configuration(
                    configurations(&o.application_configuration).map_err(|e| invalid(OP, e))?,
                )
                .set_monitoring_configuration(
                    o.monitoring_configuration
                        .as_ref()
                        .map(monitoring)
                        .transpose()
                        .map_err(|e| invalid(OP, e))?,
                )
                .build(),
        ),
    };
    Ok(b.application_id(application_id)
        .client_token(token)
        .set_name(r.name)
        .execution_role_arn(r.execution_role_arn)
        .job_driver(job_driver(&r.job_driver).map_err(|e| invalid(OP, e))?)
        .set_configuration_overrides(overrides)
        .set_execution_timeout_minutes(r.execution_timeout_minutes)
        .set_tags(map(&r.tags)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn client() -> aws_sdk_emrserverless::Client {
        let conf = aws_sdk_emrserverless::Config::builder()
            .behavior_version(aws_sdk_emrserverless::config::BehaviorVersion::latest())
            .region(aws_sdk_emrserverless::config::Region::new("eu-west-1"))
            .build();
        aws_sdk_emrserverless::Client::from_conf(conf)
    }

    #[test]
    fn a_start_job_run_body_becomes_the_sdk_input_member_by_member() {
        let body = json!({
            "name": "step-1",
            "clientToken": "t",
            "executionRoleArn": "arn:aws:iam::123456789012:role/job",
            "jobDriver": {"sparkSubmit": {"entryPoint": "s3://code/job.py", "entryPointArguments": ["--x", "1"],
                                          "sparkSubmitParameters": "--conf spark.executor.cores=2"}},
            "configurationOverrides": {
                "applicationConfiguration": [{"classification": "spark-defaults", "properties": {"a": "b"}}],
                "monitoringConfiguration": {"s3MonitoringConfiguration": {"logUri": "s3://logs/"}}
            },
            "executionTimeoutMinutes": 30,
            "tags": {"k": "v"}
        });
        let b = start_job_run(client().start_job_run(), "00app", &body, "t").unwrap();
        let input = b.as_input();
        assert_eq!(input.get_application_id().as_deref(), Some("00app"));
        assert_eq!(input.get_client_token().as_deref(), Some("t"));
        assert_eq!(input.get_name().as_deref(), Some("step-1"));
        assert_eq!(input.get_execution_timeout_minutes(), &Some(30));
        let Some(es::JobDriver::SparkSubmit(s)) = input.get_job_driver() else {
            panic!("a sparkSubmit driver")
        };
        assert_eq!(s.entry_point(), "s3://code/job.py");
        assert_eq!(s.entry_point_arguments(), ["--x", "1"]);
        let overrides = input.get_configuration_overrides().as_ref().unwrap();
        assert_eq!(
            overrides.application_configuration()[0].classification(),
            "spark-defaults"
        );
        let log_uri = overrides
            .monitoring_configuration()
            .and_then(|m| m.s3_monitoring_configuration())
            .and_then(|s| s.log_uri());
        assert_eq!(log_uri, Some("s3://logs/"));
        assert_eq!(
            input
                .get_tags()
                .as_ref()
                .unwrap()
                .get("k")
                .map(String::as_str),
            Some("v")
        );
    }

    #[test]
    fn a_member_not_sent_is_refused_not_dropped() {
        let body = json!({"executionRoleArn": "r", "jobDriver": {"hive": {"query": "q"}}, "retryPolicy": {}});
        let err = start_job_run(client().start_job_run(), "a", &body, "t").unwrap_err();
        assert_eq!(err.name(), "InvalidConfig");
        assert!(err.to_string().contains("retryPolicy"), "{err}");
        let both = json!({"executionRoleArn": "r", "jobDriver": {"hive": {"query": "q"},
                          "sparkSubmit": {"entryPoint": "e"}}});
        let err = start_job_run(client().start_job_run(), "a", &both, "t").unwrap_err();
        assert!(err.to_string().contains("exactly one"), "{err}");
        let nested = json!({"releaseLabel": "emr-7.5.0", "type": "SPARK",
                            "networkConfiguration": {"subnetIds": ["s"], "vpcId": "v"}});
        let err = create_application(client().create_application(), &nested, "t").unwrap_err();
        assert!(
            err.to_string().contains("networkConfiguration") && err.to_string().contains("vpcId"),
            "{err}"
        );
        let other_token = json!({"releaseLabel": "emr-7.5.0", "type": "SPARK", "clientToken": "x"});
        let err = create_application(client().create_application(), &other_token, "t").unwrap_err();
        assert_eq!(err.name(), "Internal");
    }

    #[test]
    fn a_create_application_body_becomes_the_sdk_input() {
        let body = json!({
            "name": "dfr-run", "releaseLabel": "emr-7.5.0", "type": "SPARK", "architecture": "ARM64",
            "initialCapacity": {"DRIVER": {"workerCount": 1,
                                           "workerConfiguration": {"cpu": "2 vCPU", "memory": "4 GB"}}},
            "maximumCapacity": {"cpu": "16 vCPU", "memory": "64 GB"},
            "autoStopConfiguration": {"enabled": true, "idleTimeoutMinutes": 5},
            "networkConfiguration": {"subnetIds": ["subnet-1"], "securityGroupIds": ["sg-1"]},
            "tags": {"dfr:run": "nightly"}
        });
        let b = create_application(client().create_application(), &body, "tok").unwrap();
        let input = b.as_input();
        assert_eq!(input.get_client_token().as_deref(), Some("tok"));
        assert_eq!(input.get_type().as_deref(), Some("SPARK"));
        assert_eq!(input.get_architecture(), &Some(es::Architecture::Arm64));
        let driver = &input.get_initial_capacity().as_ref().unwrap()["DRIVER"];
        assert_eq!(driver.worker_count(), 1);
        assert_eq!(
            input
                .get_auto_stop_configuration()
                .as_ref()
                .and_then(|a| a.idle_timeout_minutes()),
            Some(5)
        );
        assert_eq!(
            input
                .get_network_configuration()
                .as_ref()
                .map(|n| n.subnet_ids()),
            Some(&["subnet-1".to_string()][..])
        );
    }
}
