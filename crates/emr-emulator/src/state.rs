//! Everything the emulator knows, behind one lock.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::clock::Clock;
use crate::faults::{CallStats, FaultState, Faults, SplitMix64};
use crate::model::Cluster;
use crate::scenario::{Durations, Scenario, ScenarioRuntime};

pub const ACCOUNT_ID: &str = "123456789012";
const ID_ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

pub struct State {
    pub clock: Clock,
    pub base: Durations,
    pub clusters: Vec<Cluster>,
    pub index: HashMap<String, usize>,
    pub scenario: ScenarioRuntime,
    pub faults: FaultState,
    pub calls: CallStats,
    pub log_requests: bool,
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
            clock,
            base,
            clusters: Vec::new(),
            index: HashMap::new(),
            scenario: ScenarioRuntime::new(scenario),
            faults: FaultState::new(faults),
            calls: CallStats::default(),
            log_requests,
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

    pub fn new_instance_id(&mut self) -> String {
        format!("i-{:017x}", self.ids.next_u64() >> 4)
    }

    pub fn advance_all(&mut self, now: f64) {
        for c in &mut self.clusters {
            c.advance(now);
        }
    }

    pub fn cluster_index(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    pub fn insert_cluster(&mut self, cluster: Cluster) {
        self.index.insert(cluster.id.clone(), self.clusters.len());
        self.clusters.push(cluster);
    }

    /// Back to an empty emulator: clusters, counters and faults cleared, scenario re-armed.
    pub fn reset(&mut self) {
        self.clusters.clear();
        self.index.clear();
        self.calls = CallStats::default();
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
