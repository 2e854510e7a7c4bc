//! What a cluster costs: the instance-hours of a run's cluster and their estimated price, the budget a run may spend,
//! and the price per hour of a cluster about to be launched. Pure: the caller passes EMR's record of each instance's
//! life (`ListInstances`), the prices it read (`price_list`) and the time; nothing here reads a clock or the network.
//!
//! Billing, as AWS bills EMR on EC2: each instance per second with a one-minute minimum, at the EC2 price (on-demand,
//! or the spot price) plus the EMR uplift (the same for spot), and each EBS volume per second of its instance's life
//! at its price per GB-month, a month being 730 hours (365 × 24 / 12). Amounts are computed exactly (prices in
//! 10⁻¹² USD, times in whole seconds) and rounded half up to 4 decimals only when written out; each figure is rounded
//! on its own, so parts may differ from their total in the last decimal. The user's documentation of every field:
//! statemachine/README.md, "What a run cost".

mod hourly;
pub mod price_list;
pub mod unfinished;

pub use hourly::{
    hourly_estimate, Ends, HourlyChoice, HourlyEstimate, HourlyLine, PriceNeeds, EBS_RULE,
    FLEET_RULE, SPOT_RULE,
};

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

pub use crate::model::Market;

/// What every estimate leaves out, written into each result (`leavesOut`).
pub const LEAVES_OUT: [&str; 7] = [
    "data transfer",
    "S3 requests and storage",
    "savings plans, reserved instances, credits and discounts",
    "taxes",
    "each instance's root volume, and EBS IOPS or throughput provisioned beyond a volume's baseline",
    "changes of the spot price during the run: the newest spot price is applied to all of it",
    "the runner's own Step Functions, Lambda, DynamoDB and CloudWatch charges",
];

/// EMR bills at least this much of each instance's life.
pub const MINIMUM_BILLED_SECONDS: u64 = 60;
/// The hours of a month in an EBS price per GB-month: a year's 8,760 hours over 12. AWS prorates over the calendar
/// month (672 to 744 hours), so a bill's EBS figure can differ from this estimate's by up to 8 %.
pub const HOURS_PER_MONTH: u64 = 730;

const PICO_PER_USD: u128 = 1_000_000_000_000;
const SECONDS_PER_HOUR: u64 = 3600;
/// Output precision: 10⁻⁴ USD and 10⁻⁴ instance-hours.
const OUTPUT_UNITS: u128 = 10_000;

/// A price in US dollars, exact to 10⁻¹² (AWS publishes prices with at most 10 decimals). Written as a decimal
/// string ("0.192"), as the Price List writes it, so a cached price book reads back exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Usd(u64);

impl Usd {
    pub const ZERO: Usd = Usd(0);

    /// A non-negative decimal such as "0.1920000000" or "12"; `None` for anything else (a sign, an exponent, more
    /// than 12 significant decimals, or more than about 18 million dollars).
    pub fn parse(text: &str) -> Option<Usd> {
        let (whole, fraction) = match text.split_once('.') {
            Some((w, f)) if !f.is_empty() => (w, f),
            Some(_) => return None,
            None => (text, ""),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || !(fraction.is_empty() || digits(fraction)) {
            return None;
        }
        let fraction = fraction.trim_end_matches('0');
        if fraction.len() > 12 {
            return None;
        }
        let whole: u64 = whole.parse().ok()?;
        let fraction: u64 = format!("{fraction:0<12}").parse().ok()?;
        whole
            .checked_mul(PICO_PER_USD as u64)?
            .checked_add(fraction)
            .map(Usd)
    }

    /// The amount in 10⁻¹² USD.
    pub fn pico(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Usd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, fraction) = (self.0 / PICO_PER_USD as u64, self.0 % PICO_PER_USD as u64);
        if fraction == 0 {
            return write!(f, "{whole}");
        }
        let fraction = format!("{fraction:012}");
        write!(f, "{whole}.{}", fraction.trim_end_matches('0'))
    }
}

