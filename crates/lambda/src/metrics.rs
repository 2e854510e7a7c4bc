//! CloudWatch metrics the functions write without an API call: one JSON log line in the Embedded Metric Format,
//! namespace `DataflowRunner`, dimension `Stack` (and `Stack` + `Pipeline` for a run's own figures, `Stack` +
//! `FunctionName` for EMR's throttling). [`Metric`] is the one list of what the functions write: the stack's alarms
//! and dashboard read only metrics of this list (the test below reads the template), and the functions write only
//! what they read (`tests/statemachine/test/dashboard.test.mjs` reads the lines the functions write).

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

/// CloudWatch namespace of the metrics the functions write.
pub const METRICS_NAMESPACE: &str = "DataflowRunner";

/// Every metric the functions write, with its unit and the dimension sets it is written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// lock: a run found its lock held (1).
    LockHeld,
    /// lock: how long the holder of that lock has had it.
    LockHeldForSeconds,
    /// reconciler: repairs of one sweep, in all and per kind.
    Repairs,
    ClustersTerminated,
    WaitsAnswered,
    LocksReleased,
    LocksKept,
    CostsRecorded,
    /// The end of a run (check-status): what it cost, per stack and pipeline.
    RunCostUsd,
    RunInstanceHours,
    /// A run ended by its budget (1).
    BudgetExceeded,
    /// reconciler, each sweep that finds any: the locks held (a run's, or a hard lock kept after a failure) and how
    /// long the oldest of them has been.
    HeldLocks,
    OldestHeldLockSeconds,
    /// Every function that calls EMR, after an invocation in which EMR throttled any attempt: how many (the SDK's
    /// retries included), per stack and function.
    EmrThrottled,
}

impl Metric {
    pub const ALL: [Metric; 14] = [
        Metric::LockHeld,
        Metric::LockHeldForSeconds,
        Metric::Repairs,
        Metric::ClustersTerminated,
        Metric::WaitsAnswered,
        Metric::LocksReleased,
        Metric::LocksKept,
        Metric::CostsRecorded,
        Metric::RunCostUsd,
        Metric::RunInstanceHours,
        Metric::BudgetExceeded,
        Metric::HeldLocks,
        Metric::OldestHeldLockSeconds,
        Metric::EmrThrottled,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::LockHeld => "LockHeld",
            Metric::LockHeldForSeconds => "LockHeldForSeconds",
            Metric::Repairs => "Repairs",
            Metric::ClustersTerminated => "ClustersTerminated",
            Metric::WaitsAnswered => "WaitsAnswered",
            Metric::LocksReleased => "LocksReleased",
            Metric::LocksKept => "LocksKept",
            Metric::CostsRecorded => "CostsRecorded",
            Metric::RunCostUsd => "RunCostUsd",
            Metric::RunInstanceHours => "RunInstanceHours",
            Metric::BudgetExceeded => "BudgetExceeded",
            Metric::HeldLocks => "HeldLocks",
            Metric::OldestHeldLockSeconds => "OldestHeldLockSeconds",
            Metric::EmrThrottled => "EmrThrottled",
        }
    }

    pub fn unit(self) -> &'static str {
        match self {
            Metric::LockHeldForSeconds | Metric::OldestHeldLockSeconds => "Seconds",
            Metric::RunCostUsd | Metric::RunInstanceHours => "None",
            _ => "Count",
        }
    }

    /// The dimension sets it is written with: a run's figures also per pipeline (its cluster's name), one metric
    /// per pipeline and stack, which stays small for scheduled pipelines; EMR's throttling per function (the
    /// stack's own few, `FunctionName` as AWS/Lambda names them). Locks are per stack only: a lock's name comes from
    /// each execution's input, so a metric per name could grow without bound (and each costs a month's fee); the
    /// oldest's name is a field of the line instead.
    pub fn dimensions(self) -> &'static [&'static [&'static str]] {
        match self {
            Metric::RunCostUsd | Metric::RunInstanceHours => &[&["Stack"], &["Stack", "Pipeline"]],
            Metric::EmrThrottled => &[&["Stack", "FunctionName"]],
            _ => &[&["Stack"]],
        }
    }
}

