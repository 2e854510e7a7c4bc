//! EMR Serverless's operations (REST-JSON): routing of method and path to an operation, validation, effects on
//! the model, responses. The request's path and query parameters are merged into its JSON body before it gets
//! here (`applicationId`, `jobRunId`, `resourceArn`, `states`, `maxResults`…), so a call is one JSON document like
//! an EMR call, recorded, rate-limited and authorized the same way.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::{
    application_arn, AppState, Application, JobOutcome, JobPlan, JobRun, JobState,
    ServerlessSettings,
};
use crate::ops::ApiError;
use crate::scenario::{marker, marker_duration, MARKER_MESSAGE, MARKER_OUTCOME};
use crate::state::State;

/// The operations served, as named in counters, faults and IAM actions (`emr-serverless:<Operation>`).
pub const OPERATIONS: [&str; 13] = [
    "CreateApplication",
    "GetApplication",
    "ListApplications",
    "StartApplication",
    "StopApplication",
    "DeleteApplication",
    "StartJobRun",
    "GetJobRun",
    "ListJobRuns",
    "CancelJobRun",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
];

const PAGE_SIZE: usize = 50;
const DEFAULT_TIMEOUT_MINUTES: f64 = 720.0;
const DEFAULT_IDLE_MINUTES: f64 = 15.0;

/// The operation a method and path name, with the path's parameters.
pub fn route(method: &str, path: &str) -> Option<(&'static str, Vec<(&'static str, String)>)> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let p = |i: usize| percent_decode(parts[i]);
    let op = match (method, parts.as_slice()) {
        ("POST", ["applications"]) => ("CreateApplication", vec![]),
        ("GET", ["applications"]) => ("ListApplications", vec![]),
        ("GET", ["applications", _]) => ("GetApplication", vec![("applicationId", p(1))]),
        ("DELETE", ["applications", _]) => ("DeleteApplication", vec![("applicationId", p(1))]),
        ("POST", ["applications", _, "start"]) => {
            ("StartApplication", vec![("applicationId", p(1))])
        }
        ("POST", ["applications", _, "stop"]) => ("StopApplication", vec![("applicationId", p(1))]),
        ("POST", ["applications", _, "jobruns"]) => ("StartJobRun", vec![("applicationId", p(1))]),
        ("GET", ["applications", _, "jobruns"]) => ("ListJobRuns", vec![("applicationId", p(1))]),
        ("GET", ["applications", _, "jobruns", _]) => (
            "GetJobRun",
            vec![("applicationId", p(1)), ("jobRunId", p(3))],
        ),
        ("DELETE", ["applications", _, "jobruns", _]) => (
            "CancelJobRun",
            vec![("applicationId", p(1)), ("jobRunId", p(3))],
        ),
        ("POST", ["tags", _]) => ("TagResource", vec![("resourceArn", p(1))]),
        ("GET", ["tags", _]) => ("ListTagsForResource", vec![("resourceArn", p(1))]),
        ("DELETE", ["tags", _]) => ("UntagResource", vec![("resourceArn", p(1))]),
        _ => return None,
    };
    Some(op)
}

/// Whether a path is EMR Serverless's (rather than EMR's `POST /` or the admin API).
pub fn is_serverless_path(path: &str) -> bool {
    path == "/applications" || path.starts_with("/applications/") || path.starts_with("/tags/")
}

/// Query parameters that repeat (`states=A&states=B`) become lists.
const LIST_PARAMETERS: [&str; 2] = ["states", "tagKeys"];

/// The JSON document an operation reads: the body's members, the path's parameters and the query's.
pub fn merged_body(body: &[u8], path_params: &[(&str, String)], query: &str) -> Vec<u8> {
    let mut doc = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => m,
            // Not an object: left to the operation's SerializationException.
            _ => return body.to_vec(),
        }
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (percent_decode(k), percent_decode(v));
        if LIST_PARAMETERS.contains(&k.as_str()) {
            let list = doc.entry(k).or_insert_with(|| json!([]));
            if let Some(items) = list.as_array_mut() {
                items.push(json!(v));
            }
        } else {
            doc.insert(k, json!(v));
        }
    }
    for (k, v) in path_params {
        doc.insert(k.to_string(), json!(v));
    }
    serde_json::to_vec(&Value::Object(doc)).unwrap_or_default()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn not_found(message: impl Into<String>) -> ApiError {
    ApiError::new(404, "ResourceNotFoundException", message)
}

