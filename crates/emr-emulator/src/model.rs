//! The simulated cluster and step lifecycle.
//!
//! A cluster is a small discrete-event simulation: every scheduled transition (end of STARTING,
//! end of a step, idle timeout, ...) has an exact virtual time, and [`Cluster::advance`] applies all
//! transitions due up to "now" in time order. Nothing depends on when a poller happens to look.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::instances::Instances;
use crate::wire::ErrorDetail;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ClusterState {
    Starting,
    Bootstrapping,
    Running,
    Waiting,
    Terminating,
    Terminated,
    TerminatedWithErrors,
}

impl ClusterState {
    pub const ALL: [ClusterState; 7] = [
        Self::Starting,
        Self::Bootstrapping,
        Self::Running,
        Self::Waiting,
        Self::Terminating,
        Self::Terminated,
        Self::TerminatedWithErrors,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "STARTING",
            Self::Bootstrapping => "BOOTSTRAPPING",
            Self::Running => "RUNNING",
            Self::Waiting => "WAITING",
            Self::Terminating => "TERMINATING",
            Self::Terminated => "TERMINATED",
            Self::TerminatedWithErrors => "TERMINATED_WITH_ERRORS",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Terminated | Self::TerminatedWithErrors)
    }

    /// States in which steps may be added (and the cluster may be terminated).
    pub fn accepts_steps(self) -> bool {
        matches!(
            self,
            Self::Starting | Self::Bootstrapping | Self::Running | Self::Waiting
        )
    }
}

impl fmt::Display for ClusterState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StepState {
    Pending,
    CancelPending,
    Running,
    Completed,
    Cancelled,
    Failed,
    Interrupted,
}

impl StepState {
    pub const ALL: [StepState; 7] = [
        Self::Pending,
        Self::CancelPending,
        Self::Running,
        Self::Completed,
        Self::Cancelled,
        Self::Failed,
        Self::Interrupted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::CancelPending => "CANCEL_PENDING",
            Self::Running => "RUNNING",
            Self::Completed => "COMPLETED",
            Self::Cancelled => "CANCELLED",
            Self::Failed => "FAILED",
            Self::Interrupted => "INTERRUPTED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Completed | Self::Cancelled | Self::Failed | Self::Interrupted
        )
    }
}

impl fmt::Display for StepState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ActionOnFailure {
    TerminateJobFlow,
    TerminateCluster,
    CancelAndWait,
    Continue,
}

impl ActionOnFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TerminateJobFlow => "TERMINATE_JOB_FLOW",
            Self::TerminateCluster => "TERMINATE_CLUSTER",
            Self::CancelAndWait => "CANCEL_AND_WAIT",
            Self::Continue => "CONTINUE",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::TerminateJobFlow,
            Self::TerminateCluster,
            Self::CancelAndWait,
            Self::Continue,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
    }
}

/// How a step ends when it is left to run to its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StepOutcome {
    Completed,
    Failed,
}

/// A cluster's scripted future, fixed at RunJobFlow.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterPlan {
    pub starting_seconds: f64,
    pub bootstrap_seconds: f64,
    pub terminating_seconds: f64,
    pub cancel_seconds: f64,
    /// Fails at the end of STARTING with this reason code and message.
    pub startup_failure: Option<(String, String)>,
    /// Fails at the end of BOOTSTRAPPING: 1-based index and name of the failing action.
    pub bootstrap_failure: Option<(usize, String)>,
    /// Instance failure this many seconds after the cluster became ready.
    pub instance_failure_after: Option<f64>,
    /// The core and task spot instances are interrupted this many seconds after the cluster became ready.
    pub spot_interruption_after: Option<f64>,
}