impl Serialize for Usd {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Usd {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Usd::parse(&text).ok_or_else(|| serde::de::Error::custom("not a decimal amount of USD"))
    }
}

/// An exact amount of money: USD × 10¹² × 2,628,000 (the seconds of a 730-hour month), so that an hourly price times
/// seconds and a monthly price times GiB-seconds add up without rounding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
struct Amount(u128);

impl Amount {
    const SCALE: u128 = PICO_PER_USD * (HOURS_PER_MONTH * SECONDS_PER_HOUR) as u128;

    /// `rate` per hour for `seconds`.
    fn hourly(rate: Usd, seconds: u64) -> Amount {
        Amount(
            u128::from(rate.0)
                .saturating_mul(u128::from(seconds))
                .saturating_mul(u128::from(HOURS_PER_MONTH)),
        )
    }

    /// `rate` per GB-month for `gib_seconds` (EBS's "GB" is a GiB).
    fn monthly(rate: Usd, gib_seconds: u128) -> Amount {
        Amount(u128::from(rate.0).saturating_mul(gib_seconds))
    }

    fn add(self, other: Amount) -> Amount {
        Amount(self.0.saturating_add(other.0))
    }

    /// In ten-thousandths of a dollar, rounded half up.
    fn ten_thousandths(self) -> u128 {
        let unit = Self::SCALE / OUTPUT_UNITS;
        (self.0 + unit / 2) / unit
    }

    fn usd(self) -> f64 {
        output(self.ten_thousandths())
    }
}

/// A count of ten-thousandths as the number written out (exact: the nearest `f64` to the 4-decimal value).
fn output(ten_thousandths: u128) -> f64 {
    ten_thousandths as f64 / OUTPUT_UNITS as f64
}

/// Seconds as instance-hours in ten-thousandths, rounded half up.
fn hours_ten_thousandths(seconds: u64) -> u128 {
    (u128::from(seconds) * OUTPUT_UNITS + u128::from(SECONDS_PER_HOUR) / 2)
        / u128::from(SECONDS_PER_HOUR)
}

fn sum(amounts: impl IntoIterator<Item = Option<Amount>>) -> Option<Amount> {
    amounts.into_iter().flatten().reduce(Amount::add)
}

/// One EBS volume attached to an instance (EMR's `VolumeSpecification`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EbsVolume {
    /// The Price List's `volumeApiName`: gp2, gp3, io1, io2, st1, sc1 or standard.
    pub volume_type: String,
    pub size_gib: u32,
}

/// EMR's record of one instance's life (`ListInstances`: `InstanceType`, `Market`, `Status.Timeline`), with the EBS
/// volumes of its instance group or fleet (`ListInstanceGroups` / `ListInstanceFleets`: `EbsBlockDevices`, which
/// include the volumes EMR adds by default). The zone is the cluster's: EMR launches a cluster in one zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceLife {
    pub instance_type: String,
    pub market: Market,
    /// `Timeline.CreationDateTime`.
    pub start: DateTime<Utc>,
    /// `Timeline.EndDateTime`; `None` while the instance runs (priced up to the window's `until`).
    pub end: Option<DateTime<Utc>>,
    pub ebs_volumes: Vec<EbsVolume>,
}

/// EC2's and EMR's hourly prices of one instance type in the price book's region.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstancePrice {
    /// Linux, shared tenancy, no pre-installed software.
    pub ec2_on_demand: Option<Usd>,
    /// EMR's uplift, charged on top of the EC2 price (on-demand or spot).
    pub emr: Option<Usd>,
}

/// A spot price: the newest in the cluster's zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpotPrice {
    pub usd_per_hour: Usd,
    pub timestamp: DateTime<Utc>,
}