fn conflict(message: impl Into<String>) -> ApiError {
    ApiError::new(409, "ConflictException", message)
}

fn str_of<'a>(input: &'a Value, key: &str) -> Option<&'a str> {
    input.get(key).and_then(Value::as_str)
}

fn required<'a>(input: &'a Value, key: &str) -> Result<&'a str, ApiError> {
    str_of(input, key)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::validation(format!("{key} must not be null")))
}

fn number_of(input: &Value, key: &str) -> Option<f64> {
    match input.get(key)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

pub fn tags_of(input: &Value) -> Result<BTreeMap<String, String>, ApiError> {
    match input.get("tags") {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v.as_str() {
                Some(v) => Ok((k.clone(), v.to_string())),
                None => Err(ApiError::validation(format!("tags.{k} must be a string"))),
            })
            .collect(),
        Some(_) => Err(ApiError::validation("tags must be a map")),
    }
}

/// The request as idempotency compares it: everything but the client token, each object's members in key order
/// (the SDKs send a map such as `tags` in any order: the same request may come with its members in another order).
fn fingerprint(input: &Value) -> String {
    fn canonical(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut members: Vec<(&String, &Value)> = m.iter().collect();
                members.sort_by(|a, b| a.0.cmp(b.0));
                Value::Object(
                    members
                        .into_iter()
                        .map(|(k, v)| (k.clone(), canonical(v)))
                        .collect(),
                )
            }
            Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
            other => other.clone(),
        }
    }
    let mut v = canonical(input);
    if let Some(m) = v.as_object_mut() {
        m.retain(|k, _| k != "clientToken");
    }
    v.to_string()
}

fn settings(state: &State) -> ServerlessSettings {
    state.scenario.scenario.serverless
}

/// Execute one EMR Serverless operation at `now` (everything due before has been applied).
pub fn execute(
    state: &mut State,
    op: &str,
    input: Value,
    region: &str,
    now: f64,
) -> Result<Value, ApiError> {
    let input = if input.is_null() { json!({}) } else { input };
    match op {
        "CreateApplication" => create_application(state, &input, region, now),
        "GetApplication" => {
            let i = find_app(state, &input, region)?;
            Ok(json!({ "application": application_view(&state.serverless.apps[i]) }))
        }
        "ListApplications" => list_applications(state, &input, region),
        "StartApplication" => start_application(state, &input, region, now),
        "StopApplication" => stop_application(state, &input, region, now),
        "DeleteApplication" => delete_application(state, &input, region, now),
        "StartJobRun" => start_job_run(state, &input, region, now),
        "GetJobRun" => {
            let (_, j) = find_job(state, &input, region)?;
            Ok(json!({ "jobRun": job_run_view(state, j) }))
        }
        "ListJobRuns" => list_job_runs(state, &input, region),
        "CancelJobRun" => cancel_job_run(state, &input, region, now),
        "TagResource" => {
            let tags = tags_of(&input)?;
            let target = find_tagged(state, &input, region)?;
            tags_mut(state, target).extend(tags);
            Ok(json!({}))
        }
        "UntagResource" => {
            let target = find_tagged(state, &input, region)?;
            let keys: Vec<String> = input
                .get("tagKeys")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|k| k.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            let tags = tags_mut(state, target);
            for k in keys {
                tags.remove(&k);
            }
            Ok(json!({}))
        }
        "ListTagsForResource" => {
            let target = find_tagged(state, &input, region)?;
            Ok(json!({ "tags": tags_mut(state, target).clone() }))
        }
        other => Err(ApiError::new(
            400,
            "UnknownOperationException",
            format!("Unknown operation: {other}"),
        )),
    }
}

pub fn find_app(state: &State, input: &Value, region: &str) -> Result<usize, ApiError> {
    let id = required(input, "applicationId")?;
    state
        .serverless
        .app_index(id, region)
        .ok_or_else(|| not_found(format!("Application {id} does not exist")))
}

fn find_job(state: &State, input: &Value, region: &str) -> Result<(usize, usize), ApiError> {
    let app = find_app(state, input, region)?;
    let id = required(input, "jobRunId")?;
    let job = state
        .serverless
        .job_index(app, id)
        .ok_or_else(|| not_found(format!("Job run {id} does not exist")))?;
    Ok((app, job))
}

