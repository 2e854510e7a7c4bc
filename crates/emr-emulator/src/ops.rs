//! The EMR operations: validation, effects on the model, responses.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::ec2;
use crate::instances::{self, Instances};
use crate::model::{ActionOnFailure, Cluster, ClusterSpec, ClusterState, Step, StepState};
use crate::prices;
use crate::scenario::{marker_duration, marker_outcome, BootstrapInfo};
use crate::state::{State, ACCOUNT_ID};
use crate::view;
use crate::wire::{self, StepConfig};

pub const PAGE_SIZE: usize = 50;
pub const MAX_ACTIVE_STEPS: usize = 256;
pub const MAX_STEP_IDS_FILTER: usize = 10;

/// Operations served, as named in `X-Amz-Target: ElasticMapReduce.<Operation>`, and the operations of other services
/// served beside them (see [`service`]).
pub const OPERATIONS: [&str; 18] = [
    "RunJobFlow",
    "DescribeCluster",
    "ListClusters",
    "AddJobFlowSteps",
    "ListSteps",
    "DescribeStep",
    "CancelSteps",
    "TerminateJobFlows",
    "AddTags",
    "RemoveTags",
    "SetTerminationProtection",
    "GetAutoTerminationPolicy",
    "ListInstances",
    "ListInstanceGroups",
    "ListInstanceFleets",
    "GetResources",
    "GetProducts",
    "DescribeSpotPriceHistory",
];

/// The AWS service an operation belongs to: its protocol, its error names and its rate buckets follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    Emr,
    /// The Resource Groups Tagging API (`ResourceGroupsTaggingAPI_20170126.GetResources`), for EMR's tags.
    Tagging,
    /// The Price List Query API (`AWSPriceListService.GetProducts`), JSON 1.1 like EMR.
    Pricing,
    /// EC2 (`Action=DescribeSpotPriceHistory`), its Query protocol: form-encoded requests, XML answers.
    Ec2,
    /// EMR Serverless, REST-JSON (see [`crate::serverless::ops`]).
    EmrServerless,
}

pub fn service(op: &str) -> Service {
    match op {
        "GetResources" => Service::Tagging,
        "GetProducts" => Service::Pricing,
        "DescribeSpotPriceHistory" => Service::Ec2,
        _ if crate::serverless::ops::OPERATIONS.contains(&op) => Service::EmrServerless,
        _ => Service::Emr,
    }
}

/// An error answer: HTTP status, `__type` and message.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub kind: String,
    pub message: String,
}

impl ApiError {
    pub fn new(status: u16, kind: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            kind: kind.to_string(),
            message: message.into(),
        }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(400, "ValidationException", message)
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(400, "InvalidRequestException", message)
    }

    /// A throttled call, as the operation's service answers it.
    pub fn throttling(op: &str) -> Self {
        match service(op) {
            Service::Ec2 => Self::new(503, "RequestLimitExceeded", "Request limit exceeded."),
            Service::EmrServerless => Self::new(429, "ThrottlingException", "Rate exceeded"),
            _ => Self::new(400, "ThrottlingException", "Rate exceeded"),
        }
    }

    /// An injected server fault, named as the operation's model names it.
    pub fn server(op: &str, status: u16) -> Self {
        match (service(op), status) {
            (Service::Ec2, 503) => {
                return Self::new(
                    503,
                    "Unavailable",
                    "The server is overloaded and can't handle the request.",
                )
            }
            (Service::Ec2, _) => {
                return Self::new(500, "InternalError", "An internal error has occurred.")
            }
            (Service::EmrServerless, 500) => {
                return Self::new(
                    500,
                    "InternalServerException",
                    "Request processing failed because of an error or failure with the service.",
                )
            }
            (Service::Pricing, 500) => {
                return Self::new(
                    500,
                    "InternalErrorException",
                    "An internal error occurred. Please try again.",
                )
            }
            _ => {}
        }
        if status == 503 {
            return Self::new(
                503,
                "ServiceUnavailable",
                "Service is unavailable. Please try again later.",
            );
        }
        let kind = match op {
            "RunJobFlow"
            | "AddJobFlowSteps"
            | "TerminateJobFlows"
            | "SetTerminationProtection"
            | "CancelSteps" => "InternalServerError",
            _ => "InternalServerException",
        };
        Self::new(500, kind, "An internal error occurred. Please try again.")
    }

    pub fn body(&self) -> Value {
        json!({ "__type": self.kind, "message": self.message })
    }
}

