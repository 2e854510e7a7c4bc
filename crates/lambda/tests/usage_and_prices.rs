//! The adapters that price a run, over real HTTP with the real SDKs, against the emulator under the stack's IAM:
//! a cluster's usage (DescribeCluster, ListInstanceGroups/Fleets, ListInstances), the Price List's documents
//! (GetProducts) and spot prices (DescribeSpotPriceHistory).

mod common;

use chrono::{Duration, TimeZone, Utc};
use common::*;
use dfr_lambda::emr::{ClusterUsage, EbsVolume, Emr, Market};
use dfr_lambda::prices::{PriceQuery, Prices, SpotPrices};
use dfr_lambda::Error;
use emr_emulator::{Emulator, EmulatorHandle};
use serde_json::{json, Value};

/// A master m5.xlarge, two r5.2xlarge core instances with a 200 GiB gp3 volume each, and `task` r5.2xlarge spot
/// task instances (a bid makes them spot).
fn priced_cluster(name: &str, task: u32) -> Value {
    let mut config = cluster_config(name);
    config["data"]["ec2"]["instances"] = json!({
        "master": {"type": "m5.xlarge"},
        "core": {"type": "r5.2xlarge", "count": 2, "ebsConfiguration": {"ebsBlockDeviceConfigs": [
            {"volumesPerInstance": 1, "volumeSpecification": {"sizeInGB": 200, "volumeType": "gp3"}}
        ]}},
        "task": {"type": "r5.2xlarge", "count": task, "bid": "0.20"}
    });
    config
}

/// Launches `cluster` for run `key` as the stack does; returns its id.
async fn launch_priced(aws: &Stack, h: &EmulatorHandle, cluster: Value, key: &str) -> String {
    let event = launch_event(cluster, None, "persistent", key);
    launch(aws, h, &event).await.unwrap().cluster_id
}

fn at(epoch: f64) -> chrono::DateTime<Utc> {
    Utc.timestamp_millis_opt((epoch * 1000.0) as i64).unwrap()
}

#[tokio::test]
async fn when_a_run_ends_should_report_every_instance_with_its_market_volumes_and_timeline() {
    let h = emulator(json!({})).await;
    let aws = aws(&h, false).await;
    let id = launch_priced(&aws, &h, priced_cluster("priced", 4), "priced").await;
    h.advance(480.0 + 3600.0);
    // Ended by an operator (terminate-cluster's own path is tested in functions.rs).
    aws.operator
        .emr(None)
        .terminate_job_flows(&id)
        .await
        .unwrap();
    h.advance(60.0);

    let before = h.calls().total;
    let described = aws.check().describe_cluster(&id).await.unwrap();
    let usage: ClusterUsage = aws.check().cluster_usage(&described).await.unwrap();
    let asked = h.calls().total - before;
    assert_eq!(
        asked, 3,
        "DescribeCluster (the check's own), ListInstanceGroups, ListInstances"
    );
    let truth = h.cluster(&id).unwrap();
    assert_eq!(usage.state, "TERMINATED");
    assert_eq!(
        usage.availability_zone.as_deref(),
        Some(truth.availability_zone.as_str())
    );
    assert_eq!(usage.instances.len(), truth.instances.len());
    assert_eq!(usage.instances.len(), 1 + 2 + 4);
    for (got, want) in usage.instances.iter().zip(&truth.instances) {
        assert_eq!(got.id, want.id);
        assert_eq!(
            got.ec2_instance_id.as_deref(),
            Some(want.ec2_instance_id.as_str())
        );
        assert_eq!(got.role.as_deref(), Some(want.role));
        assert_eq!(serde_json::json!(got.market), want.market);
        assert_eq!(got.instance_type, want.instance_type);
        assert_eq!(got.state, "TERMINATED");
        assert_eq!(got.created_at, Some(at(want.created)));
        assert_eq!(got.ready_at, want.ready.map(at));
        assert_eq!(got.ended_at, want.ended.map(at));
        let volumes: Vec<(String, i64)> = got
            .volumes
            .iter()
            .map(|v| (v.volume_type.clone(), i64::from(v.size_gib)))
            .collect();
        assert_eq!(volumes, want.volumes);
    }
    let core = usage
        .instances
        .iter()
        .find(|i| i.role.as_deref() == Some("CORE"))
        .unwrap();
    assert_eq!(
        core.volumes,
        [EbsVolume {
            volume_type: "gp3".into(),
            size_gib: 200,
            iops: None,
            throughput_mibps: None
        }]
    );
    let spot = usage
        .instances
        .iter()
        .filter(|i| i.market == Market::Spot)
        .count();
    assert_eq!(spot, 4);
    // Lived 4,140 s: two started hours of 8 (m5.xlarge) + 6 × 16 (r5.2xlarge).
    assert_eq!(usage.normalized_instance_hours, Some(2 * (8 + 6 * 16)));

    // An ended cluster's usage never changes: asked again, the warm adapter answers from memory.
    assert_eq!(aws.check().cluster_usage(&described).await.unwrap(), usage);
    assert_eq!(h.calls().total - before, asked);

    // The other functions that price a run may read it too.
    assert_eq!(
        aws.terminate().cluster_usage(&described).await.unwrap(),
        usage
    );
    let reconciler = client(&h, false, Function::Reconciler).await;
    assert_eq!(
        reconciler
            .emr(None)
            .cluster_usage(&described)
            .await
            .unwrap(),
        usage
    );
}

