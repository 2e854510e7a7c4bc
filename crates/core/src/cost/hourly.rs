//! The price per hour of a cluster about to be launched (`dataflow-runner plan --estimate`): each instance group at
//! its count and each fleet's target capacities filled, once every instance runs. Where the config leaves EMR a
//! choice the estimate is a range, from `least` to `most`:
//!
//! - an instance fleet: from its cheapest to its dearest instance type per unit of capacity ([`FLEET_RULE`]);
//! - spot: the newest spot price, which is what a spot instance pays, never above its maximum price (the bid, else the
//!   on-demand price); in the zone the config names, else in each zone the caller has prices of. A cluster runs in
//!   one zone: the range goes from the cheapest zone's total to the dearest's ([`SPOT_RULE`]).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{
    market_name, sum, Amount, Market, PriceBook, Unpriced, Usd, LEAVES_OUT, SECONDS_PER_HOUR,
};
use crate::plan::{
    EmrEbsConfiguration, InstanceFleetConfig, InstanceGroupConfig, RunJobFlowRequest,
};

/// What an instance fleet's figures assume.
pub const FLEET_RULE: &str = "an instance fleet's target capacity is priced from its cheapest to its dearest priced \
    instance type per unit of capacity (EC2 + EMR), all of one type at each end; EMR chooses, and may mix them";
/// What spot figures assume.
pub const SPOT_RULE: &str = "spot is priced at the newest spot price, which is what a spot instance pays, never \
    above its maximum price (the bid, else the on-demand price); in the zone the config names, else in each zone of \
    the region with prices: a cluster runs in one zone, so the range goes from the cheapest zone's total to the \
    dearest's";
/// What a launch-time estimate cannot see.
pub const EBS_RULE: &str =
    "EBS counts the volumes the config gives; EMR adds default volumes to an instance type \
    that has no EBS configuration and no instance store, which this estimate does not count";

/// The two ends of a range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ends<T> {
    pub least: T,
    pub most: T,
}

/// What to read to price a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PriceNeeds {
    pub instance_types: BTreeSet<String>,
    /// The types bought on the spot market: their spot prices are read too.
    pub spot_types: BTreeSet<String>,
    /// EBS volume types (`gp3`).
    pub volume_types: BTreeSet<String>,
}

impl PriceNeeds {
    /// What pricing the cluster `request` launches needs: every instance type it may launch (all of a fleet's), and
    /// the volume types of their EBS configurations.
    pub fn of_request(request: &RunJobFlowRequest) -> PriceNeeds {
        let mut needs = PriceNeeds::default();
        let mut add = |instance_type: &str, spot: bool, ebs: Option<&EmrEbsConfiguration>| {
            needs.instance_types.insert(instance_type.to_string());
            if spot {
                needs.spot_types.insert(instance_type.to_string());
            }
            for d in ebs.iter().flat_map(|e| &e.ebs_block_device_configs) {
                needs
                    .volume_types
                    .insert(d.volume_specification.volume_type.clone());
            }
        };
        for g in &request.instances.instance_groups {
            let spot = market_of(g) == Market::Spot;
            add(&g.instance_type, spot, g.ebs_configuration.as_ref());
        }
        for f in &request.instances.instance_fleets {
            let spot = f.target_spot_capacity.unwrap_or(0) > 0;
            for t in &f.instance_type_configs {
                add(&t.instance_type, spot, t.ebs_configuration.as_ref());
            }
        }
        needs
    }

    /// The availability zone `request` places the cluster in (`Placement.AvailabilityZone`), if it names one.
    pub fn zone_of(request: &RunJobFlowRequest) -> Option<&str> {
        request
            .instances
            .placement
            .as_ref()
            .map(|p| p.availability_zone.as_str())
    }
}

fn market_of(group: &InstanceGroupConfig) -> Market {
    match group.market.as_deref() {
        Some("SPOT") => Market::Spot,
        _ => Market::OnDemand,
    }
}

/// What instances of one type cost per hour at one end of a range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HourlyChoice {
    pub instance_type: String,
    pub instances: u32,
    /// Per instance: EC2 (on-demand, or spot up to the maximum price), EMR's uplift, the EBS volumes configured;
    /// `null` when not priced.
    pub ec2_usd_per_hour: Option<f64>,
    pub emr_usd_per_hour: Option<f64>,
    pub ebs_usd_per_hour: Option<f64>,
    /// All the instances, the parts priced.
    pub usd_per_hour: f64,
}

/// One instance group, or one target capacity (on-demand or spot) of a fleet, of a cluster about to be launched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HourlyLine {
    /// MASTER, CORE or TASK.
    pub role: String,
    pub market: Market,
    /// For a fleet: how many instance types it allows.
    pub fleet_instance_types: Option<u32>,
    /// The line in the cluster's cheapest case, and in its dearest (the same for an on-demand instance group).
    pub least: HourlyChoice,
    pub most: HourlyChoice,
}

