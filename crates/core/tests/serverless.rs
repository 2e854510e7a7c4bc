//! EMR Serverless: a ServerlessConfig is loaded by its schema URI like a ClusterConfig, refused with the file, the
//! JSON path and the fix; its plan is the CreateApplication / StartApplication / StartJobRun requests; and the
//! reference playbooks (tests/reference, the original's samples and real-world configs) translate step by step
//! into job runs, or are refused, each for its reason.

use std::collections::BTreeMap;
use std::path::Path;

use dfr_core::diagnostics::LineIndex;
use dfr_core::load::{self, RunPlace};
use dfr_core::serverless::{self, translate, ServerlessConfig, CREATED_APPLICATION_ID};
mod common;

use common::NothingOutside;
use gotemplate::TemplateEnv;
use serde_json::{json, Value};

const URI: &str = "iglu:com.dataflowrunner.serverless/ServerlessConfig/jsonschema/1-0-0";

fn config(patch: impl FnOnce(&mut Value)) -> Value {
    let mut data = json!({
        "region": "eu-west-1",
        "application": {"name": "a", "releaseLabel": "emr-7.5.0", "type": "Spark"},
        "executionRoleArn": "arn:aws:iam::123456789012:role/job",
        "tags": [{"key": "team", "value": "data"}]
    });
    patch(&mut data);
    json!({"schema": URI, "data": data})
}

fn load(doc: &Value) -> Result<ServerlessConfig, String> {
    let text = serde_json::to_string_pretty(doc).unwrap();
    match load::load_run_place("s.json", &text, &BTreeMap::new(), &NothingOutside) {
        Ok(RunPlace::Serverless(s)) => Ok(s.config),
        Ok(RunPlace::Cluster(_)) => panic!("read as a ClusterConfig"),
        Err(e) => Err(e.to_string()),
    }
}

#[test]
fn the_application_is_created_or_reused_not_both_nor_neither() {
    let both = load(&config(|d| d["applicationId"] = json!("00abc"))).unwrap_err();
    assert!(
        both.contains("s.json:3: data: both `application` and `applicationId` are given"),
        "{both}"
    );
    assert!(both.contains("fix: give either `application`"), "{both}");
    let neither = load(&config(|d| {
        d.as_object_mut().unwrap().remove("application");
    }))
    .unwrap_err();
    assert!(
        neither.contains("s.json:3: data.application: required field `application` is missing"),
        "{neither}"
    );
    assert!(
        neither.contains("or give `applicationId` to reuse an existing application"),
        "{neither}"
    );
    let reused = load(&config(|d| {
        d.as_object_mut().unwrap().remove("application");
        d["applicationId"] = json!("00fabcdef1234567");
    }))
    .unwrap();
    assert_eq!(reused.application_id.as_deref(), Some("00fabcdef1234567"));
}

