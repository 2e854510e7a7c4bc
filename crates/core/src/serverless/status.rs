//! What EMR Serverless's answers mean, and what a job run cost: an application's state as a phase of its life, a
//! job run's state as a phase (final or not), and the price of a job run's billed resource utilization (the client
//! tokens that make CreateApplication and StartJobRun idempotent are the plan's: [`super::client_token`]). Pure: the caller passes the
//! states, ids and prices it read; nothing here reads a clock or the network.
//!
//! States, from the EMR Serverless API reference: an application is CREATING, CREATED, STARTING, STARTED, STOPPING,
//! STOPPED or TERMINATED; a job run SUBMITTED, PENDING, SCHEDULED, RUNNING, SUCCESS, FAILED, CANCELLING, CANCELLED or
//! QUEUED (job queuing).
//!
//! Billing, as AWS bills EMR Serverless: the vCPU-hours, memory GB-hours and storage GB-hours of the job run's
//! workers (`billedResourceUtilization`: each worker at least one minute, storage beyond each worker's free 20 GB),
//! each at its regional price per hour. The Price List publishes them under the service code `ElasticMapReduce`, as
//! products whose `usagetype` names `SERVERLESS` (`EU-EMR-SERVERLESS-vCPUHours`, `…-MemoryGBHours`,
//! `…-StorageGBHours`, `…-ARM-vCPUHours`, `…-ARM-MemoryGBHours`), told apart by `meterunit` (`CPUHours`, `GBHours`,
//! `StorageGBHours`, and `ARMCPUHours`, `ARMGBHours` for ARM64 applications):
//! [`crate::cost::price_list::serverless_prices_from_price_list`] reads them into a [`ServerlessPrices`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::cost::Usd;

/// Where a job run is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum JobRunPhase {
    /// Accepted, not yet running: SUBMITTED, QUEUED, PENDING, SCHEDULED.
    Pending,
    Running,
    Succeeded,
    Failed,
    /// CANCELLING: cancelled (by a caller or its execution timeout), not yet ended.
    Cancelling,
    Cancelled,
    /// A state this list does not know (a newer API): treated as not ended, so a run is never given up too early.
    Unknown,
}

impl JobRunPhase {
    /// The phase of a job run in `state`.
    pub fn of(state: &str) -> JobRunPhase {
        match state {
            "SUBMITTED" | "QUEUED" | "PENDING" | "SCHEDULED" => JobRunPhase::Pending,
            "RUNNING" => JobRunPhase::Running,
            "SUCCESS" => JobRunPhase::Succeeded,
            "FAILED" => JobRunPhase::Failed,
            "CANCELLING" => JobRunPhase::Cancelling,
            "CANCELLED" => JobRunPhase::Cancelled,
            _ => JobRunPhase::Unknown,
        }
    }

    /// The run has ended and never changes again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobRunPhase::Succeeded | JobRunPhase::Failed | JobRunPhase::Cancelled
        )
    }

    /// The run may still be cancelled (CancelJobRun of an ended run is refused).
    pub fn is_cancellable(self) -> bool {
        matches!(self, JobRunPhase::Pending | JobRunPhase::Running)
    }
}

/// The job run states that have not ended: what a cleanup lists to cancel (ListJobRuns' `states`).
pub const JOB_RUN_NOT_ENDED: [&str; 5] = ["SUBMITTED", "QUEUED", "PENDING", "SCHEDULED", "RUNNING"];

/// Where an application is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ApplicationPhase {
    /// CREATING, STARTING: wait.
    Starting,
    /// CREATED, STARTED: job runs may be submitted (a CREATED application starts itself on the first one).
    Ready,
    /// STOPPING, STOPPED: stopped or on its way there; deletable once STOPPED.
    Stopped,
    /// TERMINATED: deleted.
    Ended,
    /// A state this list does not know.
    Unknown,
}

impl ApplicationPhase {
    pub fn of(state: &str) -> ApplicationPhase {
        match state {
            "CREATING" | "STARTING" => ApplicationPhase::Starting,
            "CREATED" | "STARTED" => ApplicationPhase::Ready,
            "STOPPING" | "STOPPED" => ApplicationPhase::Stopped,
            "TERMINATED" => ApplicationPhase::Ended,
            _ => ApplicationPhase::Unknown,
        }
    }

    /// DeleteApplication is accepted only in CREATED or STOPPED.
    pub fn deletable(state: &str) -> bool {
        matches!(state, "CREATED" | "STOPPED")
    }
}

