//! Every rule of `cost`, each with its hand computation.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::*;
use crate::model::ClusterConfig;
use crate::plan::{run_job_flow, Lifecycle, RunJobFlowRequest};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn usd(text: &str) -> Usd {
    Usd::parse(text).unwrap()
}

/// us-east-1's prices as the Price List gave them (m5.xlarge $0.192 + $0.048 EMR), spot in us-east-1a.
fn book() -> PriceBook {
    let price = |ec2: &str, emr: &str| InstancePrice {
        ec2_on_demand: Some(usd(ec2)),
        emr: Some(usd(emr)),
    };
    let spot = |price: &str| SpotPrice {
        usd_per_hour: usd(price),
        timestamp: at("2026-10-31T22:14:03Z"),
    };
    PriceBook {
        region: "us-east-1".to_string(),
        prices_as_of: at("2026-11-01T06:00:00Z"),
        instances: BTreeMap::from([
            ("m5.xlarge".to_string(), price("0.192", "0.048")),
            ("m5.2xlarge".to_string(), price("0.384", "0.096")),
            ("r5.xlarge".to_string(), price("0.252", "0.063")),
            ("r5.2xlarge".to_string(), price("0.504", "0.126")),
        ]),
        spot_zone: Some("us-east-1a".to_string()),
        spot: BTreeMap::from([
            ("r5.2xlarge".to_string(), spot("0.1298")),
            ("m5.2xlarge".to_string(), spot("0.1392")),
            ("r5.xlarge".to_string(), spot("0.0651")),
        ]),
        ebs_per_gb_month: BTreeMap::from([
            ("gp2".to_string(), usd("0.10")),
            ("gp3".to_string(), usd("0.08")),
        ]),
    }
}

fn life(instance_type: &str, market: Market, start: &str, end: Option<&str>) -> InstanceLife {
    InstanceLife {
        instance_type: instance_type.to_string(),
        market,
        start: at(start),
        end: end.map(at),
        ebs_volumes: Vec::new(),
    }
}

fn ended(until: &str) -> Window {
    Window {
        since: None,
        until: at(until),
        ended: true,
    }
}

fn gp2_2x32() -> Vec<EbsVolume> {
    vec![
        EbsVolume {
            volume_type: "gp2".to_string(),
            size_gib: 32,
        };
        2
    ]
}

#[test]
fn when_an_on_demand_master_lives_1_h_30_min_20_s_should_bill_every_second_at_ec2_plus_emr() {
    // 5,420 s. EC2 0.192 × 5420 / 3600 = 0.289066… → 0.2891; EMR 0.048 × 5420 / 3600 = 0.072266… → 0.0723;
    // together 0.24 × 5420 / 3600 = 0.361333… → 0.3613 (rounded on its own: the parts add up to 0.3614);
    // 5420 / 3600 = 1.505555… → 1.5056 instance-hours.
    let master = life(
        "m5.xlarge",
        Market::OnDemand,
        "2026-11-02T01:00:00Z",
        Some("2026-11-02T02:30:20Z"),
    );
    let cost = run_cost(
        &[master],
        Some(8),
        &ended("2026-11-02T02:31:00Z"),
        Ok(&book()),
    );
    assert_eq!(
        serde_json::to_value(&cost).unwrap(),
        json!({
            "instanceHours": 1.5056,
            "billedSeconds": 5420,
            "normalizedInstanceHours": 8,
            "usd": 0.3613,
            "usdIsLowerBound": false,
            "ec2Usd": 0.2891,
            "emrUsd": 0.0723,
            "ebsUsd": 0.0,
            "byInstanceType": [{
                "instanceType": "m5.xlarge",
                "market": "ON_DEMAND",
                "instances": 1,
                "billedSeconds": 5420,
                "instanceHours": 1.5056,
                "ec2Usd": 0.2891,
                "emrUsd": 0.0723,
                "ebsUsd": 0.0,
                "usd": 0.3613
            }],
            "unpriced": [],
            "estimate": true,
            "final": true,
            "since": null,
            "until": "2026-11-02T02:31:00Z",
            "region": "us-east-1",
            "pricesAsOf": "2026-11-01T06:00:00Z",
            "pricesUnavailable": null,
            "leavesOut": LEAVES_OUT,
        })
    );
}

#[test]
fn when_an_instance_lives_20_seconds_should_bill_the_one_minute_minimum() {
    // 60 s: EC2 0.192 / 60 = 0.0032, EMR 0.048 / 60 = 0.0008, 0.004 in all; 60 / 3600 = 0.016666… → 0.0167 h.
    let short = life(
        "m5.xlarge",
        Market::OnDemand,
        "2026-11-02T01:00:00Z",
        Some("2026-11-02T01:00:20Z"),
    );
    let cost = run_cost(&[short], None, &ended("2026-11-02T02:00:00Z"), Ok(&book()));
    assert_eq!(cost.billed_seconds, 60);
    assert_eq!(cost.instance_hours, 0.0167);
    assert_eq!(
        (cost.ec2_usd, cost.emr_usd, cost.usd),
        (Some(0.0032), Some(0.0008), Some(0.004))
    );
}

