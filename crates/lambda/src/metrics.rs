//! CloudWatch metrics the functions write without an API call: one JSON log line in the Embedded Metric Format,
//! namespace `DataflowRunner`, dimension `Stack` (and `Stack` + `Pipeline` for a run's own figures). [`Metric`] is
//! the one list of what the functions write: the stack's alarms and dashboard read only metrics of this list, which
//! `tests/statemachine/test/dashboard.test.mjs` checks against the template and the log lines the functions write.

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
    /// reconciler, every sweep: the locks held now, and how long the oldest has been held.
    LocksHeld,
    OldestLockSeconds,
    /// The end of a run (check-status, terminate-cluster, the reconciler): what it cost, per stack and pipeline.
    RunCostUsd,
    RunInstanceHours,
    /// A run ended by its budget (1).
    BudgetExceeded,
    /// A call to EMR throttled (after the SDK's own retries): the function fails with EmrThrottled and its task
    /// retries.
    EmrThrottled,
}

impl Metric {
    pub const ALL: [Metric; 13] = [
        Metric::LockHeld,
        Metric::LockHeldForSeconds,
        Metric::Repairs,
        Metric::ClustersTerminated,
        Metric::WaitsAnswered,
        Metric::LocksReleased,
        Metric::LocksKept,
        Metric::LocksHeld,
        Metric::OldestLockSeconds,
        Metric::RunCostUsd,
        Metric::RunInstanceHours,
        Metric::BudgetExceeded,
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
            Metric::LocksHeld => "LocksHeld",
            Metric::OldestLockSeconds => "OldestLockSeconds",
            Metric::RunCostUsd => "RunCostUsd",
            Metric::RunInstanceHours => "RunInstanceHours",
            Metric::BudgetExceeded => "BudgetExceeded",
            Metric::EmrThrottled => "EmrThrottled",
        }
    }

    pub fn unit(self) -> &'static str {
        match self {
            Metric::LockHeldForSeconds | Metric::OldestLockSeconds => "Seconds",
            Metric::RunCostUsd | Metric::RunInstanceHours => "None",
            _ => "Count",
        }
    }

    /// The dimension sets it is written with: a run's figures also per pipeline (its cluster's name), one metric
    /// per pipeline and stack, which stays small for scheduled pipelines.
    pub fn dimensions(self) -> &'static [&'static [&'static str]] {
        match self {
            Metric::RunCostUsd | Metric::RunInstanceHours => &[&["Stack"], &["Stack", "Pipeline"]],
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