/// The prices a cost is estimated with, for one region (and, for spot, one zone). Serializable, so that a caller
/// can keep it and read the Price List a few times a day rather than at every check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceBook {
    pub region: String,
    /// When the prices were read.
    pub prices_as_of: DateTime<Utc>,
    /// Instance type → hourly prices.
    pub instances: BTreeMap<String, InstancePrice>,
    /// The zone of the spot prices.
    pub spot_zone: Option<String>,
    /// Instance type → spot price in `spot_zone`.
    pub spot: BTreeMap<String, SpotPrice>,
    /// EBS volume type → USD per GB-month.
    pub ebs_per_gb_month: BTreeMap<String, Usd>,
}

impl PriceBook {
    /// The EC2 part of an instance's hourly price: on-demand, or spot in the book's zone.
    fn ec2(&self, instance_type: &str, market: Market) -> Result<Usd, String> {
        match market {
            Market::OnDemand => self
                .instances
                .get(instance_type)
                .and_then(|p| p.ec2_on_demand)
                .ok_or_else(|| "EC2 on-demand price".to_string()),
            Market::Spot => self
                .spot
                .get(instance_type)
                .map(|s| s.usd_per_hour)
                .ok_or_else(|| match &self.spot_zone {
                    Some(zone) => format!("spot price in {zone}"),
                    None => "spot price in any zone".to_string(),
                }),
        }
    }

    fn emr(&self, instance_type: &str) -> Result<Usd, String> {
        self.instances
            .get(instance_type)
            .and_then(|p| p.emr)
            .ok_or_else(|| "EMR price".to_string())
    }

    fn ebs(&self, volume_type: &str) -> Result<Usd, String> {
        self.ebs_per_gb_month
            .get(volume_type)
            .copied()
            .ok_or_else(|| format!("EBS price of {volume_type}"))
    }
}

/// The stretch of time a cost covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Count only time from here: a `run` on a cluster it did not launch counts the cluster's instances from its
    /// own start. `None`: each instance's whole life.
    pub since: Option<DateTime<Utc>>,
    /// Count up to here: the run's end, or now for a run in progress (a running instance is priced up to it).
    pub until: DateTime<Utc>,
    /// The run has ended: the cost is final, not "so far".
    pub ended: bool,
}

/// A price that could not be found: the hours it concerns are counted, their USD left out of every total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Unpriced {
    pub instance_type: String,
    pub market: Market,
    /// Which price: "EC2 on-demand price", "spot price in us-east-1a", "EMR price", "EBS price of io2".
    pub missing: String,
}

/// The cost of one instance type in one market.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CostLine {
    pub instance_type: String,
    pub market: Market,
    /// Instances of this type and market that lived in the window.
    pub instances: u32,
    pub billed_seconds: u64,
    pub instance_hours: f64,
    /// The EC2 price (on-demand or spot) of those seconds; `null` when not priced.
    pub ec2_usd: Option<f64>,
    /// EMR's uplift; `null` when not priced.
    pub emr_usd: Option<f64>,
    /// The instances' EBS volumes (0 without any); `null` when a volume type is not priced.
    pub ebs_usd: Option<f64>,
    /// The parts priced, added up; `null` only when no price could be read at all.
    pub usd: Option<f64>,
}

/// What a run's cluster cost: its `cost` in a run's output and Cause. See statemachine/README.md, "What a run cost".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunCost {
    /// Billed seconds of every instance over 3,600.
    pub instance_hours: f64,
    pub billed_seconds: u64,
    /// EMR's own count (`DescribeCluster`): m1.small-equivalent hours, each instance's rounded up; a cross-check of
    /// `instanceHours`, not a price, and always the cluster's whole life.
    pub normalized_instance_hours: Option<i64>,
    /// Estimated USD of everything priced; `null` when no price could be read (`pricesUnavailable` says why).
    pub usd: Option<f64>,
    /// `usd` leaves out the prices named in `unpriced`: the run cost at least that much.
    pub usd_is_lower_bound: bool,
    pub ec2_usd: Option<f64>,
    pub emr_usd: Option<f64>,
    pub ebs_usd: Option<f64>,
    pub by_instance_type: Vec<CostLine>,
    pub unpriced: Vec<Unpriced>,
    /// Always true: a price from the Price List, not a bill.
    pub estimate: bool,
    /// false while the run goes on: the cost so far.
    #[serde(rename = "final")]
    pub is_final: bool,
    pub since: Option<DateTime<Utc>>,
    pub until: DateTime<Utc>,
    pub region: Option<String>,
    pub prices_as_of: Option<DateTime<Utc>>,
    pub prices_unavailable: Option<String>,
    pub leaves_out: Vec<String>,
}

