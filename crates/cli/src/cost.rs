//! A run's `cost` as the CLI shows it: the object a run's output (success) and its failure's Cause carry
//! (statemachine/README.md, "What a run cost"), read for the run commands' final table and for `report`. Read
//! leniently: only the figures the CLI prints are read, and a run without a `cost` (stopped, timed out, still
//! running, or from a stack that did not record one) simply has none.

use serde::Deserialize;
use serde_json::Value;

use crate::follow::Outcome;

/// The figures of a run's `cost` the CLI prints.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cost {
    /// Billed instance-seconds over 3,600.
    pub instance_hours: f64,
    /// Estimated USD; `None` when no price could be read.
    #[serde(default)]
    pub usd: Option<f64>,
    /// `usd` leaves out the prices named in `unpriced`: the run cost at least that much.
    #[serde(default)]
    pub usd_is_lower_bound: bool,
    /// False while the run goes on: the cost so far.
    #[serde(rename = "final", default = "true_by_default")]
    pub is_final: bool,
    #[serde(default)]
    pub prices_as_of: Option<String>,
    #[serde(default)]
    pub prices_unavailable: Option<String>,
    #[serde(default)]
    pub unpriced: Vec<Unpriced>,
    #[serde(default)]
    pub leaves_out: Vec<String>,
}

/// A price that could not be found.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Unpriced {
    #[serde(default)]
    pub instance_type: String,
    #[serde(default)]
    pub market: String,
    #[serde(default)]
    pub missing: String,
}

fn true_by_default() -> bool {
    true
}

impl Cost {
    /// The `cost` of a run's output or of its failure's Cause (parsed), if it has one.
    pub fn of(document: &Value) -> Option<Cost> {
        document
            .get("cost")
            .filter(|c| c.is_object())
            .and_then(|c| Cost::deserialize(c).ok())
    }

    /// The `cost` of an execution that ended: in its output when it succeeded, in its Cause (JSON text) when it
    /// failed; stopped and timed-out executions have neither.
    pub fn of_outcome(outcome: &Outcome) -> Option<Cost> {
        match outcome {
            Outcome::Succeeded(output) => Cost::of(output),
            Outcome::Failed { cause, .. } => {
                serde_json::from_str(cause).ok().as_ref().and_then(Cost::of)
            }
            Outcome::Aborted | Outcome::TimedOut => None,
        }
    }

    /// The dollars as a person reads them: `≈ $0.37`, `at least $0.37` (some prices missing), `not priced`.
    fn dollars(&self) -> String {
        match self.usd {
            Some(usd) if self.usd_is_lower_bound => format!("at least ${}", cents(usd)),
            Some(usd) => format!("≈ ${}", cents(usd)),
            None => "not priced".into(),
        }
    }

    /// What the dollars rest on: the prices' date, the missing prices, or why there are none.
    fn basis(&self) -> String {
        let mut parts = vec![match &self.prices_as_of {
            Some(at) => format!("estimate, prices as of {}", day(at)),
            None => "estimate".to_string(),
        }];
        let missing: Vec<String> = self
            .unpriced
            .iter()
            .map(|u| format!("no {} for {} {}", u.missing, u.instance_type, u.market))
            .collect();
        if !missing.is_empty() {
            parts.push(missing.join(", "));
        }
        if self.usd.is_none() {
            parts.push(match &self.prices_unavailable {
                Some(why) => format!("prices could not be read: {why}"),
                None => "prices could not be read".into(),
            });
        }
        parts.join("; ")
    }

    /// The lines the run commands print under their step table:
    /// `Cost: 1.5056 instance-hours, ≈ $0.37 (estimate, prices as of 2026-11-01)` and what the estimate leaves out.
    pub fn lines(&self) -> Vec<String> {
        let label = if self.is_final { "Cost" } else { "Cost so far" };
        let mut lines = vec![format!(
            "{label}: {} instance-hours, {} ({})",
            self.instance_hours,
            self.dollars(),
            self.basis()
        )];
        if !self.leaves_out.is_empty() {
            lines.push(format!("  leaves out: {}", self.leaves_out.join("; ")));
        }
        lines
    }

    /// The cost in a table cell, in USD: `0.37`, `≥0.37` when a lower bound, `?` when not priced; `*` marks a cost
    /// that is not final (the legend is [`MARKS`]).
    pub fn usd_cell(&self) -> String {
        let figure = match self.usd {
            Some(usd) if self.usd_is_lower_bound => format!("≥{}", cents(usd)),
            Some(usd) => cents(usd),
            None => "?".into(),
        };
        if self.is_final {
            figure
        } else {
            format!("{figure}*")
        }
    }
}

/// Dollars to the cent, half a cent rounded up (0.125 → "0.13"), as a bill rounds.
pub fn cents(usd: f64) -> String {
    format!("{:.2}", (usd * 100.0).round() / 100.0)
}