/// What a tag operation's `resourceArn` names: an application, or a job run (`…/jobruns/<id>`).
#[derive(Clone, Copy)]
pub enum Tagged {
    App(usize),
    Job(usize),
}

/// The application id and job run id (if any) an EMR Serverless ARN names.
pub fn parse_arn(arn: &str) -> Option<(&str, Option<&str>)> {
    let (_, path) = arn.split_once(":/applications/")?;
    match path.split_once("/jobruns/") {
        Some((app, job)) => Some((app, Some(job))),
        None => Some((path, None)),
    }
}

pub fn find_tagged(state: &State, input: &Value, region: &str) -> Result<Tagged, ApiError> {
    let arn = required(input, "resourceArn")?;
    let missing = || not_found(format!("Resource {arn} does not exist"));
    let (app_id, job_id) =
        parse_arn(arn).ok_or_else(|| ApiError::validation(format!("Invalid resourceArn {arn}")))?;
    let app = state
        .serverless
        .app_index(app_id, region)
        .ok_or_else(missing)?;
    match job_id {
        None => Ok(Tagged::App(app)),
        Some(id) => state
            .serverless
            .job_index(app, id)
            .map(Tagged::Job)
            .ok_or_else(missing),
    }
}

fn tags_mut(state: &mut State, target: Tagged) -> &mut BTreeMap<String, String> {
    match target {
        Tagged::App(i) => &mut state.serverless.apps[i].tags,
        Tagged::Job(i) => &mut state.serverless.jobs[i].tags,
    }
}

/// `emr-7.3.0` → (7, 3, 0).
fn release_version(label: &str) -> Option<(u32, u32, u32)> {
    let mut parts = label.strip_prefix("emr-")?.splitn(3, '.');
    let mut n = || parts.next()?.split('-').next()?.parse().ok();
    Some((n()?, n()?, n().unwrap_or(0)))
}

/// vCPUs of `initialCapacity`'s workers (`{"DRIVER": {"workerCount", "workerConfiguration": {"cpu": "4vCPU"}}}`).
fn initial_vcpu(input: &Value) -> f64 {
    let Some(capacity) = input.get("initialCapacity").and_then(Value::as_object) else {
        return 0.0;
    };
    capacity
        .values()
        .map(|c| {
            let count = number_of(c, "workerCount").unwrap_or(0.0);
            let cpu = c
                .pointer("/workerConfiguration/cpu")
                .and_then(Value::as_str)
                .map_or(0.0, leading_number);
            count * cpu
        })
        .sum()
}

/// `"4vCPU"`, `"4 vCPU"`, `"14g"`, `"20GB"` → 4, 4, 14, 20.
fn leading_number(s: &str) -> f64 {
    let s = s.trim();
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    s[..end].parse().unwrap_or(0.0)
}

/// A memory or disk size in GB: `14g`, `14G`, `14gb`, `14336m`, `1t`.
fn size_gb(s: &str) -> f64 {
    let n = leading_number(s);
    let unit = s
        .trim()
        .trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
    match unit.to_ascii_lowercase().trim() {
        "m" | "mb" => n / 1024.0,
        "t" | "tb" => n * 1024.0,
        _ => n,
    }
}

