//! IAM enforcement: policies read from the deployed template (`infra/template.yaml`), and EMR
//! calls through the real SDK authorized against them.

mod common;

use std::collections::BTreeMap;

use aws_sdk_emr::error::ProvideErrorMetadata;
use aws_sdk_emr::types::{AutoTerminationPolicy, Tag};
use aws_sdk_emr::Client;
use emr_emulator::iam::{AccessRequest, Decision, Iam, RequestContext, StackContext};
use emr_emulator::{EmulatorHandle, Faults};
use serde_json::{json, Value};

use common::*;

const ACCOUNT: &str = "123456789012";
const MANAGED: &str = "dataflow-runner:managed";
const EXECUTION: &str = "dataflow-runner:execution";

fn template() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/template.yaml");
    std::fs::read_to_string(path).expect("infra/template.yaml")
}

fn documents(ctx: &StackContext, logical_id: &str) -> Vec<Value> {
    Iam::policies_from_template(&template(), ctx, logical_id)
        .unwrap_or_else(|e| panic!("{logical_id}: {e}"))
}

/// Every statement of a principal's documents.
fn statements(docs: &[Value]) -> Vec<Value> {
    docs.iter()
        .flat_map(|d| match &d["Statement"] {
            Value::Array(list) => list.clone(),
            one => vec![one.clone()],
        })
        .collect()
}

fn actions(statement: &Value) -> Vec<String> {
    match &statement["Action"] {
        Value::String(a) => vec![a.clone()],
        Value::Array(list) => list
            .iter()
            .filter_map(|a| a.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}

fn granting<'a>(statements: &'a [Value], action: &str) -> Vec<&'a Value> {
    statements
        .iter()
        .filter(|s| actions(s).iter().any(|a| a == action))
        .collect()
}

fn execution_arn(machine: &str) -> String {
    format!("arn:aws:states:eu-west-1:{ACCOUNT}:execution:dataflow-runner-{machine}:run-1")
}

fn managed_tags(machine: &str) -> Vec<(String, String)> {
    vec![
        (MANAGED.to_string(), "true".to_string()),
        (EXECUTION.to_string(), execution_arn(machine)),
    ]
}

// ------------------------------------------------------------ template extraction

const FUNCTIONS: [&str; 4] = [
    "LaunchClusterFunction",
    "AddStepsFunction",
    "CheckStatusFunction",
    "TerminateClusterFunction",
];

#[test]
fn when_reading_each_function_should_resolve_every_intrinsic_of_its_role() {
    let ctx = StackContext::default();
    for f in FUNCTIONS {
        let docs = documents(&ctx, f);
        let text = serde_json::to_string(&docs).unwrap();
        for leftover in ["${", "Fn::", "\"Ref\"", "!"] {
            assert!(!text.contains(leftover), "{f}: {leftover} left in {text}");
        }
        let all = statements(&docs);
        assert!(!all.is_empty(), "{f}");
        assert!(
            all.iter().any(|s| actions(s)
                .iter()
                .any(|a| a.starts_with("elasticmapreduce:"))),
            "{f} calls EMR"
        );
        // Its own log group, by the name the template gives it.
        let logs = granting(&all, "logs:PutLogEvents");
        assert!(
            logs.iter().any(|s| s["Resource"]
                .as_str()
                .is_some_and(|r| r.starts_with(&format!(
                    "arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:/aws/lambda/dataflow-runner/"
                )) && r.ends_with(":*"))),
            "{f}: {logs:?}"
        );
    }
}

