//! What the Lambda tests share: the EMR emulator under the deployed stack's IAM, each function's clients signed
//! with its own role's credentials, and configs and events to start from.

// Each test crate uses its own part of this module.
#![allow(dead_code)]

use std::collections::BTreeMap;

use aws_config::BehaviorVersion;
use aws_sdk_emr::config::{Credentials, Region};
use chrono::{DateTime, TimeZone, Utc};
use dfr_lambda::aws::SdkEmr;
use dfr_lambda::launch::{launch_cluster, LaunchEvent};
use dfr_lambda::runtime::{decode, Aws};
use dfr_lambda::source::ObjectStore;
pub use dfr_lambda::stack::{Regions, Stack as Deployment};
use dfr_lambda::terminate::{terminate, TerminateEvent};
use dfr_lambda::Error;
use emr_emulator::iam::{Iam, StackContext};
use emr_emulator::{Emulator, EmulatorHandle, Scenario};
use gotemplate::SystemClock;
use serde_json::{json, Value};

pub const T0: f64 = 1_700_000_000.0;

/// Configs given as `s3://` are read through this port; the S3 path itself is exercised by the state-machine tests.
pub struct NoS3;

impl ObjectStore for NoS3 {
    async fn get_bytes(&self, bucket: &str, key: &str) -> Result<Vec<u8>, Error> {
        Err(Error::ConfigNotFound(format!(
            "s3://{bucket}/{key}: not in this test"
        )))
    }
}

/// The deployed stack's template: every call below is authorized against the policy of the calling function's
/// role in it, as IAM would on AWS.
pub const TEMPLATE: &str = include_str!("../../../../infra/template.yaml");
pub const ACCOUNT: &str = "123456789012";

/// Which function's credentials sign a call.
#[derive(Clone, Copy, Debug)]
pub enum Function {
    Launch,
    AddSteps,
    Check,
    Terminate,
    Reconciler,
    /// Someone else in the account, with full EMR access (clusters this project did not launch).
    Operator,
    /// A test principal with EMR Serverless access and `iam:PassRole` of [`SERVERLESS_JOB_ROLE`] to it (the
    /// port's own tests, and applications that are not this stack's).
    Serverless,
}

impl Function {
    fn access_key(self) -> &'static str {
        match self {
            Function::Launch => "AKIDLAUNCHCLUSTER",
            Function::AddSteps => "AKIDADDSTEPS",
            Function::Check => "AKIDCHECKSTATUS",
            Function::Terminate => "AKIDTERMINATECLUSTER",
            Function::Reconciler => "AKIDRECONCILER",
            Function::Operator => "AKIDOPERATOR",
            Function::Serverless => "AKIDSERVERLESS",
        }
    }
}

/// The job runtime role EMR Serverless job runs are given in the tests.
pub const SERVERLESS_JOB_ROLE: &str = "arn:aws:iam::123456789012:role/emr-serverless-job";

pub const FUNCTIONS: [(Function, &str); 5] = [
    (Function::Launch, "LaunchClusterFunction"),
    (Function::AddSteps, "AddStepsFunction"),
    (Function::Check, "CheckStatusFunction"),
    (Function::Terminate, "TerminateClusterFunction"),
    (Function::Reconciler, "ReconcilerFunction"),
];

/// The IAM of a stack deployed from `template` with `parameters`.
pub fn iam_of(template: &str, parameters: &[(&str, &str)]) -> Iam {
    // The regions of `stack()`.
    let mut ctx = StackContext::default()
        .with_parameter("EmrRegions", "eu-west-1,us-east-1")
        .with_parameter("ServerlessJobRoleName", "emr-serverless-job");
    for (k, v) in parameters {
        ctx = ctx.with_parameter(k, v);
    }
    let mut iam = Iam::new()
        .principal(
            Function::Operator.access_key(),
            "operator",
            vec![json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["elasticmapreduce:*", "iam:PassRole"], "Resource": "*"}
            ]})],
        )
        .unwrap()
        .principal(
            Function::Serverless.access_key(),
            "serverless-tester",
            vec![json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "emr-serverless:*", "Resource": "*"},
                {"Effect": "Allow", "Action": "iam:PassRole", "Resource": SERVERLESS_JOB_ROLE,
                 "Condition": {"StringEquals": {"iam:PassedToService": "emr-serverless.amazonaws.com"}}}
            ]})],
        )
        .unwrap();
    for (f, logical_id) in FUNCTIONS {
        iam = iam
            .principal_from_template(f.access_key(), template, &ctx, logical_id)
            .unwrap();
    }
    iam
}

pub async fn emulator(scenario: Value) -> EmulatorHandle {
    emulator_with(scenario, iam_of(TEMPLATE, &[])).await
}

pub async fn emulator_with(scenario: Value, iam: Iam) -> EmulatorHandle {
    Emulator::builder()
        .time_scale(0.0)
        .start_time(T0)
        .scenario(Scenario::from_json(&scenario.to_string()).unwrap())
        .iam(iam)
        .start()
        .await
        .unwrap()
}