/// What a cluster about to be launched costs per hour once all its instances run: `dataflow-runner plan --estimate`
/// (README, "The CLI").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HourlyEstimate {
    pub lines: Vec<HourlyLine>,
    /// Everything priced, in the cheapest case and in the dearest.
    pub usd_per_hour: Ends<f64>,
    /// The figures leave out the prices named in `unpriced`.
    pub usd_is_lower_bound: bool,
    pub unpriced: Vec<Unpriced>,
    /// Always true: a price from the Price List, not a bill.
    pub estimate: bool,
    pub region: String,
    pub prices_as_of: DateTime<Utc>,
    /// The zone of each end's spot prices; `null` without spot (or without a zone).
    pub spot_zone: Ends<Option<String>>,
    /// The zones whose spot prices were compared (empty without spot).
    pub spot_zones: Vec<String>,
    /// How the estimate was made where the config leaves EMR a choice, and what it could not see.
    pub notes: Vec<String>,
    pub leaves_out: Vec<String>,
}

/// A group's per-instance prices, found or named as missing.
#[derive(Clone)]
struct Rates {
    ec2: Result<Usd, String>,
    emr: Result<Usd, String>,
    /// (USD per GB-month, GiB) per instance.
    ebs: Result<Vec<(Usd, u128)>, String>,
    /// A spot price above the instance's maximum price, and that maximum (which `ec2` is then).
    above_max: Option<(Usd, Usd)>,
}

impl Rates {
    fn of(
        book: &PriceBook,
        instance_type: &str,
        market: Market,
        ebs: Option<&EmrEbsConfiguration>,
        max_price: Option<Usd>,
    ) -> Rates {
        let volumes = ebs
            .map(|e| e.ebs_block_device_configs.as_slice())
            .unwrap_or_default();
        let mut ec2 = book.ec2(instance_type, market);
        let mut above_max = None;
        if let (Ok(price), Some(max)) = (&ec2, max_price) {
            if market == Market::Spot && *price > max {
                above_max = Some((*price, max));
                ec2 = Ok(max);
            }
        }
        Rates {
            ec2,
            emr: book.emr(instance_type),
            ebs: volumes
                .iter()
                .map(|d| {
                    let spec = &d.volume_specification;
                    let gib = u128::from(spec.size_in_gb.max(0).unsigned_abs())
                        * u128::from(d.volumes_per_instance.unwrap_or(1).max(0).unsigned_abs());
                    book.ebs(&spec.volume_type).map(|rate| (rate, gib))
                })
                .collect(),
            above_max,
        }
    }

    /// One instance-hour of each part.
    fn hour(&self) -> [Option<Amount>; 3] {
        let hourly = |rate: &Result<Usd, String>| {
            rate.as_ref()
                .ok()
                .map(|r| Amount::hourly(*r, SECONDS_PER_HOUR))
        };
        [
            hourly(&self.ec2),
            hourly(&self.emr),
            self.ebs.as_ref().ok().map(|volumes| {
                volumes
                    .iter()
                    .map(|(rate, gib)| Amount::monthly(*rate, gib * u128::from(SECONDS_PER_HOUR)))
                    .fold(Amount::default(), Amount::add)
            }),
        ]
    }

    /// The instance's compute price per hour (EC2 + EMR), when both are known: what a fleet's choice compares.
    fn compute(&self) -> Option<u128> {
        match (&self.ec2, &self.emr) {
            (Ok(ec2), Ok(emr)) => Some(u128::from(ec2.0) + u128::from(emr.0)),
            _ => None,
        }
    }

    fn missing(&self) -> impl Iterator<Item = &String> {
        [
            self.ec2.as_ref().err(),
            self.emr.as_ref().err(),
            self.ebs.as_ref().err(),
        ]
        .into_iter()
        .flatten()
    }
}

/// The most a spot instance of `instance_type` pays per hour: `bid` in USD, else `percent` (100 unless given) of the
/// on-demand price, as EMR takes a `BidPrice` (absent or `OnDemandPrice`: the on-demand price) and a
/// `BidPriceAsPercentageOfOnDemandPrice`. `None` when it is not known.
fn max_price(
    book: &PriceBook,
    instance_type: &str,
    bid: Option<&str>,
    percent: Option<f64>,
) -> Option<Usd> {
    if let Some(bid) = bid.filter(|b| *b != "OnDemandPrice") {
        return Usd::parse(bid);
    }
    let on_demand = book.instances.get(instance_type)?.ec2_on_demand?;
    let percent = percent.unwrap_or(100.0);
    if !(percent.is_finite() && percent >= 0.0) {
        return None;
    }
    // In millionths of a percent: exact for any percentage EMR takes (at most 3 decimals).
    let millionths = (percent * 1e6).round() as u128;
    u64::try_from(u128::from(on_demand.0) * millionths / 100_000_000)
        .ok()
        .map(Usd)
}