/// What the marks of [`Cost::usd_cell`] mean.
pub const MARKS: [(&str, &str); 3] = [
    ("≥", "at least: some prices could not be found"),
    ("?", "not priced: no price could be read"),
    ("*", "not final: the cost so far"),
];

/// The date of an RFC 3339 time (`2026-11-01T06:00:00Z` → `2026-11-01`), or the text as it is.
fn day(time: &str) -> &str {
    match chrono::DateTime::parse_from_rfc3339(time) {
        Ok(_) => &time[..10],
        Err(_) => time,
    }
}

/// A `cost` as statemachine/README.md, "What a run cost", shows it.
#[cfg(test)]
pub fn sample() -> Value {
    serde_json::json!({"instanceHours": 1.5056, "billedSeconds": 5420, "normalizedInstanceHours": 8,
               "usd": 0.3745, "usdIsLowerBound": false, "ec2Usd": 0.2891, "emrUsd": 0.0723, "ebsUsd": 0.0132,
               "byInstanceType": [{"instanceType": "m5.xlarge", "market": "ON_DEMAND", "instances": 1, "billedSeconds": 5420,
                                   "instanceHours": 1.5056, "ec2Usd": 0.2891, "emrUsd": 0.0723, "ebsUsd": 0.0132, "usd": 0.3745}],
               "unpriced": [], "estimate": true, "final": true, "since": null, "until": "2026-11-02T02:31:00Z",
               "region": "us-east-1", "pricesAsOf": "2026-11-01T06:00:00Z", "pricesUnavailable": null,
               "leavesOut": ["data transfer", "S3 requests and storage", "taxes"]})
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_successful_runs_cost_is_read_from_its_output_and_printed_with_what_it_rests_on() {
        let output = json!({"clusterId": "j-1", "steps": [], "cost": sample()});
        let cost = Cost::of_outcome(&Outcome::Succeeded(output)).expect("a cost");
        assert_eq!(cost.instance_hours, 1.5056);
        assert_eq!(
            cost.lines(),
            vec![
                "Cost: 1.5056 instance-hours, ≈ $0.37 (estimate, prices as of 2026-11-01)",
                "  leaves out: data transfer; S3 requests and storage; taxes"
            ]
        );
        assert_eq!(cost.usd_cell(), "0.37");
    }

    #[test]
    fn a_failed_runs_cost_is_read_from_its_cause_text() {
        let cause = json!({"clusterId": "j-1", "failedSteps": [], "cost": sample()}).to_string();
        let cost = Cost::of_outcome(&Outcome::Failed {
            error: "StepFailed".into(),
            cause,
        });
        assert_eq!(cost.map(|c| c.usd), Some(Some(0.3745)));
        // A Cause that is not JSON, or has no cost: none.
        for cause in [
            "Lambda timed out",
            r#"{"clusterId": null, "error": "InvalidConfig"}"#,
        ] {
            let outcome = Outcome::Failed {
                error: "X".into(),
                cause: cause.into(),
            };
            assert_eq!(Cost::of_outcome(&outcome), None, "{cause}");
        }
    }

    #[test]
    fn runs_without_a_cost_have_none() {
        assert_eq!(Cost::of(&json!({"clusterId": "j-1"})), None);
        assert_eq!(Cost::of(&json!({"cost": null})), None);
        assert_eq!(Cost::of(&json!({"cost": {"usd": 1.0}})), None, "no hours");
        assert_eq!(Cost::of_outcome(&Outcome::Aborted), None);
        assert_eq!(Cost::of_outcome(&Outcome::TimedOut), None);
    }

    #[test]
    fn a_cost_without_prices_keeps_its_hours_and_says_why() {
        let mut c = sample();
        c["usd"] = Value::Null;
        c["pricesAsOf"] = Value::Null;
        c["pricesUnavailable"] = json!("pricing:GetProducts: AccessDenied");
        c["leavesOut"] = json!([]);
        let cost = Cost::of(&json!({ "cost": c })).unwrap();
        assert_eq!(
            cost.lines(),
            vec!["Cost: 1.5056 instance-hours, not priced (estimate; prices could not be read: pricing:GetProducts: AccessDenied)"]
        );
        assert_eq!(cost.usd_cell(), "?");
    }

    #[test]
    fn a_lower_bound_and_a_cost_so_far_are_marked() {
        let mut c = sample();
        c["usdIsLowerBound"] = json!(true);
        c["final"] = json!(false);
        c["unpriced"] =
            json!([{"instanceType": "m7i.xlarge", "market": "ON_DEMAND", "missing": "EMR price"}]);
        c["leavesOut"] = json!([]);
        let cost = Cost::of(&json!({ "cost": c })).unwrap();
        assert_eq!(
            cost.lines(),
            vec!["Cost so far: 1.5056 instance-hours, at least $0.37 (estimate, prices as of 2026-11-01; no EMR price for m7i.xlarge ON_DEMAND)"]
        );
        assert_eq!(cost.usd_cell(), "≥0.37*");
    }
}
