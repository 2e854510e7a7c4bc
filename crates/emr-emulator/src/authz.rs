//! What each EMR operation asks IAM (actions, resources and condition keys from the Service
//! Authorization Reference for Amazon EMR), and EMR's answers when IAM says no.

use std::collections::BTreeMap;

use crate::iam::{AccessRequest, Decision, Iam, Principal, RequestContext};
use crate::ops::{self, ApiError};
use crate::state::{State, ACCOUNT_ID};
use crate::wire;

/// The caller as the SigV4 `Authorization` header names it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Caller {
    pub access_key_id: Option<String>,
    pub region: String,
}

pub fn unrecognized_client() -> ApiError {
    ApiError::new(
        400,
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    )
}

fn access_denied(
    principal: &Principal,
    access_key_id: &str,
    request: &AccessRequest,
    explicit: bool,
) -> ApiError {
    let action = &request.action;
    let why = if explicit {
        "with an explicit deny in an identity-based policy".to_string()
    } else {
        format!("because no identity-based policy allows the {action} action")
    };
    ApiError::new(
        400,
        "AccessDeniedException",
        format!(
            "User: arn:aws:sts::{ACCOUNT_ID}:assumed-role/{}/{access_key_id} is not authorized to perform: {action} on resource: {} {why}",
            principal.name(),
            request.resource
        ),
    )
}

/// Authorizes one EMR call when IAM is enforced. `Err` is the answer to give instead of
/// executing it; every check must pass. Unknown operations are left to `ops::execute`.
pub fn authorize(
    state: &mut State,
    op: &str,
    body: &[u8],
    caller: &Caller,
) -> Result<(), ApiError> {
    let Some(iam) = state.iam.clone() else {
        return Ok(());
    };
    let (access_key_id, principal) =
        principal_of(&iam, caller).map_err(|e| in_service_terms(op, e))?;
    for mut request in checks(state, op, body, &caller.region) {
        add_global_keys(&mut request.context, principal, &caller.region);
        match principal.decide(&request) {
            Decision::Allow => {}
            d => {
                let denied = access_denied(
                    principal,
                    access_key_id,
                    &request,
                    d == Decision::ExplicitDeny,
                );
                return Err(in_service_terms(op, denied));
            }
        }
    }
    Ok(())
}

/// A refusal as the operation's service words it: EC2 answers `AuthFailure` and `UnauthorizedOperation` (HTTP 401
/// and 403) where the JSON services answer `UnrecognizedClientException` and `AccessDeniedException`.
fn in_service_terms(op: &str, e: ApiError) -> ApiError {
    if ops::service(op) == ops::Service::EmrServerless {
        // REST-JSON services answer both with HTTP 403.
        return ApiError::new(403, &e.kind, e.message);
    }
    if ops::service(op) != ops::Service::Ec2 {
        return e;
    }
    match e.kind.as_str() {
        "UnrecognizedClientException" => ApiError::new(
            401,
            "AuthFailure",
            "AWS was not able to validate the provided access credentials",
        ),
        "AccessDeniedException" => ApiError::new(
            403,
            "UnauthorizedOperation",
            format!(
                "You are not authorized to perform this operation. {}",
                e.message
            ),
        ),
        _ => e,
    }
}

/// Authorizes one request of another service (e.g. `s3:GetObject` for a local S3 that cannot
/// check IAM itself) against the same principals: the admin API's `POST /_emulator/iam/authorize`.
pub fn authorize_other(
    state: &State,
    caller: &Caller,
    mut request: AccessRequest,
) -> Result<(), ApiError> {
    let Some(iam) = state.iam.clone() else {
        return Ok(());
    };
    let (access_key_id, principal) = principal_of(&iam, caller)?;
    add_global_keys(&mut request.context, principal, &caller.region);
    match principal.decide(&request) {
        Decision::Allow => Ok(()),
        d => Err(access_denied(
            principal,
            access_key_id,
            &request,
            d == Decision::ExplicitDeny,
        )),
    }
}

fn principal_of<'a>(
    iam: &'a Iam,
    caller: &'a Caller,
) -> Result<(&'a str, &'a Principal), ApiError> {
    let key = caller
        .access_key_id
        .as_deref()
        .ok_or_else(unrecognized_client)?;
    let principal = iam.get(key).ok_or_else(unrecognized_client)?;
    Ok((key, principal))
}