type OpResult = Result<Value, ApiError>;

pub(crate) fn parse<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            400,
            "SerializationException",
            format!("Malformed request body: {e}"),
        )
    })
}

pub(crate) fn required<T>(value: Option<T>, member: &str) -> Result<T, ApiError> {
    value.ok_or_else(|| {
        ApiError::validation(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ))
    })
}

/// Unknown cluster id. The newer operations model InvalidRequestException; the old JobFlow ones
/// only know ValidationException.
fn unknown_cluster(id: &str, legacy: bool) -> ApiError {
    let message = format!("Cluster id '{id}' is not valid.");
    if legacy {
        ApiError::validation(message)
    } else {
        ApiError::invalid_request(message)
    }
}

pub(crate) fn find(state: &State, id: &str, legacy: bool) -> Result<usize, ApiError> {
    state
        .cluster_index_in(id, &state.caller_region)
        .ok_or_else(|| unknown_cluster(id, legacy))
}

/// Execute one operation at virtual time "now". Everything due before is applied first.
pub fn execute(state: &mut State, op: &str, body: &[u8], region: &str) -> OpResult {
    let now = state.clock.now();
    state.advance_all(now);
    state.caller_region = region.to_string();
    let out = match op {
        "RunJobFlow" => run_job_flow(state, parse(body)?, now, region),
        "DescribeCluster" => describe_cluster(state, parse(body)?, now),
        "ListClusters" => list_clusters(state, parse(body)?, now),
        "AddJobFlowSteps" => add_job_flow_steps(state, parse(body)?, now),
        "ListSteps" => list_steps(state, parse(body)?),
        "DescribeStep" => describe_step(state, parse(body)?),
        "CancelSteps" => cancel_steps(state, parse(body)?, now),
        "TerminateJobFlows" => terminate_job_flows(state, parse(body)?, now),
        "SetTerminationProtection" => set_termination_protection(state, parse(body)?),
        "AddTags" => add_tags(state, parse(body)?),
        "RemoveTags" => remove_tags(state, parse(body)?),
        "GetAutoTerminationPolicy" => get_auto_termination_policy(state, parse(body)?),
        "ListInstances" => instances::list_instances(state, parse(body)?, now),
        "ListInstanceGroups" => instances::list_instance_groups(state, parse(body)?),
        "ListInstanceFleets" => instances::list_instance_fleets(state, parse(body)?),
        "GetResources" => get_resources(state, parse(body)?),
        "GetProducts" => prices::get_products(parse(body)?),
        "DescribeSpotPriceHistory" => {
            prices::describe_spot_price_history(state, &ec2::form(body), region, now)
        }
        op if service(op) == Service::EmrServerless => {
            crate::serverless::ops::execute(state, op, parse(body)?, region, now)
        }
        other => Err(ApiError::new(
            400,
            "UnknownOperationException",
            format!("Unknown operation: {other}"),
        )),
    }?;
    // Zero-length transitions (e.g. a cancel with cancelSeconds 0) show at once.
    state.advance_all(now);
    Ok(out)
}

// ------------------------------------------------------------------ RunJobFlow

const IOPS_UNSUPPORTED: [&str; 4] = ["gp2", "standard", "st1", "sc1"];

fn check_volumes(instances: &wire::JobFlowInstancesConfig) -> Result<(), ApiError> {
    let mut ebs: Vec<&wire::EbsConfiguration> = Vec::new();
    for g in instances.instance_groups.iter().flatten() {
        ebs.extend(g.ebs_configuration.as_ref());
    }
    for f in instances.instance_fleets.iter().flatten() {
        for t in f.instance_type_configs.iter().flatten() {
            ebs.extend(t.ebs_configuration.as_ref());
        }
    }
    for spec in ebs
        .iter()
        .flat_map(|e| e.ebs_block_device_configs.iter().flatten())
    {
        let Some(vol) = &spec.volume_specification else {
            continue;
        };
        let kind = vol.volume_type.as_deref().unwrap_or_default();
        if vol.iops.is_some() && IOPS_UNSUPPORTED.contains(&kind) {
            return Err(ApiError::validation(
                "IOPS setting is not supported for volume type.",
            ));
        }
        if vol.size_in_gb.is_none() {
            return Err(ApiError::validation(
                "The EBS volume size (SizeInGB) is required.",
            ));
        }
    }
    Ok(())
}