#[tokio::test]
async fn when_a_cluster_has_more_instances_than_a_page_should_read_every_page() {
    let h = emulator(json!({})).await;
    let aws = aws(&h, false).await;
    let id = launch_priced(&aws, &h, priced_cluster("wide", 60), "wide").await;
    h.advance(480.0);
    let described = aws.check().describe_cluster(&id).await.unwrap();
    let usage = aws.check().cluster_usage(&described).await.unwrap();
    assert_eq!(usage.instances.len(), 1 + 2 + 60);
    assert_eq!(
        h.calls().get("ListInstances").succeeded,
        2,
        "two pages of 50"
    );
    assert!(usage
        .instances
        .iter()
        .all(|i| i.state == "RUNNING" && i.ended_at.is_none()));
}

#[tokio::test]
async fn when_a_role_may_not_price_a_cluster_should_fail_with_access_denied() {
    let h = emulator(json!({})).await;
    let aws = aws(&h, false).await;
    let id = launch_priced(&aws, &h, priced_cluster("guarded", 0), "guarded").await;
    // launch-cluster never prices a run (what a cluster is comes from anyone's DescribeCluster).
    let described = aws.operator.emr(None).describe_cluster(&id).await.unwrap();
    let err = aws
        .launch
        .emr(None)
        .cluster_usage(&described)
        .await
        .unwrap_err();
    assert_eq!(err.name(), "AccessDenied", "{err}");
    // Nor may check-status price a cluster this stack did not launch.
    let foreign = aws
        .operator
        .emr(None)
        .launch_unmanaged_for_test("foreign")
        .await;
    let foreign = aws
        .operator
        .emr(None)
        .describe_cluster(&foreign)
        .await
        .unwrap();
    let err = aws.check().cluster_usage(&foreign).await.unwrap_err();
    assert_eq!(err.name(), "AccessDenied", "{err}");

    // Each statement taken out of check-status's role, the call that needs it is refused.
    h.set_iam(Some(iam_of(
        &without_statement(TEMPLATE, "PriceThisStacksClusters"),
        &[],
    )));
    let err = aws.check().cluster_usage(&described).await.unwrap_err();
    assert_eq!(err.name(), "AccessDenied", "{err}");
    assert!(
        err.to_string().contains("elasticmapreduce:ListInstance"),
        "{err}"
    );
    h.set_iam(Some(iam_of(
        &without_statement(TEMPLATE, "ReadPrices"),
        &[],
    )));
    let query = PriceQuery {
        region: "eu-west-1".into(),
        instance_types: vec!["m5.xlarge".into()],
        volume_types: vec![],
    };
    let err = Error::from_failure(
        aws.check
            .prices()
            .price_documents(&query)
            .await
            .unwrap_err(),
    );
    assert_eq!(err.name(), "AccessDenied", "{err}");
    assert!(err.to_string().contains("pricing:GetProducts"), "{err}");
    let err = Error::from_failure(
        aws.check
            .spot_prices("eu-west-1")
            .spot_prices(Some("eu-west-1a"), &["m5.xlarge".to_string()], now(&h))
            .await
            .unwrap_err(),
    );
    assert_eq!(err.name(), "AccessDenied", "{err}");
    assert!(
        err.to_string().contains("ec2:DescribeSpotPriceHistory"),
        "{err}"
    );
}

