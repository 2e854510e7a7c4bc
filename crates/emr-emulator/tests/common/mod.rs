//! Shared helpers: a real aws-sdk-emr client pointed at an emulator, and a raw HTTP client.
#![allow(dead_code)]

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_sdk_emr::config::retry::RetryConfig;
use aws_sdk_emr::config::{Credentials, Region};
use aws_sdk_emr::types::{
    ActionOnFailure, Cluster, ClusterState, HadoopJarStepConfig, JobFlowInstancesConfig,
    StepConfig, StepSummary,
};
use aws_sdk_emr::Client;
use emr_emulator::{Emulator, EmulatorBuilder, EmulatorHandle};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A fixed virtual start so timestamps are exact.
pub const T0: f64 = 1_700_000_000.0;

/// Frozen clock (time moves only through `advance`), default durations.
pub fn frozen() -> EmulatorBuilder {
    Emulator::builder().time_scale(0.0).start_time(T0)
}

pub async fn client_with_retry(handle: &EmulatorHandle, retry: RetryConfig) -> Client {
    client_with(handle, "AKIDTEST", retry).await
}

/// A client without retries whose calls are signed with `access_key_id`.
pub async fn client_as(handle: &EmulatorHandle, access_key_id: &str) -> Client {
    client_with(handle, access_key_id, RetryConfig::disabled()).await
}

async fn client_with(handle: &EmulatorHandle, access_key_id: &str, retry: RetryConfig) -> Client {
    Client::new(&sdk_config(handle, access_key_id, retry).await)
}

/// The configuration of any SDK client of the emulator: eu-west-1, calls signed with `access_key_id`.
pub async fn sdk_config(
    handle: &EmulatorHandle,
    access_key_id: &str,
    retry: RetryConfig,
) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new(
            access_key_id,
            "test-secret",
            None,
            None,
            "static-test",
        ))
        .endpoint_url(handle.endpoint_url())
        .retry_config(retry)
        .load()
        .await
}

/// A client with SDK retries disabled, so every emulator answer is seen as it is.
pub async fn client(handle: &EmulatorHandle) -> Client {
    client_with_retry(handle, RetryConfig::disabled()).await
}

pub async fn start(builder: EmulatorBuilder) -> (EmulatorHandle, Client) {
    let handle = builder.start().await.expect("emulator starts");
    let client = client(&handle).await;
    (handle, client)
}

pub fn step(name: &str, action: ActionOnFailure, args: &[&str]) -> StepConfig {
    let jar = HadoopJarStepConfig::builder()
        .jar("command-runner.jar")
        .set_args(Some(args.iter().map(|a| a.to_string()).collect()))
        .build();
    StepConfig::builder()
        .name(name)
        .action_on_failure(action)
        .hadoop_jar_step(jar)
        .build()
}

pub fn instances(keep_alive: bool) -> JobFlowInstancesConfig {
    JobFlowInstancesConfig::builder()
        .master_instance_type("m5.xlarge")
        .slave_instance_type("m5.xlarge")
        .instance_count(3)
        .keep_job_flow_alive_when_no_steps(keep_alive)
        .build()
}

pub async fn run(client: &Client, name: &str, keep_alive: bool, steps: Vec<StepConfig>) -> String {
    client
        .run_job_flow()
        .name(name)
        .release_label("emr-6.15.0")
        .log_uri("s3://logs-bucket/emr/")
        .instances(instances(keep_alive))
        .set_steps(Some(steps))
        .send()
        .await
        .expect("RunJobFlow")
        .job_flow_id
        .expect("JobFlowId")
}

pub async fn describe(client: &Client, id: &str) -> Cluster {
    client
        .describe_cluster()
        .cluster_id(id)
        .send()
        .await
        .expect("DescribeCluster")
        .cluster
        .expect("Cluster")
}

pub async fn state(client: &Client, id: &str) -> ClusterState {
    describe(client, id).await.status.unwrap().state.unwrap()
}

pub fn reason_code(c: &Cluster) -> String {
    let status = c.status.as_ref().unwrap();
    status
        .state_change_reason
        .as_ref()
        .and_then(|r| r.code.as_ref())
        .map(|c| c.as_str().to_string())
        .unwrap_or_default()
}

/// Every step, newest first, following Markers.
pub async fn all_steps(client: &Client, id: &str) -> Vec<StepSummary> {
    let mut out = Vec::new();
    let mut marker = None;
    loop {
        let page = client
            .list_steps()
            .cluster_id(id)
            .set_marker(marker)
            .send()
            .await
            .expect("ListSteps");
        out.extend(page.steps.unwrap_or_default());
        marker = page.marker;
        if marker.is_none() {
            return out;
        }
    }
}