/// A step's scripted future, fixed when it is added.
#[derive(Clone, Debug, PartialEq)]
pub struct StepPlan {
    pub outcome: StepOutcome,
    pub duration_seconds: f64,
    pub failure_reason: Option<String>,
    pub failure_message: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Step {
    pub seq: u64,
    pub id: String,
    pub name: String,
    pub jar: Option<String>,
    pub main_class: Option<String>,
    pub args: Vec<String>,
    pub properties: BTreeMap<String, String>,
    pub action_on_failure: ActionOnFailure,
    pub state: StepState,
    pub created: f64,
    pub started: Option<f64>,
    pub ended: Option<f64>,
    pub cancel_at: Option<f64>,
    pub plan: StepPlan,
    pub failure: Option<(Option<String>, Option<String>, Option<String>)>,
}

impl Step {
    fn is_active(&self) -> bool {
        matches!(
            self.state,
            StepState::Pending | StepState::CancelPending | StepState::Running
        )
    }

    /// Occupies an execution slot (RUNNING, or a running step waiting for its cancellation).
    fn holds_slot(&self) -> bool {
        self.state == StepState::Running
            || (self.state == StepState::CancelPending && self.started.is_some())
    }

    fn end(&mut self, t: f64, state: StepState) {
        self.state = state;
        self.ended = Some(t);
        self.cancel_at = None;
    }
}

/// Static settings of a cluster, from RunJobFlow (some are changed by later calls).
#[derive(Clone, Debug)]
pub struct ClusterSpec {
    pub log_uri: Option<String>,
    pub release_label: Option<String>,
    pub ami_version: Option<String>,
    pub applications: Vec<crate::wire::Application>,
    pub configurations: Option<serde_json::Value>,
    pub service_role: Option<String>,
    pub visible_to_all_users: bool,
    pub keep_alive: bool,
    pub termination_protected: bool,
    pub step_concurrency_level: i64,
    pub idle_timeout: Option<f64>,
    pub instance_collection_type: &'static str,
    pub tags: Vec<(String, String)>,
    pub master_instance_id: String,
}

/// A state change the model made, as it made it: the raw material of the EventBridge events
/// (see `events`). Taken from the cluster with [`Cluster::take_transitions`].
#[derive(Clone, Debug, PartialEq)]
pub enum Transition {
    /// The cluster's state changed; `code` and `message` are its state change reason from then on.
    Cluster {
        at: f64,
        from: Option<ClusterState>,
        state: ClusterState,
        code: Option<String>,
        message: Option<String>,
    },
    /// `steps[step]` changed state (`from` is `None` when it was added).
    Step {
        at: f64,
        step: usize,
        from: Option<StepState>,
        state: StepState,
    },
}

impl Transition {
    pub fn at(&self) -> f64 {
        match self {
            Transition::Cluster { at, .. } | Transition::Step { at, .. } => *at,
        }
    }
}

/// The states an observer could see at one instant, to tell what an action changed.
struct Observed {
    cluster: ClusterState,
    steps: Vec<StepState>,
}

#[derive(Clone, Debug)]
struct PendingTermination {
    final_state: ClusterState,
}

#[derive(Clone, Debug)]
pub struct Cluster {
    pub seq: u64,
    pub id: String,
    pub arn: String,
    pub name: String,
    pub spec: ClusterSpec,
    pub plan: ClusterPlan,
    pub state: ClusterState,
    pub reason_code: Option<String>,
    pub reason_message: Option<String>,
    pub error_details: Vec<ErrorDetail>,
    pub created: f64,
    pub ready: Option<f64>,
    pub ended: Option<f64>,
    pub state_since: f64,
    pub steps: Vec<Step>,
    /// Its instance groups or fleets and their instances, whose timelines follow the cluster's.
    pub instances: Instances,
    termination: Option<PendingTermination>,
    /// State changes not yet taken by [`Cluster::take_transitions`], oldest first.
    transitions: Vec<Transition>,
}

#[derive(Clone, Copy, Debug)]
enum Event {
    StartingDone,
    BootstrapDone,
    StepDone(usize),
    CancelDone(usize),
    InstanceFailure,
    SpotInterruption,
    IdleTimeout,
    TerminatingDone,
}

pub const REASON_ALL_STEPS_COMPLETED: &str = "ALL_STEPS_COMPLETED";
pub const REASON_STEP_FAILURE: &str = "STEP_FAILURE";
pub const REASON_USER_REQUEST: &str = "USER_REQUEST";
pub const REASON_BOOTSTRAP_FAILURE: &str = "BOOTSTRAP_FAILURE";
pub const REASON_INSTANCE_FAILURE: &str = "INSTANCE_FAILURE";

impl Cluster {
    /// Whether the cluster lives in `region` (from its ARN).
    pub fn in_region(&self, region: &str) -> bool {
        self.arn.split(':').nth(3) == Some(region)
    }

