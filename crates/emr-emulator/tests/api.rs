//! Request validation, listing and pagination, tags, error shapes: through the real SDK where it
//! can send the request, over raw HTTP where the SDK would refuse to.

mod common;

use aws_sdk_emr::error::ProvideErrorMetadata;
use aws_sdk_emr::operation::describe_cluster::DescribeClusterError;
use aws_sdk_emr::types::{
    ActionOnFailure as Aof, AutoTerminationPolicy, ClusterState as Cs, EbsBlockDeviceConfig,
    EbsConfiguration, InstanceGroupConfig, InstanceRoleType, JobFlowInstancesConfig, StepState,
    Tag, VolumeSpecification,
};
use common::*;
use serde_json::{json, Value};

fn group_with_volume(volume_type: &str, iops: Option<i32>) -> JobFlowInstancesConfig {
    let volume = VolumeSpecification::builder()
        .volume_type(volume_type)
        .size_in_gb(100)
        .set_iops(iops)
        .build();
    let ebs = EbsConfiguration::builder()
        .ebs_block_device_configs(
            EbsBlockDeviceConfig::builder()
                .volume_specification(volume)
                .volumes_per_instance(1)
                .build(),
        )
        .build();
    let master = InstanceGroupConfig::builder()
        .instance_role(InstanceRoleType::Master)
        .instance_type("m5.xlarge")
        .instance_count(1)
        .ebs_configuration(ebs)
        .build();
    JobFlowInstancesConfig::builder()
        .instance_groups(master)
        .build()
}

#[tokio::test]
async fn when_listing_sixty_steps_should_page_newest_first_fifty_then_ten() {
    let (_emr, client) = start(frozen()).await;
    let id = run(&client, "many", true, vec![]).await;
    for i in 0..60 {
        client
            .add_job_flow_steps()
            .job_flow_id(&id)
            .steps(step(&format!("step-{i:02}"), Aof::Continue, &[]))
            .send()
            .await
            .unwrap();
    }
    let first = client.list_steps().cluster_id(&id).send().await.unwrap();
    let first_steps = first.steps.unwrap();
    assert_eq!(first_steps.len(), 50);
    assert_eq!(first_steps[0].name.as_deref(), Some("step-59"));
    assert_eq!(first_steps[49].name.as_deref(), Some("step-10"));
    let marker = first.marker.expect("a second page");
    let second = client
        .list_steps()
        .cluster_id(&id)
        .marker(marker)
        .send()
        .await
        .unwrap();
    let second_steps = second.steps.unwrap();
    assert_eq!(second_steps.len(), 10);
    assert_eq!(second_steps[0].name.as_deref(), Some("step-09"));
    assert_eq!(second_steps[9].name.as_deref(), Some("step-00"));
    assert!(second.marker.is_none());
}

#[tokio::test]
async fn when_filtering_steps_by_ids_and_states_should_return_only_those() {
    let (emr, client) = start(frozen()).await;
    let steps = (0..5)
        .map(|i| step(&format!("s{i}"), Aof::Continue, &[]))
        .collect();
    let id = run(&client, "filter", true, steps).await;
    emr.advance(480.0 + 600.0 + 1.0);
    let running = client
        .list_steps()
        .cluster_id(&id)
        .step_states(StepState::Running)
        .send()
        .await
        .unwrap()
        .steps
        .unwrap();
    assert_eq!(running.len(), 1);
    assert_eq!(running[0].name.as_deref(), Some("s1"));
    let all = all_steps(&client, &id).await;
    let wanted = [all[0].id.clone().unwrap(), all[4].id.clone().unwrap()];
    let by_id = client
        .list_steps()
        .cluster_id(&id)
        .set_step_ids(Some(wanted.to_vec()))
        .send()
        .await
        .unwrap()
        .steps
        .unwrap();
    let names: Vec<_> = by_id.iter().map(|s| s.name.clone().unwrap()).collect();
    assert_eq!(names, ["s4", "s0"]);
}

#[tokio::test]
async fn when_step_ids_filter_has_more_than_ten_ids_should_reject_with_validation_exception() {
    let (_emr, client) = start(frozen()).await;
    let id = run(&client, "c", true, vec![]).await;
    let ids: Vec<String> = (0..11).map(|i| format!("s-{i:013}")).collect();
    let err = client
        .list_steps()
        .cluster_id(&id)
        .set_step_ids(Some(ids))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    let ten: Vec<String> = (0..10).map(|i| format!("s-{i:013}")).collect();
    assert!(client
        .list_steps()
        .cluster_id(&id)
        .set_step_ids(Some(ten))
        .send()
        .await
        .is_ok());
}