/// The log line for `stack`: each of `metrics` (metric, value) as a metric, and `context` (an object) as
/// searchable fields beside them (a `Pipeline` field for the metrics written per pipeline).
pub fn embedded(
    stack: &str,
    metrics: &[(Metric, f64)],
    context: Value,
    now: DateTime<Utc>,
) -> Value {
    let mut line = Map::new();
    line.insert(
        "_aws".into(),
        json!({
            "Timestamp": now.timestamp_millis(),
            "CloudWatchMetrics": directives(metrics),
        }),
    );
    line.insert("Stack".into(), json!(stack));
    for (metric, value) in metrics {
        line.insert(metric.name().into(), number(*value));
    }
    if let Value::Object(fields) = context {
        line.extend(fields);
    }
    Value::Object(line)
}

/// One directive per dimension-set group: EMF applies a directive's dimension sets to all of its metrics.
fn directives(metrics: &[(Metric, f64)]) -> Vec<Value> {
    let mut groups: Vec<(&[&[&str]], Vec<Value>)> = Vec::new();
    for (m, _) in metrics {
        let entry = json!({"Name": m.name(), "Unit": m.unit()});
        match groups.iter_mut().find(|(d, _)| *d == m.dimensions()) {
            Some((_, list)) => list.push(entry),
            None => groups.push((m.dimensions(), vec![entry])),
        }
    }
    groups
        .into_iter()
        .map(|(dimensions, metrics)| {
            json!({"Namespace": METRICS_NAMESPACE, "Dimensions": dimensions, "Metrics": metrics})
        })
        .collect()
}

/// A whole value as an integer (`1`, not `1.0`), a fraction as it is.
fn number(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 9.0e15 {
        json!(value as i64)
    } else {
        json!(value)
    }
}

/// The stack the functions belong to (`DFR_STACK`, which the template sets).
pub fn stack_from_process_env() -> String {
    std::env::var("DFR_STACK").unwrap_or_else(|_| "dataflow-runner".into())
}

/// The log line of an invocation in which EMR throttled `attempts` of `function`'s calls.
pub fn emr_throttled(stack: &str, function: &str, attempts: u64, now: DateTime<Utc>) -> Value {
    embedded(
        stack,
        &[(Metric::EmrThrottled, attempts as f64)],
        json!({ "FunctionName": function }),
        now,
    )
}

/// The log line of a run's end: what it cost (`RunCostUsd` when priced, `RunInstanceHours`), per stack and pipeline
/// (the cluster's name), `BudgetExceeded` when its budget ended it, and the fields the dashboard's table of the last
/// runs reads.
pub fn run_ended(stack: &str, run: &RunEnded<'_>, now: DateTime<Utc>) -> Value {
    let mut metrics = vec![(Metric::RunInstanceHours, run.cost.instance_hours)];
    if let Some(usd) = run.cost.usd {
        metrics.push((Metric::RunCostUsd, usd));
    }
    if run.outcome == "BudgetExceeded" {
        metrics.push((Metric::BudgetExceeded, 1.0));
    }
    embedded(
        stack,
        &metrics,
        json!({
            "Pipeline": run.pipeline,
            "Command": run.command,
            "Outcome": run.outcome,
            "ClusterId": run.cluster_id,
            "DurationSeconds": run.duration_seconds,
            "Execution": run.execution,
        }),
        now,
    )
}

/// The log line of a serverless run's end ([`crate::serverless::run_end`]): `RunCostUsd` when priced, per stack and
/// pipeline (the application's name), as a cluster run's, and the fields of the dashboard's table of the last runs;
/// `Target` says `serverless`, and its vCPU-, memory GB- and storage GB-hours stand where a cluster run's
/// instance-hours would (fields, not metrics).
pub fn serverless_run_ended(
    stack: &str,
    run: &ServerlessRunEnded<'_>,
    now: DateTime<Utc>,
) -> Value {
    let metrics: Vec<(Metric, f64)> = run
        .cost
        .usd
        .map(|usd| (Metric::RunCostUsd, usd))
        .into_iter()
        .collect();
    embedded(
        stack,
        &metrics,
        json!({
            "Target": "serverless",
            "Pipeline": run.pipeline,
            "Command": "run-transient",
            "Outcome": run.outcome,
            "ApplicationId": run.application_id,
            "DurationSeconds": run.duration_seconds,
            "Execution": run.execution,
            "JobRuns": run.cost.job_runs,
            "VcpuHours": run.cost.vcpu_hours,
            "MemoryGbHours": run.cost.memory_gb_hours,
            "StorageGbHours": run.cost.storage_gb_hours,
        }),
        now,
    )
}

