//! The config → EMR mapping and the validation messages, on small configs built for each rule.

use dfr_core::load::{cluster_from_text, playbook_from_text};
use dfr_core::plan::{self, Lifecycle};
use serde_json::{json, Value};

const LEGACY: &str = "iglu:com.snowplowanalytics.dataflowrunner/ClusterConfig/avro/1-1-0";
const NEW: &str = "iglu:com.dataflowrunner.serverless/ClusterConfig/jsonschema/1-2-0";

fn cluster(schema: &str, patch: impl FnOnce(&mut Value)) -> Value {
    let mut data = json!({
        "name": "c",
        "logUri": "s3://logs/",
        "region": "eu-west-1",
        "credentials": {"accessKeyId": "env", "secretAccessKey": "env"},
        "roles": {"jobflow": "EMR_EC2_DefaultRole", "service": "EMR_DefaultRole"},
        "ec2": {
            "amiVersion": "6.15.0",
            "keyName": "k",
            "location": {"vpc": {"subnetId": "subnet-1"}},
            "instances": {"master": {"type": "m5.xlarge"}, "core": {"type": "m5.xlarge", "count": 2}, "task": {"type": "m5.xlarge", "count": 0, "bid": "0.1"}}
        }
    });
    patch(&mut data);
    json!({"schema": schema, "data": data})
}

fn plan_of(config: &Value) -> Value {
    let loaded =
        cluster_from_text("c.json", &serde_json::to_string_pretty(config).unwrap()).unwrap();
    serde_json::to_value(plan::run_job_flow(
        &loaded.config,
        Lifecycle::Persistent,
        None,
    ))
    .unwrap()
}

fn warnings_of(config: &Value) -> String {
    let loaded =
        cluster_from_text("c.json", &serde_json::to_string_pretty(config).unwrap()).unwrap();
    loaded
        .warnings
        .iter()
        .map(|w| w.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

fn errors_of(config: &Value) -> String {
    cluster_from_text("c.json", &serde_json::to_string_pretty(config).unwrap())
        .unwrap_err()
        .to_string()
}

#[test]
fn ami_versions_are_parsed_on_the_whole_major_number() {
    for (ami, key, value) in [
        ("3.11.0", "AmiVersion", "3.11.0"),
        ("4.5.0", "ReleaseLabel", "emr-4.5.0"),
        ("10.0.0", "ReleaseLabel", "emr-10.0.0"),
        ("emr-6.1.0", "ReleaseLabel", "emr-6.1.0"),
    ] {
        let p = plan_of(&cluster(LEGACY, |d| d["ec2"]["amiVersion"] = json!(ami)));
        assert_eq!(p[key], value, "{ami}");
    }
    let e = errors_of(&cluster(LEGACY, |d| {
        d["ec2"]["amiVersion"] = json!("latest")
    }));
    assert!(
        e.contains("data.ec2.amiVersion: \"latest\" is not an EMR release version"),
        "{e}"
    );
}

#[test]
fn iops_is_sent_only_where_emr_takes_it() {
    let p = plan_of(&cluster(LEGACY, |d| {
        let vol = |t: &str| json!({"volumesPerInstance": 1, "volumeSpecification": {"iops": 3000, "sizeInGB": 100, "volumeType": t}});
        let types = ["gp2", "gp3", "io1", "io2", "st1", "sc1", "standard"];
        d["ec2"]["instances"]["master"]["ebsConfiguration"] =
            json!({"ebsOptimized": true, "ebsBlockDeviceConfigs": types.map(vol)});
    }));
    let devices = &p["Instances"]["InstanceGroups"][0]["EbsConfiguration"]["EbsBlockDeviceConfigs"];
    let iops: Vec<(&str, Option<i64>)> = devices
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let v = &d["VolumeSpecification"];
            (
                v["VolumeType"].as_str().unwrap(),
                v.get("Iops").and_then(|i| i.as_i64()),
            )
        })
        .collect();
    // EBS provisions IOPS for gp3, io1 and io2 and refuses the setting for the others; so does the emulator
    // (crates/emr-emulator/tests/api.rs).
    assert_eq!(
        iops,
        [
            ("gp2", None),
            ("gp3", Some(3000)),
            ("io1", Some(3000)),
            ("io2", Some(3000)),
            ("st1", None),
            ("sc1", None),
            ("standard", None)
        ]
    );
}