/// The seconds EMR bills of `life` within `window`: per second (a started second counts), at least
/// [`MINIMUM_BILLED_SECONDS`] for an instance that started in the window. `None` when the instance did not live in it.
fn billed_seconds(life: &InstanceLife, window: &Window) -> Option<u64> {
    if life.start > window.until {
        return None;
    }
    let end = life.end.map_or(window.until, |e| e.min(window.until));
    let started_inside = window.since.is_none_or(|s| life.start >= s);
    let from = window.since.map_or(life.start, |s| life.start.max(s));
    if !started_inside && end <= from {
        return None;
    }
    let millis = u64::try_from((end - from).num_milliseconds()).unwrap_or(0);
    let seconds = millis.div_ceil(1000);
    Some(if started_inside {
        seconds.max(MINIMUM_BILLED_SECONDS)
    } else {
        seconds
    })
}

#[derive(Default)]
struct Tally {
    instances: u32,
    seconds: u64,
    /// Volume type → GiB-seconds.
    ebs: BTreeMap<String, u128>,
}

/// The cost of a run's cluster from EMR's record of its instances, priced with `prices` (or, when they could not be
/// read, the reason: the hours are still counted).
pub fn run_cost(
    instances: &[InstanceLife],
    normalized_instance_hours: Option<i64>,
    window: &Window,
    prices: Result<&PriceBook, &str>,
) -> RunCost {
    let mut tallies: BTreeMap<(String, Market), Tally> = BTreeMap::new();
    for life in instances {
        let Some(seconds) = billed_seconds(life, window) else {
            continue;
        };
        let tally = tallies
            .entry((life.instance_type.clone(), life.market))
            .or_default();
        tally.instances += 1;
        tally.seconds += seconds;
        for v in &life.ebs_volumes {
            *tally.ebs.entry(v.volume_type.clone()).or_default() +=
                u128::from(v.size_gib) * u128::from(seconds);
        }
    }
    let mut unpriced = Vec::new();
    let mut parts = Vec::new();
    let mut lines = Vec::new();
    for ((instance_type, market), tally) in tallies {
        let mut found = |price: Result<Amount, String>| {
            price
                .map_err(|missing| {
                    unpriced.push(Unpriced {
                        instance_type: instance_type.clone(),
                        market,
                        missing,
                    })
                })
                .ok()
        };
        let book = prices.ok();
        let [ec2, emr, ebs] = match book {
            None => [None; 3],
            Some(b) => [
                found(
                    b.ec2(&instance_type, market)
                        .map(|r| Amount::hourly(r, tally.seconds)),
                ),
                found(
                    b.emr(&instance_type)
                        .map(|r| Amount::hourly(r, tally.seconds)),
                ),
                found(tally.ebs.iter().try_fold(
                    Amount::default(),
                    |total, (volume_type, gib_seconds)| {
                        b.ebs(volume_type)
                            .map(|r| total.add(Amount::monthly(r, *gib_seconds)))
                    },
                )),
            ],
        };
        lines.push(CostLine {
            instance_type: instance_type.clone(),
            market,
            instances: tally.instances,
            billed_seconds: tally.seconds,
            instance_hours: output(hours_ten_thousandths(tally.seconds)),
            ec2_usd: ec2.map(Amount::usd),
            emr_usd: emr.map(Amount::usd),
            ebs_usd: ebs.map(Amount::usd),
            usd: book.map(|_| sum([ec2, emr, ebs]).unwrap_or_default().usd()),
        });
        parts.push([ec2, emr, ebs]);
    }
    let total = |i: usize| {
        prices
            .ok()
            .map(|_| sum(parts.iter().map(|p| p[i])).unwrap_or_default())
    };
    let (ec2, emr, ebs) = (total(0), total(1), total(2));
    let billed: u64 = lines.iter().map(|l| l.billed_seconds).sum();
    RunCost {
        instance_hours: output(hours_ten_thousandths(billed)),
        billed_seconds: billed,
        normalized_instance_hours,
        usd: prices
            .ok()
            .map(|_| sum([ec2, emr, ebs]).unwrap_or_default().usd()),
        usd_is_lower_bound: !unpriced.is_empty(),
        ec2_usd: ec2.map(Amount::usd),
        emr_usd: emr.map(Amount::usd),
        ebs_usd: ebs.map(Amount::usd),
        by_instance_type: lines,
        unpriced,
        estimate: true,
        is_final: window.ended,
        since: window.since,
        until: window.until,
        region: prices.ok().map(|b| b.region.clone()),
        prices_as_of: prices.ok().map(|b| b.prices_as_of),
        prices_unavailable: prices.err().map(str::to_string),
        leaves_out: LEAVES_OUT.iter().map(|s| s.to_string()).collect(),
    }
}

