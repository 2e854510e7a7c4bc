//! Fault injection (throttling, server errors, latency, lost responses, and the loss, delay and
//! duplication of EventBridge events) and call accounting (counters and the record of every request).

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// A token bucket's size: `burst` tokens, refilled at `perSecond` (real seconds).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateLimit {
    pub burst: f64,
    pub per_second: f64,
}

/// The bucket shared by all EMR calls, in [`Faults::rate_limit_overrides`].
pub const ALL_CALLS: &str = "*";

/// The default API rate limits (per account and region): EMR's and EMR Serverless's from their documentation (ListInstances,
/// ListInstanceGroups and ListInstanceFleets at 10 / 0.5 like EMR's other reads: an assumption), the Price List
/// Query API's GetProducts (10 / 5, from the Billing User Guide) and EC2's DescribeSpotPriceHistory (100 / 20, EC2's
/// bucket for non-mutating actions). `"*"` is EMR's bucket of all its calls together; other services' calls take no
/// token from it.
pub fn default_rate_limits() -> BTreeMap<String, RateLimit> {
    let rl = |burst, per_second| RateLimit { burst, per_second };
    [
        ("DescribeCluster", rl(10.0, 1.0)),
        ("DescribeStep", rl(10.0, 0.5)),
        ("ListSteps", rl(10.0, 0.5)),
        ("ListClusters", rl(20.0, 0.5)),
        ("RunJobFlow", rl(10.0, 0.5)),
        ("AddJobFlowSteps", rl(10.0, 0.5)),
        ("TerminateJobFlows", rl(10.0, 0.5)),
        ("ListInstances", rl(10.0, 0.5)),
        ("ListInstanceGroups", rl(10.0, 0.5)),
        ("ListInstanceFleets", rl(10.0, 0.5)),
        ("GetProducts", rl(10.0, 5.0)),
        ("DescribeSpotPriceHistory", rl(100.0, 20.0)),
        // EMR Serverless's (its own service: no token from EMR's `"*"`).
        ("StartJobRun", rl(25.0, 1.0)),
        ("CancelJobRun", rl(25.0, 1.0)),
        ("StartApplication", rl(25.0, 1.0)),
        ("StopApplication", rl(25.0, 1.0)),
        ("GetJobRun", rl(50.0, 10.0)),
        (ALL_CALLS, rl(25.0, 5.0)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Faults of the delivery of EMR's EventBridge events. EventBridge delivers AWS service events on a
/// best-effort basis and at least once: an event may never come, come late (and so out of order), or
/// come twice with the same `id`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct EventFaults {
    /// Share of events lost (0.0..=1.0).
    pub drop_rate: f64,
    /// Share of the events not lost that are delivered a second time (0.0..=1.0).
    pub duplicate_rate: f64,
    /// Virtual seconds from the change to its delivery.
    pub delay_seconds: f64,
    /// Up to this many more virtual seconds, drawn uniformly for each delivery (a duplicate draws its
    /// own): events can overtake each other.
    pub max_extra_delay_seconds: f64,
    /// Restrict these faults to events of these detail-types (empty: all).
    pub detail_types: Vec<String>,
}

/// The detail-types the emulator emits (see `events`).
pub const EVENT_DETAIL_TYPES: [&str; 4] = [
    "EMR Cluster State Change",
    "EMR Step Status Change",
    "EMR Serverless Application State Change",
    "EMR Serverless Job Run State Change",
];

impl EventFaults {
    fn validate(&self) -> Result<(), String> {
        for (name, rate) in [
            ("events.dropRate", self.drop_rate),
            ("events.duplicateRate", self.duplicate_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name} must be between 0 and 1"));
            }
        }
        for (name, seconds) in [
            ("events.delaySeconds", self.delay_seconds),
            ("events.maxExtraDelaySeconds", self.max_extra_delay_seconds),
        ] {
            if !(seconds >= 0.0 && seconds.is_finite()) {
                return Err(format!("{name} must be a finite number >= 0"));
            }
        }
        match self
            .detail_types
            .iter()
            .find(|t| !EVENT_DETAIL_TYPES.contains(&t.as_str()))
        {
            Some(t) => Err(format!(
                "events.detailTypes: unknown detail-type '{t}' (expected one of {EVENT_DETAIL_TYPES:?})"
            )),
            None => Ok(()),
        }
    }

    fn applies(&self, detail_type: &str) -> bool {
        self.detail_types.is_empty() || self.detail_types.iter().any(|t| t == detail_type)
    }
}

/// Fault configuration. Everything is off by default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Faults {
    /// Enforce EMR's default token buckets (in real seconds).
    pub rate_limits: bool,
    /// Replace individual buckets (operation name, or `"*"` for all calls together).
    pub rate_limit_overrides: BTreeMap<String, RateLimit>,
    /// Share of calls answered with ThrottlingException (0.0..=1.0).
    pub throttle_share: f64,
    /// Share of calls answered with a server error.
    pub server_error_share: f64,
    /// 500 (InternalServerError/InternalServerException) or 503 (ServiceUnavailable); 502 and 504 too with
    /// `serverErrorWithoutCode`.
    pub server_error_status: u16,
    /// Answer server errors the way a load balancer in front of EMR would: an HTML page, no error code.
    pub server_error_without_code: bool,
    /// Restrict the shares to these operations (empty: all operations).
    pub operations: Vec<String>,
    /// Seed of the generator behind the shares.
    pub seed: u64,
    /// Real milliseconds added before every EMR call is answered.
    pub latency_ms: u64,
    /// Restrict the latency to these operations (empty: all operations).
    pub latency_operations: Vec<String>,
    /// Per operation: the next N calls take effect, then the connection is closed with no response.
    pub lost_responses: BTreeMap<String, u32>,
    /// The delivery of EventBridge events.
    pub events: EventFaults,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            rate_limits: false,
            rate_limit_overrides: BTreeMap::new(),
            throttle_share: 0.0,
            server_error_share: 0.0,
            server_error_status: 500,
            server_error_without_code: false,
            operations: Vec::new(),
            seed: 0,
            latency_ms: 0,
            latency_operations: Vec::new(),
            lost_responses: BTreeMap::new(),
            events: EventFaults::default(),
        }
    }
}