#[test]
fn when_check_status_reads_a_cluster_should_need_the_managed_tag() {
    let docs = documents(&StackContext::default(), "CheckStatusFunction");
    let all = statements(&docs);
    let describe = granting(&all, "elasticmapreduce:DescribeCluster");
    assert!(!describe.is_empty());
    for s in &describe {
        assert_eq!(
            s["Condition"]["StringEquals"][format!("aws:ResourceTag/{MANAGED}")],
            json!("true"),
            "{s}"
        );
        let executions =
            s["Condition"]["StringLike"][format!("aws:ResourceTag/{EXECUTION}")].to_string();
        assert!(
            executions.contains(&format!(
                "arn:aws:states:eu-west-1:{ACCOUNT}:execution:dataflow-runner-up:*"
            )),
            "{executions}"
        );
    }

    let iam = Iam::new()
        .principal_from_template(
            "AKIDCHECK",
            &template(),
            &StackContext::default(),
            "CheckStatusFunction",
        )
        .unwrap();
    let principal = iam.get("AKIDCHECK").unwrap();
    let arn = format!("arn:aws:elasticmapreduce:eu-west-1:{ACCOUNT}:cluster/j-1");
    let mut tagged = RequestContext::new();
    for (k, v) in managed_tags("up") {
        tagged.insert(&format!("aws:ResourceTag/{k}"), &v);
    }
    let request = AccessRequest::new("elasticmapreduce:DescribeCluster", &arn);
    assert_eq!(
        principal.decide(&request.clone().with_context(tagged)),
        Decision::Allow
    );
    assert_eq!(principal.decide(&request), Decision::ImplicitDeny);
}

#[test]
fn when_stack_context_changes_should_resolve_names_and_parameters_for_it() {
    let default = serde_json::to_string(&documents(
        &StackContext::default(),
        "LaunchClusterFunction",
    ))
    .unwrap();
    assert!(default.contains(&format!("arn:aws:iam::{ACCOUNT}:role/EMR_DefaultRole")));
    let ctx = StackContext {
        stack_name: "nightly".to_string(),
        region: "us-east-1".to_string(),
        ..StackContext::default()
    }
    .with_parameter("EmrServiceRoleName", "emr/Custom");
    let other = serde_json::to_string(&documents(&ctx, "LaunchClusterFunction")).unwrap();
    assert!(
        other.contains(&format!("arn:aws:iam::{ACCOUNT}:role/emr/Custom")),
        "{other}"
    );
    assert!(!other.contains("EMR_DefaultRole"));
    assert!(other.contains(&format!(
        "arn:aws:states:us-east-1:{ACCOUNT}:execution:nightly-up:*"
    )));
    assert!(other.contains("log-group:/aws/lambda/nightly/launch-cluster:*"));

    let unknown = StackContext::default().with_parameter("NoSuchParameter", "x");
    let err =
        Iam::policies_from_template(&template(), &unknown, "LaunchClusterFunction").unwrap_err();
    assert!(err.contains("NoSuchParameter"), "{err}");
}

#[test]
fn when_config_bucket_is_empty_should_drop_the_conditional_statement() {
    let reads = |ctx: &StackContext| {
        let all = statements(&documents(ctx, "LaunchClusterFunction"));
        granting(&all, "s3:GetObject")
            .iter()
            .map(|s| s["Resource"].clone())
            .collect::<Vec<_>>()
    };
    assert!(
        reads(&StackContext::default()).is_empty(),
        "no bucket: no S3 statement"
    );
    let ctx = StackContext::default()
        .with_parameter("ConfigBucket", "acme-configs")
        .with_parameter("ConfigPrefix", "dataflow-runner/");
    assert_eq!(
        reads(&ctx),
        [json!("arn:aws:s3:::acme-configs/dataflow-runner/*")]
    );
}

#[test]
fn when_principal_is_named_by_role_or_function_should_get_the_same_policies() {
    let ctx = StackContext::default();
    assert_eq!(
        documents(&ctx, "CheckStatusFunction"),
        documents(&ctx, "CheckStatusRole")
    );
    let iam = Iam::new()
        .principal_from_template("A", &template(), &ctx, "TerminateClusterFunction")
        .unwrap();
    let p = iam.get("A").unwrap();
    assert_eq!(p.name(), "dataflow-runner-TerminateClusterRole");
    assert_eq!(p.logical_id(), Some("TerminateClusterFunction"));
    // The managed tracing policy comes along with the inline one.
    assert!(p.documents().len() >= 2, "{:?}", p.documents());
}