/// A run's budget: `options.maxInstanceHours` and `options.maxCostUsd` (each unset by default).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Budget {
    pub max_instance_hours: Option<f64>,
    pub max_cost_usd: Option<f64>,
}

impl Budget {
    /// Whether any limit is set.
    pub fn is_set(&self) -> bool {
        self.max_instance_hours.is_some() || self.max_cost_usd.is_some()
    }

    /// The budget in a run's `options` (`null` or absent: no limit).
    pub fn of_options(options: &Value) -> Budget {
        let limit = |key: &str| options.get(key).and_then(Value::as_f64);
        Budget {
            max_instance_hours: limit("maxInstanceHours"),
            max_cost_usd: limit("maxCostUsd"),
        }
    }
}

/// One limit a run went past.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Exceeded {
    /// `maxInstanceHours` or `maxCostUsd`.
    pub option: String,
    /// `instanceHours`, or `usd` (then the estimate: see the cost's `pricesAsOf` and `usdIsLowerBound`).
    pub spent: f64,
    pub limit: f64,
}

/// Why a run is over its budget: the Cause of `BudgetExceeded`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Overrun {
    pub exceeded: Vec<Exceeded>,
    /// "spent 12.3 instance-hours, limit 10", "spent $4.21 (estimate, prices as of 2026-11-01), limit $4.00",
    /// both joined by "; " when both are past.
    pub message: String,
}

/// How soon a run with a budget should be checked again: half the time the spend would take to reach the nearest
/// limit at its average rate so far (`spent` over `elapsed_seconds`), so a cluster that grows is still caught before
/// the limit is far behind; at once (`Some(0)`: the caller's least pause) while nothing is spent yet, as no rate is
/// known. `None` when no limit applies. A run waiting for EMR's events would otherwise be checked only at its events
/// and backstops, hours apart.
pub fn seconds_to_budget_check(
    cost: &RunCost,
    budget: &Budget,
    elapsed_seconds: i64,
) -> Option<u64> {
    let limits: Vec<(f64, f64)> = [
        budget.max_instance_hours.map(|l| (cost.instance_hours, l)),
        budget.max_cost_usd.zip(cost.usd).map(|(l, u)| (u, l)),
    ]
    .into_iter()
    .flatten()
    .collect();
    if limits.is_empty() {
        return None;
    }
    if elapsed_seconds <= 0 {
        return Some(0);
    }
    limits
        .into_iter()
        .map(|(spent, limit)| {
            if spent <= 0.0 {
                return 0;
            }
            let remaining = (limit - spent).max(0.0);
            let seconds = remaining / (spent / elapsed_seconds as f64) / 2.0;
            seconds.clamp(0.0, u64::MAX as f64) as u64
        })
        .min()
}