    pub fn new(
        seq: u64,
        id: String,
        arn: String,
        name: String,
        spec: ClusterSpec,
        plan: ClusterPlan,
        now: f64,
    ) -> Self {
        Cluster {
            seq,
            id,
            arn,
            name,
            spec,
            plan,
            state: ClusterState::Starting,
            reason_code: None,
            reason_message: None,
            error_details: Vec::new(),
            created: now,
            ready: None,
            ended: None,
            state_since: now,
            steps: Vec::new(),
            instances: Instances::default(),
            termination: None,
            transitions: vec![Transition::Cluster {
                at: now,
                from: None,
                state: ClusterState::Starting,
                code: None,
                message: None,
            }],
        }
    }

    /// The state changes made since the last call, in the order they were made (hence in time order).
    pub fn take_transitions(&mut self) -> Vec<Transition> {
        std::mem::take(&mut self.transitions)
    }

    /// The time of the next transition the cluster will make by itself, if any.
    pub fn next_transition_at(&self) -> Option<f64> {
        self.next_event().map(|(t, _)| t)
    }

    fn observe(&self) -> Observed {
        Observed {
            cluster: self.state,
            steps: self.steps.iter().map(|s| s.state).collect(),
        }
    }

    /// Run `action` at `t` and record what it changed, as an observer polling just before and just
    /// after would see it: a state passed through within one action (WAITING on the way from
    /// BOOTSTRAPPING to RUNNING) was never visible, so it is not a change. Order among changes of
    /// one instant: steps added, steps ending, the cluster (ending steps cause its change), other
    /// step changes (a cluster RUNNING comes before its step does).
    fn observed<R>(&mut self, t: f64, action: impl FnOnce(&mut Self) -> R) -> R {
        let before = self.observe();
        let out = action(self);
        let mut added = Vec::new();
        let mut ending = Vec::new();
        let mut starting = Vec::new();
        for (i, s) in self.steps.iter().enumerate() {
            let was = before.steps.get(i).copied();
            if was.is_none() {
                // Every step is added PENDING, even one that starts at once.
                added.push((i, None, StepState::Pending));
            }
            let from = was.unwrap_or(StepState::Pending);
            if from != s.state {
                let list = if s.state.is_terminal() {
                    &mut ending
                } else {
                    &mut starting
                };
                list.push((i, Some(from), s.state));
            }
        }
        let step = |(step, from, state)| Transition::Step {
            at: t,
            step,
            from,
            state,
        };
        self.transitions.extend(added.into_iter().map(step));
        self.transitions.extend(ending.into_iter().map(step));
        if before.cluster != self.state {
            self.transitions.push(Transition::Cluster {
                at: t,
                from: Some(before.cluster),
                state: self.state,
                code: self.reason_code.clone(),
                message: self.reason_message.clone(),
            });
        }
        self.transitions.extend(starting.into_iter().map(step));
        out
    }

    pub fn active_steps(&self) -> usize {
        self.steps.iter().filter(|s| s.is_active()).count()
    }

    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// Queue steps (validated by the caller), all at once as AddJobFlowSteps does, and start what
    /// free slots allow.
    pub fn push_steps(&mut self, steps: Vec<Step>, now: f64) {
        self.observed(now, |c| {
            c.steps.extend(steps);
            c.schedule(now);
        });
    }