/// EMR hands volumes to EBS, which provisions IOPS for gp3, io1 and io2 and refuses the setting for the others
/// (dfr-core's plan leaves `Iops` out for exactly those: `IOPS_VOLUME_TYPES`).
#[tokio::test]
async fn when_iops_is_given_with_a_volume_type_that_has_no_provisioned_iops_should_reject_with_validation_exception(
) {
    let (emr, client) = start(frozen()).await;
    for volume_type in ["gp2", "st1", "sc1", "standard"] {
        let err = client
            .run_job_flow()
            .name("iops")
            .instances(group_with_volume(volume_type, Some(3000)))
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("ValidationException"), "{volume_type}");
        assert!(err.message().unwrap().contains("IOPS"), "{volume_type}");
    }
    // Without Iops, or with a volume type that takes it, the launch goes through.
    client
        .run_job_flow()
        .name("no-iops")
        .instances(group_with_volume("gp2", None))
        .send()
        .await
        .unwrap();
    for volume_type in ["gp3", "io1", "io2"] {
        client
            .run_job_flow()
            .name(volume_type)
            .instances(group_with_volume(volume_type, Some(3000)))
            .send()
            .await
            .unwrap();
    }
    assert_eq!(emr.clusters().len(), 4);
}

#[tokio::test]
async fn when_step_concurrency_above_one_meets_cancel_and_wait_should_reject() {
    let (emr, client) = start(frozen()).await;
    let err = client
        .run_job_flow()
        .name("c")
        .instances(instances(true))
        .step_concurrency_level(2)
        .steps(step("A", Aof::CancelAndWait, &[]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    for level in [0, 257] {
        let err = client
            .run_job_flow()
            .name("c")
            .instances(instances(true))
            .step_concurrency_level(level)
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("ValidationException"), "level {level}");
    }
    // Adding such a step to a concurrent cluster is refused too.
    let id = client
        .run_job_flow()
        .name("c")
        .instances(instances(true))
        .step_concurrency_level(3)
        .send()
        .await
        .unwrap()
        .job_flow_id
        .unwrap();
    let err = client
        .add_job_flow_steps()
        .job_flow_id(&id)
        .steps(step("B", Aof::TerminateCluster, &[]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    assert_eq!(emr.clusters().len(), 1);
}

#[tokio::test]
async fn when_idle_timeout_is_out_of_range_should_reject() {
    let (_emr, client) = start(frozen()).await;
    for idle in [59, 604_801] {
        let err = client
            .run_job_flow()
            .name("c")
            .instances(instances(true))
            .auto_termination_policy(AutoTerminationPolicy::builder().idle_timeout(idle).build())
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("ValidationException"), "idle {idle}");
    }
}

#[tokio::test]
async fn when_cluster_id_is_unknown_should_answer_invalid_request_exception() {
    let (_emr, client) = start(frozen()).await;
    let err = client
        .describe_cluster()
        .cluster_id("j-NOTACLUSTER1")
        .send()
        .await
        .unwrap_err();
    let service = err.into_service_error();
    assert!(
        matches!(service, DescribeClusterError::InvalidRequestException(_)),
        "{service:?}"
    );
    assert_eq!(
        service.message(),
        Some("Cluster id 'j-NOTACLUSTER1' is not valid.")
    );
    let err = client
        .list_steps()
        .cluster_id("j-NOTACLUSTER1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidRequestException"));
}

#[tokio::test]
async fn when_required_members_are_missing_should_reject_with_validation_exception() {
    let (emr, client) = start(frozen()).await;
    let (status, body) = emr_raw(&emr, "RunJobFlow", r#"{"Instances":{"InstanceCount":1}}"#).await;
    assert_eq!(status, Some(400));
    assert_eq!(body["__type"], "ValidationException");
    let (_, body) = emr_raw(&emr, "RunJobFlow", r#"{"Name":"no-instances"}"#).await;
    assert_eq!(body["__type"], "ValidationException");
    let both = r#"{"Name":"x","Instances":{"InstanceGroups":[],"InstanceFleets":[]}}"#;
    let (_, body) = emr_raw(&emr, "RunJobFlow", both).await;
    assert_eq!(body["__type"], "ValidationException");
    // The SDK does not enforce required members client-side either.
    let err = client
        .run_job_flow()
        .instances(instances(true))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    assert!(emr.clusters().is_empty());
}

#[tokio::test]
async fn when_operation_or_body_is_unknown_should_answer_a_json_error() {
    let (emr, _client) = start(frozen()).await;
    let (status, body) = emr_raw(&emr, "DescribeJobFlowsPlease", "{}").await;
    assert_eq!(status, Some(400));
    assert_eq!(body["__type"], "UnknownOperationException");
    let (status, body) = emr_raw(&emr, "DescribeCluster", "{not json").await;
    assert_eq!(status, Some(400));
    assert_eq!(body["__type"], "SerializationException");
}

#[tokio::test]
async fn when_cluster_is_described_should_show_what_run_job_flow_asked_for() {
    let (_emr, client) = start(frozen()).await;
    let out = client
        .run_job_flow()
        .name("described")
        .release_label("emr-7.1.0")
        .log_uri("s3://logs/")
        .applications(
            aws_sdk_emr::types::Application::builder()
                .name("Spark")
                .build(),
        )
        .tags(Tag::builder().key("team").value("data").build())
        .instances(group_with_volume("gp3", None))
        .send()
        .await
        .unwrap();
    let id = out.job_flow_id.unwrap();
    assert!(
        id.starts_with("j-")
            && id.len() == 15
            && id[2..]
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()),
        "{id}"
    );
    assert_eq!(
        out.cluster_arn.unwrap(),
        format!("arn:aws:elasticmapreduce:eu-west-1:123456789012:cluster/{id}")
    );
    let c = describe(&client, &id).await;
    assert_eq!(c.name.as_deref(), Some("described"));
    assert_eq!(c.release_label.as_deref(), Some("emr-7.1.0"));
    assert_eq!(c.log_uri.as_deref(), Some("s3://logs/"));
    assert_eq!(c.auto_terminate, Some(true));
    assert_eq!(c.termination_protected, Some(false));
    assert_eq!(c.step_concurrency_level, Some(1));
    assert_eq!(
        c.instance_collection_type.unwrap().as_str(),
        "INSTANCE_GROUP"
    );
    assert_eq!(c.applications.unwrap()[0].name.as_deref(), Some("Spark"));
    assert_eq!(
        c.tags.unwrap(),
        vec![Tag::builder().key("team").value("data").build()]
    );
}

#[tokio::test]
async fn when_tags_are_added_and_removed_should_show_in_describe_cluster() {
    let (_emr, client) = start(frozen()).await;
    let id = run(&client, "tags", true, vec![]).await;
    client
        .add_tags()
        .resource_id(&id)
        .tags(Tag::builder().key("a").value("1").build())
        .tags(Tag::builder().key("b").value("2").build())
        .send()
        .await
        .unwrap();
    client
        .add_tags()
        .resource_id(&id)
        .tags(Tag::builder().key("a").value("3").build())
        .send()
        .await
        .unwrap();
    client
        .remove_tags()
        .resource_id(&id)
        .tag_keys("b")
        .send()
        .await
        .unwrap();
    let tags = describe(&client, &id).await.tags.unwrap();
    assert_eq!(tags, vec![Tag::builder().key("a").value("3").build()]);
    let err = client
        .add_tags()
        .resource_id("j-UNKNOWN000000")
        .tags(Tag::builder().key("a").build())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidRequestException"));
}

#[tokio::test]
async fn when_listing_clusters_should_filter_by_state_and_creation_time_and_page_by_fifty() {
    let (emr, client) = start(frozen()).await;
    let mut ids = Vec::new();
    for i in 0..55 {
        ids.push(run(&client, &format!("c{i:02}"), true, vec![]).await);
        emr.advance(10.0);
    }
    // 55 clusters created 10 s apart; the oldest reach WAITING first.
    emr.advance(480.0 - 550.0 + 100.0);
    let first = client.list_clusters().send().await.unwrap();
    let page = first.clusters.unwrap();
    assert_eq!(page.len(), 50);
    assert_eq!(page[0].id.as_ref(), Some(&ids[54]), "newest first");
    let second = client
        .list_clusters()
        .marker(first.marker.unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(second.clusters.unwrap().len(), 5);
    assert!(second.marker.is_none());

    let waiting = client
        .list_clusters()
        .cluster_states(Cs::Waiting)
        .send()
        .await
        .unwrap()
        .clusters
        .unwrap();
    let now = emr.now();
    let expected = ids
        .iter()
        .enumerate()
        .filter(|(i, _)| T0 + 10.0 * *i as f64 + 480.0 <= now)
        .count();
    assert_eq!(waiting.len(), expected);
    assert!(expected > 0 && expected < 55);

    let after = aws_sdk_emr::primitives::DateTime::from_secs_f64(T0 + 500.0);
    let recent = client
        .list_clusters()
        .created_after(after)
        .send()
        .await
        .unwrap()
        .clusters
        .unwrap();
    assert_eq!(recent.len(), 5);
    let before = aws_sdk_emr::primitives::DateTime::from_secs_f64(T0 + 5.0);
    let old = client
        .list_clusters()
        .created_before(before)
        .send()
        .await
        .unwrap()
        .clusters
        .unwrap();
    assert_eq!(old.len(), 1);
    assert_eq!(old[0].id.as_ref(), Some(&ids[0]));
}

#[tokio::test]
async fn when_too_many_steps_are_active_should_reject_the_addition() {
    let (_emr, client) = start(frozen()).await;
    let id = run(&client, "full", true, vec![]).await;
    for _ in 0..2 {
        let batch: Vec<_> = (0..128)
            .map(|i| step(&format!("s{i}"), Aof::Continue, &[]))
            .collect();
        client
            .add_job_flow_steps()
            .job_flow_id(&id)
            .set_steps(Some(batch))
            .send()
            .await
            .unwrap();
    }
    let err = client
        .add_job_flow_steps()
        .job_flow_id(&id)
        .steps(step("one-too-many", Aof::Continue, &[]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
}

#[tokio::test]
async fn when_a_marker_is_malformed_should_reject_the_step() {
    let (_emr, client) = start(frozen()).await;
    let id = run(&client, "m", true, vec![]).await;
    let err = client
        .add_job_flow_steps()
        .job_flow_id(&id)
        .steps(step("A", Aof::Continue, &["--emulator-outcome=MAYBE"]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
}

#[tokio::test]
async fn when_a_cluster_lives_in_another_region_should_be_invisible_here() {
    let (emr, here) = start(frozen()).await;
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_sdk_emr::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_emr::config::Credentials::new(
            "AKIDTEST", "s", None, None, "t",
        ))
        .endpoint_url(emr.endpoint_url())
        .load()
        .await;
    let there = aws_sdk_emr::Client::new(&config);
    let id = run(&there, "far", true, vec![]).await;
    assert!(describe(&there, &id)
        .await
        .cluster_arn()
        .unwrap()
        .contains(":us-east-1:"));
    let err = here
        .describe_cluster()
        .cluster_id(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_emr::error::ProvideErrorMetadata::code(&err),
        Some("InvalidRequestException")
    );
    let listed_here = here.list_clusters().send().await.unwrap();
    assert!(listed_here
        .clusters()
        .iter()
        .all(|c| c.id() != Some(id.as_str())));
    let listed_there = there.list_clusters().send().await.unwrap();
    assert!(listed_there
        .clusters()
        .iter()
        .any(|c| c.id() == Some(id.as_str())));
}

/// The tagging API's GetResources, served beside EMR: the caller region's clusters with their tags, filtered by
/// resource type and tag, a page at a time.
#[tokio::test]
async fn get_resources_lists_the_tagged_clusters_of_the_region_a_page_at_a_time() {
    let (emr, client) = start(frozen()).await;
    let mut managed = Vec::new();
    for i in 0..3 {
        let id = run(&client, &format!("managed-{i}"), true, vec![]).await;
        client
            .add_tags()
            .resource_id(&id)
            .tags(
                Tag::builder()
                    .key("dataflow-runner:managed")
                    .value("true")
                    .build(),
            )
            .send()
            .await
            .unwrap();
        managed.push(id);
    }
    let other = run(&client, "untagged", true, vec![]).await;
    let call = |body: String| {
        let emr = &emr;
        async move {
            let headers = [
                ("Content-Type", "application/x-amz-json-1.1"),
                ("X-Amz-Target", "ResourceGroupsTaggingAPI_20170126.GetResources"),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIDTEST/20261207/eu-west-1/tagging/aws4_request, SignedHeaders=host, Signature=0",
                ),
            ];
            let (status, text) = raw(emr, "POST", "/", &headers, &body).await;
            (
                status,
                serde_json::from_str::<Value>(&text).unwrap_or(Value::Null),
            )
        }
    };
    let filter = r#""ResourceTypeFilters":["elasticmapreduce:cluster"],"TagFilters":[{"Key":"dataflow-runner:managed","Values":["true"]}]"#;
    let (status, first) = call(format!(r#"{{{filter},"ResourcesPerPage":2}}"#)).await;
    assert_eq!(status, Some(200), "{first}");
    let page = first["ResourceTagMappingList"].as_array().unwrap();
    assert_eq!(page.len(), 2);
    let token = first["PaginationToken"].as_str().unwrap().to_string();
    assert!(!token.is_empty(), "a second page is announced");
    let (_, second) = call(format!(
        r#"{{{filter},"ResourcesPerPage":2,"PaginationToken":"{token}"}}"#
    ))
    .await;
    let rest = second["ResourceTagMappingList"].as_array().unwrap();
    assert_eq!(second["PaginationToken"], "", "the last page");
    let ids: Vec<String> = page
        .iter()
        .chain(rest)
        .map(|r| {
            assert_eq!(r["Tags"][0]["Key"], "dataflow-runner:managed");
            r["ResourceARN"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        ids, managed,
        "every tagged cluster once, the untagged {other} not"
    );
    // Another resource type, or a region with no clusters, lists nothing.
    let (_, none) = call(r#"{"ResourceTypeFilters":["ec2:instance"]}"#.to_string()).await;
    assert_eq!(none["ResourceTagMappingList"], json!([]));
}