/// `instances` of one type, priced.
#[derive(Clone)]
struct Choice {
    instance_type: String,
    instances: u32,
    rates: Rates,
}

impl Choice {
    fn total(&self) -> Amount {
        let each = sum(self.rates.hour()).unwrap_or_default();
        Amount(each.0.saturating_mul(u128::from(self.instances)))
    }

    fn written(&self) -> HourlyChoice {
        let [ec2, emr, ebs] = self.rates.hour();
        HourlyChoice {
            instance_type: self.instance_type.clone(),
            instances: self.instances,
            ec2_usd_per_hour: ec2.map(Amount::usd),
            emr_usd_per_hour: emr.map(Amount::usd),
            ebs_usd_per_hour: ebs.map(Amount::usd),
            usd_per_hour: self.total().usd(),
        }
    }
}

/// A group of a cluster about to be launched, priced with one book: its cheapest and dearest choice.
struct Slot {
    role: String,
    market: Market,
    fleet_instance_types: Option<u32>,
    ends: Ends<Choice>,
}

impl Slot {
    fn end(&self, most: bool) -> &Choice {
        if most {
            &self.ends.most
        } else {
            &self.ends.least
        }
    }
}

/// Every group of `request`, priced with `book`.
fn slots(request: &RunJobFlowRequest, book: &PriceBook) -> Vec<Slot> {
    let mut slots = Vec::new();
    for g in &request.instances.instance_groups {
        let market = market_of(g);
        let max = max_price(book, &g.instance_type, g.bid_price.as_deref(), None);
        let choice = Choice {
            instance_type: g.instance_type.clone(),
            instances: u32::try_from(g.instance_count).unwrap_or(0),
            rates: Rates::of(
                book,
                &g.instance_type,
                market,
                g.ebs_configuration.as_ref(),
                max,
            ),
        };
        slots.push(Slot {
            role: g.instance_role.clone(),
            market,
            fleet_instance_types: None,
            ends: Ends {
                least: choice.clone(),
                most: choice,
            },
        });
    }
    for f in &request.instances.instance_fleets {
        for (market, target) in [
            (Market::OnDemand, f.target_on_demand_capacity),
            (Market::Spot, f.target_spot_capacity),
        ] {
            let target = u32::try_from(target.unwrap_or(0)).unwrap_or(0);
            if let Some(ends) = fill_fleet(book, f, market, target) {
                slots.push(Slot {
                    role: f.instance_fleet_type.clone(),
                    market,
                    fleet_instance_types: Some(
                        u32::try_from(f.instance_type_configs.len()).unwrap_or(u32::MAX),
                    ),
                    ends,
                });
            }
        }
    }
    slots
}

/// The instance types a fleet's `target` capacity in `market` is priced with at each end, and how many instances
/// fill it: the lowest and the highest EC2 + EMR price per unit of weighted capacity among the types priced (the
/// first listed on a tie), or the first type listed when none is priced. `None` for no target.
fn fill_fleet(
    book: &PriceBook,
    fleet: &InstanceFleetConfig,
    market: Market,
    target: u32,
) -> Option<Ends<Choice>> {
    if target == 0 || fleet.instance_type_configs.is_empty() {
        return None;
    }
    let weight = |w: Option<i32>| u32::try_from(w.unwrap_or(1)).unwrap_or(1).max(1);
    let candidates: Vec<Choice> = fleet
        .instance_type_configs
        .iter()
        .map(|t| {
            let max = max_price(
                book,
                &t.instance_type,
                t.bid_price.as_deref(),
                t.bid_price_as_percentage_of_on_demand_price,
            );
            Choice {
                instance_type: t.instance_type.clone(),
                instances: target.div_ceil(weight(t.weighted_capacity)),
                rates: Rates::of(
                    book,
                    &t.instance_type,
                    market,
                    t.ebs_configuration.as_ref(),
                    max,
                ),
            }
        })
        .collect();
    let priced: Vec<(usize, u128, u128)> = candidates
        .iter()
        .zip(&fleet.instance_type_configs)
        .enumerate()
        .filter_map(|(i, (c, t))| {
            c.rates
                .compute()
                .map(|price| (i, price, u128::from(weight(t.weighted_capacity))))
        })
        .collect();
    // Price per unit compared without dividing: a/wa < b/wb ⇔ a·wb < b·wa.
    let pick = |dearer: bool| {
        priced
            .iter()
            .copied()
            .reduce(|best, next| {
                let (a, b) = (next.1 * best.2, best.1 * next.2);
                if (dearer && a > b) || (!dearer && a < b) {
                    next
                } else {
                    best
                }
            })
            .map_or(0, |(i, _, _)| i)
    };
    Some(Ends {
        least: candidates[pick(false)].clone(),
        most: candidates[pick(true)].clone(),
    })
}