fn create_application(
    state: &mut State,
    input: &Value,
    region: &str,
    now: f64,
) -> Result<Value, ApiError> {
    let release_label = required(input, "releaseLabel")?.to_string();
    let kind = required(input, "type")?.to_ascii_uppercase();
    if !matches!(kind.as_str(), "SPARK" | "HIVE") {
        return Err(ApiError::validation(format!(
            "Unsupported application type {kind}: expected SPARK or HIVE"
        )));
    }
    let tags = tags_of(input)?;
    let token = str_of(input, "clientToken").unwrap_or_default().to_string();
    let print = fingerprint(input);
    match state.serverless.app_for_token(region, &token, &print) {
        Ok(Some(i)) => return Ok(created_app(&state.serverless.apps[i])),
        Ok(None) => {}
        Err(()) => {
            return Err(conflict(format!(
                "clientToken {token} was already used with a different request"
            )))
        }
    }
    let auto_start = input
        .pointer("/autoStartConfiguration/enabled")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let auto_stop = input
        .pointer("/autoStopConfiguration/enabled")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let idle = input
        .get("autoStopConfiguration")
        .and_then(|c| number_of(c, "idleTimeoutMinutes"))
        .unwrap_or(DEFAULT_IDLE_MINUTES);
    // Job queuing is on by default from release 7.3.0 (15 concurrent runs, 6 hours in the queue).
    let scheduler = match input.get("schedulerConfiguration") {
        Some(c) if c.is_object() => Some((
            number_of(c, "maxConcurrentRuns").unwrap_or(15.0) as u32,
            number_of(c, "queueTimeoutMinutes").unwrap_or(360.0),
        )),
        _ if release_version(&release_label) >= Some((7, 3, 0)) => Some((15, 360.0)),
        _ => None,
    };
    let id = state.take_serverless_app_id();
    let mut request = input.clone();
    if let Some(m) = request.as_object_mut() {
        for k in ["clientToken", "tags", "name", "releaseLabel", "type"] {
            m.remove(k);
        }
    }
    let app = Application {
        arn: application_arn(region, &id),
        id,
        name: str_of(input, "name").map(String::from),
        region: region.to_string(),
        release_label,
        kind,
        state: AppState::Creating,
        state_details: None,
        created_at: now,
        updated_at: now,
        tags,
        auto_start,
        auto_stop,
        idle_timeout_minutes: idle,
        scheduler,
        initial_vcpu: initial_vcpu(input),
        request,
        next: None,
    };
    let s = settings(state);
    let i = state.serverless.insert_app(app, now, &s);
    state
        .serverless
        .remember_app_token(region, &token, print, i);
    Ok(created_app(&state.serverless.apps[i]))
}

fn created_app(a: &Application) -> Value {
    json!({ "applicationId": a.id, "name": a.name, "arn": a.arn })
}

fn application_view(a: &Application) -> Value {
    let mut v = json!({
        "applicationId": a.id,
        "arn": a.arn,
        "releaseLabel": a.release_label,
        "type": a.kind,
        "state": a.state.as_str(),
        "createdAt": a.created_at,
        "updatedAt": a.updated_at,
        "tags": a.tags,
        "autoStartConfiguration": {"enabled": a.auto_start},
        "autoStopConfiguration": {"enabled": a.auto_stop, "idleTimeoutMinutes": a.idle_timeout_minutes as i64},
        "architecture": str_of(&a.request, "architecture").unwrap_or("X86_64"),
    });
    if let Some(name) = &a.name {
        v["name"] = json!(name);
    }
    if let Some(d) = &a.state_details {
        v["stateDetails"] = json!(d);
    }
    if let Some((runs, minutes)) = a.scheduler {
        v["schedulerConfiguration"] =
            json!({"maxConcurrentRuns": runs, "queueTimeoutMinutes": minutes as i64});
    }
    for k in [
        "initialCapacity",
        "maximumCapacity",
        "networkConfiguration",
        "imageConfiguration",
        "workerTypeSpecifications",
        "runtimeConfiguration",
        "monitoringConfiguration",
    ] {
        if let Some(x) = a.request.get(k) {
            v[k] = x.clone();
        }
    }
    v
}

fn application_summary(a: &Application) -> Value {
    let mut v = json!({
        "id": a.id,
        "arn": a.arn,
        "releaseLabel": a.release_label,
        "type": a.kind,
        "state": a.state.as_str(),
        "createdAt": a.created_at,
        "updatedAt": a.updated_at,
        "architecture": str_of(&a.request, "architecture").unwrap_or("X86_64"),
    });
    if let Some(name) = &a.name {
        v["name"] = json!(name);
    }
    v
}

/// One page of `items` from `nextToken` (an offset), `maxResults` (1 to 50) at a time.
fn page(items: Vec<Value>, input: &Value, key: &str) -> Result<Value, ApiError> {
    let size = number_of(input, "maxResults").unwrap_or(PAGE_SIZE as f64);
    if !(1.0..=PAGE_SIZE as f64).contains(&size) {
        return Err(ApiError::validation("maxResults must be between 1 and 50"));
    }
    let from = match str_of(input, "nextToken") {
        None => 0,
        Some(t) => t
            .parse::<usize>()
            .map_err(|_| ApiError::validation("Invalid nextToken"))?,
    };
    let to = (from + size as usize).min(items.len());
    let mut out = json!({ key: items.get(from..to).unwrap_or_default() });
    if to < items.len() {
        out["nextToken"] = json!(to.to_string());
    }
    Ok(out)
}