#[test]
fn when_a_spot_core_fleet_runs_two_hours_should_price_spot_in_the_zone_plus_the_emr_uplift() {
    // Two r5.2xlarge spot instances, 2 h each: 14,400 s = 4 instance-hours. EC2 at the spot price 0.1298 × 4 =
    // 0.5192; EMR's uplift is the on-demand one, 0.126 × 4 = 0.504; 1.0232 in all.
    let core: Vec<InstanceLife> = (0..2)
        .map(|_| {
            life(
                "r5.2xlarge",
                Market::Spot,
                "2026-11-02T01:00:00Z",
                Some("2026-11-02T03:00:00Z"),
            )
        })
        .collect();
    let cost = run_cost(&core, Some(64), &ended("2026-11-02T03:00:05Z"), Ok(&book()));
    let line = &cost.by_instance_type[0];
    assert_eq!(
        (line.market, line.instances, line.billed_seconds),
        (Market::Spot, 2, 14_400)
    );
    assert_eq!(line.instance_hours, 4.0);
    assert_eq!(
        (line.ec2_usd, line.emr_usd, line.usd),
        (Some(0.5192), Some(0.504), Some(1.0232))
    );
    assert_eq!(cost.usd, Some(1.0232));
}

#[test]
fn when_an_instance_has_two_32_gib_gp2_volumes_should_bill_them_per_second_of_a_730_hour_month() {
    // 64 GiB × 5,420 s at $0.10 per GB-month of 730 h (2,628,000 s): 6.4 × 5420 / 2628000 = 0.0131993… → 0.0132;
    // with EC2 + EMR (0.3613333…): 0.3745326… → 0.3745.
    let mut master = life(
        "m5.xlarge",
        Market::OnDemand,
        "2026-11-02T01:00:00Z",
        Some("2026-11-02T02:30:20Z"),
    );
    master.ebs_volumes = gp2_2x32();
    let cost = run_cost(&[master], None, &ended("2026-11-02T03:00:00Z"), Ok(&book()));
    assert_eq!(cost.ebs_usd, Some(0.0132));
    assert_eq!(cost.by_instance_type[0].ebs_usd, Some(0.0132));
    assert_eq!(cost.usd, Some(0.3745));
}

#[test]
fn when_an_instance_type_has_no_price_should_count_its_hours_name_it_and_call_usd_a_lower_bound() {
    // m5.xlarge 1 h = $0.24; c7gn.16xlarge 1 h has neither an EC2 nor an EMR price: 2 instance-hours, usd ≥ 0.24.
    let lives = [
        life(
            "m5.xlarge",
            Market::OnDemand,
            "2026-11-02T01:00:00Z",
            Some("2026-11-02T02:00:00Z"),
        ),
        life(
            "c7gn.16xlarge",
            Market::OnDemand,
            "2026-11-02T01:00:00Z",
            Some("2026-11-02T02:00:00Z"),
        ),
    ];
    let cost = run_cost(&lives, None, &ended("2026-11-02T02:00:00Z"), Ok(&book()));
    assert_eq!(cost.instance_hours, 2.0);
    assert_eq!(cost.usd, Some(0.24));
    assert!(cost.usd_is_lower_bound);
    let unpriced: Vec<(&str, &str)> = cost
        .unpriced
        .iter()
        .map(|u| (u.instance_type.as_str(), u.missing.as_str()))
        .collect();
    assert_eq!(
        unpriced,
        [
            ("c7gn.16xlarge", "EC2 on-demand price"),
            ("c7gn.16xlarge", "EMR price")
        ]
    );
    let line = &cost.by_instance_type[0];
    assert_eq!(line.instance_type, "c7gn.16xlarge");
    assert_eq!(
        (line.instance_hours, line.ec2_usd, line.emr_usd),
        (1.0, None, None)
    );
}

#[test]
fn when_a_spot_price_or_a_volume_type_is_missing_should_name_the_zone_and_the_volume_type() {
    // m5.xlarge has no spot price in us-east-1a; its io2 volume has no EBS price: EMR's 0.048 for 1 h is all priced.
    let mut spot = life(
        "m5.xlarge",
        Market::Spot,
        "2026-11-02T01:00:00Z",
        Some("2026-11-02T02:00:00Z"),
    );
    spot.ebs_volumes = vec![EbsVolume {
        volume_type: "io2".to_string(),
        size_gib: 100,
    }];
    let cost = run_cost(&[spot], None, &ended("2026-11-02T02:00:00Z"), Ok(&book()));
    let missing: Vec<&str> = cost.unpriced.iter().map(|u| u.missing.as_str()).collect();
    assert_eq!(missing, ["spot price in us-east-1a", "EBS price of io2"]);
    assert_eq!(
        (cost.ec2_usd, cost.emr_usd, cost.ebs_usd, cost.usd),
        (Some(0.0), Some(0.048), Some(0.0), Some(0.048))
    );
    assert_eq!(cost.by_instance_type[0].ebs_usd, None);
}