fn parse_action(s: &StepConfig) -> Result<ActionOnFailure, ApiError> {
    match s.action_on_failure.as_deref() {
        None => Ok(ActionOnFailure::Continue),
        Some(a) => ActionOnFailure::parse(a).ok_or_else(|| {
            ApiError::validation(format!(
                "1 validation error detected: Value '{a}' at 'actionOnFailure' failed to satisfy constraint: Member must satisfy enum value set: [TERMINATE_JOB_FLOW, TERMINATE_CLUSTER, CANCEL_AND_WAIT, CONTINUE]"
            ))
        }),
    }
}

fn check_steps(steps: &[StepConfig], concurrency: i64) -> Result<(), ApiError> {
    for s in steps {
        required(s.name.as_ref(), "name")?;
        let jar_step = required(s.hadoop_jar_step.as_ref(), "hadoopJarStep")?;
        required(jar_step.jar.as_ref(), "hadoopJarStep.jar")?;
        let action = parse_action(s)?;
        if concurrency > 1 && action != ActionOnFailure::Continue {
            return Err(ApiError::validation(format!(
                "ActionOnFailure {} is not valid for a cluster with StepConcurrencyLevel {concurrency}: only CONTINUE is supported.",
                action.as_str()
            )));
        }
        let args = jar_step.args.clone().unwrap_or_default();
        marker_outcome(&args).map_err(ApiError::validation)?;
        marker_duration(&args).map_err(ApiError::validation)?;
    }
    Ok(())
}

fn build_step(state: &mut State, cluster_name: &str, cfg: StepConfig, now: f64) -> Step {
    let name = cfg.name.unwrap_or_default();
    let action_on_failure = parse_action_lenient(cfg.action_on_failure.as_deref());
    let jar_step = cfg.hadoop_jar_step.unwrap_or_default();
    let args = jar_step.args.unwrap_or_default();
    let base = state.base;
    let plan = state.scenario.plan_step(cluster_name, &name, &args, base);
    let properties: BTreeMap<String, String> = jar_step
        .properties
        .unwrap_or_default()
        .into_iter()
        .map(|kv| (kv.key.unwrap_or_default(), kv.value.unwrap_or_default()))
        .collect();
    Step {
        seq: state.next_seq(),
        id: state.new_id("s-"),
        name,
        jar: jar_step.jar,
        main_class: jar_step.main_class,
        args,
        properties,
        action_on_failure,
        state: StepState::Pending,
        created: now,
        started: None,
        ended: None,
        cancel_at: None,
        plan,
        failure: None,
    }
}

fn parse_action_lenient(a: Option<&str>) -> ActionOnFailure {
    a.and_then(ActionOnFailure::parse)
        .unwrap_or(ActionOnFailure::Continue)
}