fn states_filter<T>(input: &Value, parse: fn(&str) -> Option<T>) -> Result<Vec<T>, ApiError> {
    input
        .get("states")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|s| {
                    let s = s.as_str().unwrap_or_default();
                    parse(s).ok_or_else(|| ApiError::validation(format!("Invalid state {s}")))
                })
                .collect()
        })
        .unwrap_or_else(|| Ok(Vec::new()))
}

fn list_applications(state: &State, input: &Value, region: &str) -> Result<Value, ApiError> {
    let states = states_filter(input, AppState::parse)?;
    let items = state
        .serverless
        .apps
        .iter()
        .rev()
        .filter(|a| a.region == region && (states.is_empty() || states.contains(&a.state)))
        .map(application_summary)
        .collect();
    page(items, input, "applications")
}

fn invalid_state(a: &Application, what: &str) -> ApiError {
    ApiError::validation(format!(
        "Application {} is in {} state and cannot be {what}",
        a.id,
        a.state.as_str()
    ))
}

fn start_application(
    state: &mut State,
    input: &Value,
    region: &str,
    now: f64,
) -> Result<Value, ApiError> {
    let i = find_app(state, input, region)?;
    let s = settings(state);
    let app = &state.serverless.apps[i];
    match app.state {
        AppState::Starting | AppState::Started => return Ok(json!({})),
        AppState::Created | AppState::Stopped => {}
        _ => return Err(invalid_state(app, "started")),
    }
    let needed = app.initial_vcpu;
    if state.serverless.vcpus_in_use() + needed > s.max_concurrent_vcpus {
        return Err(ApiError::new(
            402,
            "ServiceQuotaExceededException",
            format!(
                "Starting application {} needs {needed} vCPUs of initial capacity, beyond the account's quota of {} concurrent vCPUs",
                app.id, s.max_concurrent_vcpus
            ),
        ));
    }
    state.serverless.start_app(i, now, &s);
    state.serverless.wake(now, &s);
    Ok(json!({}))
}

fn stop_application(
    state: &mut State,
    input: &Value,
    region: &str,
    now: f64,
) -> Result<Value, ApiError> {
    let i = find_app(state, input, region)?;
    let s = settings(state);
    let app = &state.serverless.apps[i];
    match app.state {
        AppState::Stopping | AppState::Stopped | AppState::Created => return Ok(json!({})),
        AppState::Starting | AppState::Started => {}
        _ => return Err(invalid_state(app, "stopped")),
    }
    if state.serverless.active_jobs(i) > 0 {
        return Err(ApiError::validation(format!(
            "Application {} has job runs that have not ended: cancel them or wait for them before stopping it",
            app.id
        )));
    }
    state.serverless.stop_app(i, now, &s);
    Ok(json!({}))
}

fn delete_application(
    state: &mut State,
    input: &Value,
    region: &str,
    now: f64,
) -> Result<Value, ApiError> {
    let i = find_app(state, input, region)?;
    let s = settings(state);
    let app = &state.serverless.apps[i];
    if !matches!(app.state, AppState::Created | AppState::Stopped) {
        return Err(invalid_state(app, "deleted (stop it first)"));
    }
    state.serverless.terminate_app(i, now, &s);
    Ok(json!({}))
}

/// What `sparkSubmitParameters` ask (`--conf k=v`), with EMR Serverless's defaults: a driver and 3 executors of
/// 4 vCPUs, 14 GB (+10 % overhead, rounded up) and 20 GB of disk each.
fn resources(parameters: &str) -> (f64, f64, f64, f64) {
    let mut conf: BTreeMap<&str, &str> = BTreeMap::new();
    let tokens: Vec<&str> = parameters.split_whitespace().collect();
    for pair in tokens.windows(2) {
        if pair[0] == "--conf" {
            if let Some((k, v)) = pair[1].split_once('=') {
                conf.insert(k, v);
            }
        }
    }
    let get =
        |k: &str, default: f64, parse: fn(&str) -> f64| conf.get(k).map_or(default, |v| parse(v));
    let driver_cpu = get("spark.driver.cores", 4.0, leading_number);
    let executor_cpu = get("spark.executor.cores", 4.0, leading_number);
    let executors = get("spark.executor.instances", 3.0, leading_number);
    let worker_memory = |gb: f64| (gb * 1.1).ceil();
    let driver_memory = worker_memory(get("spark.driver.memory", 14.0, size_gb));
    let executor_memory = worker_memory(get("spark.executor.memory", 14.0, size_gb));
    let driver_disk = get("spark.emr-serverless.driver.disk", 20.0, size_gb);
    let executor_disk = get("spark.emr-serverless.executor.disk", 20.0, size_gb);
    (
        driver_cpu + executors * executor_cpu,
        driver_memory + executors * executor_memory,
        driver_disk + executors * executor_disk,
        1.0 + executors,
    )
}