#[test]
fn the_schema_refuses_what_emr_serverless_would_with_the_path_and_the_fix() {
    for (patch, expected) in [
        (
            json!({"executionRoleArn": "EMR_DefaultRole"}),
            "data.executionRoleArn: \"EMR_DefaultRole\" does not match",
        ),
        (
            json!({"applicationIdd": "x"}),
            "data.applicationIdd: unknown field `applicationIdd`",
        ),
        (
            json!({"logUri": "hdfs:///logs"}),
            "fix: an S3 location such as \"s3://my-bucket/logs/\"",
        ),
        (
            json!({"executionTimeoutMinutes": 0}),
            "data.executionTimeoutMinutes: 0 is less than the minimum of 1",
        ),
    ] {
        let err = load(&config(|d| {
            for (k, v) in patch.as_object().unwrap() {
                d[k] = v.clone();
            }
        }))
        .unwrap_err();
        assert!(err.contains(expected), "{patch}: {err}");
    }
    for (patch, expected) in [
        (json!({"type": "Flink"}), "\"Flink\" is not one of Spark, Hive"),
        (json!({"architecture": "x86"}), "data.application.architecture"),
        (
            json!({"maximumCapacity": {"cpu": "lots", "memory": "1 GB"}}),
            "fix: a whole number of vCPUs such as \"4 vCPU\"",
        ),
        (
            json!({"initialCapacity": {"Drivers": {"workerCount": 1, "workerConfiguration": {"cpu": "1", "memory": "2"}}}}),
            "did you mean `Driver`?",
        ),
        (
            json!({"autoStop": {"idleTimeoutMinutes": 20000}}),
            "data.application.autoStop.idleTimeoutMinutes: 20000 is greater than the maximum of 10080",
        ),
        (
            json!({"network": {"subnetIds": ["subnet-1", "subnet-1"]}}),
            "data.application.network.subnetIds",
        ),
    ] {
        let err = load(&config(|d| {
            for (k, v) in patch.as_object().unwrap() {
                d["application"][k] = v.clone();
            }
        }))
        .unwrap_err();
        assert!(err.contains(expected), "{patch}: {err}");
    }
}

#[test]
fn cross_field_checks_name_the_field_and_the_fix() {
    let err = load(&config(|d| {
        d["application"]["initialCapacity"] = json!({"TezTask": {"workerCount": 1, "workerConfiguration": {"cpu": "1 vCPU", "memory": "4 GB"}}});
        d["application"]["releaseLabel"] = json!("emr-6.5.0");
        d["tags"] = json!([{"key": "dataflow-runner:execution", "value": "x"}]);
    }))
    .unwrap_err();
    assert!(
        err.contains(
            "data.application.initialCapacity.TezTask: a Spark application has no TezTask workers"
        ),
        "{err}"
    );
    assert!(
        err.contains("fix: use the worker types Driver and Executor"),
        "{err}"
    );
    assert!(
        err.contains("data.application.releaseLabel: EMR Serverless has no release emr-6.5.0"),
        "{err}"
    );
    assert!(
        err.contains("data.tags[0].key: tag keys starting with"),
        "{err}"
    );
}

#[test]
fn a_serverless_config_is_refused_where_a_cluster_config_is_needed_and_vice_versa() {
    let text = serde_json::to_string_pretty(&config(|_| {})).unwrap();
    let err = load::load_cluster("s.json", &text, &BTreeMap::new(), &NothingOutside)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("s.json:2: schema: this file is a ServerlessConfig, but a ClusterConfig was expected here"),
        "{err}"
    );
    assert!(
        err.contains("`dataflow-runner validate` and `plan`"),
        "{err}"
    );
    let playbook = r#"{"schema": "iglu:com.dataflowrunner.serverless/PlaybookConfig/jsonschema/1-1-0", "data": {"steps": []}}"#;
    let err = load::load_run_place("p.json", playbook, &BTreeMap::new(), &NothingOutside)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("this file is a PlaybookConfig, but a ClusterConfig or ServerlessConfig was expected here"),
        "{err}"
    );
    let unknown = r#"{"schema": "iglu:com.dataflowrunner.serverless/ServerlessConfig/jsonschema/1-0-1", "data": {}}"#;
    let err = load::load_run_place("u.json", unknown, &BTreeMap::new(), &NothingOutside)
        .unwrap_err()
        .to_string();
    assert!(err.contains(&format!("did you mean \"{URI}\"?")), "{err}");
}

fn spark_playbook() -> load::Loaded<dfr_core::model::PlaybookConfig> {
    let text = json!({
        "schema": "iglu:com.dataflowrunner.serverless/PlaybookConfig/jsonschema/1-1-0",
        "data": {
            "steps": [
                {"name": "one", "jar": "command-runner.jar", "arguments": ["spark-submit", "s3://b/one.py"]},
                {"name": "two", "jar": "command-runner.jar", "actionOnFailure": "CONTINUE",
                 "arguments": ["spark-submit", "--class", "a.B", "s3://b/two.jar", "x"]}
            ],
            "tags": [{"key": "team", "value": "playbook"}, {"key": "run", "value": "nightly"}]
        }
    });
    load::playbook_from_text("p.json", &text.to_string()).unwrap()
}