/// Step states in submission order.
pub async fn step_states(client: &Client, id: &str) -> Vec<String> {
    let mut steps = all_steps(client, id).await;
    steps.reverse();
    steps
        .iter()
        .map(|s| {
            s.status
                .as_ref()
                .unwrap()
                .state
                .as_ref()
                .unwrap()
                .as_str()
                .to_string()
        })
        .collect()
}

pub fn secs(t: &aws_sdk_emr::primitives::DateTime) -> f64 {
    t.as_secs_f64()
}

pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 0.01
}

/// A raw HTTP/1.1 exchange; returns (status, body). `None` status when no response came.
pub async fn raw(
    handle: &EmulatorHandle,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (Option<u16>, String) {
    let mut stream = TcpStream::connect(handle.local_addr())
        .await
        .expect("connect");
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut response)).await;
    let text = String::from_utf8_lossy(&response).to_string();
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok());
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// An EMR call over raw HTTP.
pub async fn emr_raw(handle: &EmulatorHandle, op: &str, body: &str) -> (Option<u16>, Value) {
    let target = format!("ElasticMapReduce.{op}");
    let headers = [
        ("Content-Type", "application/x-amz-json-1.1"),
        ("X-Amz-Target", target.as_str()),
    ];
    let (status, text) = raw(handle, "POST", "/", &headers, body).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// An admin call; returns (status, JSON body).
pub async fn admin(handle: &EmulatorHandle, method: &str, path: &str, body: &str) -> (u16, Value) {
    let (status, text) = raw(
        handle,
        method,
        path,
        &[("Content-Type", "application/json")],
        body,
    )
    .await;
    (
        status.expect("admin answers"),
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

/// Runs the `emr-emulator` binary with `args`, GETs `admin_path` from the endpoint it prints, stops it, and returns
/// the first line it printed and the raw HTTP answer (empty when it printed no endpoint).
#[allow(dead_code)]
pub async fn binary_get(args: &[&str], admin_path: &str) -> (String, String) {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut child = Command::new(env!("CARGO_BIN_EXE_emr-emulator"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn emr-emulator");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let mut answer = String::new();
    if let Some(addr) = line
        .trim()
        .strip_prefix("emr-emulator listening on http://")
    {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {admin_path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        stream.read_to_string(&mut answer).await.unwrap();
    }
    let _ = child.kill();
    let _ = child.wait();
    (line, answer)
}

/// The SigV4 `Authorization` header of a call signed by `access_key_id` in `region` (the emulator reads the credential
/// scope only).
pub fn signed_by(access_key_id: &str, region: &str, service: &str) -> String {
    format!("AWS4-HMAC-SHA256 Credential={access_key_id}/20231114/{region}/{service}/aws4_request, SignedHeaders=host, Signature=0")
}

/// A Price List Query API call (`AWSPriceListService.<op>`) over raw HTTP, signed by `access_key_id`.
pub async fn pricing_raw(
    handle: &EmulatorHandle,
    access_key_id: &str,
    body: &Value,
) -> (Option<u16>, Value) {
    let auth = signed_by(access_key_id, "us-east-1", "pricing");
    let headers = [
        ("Content-Type", "application/x-amz-json-1.1"),
        ("X-Amz-Target", "AWSPriceListService.GetProducts"),
        ("Authorization", auth.as_str()),
    ];
    let (status, text) = raw(handle, "POST", "/", &headers, &body.to_string()).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// An EC2 Query call over raw HTTP in `region`, signed by `access_key_id`: (status, XML text).
pub async fn ec2_raw(
    handle: &EmulatorHandle,
    access_key_id: &str,
    region: &str,
    form: &str,
) -> (Option<u16>, String) {
    let auth = signed_by(access_key_id, region, "ec2");
    let headers = [
        (
            "Content-Type",
            "application/x-www-form-urlencoded; charset=utf-8",
        ),
        ("Authorization", auth.as_str()),
    ];
    raw(handle, "POST", "/", &headers, form).await
}

/// The texts of every `<name>` element of an XML answer, in order.
pub fn xml_all(xml: &str, name: &str) -> Vec<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    xml.split(&open)
        .skip(1)
        .filter_map(|rest| rest.split_once(&close).map(|(v, _)| v.to_string()))
        .collect()
}