/// The prices one end of `slots` is missing.
fn unpriced(slots: &[Slot], most: bool) -> Vec<Unpriced> {
    let mut out: Vec<Unpriced> = Vec::new();
    for s in slots {
        let choice = s.end(most);
        for missing in choice.rates.missing() {
            let entry = Unpriced {
                instance_type: choice.instance_type.clone(),
                market: s.market,
                missing: missing.clone(),
            };
            if !out.contains(&entry) {
                out.push(entry);
            }
        }
    }
    out
}

fn total(slots: &[Slot], most: bool) -> Amount {
    slots
        .iter()
        .map(|s| s.end(most).total())
        .fold(Amount::default(), Amount::add)
}

/// The price per hour of the cluster `request` launches, once every instance runs, from its cheapest case to its
/// dearest, with `books`: the same prices but for spot, one book per zone the cluster may run in (the zone the
/// config names, or each zone of the region). Each end is the whole cluster in one zone: the cheapest total among
/// the zones that price every part of it (all the zones when none does), and the dearest. `None` without a book.
pub fn hourly_estimate(request: &RunJobFlowRequest, books: &[PriceBook]) -> Option<HourlyEstimate> {
    let priced: Vec<Vec<Slot>> = books.iter().map(|b| slots(request, b)).collect();
    let pick = |most: bool| -> Option<usize> {
        let complete: Vec<usize> = (0..priced.len())
            .filter(|&i| unpriced(&priced[i], most).is_empty())
            .collect();
        let candidates = if complete.is_empty() {
            (0..priced.len()).collect()
        } else {
            complete
        };
        candidates.into_iter().reduce(|best, i| {
            let (t, b) = (total(&priced[i], most), total(&priced[best], most));
            if (most && t > b) || (!most && t < b) {
                i
            } else {
                best
            }
        })
    };
    let (cheap, dear) = (pick(false)?, pick(true)?);
    let (least, most) = (&priced[cheap], &priced[dear]);
    let lines = least
        .iter()
        .zip(most)
        .map(|(l, m)| HourlyLine {
            role: l.role.clone(),
            market: l.market,
            fleet_instance_types: l.fleet_instance_types,
            least: l.ends.least.written(),
            most: m.ends.most.written(),
        })
        .collect();
    let mut missing = unpriced(least, false);
    for u in unpriced(most, true) {
        if !missing.contains(&u) {
            missing.push(u);
        }
    }
    let spot = least.iter().any(|s| s.market == Market::Spot);
    let mut notes = Vec::new();
    if !request.instances.instance_fleets.is_empty() {
        notes.push(FLEET_RULE.to_string());
    }
    if spot {
        notes.push(SPOT_RULE.to_string());
    }
    notes.push(EBS_RULE.to_string());
    for (slots, is_most, zone) in [
        (least, false, &books[cheap].spot_zone),
        (most, true, &books[dear].spot_zone),
    ] {
        for s in slots {
            let c = s.end(is_most);
            if let Some((price, max)) = c.rates.above_max {
                let note = format!(
                    "{} {} {}: the spot price{} (${price}) is above the maximum price (${max}): EMR gets no spot \
                     instances there while it is; priced at the maximum",
                    s.role,
                    c.instance_type,
                    market_name(s.market),
                    zone.as_ref().map(|z| format!(" in {z}")).unwrap_or_default()
                );
                if !notes.contains(&note) {
                    notes.push(note);
                }
            }
        }
    }
    let zone = |i: usize| spot.then(|| books[i].spot_zone.clone()).flatten();
    Some(HourlyEstimate {
        lines,
        usd_per_hour: Ends {
            least: total(least, false).usd(),
            most: total(most, true).usd(),
        },
        usd_is_lower_bound: !missing.is_empty(),
        unpriced: missing,
        estimate: true,
        region: books[cheap].region.clone(),
        prices_as_of: books[cheap].prices_as_of,
        spot_zone: Ends {
            least: zone(cheap),
            most: zone(dear),
        },
        spot_zones: if spot {
            books.iter().filter_map(|b| b.spot_zone.clone()).collect()
        } else {
            Vec::new()
        },
        notes,
        leaves_out: LEAVES_OUT.iter().map(|s| s.to_string()).collect(),
    })
}