impl Faults {
    pub fn none() -> Self {
        Self::default()
    }

    pub fn with_rate_limits(mut self) -> Self {
        self.rate_limits = true;
        self
    }

    pub fn with_throttle_share(mut self, share: f64, seed: u64) -> Self {
        self.throttle_share = share;
        self.seed = seed;
        self
    }

    pub fn with_server_error_share(mut self, share: f64, status: u16, seed: u64) -> Self {
        self.server_error_share = share;
        self.server_error_status = status;
        self.seed = seed;
        self
    }

    pub fn with_latency_ms(mut self, ms: u64) -> Self {
        self.latency_ms = ms;
        self
    }

    pub fn with_lost_responses(mut self, operation: &str, count: u32) -> Self {
        self.lost_responses.insert(operation.to_string(), count);
        self
    }

    /// Faults of the EventBridge events; their draws follow `seed`.
    pub fn with_events(mut self, events: EventFaults, seed: u64) -> Self {
        self.events = events;
        self.seed = seed;
        self
    }

    pub fn validate(&self) -> Result<(), String> {
        for (name, share) in [
            ("throttleShare", self.throttle_share),
            ("serverErrorShare", self.server_error_share),
        ] {
            if !(0.0..=1.0).contains(&share) {
                return Err(format!("{name} must be between 0 and 1"));
            }
        }
        match (self.server_error_status, self.server_error_without_code) {
            (500 | 503, _) | (502 | 504, true) => {}
            _ => return Err(
                "serverErrorStatus must be 500 or 503 (or 502, 504 with serverErrorWithoutCode)"
                    .to_string(),
            ),
        }
        self.events.validate()
    }
}

#[derive(Clone, Debug)]
struct Bucket {
    limit: RateLimit,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn new(limit: RateLimit, now: Instant) -> Self {
        Bucket {
            limit,
            tokens: limit.burst,
            at: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.limit.per_second).min(self.limit.burst);
        self.at = now;
    }
}