fn run_job_flow(
    state: &mut State,
    input: wire::RunJobFlowInput,
    now: f64,
    region: &str,
) -> OpResult {
    let name = required(input.name.filter(|n| !n.is_empty()), "name")?;
    let instances = required(input.instances, "instances")?;
    if instances.instance_groups.is_some() && instances.instance_fleets.is_some() {
        return Err(ApiError::validation(
            "Please specify either InstanceGroups or InstanceFleets, but not both.",
        ));
    }
    if input.release_label.is_some() && input.ami_version.is_some() {
        return Err(ApiError::validation(
            "Only one AMI version and release label may be specified.",
        ));
    }
    check_volumes(&instances)?;
    let concurrency = input.step_concurrency_level.unwrap_or(1);
    if !(1..=256).contains(&concurrency) {
        return Err(ApiError::validation(
            "StepConcurrencyLevel must be between 1 and 256.",
        ));
    }
    let idle_timeout = match input.auto_termination_policy {
        None => None,
        Some(policy) => {
            let idle = policy.idle_timeout.unwrap_or(3600);
            if !(60..=604_800).contains(&idle) {
                return Err(ApiError::validation(
                    "IdleTimeout must be between 60 seconds (1 minute) and 604800 seconds (7 days).",
                ));
            }
            Some(idle as f64)
        }
    };
    let steps = input.steps.unwrap_or_default();
    check_steps(&steps, concurrency)?;
    if steps.len() > MAX_ACTIVE_STEPS {
        return Err(ApiError::validation(format!(
            "A cluster can have at most {MAX_ACTIVE_STEPS} active steps."
        )));
    }
    let mut tags = Vec::new();
    for t in input.tags.unwrap_or_default() {
        tags.push((
            required(t.key, "tags.member.key")?,
            t.value.unwrap_or_default(),
        ));
    }

    let bootstrap = input.bootstrap_actions.unwrap_or_default();
    let infos: Vec<(String, Vec<String>)> = bootstrap
        .iter()
        .map(|b| {
            let script = b.script_bootstrap_action.as_ref();
            (
                b.name.clone().unwrap_or_default(),
                script.and_then(|s| s.args.clone()).unwrap_or_default(),
            )
        })
        .collect();
    let infos: Vec<BootstrapInfo<'_>> = infos
        .iter()
        .map(|(n, a)| BootstrapInfo { name: n, args: a })
        .collect();
    let base = state.base;
    let plan = state.scenario.plan_cluster(&name, &infos, base);

    let id = state.take_cluster_id();
    let arn = format!("arn:aws:elasticmapreduce:{region}:{ACCOUNT_ID}:cluster/{id}");
    let spec = ClusterSpec {
        log_uri: input.log_uri,
        release_label: input.release_label,
        ami_version: input.ami_version,
        applications: input.applications.unwrap_or_default(),
        configurations: input.configurations,
        service_role: input.service_role,
        visible_to_all_users: input.visible_to_all_users.unwrap_or(true),
        keep_alive: instances.keep_job_flow_alive_when_no_steps.unwrap_or(false),
        termination_protected: instances.termination_protected.unwrap_or(false),
        step_concurrency_level: concurrency,
        idle_timeout,
        instance_collection_type: if instances.instance_fleets.is_some() {
            "INSTANCE_FLEET"
        } else {
            "INSTANCE_GROUP"
        },
        tags,
        master_instance_id: state.new_instance_id(),
    };
    let launched = Instances::launch(
        state,
        &instances,
        input.job_flow_role.as_deref(),
        region,
        &spec.master_instance_id,
        now,
    );
    let seq = state.next_seq();
    let mut cluster = Cluster::new(seq, id.clone(), arn.clone(), name.clone(), spec, plan, now);
    cluster.instances = launched;
    let steps = steps
        .into_iter()
        .map(|cfg| build_step(state, &name, cfg, now))
        .collect();
    cluster.push_steps(steps, now);
    state.insert_cluster(cluster);
    Ok(json!({ "JobFlowId": id, "ClusterArn": arn }))
}

// ------------------------------------------------------------- cluster reads

fn describe_cluster(state: &State, input: wire::ClusterIdInput, now: f64) -> OpResult {
    let id = required(input.cluster_id, "clusterId")?;
    let i = find(state, &id, false)?;
    Ok(json!({ "Cluster": view::cluster(&state.clusters[i], now) }))
}

pub(crate) fn parse_marker(marker: Option<&str>) -> Result<Option<u64>, ApiError> {
    match marker {
        None => Ok(None),
        Some(m) => m
            .strip_prefix("m-")
            .and_then(|n| n.parse().ok())
            .map(Some)
            .ok_or_else(|| ApiError::invalid_request("Marker is not valid.")),
    }
}

/// One page of newest-first items with decreasing `seq`: the page starts at the marker's seq.
fn page<T>(items: Vec<(u64, T)>, marker: Option<u64>) -> (Vec<T>, Option<String>) {
    let mut rest = items
        .into_iter()
        .filter(|(seq, _)| marker.is_none_or(|m| *seq <= m));
    let page: Vec<T> = rest.by_ref().take(PAGE_SIZE).map(|(_, t)| t).collect();
    let next = rest.next().map(|(seq, _)| format!("m-{seq}"));
    (page, next)
}

fn list_clusters(state: &State, input: wire::ListClustersInput, now: f64) -> OpResult {
    let mut states = Vec::new();
    for s in input.cluster_states.unwrap_or_default() {
        states.push(ClusterState::parse(&s).ok_or_else(|| {
            ApiError::validation(format!("1 validation error detected: Value '{s}' at 'clusterStates' failed to satisfy constraint: Member must satisfy enum value set"))
        })?);
    }
    let marker = parse_marker(input.marker.as_deref())?;
    let items = state
        .clusters
        .iter()
        .rev()
        .filter(|c| c.in_region(&state.caller_region))
        .filter(|c| states.is_empty() || states.contains(&c.state))
        .filter(|c| input.created_after.is_none_or(|t| c.created >= t))
        .filter(|c| input.created_before.is_none_or(|t| c.created <= t))
        .map(|c| (c.seq, view::cluster_summary(c, now)))
        .collect();
    let (clusters, next) = page(items, marker);
    let mut out = json!({ "Clusters": clusters });
    if let Some(m) = next {
        out["Marker"] = json!(m);
    }
    Ok(out)
}