/// Whether `cost` is past `budget`, judged on the figures written out (4 decimals), so the message never shows a
/// spend equal to its limit. A limit is past when the spend is above it. With prices missing for some instance
/// type, `maxCostUsd` is judged on the lower bound (`usd`): a run over budget on what is priced is over budget; one
/// under it goes on, with [`budget_warning`]. With no prices at all `maxCostUsd` cannot be judged (a warning too);
/// `maxInstanceHours` needs no price.
pub fn over_budget(cost: &RunCost, budget: &Budget) -> Option<Overrun> {
    let mut exceeded = Vec::new();
    let mut messages = Vec::new();
    if let Some(limit) = budget.max_instance_hours {
        if cost.instance_hours > limit {
            exceeded.push(Exceeded {
                option: "maxInstanceHours".to_string(),
                spent: cost.instance_hours,
                limit,
            });
            messages.push(format!(
                "spent {} instance-hours, limit {limit}",
                cost.instance_hours
            ));
        }
    }
    if let (Some(limit), Some(usd)) = (budget.max_cost_usd, cost.usd) {
        if usd > limit {
            exceeded.push(Exceeded {
                option: "maxCostUsd".to_string(),
                spent: usd,
                limit,
            });
            let as_of = cost
                .prices_as_of
                .map(|t| format!(", prices as of {}", t.format("%Y-%m-%d")))
                .unwrap_or_default();
            let at_least = if cost.usd_is_lower_bound {
                "at least "
            } else {
                ""
            };
            messages.push(format!(
                "spent {at_least}${} (estimate{as_of}{}), limit ${}",
                dollars(usd),
                missing_note(cost),
                dollars(limit)
            ));
        }
    }
    (!exceeded.is_empty()).then(|| Overrun {
        exceeded,
        message: messages.join("; "),
    })
}

/// What a user with `maxCostUsd` should know that [`over_budget`] cannot decide: the limit is judged on a lower
/// bound, or not at all. `None` without `maxCostUsd` or when every price was found.
pub fn budget_warning(cost: &RunCost, budget: &Budget) -> Option<String> {
    let limit = budget.max_cost_usd?;
    if let Some(reason) = &cost.prices_unavailable {
        return Some(format!(
            "maxCostUsd (${}) is not checked: prices could not be read ({reason}); maxInstanceHours needs no price",
            dollars(limit)
        ));
    }
    cost.usd_is_lower_bound.then(|| {
        format!(
            "maxCostUsd (${}) is checked against a lower bound{}",
            dollars(limit),
            missing_note(cost)
        )
    })
}

/// "; no EMR price for m7i.xlarge ON_DEMAND, …" when some price is missing.
fn missing_note(cost: &RunCost) -> String {
    if cost.unpriced.is_empty() {
        return String::new();
    }
    let missing: Vec<String> = cost
        .unpriced
        .iter()
        .map(|u| {
            format!(
                "no {} for {} {}",
                u.missing,
                u.instance_type,
                market_name(u.market)
            )
        })
        .collect();
    format!("; {}", missing.join(", "))
}

/// The market as EMR writes it (`MarketType`).
pub fn market_name(market: Market) -> &'static str {
    match market {
        Market::OnDemand => "ON_DEMAND",
        Market::Spot => "SPOT",
    }
}

/// A dollar figure with at least two decimals: 4 → "4.00", 4.21 → "4.21", 4.2105 → "4.2105".
pub fn dollars(usd: f64) -> String {
    let text = format!("{usd}");
    match text.split_once('.') {
        None => format!("{text}.00"),
        Some((_, fraction)) if fraction.len() == 1 => format!("{text}0"),
        Some(_) => text,
    }
}

#[cfg(test)]
mod tests;