#[test]
fn when_logical_id_is_not_a_role_or_function_should_say_so() {
    let ctx = StackContext::default();
    let err = Iam::policies_from_template(&template(), &ctx, "DeadLetterQueue").unwrap_err();
    assert!(err.contains("not a role or a function"), "{err}");
    let err = Iam::policies_from_template(&template(), &ctx, "Nope").unwrap_err();
    assert!(err.contains("Nope"), "{err}");
    let dup = Iam::new()
        .principal("K", "a", vec![])
        .unwrap()
        .principal("K", "b", vec![]);
    assert!(dup.is_err());
}

// ------------------------------------------------------------- over HTTP

fn allow(action: Value, resource: &str) -> Value {
    json!({"Effect": "Allow", "Action": action, "Resource": resource})
}

fn doc(statements: Vec<Value>) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

const ADMIN: &str = "AKIDADMIN";

/// A principal allowed everything, to set clusters up.
fn admin_iam() -> Iam {
    Iam::new()
        .principal(ADMIN, "admin", vec![doc(vec![allow(json!("*"), "*")])])
        .unwrap()
}

fn tags(pairs: &[(String, String)]) -> Vec<Tag> {
    pairs
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

async fn launch(
    client: &Client,
    name: &str,
    tag_pairs: &[(String, String)],
) -> Result<String, (String, String)> {
    client
        .run_job_flow()
        .name(name)
        .release_label("emr-7.1.0")
        .instances(instances(true))
        .service_role("EMR_DefaultRole")
        .job_flow_role("EMR_EC2_DefaultRole")
        .set_tags(Some(tags(tag_pairs)).filter(|t| !t.is_empty()))
        .send()
        .await
        .map(|out| out.job_flow_id.unwrap())
        .map_err(|e| {
            (
                e.code().unwrap_or_default().to_string(),
                e.message().unwrap_or_default().to_string(),
            )
        })
}

fn denial(action: &str, resource: &str, name: &str, key: &str) -> String {
    format!(
        "User: arn:aws:sts::{ACCOUNT}:assumed-role/{name}/{key} is not authorized to perform: {action} on resource: {resource} because no identity-based policy allows the {action} action"
    )
}

#[tokio::test]
async fn when_run_job_flow_carries_tags_should_need_add_tags_on_the_new_cluster() {
    let launcher = |extra: Vec<Value>| {
        let mut statements = vec![
            allow(json!("elasticmapreduce:RunJobFlow"), "*"),
            allow(
                json!("iam:PassRole"),
                &format!("arn:aws:iam::{ACCOUNT}:role/*"),
            ),
        ];
        statements.extend(extra);
        Iam::new()
            .principal("AKIDLAUNCH", "launcher", vec![doc(statements)])
            .unwrap()
    };
    let emr = frozen().iam(launcher(vec![])).start().await.unwrap();
    let client = client_as(&emr, "AKIDLAUNCH").await;

    launch(&client, "untagged", &[])
        .await
        .expect("no tags: RunJobFlow alone suffices");
    let (code, message) = launch(&client, "tagged", &managed_tags("up"))
        .await
        .unwrap_err();
    assert_eq!(code, "AccessDeniedException");
    let prefix = format!(
        "User: arn:aws:sts::{ACCOUNT}:assumed-role/launcher/AKIDLAUNCH is not authorized to perform: elasticmapreduce:AddTags on resource: arn:aws:elasticmapreduce:eu-west-1:{ACCOUNT}:cluster/j-"
    );
    assert!(message.starts_with(&prefix), "{message}");
    let promised = message[prefix.len() - 2..]
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(emr.clusters().len(), 1, "the denied call created nothing");
    assert_eq!(emr.calls().get("RunJobFlow").denied, 1);
    assert_eq!(emr.calls().denied, 1);

    emr.set_iam(Some(launcher(vec![allow(
        json!("elasticmapreduce:AddTags"),
        &format!("arn:aws:elasticmapreduce:*:{ACCOUNT}:cluster/*"),
    )])));
    let id = launch(&client, "tagged", &managed_tags("up"))
        .await
        .expect("allowed with AddTags");
    assert_eq!(id, promised, "authorized on the ARN the cluster then got");
    assert_eq!(emr.cluster(&id).unwrap().tags.len(), 2);
}

#[tokio::test]
async fn when_auto_termination_policy_is_set_should_need_put_auto_termination_policy() {
    let iam = Iam::new()
        .principal(
            "K",
            "launcher",
            vec![doc(vec![
                allow(json!("elasticmapreduce:RunJobFlow"), "*"),
                allow(json!("iam:PassRole"), "*"),
            ])],
        )
        .unwrap();
    let (emr, _) = start(frozen().iam(iam)).await;
    let client = client_as(&emr, "K").await;
    let err = client
        .run_job_flow()
        .name("idle")
        .release_label("emr-7.1.0")
        .instances(instances(true))
        .auto_termination_policy(AutoTerminationPolicy::builder().idle_timeout(3600).build())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("AccessDeniedException"));
    assert!(err.message().unwrap().contains(
        "perform: elasticmapreduce:PutAutoTerminationPolicy on resource: arn:aws:elasticmapreduce:"
    ));
}