/// What to do with one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Proceed,
    Throttle,
    ServerError(u16),
}

/// Runtime state of the faults: buckets, generators, lost-response budget.
#[derive(Debug)]
pub struct FaultState {
    pub config: Faults,
    limits: BTreeMap<String, RateLimit>,
    buckets: HashMap<String, Bucket>,
    rng: SplitMix64,
    /// Draws for the events, apart from the calls' so that the fate of an event does not depend on
    /// how many calls were made before it.
    event_rng: SplitMix64,
    lost_left: BTreeMap<String, u32>,
}

/// Mixed into the seed of the events' generator (any constant: it only has to differ from the calls').
const EVENT_STREAM: u64 = 0x6576_656E_7473;

impl FaultState {
    pub fn new(config: Faults) -> Self {
        let mut limits = default_rate_limits();
        limits.extend(config.rate_limit_overrides.clone());
        FaultState {
            rng: SplitMix64(config.seed),
            event_rng: SplitMix64(config.seed ^ EVENT_STREAM),
            lost_left: config.lost_responses.clone(),
            limits,
            buckets: HashMap::new(),
            config,
        }
    }

    /// The faults as configured, with the lost responses still to come.
    pub fn current(&self) -> Faults {
        let mut f = self.config.clone();
        f.lost_responses = self.lost_left.clone();
        f
    }

    /// The latency to add before answering `op`.
    pub fn latency_ms(&self, op: &str) -> u64 {
        let applies = self.config.latency_operations.is_empty()
            || self.config.latency_operations.iter().any(|o| o == op);
        if applies {
            self.config.latency_ms
        } else {
            0
        }
    }

    pub fn server_error_without_code(&self) -> bool {
        self.config.server_error_without_code
    }

    fn share_applies(&self, op: &str) -> bool {
        self.config.operations.is_empty() || self.config.operations.iter().any(|o| o == op)
    }

    pub fn verdict(&mut self, op: &str, now: Instant) -> Verdict {
        if self.share_applies(op) {
            if self.config.throttle_share > 0.0 && self.rng.next_f64() < self.config.throttle_share
            {
                return Verdict::Throttle;
            }
            if self.config.server_error_share > 0.0
                && self.rng.next_f64() < self.config.server_error_share
            {
                return Verdict::ServerError(self.config.server_error_status);
            }
        }
        if self.config.rate_limits && !self.take_tokens(op, now) {
            return Verdict::Throttle;
        }
        Verdict::Proceed
    }

    /// Take one token from the operation's bucket (if it has one) and, for an EMR call, from EMR's all-calls
    /// bucket, or from neither.
    fn take_tokens(&mut self, op: &str, now: Instant) -> bool {
        let emr = crate::ops::service(op) == crate::ops::Service::Emr;
        let names: Vec<&str> = [op, ALL_CALLS]
            .into_iter()
            .filter(|n| self.limits.contains_key(*n) && (emr || *n != ALL_CALLS))
            .collect();
        for name in &names {
            let limit = self.limits[*name];
            let bucket = self
                .buckets
                .entry(name.to_string())
                .or_insert_with(|| Bucket::new(limit, now));
            bucket.refill(now);
            if bucket.tokens < 1.0 {
                return false;
            }
        }
        for name in names {
            if let Some(b) = self.buckets.get_mut(name) {
                b.tokens -= 1.0;
            }
        }
        true
    }

    /// When an event of `detail_type` about a change at virtual time `at` is delivered: never (empty),
    /// once, or twice (a duplicate), as virtual times.
    pub fn event_deliveries(&mut self, detail_type: &str, at: f64) -> Vec<f64> {
        let f = &self.config.events;
        if !f.applies(detail_type) {
            return vec![at];
        }
        let rng = &mut self.event_rng;
        let mut draw = |rate: f64| rate > 0.0 && rng.next_f64() < rate;
        if draw(f.drop_rate) {
            return Vec::new();
        }
        let copies = if draw(f.duplicate_rate) { 2 } else { 1 };
        (0..copies)
            .map(|_| {
                let extra = if f.max_extra_delay_seconds > 0.0 {
                    self.event_rng.next_f64() * f.max_extra_delay_seconds
                } else {
                    0.0
                };
                at + f.delay_seconds + extra
            })
            .collect()
    }

