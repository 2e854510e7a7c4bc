//! A var gives a value, never JSON structure: a value that closes its string, array or object to add, hide or
//! repeat fields is refused, naming the var and the place, never quoting the value. Values that stay values render
//! as before.

use std::collections::BTreeMap;

use dfr_core::load::load_cluster;
mod common;

use common::NothingOutside;

/// A cluster config whose name, subnet, core count, Spark property and arguments come from vars.
const CLUSTER: &str = r#"{
  "schema": "iglu:com.dataflowrunner.serverless/ClusterConfig/jsonschema/1-2-0",
  "data": {
    "name": "nightly-{{.owner}}",
    "logUri": "s3://acme-logs/emr/",
    "region": "eu-west-1",
    "credentials": { "accessKeyId": "env", "secretAccessKey": "env" },
    "roles": { "jobflow": "EMR_EC2_DefaultRole", "service": "EMR_DefaultRole" },
    "ec2": {
      "releaseLabel": "emr-7.5.0",
      "keyName": null,
      "location": { "vpc": { "subnetId": "{{.subnet}}" } },
      "instances": {
        "master": { "type": "m5.xlarge" },
        "core": { "type": "r5.2xlarge", "count": {{.cores}} },
        "task": { "type": "r5.2xlarge", "count": 0 }
      }
    },
    "tags": [{ "key": "team", "value": "{{.team}}" }{{if eq .env "prod"}}, { "key": "tier", "value": "prod" }{{end}}],
    "configurations": [
      { "classification": "spark-defaults", "properties": { "{{.property}}": "8g" } }
    ],
    "applications": ["Hadoop", "Spark"]
  }
}"#;

fn vars(changes: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut vars: BTreeMap<String, String> = [
        ("owner", "data-team"),
        ("subnet", "subnet-0a1b2c3d"),
        ("cores", "2"),
        ("team", "data-platform"),
        ("env", "prod"),
        ("property", "spark.executor.memory"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in changes {
        vars.insert(k.to_string(), v.to_string());
    }
    vars
}

/// The error for `changes`, which must not quote the value (`absent`: its distinctive parts).
fn refused(changes: &[(&str, &str)], absent: &[&str]) -> String {
    let err = load_cluster("cluster.json", CLUSTER, &vars(changes), &NothingOutside)
        .expect_err("refused")
        .to_string();
    assert!(
        err.contains("gives the config structure, not only a value"),
        "{err}"
    );
    assert!(
        err.contains("a var may only give a value"),
        "the fix: {err}"
    );
    for part in absent {
        assert!(
            !err.contains(part),
            "the value is never quoted ({part}): {err}"
        );
    }
    err
}

#[test]
fn when_a_var_closes_its_string_and_adds_a_bootstrap_action_should_refuse_naming_the_var_and_the_path(
) {
    let err = refused(
        &[(
            "owner",
            r#"x", "bootstrapActionConfigs": [{"name": "b", "scriptBootstrapAction": {"path": "s3://attacker/run.sh"}}], "y": "z"#,
        )],
        &["attacker", "run.sh", "bootstrapActionConfigs"],
    );
    assert!(
        err.contains("cluster.json:3: data: the var `owner`"),
        "{err}"
    );
}

#[test]
fn when_a_var_closes_an_array_or_an_object_should_refuse_it() {
    let err = refused(
        &[("team", r#"t" }, { "key": "extra", "value": "v"#)],
        &["extra"],
    );
    assert!(err.contains("data.tags: the var `team`"), "{err}");
    assert!(
        err.contains("this array has 3 elements, without its punctuation 2"),
        "{err}"
    );
    let err = refused(
        &[("subnet", r#"s" }, "placement": { "zone": "eu-west-1a"#)],
        &["placement", "eu-west-1a"],
    );
    assert!(err.contains("data.ec2.location: the var `subnet`"), "{err}");
}

#[test]
fn when_a_var_repeats_a_field_should_refuse_it_naming_the_var() {
    let err = refused(
        &[("subnet", r#"s", "subnetId": "subnet-attacker"#)],
        &["attacker"],
    );
    assert!(
        err.contains("data.ec2.location.vpc: the var `subnet`"),
        "{err}"
    );
    assert!(err.contains("a member twice"), "{err}");
}

#[test]
fn when_a_var_used_for_a_number_brings_more_than_a_number_should_refuse_it_at_its_line() {
    let err = refused(&[("cores", r#"2, "bidPrice": 9"#)], &["bidPrice"]);
    assert!(
        err.contains("cluster.json:15: data.ec2.instances.core: the var `cores`"),
        "{err}"
    );
}

#[test]
fn when_several_vars_hold_punctuation_should_name_the_one_that_gives_structure() {
    let err = refused(
        &[
            ("owner", "a,b{c}[d]%e"),
            ("team", r#"t" }, { "key": "extra", "value": "v"#),
        ],
        &["extra", "a,b"],
    );
    assert!(err.contains("the var `team`"), "{err}");
}

#[test]
fn when_vars_give_values_should_render_as_before() {
    for changes in [
        vec![],
        // Punctuation inside a string is part of the string, an escaped quote too.
        vec![("owner", r#"a,b{c}[d]%e:f\"g\\h"#)],
        // A number, a condition on a value, a member's name.
        vec![
            ("cores", "12"),
            ("env", "dev"),
            ("property", "spark.driver.memory"),
        ],
    ] {
        let loaded = load_cluster("cluster.json", CLUSTER, &vars(&changes), &NothingOutside)
            .unwrap_or_else(|e| panic!("{changes:?}: {e}"));
        let data = &loaded.document["data"];
        let expected_tags = if changes.iter().any(|(k, v)| *k == "env" && *v == "dev") {
            1
        } else {
            2
        };
        assert_eq!(data["tags"].as_array().unwrap().len(), expected_tags);
        assert!(data["ec2"]["instances"]["core"]["count"].is_number());
    }
}