#[test]
fn a_reused_application_is_started_and_given_the_job_runs_without_being_created() {
    let c = load(&config(|d| {
        d.as_object_mut().unwrap().remove("application");
        d["applicationId"] = json!("00fabcdef1234567");
        d["executionTimeoutMinutes"] = json!(30);
    }))
    .unwrap();
    let p = spark_playbook();
    let (plan, warnings) = serverless::plan(&c, Some(("p.json", &p)), "exec-1").unwrap();
    assert!(warnings.is_empty());
    let plan = serde_json::to_value(&plan).unwrap();
    assert!(plan.get("CreateApplication").is_none(), "{plan:#}");
    assert_eq!(
        plan["StartApplication"],
        json!({"applicationId": "00fabcdef1234567"})
    );
    let runs = plan["StartJobRun"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(
        runs[1],
        json!({
            "applicationId": "00fabcdef1234567",
            "clientToken": serverless::client_token("exec-1", serverless::TokenFor::StartJobRun(1)),
            "executionRoleArn": "arn:aws:iam::123456789012:role/job",
            "name": "two",
            "jobDriver": {"sparkSubmit": {"entryPoint": "s3://b/two.jar", "entryPointArguments": ["x"], "sparkSubmitParameters": "--class a.B"}},
            "executionTimeoutMinutes": 30,
            "tags": {"team": "playbook", "run": "nightly"}
        })
    );
}

#[test]
fn a_created_application_is_created_once_per_execution() {
    let c = load(&config(|d| d["logUri"] = json!("s3://logs-bucket/x/"))).unwrap();
    let (first, _) = serverless::plan(&c, None, "exec-1").unwrap();
    let (retried, _) = serverless::plan(&c, None, "exec-1").unwrap();
    let (other, _) = serverless::plan(&c, None, "exec-2").unwrap();
    let token = |p: &serverless::ServerlessPlan| {
        p.create_application.as_ref().unwrap().client_token.clone()
    };
    assert_eq!(token(&first), token(&retried));
    assert_ne!(token(&first), token(&other));
    assert_eq!(
        first.start_application.application_id,
        CREATED_APPLICATION_ID
    );
    assert!(first.start_job_runs.is_empty());
    let body = serde_json::to_value(first.create_application.unwrap()).unwrap();
    assert_eq!(
        body,
        json!({
            "name": "a",
            "releaseLabel": "emr-7.5.0",
            "type": "Spark",
            "clientToken": token(&retried),
            "monitoringConfiguration": {"s3MonitoringConfiguration": {"logUri": "s3://logs-bucket/x/"}},
            "tags": {"team": "data"}
        })
    );
}

/// What becomes of each step of a reference playbook on EMR Serverless: `spark` or `hive` (translated), or the
/// start of the reason it is refused.
fn outcomes(file: &str, vars: &[(&str, &str)]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/reference");
    let text = std::fs::read_to_string(root.join(file)).unwrap();
    let vars = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let p = load::load_playbook(file, &text, &vars, &NothingOutside)
        .unwrap()
        .config;
    (0..p.steps.len())
        .map(|i| {
            let mut one = p.clone();
            one.steps = vec![p.steps[i].clone()];
            match translate(file, &LineIndex::default(), &one, None) {
                Ok(t) => match &t.jobs[0].driver {
                    serverless::JobDriver::SparkSubmit(_) => "spark".into(),
                    serverless::JobDriver::Hive(_) => "hive".into(),
                },
                Err(e) => {
                    assert!(e.0.iter().all(|d| d.file == file && d.hint.is_some()));
                    e.0[0]
                        .message
                        .trim_start_matches("cannot run on EMR Serverless: ")
                        .chars()
                        .take(24)
                        .collect()
                }
            }
        })
        .collect()
}

const RECOVERY_VARS: [(&str, &str); 10] = [
    ("bucket", "my-bucket"),
    ("region", "eu-central-1"),
    ("client", "acme"),
    ("version", "0.5.1"),
    ("config", "Y29uZmln"),
    ("resolver", "cmVzb2x2ZXI="),
    ("output", "recovered-stream"),
    ("inputdir", "/bad-rows/2"),
    ("interval", "5"),
    ("role", "r"),
];

/// A reference playbook, its vars, and what becomes of each of its steps.
type Reference = (
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static [&'static str],
);

#[test]
fn the_reference_playbooks_translate_or_are_refused_step_by_step() {
    let cases: [Reference; 7] = [
        (
            "real/02-dfr-sample-playbook-1-0-1.json",
            &[],
            &["\"hdfs:///local/monthly/\"", "\"hdfs:///local/monthly/*"],
        ),
        (
            "real/06-event-recovery-spark-playbook.json",
            &RECOVERY_VARS,
            &["`bash` is neither spark-", "spark"],
        ),
        (
            "real/08-event-recovery-flink-playbook.json",
            &RECOVERY_VARS,
            &["`bash` is neither spark-", "`bash` is neither spark-"],
        ),
        (
            "real/28-blog-snowflake-loader-0.3.0-playbook-vars.json",
            &[("config", "Y29uZmln"), ("resolver", "cmVzb2x2ZXI=")],
            &["spark", "`snowplow-snowflake-load"],
        ),
        (
            "real/30-blog-dfr-0.3.0-playbook-tags.json",
            &[],
            &["\"hdfs:///local/monthly/\""],
        ),
        (
            "full/playbook.json",
            &[],
            &[
                "spark",
                "step properties are Java",
                "a custom JAR runs with `",
                "command-runner.jar witho",
                "`echo` is neither spark-",
            ],
        ),
        (
            "fixtures/PlaybookRecord1.json",
            &[],
            &["\"hdfs:///local/monthly/\"", "\"hdfs:///local/monthly/*"],
        ),
    ];
    for (file, vars, expected) in cases {
        assert_eq!(outcomes(file, vars), expected, "{file}");
    }
}

/// An environment whose one variable holds a secret.
struct SecretEnv;

impl TemplateEnv for SecretEnv {
    fn now(&self) -> chrono::DateTime<chrono::FixedOffset> {
        NothingOutside.now()
    }
    fn env_var(&self, name: &str) -> Option<String> {
        (name == "INPUT").then(|| "hdfs://user:s3cr3t-T0KEN@nn/raw".to_string())
    }
    fn read_file(&self, path: &str) -> std::io::Result<Vec<u8>> {
        NothingOutside.read_file(path)
    }
}

#[test]
fn a_refusal_never_quotes_a_value_read_with_system_env() {
    let text = r#"{"schema": "iglu:com.dataflowrunner.serverless/PlaybookConfig/jsonschema/1-1-0", "data": {"steps": [
        {"name": "s", "jar": "command-runner.jar",
         "arguments": ["spark-submit", "--master", "{{systemEnv "INPUT"}}", "app.py", "{{systemEnv "INPUT"}}"]}]}}"#;
    let p = load::load_playbook("p.json", text, &BTreeMap::new(), &SecretEnv).unwrap();
    let c = load(&config(|_| {})).unwrap();
    let err = serverless::plan(&c, Some(("p.json", &p)), "e")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("p.json:3: data.steps[0].arguments[2]: cannot run on EMR Serverless"),
        "{err}"
    );
    assert!(err.contains("«value of systemEnv INPUT»"), "{err}");
    assert!(!err.contains("s3cr3t"), "{err}");
}
