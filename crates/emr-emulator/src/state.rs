//! Everything the emulator knows, behind one lock.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::clock::Clock;
use crate::events::{self, EventBus};
use crate::faults::{CallStats, FaultState, Faults, RecordedRequest, SplitMix64};
use crate::iam::Iam;
use crate::model::Cluster;
use crate::scenario::{Durations, Scenario, ScenarioRuntime};
use crate::serverless::Serverless;

pub const ACCOUNT_ID: &str = "123456789012";
const ID_ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

pub struct State {
    pub clock: Clock,
    /// Virtual time at start: the prices' spot history is anchored there (see `prices`).
    pub started_at: f64,
    pub base: Durations,
    pub clusters: Vec<Cluster>,
    pub index: HashMap<String, usize>,
    pub scenario: ScenarioRuntime,
    pub faults: FaultState,
    pub calls: CallStats,
    pub log_requests: bool,
    /// `Some`: every EMR call is authorized against these principals.
    pub iam: Option<Arc<Iam>>,
    pub requests: Vec<RecordedRequest>,
    /// The EventBridge events emitted for the clusters' state changes.
    pub events: EventBus,
    /// The region of the call being executed (EMR is regional: clusters of other regions are invisible).
    pub caller_region: String,
    /// EMR Serverless's applications and job runs.
    pub serverless: Serverless,
    /// Who makes the call being executed (EMR Serverless's `createdBy`).
    pub caller_arn: String,
    /// The id the next RunJobFlow's cluster gets, once authorization has named it.
    upcoming_cluster: Option<String>,
    /// The id the next CreateApplication's application gets, once authorization has named it.
    upcoming_app: Option<String>,
    ids: SplitMix64,
    issued: HashSet<String>,
    next_seq: u64,
}

impl State {
    pub fn new(
        clock: Clock,
        base: Durations,
        scenario: Scenario,
        faults: Faults,
        log_requests: bool,
    ) -> Self {
        let seed = clock.now().to_bits() ^ u64::from(std::process::id());
        State {
            started_at: clock.now(),
            clock,
            base,
            clusters: Vec::new(),
            index: HashMap::new(),
            scenario: ScenarioRuntime::new(scenario),
            faults: FaultState::new(faults),
            calls: CallStats::default(),
            caller_region: String::new(),
            log_requests,
            iam: None,
            requests: Vec::new(),
            events: EventBus::default(),
            upcoming_cluster: None,
            serverless: Serverless::default(),
            caller_arn: String::new(),
            upcoming_app: None,
            ids: SplitMix64(seed),
            issued: HashSet::new(),
            next_seq: 0,
        }
    }

    pub fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    /// `prefix` + 13 uppercase alphanumerics, unique among clusters and steps.
    pub fn new_id(&mut self, prefix: &str) -> String {
        loop {
            let mut id = String::from(prefix);
            for _ in 0..13 {
                let n = (self.ids.next_u64() % ID_ALPHABET.len() as u64) as usize;
                id.push(ID_ALPHABET[n] as char);
            }
            if self.issued.insert(id.clone()) {
                return id;
            }
        }
    }

    /// The id the next cluster will get (IAM authorizes RunJobFlow on the cluster to be).
    pub fn upcoming_cluster_id(&mut self) -> &str {
        if self.upcoming_cluster.is_none() {
            self.upcoming_cluster = Some(self.new_id("j-"));
        }
        self.upcoming_cluster.as_deref().unwrap_or_default()
    }

    /// A new cluster's id: the upcoming one if authorization named it, else a fresh one.
    pub fn take_cluster_id(&mut self) -> String {
        match self.upcoming_cluster.take() {
            Some(id) => id,
            None => self.new_id("j-"),
        }
    }

    /// An EMR Serverless id: `00` + 14 lowercase alphanumerics, unique.
    fn new_serverless_id(&mut self) -> String {
        const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
        loop {
            let mut id = String::from("00");
            for _ in 0..14 {
                let n = (self.ids.next_u64() % ALPHABET.len() as u64) as usize;
                id.push(ALPHABET[n] as char);
            }
            if self.issued.insert(id.clone()) {
                return id;
            }
        }
    }

    /// The id the next application will get (IAM authorizes CreateApplication on the application to be).
    pub fn upcoming_serverless_app_id(&mut self) -> &str {
        if self.upcoming_app.is_none() {
            self.upcoming_app = Some(self.new_serverless_id());
        }
        self.upcoming_app.as_deref().unwrap_or_default()
    }