/// Who makes a call, as a service records it (EMR Serverless's `createdBy`): the assumed role with IAM on, the
/// account's root without.
pub fn caller_arn(state: &State, caller: &Caller) -> String {
    let named = state.iam.as_deref().and_then(|iam| {
        let key = caller.access_key_id.as_deref()?;
        Some(format!(
            "arn:aws:sts::{ACCOUNT_ID}:assumed-role/{}/{key}",
            iam.get(key)?.name()
        ))
    });
    named.unwrap_or_else(|| format!("arn:aws:iam::{ACCOUNT_ID}:root"))
}

/// Global condition keys present in every request of an assumed-role caller over HTTPS.
fn add_global_keys(context: &mut RequestContext, principal: &Principal, region: &str) {
    context.insert("aws:RequestedRegion", region);
    context.insert("aws:PrincipalAccount", ACCOUNT_ID);
    context.insert(
        "aws:PrincipalArn",
        &format!("arn:aws:iam::{ACCOUNT_ID}:role/{}", principal.name()),
    );
    context.insert("aws:PrincipalType", "AssumedRole");
    context.insert("aws:SecureTransport", "true");
}

fn emr(action: &str) -> String {
    format!("elasticmapreduce:{action}")
}

pub fn cluster_arn(region: &str, id: &str) -> String {
    format!("arn:aws:elasticmapreduce:{region}:{ACCOUNT_ID}:cluster/{id}")
}

/// `aws:RequestTag/<key>` (and EMR's own `elasticmapreduce:RequestTag/<key>`) per tag, and
/// `aws:TagKeys`.
fn request_tags(context: &mut RequestContext, tags: &[(String, String)]) {
    for (k, v) in tags {
        context.insert(&format!("elasticmapreduce:RequestTag/{k}"), v);
    }
    aws_request_tags(context, tags);
}

/// `aws:RequestTag/<key>` per tag, and `aws:TagKeys`.
fn aws_request_tags(context: &mut RequestContext, tags: &[(String, String)]) {
    for (k, v) in tags {
        context.insert(&format!("aws:RequestTag/{k}"), v);
    }
    tag_keys(context, tags.iter().map(|(k, _)| k.as_str()));
}

fn tag_keys<'k>(context: &mut RequestContext, keys: impl Iterator<Item = &'k str>) {
    let keys: Vec<&str> = keys.collect();
    if !keys.is_empty() {
        context.insert_values("aws:TagKeys", &keys);
    }
}

/// `action` on cluster `id` with its tags as `aws:ResourceTag/…`. An unknown id still gets an
/// ARN (in the caller's region) and no tags, as on AWS, where authorization comes first.
fn on_cluster(state: &State, action: &str, id: &str, region: &str) -> AccessRequest {
    let mut context = RequestContext::new();
    let arn = match state
        .cluster_index_in(id, region)
        .map(|i| &state.clusters[i])
    {
        Some(c) => {
            for (k, v) in &c.spec.tags {
                context.insert(&format!("aws:ResourceTag/{k}"), v);
                context.insert(&format!("elasticmapreduce:ResourceTag/{k}"), v);
            }
            c.arn.clone()
        }
        None => cluster_arn(region, id),
    };
    AccessRequest::new(&emr(action), &arn).with_context(context)
}

/// `iam:PassRole` of a role named by name, path/name or ARN, to `service`.
fn pass_role(role: &str, service: &str) -> AccessRequest {
    let arn = if role.starts_with("arn:") {
        // An instance profile's role is assumed to carry the profile's name.
        role.replacen(":instance-profile/", ":role/", 1)
    } else {
        format!(
            "arn:aws:iam::{ACCOUNT_ID}:role/{}",
            role.trim_start_matches('/')
        )
    };
    let context = RequestContext::new().with("iam:PassedToService", service);
    AccessRequest::new("iam:PassRole", &arn).with_context(context)
}

fn tag_pairs(tags: Option<Vec<wire::Tag>>) -> Vec<(String, String)> {
    tags.unwrap_or_default()
        .into_iter()
        .filter_map(|t| Some((t.key?, t.value.unwrap_or_default())))
        .collect()
}