#[tokio::test]
async fn when_passing_a_role_not_granted_should_deny_iam_pass_role() {
    let pass = |role: &str, service: &str| {
        json!({"Effect": "Allow", "Action": "iam:PassRole",
               "Resource": format!("arn:aws:iam::{ACCOUNT}:role/{role}"),
               "Condition": {"StringEquals": {"iam:PassedToService": service}}})
    };
    let iam = Iam::new()
        .principal(
            "K",
            "launcher",
            vec![doc(vec![
                allow(json!("elasticmapreduce:RunJobFlow"), "*"),
                pass("EMR_DefaultRole", "elasticmapreduce.amazonaws.com"),
                pass("EMR_EC2_DefaultRole", "ec2.amazonaws.com"),
            ])],
        )
        .unwrap();
    let (emr, _) = start(frozen().iam(iam)).await;
    let client = client_as(&emr, "K").await;
    let attempt = |service_role: &'static str, instance_role: &'static str| {
        client
            .run_job_flow()
            .name("roles")
            .release_label("emr-7.1.0")
            .instances(instances(true))
            .service_role(service_role)
            .job_flow_role(instance_role)
            .send()
    };
    attempt("EMR_DefaultRole", "EMR_EC2_DefaultRole")
        .await
        .expect("the granted roles");

    let err = attempt("EMR_DefaultRole", "AdminRole").await.unwrap_err();
    assert_eq!(err.code(), Some("AccessDeniedException"));
    assert_eq!(
        err.message(),
        Some(
            denial(
                "iam:PassRole",
                &format!("arn:aws:iam::{ACCOUNT}:role/AdminRole"),
                "launcher",
                "K"
            )
            .as_str()
        )
    );
    // The right role to the wrong service is denied too.
    let err = attempt("EMR_EC2_DefaultRole", "EMR_EC2_DefaultRole")
        .await
        .unwrap_err();
    assert!(err.message().unwrap().contains("role/EMR_EC2_DefaultRole"));
    assert_eq!(emr.clusters().len(), 1);
}

/// An emulator enforcing the template's policies for `function` (as `key`), plus an admin.
async fn with_function(key: &str, function: &str) -> (EmulatorHandle, Client, Client) {
    let iam = admin_iam()
        .principal_from_template(key, &template(), &StackContext::default(), function)
        .unwrap();
    let (emr, _) = start(frozen().iam(iam)).await;
    let admin_client = client_as(&emr, ADMIN).await;
    let client = client_as(&emr, key).await;
    (emr, admin_client, client)
}

#[tokio::test]
async fn when_cluster_lacks_the_managed_tag_describe_should_be_denied() {
    let (emr, admin_client, check) = with_function("AKIDCHECK", "CheckStatusFunction").await;
    let ours = launch(&admin_client, "ours", &managed_tags("run-transient"))
        .await
        .unwrap();
    let foreign = launch(&admin_client, "foreign", &[]).await.unwrap();

    describe(&check, &ours).await;
    let err = check
        .describe_cluster()
        .cluster_id(&foreign)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("AccessDeniedException"));
    assert_eq!(
        err.message(),
        Some(
            denial(
                "elasticmapreduce:DescribeCluster",
                &format!("arn:aws:elasticmapreduce:eu-west-1:{ACCOUNT}:cluster/{foreign}"),
                "dataflow-runner-CheckStatusRole",
                "AKIDCHECK"
            )
            .as_str()
        )
    );
    // An unknown id has no tags either: denied before it could be found missing.
    let err = check
        .describe_cluster()
        .cluster_id("j-NOSUCHCLUSTER")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("AccessDeniedException"));
    // Another stack's execution tag is not ours.
    let other = vec![
        (MANAGED.to_string(), "true".to_string()),
        (
            EXECUTION.to_string(),
            format!("arn:aws:states:eu-west-1:{ACCOUNT}:execution:other-up:run-1"),
        ),
    ];
    let theirs = launch(&admin_client, "theirs", &other).await.unwrap();
    let err = check
        .list_steps()
        .cluster_id(&theirs)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("AccessDeniedException"));
    assert_eq!(emr.calls().get("DescribeCluster").denied, 2);
    assert_eq!(emr.calls().get("DescribeCluster").succeeded, 1);
}