/// A job run's use of resources, as GetJobRun reports it (`billedResourceUtilization` or
/// `totalResourceUtilization`).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceUtilization {
    #[serde(rename = "vCPUHour")]
    pub vcpu_hour: f64,
    #[serde(rename = "memoryGBHour")]
    pub memory_gb_hour: f64,
    #[serde(rename = "storageGBHour")]
    pub storage_gb_hour: f64,
}

/// EMR Serverless's prices in one region, for one architecture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerlessPrices {
    pub region: String,
    /// `X86_64` or `ARM64` (the application's `architecture`).
    pub architecture: String,
    pub prices_as_of: DateTime<Utc>,
    pub per_vcpu_hour: Usd,
    pub per_memory_gb_hour: Usd,
    pub per_storage_gb_hour: Usd,
}

/// What EMR Serverless's own estimate leaves out, written into each result (`leavesOut`).
pub const SERVERLESS_LEAVES_OUT: [&str; 5] = [
    "pre-initialized capacity held by the application outside job runs",
    "data transfer, S3 requests and storage, CloudWatch logs",
    "savings plans, credits and discounts",
    "taxes",
    "the runner's own Step Functions, Lambda, DynamoDB and CloudWatch charges",
];

/// What a job run cost: its billed utilization priced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobRunCost {
    pub billed: ResourceUtilization,
    /// Estimated USD of the three parts; `null` when no price could be read (`pricesUnavailable` says why).
    pub usd: Option<f64>,
    pub vcpu_usd: Option<f64>,
    pub memory_usd: Option<f64>,
    pub storage_usd: Option<f64>,
    /// Always true: a price from the Price List, not a bill.
    pub estimate: bool,
    /// false while the run goes on: EMR Serverless reports the utilization once the run has ended.
    #[serde(rename = "final")]
    pub is_final: bool,
    pub region: Option<String>,
    pub prices_as_of: Option<DateTime<Utc>>,
    pub prices_unavailable: Option<String>,
    pub leaves_out: Vec<String>,
}

/// 10⁻¹⁵ USD: a price in 10⁻¹² USD per hour times thousandths of an hour (GetJobRun's 3 decimals).
const FEMTO_PER_TEN_THOUSANDTH: u128 = 100_000_000_000;

/// Thousandths of `hours` (GetJobRun rounds to 3 decimals), rounded half up; a negative or non-finite figure is 0.
fn thousandths(hours: f64) -> u128 {
    if hours.is_finite() && hours > 0.0 {
        (hours * 1000.0).round() as u128
    } else {
        0
    }
}

/// `hours` at `price` per hour, in 10⁻¹⁵ USD (exact).
fn femto(hours: f64, price: Usd) -> u128 {
    thousandths(hours).saturating_mul(u128::from(price.pico()))
}

/// 10⁻¹⁵ USD as a 4-decimal amount, rounded half up.
fn usd(femto: u128) -> f64 {
    let ten_thousandths = (femto + FEMTO_PER_TEN_THOUSANDTH / 2) / FEMTO_PER_TEN_THOUSANDTH;
    ten_thousandths as f64 / 10_000.0
}

/// The cost of a job run from its billed utilization, priced with `prices` (or, when they could not be read, the
/// reason: the utilization is still reported). `ended`: the run is in a final state.
pub fn job_run_cost(
    billed: &ResourceUtilization,
    prices: Result<&ServerlessPrices, &str>,
    ended: bool,
) -> JobRunCost {
    let parts = prices.ok().map(|p| {
        [
            femto(billed.vcpu_hour, p.per_vcpu_hour),
            femto(billed.memory_gb_hour, p.per_memory_gb_hour),
            femto(billed.storage_gb_hour, p.per_storage_gb_hour),
        ]
    });
    let part = |i: usize| parts.map(|p| usd(p[i]));
    JobRunCost {
        billed: *billed,
        usd: parts.map(|p| usd(p.iter().fold(0u128, |t, x| t.saturating_add(*x)))),
        vcpu_usd: part(0),
        memory_usd: part(1),
        storage_usd: part(2),
        estimate: true,
        is_final: ended,
        region: prices.ok().map(|p| p.region.clone()),
        prices_as_of: prices.ok().map(|p| p.prices_as_of),
        prices_unavailable: prices.err().map(str::to_string),
        leaves_out: SERVERLESS_LEAVES_OUT
            .iter()
            .map(|s| s.to_string())
            .collect(),
    }
}