/// Every authorization the call needs. The body is read with the operation's own input shape,
/// so a body that does not parse is not checked: the operation answers its
/// SerializationException, with no effect. Likewise a missing id: its ValidationException.
fn checks(state: &mut State, op: &str, body: &[u8], region: &str) -> Vec<AccessRequest> {
    let on = |state: &State, id: Option<String>| -> Vec<AccessRequest> {
        id.map(|id| on_cluster(state, op, &id, region))
            .into_iter()
            .collect()
    };
    let checks = match op {
        "RunJobFlow" => ops::parse(body).map(|input| run_job_flow_checks(state, input, region)),
        "ListClusters" => Ok(vec![AccessRequest::new(&emr(op), "*")]),
        // Other services' actions that support no resource-level permissions.
        "GetResources" => Ok(vec![AccessRequest::new("tag:GetResources", "*")]),
        "GetProducts" => Ok(vec![AccessRequest::new("pricing:GetProducts", "*")]),
        "DescribeSpotPriceHistory" => Ok(vec![AccessRequest::new(
            "ec2:DescribeSpotPriceHistory",
            "*",
        )]),
        "DescribeCluster"
        | "GetAutoTerminationPolicy"
        | "ListInstances"
        | "ListInstanceGroups"
        | "ListInstanceFleets" => {
            ops::parse::<wire::ClusterIdInput>(body).map(|i| on(state, i.cluster_id))
        }
        "ListSteps" => ops::parse::<wire::ListStepsInput>(body).map(|i| on(state, i.cluster_id)),
        "DescribeStep" => {
            ops::parse::<wire::DescribeStepInput>(body).map(|i| on(state, i.cluster_id))
        }
        "CancelSteps" => {
            ops::parse::<wire::CancelStepsInput>(body).map(|i| on(state, i.cluster_id))
        }
        "AddJobFlowSteps" => {
            ops::parse::<wire::AddJobFlowStepsInput>(body).map(|i| on(state, i.job_flow_id))
        }
        "TerminateJobFlows" | "SetTerminationProtection" => {
            ops::parse::<wire::JobFlowIdsInput>(body).map(|i| {
                let ids = i.job_flow_ids.unwrap_or_default();
                ids.iter()
                    .map(|id| on_cluster(state, op, id, region))
                    .collect()
            })
        }
        "AddTags" => ops::parse::<wire::AddTagsInput>(body).map(|i| {
            let mut requests = on(state, i.resource_id);
            let pairs = tag_pairs(i.tags);
            for r in &mut requests {
                request_tags(&mut r.context, &pairs);
            }
            requests
        }),
        "RemoveTags" => ops::parse::<wire::RemoveTagsInput>(body).map(|i| {
            let mut requests = on(state, i.resource_id);
            let keys = i.tag_keys.unwrap_or_default();
            for r in &mut requests {
                tag_keys(&mut r.context, keys.iter().map(String::as_str));
            }
            requests
        }),
        op if ops::service(op) == ops::Service::EmrServerless => {
            ops::parse::<serde_json::Value>(body).map(|i| serverless_checks(state, op, &i, region))
        }
        _ => Ok(Vec::new()),
    };
    checks.unwrap_or_default()
}

const TO_EMR_SERVERLESS: &str = "emr-serverless.amazonaws.com";

/// `emr-serverless:<op>` on an application's or job run's ARN, with its tags as `aws:ResourceTag/…` (none for
/// one that does not exist).
fn on_serverless(op: &str, arn: &str, tags: Option<&BTreeMap<String, String>>) -> AccessRequest {
    let mut context = RequestContext::new();
    for (k, v) in tags.into_iter().flatten() {
        context.insert(&format!("aws:ResourceTag/{k}"), v);
    }
    AccessRequest::new(&format!("emr-serverless:{op}"), arn).with_context(context)
}

