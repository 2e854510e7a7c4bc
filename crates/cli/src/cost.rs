//! Costs as the CLI shows them. A run's `cost`: the object a run's output (success) and its failure's Cause carry
//! (statemachine/README.md, "What a run cost"), read for the run commands' final table and for `report`; read
//! leniently: only the figures the CLI prints are read, and a run without a `cost` (stopped, timed out, still
//! running, or from a stack that did not record one) simply has none. And the price per hour of a cluster about to
//! be launched (`plan --estimate`), in the same words.

use dfr_core::cost::{dollars, market_name, HourlyChoice, HourlyEstimate};
use serde::Deserialize;
use serde_json::Value;

use crate::follow::Outcome;

/// The figures of a run's `cost` the CLI prints.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cost {
    /// Billed instance-seconds over 3,600 (0 for a run on EMR Serverless).
    #[serde(default)]
    pub instance_hours: f64,
    /// A run on EMR Serverless: its job runs' billed vCPU-hours together (`None` for a cluster's run).
    #[serde(default)]
    pub vcpu_hours: Option<f64>,
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
            .filter(|c| c.get("instanceHours").is_some() || c.get("vcpuHours").is_some())
            .and_then(|c| Cost::deserialize(c).ok())
    }

    /// A serverless run's cost (its job runs' together), not a cluster's.
    pub fn is_serverless(&self) -> bool {
        self.vcpu_hours.is_some()
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

    /// What the dollars rest on.
    fn basis(&self) -> String {
        let missing: Vec<String> = self
            .unpriced
            .iter()
            .map(|u| missing(&u.missing, &u.instance_type, &u.market))
            .collect();
        let unavailable = self
            .usd
            .is_none()
            .then(|| self.prices_unavailable.as_deref().unwrap_or_default());
        basis(self.prices_as_of.as_deref().map(day), &missing, unavailable)
    }

    /// The lines the run commands print under their step table:
    /// `Cost: 1.5056 instance-hours, ≈ $0.37 (estimate, prices as of 2026-11-01)` and what the estimate leaves out.
    /// A serverless run's cost has none: its job runs' total line says it ([`JobRunCost::total_line`]).
    pub fn lines(&self) -> Vec<String> {
        if self.is_serverless() {
            return Vec::new();
        }
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

/// What a job run on EMR Serverless was billed for, and its estimate: a job run's `cost` in a serverless run's
/// output (or its failure's Cause). Read leniently, as [`Cost`] is.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobRunCost {
    #[serde(default)]
    pub vcpu_hours: f64,
    #[serde(default)]
    pub memory_gb_hours: f64,
    #[serde(default)]
    pub storage_gb_hours: f64,
    /// Estimated USD, as decimal text (or a number); `None` when no price could be read.
    #[serde(default, deserialize_with = "lenient_usd")]
    pub usd: Option<f64>,
}

fn lenient_usd<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    })
}

impl JobRunCost {
    /// A job run's `cost`, if it has one.
    pub fn of(job_run: &Value) -> Option<JobRunCost> {
        job_run
            .get("cost")
            .filter(|c| c.is_object())
            .and_then(|c| JobRunCost::deserialize(c).ok())
    }

    /// `2.5 vCPU-hours, 10 GB-hours memory, 0 GB-hours storage, ≈ $0.12` (or `not priced`).
    pub fn text(&self) -> String {
        let dollars = match self.usd {
            Some(usd) => format!("≈ ${}", cents(usd)),
            None => "not priced".into(),
        };
        format!(
            "{} vCPU-hours, {} GB-hours memory, {} GB-hours storage, {dollars}",
            self.vcpu_hours, self.memory_gb_hours, self.storage_gb_hours
        )
    }

    /// The line under a serverless run's job runs: what they cost together, `at least` when one was not priced.
    pub fn total_line(costs: &[&JobRunCost]) -> Option<String> {
        if costs.is_empty() {
            return None;
        }
        let usd: f64 = costs.iter().filter_map(|c| c.usd).sum();
        let some_unpriced = costs.iter().any(|c| c.usd.is_none());
        let dollars = match (some_unpriced, costs.iter().all(|c| c.usd.is_none())) {
            (_, true) => "not priced".to_string(),
            (true, false) => format!("at least ${}", cents(usd)),
            (false, false) => format!("≈ ${}", cents(usd)),
        };
        let runs = match costs.len() {
            1 => "1 job run".to_string(),
            n => format!("{n} job runs"),
        };
        Some(format!(
            "Cost: {dollars} for {runs} (estimate, EMR Serverless prices)"
        ))
    }
}

