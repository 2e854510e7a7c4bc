//! What `dataflow-runner plan` prints is what the Lambdas send. The configs under tests/reference/full/ use every
//! field the schemas have (instance fleets in one, instance groups in the other, since EMR takes one or the other:
//! EBS volumes of every type, nested configurations, bootstrap actions, managed scaling, auto-termination, a
//! security configuration, a custom AMI, step main classes and properties). tests/reference/expected/full-*.json
//! are `dataflow-runner plan`'s output for them (the CLI's reference test checks that they still are). Here the real
//! handlers send them through the real SDK client to the EMR emulator, and the request bodies it received must be
//! those plans, value for value, plus only what the functions add by design (functions/README.md): the run's
//! tags after the config's, and the run's suffix on step names. A field dropped, renamed or changed on the way
//! fails the test, and so does one added.

mod common;

use common::*;
use dfr_lambda::add_steps::{add_steps, AddStepsEvent};
use dfr_lambda::runtime::decode;
use emr_emulator::EmulatorHandle;
use gotemplate::SystemClock;
use serde_json::{json, Value};

fn reference(path: &str) -> Value {
    let file = format!(
        "{}/../../tests/reference/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap()
}

/// The body of the one request of `operation` the emulator received.
fn received(h: &EmulatorHandle, operation: &str) -> Value {
    let bodies: Vec<Value> = h
        .requests()
        .into_iter()
        .filter(|r| r.operation == operation)
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    assert_eq!(bodies.len(), 1, "{operation}: {bodies:?}");
    bodies.into_iter().next().unwrap()
}

/// Every difference between `sent` and `planned`, each with its JSON path. Numbers are equal by value: the SDK may
/// write 60.0 as 60.
fn differences(sent: &Value, planned: &Value, at: &str, out: &mut Vec<String>) {
    match (sent, planned) {
        (Value::Object(s), Value::Object(p)) => {
            for (k, pv) in p {
                match s.get(k) {
                    Some(sv) => differences(sv, pv, &format!("{at}.{k}"), out),
                    None => out.push(format!("{at}.{k}: planned {pv}, not sent")),
                }
            }
            for (k, sv) in s {
                if !p.contains_key(k) {
                    out.push(format!("{at}.{k}: sent {sv}, not planned"));
                }
            }
        }
        (Value::Array(s), Value::Array(p)) => {
            if s.len() != p.len() {
                out.push(format!("{at}: {} planned, {} sent", p.len(), s.len()));
            }
            for (i, (sv, pv)) in s.iter().zip(p).enumerate() {
                differences(sv, pv, &format!("{at}[{i}]"), out);
            }
        }
        (Value::Number(s), Value::Number(p)) if s.as_f64() == p.as_f64() => {}
        (s, p) if s == p => {}
        (s, p) => out.push(format!("{at}: planned {p}, sent {s}")),
    }
}

fn assert_sent_as_planned(sent: &Value, planned: &Value, what: &str) {
    let mut diff = Vec::new();
    differences(sent, planned, what, &mut diff);
    assert!(
        diff.is_empty(),
        "{what} as EMR received it differs from the plan:\n  {}",
        diff.join("\n  ")
    );
}

/// The tags launch-cluster adds after the config's (functions/README.md, `run.rs`).
fn run_tags(machine: &str, key: &str) -> Vec<Value> {
    vec![
        json!({"Key": "dataflow-runner:managed", "Value": "true"}),
        json!({"Key": "dataflow-runner:run-key", "Value": format!("{key}#1")}),
        json!({"Key": "dataflow-runner:execution", "Value": execution_arn(machine, key)}),
    ]
}

async fn launch_and_compare(cluster: &str, playbook: &str, plan: &str, key: &str) -> String {
    let h = emulator(json!({})).await;
    let aws = aws(&h, true).await;
    let event = launch_event(
        reference(cluster),
        Some(reference(playbook)),
        "transient",
        key,
    );
    let out = launch(&aws, &h, &event).await.unwrap();
    let mut planned = reference(plan)["RunJobFlow"].clone();
    let tags = planned["Tags"].as_array_mut().unwrap();
    tags.extend(run_tags("run-transient", key));
    assert_sent_as_planned(&received(&h, "RunJobFlow"), &planned, "RunJobFlow");
    out.cluster_id
}

#[tokio::test]
async fn run_job_flow_with_instance_fleets_is_sent_as_planned() {
    launch_and_compare(
        "full/cluster-fleets.json",
        "full/playbook-concurrent.json",
        "expected/full-fleets-transient.json",
        "every-field-fleets",
    )
    .await;
}

#[tokio::test]
async fn run_job_flow_with_instance_groups_is_sent_as_planned() {
    launch_and_compare(
        "full/cluster-groups.json",
        "full/playbook.json",
        "expected/full-groups-transient.json",
        "every-field-groups",
    )
    .await;
}

#[tokio::test]
async fn add_job_flow_steps_is_sent_as_planned() {
    let h = emulator(json!({})).await;
    let aws = aws(&h, true).await;
    let cluster_id = up(&aws, &h, "steps target", "every-field-up").await;
    let key = "every-field-run";
    let event: AddStepsEvent = decode(
        "add-steps",
        json!({"clusterId": cluster_id, "playbook": reference("full/playbook.json"), "run": {"key": key}}),
    )
    .unwrap();
    add_steps(&event, &aws.add(), &NoS3, &SystemClock, now(&h))
        .await
        .unwrap();
    let mut planned = reference("expected/full-run.json")["AddJobFlowSteps"].clone();
    // Planned for the cluster named on the command line; sent for the one launched here.
    planned["JobFlowId"] = json!(cluster_id);
    let suffix = format!(" [run {}]", dfr_lambda::run::short_id(key));
    for step in planned["Steps"].as_array_mut().unwrap() {
        let name = format!("{}{suffix}", step["Name"].as_str().unwrap());
        step["Name"] = json!(name);
    }
    assert_sent_as_planned(
        &received(&h, "AddJobFlowSteps"),
        &planned,
        "AddJobFlowSteps",
    );
}

/// The comparison itself: a field lost, changed or added is found, with its path.
#[test]
fn a_dropped_changed_or_added_field_is_a_difference() {
    let planned = json!({"A": {"B": [1, {"C": "x"}], "D": 60.0}});
    let mut diff = Vec::new();
    differences(
        &json!({"A": {"B": [1, {"C": "x"}], "D": 60}}),
        &planned,
        "R",
        &mut diff,
    );
    assert!(diff.is_empty(), "{diff:?}");
    differences(
        &json!({"A": {"B": [1, {}], "D": 61, "E": true}}),
        &planned,
        "R",
        &mut diff,
    );
    assert_eq!(
        diff,
        [
            "R.A.B[1].C: planned \"x\", not sent",
            "R.A.D: planned 60.0, sent 61",
            "R.A.E: sent true, not planned"
        ]
    );
}
