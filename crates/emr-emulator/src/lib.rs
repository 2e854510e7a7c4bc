//! A local, independent model of Amazon EMR's JSON API with a simulated cluster and step
//! lifecycle, for tests and benchmarks of EMR clients (the real `aws-sdk-emr` talks to it over HTTP),
//! and of EMR Serverless's REST-JSON API (applications and job runs, for `aws-sdk-emrserverless`).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let emr = emr_emulator::Emulator::builder().time_scale(3600.0).start().await?;
//! println!("point AWS_ENDPOINT_URL_EMR at {}", emr.endpoint_url());
//! # Ok(()) }
//! ```
//!
//! See the crate README for the scenario format, argument markers, faults, IAM enforcement
//! ([`iam`]) and the admin API.

mod admin;
mod authz;
mod clock;
mod ec2;
mod events;
mod faults;
pub mod iam;
mod instances;
pub mod logs;
mod model;
mod ops;
mod prices;
mod scenario;
mod server;
mod serverless;
mod state;
mod view;
pub mod wire;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use events::{Delivery, Fate, LoggedEvent, CLUSTER_STATE_CHANGE, STEP_STATUS_CHANGE};
pub use faults::{
    default_rate_limits, CallStats, EventFaults, Faults, OperationCalls, RateLimit,
    RecordedRequest, ALL_CALLS,
};
pub use iam::Iam;
pub use model::{ActionOnFailure, ClusterState, StepOutcome, StepState};
pub use ops::OPERATIONS;
pub use scenario::{
    ClusterRule, DurationOverrides, Durations, JobRunRule, NameMatch, Scenario, StartupFailure,
    StepRule, MARKER_DURATION, MARKER_MESSAGE, MARKER_OUTCOME, MARKER_REASON,
};
pub use serverless::ops::OPERATIONS as SERVERLESS_OPERATIONS;
pub use serverless::{
    AppState, JobOutcome, JobState, ServerlessSettings, APPLICATION_STATE_CHANGE,
    JOB_RUN_STATE_CHANGE,
};
pub use view::{ClusterSnapshot, InstanceSnapshot, StepSnapshot};

use crate::clock::Clock;
use crate::faults::FaultState;
use crate::scenario::ScenarioRuntime;
use crate::state::{lock, Shared, State};

/// Entry point: `Emulator::builder()...start().await`.
pub struct Emulator;

impl Emulator {
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }
}

/// Configures and starts an emulator.
#[derive(Clone, Debug)]
pub struct EmulatorBuilder {
    addr: SocketAddr,
    time_scale: f64,
    start_time: Option<f64>,
    durations: Durations,
    scenario: Scenario,
    faults: Faults,
    log_requests: bool,
    iam: Option<Iam>,
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        EmulatorBuilder {
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            time_scale: 1.0,
            start_time: None,
            durations: Durations::default(),
            scenario: Scenario::default(),
            faults: Faults::default(),
            log_requests: false,
            iam: None,
        }
    }
}

impl EmulatorBuilder {
    /// Virtual seconds per real second (3600: an hour passes in a second; 0: time only moves
    /// through [`EmulatorHandle::advance`]). Default 1.
    pub fn time_scale(mut self, scale: f64) -> Self {
        self.time_scale = scale;
        self
    }

    /// Virtual start time in epoch seconds (default: the real time at start).
    pub fn start_time(mut self, epoch_seconds: f64) -> Self {
        self.start_time = Some(epoch_seconds);
        self
    }

    /// Default durations (a scenario's `defaults` still override them).
    pub fn durations(mut self, durations: Durations) -> Self {
        self.durations = durations;
        self
    }

    pub fn scenario(mut self, scenario: Scenario) -> Self {
        self.scenario = scenario;
        self
    }

    pub fn faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// Address to bind (default 127.0.0.1 on a random port).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    pub fn port(mut self, port: u16) -> Self {
        self.addr.set_port(port);
        self
    }

    pub fn host(mut self, host: IpAddr) -> Self {
        self.addr.set_ip(host);
        self
    }

    /// Log every EMR call to stderr.
    pub fn log_requests(mut self, on: bool) -> Self {
        self.log_requests = on;
        self
    }

    /// Authorize every EMR call against these principals, as IAM would (default: no checks).
    pub fn iam(mut self, iam: Iam) -> Self {
        self.iam = Some(iam);
        self
    }

    /// Bind and serve in the background of the current tokio runtime.
    pub async fn start(self) -> std::io::Result<EmulatorHandle> {
        if !(self.time_scale >= 0.0 && self.time_scale.is_finite()) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "time scale must be >= 0",
            ));
        }
        self.faults
            .validate()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let listener = TcpListener::bind(self.addr).await?;
        let addr = listener.local_addr()?;
        let clock = Clock::new(self.time_scale, self.start_time);
        let mut state = State::new(
            clock,
            self.durations,
            self.scenario,
            self.faults,
            self.log_requests,
        );
        state.iam = self.iam.map(Arc::new);
        let shared: Shared = Arc::new(Mutex::new(state));
        let task = tokio::spawn(server::serve(listener, shared.clone()));
        Ok(EmulatorHandle { addr, shared, task })
    }
}