    /// Apply every scheduled transition due at or before `now`, in time order.
    pub fn advance(&mut self, now: f64) {
        while let Some((t, event)) = self.next_event() {
            if t > now {
                break;
            }
            self.observed(t, |c| c.apply(t, event));
        }
    }

    fn next_event(&self) -> Option<(f64, Event)> {
        let mut best: Option<(f64, Event)> = None;
        let mut consider = |t: f64, e: Event| {
            if best.is_none_or(|(bt, _)| t < bt) {
                best = Some((t, e));
            }
        };
        let since = self.state_since;
        match self.state {
            ClusterState::Terminated | ClusterState::TerminatedWithErrors => return None,
            ClusterState::Starting => {
                consider(since + self.plan.starting_seconds, Event::StartingDone)
            }
            ClusterState::Bootstrapping => {
                consider(since + self.plan.bootstrap_seconds, Event::BootstrapDone)
            }
            ClusterState::Terminating => consider(
                since + self.plan.terminating_seconds,
                Event::TerminatingDone,
            ),
            ClusterState::Running | ClusterState::Waiting => {
                for (i, s) in self.steps.iter().enumerate() {
                    if let (StepState::Running, Some(started)) = (s.state, s.started) {
                        consider(started + s.plan.duration_seconds, Event::StepDone(i));
                    }
                }
                if let (Some(after), Some(ready)) = (self.plan.instance_failure_after, self.ready) {
                    consider(ready + after, Event::InstanceFailure);
                }
                if let (Some(after), Some(ready)) = (self.plan.spot_interruption_after, self.ready)
                {
                    if self.instances.has_interruptible_spot() {
                        consider(ready + after, Event::SpotInterruption);
                    }
                }
                if let Some(idle) = self.spec.idle_timeout {
                    if self.state == ClusterState::Waiting
                        && !self.spec.termination_protected
                        && self.active_steps() == 0
                    {
                        consider(since + idle, Event::IdleTimeout);
                    }
                }
            }
        }
        if self.state != ClusterState::Terminating {
            for (i, s) in self.steps.iter().enumerate() {
                if let (StepState::CancelPending, Some(at)) = (s.state, s.cancel_at) {
                    consider(at, Event::CancelDone(i));
                }
            }
        }
        best
    }

    fn apply(&mut self, t: f64, event: Event) {
        match event {
            Event::StartingDone => match self.plan.startup_failure.clone() {
                Some((code, message)) => {
                    self.begin_termination(
                        t,
                        ClusterState::TerminatedWithErrors,
                        &code,
                        message,
                        Vec::new(),
                    );
                }
                None => self.set_state(
                    t,
                    ClusterState::Bootstrapping,
                    None,
                    Some("Running bootstrap actions"),
                ),
            },
            Event::BootstrapDone => match self.plan.bootstrap_failure.clone() {
                Some((index, name)) => self.fail_bootstrap(t, index, &name),
                None => {
                    self.ready = Some(t);
                    self.instances.on_ready(t);
                    self.set_state(
                        t,
                        ClusterState::Waiting,
                        None,
                        Some("Cluster ready to run steps."),
                    );
                    self.schedule(t);
                }
            },
            Event::StepDone(i) => self.finish_step(t, i),
            Event::CancelDone(i) => {
                self.steps[i].end(t, StepState::Cancelled);
                self.schedule(t);
            }
            Event::InstanceFailure => {
                let message = format!(
                    "Amazon EC2 instance {} (master) failed and the cluster was shut down.",
                    self.spec.master_instance_id
                );
                self.begin_termination(
                    t,
                    ClusterState::TerminatedWithErrors,
                    REASON_INSTANCE_FAILURE,
                    message,
                    Vec::new(),
                );
            }
            Event::SpotInterruption => self.instances.interrupt_spot(t),
            Event::IdleTimeout => {
                let idle = self.spec.idle_timeout.unwrap_or_default();
                let message = format!("Cluster was terminated due to idle timeout ({idle:.0} seconds without activity).");
                self.begin_termination(
                    t,
                    ClusterState::Terminated,
                    REASON_ALL_STEPS_COMPLETED,
                    message,
                    Vec::new(),
                );
            }
            Event::TerminatingDone => {
                let final_state = self
                    .termination
                    .take()
                    .map_or(ClusterState::Terminated, |p| p.final_state);
                self.state = final_state;
                self.state_since = t;
                self.ended = Some(t);
                self.instances.on_cluster_end(t);
            }
        }
    }