#[test]
fn iops_where_emr_refuses_it_is_a_warning_naming_the_types_that_take_it() {
    for (volume_type, warned) in [
        ("gp2", true),
        ("st1", true),
        ("sc1", true),
        ("standard", true),
        ("gp3", false),
        ("io1", false),
    ] {
        let text = cluster(LEGACY, |d| {
            d["ec2"]["instances"]["master"]["ebsConfiguration"] = json!({"ebsBlockDeviceConfigs": [
                {"volumeSpecification": {"iops": 3000, "sizeInGB": 100, "volumeType": volume_type}}
            ]});
        });
        let warnings = warnings_of(&text);
        assert_eq!(
            warnings.contains(&format!("iops is not sent for {volume_type} volumes (EMR takes IOPS for gp3, io1 and io2 volumes only)")),
            warned,
            "{volume_type}: {warnings}"
        );
    }
}

#[test]
fn groups_with_no_instances_are_left_out_and_a_bid_means_spot() {
    let p = plan_of(&cluster(LEGACY, |_| {}));
    let groups = p["Instances"]["InstanceGroups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "task has count 0");
    let p = plan_of(&cluster(LEGACY, |d| {
        d["ec2"]["instances"]["task"]["count"] = json!(3)
    }));
    let task = &p["Instances"]["InstanceGroups"][2];
    assert_eq!(
        (task["Market"].as_str(), task["BidPrice"].as_str()),
        (Some("SPOT"), Some("0.1"))
    );
    assert!(
        p["Instances"]["InstanceGroups"][1].get("Market").is_none(),
        "core stays on demand"
    );
}

#[test]
fn absent_optionals_are_not_sent() {
    let p = plan_of(&cluster(LEGACY, |d| {
        d["ec2"]["keyName"] = Value::Null;
        d.as_object_mut().unwrap().remove("logUri");
    }));
    assert!(p["Instances"].get("Ec2KeyName").is_none());
    for key in [
        "LogUri",
        "SecurityConfiguration",
        "Tags",
        "BootstrapActions",
        "Configurations",
        "Applications",
        "Steps",
    ] {
        assert!(p.get(key).is_none(), "{key}");
    }
}

#[test]
fn new_schema_fields_map_to_emr() {
    let p = plan_of(&cluster(NEW, |d| {
        let ec2 = &mut d["ec2"];
        ec2.as_object_mut().unwrap().remove("amiVersion");
        ec2.as_object_mut().unwrap().remove("instances");
        ec2["releaseLabel"] = json!("emr-7.5.0");
        ec2["location"] = json!({"vpc": {"subnetIds": ["subnet-1", "subnet-2"]}});
        ec2["customAmiId"] = json!("ami-0abc");
        ec2["ebsRootVolumeSize"] = json!(30);
        ec2["additionalMasterSecurityGroups"] = json!(["sg-01"]);
        ec2["instanceFleets"] = json!({
            "master": {"targetOnDemandCapacity": 1, "instanceTypes": [{"type": "m5.xlarge"}]},
            "core": {"targetSpotCapacity": 4, "instanceTypes": [{"type": "r5.2xlarge", "weightedCapacity": 2, "bidAsPercentageOfOnDemand": 80}],
                     "spot": {"timeoutMinutes": 20, "timeoutAction": "SWITCH_TO_ON_DEMAND", "allocationStrategy": "price-capacity-optimized"}}
        });
        d["stepConcurrencyLevel"] = json!(4);
        d["autoTerminationPolicy"] = json!({"idleTimeout": 900});
        d["managedScaling"] = json!({"unitType": "InstanceFleetUnits", "minimumCapacityUnits": 2, "maximumCapacityUnits": 20});
    }));
    assert_eq!(p["ReleaseLabel"], "emr-7.5.0");
    assert_eq!(
        p["Instances"]["Ec2SubnetIds"],
        json!(["subnet-1", "subnet-2"])
    );
    assert_eq!(
        p["Instances"]["AdditionalMasterSecurityGroups"],
        json!(["sg-01"])
    );
    let core = &p["Instances"]["InstanceFleets"][1];
    assert_eq!(core["InstanceFleetType"], "CORE");
    assert_eq!(
        core["InstanceTypeConfigs"][0]["BidPriceAsPercentageOfOnDemandPrice"],
        80.0
    );
    assert_eq!(
        core["LaunchSpecifications"]["SpotSpecification"]["AllocationStrategy"],
        "price-capacity-optimized"
    );
    assert_eq!(
        (p["CustomAmiId"].as_str(), p["EbsRootVolumeSize"].as_i64()),
        (Some("ami-0abc"), Some(30))
    );
    assert_eq!(p["StepConcurrencyLevel"], 4);
    assert_eq!(p["AutoTerminationPolicy"]["IdleTimeout"], 900);
    assert_eq!(
        p["ManagedScalingPolicy"]["ComputeLimits"]["UnitType"],
        "InstanceFleetUnits"
    );
}

#[test]
fn steps_map_with_defaults_main_class_and_properties() {
    let text = json!({
        "schema": "iglu:com.dataflowrunner.serverless/PlaybookConfig/jsonschema/1-1-0",
        "data": {"steps": [
            {"name": "a", "jar": "s3://b/a.jar", "mainClass": "com.x.Main", "properties": {"k": "v"}, "arguments": ["--x"]},
            {"name": "b", "jar": "command-runner.jar", "actionOnFailure": "TERMINATE_JOB_FLOW"}
        ]}
    });
    let p = playbook_from_text("p.json", &text.to_string()).unwrap();
    let r = serde_json::to_value(plan::add_job_flow_steps("j-1", &p.config)).unwrap();
    assert_eq!(r["JobFlowId"], "j-1");
    assert_eq!(r["Steps"][0]["ActionOnFailure"], "CANCEL_AND_WAIT");
    assert_eq!(r["Steps"][0]["HadoopJarStep"]["MainClass"], "com.x.Main");
    assert_eq!(
        r["Steps"][0]["HadoopJarStep"]["Properties"],
        json!([{"Key": "k", "Value": "v"}])
    );
    assert_eq!(
        r["Steps"][1]["ActionOnFailure"], "TERMINATE_CLUSTER",
        "the alias is normalised"
    );
    assert!(r["Steps"][1]["HadoopJarStep"].get("Args").is_none());
}

#[test]
fn typos_get_a_did_you_mean_and_misplaced_keys_say_where_they_belong() {
    let e = errors_of(&cluster(LEGACY, |d| {
        d["ec2"]["instances"]["core"]["cuont"] = json!(2)
    }));
    assert!(
        e.contains("data.ec2.instances.core.cuont: unknown field `cuont`"),
        "{e}"
    );
    assert!(e.contains("did you mean `count`?"), "{e}");
    let e = errors_of(&cluster(LEGACY, |d| d["subnetId"] = json!("subnet-1")));
    assert!(e.contains("data.subnetId: unknown field `subnetId`"), "{e}");
    assert!(e.contains("belongs under data.ec2.location.vpc"), "{e}");
    let e = errors_of(&cluster(LEGACY, |d| {
        d["ec2"]["releaseLabel"] = json!("emr-7.5.0")
    }));
    assert!(e.contains(NEW), "a field of the newer schema names it: {e}");
}

#[test]
fn every_problem_is_reported_at_once_with_its_line() {
    let e = errors_of(&cluster(LEGACY, |d| {
        d["ec2"]["instances"]["core"]["count"] = json!("two");
        d["roles"].as_object_mut().unwrap().remove("service");
        d["tags"] = json!([{"key": "a"}]);
    }));
    assert!(e.starts_with("3 problems found"), "{e}");
    assert!(
        e.contains("data.ec2.instances.core.count: expected a whole number, found \"two\""),
        "{e}"
    );
    assert!(
        e.contains("data.roles.service: required field `service` is missing"),
        "{e}"
    );
    assert!(
        e.contains("data.tags[0].value: required field `value` is missing"),
        "{e}"
    );
    assert!(
        e.lines().nth(1).unwrap().starts_with("  c.json:"),
        "lines are given: {e}"
    );
}

#[test]
fn emr_rules_are_checked_before_launch() {
    let e = errors_of(&cluster(
        NEW,
        |d| d["ec2"]["instanceFleets"] = json!({"master": {"targetOnDemandCapacity": 1, "instanceTypes": [{"type": "m5.xlarge"}]}}),
    ));
    assert!(
        e.contains("both `instances` and `instanceFleets` are given"),
        "{e}"
    );
    let e = errors_of(&cluster(NEW, |d| {
        d["ec2"]["location"] = json!({"vpc": {"subnetIds": ["subnet-1", "subnet-2"]}})
    }));
    assert!(e.contains("several subnets need instanceFleets"), "{e}");
    let e = errors_of(&cluster(LEGACY, |d| {
        d["ec2"]["instances"]["core"]["ebsConfiguration"] = json!({"ebsBlockDeviceConfigs": [{"volumeSpecification": {"sizeInGB": 10, "volumeType": "io1"}}]});
    }));
    assert!(e.contains("io1 volumes need iops"), "{e}");
    let e = errors_of(
        &json!({"schema": "iglu:com.snowplowanalytics.dataflowrunner/ClusterConfig/avro/1-2-0", "data": {}}),
    );
    assert!(
        e.contains("unknown schema") && e.contains("ClusterConfig/avro/1-1-0"),
        "the accepted URIs are listed: {e}"
    );
}

#[test]
fn concurrent_steps_must_continue_on_failure() {
    let c = cluster_from_text(
        "c.json",
        &cluster(NEW, |d| d["stepConcurrencyLevel"] = json!(2)).to_string(),
    )
    .unwrap();
    let p = playbook_from_text(
        "p.json",
        &json!({"schema": "iglu:com.snowplowanalytics.dataflowrunner/PlaybookConfig/avro/1-0-1",
                "data": {"steps": [{"name": "a", "actionOnFailure": "CANCEL_AND_WAIT", "jar": "x.jar"}]}})
        .to_string(),
    )
    .unwrap();
    let e = dfr_core::checks::pair("c.json", &c.config, "p.json", &p.config)
        .unwrap_err()
        .to_string();
    assert!(e.contains("p.json: data.steps[0].actionOnFailure"), "{e}");
    assert!(e.contains("EMR accepts only CONTINUE"), "{e}");
}

#[test]
fn auto_termination_needs_a_release_that_has_it() {
    for (release, supported) in [
        ("4.5.0", false),
        ("5.29.0", false),
        ("5.30.0", true),
        ("6.0.0", false),
        ("6.1.0", true),
        ("7.5.0", true),
    ] {
        let config = cluster(LEGACY, |d| d["ec2"]["amiVersion"] = json!(release));
        let loaded = cluster_from_text("c.json", &config.to_string()).unwrap();
        assert_eq!(
            dfr_core::checks::supports_auto_termination(&loaded.config),
            supported,
            "{release}"
        );
    }
    let e = errors_of(&cluster(NEW, |d| {
        d["ec2"]["amiVersion"] = json!("6.0.0");
        d["autoTerminationPolicy"] = json!({"idleTimeout": 600});
    }));
    assert!(
        e.contains(
            "data.autoTerminationPolicy: auto-termination needs EMR release 5.30.0 or later"
        ),
        "{e}"
    );
}

#[test]
fn tag_keys_under_the_reserved_prefix_are_refused_with_their_path() {
    let e = errors_of(&cluster(
        LEGACY,
        |d| d["tags"] = json!([{"key": "team", "value": "data"}, {"key": "Dataflow-Runner:keep-on-failure", "value": "true"}]),
    ));
    assert!(
        e.contains("data.tags[1].key: tag keys starting with \"dataflow-runner:\" are reserved"),
        "{e}"
    );
    assert!(e.contains("keepClusterOnFailure"), "{e}");
    assert!(!e.contains("data.tags[0]"), "{e}");
}

/// An environment with one secret, the shape a Lambda's credentials have.
struct SecretEnv;

impl gotemplate::TemplateEnv for SecretEnv {
    fn now(&self) -> chrono::DateTime<chrono::FixedOffset> {
        chrono::DateTime::parse_from_rfc3339("2024-03-05T06:07:08Z").unwrap()
    }
    fn env_var(&self, name: &str) -> Option<String> {
        (name == "DB_PASSWORD").then(|| "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY".to_string())
    }
    fn read_file(&self, path: &str) -> std::io::Result<Vec<u8>> {
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            path.to_string(),
        ))
    }
}

#[test]
fn a_value_read_with_system_env_is_never_quoted_back_in_an_error() {
    let text = serde_json::to_string_pretty(&cluster(LEGACY, |d| {
        // A Go raw string: the quotes of "DB_PASSWORD" would be escaped inside the JSON text.
        d["region"] = json!("{{systemEnv `DB_PASSWORD`}}");
        d["ec2"]["amiVersion"] = json!("{{systemEnv `DB_PASSWORD`}}");
    }))
    .unwrap();
    let e = dfr_core::load::load_cluster(
        "c.json",
        &text,
        &std::collections::BTreeMap::new(),
        &SecretEnv,
    )
    .unwrap_err()
    .to_string();
    assert!(!e.contains("wJalrXUtnFEMI"), "{e}");
    assert!(
        e.contains("data.region: \"«value of systemEnv DB_PASSWORD»\" is not an AWS region"),
        "{e}"
    );
    assert!(e.contains("data.ec2.amiVersion"), "{e}");
}