#[tokio::test]
async fn when_access_key_is_unknown_should_answer_unrecognized_client() {
    let (emr, _) = start(frozen().iam(admin_iam())).await;
    let stranger = client_as(&emr, "AKIDNOBODY").await;
    let err = stranger.list_clusters().send().await.unwrap_err();
    assert_eq!(err.code(), Some("UnrecognizedClientException"));
    assert_eq!(
        err.message(),
        Some("The security token included in the request is invalid.")
    );
    let (status, body) = emr_raw(&emr, "ListClusters", "{}").await;
    assert_eq!(status, Some(400));
    assert_eq!(body["__type"], "UnrecognizedClientException", "unsigned");
    assert_eq!(emr.calls().get("ListClusters").denied, 2);

    emr.set_iam(None);
    stranger
        .list_clusters()
        .send()
        .await
        .expect("enforcement off: anyone");
}

#[tokio::test]
async fn when_one_terminate_id_is_not_authorized_should_terminate_none() {
    let (_emr, admin_client, terminate) =
        with_function("AKIDTERM", "TerminateClusterFunction").await;
    let ours = launch(&admin_client, "ours", &managed_tags("up"))
        .await
        .unwrap();
    let foreign = launch(&admin_client, "foreign", &[]).await.unwrap();

    let err = terminate
        .terminate_job_flows()
        .job_flow_ids(&ours)
        .job_flow_ids(&foreign)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("AccessDeniedException"));
    assert!(err
        .message()
        .unwrap()
        .contains(&format!("cluster/{foreign}")));
    for id in [&ours, &foreign] {
        assert_eq!(state(&admin_client, id).await.as_str(), "STARTING", "{id}");
    }
    terminate
        .terminate_job_flows()
        .job_flow_ids(&ours)
        .send()
        .await
        .unwrap();
    assert_eq!(state(&admin_client, &ours).await.as_str(), "TERMINATING");
}

#[tokio::test]
async fn when_a_deny_statement_matches_should_say_explicit_deny() {
    let iam = Iam::new()
        .principal(
            "K",
            "careful",
            vec![
                doc(vec![allow(json!("elasticmapreduce:*"), "*")]),
                doc(vec![
                    json!({"Effect": "Deny", "Action": "elasticmapreduce:List*", "Resource": "*"}),
                ]),
            ],
        )
        .unwrap();
    let (emr, _) = start(frozen().iam(iam)).await;
    let client = client_as(&emr, "K").await;
    let err = client.list_clusters().send().await.unwrap_err();
    assert_eq!(
        err.message(),
        Some(format!("User: arn:aws:sts::{ACCOUNT}:assumed-role/careful/K is not authorized to perform: elasticmapreduce:ListClusters on resource: * with an explicit deny in an identity-based policy").as_str())
    );
}