    fn fail_bootstrap(&mut self, t: f64, index: usize, name: &str) {
        let instance = self.spec.master_instance_id.clone();
        let mut message = format!("On the master instance ({instance}), bootstrap action {index} ({name}) returned a non-zero return code");
        if let Some(log_uri) = &self.spec.log_uri {
            let log = format!(
                "{}/{}/node/{instance}/bootstrap-actions/{index}/stderr.gz",
                log_uri.trim_end_matches('/'),
                self.id
            );
            message.push_str(&format!(". See {log}"));
        }
        let data = BTreeMap::from([
            ("primary-instance-id".to_string(), instance),
            ("bootstrap-action".to_string(), index.to_string()),
            ("return-code".to_string(), "1".to_string()),
        ]);
        let detail = ErrorDetail {
            error_code: "BOOTSTRAP_FAILURE_PRIMARY_WITH_NON_ZERO_CODE".to_string(),
            error_data: vec![data],
            error_message: message.clone(),
        };
        self.begin_termination(
            t,
            ClusterState::TerminatedWithErrors,
            REASON_BOOTSTRAP_FAILURE,
            message,
            vec![detail],
        );
    }

    fn finish_step(&mut self, t: f64, i: usize) {
        let step = &mut self.steps[i];
        if step.plan.outcome == StepOutcome::Completed {
            step.end(t, StepState::Completed);
            self.schedule(t);
            return;
        }
        step.end(t, StepState::Failed);
        let reason = Some(
            step.plan
                .failure_reason
                .clone()
                .unwrap_or_else(|| "Unknown Error".to_string()),
        );
        let message = step.plan.failure_message.clone();
        let log_file = self.spec.log_uri.as_ref().map(|uri| {
            format!(
                "{}/{}/steps/{}/stderr.gz",
                uri.trim_end_matches('/'),
                self.id,
                step.id
            )
        });
        step.failure = Some((reason, message, log_file));
        match step.action_on_failure {
            ActionOnFailure::Continue => {}
            ActionOnFailure::CancelAndWait => self.cancel_pending(t),
            ActionOnFailure::TerminateCluster | ActionOnFailure::TerminateJobFlow => {
                if self.spec.termination_protected {
                    // A protected cluster outlives step failures: it behaves like CANCEL_AND_WAIT.
                    self.cancel_pending(t);
                } else {
                    let message = "Shut down as step failed".to_string();
                    self.begin_termination(
                        t,
                        ClusterState::TerminatedWithErrors,
                        REASON_STEP_FAILURE,
                        message,
                        Vec::new(),
                    );
                    return;
                }
            }
        }
        self.schedule(t);
    }

    fn cancel_pending(&mut self, t: f64) {
        for s in &mut self.steps {
            if s.state == StepState::Pending
                || (s.state == StepState::CancelPending && s.started.is_none())
            {
                s.end(t, StepState::Cancelled);
            }
        }
    }