/// A serverless run that ended, as [`serverless_run_ended`] writes it.
pub struct ServerlessRunEnded<'a> {
    /// The application's name.
    pub pipeline: &'a str,
    /// `SUCCEEDED`, the failure's name, or how the execution ended (ABORTED, TIMED_OUT, FAILED).
    pub outcome: &'a str,
    pub application_id: &'a str,
    /// `None` when the start of the execution is not known.
    pub duration_seconds: Option<i64>,
    pub execution: &'a str,
    pub cost: &'a dfr_core::serverless::status::ServerlessRunCost,
}

/// A run that ended, as [`run_ended`] writes it.
pub struct RunEnded<'a> {
    pub pipeline: &'a str,
    /// The command: `run-transient`, `up`, `run` or `down`.
    pub command: &'a str,
    /// `SUCCEEDED`, or the failure's name.
    pub outcome: &'a str,
    pub cluster_id: &'a str,
    pub duration_seconds: i64,
    pub execution: Option<&'a str>,
    pub cost: &'a dfr_core::cost::RunCost,
}

/// Asserts that an embedded-metric line is one CloudWatch reads: in our namespace, every metric and every dimension
/// of its directives with a value in the line.
#[cfg(test)]
pub(crate) fn assert_well_formed(line: &Value) {
    for directive in line["_aws"]["CloudWatchMetrics"].as_array().unwrap() {
        assert_eq!(directive["Namespace"], METRICS_NAMESPACE);
        for metric in directive["Metrics"].as_array().unwrap() {
            let name = metric["Name"].as_str().unwrap();
            assert!(line[name].is_number(), "{name} has a value");
        }
        for dims in directive["Dimensions"].as_array().unwrap() {
            for d in dims.as_array().unwrap() {
                assert!(line[d.as_str().unwrap()].is_string(), "{d} has a value");
            }
        }
    }
}