/// Each function's clients, signed with its own role's credentials.
pub struct Stack {
    pub launch: Aws,
    pub add: Aws,
    pub check: Aws,
    pub terminate: Aws,
    pub operator: Aws,
}

impl Stack {
    pub fn add(&self) -> SdkEmr {
        self.add.emr(None)
    }
    pub fn check(&self) -> SdkEmr {
        self.check.emr(None)
    }
    pub fn terminate(&self) -> SdkEmr {
        self.terminate.emr(None)
    }
}

pub async fn client(handle: &EmulatorHandle, retries: bool, as_: Function) -> Aws {
    let retry = if retries {
        aws_config::retry::RetryConfig::standard()
    } else {
        aws_config::retry::RetryConfig::disabled()
    };
    client_retrying(handle, retry, as_).await
}

pub async fn client_retrying(
    handle: &EmulatorHandle,
    retry: aws_config::retry::RetryConfig,
    as_: Function,
) -> Aws {
    let loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new(
            as_.access_key(),
            "secret",
            None,
            None,
            "test",
        ))
        .endpoint_url(handle.endpoint_url())
        .retry_config(retry);
    Aws::from_config(loader.load().await)
}

pub async fn aws(handle: &EmulatorHandle, retries: bool) -> Stack {
    Stack {
        launch: client(handle, retries, Function::Launch).await,
        add: client(handle, retries, Function::AddSteps).await,
        check: client(handle, retries, Function::Check).await,
        terminate: client(handle, retries, Function::Terminate).await,
        operator: client(handle, retries, Function::Operator).await,
    }
}

/// The execution ARN Step Functions gives a run of `machine` in the stack (what the IAM conditions expect).
pub fn execution_arn(machine: &str, key: &str) -> String {
    format!("arn:aws:states:eu-west-1:{ACCOUNT}:execution:dataflow-runner-{machine}:{key}")
}

pub fn now(h: &EmulatorHandle) -> DateTime<Utc> {
    Utc.timestamp_millis_opt((h.now() * 1000.0) as i64).unwrap()
}

pub fn cluster_config(name: &str) -> Value {
    json!({
        "schema": "iglu:com.snowplowanalytics.dataflowrunner/ClusterConfig/avro/1-1-0",
        "data": {
            "name": name,
            "logUri": "s3://logs/",
            "region": "eu-west-1",
            "credentials": {"accessKeyId": "env", "secretAccessKey": "env"},
            "roles": {"jobflow": "EMR_EC2_DefaultRole", "service": "EMR_DefaultRole"},
            "ec2": {
                "amiVersion": "6.15.0",
                "keyName": "k",
                "location": {"vpc": {"subnetId": "subnet-1"}},
                "instances": {"master": {"type": "m5.xlarge"}, "core": {"type": "m5.xlarge", "count": 2}, "task": {"type": "m5.xlarge", "count": 0}}
            },
            "applications": ["Hadoop", "Spark"]
        }
    })
}

pub fn playbook(steps: &[(&str, &str, &[&str])]) -> Value {
    let steps: Vec<Value> = steps
        .iter()
        .map(|(name, action, args)| json!({"type": "CUSTOM_JAR", "name": name, "actionOnFailure": action, "jar": "command-runner.jar", "arguments": args}))
        .collect();
    json!({
        "schema": "iglu:com.dataflowrunner.serverless/PlaybookConfig/jsonschema/1-1-0",
        "data": {"region": "eu-west-1", "credentials": {"accessKeyId": "env", "secretAccessKey": "env"}, "steps": steps}
    })
}

pub fn launch_event(
    cluster: Value,
    playbook: Option<Value>,
    lifecycle: &str,
    key: &str,
) -> LaunchEvent {
    let machine = if lifecycle == "transient" {
        "run-transient"
    } else {
        "up"
    };
    let mut e = json!({"cluster": cluster, "lifecycle": lifecycle, "run": {"key": key, "attempt": 1, "executionArn": execution_arn(machine, key)}});
    if let Some(p) = playbook {
        e["playbook"] = p;
    }
    decode("launch-cluster", e).unwrap()
}

pub async fn launch(
    aws: &Stack,
    h: &EmulatorHandle,
    e: &LaunchEvent,
) -> Result<dfr_lambda::launch::LaunchOutput, Error> {
    launch_cluster(
        e,
        |r| aws.launch.emr(r),
        &NoS3,
        &SystemClock,
        &stack(),
        now(h),
    )
    .await
}

/// The stack: launching in its own region and one more; no launch still in flight after an execution ends (the
/// tests run the functions one after the other).
pub fn stack() -> Deployment {
    Deployment {
        regions: Regions::new(&["eu-west-1", "us-east-1"]),
        launch_window: std::time::Duration::ZERO,
    }
}

/// terminate-cluster as the stack runs it.
pub async fn end(
    aws: &Stack,
    h: &EmulatorHandle,
    e: &TerminateEvent,
) -> Result<dfr_lambda::terminate::TerminateOutput, Error> {
    terminate(
        e,
        |r| aws.terminate.emr(r),
        |r| aws.terminate.emr_serverless(r),
        &Noted::default(),
        &NoPrices,
        &stack(),
        now(h),
    )
    .await
}