/// The tagging API's view of EMR: every cluster of the caller's region with its tags (EMR keeps a cluster's tags
/// for as long as it lists the cluster, ended ones included), filtered by resource type and tags, oldest first,
/// `ResourcesPerPage` (1 to 100, default 50) a page.
fn get_resources(state: &State, input: wire::GetResourcesInput) -> OpResult {
    let per_page = input.resources_per_page.unwrap_or(50);
    if !(1..=100).contains(&per_page) {
        return Err(ApiError::new(
            400,
            "InvalidParameterException",
            "ResourcesPerPage must be between 1 and 100",
        ));
    }
    let types = input.resource_type_filters.unwrap_or_default();
    let emr_clusters = types.is_empty()
        || types
            .iter()
            .any(|t| t == "elasticmapreduce" || t == "elasticmapreduce:cluster");
    let filters = input.tag_filters.unwrap_or_default();
    let start = match input.pagination_token.as_deref() {
        None | Some("") => 0,
        Some(t) => t
            .strip_prefix("t-")
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(|| {
                ApiError::new(
                    400,
                    "PaginationTokenExpiredException",
                    "The pagination token is not valid.",
                )
            })?,
    };
    let mut matching = state
        .clusters
        .iter()
        .filter(|_| emr_clusters)
        .filter(|c| c.in_region(&state.caller_region) && c.seq >= start)
        .filter(|c| {
            filters.iter().all(|f| {
                c.spec.tags.iter().any(|(k, v)| {
                    Some(k) == f.key.as_ref()
                        && f.values
                            .as_ref()
                            .is_none_or(|vs| vs.is_empty() || vs.contains(v))
                })
            })
        });
    let page: Vec<Value> = matching
        .by_ref()
        .take(per_page)
        .map(|c| {
            json!({
                "ResourceARN": c.arn,
                "Tags": c.spec.tags.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let next = matching.next().map(|c| format!("t-{}", c.seq));
    Ok(json!({ "ResourceTagMappingList": page, "PaginationToken": next.unwrap_or_default() }))
}

fn get_auto_termination_policy(state: &State, input: wire::ClusterIdInput) -> OpResult {
    let id = required(input.cluster_id, "clusterId")?;
    let c = &state.clusters[find(state, &id, false)?];
    Ok(match c.spec.idle_timeout {
        Some(idle) => json!({ "AutoTerminationPolicy": { "IdleTimeout": idle as i64 } }),
        None => json!({}),
    })
}

// --------------------------------------------------------------------- steps

fn add_job_flow_steps(state: &mut State, input: wire::AddJobFlowStepsInput, now: f64) -> OpResult {
    let id = required(input.job_flow_id, "jobFlowId")?;
    let steps = required(input.steps, "steps")?;
    let i = find(state, &id, true)?;
    let (cluster_state, concurrency, active, name) = {
        let c = &state.clusters[i];
        (
            c.state,
            c.spec.step_concurrency_level,
            c.active_steps(),
            c.name.clone(),
        )
    };
    if !cluster_state.accepts_steps() {
        return Err(ApiError::validation(
            "A job flow that is shutting down, terminated, or finished may not be modified.",
        ));
    }
    check_steps(&steps, concurrency)?;
    if active + steps.len() > MAX_ACTIVE_STEPS {
        return Err(ApiError::validation(format!(
            "Maximum number of active steps(State = 'Running', 'Pending' or 'Cancel_Pending') for cluster exceeded: at most {MAX_ACTIVE_STEPS}."
        )));
    }
    let steps: Vec<Step> = steps
        .into_iter()
        .map(|cfg| build_step(state, &name, cfg, now))
        .collect();
    let ids: Vec<String> = steps.iter().map(|s| s.id.clone()).collect();
    state.clusters[i].push_steps(steps, now);
    Ok(json!({ "StepIds": ids }))
}

fn list_steps(state: &State, input: wire::ListStepsInput) -> OpResult {
    let id = required(input.cluster_id, "clusterId")?;
    let c = &state.clusters[find(state, &id, false)?];
    let ids = input.step_ids.unwrap_or_default();
    if ids.len() > MAX_STEP_IDS_FILTER {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value at 'stepIds' failed to satisfy constraint: Member must have length less than or equal to {MAX_STEP_IDS_FILTER}"
        )));
    }
    let mut states = Vec::new();
    for s in input.step_states.unwrap_or_default() {
        states.push(StepState::parse(&s).ok_or_else(|| {
            ApiError::validation(format!("1 validation error detected: Value '{s}' at 'stepStates' failed to satisfy constraint: Member must satisfy enum value set"))
        })?);
    }
    let marker = parse_marker(input.marker.as_deref())?;
    let items = c
        .steps
        .iter()
        .rev()
        .filter(|s| states.is_empty() || states.contains(&s.state))
        .filter(|s| ids.is_empty() || ids.contains(&s.id))
        .map(|s| (s.seq, view::step(s)))
        .collect();
    let (steps, next) = page(items, marker);
    let mut out = json!({ "Steps": steps });
    if let Some(m) = next {
        out["Marker"] = json!(m);
    }
    Ok(out)
}

fn describe_step(state: &State, input: wire::DescribeStepInput) -> OpResult {
    let id = required(input.cluster_id, "clusterId")?;
    let step_id = required(input.step_id, "stepId")?;
    let c = &state.clusters[find(state, &id, false)?];
    let step = c
        .step(&step_id)
        .ok_or_else(|| ApiError::invalid_request(format!("Step id '{step_id}' is not valid.")))?;
    Ok(json!({ "Step": view::step(step) }))
}

fn cancel_steps(state: &mut State, input: wire::CancelStepsInput, now: f64) -> OpResult {
    let id = required(input.cluster_id, "clusterId")?;
    let step_ids = required(input.step_ids, "stepIds")?;
    // SEND_INTERRUPT is EMR's default; either option only concerns RUNNING steps.
    if let Some(o) = input.step_cancellation_option.as_deref() {
        if !["SEND_INTERRUPT", "TERMINATE_PROCESS"].contains(&o) {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{o}' at 'stepCancellationOption' failed to satisfy constraint: Member must satisfy enum value set: [SEND_INTERRUPT, TERMINATE_PROCESS]"
            )));
        }
    }
    let i = find(state, &id, false)?;
    let cluster = &mut state.clusters[i];
    let infos: Vec<wire::CancelStepsInfo> = step_ids
        .into_iter()
        .map(|step_id| match cluster.cancel_step(&step_id, now) {
            Ok(()) => wire::CancelStepsInfo {
                step_id,
                status: "SUBMITTED".into(),
                reason: None,
            },
            Err(reason) => wire::CancelStepsInfo {
                step_id,
                status: "FAILED".into(),
                reason: Some(reason),
            },
        })
        .collect();
    Ok(json!({ "CancelStepsInfoList": infos }))
}

