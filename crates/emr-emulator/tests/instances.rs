//! A cluster's instances through the real SDK: ListInstances, ListInstanceGroups, ListInstanceFleets and
//! NormalizedInstanceHours, following the cluster's lifecycle in virtual time.

mod common;

use aws_sdk_emr::error::ProvideErrorMetadata;
use aws_sdk_emr::types::{
    EbsBlockDeviceConfig, EbsConfiguration, Instance, InstanceFleetConfig, InstanceFleetType,
    InstanceGroupConfig, InstanceGroupType, InstanceRoleType, InstanceState, InstanceTypeConfig,
    JobFlowInstancesConfig, MarketType, PlacementType, VolumeSpecification,
};
use aws_sdk_emr::Client;
use common::*;
use emr_emulator::iam::Iam;
use emr_emulator::{default_rate_limits, Faults, RateLimit, Scenario};
use serde_json::json;

fn gp3(size: i32, count: i32) -> EbsConfiguration {
    let volume = VolumeSpecification::builder()
        .volume_type("gp3")
        .size_in_gb(size)
        .build();
    EbsConfiguration::builder()
        .ebs_block_device_configs(
            EbsBlockDeviceConfig::builder()
                .volume_specification(volume)
                .volumes_per_instance(count)
                .build(),
        )
        .build()
}

/// A master m5.xlarge on demand and `core` r5.2xlarge spot instances with two 100 GiB gp3 volumes each.
fn groups(core: i32, keep_alive: bool) -> JobFlowInstancesConfig {
    let master = InstanceGroupConfig::builder()
        .instance_role(InstanceRoleType::Master)
        .instance_type("m5.xlarge")
        .instance_count(1)
        .build();
    let core = InstanceGroupConfig::builder()
        .instance_role(InstanceRoleType::Core)
        .instance_type("r5.2xlarge")
        .instance_count(core)
        .market(MarketType::Spot)
        .bid_price("0.30")
        .ebs_configuration(gp3(100, 2))
        .build();
    JobFlowInstancesConfig::builder()
        .instance_groups(master)
        .instance_groups(core)
        .placement(
            PlacementType::builder()
                .availability_zone("eu-west-1b")
                .build(),
        )
        .keep_job_flow_alive_when_no_steps(keep_alive)
        .build()
}

async fn launch(client: &Client, name: &str, instances: JobFlowInstancesConfig) -> String {
    client
        .run_job_flow()
        .name(name)
        .release_label("emr-6.15.0")
        .instances(instances)
        .job_flow_role("EMR_EC2_DefaultRole")
        .send()
        .await
        .expect("RunJobFlow")
        .job_flow_id
        .expect("JobFlowId")
}

/// Every instance, following Markers; also returns how many pages it took.
async fn all_instances(client: &Client, id: &str) -> (Vec<Instance>, usize) {
    let mut out = Vec::new();
    let mut marker = None;
    let mut pages = 0;
    loop {
        let page = client
            .list_instances()
            .cluster_id(id)
            .set_marker(marker)
            .send()
            .await
            .expect("ListInstances");
        pages += 1;
        out.extend(page.instances.unwrap_or_default());
        marker = page.marker;
        if marker.is_none() {
            return (out, pages);
        }
    }
}

fn states(instances: &[Instance]) -> Vec<String> {
    instances
        .iter()
        .map(|i| {
            i.status()
                .and_then(|s| s.state())
                .unwrap()
                .as_str()
                .to_string()
        })
        .collect()
}

fn times(i: &Instance) -> (Option<f64>, Option<f64>, Option<f64>) {
    let t = i.status().and_then(|s| s.timeline()).unwrap();
    (
        t.creation_date_time().map(secs),
        t.ready_date_time().map(secs),
        t.end_date_time().map(secs),
    )
}

async fn nih(client: &Client, id: &str) -> i32 {
    describe(client, id)
        .await
        .normalized_instance_hours
        .unwrap()
}