/// The unfinished runs terminate-cluster notes, in memory (the wait table itself runs in tests/statemachine).
#[derive(Default)]
pub struct Noted(pub std::sync::Mutex<Vec<dfr_lambda::unfinished::UnfinishedRun>>);

impl dfr_lambda::unfinished::UnfinishedRuns for Noted {
    async fn note(
        &self,
        run: &dfr_lambda::unfinished::UnfinishedRun,
        _: DateTime<Utc>,
    ) -> Result<(), Error> {
        self.0.lock().unwrap().push(run.clone());
        Ok(())
    }
    async fn unrecorded_of(
        &self,
        _: &str,
    ) -> Result<Option<dfr_lambda::unfinished::UnfinishedRun>, Error> {
        unreachable!("terminate-cluster only notes")
    }
    async fn unrecorded(&self) -> Result<Vec<dfr_lambda::unfinished::UnfinishedRun>, Error> {
        unreachable!("terminate-cluster only notes")
    }
    async fn record(
        &self,
        _: &dfr_lambda::unfinished::UnfinishedRun,
        _: &dfr_core::cost::RunCost,
        _: DateTime<Utc>,
    ) -> Result<bool, Error> {
        unreachable!("terminate-cluster only notes")
    }
}

impl dfr_lambda::serverless::run_end::ServerlessRuns for Noted {
    async fn note_application(
        &self,
        _: &dfr_lambda::serverless::run_end::RunNote,
        _: DateTime<Utc>,
    ) -> Result<(), Error> {
        Ok(())
    }
    async fn application_noted(&self, _: &str) -> Result<bool, Error> {
        Ok(false)
    }
    async fn record_application(
        &self,
        _: &dfr_lambda::serverless::run_end::RunNote,
        _: &dfr_core::serverless::status::ServerlessRunCost,
        _: DateTime<Utc>,
    ) -> Result<bool, Error> {
        Ok(true)
    }
}

/// Launches a persistent cluster for run `key`; returns its id.
pub async fn up(aws: &Stack, h: &EmulatorHandle, name: &str, key: &str) -> String {
    let event = launch_event(cluster_config(name), None, "persistent", key);
    launch(aws, h, &event).await.unwrap().cluster_id
}

/// Test-only helpers over the same port.
pub trait TestHelpers {
    async fn describe_cluster_for_test(&self, id: &str) -> Vec<(String, String)>;
    async fn launch_unmanaged_for_test(&self, name: &str) -> String;
    /// A cluster launched with exactly `tags` (for example another stack's, which a config could not set).
    async fn launch_tagged_for_test(&self, name: &str, tags: &[(&str, &str)]) -> String;
}

impl TestHelpers for SdkEmr {
    async fn describe_cluster_for_test(&self, id: &str) -> Vec<(String, String)> {
        use dfr_lambda::emr::Emr;
        self.describe_cluster(id).await.unwrap().tags
    }

    async fn launch_unmanaged_for_test(&self, name: &str) -> String {
        self.launch_tagged_for_test(name, &[]).await
    }

    async fn launch_tagged_for_test(&self, name: &str, tags: &[(&str, &str)]) -> String {
        use dfr_lambda::emr::Emr;
        let text = cluster_config(name).to_string();
        // What a function gives a template: a clock, and an execution input's (here empty) env and files.
        let (env_vars, files) = (BTreeMap::new(), BTreeMap::new());
        let env = dfr_lambda::source::ExecutionEnv::new(&SystemClock, &env_vars, &files);
        let c = dfr_core::load::load_cluster("c.json", &text, &BTreeMap::new(), &env).unwrap();
        let mut request =
            dfr_core::plan::run_job_flow(&c.config, dfr_core::plan::Lifecycle::Persistent, None);
        request
            .tags
            .extend(tags.iter().map(|(key, value)| dfr_core::plan::EmrTag {
                key: key.to_string(),
                value: value.to_string(),
            }));
        self.run_job_flow(&request).await.unwrap()
    }
}

/// `template` without the policy statement `sid` (the lines of its list item).
pub fn without_statement(template: &str, sid: &str) -> String {
    let lines: Vec<&str> = template.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim() == format!("- Sid: {sid}"))
        .unwrap_or_else(|| panic!("no statement {sid} in the template"));
    let indent = lines[start].len() - lines[start].trim_start().len();
    let end = (start + 1..lines.len())
        .find(|&i| {
            let l = lines[i];
            !l.trim().is_empty() && l.len() - l.trim_start().len() <= indent
        })
        .unwrap_or(lines.len());
    let mut out: Vec<&str> = lines[..start].to_vec();
    out.extend(&lines[end..]);
    out.join("\n")
}

/// Prices that cannot be read: a check then costs its run in instance-hours only (`pricesUnavailable`).
pub struct NoPrices;

impl dfr_lambda::prices::PriceSource for NoPrices {
    async fn price_book(
        &self,
        _region: Option<&str>,
        _usage: &dfr_lambda::emr::ClusterUsage,
        _now: chrono::DateTime<chrono::Utc>,
    ) -> Result<dfr_core::cost::PriceBook, String> {
        Err("no prices in this test".into())
    }
}