/// What an EMR Serverless call asks IAM (Service Authorization Reference for Amazon EMR Serverless). A call
/// missing the id it acts on is not checked: its ValidationException comes first.
fn serverless_checks(
    state: &mut State,
    op: &str,
    input: &serde_json::Value,
    region: &str,
) -> Vec<AccessRequest> {
    use crate::serverless::{application_arn, ops as sops};
    let text = |k: &str| {
        input
            .get(k)
            .and_then(serde_json::Value::as_str)
            .map(String::from)
    };
    let pairs = |input: &serde_json::Value| -> Vec<(String, String)> {
        sops::tags_of(input)
            .unwrap_or_default()
            .into_iter()
            .collect()
    };
    let app_id = text("applicationId");
    let app = app_id
        .as_deref()
        .and_then(|id| state.serverless.app_index(id, region));
    let app_arn = app_id.as_deref().map(|id| application_arn(region, id));
    let app_tags = app.map(|i| &state.serverless.apps[i].tags);
    match op {
        "ListApplications" => vec![AccessRequest::new("emr-serverless:ListApplications", "*")],
        "CreateApplication" => {
            let mut context = RequestContext::new();
            aws_request_tags(&mut context, &pairs(input));
            let arn = application_arn(region, state.upcoming_serverless_app_id());
            vec![AccessRequest::new("emr-serverless:CreateApplication", &arn).with_context(context)]
        }
        "GetApplication" | "StartApplication" | "StopApplication" | "DeleteApplication"
        | "ListJobRuns" => app_arn
            .map(|arn| on_serverless(op, &arn, app_tags))
            .into_iter()
            .collect(),
        "StartJobRun" => {
            let Some(arn) = app_arn else {
                return Vec::new();
            };
            let mut run = on_serverless(op, &arn, app_tags);
            aws_request_tags(&mut run.context, &pairs(input));
            let mut out = vec![run];
            if let Some(role) = text("executionRoleArn").filter(|r| !r.is_empty()) {
                out.push(pass_role(&role, TO_EMR_SERVERLESS));
            }
            out
        }
        "GetJobRun" | "CancelJobRun" => {
            let (Some(arn), Some(job_id)) = (app_arn, text("jobRunId")) else {
                return Vec::new();
            };
            let job = app.and_then(|a| state.serverless.job_index(a, &job_id));
            let tags = job.map(|j| &state.serverless.jobs[j].tags);
            vec![on_serverless(op, &format!("{arn}/jobruns/{job_id}"), tags)]
        }
        "TagResource" | "UntagResource" | "ListTagsForResource" => {
            let Some(arn) = text("resourceArn") else {
                return Vec::new();
            };
            let tags = match sops::find_tagged(state, input, region) {
                Ok(sops::Tagged::App(i)) => Some(&state.serverless.apps[i].tags),
                Ok(sops::Tagged::Job(j)) => Some(&state.serverless.jobs[j].tags),
                Err(_) => None,
            };
            let mut request = on_serverless(op, &arn, tags);
            match op {
                "TagResource" => aws_request_tags(&mut request.context, &pairs(input)),
                "UntagResource" => {
                    let keys: Vec<String> = input
                        .get("tagKeys")
                        .and_then(serde_json::Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(|k| k.as_str().map(String::from))
                                .collect()
                        })
                        .unwrap_or_default();
                    tag_keys(&mut request.context, keys.iter().map(String::as_str));
                }
                _ => {}
            }
            vec![request]
        }
        _ => Vec::new(),
    }
}

const TO_EMR: &str = "elasticmapreduce.amazonaws.com";
const TO_EC2: &str = "ec2.amazonaws.com";
const TO_AUTOSCALING: &str = "application-autoscaling.amazonaws.com";

fn run_job_flow_checks(
    state: &mut State,
    input: wire::RunJobFlowInput,
    region: &str,
) -> Vec<AccessRequest> {
    let tags = tag_pairs(input.tags);
    let mut tag_context = RequestContext::new();
    request_tags(&mut tag_context, &tags);
    let mut out =
        vec![AccessRequest::new(&emr("RunJobFlow"), "*").with_context(tag_context.clone())];
    // Tag-on-create and the auto-termination policy are authorized on the cluster to be: its
    // ARN carries the id it will get, and it has no tags yet.
    let mut on_new_cluster = |action: &str| {
        let arn = cluster_arn(region, state.upcoming_cluster_id());
        out.push(AccessRequest::new(&emr(action), &arn).with_context(tag_context.clone()));
    };
    if !tags.is_empty() {
        on_new_cluster("AddTags");
    }
    if input.auto_termination_policy.is_some() {
        on_new_cluster("PutAutoTerminationPolicy");
    }
    let roles = [
        (input.service_role, TO_EMR),
        (input.job_flow_role, TO_EC2),
        (input.auto_scaling_role, TO_AUTOSCALING),
    ];
    for (role, service) in roles {
        if let Some(role) = role.filter(|r| !r.is_empty()) {
            out.push(pass_role(&role, service));
        }
    }
    out
}