    pub fn take_serverless_app_id(&mut self) -> String {
        match self.upcoming_app.take() {
            Some(id) => id,
            None => self.new_serverless_id(),
        }
    }

    pub fn take_serverless_job_id(&mut self) -> String {
        self.new_serverless_id()
    }

    pub fn new_instance_id(&mut self) -> String {
        self.new_ec2_id("i-")
    }

    /// An EC2 id: `prefix` (`i-`, `vol-`) + 17 hex digits.
    pub fn new_ec2_id(&mut self, prefix: &str) -> String {
        format!("{prefix}{:017x}", self.ids.next_u64() >> 4)
    }

    /// An EventBridge event id: random, in the UUID shape EventBridge uses.
    fn new_event_id(&mut self) -> String {
        let (a, b) = (self.ids.next_u64(), self.ids.next_u64());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }

    /// Apply every transition due by `now`, then emit the events of all state changes made since
    /// the last time.
    pub fn advance_all(&mut self, now: f64) {
        for c in &mut self.clusters {
            c.advance(now);
        }
        let settings = self.scenario.scenario.serverless;
        self.serverless.advance(now, &settings);
        self.publish_transitions();
    }

    /// Virtual now, with everything due by then applied (and its events emitted).
    pub fn settle(&mut self) -> f64 {
        let now = self.clock.now();
        self.advance_all(now);
        now
    }

    /// Each cluster's changes are in time order; across clusters they are merged (a stable sort
    /// keeps a cluster's order among equal times), so events come out in time order.
    fn publish_transitions(&mut self) {
        let mut batch = Vec::new();
        for (i, c) in self.clusters.iter_mut().enumerate() {
            batch.extend(c.take_transitions().into_iter().map(|t| (i, t)));
        }
        batch.sort_by(|(_, a), (_, b)| a.at().total_cmp(&b.at()));
        // (time, detail-type, event without its id), clusters' then EMR Serverless's, merged in time order.
        let mut out: Vec<(f64, &'static str, serde_json::Value)> = batch
            .into_iter()
            .map(|(i, transition)| {
                let event = events::envelope(&self.clusters[i], &transition, String::new());
                (transition.at(), events::detail_type(&transition), event)
            })
            .collect();
        out.extend(self.serverless.take_events().into_iter().map(|e| {
            let event = events::wrap(
                e.detail_type,
                crate::serverless::SOURCE,
                ACCOUNT_ID,
                &e.region,
                e.at,
                String::new(),
                e.detail,
            );
            (e.at, e.detail_type, event)
        }));
        out.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (at, detail_type, mut event) in out {
            event["id"] = serde_json::json!(self.new_event_id());
            let deliveries = self.faults.event_deliveries(detail_type, at);
            self.events.publish(at, event, &deliveries);
        }
    }

    /// The earliest virtual time after `now` at which something happens by itself: a transition of a
    /// cluster or a step, or a delayed event becoming deliverable. Apply what is due by `now` first.
    pub fn next_change_after(&self, now: f64) -> Option<f64> {
        self.clusters
            .iter()
            .filter_map(Cluster::next_transition_at)
            .chain(self.serverless.next_transition_at())
            .chain(self.events.next_delivery_after(now))
            .min_by(f64::total_cmp)
    }

    pub fn cluster_index(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// A cluster as a caller in `region` sees it: EMR is regional, so a cluster of another region is unknown.
    pub fn cluster_index_in(&self, id: &str, region: &str) -> Option<usize> {
        self.cluster_index(id)
            .filter(|&i| self.clusters[i].in_region(region))
    }

    pub fn insert_cluster(&mut self, cluster: Cluster) {
        self.index.insert(cluster.id.clone(), self.clusters.len());
        self.clusters.push(cluster);
    }

    /// Back to an empty emulator: clusters, counters, recorded requests, events and faults cleared,
    /// scenario re-armed, IAM kept.
    pub fn reset(&mut self) {
        self.clusters.clear();
        self.events = EventBus::default();
        self.index.clear();
        self.calls = CallStats::default();
        self.requests.clear();
        self.upcoming_cluster = None;
        self.serverless = Serverless::default();
        self.upcoming_app = None;
        self.faults = FaultState::new(Faults::default());
        self.scenario.rearm();
    }
}

pub type Shared = Arc<Mutex<State>>;

/// Lock the state; a panic elsewhere while holding the lock does not make it unusable.
pub fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