    /// Start queued steps while slots are free and settle the cluster's state (RUNNING, WAITING, or
    /// the end of a transient cluster).
    fn schedule(&mut self, t: f64) {
        if !matches!(self.state, ClusterState::Running | ClusterState::Waiting) {
            return;
        }
        let level = self.spec.step_concurrency_level.max(1) as usize;
        let mut busy = self.steps.iter().filter(|s| s.holds_slot()).count();
        for s in &mut self.steps {
            if busy >= level {
                break;
            }
            if s.state == StepState::Pending {
                s.state = StepState::Running;
                s.started = Some(t);
                busy += 1;
            }
        }
        if busy > 0 {
            self.set_state(t, ClusterState::Running, None, Some("Running step"));
        } else if self.active_steps() == 0 && !self.spec.keep_alive {
            let message = "Steps completed".to_string();
            self.begin_termination(
                t,
                ClusterState::Terminated,
                REASON_ALL_STEPS_COMPLETED,
                message,
                Vec::new(),
            );
        } else {
            self.set_state(
                t,
                ClusterState::Waiting,
                None,
                Some("Cluster ready to run steps."),
            );
        }
    }

    fn set_state(
        &mut self,
        t: f64,
        state: ClusterState,
        code: Option<&str>,
        message: Option<&str>,
    ) {
        if self.state != state {
            self.state_since = t;
        }
        self.state = state;
        self.reason_code = code.map(str::to_string);
        self.reason_message = message.map(str::to_string);
    }

    /// TerminateJobFlows: returns false when the cluster is protected or already shutting down.
    pub fn user_terminate(&mut self, now: f64) -> bool {
        self.observed(now, |c| {
            if !c.state.accepts_steps() || c.spec.termination_protected {
                return false;
            }
            let message = "Terminated by user request".to_string();
            c.begin_termination(
                now,
                ClusterState::Terminated,
                REASON_USER_REQUEST,
                message,
                Vec::new(),
            );
            true
        })
    }

    fn begin_termination(
        &mut self,
        t: f64,
        final_state: ClusterState,
        code: &str,
        message: String,
        details: Vec<ErrorDetail>,
    ) {
        for s in &mut self.steps {
            match s.state {
                StepState::Pending => s.end(t, StepState::Cancelled),
                StepState::CancelPending => s.end(t, StepState::Cancelled),
                StepState::Running => s.end(t, StepState::Interrupted),
                _ => {}
            }
        }
        self.set_state(t, ClusterState::Terminating, Some(code), Some(&message));
        self.error_details = details;
        self.termination = Some(PendingTermination { final_state });
    }

    /// CancelSteps for one step: `Ok(())` when submitted, `Err(reason)` otherwise.
    pub fn cancel_step(&mut self, step_id: &str, now: f64) -> Result<(), String> {
        self.observed(now, |c| c.request_cancel(step_id, now))
    }

    fn request_cancel(&mut self, step_id: &str, now: f64) -> Result<(), String> {
        let cancel_at = now + self.plan.cancel_seconds;
        // "When you use Amazon EMR releases 5.28.0 and later, you can cancel steps that are in a PENDING or RUNNING
        // state. In earlier versions of Amazon EMR, you can only cancel steps that are in a PENDING state."
        let running_cancellable = cancels_running_steps(self.spec.release_label.as_deref());
        let release = self.spec.release_label.clone();
        let Some(step) = self.steps.iter_mut().find(|s| s.id == step_id) else {
            return Err(format!("Step id '{step_id}' is not valid."));
        };
        match step.state {
            StepState::Running if !running_cancellable => Err(format!(
                "Step {step_id} is RUNNING: on {} only PENDING steps can be cancelled (running steps from emr-5.28.0).",
                release.as_deref().unwrap_or("an AMI-version cluster")
            )),
            StepState::Pending | StepState::Running => {
                step.state = StepState::CancelPending;
                step.cancel_at = Some(cancel_at);
                Ok(())
            }
            StepState::CancelPending => Ok(()),
            state => Err(format!(
                "Step {step_id} is in state {state} and cannot be cancelled."
            )),
        }
    }
}

/// Whether CancelSteps may cancel a RUNNING step on a cluster of this release label: emr-5.28.0 and later
/// (emr-6.x and 7.x included). A cluster launched with an AMI version has no release label: an old one.
fn cancels_running_steps(release_label: Option<&str>) -> bool {
    let Some(version) = release_label.and_then(|l| l.strip_prefix("emr-")) else {
        return false;
    };
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (5, 28)
}