#[tokio::test]
async fn when_a_cluster_lives_and_ends_its_instances_should_follow_it_in_virtual_time() {
    let (emr, client) = start(frozen()).await;
    let id = launch(&client, "timeline", groups(2, true)).await;

    let (starting, _) = all_instances(&client, &id).await;
    assert_eq!(states(&starting), ["PROVISIONING"; 3]);
    assert!(starting.iter().all(|i| times(i) == (Some(T0), None, None)));
    // The master first, on demand; the core instances spot, with the group's volumes.
    let master = &starting[0];
    assert_eq!(master.instance_type(), Some("m5.xlarge"));
    assert_eq!(master.market(), Some(&MarketType::OnDemand));
    assert_eq!(
        master.ec2_instance_id(),
        emr.cluster(&id).unwrap().instances[0]
            .ec2_instance_id
            .as_str()
            .into()
    );
    for core in &starting[1..] {
        assert_eq!(core.instance_type(), Some("r5.2xlarge"));
        assert_eq!(core.market(), Some(&MarketType::Spot));
        assert_eq!(core.ebs_volumes().len(), 2);
    }
    let cluster = describe(&client, &id).await;
    let attributes = cluster.ec2_instance_attributes().unwrap();
    assert_eq!(attributes.ec2_availability_zone(), Some("eu-west-1b"));
    assert_eq!(
        attributes.iam_instance_profile(),
        Some("EMR_EC2_DefaultRole")
    );
    assert_eq!(
        cluster.normalized_instance_hours,
        Some(0),
        "nothing ran yet"
    );

    emr.advance(300.0);
    assert_eq!(
        states(&all_instances(&client, &id).await.0),
        ["BOOTSTRAPPING"; 3]
    );
    emr.advance(180.0);
    let (ready, _) = all_instances(&client, &id).await;
    assert_eq!(states(&ready), ["RUNNING"; 3]);
    assert!(ready
        .iter()
        .all(|i| times(i) == (Some(T0), Some(T0 + 480.0), None)));
    // One started hour each: m5.xlarge counts 8, r5.2xlarge 16.
    assert_eq!(nih(&client, &id).await, 8 + 2 * 16);
    emr.advance(3600.0);
    assert_eq!(
        nih(&client, &id).await,
        2 * (8 + 2 * 16),
        "a second hour started"
    );

    client
        .terminate_job_flows()
        .job_flow_ids(&id)
        .send()
        .await
        .unwrap();
    let terminated_at = T0 + 480.0 + 3600.0;
    emr.advance(60.0);
    let (ended, _) = all_instances(&client, &id).await;
    assert_eq!(states(&ended), ["TERMINATED"; 3]);
    for i in &ended {
        assert_eq!(times(i).2, Some(terminated_at + 60.0));
        let reason = i.status().and_then(|s| s.state_change_reason()).unwrap();
        assert_eq!(
            reason.code().map(|c| c.as_str()),
            Some("CLUSTER_TERMINATED")
        );
    }
    emr.advance(7200.0);
    assert_eq!(
        nih(&client, &id).await,
        2 * (8 + 2 * 16),
        "ended instances stop counting"
    );

    let groups = client
        .list_instance_groups()
        .cluster_id(&id)
        .send()
        .await
        .unwrap()
        .instance_groups
        .unwrap();
    assert_eq!(groups.len(), 2);
    let core = groups
        .iter()
        .find(|g| g.instance_group_type() == Some(&InstanceGroupType::Core))
        .unwrap();
    assert_eq!(core.market(), Some(&MarketType::Spot));
    assert_eq!(core.bid_price(), Some("0.30"));
    assert_eq!(core.requested_instance_count(), Some(2));
    assert_eq!(core.running_instance_count(), Some(0), "ended");
    let volumes: Vec<_> = core
        .ebs_block_devices()
        .iter()
        .map(|d| {
            let v = d.volume_specification().unwrap();
            (
                v.volume_type().unwrap_or_default().to_string(),
                v.size_in_gb(),
                d.device().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        volumes,
        [
            ("gp3".into(), Some(100), "/dev/sdb".into()),
            ("gp3".into(), Some(100), "/dev/sdc".into())
        ]
    );
    let fleets = client
        .list_instance_fleets()
        .cluster_id(&id)
        .send()
        .await
        .unwrap();
    assert!(
        fleets.instance_fleets().is_empty(),
        "a group cluster has no fleets"
    );
}

#[tokio::test]
async fn when_a_cluster_has_sixty_one_instances_should_page_fifty_then_eleven_and_filter() {
    let (emr, client) = start(frozen()).await;
    let id = launch(&client, "wide", groups(60, true)).await;
    emr.advance(480.0);
    let first = client
        .list_instances()
        .cluster_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(first.instances().len(), 50);
    let marker = first.marker().expect("a second page").to_string();
    let second = client
        .list_instances()
        .cluster_id(&id)
        .marker(marker)
        .send()
        .await
        .unwrap();
    assert_eq!(second.instances().len(), 11);
    assert_eq!(second.marker(), None);
    let (all, pages) = all_instances(&client, &id).await;
    assert_eq!((all.len(), pages), (61, 2));
    let mut ids: Vec<_> = all.iter().map(|i| i.id().unwrap().to_string()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 61, "no instance on two pages");

    let core = client
        .list_instances()
        .cluster_id(&id)
        .instance_group_types(InstanceGroupType::Core)
        .send()
        .await
        .unwrap();
    assert_eq!(
        core.instances().len(),
        50,
        "a page of the 60 core instances"
    );
    let master_group = all[0].instance_group_id().unwrap().to_string();
    let masters = client
        .list_instances()
        .cluster_id(&id)
        .instance_group_id(master_group)
        .send()
        .await
        .unwrap();
    assert_eq!(masters.instances().len(), 1);
    let terminated = client
        .list_instances()
        .cluster_id(&id)
        .instance_states(InstanceState::Terminated)
        .send()
        .await
        .unwrap();
    assert!(terminated.instances().is_empty());
    let bad = client
        .list_instances()
        .cluster_id(&id)
        .instance_states(InstanceState::from("GONE"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Some("ValidationException"));
    let unknown = client
        .list_instances()
        .cluster_id("j-NOSUCHCLUSTER")
        .send()
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Some("InvalidRequestException"));
}

fn fleet(
    role: InstanceFleetType,
    types: &[(&str, i32)],
    on_demand: i32,
    spot: i32,
) -> InstanceFleetConfig {
    let mut f = InstanceFleetConfig::builder()
        .instance_fleet_type(role)
        .target_on_demand_capacity(on_demand)
        .target_spot_capacity(spot);
    for (t, weight) in types {
        f = f.instance_type_configs(
            InstanceTypeConfig::builder()
                .instance_type(*t)
                .weighted_capacity(*weight)
                .bid_price_as_percentage_of_on_demand_price(100.0)
                .ebs_configuration(gp3(64, 1))
                .build(),
        );
    }
    f.build()
}

#[tokio::test]
async fn when_fleets_are_filled_should_count_units_per_market_and_type() {
    let (emr, client) = start(frozen()).await;
    let instances = JobFlowInstancesConfig::builder()
        .instance_fleets(fleet(InstanceFleetType::Master, &[("m5.xlarge", 1)], 1, 0))
        // 2 on-demand units and 4 spot units of r5.2xlarge at 2 units each: 1 + 2 instances.
        .instance_fleets(fleet(
            InstanceFleetType::Core,
            &[("r5.2xlarge", 2), ("r5a.2xlarge", 2)],
            2,
            4,
        ))
        .ec2_subnet_ids("subnet-1")
        .ec2_subnet_ids("subnet-2")
        .keep_job_flow_alive_when_no_steps(true)
        .build();
    let id = launch(&client, "fleets", instances).await;
    let cluster = describe(&client, &id).await;
    let attributes = cluster.ec2_instance_attributes().unwrap();
    assert_eq!(attributes.ec2_subnet_id(), Some("subnet-1"));
    assert_eq!(attributes.ec2_availability_zone(), Some("eu-west-1a"));
    let core = client
        .list_instances()
        .cluster_id(&id)
        .instance_fleet_type(InstanceFleetType::Core)
        .send()
        .await
        .unwrap();
    let markets: Vec<_> = core
        .instances()
        .iter()
        .map(|i| (i.instance_type().unwrap(), i.market().unwrap().as_str()))
        .collect();
    assert_eq!(
        markets,
        [
            ("r5.2xlarge", "ON_DEMAND"),
            ("r5.2xlarge", "SPOT"),
            ("r5.2xlarge", "SPOT")
        ]
    );
    assert!(core
        .instances()
        .iter()
        .all(|i| i.instance_fleet_id().is_some()));
    emr.advance(480.0);
    let fleets = client
        .list_instance_fleets()
        .cluster_id(&id)
        .send()
        .await
        .unwrap()
        .instance_fleets
        .unwrap();
    let core = fleets
        .iter()
        .find(|f| f.instance_fleet_type() == Some(&InstanceFleetType::Core))
        .unwrap();
    assert_eq!(core.provisioned_on_demand_capacity(), Some(2));
    assert_eq!(core.provisioned_spot_capacity(), Some(4));
    assert_eq!(core.instance_type_specifications().len(), 2);
    let spec = &core.instance_type_specifications()[0];
    assert_eq!(spec.weighted_capacity(), Some(2));
    assert_eq!(spec.ebs_block_devices().len(), 1);
    let groups = client
        .list_instance_groups()
        .cluster_id(&id)
        .send()
        .await
        .unwrap();
    assert!(
        groups.instance_groups().is_empty(),
        "a fleet cluster has no groups"
    );
}

#[tokio::test]
async fn when_a_scenario_interrupts_spot_instances_should_end_them_while_the_cluster_runs() {
    let scenario = Scenario::from_json(
        &json!({"clusters": [{"match": {"name": "spotty"}, "spotInterruptionAfterSeconds": 600}]})
            .to_string(),
    )
    .unwrap();
    let (emr, client) = start(frozen().scenario(scenario)).await;
    let id = launch(&client, "spotty", groups(2, true)).await;
    emr.advance(480.0);
    assert_eq!(
        emr.next_change(),
        Some(T0 + 480.0 + 600.0),
        "the interruption is a change"
    );
    emr.advance(600.0);
    let (instances, _) = all_instances(&client, &id).await;
    assert_eq!(states(&instances), ["RUNNING", "TERMINATED", "TERMINATED"]);
    let reason = instances[1]
        .status()
        .and_then(|s| s.state_change_reason())
        .unwrap();
    assert_eq!(reason.code().map(|c| c.as_str()), Some("INSTANCE_FAILURE"));
    assert_eq!(times(&instances[1]).2, Some(T0 + 1080.0));
    assert_eq!(state(&client, &id).await.as_str(), "WAITING");
    emr.advance(7200.0);
    // The master runs on (3 started hours); each spot instance ran 18 minutes (1 hour).
    assert_eq!(nih(&client, &id).await, 3 * 8 + 2 * 16);
    assert_eq!(emr.next_change(), None);
}

#[tokio::test]
async fn when_a_cluster_ended_over_thirty_days_ago_should_list_no_instances_but_keep_its_hours() {
    let (emr, client) = start(frozen()).await;
    let id = launch(&client, "old", groups(1, false)).await;
    emr.advance(480.0 + 60.0);
    assert_eq!(state(&client, &id).await.as_str(), "TERMINATED");
    let hours = nih(&client, &id).await;
    assert_eq!(hours, 8 + 16);
    emr.advance(30.0 * 86_400.0);
    assert_eq!(
        all_instances(&client, &id).await.0.len(),
        2,
        "30 days exactly"
    );
    emr.advance(1.0);
    assert!(all_instances(&client, &id).await.0.is_empty());
    assert_eq!(nih(&client, &id).await, hours);
}

#[tokio::test]
async fn when_rate_limits_are_on_should_give_list_instances_its_own_bucket() {
    let (emr, client) = start(frozen()).await;
    let id = launch(&client, "limited", groups(1, true)).await;
    // ListInstances' default bucket, refilled never (so that no test depends on how fast it runs).
    let mut faults = Faults::none().with_rate_limits();
    let limit = default_rate_limits()["ListInstances"];
    assert_eq!((limit.burst, limit.per_second), (10.0, 0.5));
    let frozen = RateLimit {
        burst: limit.burst,
        per_second: 0.0,
    };
    faults
        .rate_limit_overrides
        .insert("ListInstances".into(), frozen);
    emr.set_faults(faults).unwrap();
    for _ in 0..10 {
        client
            .list_instances()
            .cluster_id(&id)
            .send()
            .await
            .unwrap();
    }
    let err = client
        .list_instances()
        .cluster_id(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ThrottlingException"));
    // Its own bucket is empty; DescribeCluster's is not.
    describe(&client, &id).await;
    assert_eq!(emr.calls().get("ListInstances").throttled, 1);
}

#[tokio::test]
async fn when_a_role_may_list_only_tagged_clusters_instances_should_deny_the_others() {
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["elasticmapreduce:RunJobFlow", "elasticmapreduce:AddTags", "iam:PassRole"], "Resource": "*"},
        {"Effect": "Allow",
         "Action": ["elasticmapreduce:ListInstances", "elasticmapreduce:ListInstanceGroups"],
         "Resource": "arn:aws:elasticmapreduce:*:123456789012:cluster/*",
         "Condition": {"StringEquals": {"aws:ResourceTag/team": "data"}}}
    ]});
    let iam = Iam::new()
        .principal("AKIDLISTER", "lister", vec![policy])
        .unwrap();
    let (emr, _) = start(frozen().iam(iam)).await;
    let client = client_as(&emr, "AKIDLISTER").await;
    let tagged = client
        .run_job_flow()
        .name("tagged")
        .instances(groups(1, true))
        .tags(
            aws_sdk_emr::types::Tag::builder()
                .key("team")
                .value("data")
                .build(),
        )
        .send()
        .await
        .unwrap()
        .job_flow_id
        .unwrap();
    let untagged = launch(&client, "untagged", groups(1, true)).await;
    assert_eq!(all_instances(&client, &tagged).await.0.len(), 2);
    client
        .list_instance_groups()
        .cluster_id(&tagged)
        .send()
        .await
        .unwrap();
    let err = client
        .list_instances()
        .cluster_id(&untagged)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("AccessDeniedException"));
    let message = err.message().unwrap_or_default();
    assert!(
        message.contains(&format!("elasticmapreduce:ListInstances on resource: arn:aws:elasticmapreduce:eu-west-1:123456789012:cluster/{untagged}")),
        "{message}"
    );
    let err = client
        .list_instance_fleets()
        .cluster_id(&tagged)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some("AccessDeniedException"),
        "not granted at all"
    );
}