#[tokio::test]
async fn when_requests_arrive_should_record_each_with_caller_body_and_answer() {
    let (emr, admin_client, check) = with_function("AKIDCHECK", "CheckStatusFunction").await;
    let id = launch(&admin_client, "recorded", &[]).await.unwrap();
    let _ = check.describe_cluster().cluster_id(&id).send().await;
    let _ = emr_raw(&emr, "", "{}").await;

    let requests = emr.requests();
    assert_eq!(requests.len(), 3);
    let run = &requests[0];
    assert_eq!(run.operation, "RunJobFlow");
    assert_eq!(run.access_key_id.as_deref(), Some(ADMIN));
    assert_eq!(run.region, "eu-west-1");
    assert_eq!(
        serde_json::from_str::<Value>(&run.body).unwrap()["Name"],
        "recorded"
    );
    assert_eq!((run.status, run.error_type.as_deref()), (Some(200), None));
    let denied = &requests[1];
    assert_eq!(denied.operation, "DescribeCluster");
    assert_eq!(denied.access_key_id.as_deref(), Some("AKIDCHECK"));
    assert_eq!(
        (denied.status, denied.error_type.as_deref()),
        (Some(400), Some("AccessDeniedException"))
    );
    assert_eq!(
        requests[2].error_type.as_deref(),
        Some("UnknownOperationException")
    );

    emr.set_faults(Faults::none().with_lost_responses("ListClusters", 1))
        .unwrap();
    let _ = admin_client.list_clusters().send().await;
    let lost = emr.requests().pop().unwrap();
    assert_eq!(
        (lost.operation.as_str(), lost.status),
        ("ListClusters", None)
    );

    let (status, listed) = admin(&emr, "GET", "/_emulator/requests", "").await;
    assert_eq!(status, 200);
    assert_eq!(listed["requests"][1]["accessKeyId"], "AKIDCHECK");
    assert_eq!(listed["requests"][1]["errorType"], "AccessDeniedException");
    emr.reset();
    assert!(emr.requests().is_empty());
    assert!(emr.iam().is_some(), "reset keeps IAM");
}

#[tokio::test]
async fn when_iam_is_set_through_the_admin_api_should_enforce_and_show_it() {
    let (emr, _) = start(frozen()).await;
    let mut principals = BTreeMap::new();
    principals.insert("AKIDCHECK", json!("CheckStatusFunction"));
    principals.insert(
        ADMIN,
        json!({"name": "admin", "policies": [doc(vec![allow(json!("*"), "*")])]}),
    );
    let body = json!({
        "template": template(),
        "stack": {"stackName": "nightly", "parameters": {"ConfigBucket": "acme"}},
        "principals": principals,
    });
    let (status, shown) = admin(&emr, "PUT", "/_emulator/iam", &body.to_string()).await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["enforced"], true);
    let check = &shown["principals"]["AKIDCHECK"];
    assert_eq!(check["name"], "nightly-CheckStatusRole");
    assert_eq!(check["logicalId"], "CheckStatusFunction");
    assert!(check["policies"]
        .to_string()
        .contains("execution:nightly-up:*"));
    assert_eq!(admin(&emr, "GET", "/_emulator/iam", "").await.1, shown);

    let admin_client = client_as(&emr, ADMIN).await;
    let id = launch(&admin_client, "x", &managed_tags("up"))
        .await
        .unwrap();
    let err = client_as(&emr, "AKIDCHECK")
        .await
        .describe_cluster()
        .cluster_id(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some("AccessDeniedException"),
        "tagged for another stack name"
    );

    let bad = json!({"principals": {"K": "CheckStatusFunction"}});
    let (status, answer) = admin(&emr, "PUT", "/_emulator/iam", &bad.to_string()).await;
    assert_eq!(status, 400);
    assert!(
        answer["error"].as_str().unwrap().contains("no template"),
        "{answer}"
    );

    let (status, off) = admin(&emr, "DELETE", "/_emulator/iam", "").await;
    assert_eq!((status, off["enforced"].clone()), (200, json!(false)));
    client_as(&emr, "ANYONE")
        .await
        .list_clusters()
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn when_the_binary_gets_a_template_should_enforce_its_principals() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/template.yaml");
    let (line, answer) = binary_get(
        &[
            "--port",
            "0",
            "--iam-template",
            path,
            "--stack-name",
            "nightly",
            "--template-parameter",
            "ConfigBucket=acme",
            "--principal",
            "AKIDCHECK=CheckStatusFunction",
            "--principal",
            "AKIDLAUNCH=LaunchClusterRole",
        ],
        "/_emulator/iam",
    )
    .await;
    let shown = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    let shown: Value =
        serde_json::from_str(shown).unwrap_or_else(|_| panic!("first line {line:?}, body {shown}"));
    assert_eq!(shown["enforced"], true);
    assert_eq!(
        shown["principals"]["AKIDCHECK"]["name"],
        "nightly-CheckStatusRole"
    );
    assert_eq!(
        shown["principals"]["AKIDLAUNCH"]["name"],
        "nightly-LaunchClusterRole"
    );
    assert!(shown["principals"]["AKIDLAUNCH"]["policies"]
        .to_string()
        .contains("arn:aws:s3:::acme/*"));

    let status = std::process::Command::new(env!("CARGO_BIN_EXE_emr-emulator"))
        .args(["--port", "0", "--principal", "K=CheckStatusFunction"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success(), "--principal without --iam-template");
}