#[test]
fn when_an_instance_still_runs_should_price_it_up_to_now_and_say_the_cost_is_not_final() {
    // 10:00:00 to now 10:45:00: 2,700 s = 0.75 h; 0.192 × 0.75 = 0.144, 0.048 × 0.75 = 0.036, 0.18 in all.
    let running = life("m5.xlarge", Market::OnDemand, "2026-11-02T10:00:00Z", None);
    let now = Window {
        since: None,
        until: at("2026-11-02T10:45:00Z"),
        ended: false,
    };
    let cost = run_cost(&[running], None, &now, Ok(&book()));
    assert!(!cost.is_final);
    assert_eq!(cost.billed_seconds, 2700);
    assert_eq!((cost.instance_hours, cost.usd), (0.75, Some(0.18)));
    assert_eq!(serde_json::to_value(&cost).unwrap()["final"], json!(false));
}

#[test]
fn when_a_run_counts_from_its_own_start_should_bill_only_the_window_and_the_minimum_only_to_instances_started_in_it(
) {
    // The run 10:00:00 to 10:30:00.5 on a cluster of older instances:
    // A 09:00 → 10:30: 1,800 s of it in the window, no minimum (it started before);
    // B 09:00 → 09:50: none of it, not counted;
    // C 10:10:00 → 10:10:10: started inside, billed the 60 s minimum;
    // D 10:20:00 → running: 600.5 s, a started second counts: 601 s.
    // 1800 + 60 + 601 = 2,461 s, 3 instances.
    let lives = [
        life(
            "m5.xlarge",
            Market::OnDemand,
            "2026-11-02T09:00:00Z",
            Some("2026-11-02T10:30:00Z"),
        ),
        life(
            "m5.xlarge",
            Market::OnDemand,
            "2026-11-02T09:00:00Z",
            Some("2026-11-02T09:50:00Z"),
        ),
        life(
            "m5.xlarge",
            Market::OnDemand,
            "2026-11-02T10:10:00Z",
            Some("2026-11-02T10:10:10Z"),
        ),
        life("m5.xlarge", Market::OnDemand, "2026-11-02T10:20:00Z", None),
    ];
    let window = Window {
        since: Some(at("2026-11-02T10:00:00Z")),
        until: at("2026-11-02T10:30:00.500Z"),
        ended: true,
    };
    let cost = run_cost(&lives, None, &window, Ok(&book()));
    assert_eq!(cost.by_instance_type[0].instances, 3);
    assert_eq!(cost.billed_seconds, 2461);
}

#[test]
fn when_an_instance_is_created_after_until_should_not_count_it() {
    let later = life("m5.xlarge", Market::OnDemand, "2026-11-02T10:00:01Z", None);
    let cost = run_cost(&[later], None, &ended("2026-11-02T10:00:00Z"), Ok(&book()));
    assert!(cost.by_instance_type.is_empty());
    assert_eq!((cost.billed_seconds, cost.usd), (0, Some(0.0)));
}

#[test]
fn when_prices_could_not_be_read_should_still_count_hours_and_say_why() {
    let one = life(
        "m5.xlarge",
        Market::OnDemand,
        "2026-11-02T01:00:00Z",
        Some("2026-11-02T02:00:00Z"),
    );
    let cost = run_cost(
        &[one],
        Some(8),
        &ended("2026-11-02T02:00:00Z"),
        Err("pricing:GetProducts was denied"),
    );
    assert_eq!(cost.instance_hours, 1.0);
    assert_eq!(
        (cost.usd, cost.ec2_usd, cost.region.as_deref()),
        (None, None, None)
    );
    assert_eq!(cost.by_instance_type[0].usd, None);
    assert!(cost.unpriced.is_empty() && !cost.usd_is_lower_bound);
    assert_eq!(
        cost.prices_unavailable.as_deref(),
        Some("pricing:GetProducts was denied")
    );
}

#[test]
fn when_instances_share_a_type_should_add_up_in_one_line_and_round_half_up() {
    // Three m5.xlarge on-demand for 1 s each (60 s billed each): 180 s, 0.24 × 180 / 3600 = 0.012;
    // one r5.xlarge on-demand 7 s (60 s): 0.315 / 60 = 0.00525 → 0.0053 (half up).
    // EC2: 0.192 × 180 / 3600 = 0.0096 and 0.252 / 60 = 0.0042: 0.0138; EMR: 0.0024 + 0.00105 = 0.00345 → 0.0035;
    // in all the exact 0.01725 → 0.0173.
    let mut lives: Vec<InstanceLife> = (0..3)
        .map(|_| {
            life(
                "m5.xlarge",
                Market::OnDemand,
                "2026-11-02T01:00:00Z",
                Some("2026-11-02T01:00:01Z"),
            )
        })
        .collect();
    lives.push(life(
        "r5.xlarge",
        Market::OnDemand,
        "2026-11-02T01:00:00Z",
        Some("2026-11-02T01:00:07Z"),
    ));
    let cost = run_cost(&lives, None, &ended("2026-11-02T02:00:00Z"), Ok(&book()));
    let types: Vec<(&str, u32, u64)> = cost
        .by_instance_type
        .iter()
        .map(|l| (l.instance_type.as_str(), l.instances, l.billed_seconds))
        .collect();
    assert_eq!(types, [("m5.xlarge", 3, 180), ("r5.xlarge", 1, 60)]);
    assert_eq!(cost.by_instance_type[1].usd, Some(0.0053));
    assert_eq!(
        (cost.ec2_usd, cost.emr_usd, cost.usd),
        (Some(0.0138), Some(0.0035), Some(0.0173))
    );
}