/// What an estimate rests on: the prices' date, the missing prices, or why there are none (`Some("")`: no reason
/// known).
fn basis(prices_as_of: Option<&str>, missing: &[String], unavailable: Option<&str>) -> String {
    let mut parts = vec![match prices_as_of {
        Some(date) => format!("estimate, prices as of {date}"),
        None => "estimate".to_string(),
    }];
    if !missing.is_empty() {
        parts.push(missing.join(", "));
    }
    match unavailable {
        Some("") => parts.push("prices could not be read".into()),
        Some(why) => parts.push(format!("prices could not be read: {why}")),
        None => {}
    }
    parts.join("; ")
}

/// A price that could not be found: `no EMR price for m7i.xlarge ON_DEMAND`.
fn missing(price: &str, instance_type: &str, market: &str) -> String {
    format!("no {price} for {instance_type} {market}")
}

/// The lines `plan --estimate` and `validate --estimate` print: the price per hour (a range where EMR chooses),
/// where, each group's figures, what the estimate assumes and leaves out; or why prices could not be read.
pub fn estimate_lines(estimate: &Result<HourlyEstimate, String>) -> Vec<String> {
    let e = match estimate {
        Ok(e) => e,
        Err(why) => {
            return vec![format!(
                "Price per hour: not priced ({})",
                basis(None, &[], Some(why))
            )]
        }
    };
    let (least, most) = (cents(e.usd_per_hour.least), cents(e.usd_per_hour.most));
    let figure = if least == most {
        format!("${least}")
    } else {
        format!("${least} to ${most}")
    };
    let about = if e.usd_is_lower_bound {
        "at least"
    } else {
        "≈"
    };
    let missing: Vec<String> = e
        .unpriced
        .iter()
        .map(|u| missing(&u.missing, &u.instance_type, market_name(u.market)))
        .collect();
    let date = e.prices_as_of.format("%Y-%m-%d").to_string();
    let mut lines = vec![format!(
        "Price per hour: {about} {figure} ({})",
        basis(Some(&date), &missing, None)
    )];
    let zones = match (&e.spot_zone.least, &e.spot_zone.most) {
        (Some(a), Some(b)) if a != b => {
            format!(", spot at its newest price: the least in {a}, the most in {b}")
        }
        (Some(a), _) => format!(", spot at its newest price in {a}"),
        _ => String::new(),
    };
    lines.push(format!("  in {}{zones}", e.region));
    for l in &e.lines {
        let market = market_name(l.market);
        lines.push(choice_line(&l.role, market, &l.least));
        if l.most != l.least {
            lines.push(choice_line("    to", market, &l.most));
        }
    }
    lines.extend(e.notes.iter().map(|n| format!("  note: {n}")));
    if !e.leaves_out.is_empty() {
        lines.push(format!("  leaves out: {}", e.leaves_out.join("; ")));
    }
    lines
}

