//! CloudWatch metrics the functions write without an API call: one JSON log line in the Embedded Metric Format per
//! stack, namespace `DataflowRunner`, dimension `Stack`. The stack's alarms read them (infra/README.md).

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

/// CloudWatch namespace of the metrics the functions write.
pub const METRICS_NAMESPACE: &str = "DataflowRunner";

/// The log line for `stack`: each of `metrics` (name, unit, value) as a metric, and `context` (an object) as
/// searchable fields beside them.
pub fn embedded(
    stack: &str,
    metrics: &[(&str, &str, i64)],
    context: Value,
    now: DateTime<Utc>,
) -> Value {
    let mut line = Map::new();
    line.insert(
        "_aws".into(),
        json!({
            "Timestamp": now.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": METRICS_NAMESPACE,
                "Dimensions": [["Stack"]],
                "Metrics": metrics.iter().map(|(name, unit, _)| json!({"Name": name, "Unit": unit})).collect::<Vec<_>>(),
            }]
        }),
    );
    line.insert("Stack".into(), json!(stack));
    for (name, _, value) in metrics {
        line.insert((*name).into(), json!(value));
    }
    if let Value::Object(fields) = context {
        line.extend(fields);
    }
    Value::Object(line)
}