// ----------------------------------------------------------- cluster changes

fn job_flow_indexes(state: &State, ids: Option<Vec<String>>) -> Result<Vec<usize>, ApiError> {
    let ids = required(ids, "jobFlowIds")?;
    ids.iter().map(|id| find(state, id, true)).collect()
}

fn terminate_job_flows(state: &mut State, input: wire::JobFlowIdsInput, now: f64) -> OpResult {
    for i in job_flow_indexes(state, input.job_flow_ids)? {
        // Protected, terminating and terminated clusters are left as they are.
        state.clusters[i].user_terminate(now);
    }
    Ok(json!({}))
}

fn set_termination_protection(state: &mut State, input: wire::JobFlowIdsInput) -> OpResult {
    let protect = required(input.termination_protected, "terminationProtected")?;
    for i in job_flow_indexes(state, input.job_flow_ids)? {
        state.clusters[i].spec.termination_protected = protect;
    }
    Ok(json!({}))
}

fn add_tags(state: &mut State, input: wire::AddTagsInput) -> OpResult {
    let id = required(input.resource_id, "resourceId")?;
    let tags = required(input.tags, "tags")?;
    let i = find(state, &id, false)?;
    let existing = &mut state.clusters[i].spec.tags;
    for t in tags {
        let key = required(t.key, "tags.member.key")?;
        let value = t.value.unwrap_or_default();
        match existing.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => existing.push((key, value)),
        }
    }
    Ok(json!({}))
}

fn remove_tags(state: &mut State, input: wire::RemoveTagsInput) -> OpResult {
    let id = required(input.resource_id, "resourceId")?;
    let keys = required(input.tag_keys, "tagKeys")?;
    let i = find(state, &id, false)?;
    state.clusters[i]
        .spec
        .tags
        .retain(|(k, _)| !keys.contains(k));
    Ok(json!({}))
}