/// A running emulator. Dropping it stops the server and closes its connections.
pub struct EmulatorHandle {
    addr: SocketAddr,
    shared: Shared,
    task: JoinHandle<()>,
}

impl EmulatorHandle {
    /// `http://127.0.0.1:PORT`, for `endpoint_url` or `AWS_ENDPOINT_URL_EMR`.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Per-operation call counters (admin requests excluded).
    pub fn calls(&self) -> CallStats {
        lock(&self.shared).calls.clone()
    }

    pub fn reset_calls(&self) {
        lock(&self.shared).calls = CallStats::default();
    }

    /// Every request the EMR endpoint received since start or the last reset, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared).requests.clone()
    }

    pub fn clear_requests(&self) {
        lock(&self.shared).requests.clear();
    }

    /// Turn IAM enforcement on with these principals (`Some`) or off (`None`).
    pub fn set_iam(&self, iam: Option<Iam>) {
        lock(&self.shared).iam = iam.map(Arc::new);
    }

    /// The principals in force, if IAM is enforced.
    pub fn iam(&self) -> Option<Iam> {
        lock(&self.shared).iam.as_deref().cloned()
    }

    /// Replace the faults (token buckets, generator and lost-response budget start afresh).
    pub fn set_faults(&self, faults: Faults) -> Result<(), String> {
        faults.validate()?;
        lock(&self.shared).faults = FaultState::new(faults);
        Ok(())
    }

    /// The faults in force, with the lost responses still to come.
    pub fn faults(&self) -> Faults {
        lock(&self.shared).faults.current()
    }

    /// Replace the scenario (applies to clusters and steps created from now on).
    pub fn set_scenario(&self, scenario: Scenario) {
        lock(&self.shared).scenario = ScenarioRuntime::new(scenario);
    }

    pub fn set_time_scale(&self, scale: f64) {
        let mut st = lock(&self.shared);
        let now = st.clock.now();
        st.advance_all(now);
        st.clock.set_scale(scale.max(0.0));
    }

    pub fn set_durations(&self, durations: Durations) {
        lock(&self.shared).base = durations;
    }

    /// Move virtual time forward and apply everything that falls due.
    pub fn advance(&self, seconds: f64) {
        let mut st = lock(&self.shared);
        st.clock.advance(seconds);
        let now = st.clock.now();
        st.advance_all(now);
    }

    /// Move virtual time forward to exactly `epoch_seconds` (no move if it is already past) and apply
    /// everything that falls due: advancing to [`EmulatorHandle::next_change`] makes that change.
    pub fn advance_to(&self, epoch_seconds: f64) {
        let mut st = lock(&self.shared);
        st.clock.advance_to(epoch_seconds);
        st.settle();
    }

    /// The earliest virtual time after now at which something happens by itself (a cluster or step
    /// transition, a delayed event becoming deliverable); `None` when nothing is scheduled.
    pub fn next_change(&self) -> Option<f64> {
        let mut st = lock(&self.shared);
        let now = st.settle();
        st.next_change_after(now)
    }

    /// The EventBridge events deliverable now, in delivery order; each is returned once.
    pub fn take_events(&self) -> Vec<Delivery> {
        let mut st = lock(&self.shared);
        let now = st.settle();
        st.events.take(now)
    }

    /// The events delayed past now, in the order they will be deliverable (not removed).
    pub fn pending_events(&self) -> Vec<Delivery> {
        let mut st = lock(&self.shared);
        let now = st.settle();
        st.events.not_yet_due(now)
    }

    /// Every event emitted since start or the last reset, with its fate.
    pub fn event_log(&self) -> Vec<LoggedEvent> {
        let mut st = lock(&self.shared);
        st.settle();
        st.events.log().to_vec()
    }

    /// Virtual now, epoch seconds.
    pub fn now(&self) -> f64 {
        lock(&self.shared).clock.now()
    }

    /// All clusters (oldest first) as of now.
    pub fn clusters(&self) -> Vec<ClusterSnapshot> {
        let mut st = lock(&self.shared);
        let now = st.clock.now();
        st.advance_all(now);
        st.clusters.iter().map(view::snapshot).collect()
    }

    pub fn cluster(&self, id: &str) -> Option<ClusterSnapshot> {
        self.clusters().into_iter().find(|c| c.id == id)
    }

    /// The admin state dump (`GET /_emulator/state`).
    pub fn state_json(&self) -> serde_json::Value {
        admin::state_dump(&mut lock(&self.shared))
    }

    /// Clear clusters, counters, recorded requests, events and faults; keep IAM and (re-armed) the
    /// scenario.
    pub fn reset(&self) {
        lock(&self.shared).reset();
    }

    /// Stop serving now (also done on drop).
    pub fn shutdown(&self) {
        self.task.abort();
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}