/// A document's attribute, from the JSON string GetProducts gave.
fn attribute(document: &str, name: &str) -> String {
    let doc: Value = serde_json::from_str(document).expect("a product document");
    doc["product"]["attributes"][name]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn when_pricing_a_cluster_should_get_one_document_per_type_and_service_from_us_east_1() {
    let h = emulator(json!({})).await;
    let aws = aws(&h, false).await;
    let query = PriceQuery {
        region: "eu-west-1".into(),
        instance_types: vec!["m5.xlarge".into(), "r5.2xlarge".into()],
        volume_types: vec!["gp3".into()],
    };
    let docs = aws.check.prices().price_documents(&query).await.unwrap();
    let types = |list: &[String]| -> Vec<(String, String)> {
        list.iter()
            .map(|d| (attribute(d, "instanceType"), attribute(d, "regionCode")))
            .collect()
    };
    let want = vec![
        ("m5.xlarge".to_string(), "eu-west-1".to_string()),
        ("r5.2xlarge".to_string(), "eu-west-1".to_string()),
    ];
    assert_eq!(types(&docs.ec2), want);
    assert_eq!(types(&docs.emr), want);
    assert!(docs
        .ec2
        .iter()
        .all(|d| attribute(d, "operatingSystem") == "Linux"
            && attribute(d, "tenancy") == "Shared"
            && attribute(d, "capacitystatus") == "Used"
            && attribute(d, "preInstalledSw") == "NA"));
    assert_eq!(docs.ebs.len(), 1);
    assert_eq!(attribute(&docs.ebs[0], "volumeApiName"), "gp3");
    // One GetProducts per type and service and per volume type, all signed for the Price List's region.
    let asked: Vec<_> = h
        .requests()
        .into_iter()
        .filter(|r| r.operation == "GetProducts")
        .collect();
    assert_eq!(asked.len(), 2 * 2 + 1);
    assert!(asked
        .iter()
        .all(|r| r.region == "us-east-1" && r.status == Some(200)));
    // The reconciler and terminate-cluster may price too.
    let reconciler = client(&h, false, Function::Reconciler).await;
    assert_eq!(
        reconciler.prices().price_documents(&query).await.unwrap(),
        docs
    );
    assert_eq!(
        aws.terminate
            .prices()
            .price_documents(&query)
            .await
            .unwrap(),
        docs
    );
}

/// The fixture's spot prices of a type in a zone, newest first.
fn fixture_spot(zone: &str, instance_type: &str) -> Vec<f64> {
    let text = include_str!("../../emr-emulator/fixtures/prices.json");
    let fixture: Value = serde_json::from_str(text).unwrap();
    fixture["spot"]["prices"][zone][instance_type]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().parse().unwrap())
        .collect()
}

#[tokio::test]
async fn when_asking_spot_prices_should_get_the_newest_in_effect_per_type() {
    let h = emulator(json!({})).await;
    let aws = aws(&h, false).await;
    h.advance(3600.0);
    let spot = aws.check.spot_prices("eu-west-1");
    let types = [
        "m5.xlarge".to_string(),
        "r5.2xlarge".to_string(),
        "x9.none".to_string(),
    ];
    let now_prices = spot
        .spot_prices(Some("eu-west-1b"), &types, now(&h))
        .await
        .unwrap();
    let got: Vec<(String, f64)> = now_prices
        .iter()
        .map(|p| (p.instance_type.clone(), p.usd_per_hour))
        .collect();
    assert_eq!(
        got,
        [
            (
                "m5.xlarge".to_string(),
                fixture_spot("eu-west-1b", "m5.xlarge")[0]
            ),
            (
                "r5.2xlarge".to_string(),
                fixture_spot("eu-west-1b", "r5.2xlarge")[0]
            ),
        ]
    );
    assert!(now_prices
        .iter()
        .all(|p| p.availability_zone == "eu-west-1b"));
    assert_eq!(now_prices[0].since, Some(at(T0)));
    // Seven hours before the emulator's start, the third price (the history changes every six hours) was in effect.
    let earlier = spot
        .spot_prices(Some("eu-west-1b"), &types[..1], at(T0) - Duration::hours(7))
        .await
        .unwrap();
    assert_eq!(earlier.len(), 1);
    assert_eq!(
        earlier[0].usd_per_hour,
        fixture_spot("eu-west-1b", "m5.xlarge")[2]
    );
    assert_eq!(earlier[0].since, Some(at(T0) - Duration::hours(12)));
    // Without a zone (a cluster not yet launched): the newest price of each zone of the region, one per zone.
    let every_zone = spot.spot_prices(None, &types[..1], now(&h)).await.unwrap();
    let got: Vec<(&str, f64)> = every_zone
        .iter()
        .map(|p| (p.availability_zone.as_str(), p.usd_per_hour))
        .collect();
    assert_eq!(
        got,
        [
            ("eu-west-1a", fixture_spot("eu-west-1a", "m5.xlarge")[0]),
            ("eu-west-1b", fixture_spot("eu-west-1b", "m5.xlarge")[0]),
        ]
    );
    let asked: Vec<_> = h
        .requests()
        .into_iter()
        .filter(|r| r.operation == "DescribeSpotPriceHistory")
        .collect();
    assert_eq!(asked.len(), 3);
    assert!(asked.iter().all(|r| r.region == "eu-west-1"));

    // A change made earlier within the second asked about counts: an emulator started 0.4 s into a second (its
    // newest prices take effect then), asked half a second later, answers its newest price.
    let late = Emulator::builder()
        .time_scale(0.0)
        .start_time(T0 + 0.4)
        .iam(iam_of(TEMPLATE, &[]))
        .start()
        .await
        .unwrap();
    let checker = client(&late, false, Function::Check).await;
    let got = checker
        .spot_prices("eu-west-1")
        .spot_prices(Some("eu-west-1b"), &types[..1], at(T0 + 0.9))
        .await
        .unwrap();
    assert_eq!(
        got[0].usd_per_hour,
        fixture_spot("eu-west-1b", "m5.xlarge")[0]
    );
}