/// What a serverless run cost: the billed utilization of its job runs, added up and priced (the `cost` of its
/// output, of its run-end line and of its record in the wait table). `target` is always `serverless`, which tells
/// it apart from a cluster run's cost (instance-hours).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerlessRunCost {
    pub target: String,
    /// How many job runs it adds up.
    pub job_runs: usize,
    pub vcpu_hours: f64,
    pub memory_gb_hours: f64,
    pub storage_gb_hours: f64,
    /// Estimated USD of the job runs priced; `null` when none was.
    pub usd: Option<f64>,
    /// Some job run could not be priced: the run cost at least `usd`.
    pub usd_is_lower_bound: bool,
    pub estimate: bool,
    /// Every job run had ended (their utilization is final).
    #[serde(rename = "final")]
    pub is_final: bool,
    pub region: Option<String>,
    pub prices_as_of: Option<DateTime<Utc>>,
    pub prices_unavailable: Option<String>,
    pub leaves_out: Vec<String>,
}

/// To the 4 decimals GetJobRun's figures and a cost's USD are written with (no binary noise in a sum).
fn four_decimals(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// The run's cost: its job runs' costs added up.
pub fn run_cost(job_runs: &[JobRunCost]) -> ServerlessRunCost {
    let sum = |f: fn(&JobRunCost) -> f64| four_decimals(job_runs.iter().map(f).sum());
    let priced: Vec<f64> = job_runs.iter().filter_map(|c| c.usd).collect();
    let first_priced = job_runs.iter().find(|c| c.usd.is_some());
    ServerlessRunCost {
        target: "serverless".into(),
        job_runs: job_runs.len(),
        vcpu_hours: sum(|c| c.billed.vcpu_hour),
        memory_gb_hours: sum(|c| c.billed.memory_gb_hour),
        storage_gb_hours: sum(|c| c.billed.storage_gb_hour),
        usd: (!priced.is_empty()).then(|| four_decimals(priced.iter().sum())),
        usd_is_lower_bound: !priced.is_empty() && priced.len() < job_runs.len(),
        estimate: true,
        is_final: job_runs.iter().all(|c| c.is_final),
        region: first_priced.and_then(|c| c.region.clone()),
        prices_as_of: first_priced.and_then(|c| c.prices_as_of),
        prices_unavailable: job_runs.iter().find_map(|c| c.prices_unavailable.clone()),
        leaves_out: SERVERLESS_LEAVES_OUT
            .iter()
            .map(|s| s.to_string())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn every_job_run_state_has_its_phase_and_exactly_the_ended_ones_are_final() {
        let cases = [
            ("SUBMITTED", JobRunPhase::Pending, false),
            ("QUEUED", JobRunPhase::Pending, false),
            ("PENDING", JobRunPhase::Pending, false),
            ("SCHEDULED", JobRunPhase::Pending, false),
            ("RUNNING", JobRunPhase::Running, false),
            ("SUCCESS", JobRunPhase::Succeeded, true),
            ("FAILED", JobRunPhase::Failed, true),
            ("CANCELLING", JobRunPhase::Cancelling, false),
            ("CANCELLED", JobRunPhase::Cancelled, true),
            ("PAUSED", JobRunPhase::Unknown, false),
            ("success", JobRunPhase::Unknown, false),
        ];
        for (state, phase, is_final) in cases {
            assert_eq!(JobRunPhase::of(state), phase, "{state}");
            assert_eq!(phase.is_final(), is_final, "{state}");
        }
        for state in JOB_RUN_NOT_ENDED {
            let phase = JobRunPhase::of(state);
            assert!(!phase.is_final() && phase.is_cancellable(), "{state}");
        }
        assert!(!JobRunPhase::Cancelling.is_cancellable());
    }

    #[test]
    fn every_application_state_has_its_phase() {
        let cases = [
            ("CREATING", ApplicationPhase::Starting, false),
            ("CREATED", ApplicationPhase::Ready, true),
            ("STARTING", ApplicationPhase::Starting, false),
            ("STARTED", ApplicationPhase::Ready, false),
            ("STOPPING", ApplicationPhase::Stopped, false),
            ("STOPPED", ApplicationPhase::Stopped, true),
            ("TERMINATED", ApplicationPhase::Ended, false),
            ("DELETED", ApplicationPhase::Unknown, false),
        ];
        for (state, phase, deletable) in cases {
            assert_eq!(ApplicationPhase::of(state), phase, "{state}");
            assert_eq!(ApplicationPhase::deletable(state), deletable, "{state}");
        }
    }

    fn prices() -> ServerlessPrices {
        ServerlessPrices {
            region: "eu-west-1".into(),
            architecture: "X86_64".into(),
            prices_as_of: Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap(),
            per_vcpu_hour: Usd::parse("0.052624").unwrap(),
            per_memory_gb_hour: Usd::parse("0.0057785").unwrap(),
            per_storage_gb_hour: Usd::parse("0.000111").unwrap(),
        }
    }

    #[test]
    fn a_job_run_costs_its_billed_hours_at_each_price() {
        // 16 vCPUs, 64 GB and 20 GB beyond the free storage for 10 minutes.
        let billed = ResourceUtilization {
            vcpu_hour: 2.667,
            memory_gb_hour: 10.667,
            storage_gb_hour: 3.333,
        };
        let cost = job_run_cost(&billed, Ok(&prices()), true);
        // 2.667 × 0.052624 = 0.140348208; 10.667 × 0.0057785 = 0.0616392595; 3.333 × 0.000111 = 0.000369963.
        assert_eq!(cost.vcpu_usd, Some(0.1403));
        assert_eq!(cost.memory_usd, Some(0.0616));
        assert_eq!(cost.storage_usd, Some(0.0004));
        // The total of the exact parts (0.2023574305), rounded once.
        assert_eq!(cost.usd, Some(0.2024));
        assert!(cost.is_final && cost.estimate);
        assert_eq!(cost.region.as_deref(), Some("eu-west-1"));
        let json = serde_json::to_value(&cost).unwrap();
        assert_eq!(json["billed"]["vCPUHour"], 2.667);
        assert_eq!(json["final"], true);
    }

    #[test]
    fn without_prices_the_utilization_is_still_reported() {
        let billed = ResourceUtilization {
            vcpu_hour: 1.0,
            memory_gb_hour: 4.0,
            storage_gb_hour: 0.0,
        };
        let cost = job_run_cost(&billed, Err("the Price List did not answer"), false);
        assert_eq!(cost.usd, None);
        assert_eq!(cost.vcpu_usd, None);
        assert_eq!(cost.billed, billed);
        assert!(!cost.is_final);
        assert_eq!(
            cost.prices_unavailable.as_deref(),
            Some("the Price List did not answer")
        );
        let nonsense = ResourceUtilization {
            vcpu_hour: f64::NAN,
            memory_gb_hour: -1.0,
            storage_gb_hour: f64::INFINITY,
        };
        assert_eq!(job_run_cost(&nonsense, Ok(&prices()), true).usd, Some(0.0));
    }

    #[test]
    fn a_runs_cost_adds_up_its_job_runs_and_is_a_lower_bound_when_one_was_not_priced() {
        let billed = |v: f64| ResourceUtilization {
            vcpu_hour: v,
            memory_gb_hour: 4.0 * v,
            storage_gb_hour: 0.1,
        };
        let a = job_run_cost(&billed(1.0), Ok(&prices()), true);
        let b = job_run_cost(&billed(0.5), Ok(&prices()), true);
        let total = run_cost(&[a.clone(), b.clone()]);
        assert_eq!(total.target, "serverless");
        assert_eq!(total.job_runs, 2);
        assert_eq!(total.vcpu_hours, 1.5);
        assert_eq!(total.memory_gb_hours, 6.0);
        assert_eq!(total.storage_gb_hours, 0.2);
        assert_eq!(
            total.usd,
            Some(four_decimals(a.usd.unwrap() + b.usd.unwrap()))
        );
        assert!(!total.usd_is_lower_bound && total.is_final);
        assert_eq!(total.region.as_deref(), Some("eu-west-1"));
        let json = serde_json::to_value(&total).unwrap();
        assert_eq!(json["final"], true);
        assert_eq!(json["vcpuHours"], 1.5);
        // One not priced: at least the other's; one still running: not final.
        let unpriced = job_run_cost(&billed(2.0), Err("no prices"), false);
        let partial = run_cost(&[a.clone(), unpriced]);
        assert_eq!(partial.usd, a.usd);
        assert!(partial.usd_is_lower_bound && !partial.is_final);
        assert_eq!(partial.prices_unavailable.as_deref(), Some("no prices"));
        let none = run_cost(&[]);
        assert_eq!(
            (none.usd, none.vcpu_hours, none.is_final),
            (None, 0.0, true)
        );
    }
}