fn start_job_run(
    state: &mut State,
    input: &Value,
    region: &str,
    now: f64,
) -> Result<Value, ApiError> {
    let app = find_app(state, input, region)?;
    let execution_role = required(input, "executionRoleArn")?.to_string();
    let driver = input
        .get("jobDriver")
        .and_then(Value::as_object)
        .ok_or_else(|| ApiError::validation("jobDriver must not be null"))?;
    let spark = driver.get("sparkSubmit");
    if driver.len() != 1 || !(spark.is_some() || driver.contains_key("hive")) {
        return Err(ApiError::validation(
            "jobDriver must set exactly one of sparkSubmit and hive",
        ));
    }
    if spark.is_some_and(|s| str_of(s, "entryPoint").is_none()) {
        return Err(ApiError::validation(
            "jobDriver.sparkSubmit.entryPoint must not be null",
        ));
    }
    let tags = tags_of(input)?;
    let timeout = number_of(input, "executionTimeoutMinutes").unwrap_or(DEFAULT_TIMEOUT_MINUTES);
    let args: Vec<String> = spark
        .and_then(|s| s.get("entryPointArguments"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let outcome = match marker(&args, MARKER_OUTCOME) {
        None => None,
        Some(v) if v.eq_ignore_ascii_case("FAILED") => Some(JobOutcome::Failed),
        Some(v) if v.eq_ignore_ascii_case("SUCCESS") => Some(JobOutcome::Success),
        Some(v) => {
            return Err(ApiError::validation(format!(
                "{MARKER_OUTCOME}{v}: expected FAILED or SUCCESS"
            )))
        }
    };
    let duration = marker_duration(&args).map_err(ApiError::validation)?;
    let a = &state.serverless.apps[app];
    if !(matches!(a.state, AppState::Created | AppState::Stopped) && a.auto_start
        || matches!(a.state, AppState::Starting | AppState::Started))
    {
        return Err(invalid_state(a, "given job runs"));
    }
    let app_id = a.id.clone();
    let token = str_of(input, "clientToken").unwrap_or_default().to_string();
    let print = fingerprint(input);
    match state.serverless.job_for_token(&app_id, &token, &print) {
        Ok(Some(j)) => return Ok(started_job(&state.serverless.jobs[j])),
        Ok(None) => {}
        Err(()) => {
            return Err(conflict(format!(
                "clientToken {token} was already used with a different request"
            )))
        }
    }
    let s = settings(state);
    let (vcpu, memory_gb, storage_gb, workers) = resources(
        spark
            .and_then(|x| str_of(x, "sparkSubmitParameters"))
            .unwrap_or_default(),
    );
    let mut plan = JobPlan {
        outcome: JobOutcome::Success,
        scheduled_seconds: s.scheduled_seconds,
        running_seconds: s.running_seconds,
        failure_message: None,
        vcpu,
        memory_gb,
        storage_gb,
        workers,
    };
    let name = str_of(input, "name").map(String::from);
    let app_name = state.serverless.apps[app].name.clone().unwrap_or_default();
    state
        .scenario
        .plan_job_run(&app_name, name.as_deref().unwrap_or_default(), &mut plan);
    plan.outcome = outcome.unwrap_or(plan.outcome);
    plan.running_seconds = duration.unwrap_or(plan.running_seconds);
    if let Some(m) = marker(&args, MARKER_MESSAGE) {
        plan.failure_message = Some(m.to_string());
    }
    let id = state.take_serverless_job_id();
    let mut request = input.clone();
    if let Some(m) = request.as_object_mut() {
        for k in ["clientToken", "tags", "name", "applicationId"] {
            m.remove(k);
        }
    }
    let a = &state.serverless.apps[app];
    let job = JobRun {
        arn: format!("{}/jobruns/{id}", a.arn),
        app,
        app_id: app_id.clone(),
        id,
        name,
        execution_role,
        created_by: state.caller_arn.clone(),
        release_label: a.release_label.clone(),
        created_at: now,
        updated_at: now,
        state: JobState::Submitted,
        state_details: String::new(),
        tags,
        execution_timeout_minutes: timeout,
        request,
        scripted_failure: plan.failure_message.clone(),
        plan,
        queued_at: None,
        queued_seconds: 0.0,
        started_at: None,
        ended_at: None,
        holds: false,
        next: None,
    };
    let j = state.serverless.insert_job(job, now, &s);
    state
        .serverless
        .remember_job_token(&app_id, &token, print, j);
    // Submitting a job run starts an application that may auto-start.
    let app_state = state.serverless.apps[app].state;
    if matches!(app_state, AppState::Created | AppState::Stopped) {
        state.serverless.start_app(app, now, &s);
    }
    state.serverless.wake(now, &s);
    Ok(started_job(&state.serverless.jobs[j]))
}

fn started_job(j: &JobRun) -> Value {
    json!({ "applicationId": j.app_id, "jobRunId": j.id, "arn": j.arn })
}

/// Every application (GetApplication's shape) with its job runs (GetJobRun's), for the admin state dump.
pub fn dump(state: &State) -> Value {
    let apps: Vec<Value> = (0..state.serverless.apps.len())
        .map(|i| {
            let mut v = application_view(&state.serverless.apps[i]);
            let runs: Vec<Value> = (0..state.serverless.jobs.len())
                .filter(|&j| state.serverless.jobs[j].app == i)
                .map(|j| job_run_view(state, j))
                .collect();
            v["jobRuns"] = json!(runs);
            v
        })
        .collect();
    json!({ "applications": apps, "vcpusInUse": state.serverless.vcpus_in_use() })
}

fn job_run_view(state: &State, j: usize) -> Value {
    let job = &state.serverless.jobs[j];
    let mut v = json!({
        "applicationId": job.app_id,
        "jobRunId": job.id,
        "arn": job.arn,
        "createdBy": job.created_by,
        "createdAt": job.created_at,
        "updatedAt": job.updated_at,
        "executionRole": job.execution_role,
        "state": job.state.as_str(),
        "stateDetails": job.state_details,
        "releaseLabel": job.release_label,
        "tags": job.tags,
        "executionTimeoutMinutes": job.execution_timeout_minutes as i64,
        "mode": str_of(&job.request, "mode").unwrap_or("BATCH"),
        "attempt": 1,
        "attemptCreatedAt": job.created_at,
        "attemptUpdatedAt": job.updated_at,
        "queuedDurationMilliseconds": (job.queued_seconds * 1000.0).round() as i64,
    });
    if let Some(name) = &job.name {
        v["name"] = json!(name);
    }
    for k in [
        "jobDriver",
        "configurationOverrides",
        "networkConfiguration",
        "retryPolicy",
    ] {
        if let Some(x) = job.request.get(k) {
            v[k] = x.clone();
        }
    }
    if let Some(t) = job.started_at {
        v["startedAt"] = json!(t);
    }
    if let Some(t) = job.ended_at {
        v["endedAt"] = json!(t);
    }
    if let (Some(total), Some(billed), Some(seconds)) = (
        job.total_utilization(),
        job.billed_utilization(),
        job.run_seconds(),
    ) {
        v["totalResourceUtilization"] = total.to_json();
        v["billedResourceUtilization"] = billed.to_json();
        v["totalExecutionDurationSeconds"] = json!(seconds.round() as i64);
    }
    v
}

fn job_run_summary(job: &JobRun) -> Value {
    let mut v = json!({
        "applicationId": job.app_id,
        "id": job.id,
        "arn": job.arn,
        "mode": str_of(&job.request, "mode").unwrap_or("BATCH"),
        "createdBy": job.created_by,
        "createdAt": job.created_at,
        "updatedAt": job.updated_at,
        "executionRole": job.execution_role,
        "state": job.state.as_str(),
        "stateDetails": job.state_details,
        "releaseLabel": job.release_label,
        "type": if job.request.pointer("/jobDriver/hive").is_some() { "Hive" } else { "Spark" },
        "attempt": 1,
        "attemptCreatedAt": job.created_at,
        "attemptUpdatedAt": job.updated_at,
    });
    if let Some(name) = &job.name {
        v["name"] = json!(name);
    }
    v
}

fn list_job_runs(state: &State, input: &Value, region: &str) -> Result<Value, ApiError> {
    let app = find_app(state, input, region)?;
    let states = states_filter(input, JobState::parse)?;
    let after = number_of(input, "createdAtAfter")
        .or_else(|| str_of(input, "createdAtAfter").and_then(crate::clock::parse_iso8601));
    let before = number_of(input, "createdAtBefore")
        .or_else(|| str_of(input, "createdAtBefore").and_then(crate::clock::parse_iso8601));
    let items = state
        .serverless
        .jobs
        .iter()
        .rev()
        .filter(|j| j.app == app && (states.is_empty() || states.contains(&j.state)))
        .filter(|j| {
            after.is_none_or(|t| j.created_at >= t) && before.is_none_or(|t| j.created_at <= t)
        })
        .map(job_run_summary)
        .collect();
    page(items, input, "jobRuns")
}

fn cancel_job_run(
    state: &mut State,
    input: &Value,
    region: &str,
    now: f64,
) -> Result<Value, ApiError> {
    let (_, j) = find_job(state, input, region)?;
    let s = settings(state);
    let job = &state.serverless.jobs[j];
    if job.state.is_terminal() {
        return Err(ApiError::validation(format!(
            "Job run {} is in {} state and cannot be cancelled",
            job.id,
            job.state.as_str()
        )));
    }
    if job.state != JobState::Cancelling {
        state.serverless.cancel(j, now, &s);
    }
    let job = &state.serverless.jobs[j];
    Ok(json!({ "applicationId": job.app_id, "jobRunId": job.id }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_the_same_whatever_the_order_of_its_members_and_its_client_token() {
        let a = serde_json::json!({"name": "x", "clientToken": "t1", "tags": {"a": "1", "b": "2"}});
        let b: Value = serde_json::from_str(
            r#"{"tags": {"b": "2", "a": "1"}, "clientToken": "t2", "name": "x"}"#,
        )
        .unwrap();
        assert_eq!(fingerprint(&a), fingerprint(&b));
        let c = serde_json::json!({"name": "y", "tags": {"a": "1", "b": "2"}});
        assert_ne!(fingerprint(&a), fingerprint(&c));
    }

    #[test]
    fn when_routing_should_name_the_operation_and_its_path_parameters() {
        let (op, params) = route("DELETE", "/applications/00abc/jobruns/00def").expect("route");
        assert_eq!(op, "CancelJobRun");
        assert_eq!(
            params,
            [
                ("applicationId", "00abc".to_string()),
                ("jobRunId", "00def".to_string())
            ]
        );
        let arn = "arn%3Aaws%3Aemr-serverless%3Aeu-west-1%3A123456789012%3A%2Fapplications%2F00abc";
        let (op, params) = route("POST", &format!("/tags/{arn}")).expect("route");
        assert_eq!(op, "TagResource");
        assert_eq!(
            params[0].1,
            "arn:aws:emr-serverless:eu-west-1:123456789012:/applications/00abc"
        );
        assert_eq!(route("PUT", "/applications"), None);
    }

    #[test]
    fn when_merging_a_request_should_list_repeated_query_parameters() {
        let merged = merged_body(
            b"",
            &[("applicationId", "00abc".to_string())],
            "states=RUNNING&states=FAILED&maxResults=10",
        );
        let v: Value = serde_json::from_slice(&merged).expect("json");
        assert_eq!(
            v,
            json!({"applicationId": "00abc", "states": ["RUNNING", "FAILED"], "maxResults": "10"})
        );
        assert_eq!(
            merged_body(b"[1]", &[], ""),
            b"[1]",
            "left to the operation"
        );
    }

    #[test]
    fn when_spark_parameters_ask_resources_should_count_workers_with_overhead() {
        assert_eq!(resources(""), (16.0, 64.0, 80.0, 4.0));
        let asked = "--conf spark.driver.cores=2 --conf spark.driver.memory=4g \
                     --conf spark.executor.instances=10 --conf spark.executor.memory=8192m \
                     --conf spark.emr-serverless.executor.disk=100G";
        // 2 + 10 × 4 vCPUs; memory + 10 % rounded up: 5 + 10 × 9 GB; disk 20 + 10 × 100 GB.
        assert_eq!(resources(asked), (42.0, 95.0, 1020.0, 11.0));
    }

    #[test]
    fn when_reading_release_labels_should_compare_versions() {
        assert_eq!(release_version("emr-7.3.0"), Some((7, 3, 0)));
        assert!(release_version("emr-6.15.0") < Some((7, 3, 0)));
        assert_eq!(release_version("emr-7.10.0-latest"), Some((7, 10, 0)));
        assert_eq!(release_version("spark"), None);
    }
}