/// `  CORE   r5.2xlarge     ON_DEMAND    2 × (EC2 $0.564 + EMR $0.126 + EBS $0.0241) = $1.4282/h`
fn choice_line(role: &str, market: &str, c: &HourlyChoice) -> String {
    let cell =
        |v: Option<f64>| v.map_or("no price".to_string(), |usd| format!("${}", dollars(usd)));
    format!(
        "  {role:<6} {:<14} {market:<9} {:>4} × (EC2 {} + EMR {} + EBS {}) = ${}/h",
        c.instance_type,
        c.instances,
        cell(c.ec2_usd_per_hour),
        cell(c.emr_usd_per_hour),
        cell(c.ebs_usd_per_hour),
        dollars(c.usd_per_hour)
    )
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
    fn a_job_runs_cost_is_read_leniently_and_summed_as_at_least_when_one_is_not_priced() {
        let priced = JobRunCost::of(
            &json!({"cost": {"vcpuHours": 2.5, "memoryGbHours": 10, "storageGbHours": 0,
                                                     "usd": "0.1234"}}),
        )
        .unwrap();
        assert_eq!(
            priced.text(),
            "2.5 vCPU-hours, 10 GB-hours memory, 0 GB-hours storage, ≈ $0.12"
        );
        let unpriced =
            JobRunCost::of(&json!({"cost": {"vcpuHours": 1, "memoryGbHours": 4, "usd": null}}))
                .unwrap();
        assert!(unpriced.text().ends_with("not priced"));
        assert_eq!(JobRunCost::of(&json!({"cost": null})), None);
        assert_eq!(
            JobRunCost::total_line(&[&priced, &priced]).unwrap(),
            "Cost: ≈ $0.25 for 2 job runs (estimate, EMR Serverless prices)"
        );
        assert_eq!(
            JobRunCost::total_line(&[&priced, &unpriced]).unwrap(),
            "Cost: at least $0.12 for 2 job runs (estimate, EMR Serverless prices)"
        );
        assert_eq!(
            JobRunCost::total_line(&[&unpriced]).unwrap(),
            "Cost: not priced for 1 job run (estimate, EMR Serverless prices)"
        );
        assert_eq!(JobRunCost::total_line(&[]), None);
    }

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

    /// eu-west-1's prices from the emulator's fixture (crates/emr-emulator/fixtures/prices.json), one book per spot
    /// zone, each with that zone's newest spot prices.
    fn fixture_books(zones: &[&str]) -> Vec<dfr_core::cost::PriceBook> {
        use dfr_core::cost::{InstancePrice, PriceBook, SpotPrice, Usd};
        let f: Value =
            serde_json::from_str(include_str!("../../emr-emulator/fixtures/prices.json")).unwrap();
        let usd = |v: &Value| Usd::parse(v.as_str().unwrap()).unwrap();
        let at = chrono::DateTime::parse_from_rfc3339(&format!(
            "{}T00:00:00Z",
            f["pricesAsOf"].as_str().unwrap()
        ))
        .unwrap()
        .to_utc();
        let instances = f["instanceTypes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["ec2"].get("eu-west-1").is_some())
            .map(|t| {
                let price = InstancePrice {
                    ec2_on_demand: Some(usd(&t["ec2"]["eu-west-1"])),
                    emr: Some(usd(&t["emr"]["eu-west-1"])),
                };
                (t["instanceType"].as_str().unwrap().to_string(), price)
            })
            .collect();
        let ebs = f["ebsVolumes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["volumeApiName"].as_str().unwrap().to_string(),
                    usd(&v["usdPerGbMonth"]["eu-west-1"]),
                )
            })
            .collect();
        zones
            .iter()
            .map(|zone| PriceBook {
                region: "eu-west-1".into(),
                prices_as_of: at,
                instances: Clone::clone(&instances),
                spot_zone: Some(zone.to_string()),
                spot: f["spot"]["prices"][zone]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(t, history)| {
                        let newest = SpotPrice {
                            usd_per_hour: usd(&history[0]),
                            timestamp: at,
                        };
                        (t.clone(), newest)
                    })
                    .collect(),
                ebs_per_gb_month: Clone::clone(&ebs),
            })
            .collect()
    }

    /// The spark example's instances (examples/spark/cluster.json), planned.
    fn spark_cluster() -> dfr_core::plan::RunJobFlowRequest {
        let config: dfr_core::model::ClusterConfig = serde_json::from_value(json!({
            "name": "nightly-enrich-prod", "region": "eu-west-1",
            "roles": {"jobflow": "EMR_EC2_DefaultRole", "service": "EMR_DefaultRole"},
            "ec2": {"location": {"vpc": {"subnetId": "subnet-0abc1234"}}, "instances": {
                "master": {"type": "m5.xlarge"},
                "core": {"type": "r5.2xlarge", "count": 2, "ebsConfiguration": {"ebsBlockDeviceConfigs": [
                    {"volumesPerInstance": 1, "volumeSpecification": {"sizeInGB": 200, "volumeType": "gp3"}}]}},
                "task": {"type": "r5.2xlarge", "count": 4, "market": "SPOT"}
            }}
        }))
        .unwrap();
        dfr_core::plan::run_job_flow(&config, dfr_core::plan::Lifecycle::Persistent, None)
    }

    #[test]
    fn an_estimate_prints_the_price_per_hour_of_each_group_and_the_range_across_spot_zones() {
        // eu-west-1 in the fixture:
        // MASTER 1 × m5.xlarge: EC2 0.214 + EMR 0.048 = 0.262.
        // CORE 2 × r5.2xlarge: 0.564 + 0.126 + EBS 200 GiB gp3 at 0.088 / 730 h = 17.6 / 730 = 0.0241095… → 0.0241;
        //   0.7141095… each, 1.4282191… → 1.4282.
        // TASK 4 × r5.2xlarge spot at the newest price: eu-west-1b 0.1748 + 0.126 = 0.3008, × 4 = 1.2032 (the
        //   cheapest zone); eu-west-1a 0.2030 + 0.126 = 0.329, × 4 = 1.316 (the dearest).
        // Total: 0.262 + 1.4282191… + 1.2032 = 2.8934191… → 2.8934 ($2.89), to 0.262 + 1.4282191… + 1.316 =
        //   3.0062191… → 3.0062 ($3.01).
        let estimate = dfr_core::cost::hourly_estimate(
            &spark_cluster(),
            &fixture_books(&["eu-west-1a", "eu-west-1b"]),
        )
        .unwrap();
        assert_eq!(
            (estimate.usd_per_hour.least, estimate.usd_per_hour.most),
            (2.8934, 3.0062)
        );
        let lines = estimate_lines(&Ok(estimate.clone()));
        assert_eq!(
            lines[..6],
            [
                "Price per hour: ≈ $2.89 to $3.01 (estimate, prices as of 2025-01-01)",
                "  in eu-west-1, spot at its newest price: the least in eu-west-1b, the most in eu-west-1a",
                "  MASTER m5.xlarge      ON_DEMAND    1 × (EC2 $0.214 + EMR $0.048 + EBS $0.00) = $0.262/h",
                "  CORE   r5.2xlarge     ON_DEMAND    2 × (EC2 $0.564 + EMR $0.126 + EBS $0.0241) = $1.4282/h",
                "  TASK   r5.2xlarge     SPOT         4 × (EC2 $0.1748 + EMR $0.126 + EBS $0.00) = $1.2032/h",
                "      to r5.2xlarge     SPOT         4 × (EC2 $0.203 + EMR $0.126 + EBS $0.00) = $1.316/h",
            ]
        );
        assert_eq!(
            lines[6..lines.len() - 1],
            [
                format!("  note: {}", dfr_core::cost::SPOT_RULE),
                format!("  note: {}", dfr_core::cost::EBS_RULE)
            ]
        );
        assert!(lines[lines.len() - 1].starts_with("  leaves out: data transfer; "));

        // In one zone there is no range; with a price missing the figure is a lower bound that says what is missing.
        let one =
            dfr_core::cost::hourly_estimate(&spark_cluster(), &fixture_books(&["eu-west-1a"]))
                .unwrap();
        let lines = estimate_lines(&Ok(one));
        assert_eq!(
            lines[0],
            "Price per hour: ≈ $3.01 (estimate, prices as of 2025-01-01)"
        );
        assert_eq!(
            lines[1],
            "  in eu-west-1, spot at its newest price in eu-west-1a"
        );
        let mut books = fixture_books(&["eu-west-1a"]);
        books[0].instances.remove("m5.xlarge");
        let lines = estimate_lines(&Ok(dfr_core::cost::hourly_estimate(
            &spark_cluster(),
            &books,
        )
        .unwrap()));
        // 3.0062191… − 0.262 = 2.7442191… → $2.74.
        assert_eq!(
            lines[0],
            "Price per hour: at least $2.74 (estimate, prices as of 2025-01-01; no EC2 on-demand price for m5.xlarge \
             ON_DEMAND, no EMR price for m5.xlarge ON_DEMAND)"
        );
        assert_eq!(
            lines[2],
            "  MASTER m5.xlarge      ON_DEMAND    1 × (EC2 no price + EMR no price + EBS $0.00) = $0.00/h"
        );
    }

    #[test]
    fn an_estimate_without_prices_says_why_in_one_line() {
        let why = "the AWS Price List could not be read: GetProducts: AccessDeniedException: not authorized";
        assert_eq!(
            estimate_lines(&Err(why.to_string())),
            [format!(
                "Price per hour: not priced (estimate; prices could not be read: {why})"
            )]
        );
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