/// A run's cost: 1.5 instance-hours, 0.37 USD.
#[cfg(test)]
pub(crate) fn a_cost() -> dfr_core::cost::RunCost {
    serde_json::from_value(json!({
        "instanceHours": 1.5, "billedSeconds": 5400, "normalizedInstanceHours": 8, "usd": 0.37,
        "usdIsLowerBound": false, "ec2Usd": 0.3, "emrUsd": 0.07, "ebsUsd": 0.0, "byInstanceType": [],
        "unpriced": [], "estimate": true, "final": true, "since": null, "until": "2026-12-02T12:00:00Z",
        "region": "eu-west-1", "pricesAsOf": null, "pricesUnavailable": null, "leavesOut": []
    }))
    .unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every DataflowRunner metric the stack's alarms and dashboard read, with its dimensions, is one the functions
    /// write with those dimensions.
    #[test]
    fn the_dashboard_and_the_alarms_read_only_metrics_the_functions_write() {
        let template = include_str!("../../../infra/template.yaml");
        let written = |name: &str, dims: &[&str]| {
            Metric::ALL
                .iter()
                .any(|m| m.name() == name && m.dimensions().contains(&dims))
        };
        let mut read = std::collections::BTreeSet::new();
        // The dashboard: each metric array ["DataflowRunner", name, dimension, value, …], and each SEARCH expression
        // (other expressions, e.g. FILL, compute on the metrics of the widget, read here as arrays).
        let body_start = template.find("DashboardBody: !Sub |").expect("a dashboard");
        let body: String = template[body_start..]
            .lines()
            .skip(1)
            .take_while(|l| l.starts_with("        "))
            .collect::<Vec<_>>()
            .join("\n");
        let dashboard: Value = serde_json::from_str(&body).expect("the dashboard body is JSON");
        for widget in dashboard["widgets"].as_array().unwrap() {
            for m in widget["properties"]["metrics"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let parts = m.as_array().unwrap();
                if parts[0] == "DataflowRunner" {
                    let dims: Vec<&str> = parts[2..]
                        .iter()
                        .step_by(2)
                        .filter_map(Value::as_str)
                        .collect();
                    let name = parts[1].as_str().unwrap();
                    assert!(
                        written(name, &dims),
                        "the dashboard reads {name} by {dims:?}"
                    );
                    read.insert(name);
                }
                let Some(search) = parts[0]["expression"]
                    .as_str()
                    .and_then(|e| e.strip_prefix("SEARCH("))
                else {
                    continue;
                };
                let schema = search
                    .split('{')
                    .nth(1)
                    .and_then(|r| r.split('}').next())
                    .unwrap();
                let dims: Vec<&str> = schema.split(',').skip(1).collect();
                assert_eq!(schema.split(',').next(), Some(METRICS_NAMESPACE));
                let name = search
                    .split("MetricName=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap();
                assert!(
                    written(name, &dims),
                    "the dashboard searches {name} by {dims:?}"
                );
                read.insert(name);
            }
        }
        // The alarms: `Namespace: DataflowRunner` followed by `MetricName: X` and a Stack dimension.
        let lines: Vec<&str> = template.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            if l.trim() == "Namespace: DataflowRunner" {
                let name = lines[i + 1]
                    .trim()
                    .strip_prefix("MetricName: ")
                    .expect("MetricName next");
                assert!(written(name, &["Stack"]), "an alarm reads {name}");
                read.insert(name);
            }
        }
        let unread: Vec<&str> = Metric::ALL
            .iter()
            .map(|m| m.name())
            .filter(|n| !read.contains(n))
            .collect();
        assert!(
            unread.is_empty(),
            "written, but neither the dashboard nor an alarm reads {unread:?}"
        );
    }

    #[test]
    fn a_runs_end_is_written_per_stack_and_per_pipeline() {
        let cost = a_cost();
        let run = RunEnded {
            pipeline: "nightly-enrich-prod",
            command: "run-transient",
            outcome: "BudgetExceeded",
            cluster_id: "j-1",
            duration_seconds: 5400,
            execution: None,
            cost: &cost,
        };
        let line = run_ended("dfr", &run, "2026-12-02T12:00:00Z".parse().unwrap());
        assert_eq!(line["RunCostUsd"], 0.37);
        assert_eq!(line["RunInstanceHours"], 1.5);
        assert_eq!(line["BudgetExceeded"], 1);
        assert_eq!(line["Pipeline"], "nightly-enrich-prod");
        let directives = line["_aws"]["CloudWatchMetrics"].as_array().unwrap();
        assert_eq!(
            directives.len(),
            2,
            "per pipeline, and per stack alone: {directives:?}"
        );
        assert_eq!(
            directives[0]["Dimensions"],
            json!([["Stack"], ["Stack", "Pipeline"]])
        );
        assert_eq!(directives[1]["Dimensions"], json!([["Stack"]]));
    }

    #[test]
    fn a_serverless_runs_end_is_written_with_its_cost_per_stack_and_pipeline_and_says_its_target() {
        use dfr_core::serverless::status::{job_run_cost, run_cost, ResourceUtilization};
        let billed = ResourceUtilization {
            vcpu_hour: 2.0,
            memory_gb_hour: 8.0,
            storage_gb_hour: 0.0,
        };
        let unpriced = run_cost(&[job_run_cost(&billed, Err("no prices"), true)]);
        let mut priced = unpriced.clone();
        priced.usd = Some(0.1234);
        let run = |cost| ServerlessRunEnded {
            pipeline: "nightly-enrich-prod",
            outcome: "StepFailed",
            application_id: "00app",
            duration_seconds: Some(600),
            execution: "arn:aws:states:eu-west-1:1:execution:dfr-serverless-run-transient:n",
            cost,
        };
        let now = "2026-12-02T12:00:00Z".parse().unwrap();
        let line = serverless_run_ended("dfr", &run(&priced), now);
        assert_well_formed(&line);
        assert_eq!(line["RunCostUsd"], 0.1234);
        assert_eq!(line["Target"], "serverless");
        assert_eq!(
            [&line["Outcome"], &line["ApplicationId"], &line["Pipeline"]],
            ["StepFailed", "00app", "nightly-enrich-prod"]
        );
        assert_eq!(
            (&line["VcpuHours"], &line["JobRuns"]),
            (&json!(2.0), &json!(1))
        );
        assert_eq!(line["DurationSeconds"], 600);
        assert!(line.get("RunInstanceHours").is_none(), "no instances");
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Stack"], ["Stack", "Pipeline"]])
        );
        // Not priced: the line is still written, with no cost metric.
        let line = serverless_run_ended("dfr", &run(&unpriced), now);
        assert_well_formed(&line);
        assert!(line.get("RunCostUsd").is_none());
        assert_eq!(line["_aws"]["CloudWatchMetrics"], json!([]));
        assert_eq!(line["Outcome"], "StepFailed");
    }

    #[test]
    fn emrs_throttling_is_written_per_stack_and_function() {
        let line = emr_throttled("dfr", "dfr-CheckStatusFunction-x", 3, Utc::now());
        assert_eq!(line["EmrThrottled"], 3);
        assert_eq!(line["FunctionName"], "dfr-CheckStatusFunction-x");
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Stack", "FunctionName"]])
        );
        assert_well_formed(&line);
    }
}