#[test]
fn when_a_price_is_written_as_aws_writes_it_should_read_it_exactly_and_write_it_back() {
    assert_eq!(usd("0.1920000000").pico(), 192_000_000_000);
    assert_eq!(usd("12").pico(), 12_000_000_000_000);
    assert_eq!(usd("0.000000000001").pico(), 1);
    assert_eq!(usd("0.1920000000").to_string(), "0.192");
    assert_eq!(usd("3").to_string(), "3");
    for bad in [
        "",
        ".5",
        "5.",
        "-0.1",
        "1e3",
        "0.1.2",
        " 1",
        "0.0000000000001",
        "99999999999999999999",
    ] {
        assert_eq!(Usd::parse(bad), None, "{bad:?}");
    }
    let book = book();
    let text = serde_json::to_string(&book).unwrap();
    assert!(
        text.contains(r#""m5.xlarge":{"ec2OnDemand":"0.192","emr":"0.048"}"#),
        "{text}"
    );
    assert_eq!(serde_json::from_str::<PriceBook>(&text).unwrap(), book);
}

fn cost_of(seconds: i64, prices: Result<&PriceBook, &str>, extra: &[InstanceLife]) -> RunCost {
    let start = at("2026-11-02T01:00:00Z");
    let mut lives = vec![InstanceLife {
        instance_type: "m5.xlarge".to_string(),
        market: Market::OnDemand,
        start,
        end: Some(start + Duration::seconds(seconds)),
        ebs_volumes: Vec::new(),
    }];
    lives.extend_from_slice(extra);
    run_cost(&lives, None, &ended("2026-11-03T00:00:00Z"), prices)
}

fn budget(hours: Option<f64>, usd: Option<f64>) -> Budget {
    Budget {
        max_instance_hours: hours,
        max_cost_usd: usd,
    }
}

#[test]
fn when_instance_hours_pass_the_limit_should_show_the_spend_and_the_limit() {
    // 44,280 s = 12.3 h.
    let cost = cost_of(44_280, Ok(&book()), &[]);
    let overrun = over_budget(&cost, &budget(Some(10.0), None)).unwrap();
    assert_eq!(overrun.message, "spent 12.3 instance-hours, limit 10");
    assert_eq!(
        serde_json::to_value(&overrun).unwrap(),
        json!({"exceeded": [{"option": "maxInstanceHours", "spent": 12.3, "limit": 10.0}],
               "message": "spent 12.3 instance-hours, limit 10"})
    );
}

#[test]
fn when_a_budget_is_set_the_next_check_should_come_before_the_average_rate_reaches_it() {
    // One instance for 10 h (36,000 s) at $0.24/h: 10 instance-hours, $2.40 over 36,000 s.
    let cost = cost_of(36_000, Ok(&book()), &[]);
    // 20 h limit: 10 h left at 1 h/h = 36,000 s, half of it 18,000 s.
    assert_eq!(
        seconds_to_budget_check(&cost, &budget(Some(20.0), None), 36_000),
        Some(18_000)
    );
    // $3.00 limit: $0.60 left at $0.24/h = 9,000 s, half 4,500 s; the nearer limit decides.
    assert_eq!(
        seconds_to_budget_check(&cost, &budget(Some(20.0), Some(3.0)), 36_000),
        Some(4_500)
    );
    // Already at the limit, or nothing spent yet (no rate known): as soon as the caller allows.
    assert_eq!(
        seconds_to_budget_check(&cost, &budget(Some(10.0), None), 36_000),
        Some(0)
    );
    assert_eq!(
        seconds_to_budget_check(&cost, &budget(Some(20.0), None), 0),
        Some(0)
    );
    let nothing = RunCost {
        instance_hours: 0.0,
        ..cost.clone()
    };
    assert_eq!(
        seconds_to_budget_check(&nothing, &budget(Some(20.0), None), 600),
        Some(0)
    );
    // No limit: the usual pause.
    assert_eq!(
        seconds_to_budget_check(&cost, &budget(None, None), 36_000),
        None
    );
}

#[test]
fn when_the_spend_equals_the_limit_should_not_be_over_budget() {
    // 36,000 s = 10 h exactly; $0.24 × 10 = $2.40.
    let cost = cost_of(36_000, Ok(&book()), &[]);
    assert_eq!(over_budget(&cost, &budget(Some(10.0), Some(2.4))), None);
    // One second more: 10.0003 h ((36001 × 10⁴ + 1800) / 3600 = 100,003), $2.4001.
    let cost = cost_of(36_001, Ok(&book()), &[]);
    let overrun = over_budget(&cost, &budget(Some(10.0), Some(2.4))).unwrap();
    assert_eq!(
        overrun.message,
        "spent 10.0003 instance-hours, limit 10; spent $2.4001 (estimate, prices as of 2026-11-01), limit $2.40"
    );
    assert_eq!(overrun.exceeded.len(), 2);
}

#[test]
fn when_the_cost_passes_max_cost_usd_should_show_dollars_and_when_the_prices_are_from() {
    // $0.24/h × 17.5416… h: 63,150 s → 0.24 × 63150 / 3600 = 4.21.
    let cost = cost_of(63_150, Ok(&book()), &[]);
    assert_eq!(cost.usd, Some(4.21));
    let overrun = over_budget(&cost, &budget(None, Some(4.0))).unwrap();
    assert_eq!(
        overrun.message,
        "spent $4.21 (estimate, prices as of 2026-11-01), limit $4.00"
    );
    assert_eq!(overrun.exceeded[0].option, "maxCostUsd");
    assert_eq!(over_budget(&cost, &budget(None, Some(4.25))), None);
    assert_eq!(budget_warning(&cost, &budget(None, Some(4.25))), None);
}

#[test]
fn when_some_type_is_unpriced_should_judge_max_cost_usd_on_the_lower_bound_and_warn() {
    let unpriced = [InstanceLife {
        instance_type: "c7gn.16xlarge".to_string(),
        market: Market::OnDemand,
        start: at("2026-11-02T01:00:00Z"),
        end: Some(at("2026-11-02T02:00:00Z")),
        ebs_volumes: Vec::new(),
    }];
    // The priced part alone, $4.21, is past $4: over budget, "at least".
    let cost = cost_of(63_150, Ok(&book()), &unpriced);
    let overrun = over_budget(&cost, &budget(None, Some(4.0))).unwrap();
    assert_eq!(
        overrun.message,
        "spent at least $4.21 (estimate, prices as of 2026-11-01; no EC2 on-demand price for c7gn.16xlarge \
         ON_DEMAND, no EMR price for c7gn.16xlarge ON_DEMAND), limit $4.00"
    );
    // Under the limit on what is priced: the run goes on, warned.
    assert_eq!(over_budget(&cost, &budget(None, Some(5.0))), None);
    assert_eq!(
        budget_warning(&cost, &budget(None, Some(5.0))).as_deref(),
        Some(
            "maxCostUsd ($5.00) is checked against a lower bound; no EC2 on-demand price for c7gn.16xlarge \
             ON_DEMAND, no EMR price for c7gn.16xlarge ON_DEMAND"
        )
    );
    assert_eq!(budget_warning(&cost, &budget(Some(100.0), None)), None);
}

#[test]
fn when_no_price_could_be_read_should_leave_max_cost_usd_unjudged_with_a_warning_and_still_judge_hours(
) {
    let cost = cost_of(44_280, Err("the Price List endpoint was unreachable"), &[]);
    let both = budget(Some(10.0), Some(0.01));
    let overrun = over_budget(&cost, &both).unwrap();
    assert_eq!(overrun.message, "spent 12.3 instance-hours, limit 10");
    assert_eq!(
        budget_warning(&cost, &both).as_deref(),
        Some(
            "maxCostUsd ($0.01) is not checked: prices could not be read (the Price List endpoint was \
             unreachable); maxInstanceHours needs no price"
        )
    );
}

#[test]
fn when_options_hold_a_budget_should_read_both_limits_and_null_as_none() {
    assert_eq!(
        Budget::of_options(
            &json!({"maxInstanceHours": 10, "maxCostUsd": null, "minPollSeconds": 30})
        ),
        budget(Some(10.0), None)
    );
    assert_eq!(
        Budget::of_options(&json!({"maxCostUsd": 4.5})),
        budget(None, Some(4.5))
    );
    assert_eq!(Budget::of_options(&json!({})), Budget::default());
}

#[test]
fn when_dollars_are_written_should_show_at_least_two_decimals() {
    assert_eq!(dollars(4.0), "4.00");
    assert_eq!(dollars(4.2), "4.20");
    assert_eq!(dollars(4.21), "4.21");
    assert_eq!(dollars(4.2105), "4.2105");
}

fn cluster(ec2: serde_json::Value) -> RunJobFlowRequest {
    let config: ClusterConfig = serde_json::from_value(json!({
        "name": "estimate",
        "roles": {"jobflow": "EMR_EC2_DefaultRole", "service": "EMR_DefaultRole"},
        "ec2": ec2,
    }))
    .unwrap();
    run_job_flow(&config, Lifecycle::Transient, None)
}

/// The book's prices with these spot prices in `zone` instead.
fn in_zone(zone: &str, spot: &[(&str, &str)]) -> PriceBook {
    let mut b = book();
    b.spot_zone = Some(zone.to_string());
    b.spot = spot
        .iter()
        .map(|(t, p)| {
            let price = SpotPrice {
                usd_per_hour: usd(p),
                timestamp: at("2026-10-31T22:14:03Z"),
            };
            (t.to_string(), price)
        })
        .collect();
    b
}

/// A master with two 32 GiB gp2 volumes and two spot core instances with `bid` (none: the on-demand price).
fn groups(bid: Option<&str>) -> RunJobFlowRequest {
    let mut core = json!({"type": "r5.2xlarge", "count": 2, "market": "SPOT"});
    if let Some(bid) = bid {
        core["bid"] = json!(bid);
    }
    cluster(json!({
        "location": {"vpc": {"subnetId": "subnet-1"}},
        "instances": {
            "master": {"type": "m5.xlarge", "ebsConfiguration": {"ebsBlockDeviceConfigs": [
                {"volumesPerInstance": 2, "volumeSpecification": {"sizeInGB": 32, "volumeType": "gp2"}}
            ]}},
            "core": core
        }
    }))
}

fn figures(c: &HourlyChoice) -> (&str, u32, Option<f64>, Option<f64>, Option<f64>, f64) {
    (
        c.instance_type.as_str(),
        c.instances,
        c.ec2_usd_per_hour,
        c.emr_usd_per_hour,
        c.ebs_usd_per_hour,
        c.usd_per_hour,
    )
}

#[test]
fn when_a_cluster_of_instance_groups_is_planned_should_price_each_group_per_hour_from_the_cheapest_zone_to_the_dearest(
) {
    // MASTER 1 × m5.xlarge on-demand: 0.192 + 0.048 + EBS 2 × 32 GiB gp2 at 0.10 / 730 h = 6.4 / 730 =
    // 0.0087671… → 0.0088; 0.2487671… → 0.2488, in every zone.
    // CORE 2 × r5.2xlarge spot (the maximum: the on-demand 0.504):
    //   us-east-1a 0.1298 + 0.126 = 0.2558 each, 0.5116; total 0.7603671… → 0.7604 (the cheapest whole cluster);
    //   us-east-1b 0.15 + 0.126 = 0.276 each, 0.552; total 0.8007671… → 0.8008 (the dearest);
    //   us-east-1c has no spot price of r5.2xlarge: it prices less (0.2488 + 2 × 0.126 = 0.5008) but not all of the
    //   cluster, so it is neither end.
    let books = [
        in_zone("us-east-1a", &[("r5.2xlarge", "0.1298")]),
        in_zone("us-east-1b", &[("r5.2xlarge", "0.15")]),
        in_zone("us-east-1c", &[("m5.xlarge", "0.05")]),
    ];
    let estimate = hourly_estimate(&groups(None), &books).unwrap();
    let master = &estimate.lines[0];
    assert_eq!(
        (
            master.role.as_str(),
            master.market,
            master.fleet_instance_types
        ),
        ("MASTER", Market::OnDemand, None)
    );
    let master_figures = (
        "m5.xlarge",
        1,
        Some(0.192),
        Some(0.048),
        Some(0.0088),
        0.2488,
    );
    assert_eq!(figures(&master.least), master_figures);
    assert_eq!(figures(&master.most), master_figures);
    let core = &estimate.lines[1];
    assert_eq!((core.role.as_str(), core.market), ("CORE", Market::Spot));
    assert_eq!(
        figures(&core.least),
        (
            "r5.2xlarge",
            2,
            Some(0.1298),
            Some(0.126),
            Some(0.0),
            0.5116
        )
    );
    assert_eq!(
        figures(&core.most),
        ("r5.2xlarge", 2, Some(0.15), Some(0.126), Some(0.0), 0.552)
    );
    assert_eq!(
        estimate.usd_per_hour,
        Ends {
            least: 0.7604,
            most: 0.8008
        }
    );
    assert_eq!(
        estimate.spot_zone,
        Ends {
            least: Some("us-east-1a".to_string()),
            most: Some("us-east-1b".to_string())
        }
    );
    assert_eq!(
        estimate.spot_zones,
        ["us-east-1a", "us-east-1b", "us-east-1c"]
    );
    assert!(!estimate.usd_is_lower_bound && estimate.unpriced.is_empty());
    assert_eq!(estimate.notes, [SPOT_RULE, EBS_RULE]);

    // With the zone alone that misses a price, the estimate says so.
    let alone = hourly_estimate(&groups(None), &books[2..]).unwrap();
    assert_eq!(alone.usd_per_hour.least, 0.5008);
    assert!(alone.usd_is_lower_bound);
    assert_eq!(alone.unpriced.len(), 1);
    assert_eq!(alone.unpriced[0].missing, "spot price in us-east-1c");
    assert_eq!(hourly_estimate(&groups(None), &[]), None);
}

#[test]
fn when_the_spot_price_is_above_the_maximum_price_should_price_the_maximum_and_say_emr_waits() {
    // CORE bid 0.10 under the spot price 0.1298: 0.10 + 0.126 = 0.226 each, 0.452; total 0.2487671… + 0.452 =
    // 0.7007671… → 0.7008.
    let estimate = hourly_estimate(
        &groups(Some("0.10")),
        &[in_zone("us-east-1a", &[("r5.2xlarge", "0.1298")])],
    )
    .unwrap();
    assert_eq!(estimate.lines[1].most.ec2_usd_per_hour, Some(0.1));
    assert_eq!(estimate.usd_per_hour.least, 0.7008);
    assert_eq!(
        estimate.notes.last().unwrap(),
        "CORE r5.2xlarge SPOT: the spot price in us-east-1a ($0.1298) is above the maximum price ($0.1): EMR gets \
         no spot instances there while it is; priced at the maximum"
    );
    // Without a bid the maximum is the on-demand price (0.504): a spot price of 0.60 is priced 0.504 + 0.126 = 0.63
    // each; 1.26 + 0.2487671… = 1.5087671… → 1.5088.
    let dear = hourly_estimate(
        &groups(None),
        &[in_zone("us-east-1a", &[("r5.2xlarge", "0.60")])],
    )
    .unwrap();
    assert_eq!(dear.usd_per_hour.most, 1.5088);
    // A fleet's BidPriceAsPercentageOfOnDemandPrice: 20 % of m5.2xlarge's 0.384 = 0.0768, under its spot price
    // 0.1392: 0.0768 + 0.096 = 0.1728 each, ⌈3 / 2⌉ = 2 instances, 0.3456.
    let fleet = cluster(json!({
        "location": {"vpc": {"subnetIds": ["subnet-1"]}},
        "instanceFleets": {
            "master": {"targetOnDemandCapacity": 1, "instanceTypes": [{"type": "m5.xlarge"}]},
            "core": {"targetSpotCapacity": 3, "instanceTypes": [
                {"type": "m5.2xlarge", "weightedCapacity": 2, "bidAsPercentageOfOnDemand": 20}
            ]}
        }
    }));
    let estimate = hourly_estimate(&fleet, &[book()]).unwrap();
    assert_eq!(
        figures(&estimate.lines[1].least),
        (
            "m5.2xlarge",
            2,
            Some(0.0768),
            Some(0.096),
            Some(0.0),
            0.3456
        )
    );
}

#[test]
fn when_a_fleet_is_planned_should_fill_each_target_from_the_cheapest_to_the_dearest_type_per_capacity_unit(
) {
    // CORE spot target 5. Per unit: c5.xlarge has no price; r5.xlarge (weight 1) 0.0651 + 0.063 = 0.1281 (the
    // lowest price per instance); m5.2xlarge (weight 2) (0.1392 + 0.096) / 2 = 0.1176 (the lowest per unit); r5.2xlarge
    // (weight 1) 0.1298 + 0.126 = 0.2558 (the highest per unit).
    // Least: m5.2xlarge, ⌈5 / 2⌉ = 3 instances × 0.2352 = 0.7056. Most: r5.2xlarge, 5 × 0.2558 = 1.279.
    // MASTER on-demand target 1: m5.xlarge, 0.24. Total 0.9456 to 1.519.
    let request = cluster(json!({
        "location": {"vpc": {"subnetIds": ["subnet-1", "subnet-2"]}},
        "instanceFleets": {
            "master": {"targetOnDemandCapacity": 1, "instanceTypes": [{"type": "m5.xlarge"}]},
            "core": {"targetSpotCapacity": 5, "instanceTypes": [
                {"type": "c5.xlarge", "weightedCapacity": 1},
                {"type": "r5.xlarge", "weightedCapacity": 1},
                {"type": "m5.2xlarge", "weightedCapacity": 2},
                {"type": "r5.2xlarge", "weightedCapacity": 1}
            ]}
        }
    }));
    let estimate = hourly_estimate(&request, &[book()]).unwrap();
    let master = json!({"instanceType": "m5.xlarge", "instances": 1, "ec2UsdPerHour": 0.192, "emrUsdPerHour": 0.048,
                        "ebsUsdPerHour": 0.0, "usdPerHour": 0.24});
    assert_eq!(
        serde_json::to_value(&estimate.lines).unwrap(),
        json!([
            {"role": "MASTER", "market": "ON_DEMAND", "fleetInstanceTypes": 1, "least": master, "most": master},
            {"role": "CORE", "market": "SPOT", "fleetInstanceTypes": 4,
             "least": {"instanceType": "m5.2xlarge", "instances": 3, "ec2UsdPerHour": 0.1392, "emrUsdPerHour": 0.096,
                       "ebsUsdPerHour": 0.0, "usdPerHour": 0.7056},
             "most": {"instanceType": "r5.2xlarge", "instances": 5, "ec2UsdPerHour": 0.1298, "emrUsdPerHour": 0.126,
                      "ebsUsdPerHour": 0.0, "usdPerHour": 1.279}}
        ])
    );
    assert_eq!(
        estimate.usd_per_hour,
        Ends {
            least: 0.9456,
            most: 1.519
        }
    );
    assert!(
        estimate.unpriced.is_empty(),
        "an unpriced type not chosen is not missing"
    );
    assert_eq!(estimate.notes, [FLEET_RULE, SPOT_RULE, EBS_RULE]);
}

#[test]
fn when_no_type_of_a_fleet_is_priced_should_take_the_first_listed_and_name_what_is_missing() {
    // TASK on-demand 2 and spot 1 of c5.xlarge / c6i.xlarge, none priced: c5.xlarge at both ends, named once per
    // market. What is priced: the master, 0.24.
    let request = cluster(json!({
        "location": {"vpc": {"subnetId": "subnet-1"}},
        "instanceFleets": {
            "master": {"targetOnDemandCapacity": 1, "instanceTypes": [{"type": "m5.xlarge"}]},
            "task": {"targetOnDemandCapacity": 2, "targetSpotCapacity": 1, "instanceTypes": [
                {"type": "c5.xlarge"}, {"type": "c6i.xlarge"}
            ]}
        }
    }));
    let estimate = hourly_estimate(&request, &[book()]).unwrap();
    let task: Vec<(&str, &str, Market, u32, f64)> = estimate.lines[1..]
        .iter()
        .map(|l| {
            (
                l.least.instance_type.as_str(),
                l.most.instance_type.as_str(),
                l.market,
                l.least.instances,
                l.most.usd_per_hour,
            )
        })
        .collect();
    assert_eq!(
        task,
        [
            ("c5.xlarge", "c5.xlarge", Market::OnDemand, 2, 0.0),
            ("c5.xlarge", "c5.xlarge", Market::Spot, 1, 0.0)
        ]
    );
    let missing: Vec<(Market, &str)> = estimate
        .unpriced
        .iter()
        .map(|u| (u.market, u.missing.as_str()))
        .collect();
    assert_eq!(
        missing,
        [
            (Market::OnDemand, "EC2 on-demand price"),
            (Market::OnDemand, "EMR price"),
            (Market::Spot, "spot price in us-east-1a"),
            (Market::Spot, "EMR price"),
        ]
    );
    assert!(estimate.usd_is_lower_bound);
    assert_eq!(
        estimate.usd_per_hour,
        Ends {
            least: 0.24,
            most: 0.24
        }
    );
}

#[test]
fn when_pricing_a_planned_cluster_should_need_every_type_it_may_launch_its_spot_types_and_volume_types(
) {
    let needs = PriceNeeds::of_request(&groups(Some("0.3")));
    let set = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        needs,
        PriceNeeds {
            instance_types: set(&["m5.xlarge", "r5.2xlarge"]),
            spot_types: set(&["r5.2xlarge"]),
            volume_types: set(&["gp2"]),
        }
    );
    assert_eq!(PriceNeeds::zone_of(&groups(None)), None);
    let fleets = cluster(json!({
        "location": {"classic": {"availabilityZone": "us-east-1b"}},
        "instanceFleets": {
            "master": {"targetOnDemandCapacity": 1, "instanceTypes": [{"type": "m5.xlarge"}]},
            "task": {"targetSpotCapacity": 1, "instanceTypes": [
                {"type": "c5.xlarge", "ebsConfiguration": {"ebsBlockDeviceConfigs": [
                    {"volumeSpecification": {"sizeInGB": 100, "volumeType": "st1"}}
                ]}},
                {"type": "r5.xlarge"}
            ]}
        }
    }));
    assert_eq!(
        PriceNeeds::of_request(&fleets),
        PriceNeeds {
            instance_types: set(&["c5.xlarge", "m5.xlarge", "r5.xlarge"]),
            spot_types: set(&["c5.xlarge", "r5.xlarge"]),
            volume_types: set(&["st1"]),
        }
    );
    assert_eq!(PriceNeeds::zone_of(&fleets), Some("us-east-1b"));
}

#[test]
fn when_the_schema_states_the_budget_options_should_name_what_budget_reads_and_refuse_zero() {
    let schema: serde_json::Value = serde_json::from_str(include_str!(
        "../../../../schemas/execution-input.schema.json"
    ))
    .unwrap();
    for (name, read) in [
        ("maxInstanceHours", budget(Some(1.5), None)),
        ("maxCostUsd", budget(None, Some(1.5))),
    ] {
        let option = &schema["$defs"][name];
        assert_eq!(option["type"], json!(["number", "null"]), "{name}");
        assert_eq!(option["exclusiveMinimum"], json!(0), "{name}");
        assert_eq!(Budget::of_options(&json!({ name: 1.5 })), read, "{name}");
    }
}