#[tokio::test]
async fn when_body_does_not_parse_should_answer_serialization_not_denied() {
    let (emr, _, _) = with_function("AKIDCHECK", "CheckStatusFunction").await;
    let signed = |body: &'static str| {
        let emr = &emr;
        async move {
            let headers = [
                ("Content-Type", "application/x-amz-json-1.1"),
                ("X-Amz-Target", "ElasticMapReduce.DescribeCluster"),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIDCHECK/20240101/eu-west-1/elasticmapreduce/aws4_request, SignedHeaders=host, Signature=0",
                ),
            ];
            let (status, text) = raw(emr, "POST", "/", &headers, body).await;
            let body: Value = serde_json::from_str(&text).unwrap();
            (
                status,
                body["__type"].as_str().unwrap_or_default().to_string(),
            )
        }
    };
    assert_eq!(
        signed(r#"{"ClusterId": 5}"#).await,
        (Some(400), "SerializationException".to_string())
    );
    // Members the operation ignores do not get a call past IAM.
    assert_eq!(
        signed(r#"{"ClusterId": "j-1", "Tags": "x"}"#).await,
        (Some(400), "AccessDeniedException".to_string())
    );
    let calls = emr.calls().get("DescribeCluster");
    assert_eq!((calls.client_errors, calls.denied), (1, 1));
    assert_eq!(
        emr.requests()[0].access_key_id.as_deref(),
        Some("AKIDCHECK")
    );
}

#[tokio::test]
async fn when_another_service_asks_should_authorize_against_the_same_principals() {
    let (emr, _) = start(frozen()).await;
    let body = json!({
        "template": template(),
        "stack": {"parameters": {"ConfigBucket": "acme", "ConfigPrefix": "dfr/"}},
        "principals": {"AKIDLAUNCH": "LaunchClusterFunction", "AKIDCHECK": "CheckStatusFunction"},
    });
    let (status, shown) = admin(&emr, "PUT", "/_emulator/iam", &body.to_string()).await;
    assert_eq!(status, 200, "{shown}");
    let ask = |key: &str, resource: &str| {
        json!({"accessKeyId": key, "region": "eu-west-1", "action": "s3:GetObject", "resource": resource})
            .to_string()
    };
    let path = "/_emulator/iam/authorize";
    let (_, ok) = admin(
        &emr,
        "POST",
        path,
        &ask("AKIDLAUNCH", "arn:aws:s3:::acme/dfr/c.json"),
    )
    .await;
    assert_eq!(ok["allowed"], true, "{ok}");
    for (key, resource) in [
        ("AKIDLAUNCH", "arn:aws:s3:::other/dfr/c.json"),
        ("AKIDLAUNCH", "arn:aws:s3:::acme/secrets/c.json"),
        ("AKIDCHECK", "arn:aws:s3:::acme/dfr/c.json"),
    ] {
        let (_, no) = admin(&emr, "POST", path, &ask(key, resource)).await;
        assert_eq!(no["allowed"], false, "{key} {resource}");
        assert_eq!(no["error"], "AccessDeniedException");
        assert!(no["message"].as_str().unwrap().contains(resource), "{no}");
    }
    let (_, unknown) = admin(
        &emr,
        "POST",
        path,
        &ask("AKIDNOBODY", "arn:aws:s3:::acme/dfr/c.json"),
    )
    .await;
    assert_eq!(unknown["error"], "UnrecognizedClientException");
}