    /// Whether this executed call's response must be lost (consumes the budget).
    pub fn take_lost_response(&mut self, op: &str) -> bool {
        match self.lost_left.get_mut(op) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        }
    }
}

/// Deterministic generator (SplitMix64) for shares and ids.
#[derive(Clone, Debug)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Counters for one operation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationCalls {
    /// Every request received for the operation, whatever its fate.
    pub calls: u64,
    /// Answered 200.
    pub succeeded: u64,
    /// Answered 400 by the API itself (validation, unknown ids).
    pub client_errors: u64,
    /// Answered ThrottlingException (token bucket or forced share).
    pub throttled: u64,
    /// Answered 500/503 by fault injection.
    pub server_errors: u64,
    /// Took effect, then the connection was closed without a response.
    pub lost_responses: u64,
    /// Refused by IAM (unknown access key or not authorized), with no effect.
    pub denied: u64,
    /// Latency added before answering, in milliseconds, summed over the calls (a count, so a test needs no clock).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub delayed_ms: u64,
}

/// Per-operation call counters. Admin requests are not counted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallStats {
    pub total: u64,
    pub throttled: u64,
    pub denied: u64,
    pub operations: BTreeMap<String, OperationCalls>,
}

impl CallStats {
    /// Calls received for `op` (0 if none).
    pub fn count(&self, op: &str) -> u64 {
        self.operations.get(op).map_or(0, |c| c.calls)
    }

    pub fn get(&self, op: &str) -> OperationCalls {
        self.operations.get(op).copied().unwrap_or_default()
    }

    pub(crate) fn entry(&mut self, op: &str) -> &mut OperationCalls {
        self.operations.entry(op.to_string()).or_default()
    }
}

/// One request the EMR endpoint received, and how it was answered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedRequest {
    /// From `X-Amz-Target` (the raw header value when it names no operation).
    pub operation: String,
    /// From the SigV4 credential scope; `None` for an unsigned request.
    pub access_key_id: Option<String>,
    pub region: String,
    /// The JSON body as received (lossy UTF-8).
    pub body: String,
    /// `None` when the response was deliberately lost.
    pub status: Option<u16>,
    /// The error's `__type`, if the answer was an error.
    pub error_type: Option<String>,
    /// When it came, in virtual epoch seconds (the bench spreads runs' calls over time from it).
    #[serde(default)]
    pub at: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn when_bucket_is_empty_should_throttle_until_refilled() {
        let mut f = FaultState::new(Faults::none().with_rate_limits());
        let t0 = Instant::now();
        for _ in 0..10 {
            assert_eq!(f.verdict("DescribeStep", t0), Verdict::Proceed);
        }
        assert_eq!(f.verdict("DescribeStep", t0), Verdict::Throttle);
        // 0.5 tokens per second: one token after two seconds.
        assert_eq!(
            f.verdict("DescribeStep", t0 + Duration::from_secs(2)),
            Verdict::Proceed
        );
        assert_eq!(
            f.verdict("DescribeStep", t0 + Duration::from_secs(2)),
            Verdict::Throttle
        );
    }

    #[test]
    fn when_all_calls_bucket_is_empty_should_throttle_any_operation() {
        let mut f = FaultState::new(Faults::none().with_rate_limits());
        let t0 = Instant::now();
        let ops = ["DescribeCluster", "ListSteps", "DescribeStep"];
        for i in 0..25 {
            assert_eq!(f.verdict(ops[i % 3], t0), Verdict::Proceed);
        }
        assert_eq!(f.verdict("CancelSteps", t0), Verdict::Throttle);
    }

    #[test]
    fn when_share_is_set_should_be_deterministic_per_seed() {
        let run = || {
            let mut f = FaultState::new(Faults::none().with_throttle_share(0.3, 42));
            (0..1000)
                .filter(|_| f.verdict("ListSteps", Instant::now()) == Verdict::Throttle)
                .count()
        };
        let a = run();
        assert_eq!(a, run());
        assert!((250..350).contains(&a), "{a}");
    }
}
