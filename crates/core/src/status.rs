//! What an EMR cluster's and its steps' states mean for a run: the phase, success or the failure to report, whether
//! the steps need listing on this poll, and when to poll next. Pure; the Lambdas feed it what EMR said.
//!
//! EMR's state enums are open-ended: an unknown cluster state is treated as "still going", an unknown step state as
//! "not finished" — never as success.

use serde::{Deserialize, Serialize};

use crate::error_names::ErrorName;

/// What the run is waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The cluster's embedded steps are the run; the cluster ends itself.
    Transient,
    /// Ready once the cluster is RUNNING or WAITING.
    Up,
    /// The given steps on a cluster that lives on.
    Run,
    /// Done once the cluster is terminated.
    Down,
}

impl Mode {
    /// The command (and state machine) that waits this way.
    pub fn command(self) -> &'static str {
        match self {
            Mode::Transient => "run-transient",
            Mode::Up => "up",
            Mode::Run => "run",
            Mode::Down => "down",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Starting,
    Ready,
    Running,
    Succeeded,
    Failed,
    Terminated,
}

impl Phase {
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Ready | Self::Succeeded | Self::Failed | Self::Terminated
        )
    }
}

/// The failure names a run ends with (the state machines' `Error`): the names of [`Origin::Run`](crate::error_names::Origin::Run), spelled as the
/// one list spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "ErrorName", try_from = "ErrorName")]
pub enum RunFailure {
    BootstrapFailure,
    ClusterFailed,
    StepFailed,
    /// Judged by check-status from the run's cost, not from EMR's states (`cost::over_budget`).
    BudgetExceeded,
}

impl RunFailure {
    pub const ALL: [Self; 4] = [
        Self::BootstrapFailure,
        Self::ClusterFailed,
        Self::StepFailed,
        Self::BudgetExceeded,
    ];
}

impl From<RunFailure> for ErrorName {
    fn from(f: RunFailure) -> Self {
        match f {
            RunFailure::BootstrapFailure => Self::BootstrapFailure,
            RunFailure::ClusterFailed => Self::ClusterFailed,
            RunFailure::StepFailed => Self::StepFailed,
            RunFailure::BudgetExceeded => Self::BudgetExceeded,
        }
    }
}

impl TryFrom<ErrorName> for RunFailure {
    type Error = String;

    fn try_from(name: ErrorName) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|f| ErrorName::from(*f) == name)
            .ok_or_else(|| format!("{name} is not a run's failure on EMR"))
    }
}

pub const CLUSTER_ACTIVE: [&str; 4] = ["STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING"];
pub const CLUSTER_ENDING: [&str; 3] = ["TERMINATING", "TERMINATED", "TERMINATED_WITH_ERRORS"];
/// The states after which nothing about a cluster changes: all its instances have ended.
pub const CLUSTER_ENDED: [&str; 2] = ["TERMINATED", "TERMINATED_WITH_ERRORS"];
pub const STEP_TERMINAL: [&str; 4] = ["COMPLETED", "CANCELLED", "FAILED", "INTERRUPTED"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reason {
    pub code: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepFailure {
    pub reason: Option<String>,
    pub message: Option<String>,
    pub log_file: Option<String>,
}

/// One step as the run reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepOutcome {
    pub name: String,
    pub id: String,
    pub state: String,
    pub start: Option<String>,
    pub end: Option<String>,
    pub duration_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<StepFailure>,
}

impl StepOutcome {
    fn is_terminal(&self) -> bool {
        STEP_TERMINAL.contains(&self.state.as_str())
    }
}

/// The verdict of one poll.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub phase: Phase,
    pub failure: Option<RunFailure>,
}

fn verdict(phase: Phase) -> Verdict {
    Verdict {
        phase,
        failure: None,
    }
}

fn failed(f: RunFailure) -> Verdict {
    Verdict {
        phase: Phase::Failed,
        failure: Some(f),
    }
}

/// Whether this poll must list the steps: only at the end of a run, when the cluster's state changed (a change to
/// report), or as a periodic check in `run` mode (another workload can keep a shared cluster RUNNING). A transient
/// run ends when its cluster has ended (TERMINATED, or TERMINATED_WITH_ERRORS), not while it terminates.
pub fn needs_steps(
    mode: Mode,
    state: &str,
    previous_state: Option<&str>,
    polls_since_steps: u32,
) -> bool {
    let changed = previous_state != Some(state);
    match mode {
        Mode::Up | Mode::Down => false,
        Mode::Transient => CLUSTER_ENDED.contains(&state) || (changed && state == "RUNNING"),
        Mode::Run => state != "RUNNING" || changed || polls_since_steps >= 4,
    }
}

/// What the cluster state, its reason code and (when listed) the run's steps mean.
/// `steps` is `None` when they were not listed on this poll.
pub fn judge(
    mode: Mode,
    state: &str,
    reason_code: Option<&str>,
    steps: Option<&[StepOutcome]>,
) -> Verdict {
    let active = CLUSTER_ACTIVE.contains(&state);
    let ending = CLUSTER_ENDING.contains(&state);
    let bootstrap_failed = reason_code == Some("BOOTSTRAP_FAILURE");
    match mode {
        Mode::Down => {
            if state == "TERMINATED" || state == "TERMINATED_WITH_ERRORS" {
                verdict(Phase::Terminated)
            } else {
                verdict(Phase::Running)
            }
        }
        Mode::Up => match state {
            "STARTING" | "BOOTSTRAPPING" => verdict(Phase::Starting),
            "RUNNING" | "WAITING" => verdict(Phase::Ready),
            _ if ending && bootstrap_failed => failed(RunFailure::BootstrapFailure),
            _ if ending => failed(RunFailure::ClusterFailed),
            _ => verdict(Phase::Starting),
        },
        Mode::Transient => {
            if ending && bootstrap_failed {
                return failed(RunFailure::BootstrapFailure);
            }
            if state == "STARTING" || state == "BOOTSTRAPPING" {
                return verdict(Phase::Starting);
            }
            match steps {
                // A transient run ends when its cluster has ended, as the original's run-transient does: every
                // instance has ended then, so the run's cost is final. Steps listed while it terminates (a
                // hand-written event) still wait for the end, unless a step already failed.
                Some(steps) if ending => match judge_steps(steps, state, reason_code, true) {
                    v if v.phase == Phase::Succeeded && state == "TERMINATING" => {
                        verdict(Phase::Running)
                    }
                    v => v,
                },
                _ if ending && state != "TERMINATING" => failed(RunFailure::ClusterFailed),
                _ => verdict(Phase::Running),
            }
        }
        Mode::Run => {
            if let Some(steps) = steps {
                let v = judge_steps(steps, state, reason_code, ending);
                if v.phase != Phase::Running || active {
                    return v;
                }
            }
            if ending && state != "TERMINATING" {
                return failed(RunFailure::ClusterFailed);
            }
            verdict(Phase::Running)
        }
    }
}

/// All terminal: success only when every step COMPLETED. Otherwise still running, unless the cluster is gone.
fn judge_steps(
    steps: &[StepOutcome],
    state: &str,
    reason_code: Option<&str>,
    cluster_ending: bool,
) -> Verdict {
    let all_terminal = steps.iter().all(StepOutcome::is_terminal);
    if !all_terminal {
        if cluster_ending && state != "TERMINATING" {
            return failed(RunFailure::ClusterFailed);
        }
        return verdict(Phase::Running);
    }
    if !steps.is_empty() && steps.iter().all(|s| s.state == "COMPLETED") {
        return verdict(Phase::Succeeded);
    }
    if steps.iter().any(|s| s.state == "FAILED") {
        return failed(RunFailure::StepFailed);
    }
    match reason_code {
        Some(
            "INSTANCE_FAILURE"
            | "INTERNAL_ERROR"
            | "VALIDATION_ERROR"
            | "INSTANCE_FLEET_TIMEOUT"
            | "USER_REQUEST",
        ) => failed(RunFailure::ClusterFailed),
        _ if steps.is_empty() => failed(RunFailure::ClusterFailed),
        _ => failed(RunFailure::StepFailed),
    }
}

/// The polling delay while a cluster starts (within the run's `minPollSeconds..maxPollSeconds`).
pub const STARTING_POLL_SECONDS: u32 = 30;
/// How long a run is young: its polls are at most [`YOUNG_MAX_POLL_SECONDS`] apart (or `maxPollSeconds` if smaller).
pub const YOUNG_RUN_SECONDS: i64 = 6 * 3600;
pub const YOUNG_MAX_POLL_SECONDS: u32 = 300;
/// The most a poll delay is jittered, as a fraction of it (±).
pub const POLL_JITTER: f64 = 0.1;

/// The next polling delay: short while a cluster starts, then growing with the run's age (an eighth of the time
/// elapsed since launch), bounded, with up to ±10 % jitter ([`POLL_JITTER`]) so many runs do not poll in step.
/// `jitter` is in [-1, 1]. See statemachine/README.md for the history-budget arithmetic.
pub fn next_poll_seconds(
    phase: Phase,
    elapsed_seconds: i64,
    min: u32,
    max: u32,
    jitter: f64,
) -> u32 {
    let min = min.max(1);
    let max = max.max(min);
    let base = match phase {
        Phase::Starting => f64::from(STARTING_POLL_SECONDS),
        _ => elapsed_seconds.max(0) as f64 / 8.0,
    };
    // The first six hours poll at most every 5 minutes; past them the cap rises to `max` (900 s by default) so a
    // 14-day run stays far inside the execution-history limit. `max` is the user's bound at every age.
    let cap = if elapsed_seconds > YOUNG_RUN_SECONDS {
        max
    } else {
        max.min(YOUNG_MAX_POLL_SECONDS).max(min)
    } as f64;
    let bounded = base.clamp(min as f64, cap);
    let jittered = bounded * (1.0 + POLL_JITTER * jitter.clamp(-1.0, 1.0));
    (jittered.round() as u32).clamp(min, cap as u32)
}

/// The phase a poll's delay is reckoned by: a terminating cluster ends within minutes, so a run waiting for its end
/// is checked as often as a starting cluster, whatever the run's age.
pub fn delay_phase(phase: Phase, cluster_state: &str) -> Phase {
    if phase == Phase::Running && cluster_state == "TERMINATING" {
        Phase::Starting
    } else {
        phase
    }
}

/// What a run in event mode waits with: how long the wait lasts before a backstop poll, given the phase and the
/// run's age. Twice the run's age, within `min`..=`max` (so a run that lost its events learns of its end at most
/// `max` seconds late, and a two-hour run needs one backstop poll), and never past the moment a timeout would end
/// the run (`startup_timeout` while the cluster starts, `timeout` at any time), so timeouts are judged on time.
pub fn backstop_seconds(phase: Phase, elapsed_seconds: i64, limits: &BackstopLimits) -> u32 {
    let elapsed = elapsed_seconds.max(0);
    // Never below the schema's least minBackstopSeconds, whatever a hand-written event says.
    let least = least("minBackstopSeconds");
    let min = i64::from(limits.min).max(i64::try_from(least).unwrap_or(i64::MAX));
    let max = i64::from(limits.max).max(min);
    let mut seconds = (2 * elapsed).clamp(min, max);
    let until = |limit: u64| (limit as i64 - elapsed).max(0) + 1;
    if let (Phase::Starting, Some(limit)) = (phase, limits.startup_timeout) {
        seconds = seconds.min(until(limit));
    }
    if let Some(limit) = limits.timeout {
        seconds = seconds.min(until(limit));
    }
    seconds.clamp(1, i64::from(u32::MAX)) as u32
}

/// The bounds of [`backstop_seconds`] (the state machines' `minBackstopSeconds`, `maxBackstopSeconds`,
/// `startupTimeoutSeconds` and `timeoutSeconds` options).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackstopLimits {
    pub min: u32,
    pub max: u32,
    pub startup_timeout: Option<u64>,
    pub timeout: Option<u64>,
}

/// The least value the execution-input schema allows for an integer `option` (`minPollSeconds`, …).
fn least(option: &str) -> u64 {
    *crate::execution::defaults::bounds(option).start()
}

/// When a run with a budget is checked next, [`crate::cost::seconds_to_budget_check`] asking for a check within
/// `seconds`: the poll and the backstop of `delays` come no later than that, but never sooner than the schema's least
/// pause (`minPollSeconds`, `minBackstopSeconds`), nor a poll sooner than the run's own `min_poll_seconds`. A backstop
/// may come before the run's `minBackstopSeconds`: the budget asked for it.
pub fn budget_check_delays(seconds: u64, delays: Delays, min_poll_seconds: u32) -> Delays {
    let soon = |floor: u64| u32::try_from(seconds.max(floor)).unwrap_or(u32::MAX);
    let poll_floor = least("minPollSeconds").max(u64::from(min_poll_seconds));
    Delays {
        next_poll_seconds: delays.next_poll_seconds.min(soon(poll_floor)),
        backstop_seconds: delays
            .backstop_seconds
            .min(soon(least("minBackstopSeconds"))),
    }
}

/// A check's delays: until the next poll, and until a run waiting for EMR's events checks anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delays {
    pub next_poll_seconds: u32,
    pub backstop_seconds: u32,
}

/// Whether the state machines may end the run with `Timeout` after a check that found it in `phase` (their Choice
/// after each check, mirrored here so that the check reads the cost so far for the Timeout's Cause): still starting
/// after `max_startup_checks` checks (`checks`: the answer's `pollsSinceSteps`) or, waiting for events,
/// `startup_timeout` seconds; not finished after `timeout` seconds. A check does not know how the run waits: a polling
/// start past `startup_timeout` but short of its checks answers true too, which costs a cost read the Cause does not
/// use, never a Timeout without its cost.
pub fn may_time_out(
    phase: Phase,
    checks: u32,
    elapsed_seconds: i64,
    limits: &TimeoutLimits,
) -> bool {
    let elapsed = u64::try_from(elapsed_seconds).unwrap_or(0);
    let starting = phase == Phase::Starting
        && (limits.max_startup_checks.is_some_and(|m| checks >= m)
            || limits.startup_timeout.is_some_and(|t| elapsed >= t));
    let running = !phase.is_final() && limits.timeout.is_some_and(|t| elapsed > t);
    starting || running
}

/// The bounds of [`may_time_out`] (the state machines' `maxStartupChecks`, `startupTimeoutSeconds` and
/// `timeoutSeconds` options; `None` where the run has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeoutLimits {
    pub max_startup_checks: Option<u32>,
    pub startup_timeout: Option<u64>,
    pub timeout: Option<u64>,
}

/// The cluster states after which a run in `mode` may be over (or ready, for `up`): an `EMR Cluster State Change`
/// to any other state cannot end its wait, so it costs no EMR call.
pub fn decisive_cluster_states(mode: Mode) -> &'static [&'static str] {
    match mode {
        Mode::Up => &[
            "RUNNING",
            "WAITING",
            "TERMINATING",
            "TERMINATED",
            "TERMINATED_WITH_ERRORS",
        ],
        Mode::Run => &[
            "WAITING",
            "TERMINATING",
            "TERMINATED",
            "TERMINATED_WITH_ERRORS",
        ],
        Mode::Transient | Mode::Down => &CLUSTER_ENDED,
    }
}

/// Step states after which a step never changes again.
pub const STEP_FINAL: [&str; 4] = ["COMPLETED", "CANCELLED", "FAILED", "INTERRUPTED"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_brings_the_next_check_forward_never_below_the_least_pauses() {
        let (poll, backstop) = (least("minPollSeconds"), least("minBackstopSeconds"));
        let late = Delays {
            next_poll_seconds: 300,
            backstop_seconds: 3600,
        };
        let at = |seconds: u64, min_poll: u32| budget_check_delays(seconds, late, min_poll);
        let delays = |p: u64, b: u64| Delays {
            next_poll_seconds: p as u32,
            backstop_seconds: b as u32,
        };
        // Nothing spent yet (check at once): the least pauses.
        assert_eq!(at(0, poll as u32), delays(poll, backstop));
        // Within the delays: the budget's time, the poll no sooner than the run's own minPollSeconds.
        assert_eq!(at(200, poll as u32), delays(200, 200));
        assert_eq!(at(200, 250), delays(250, 200));
        // A run's minPollSeconds under the schema's least (a hand-written event) does not lower the floor.
        assert_eq!(at(0, 0), delays(poll, backstop));
        // Never later than the check would come anyway, whatever the budget says.
        assert_eq!(at(5000, poll as u32), late);
        assert_eq!(at(u64::MAX, u32::MAX), late);
        assert_eq!(at(1000, poll as u32), delays(300, 1000));
    }

    #[test]
    fn a_check_may_end_the_run_at_the_state_machines_timeouts_and_only_there() {
        let limits = TimeoutLimits {
            max_startup_checks: Some(120),
            startup_timeout: Some(3600),
            timeout: Some(7200),
        };
        // Starting: the 120th check, or an hour (waiting for events), whichever comes first.
        assert!(!may_time_out(Phase::Starting, 119, 3599, &limits));
        assert!(may_time_out(Phase::Starting, 120, 600, &limits));
        assert!(may_time_out(Phase::Starting, 3, 3600, &limits));
        // Running: only past timeoutSeconds (the Choice's NumericGreaterThan), and never once the run is over.
        assert!(!may_time_out(Phase::Running, 500, 3600, &limits));
        assert!(!may_time_out(Phase::Running, 0, 7200, &limits));
        assert!(may_time_out(Phase::Running, 0, 7201, &limits));
        assert!(may_time_out(Phase::Starting, 0, 7201, &limits));
        for over in [
            Phase::Ready,
            Phase::Succeeded,
            Phase::Failed,
            Phase::Terminated,
        ] {
            assert!(!may_time_out(over, 500, 99_999, &limits), "{over:?}");
        }
        // A run without bounds (down; a check invoked by hand) never times out here.
        assert!(!may_time_out(
            Phase::Starting,
            u32::MAX,
            i64::MAX,
            &TimeoutLimits::default()
        ));
        assert!(!may_time_out(Phase::Starting, 0, -5, &limits));
    }

    #[test]
    fn a_runs_failures_are_the_lists_run_names_and_read_as_them() {
        use crate::error_names::Origin;
        let names: Vec<ErrorName> = RunFailure::ALL.into_iter().map(ErrorName::from).collect();
        let listed: Vec<ErrorName> = ErrorName::ALL
            .iter()
            .copied()
            .filter(|n| n.origin() == Origin::Run)
            .collect();
        assert_eq!(names, listed);
        for f in RunFailure::ALL {
            let text = serde_json::to_value(f).unwrap();
            assert_eq!(text, ErrorName::from(f).as_str());
            assert_eq!(serde_json::from_value::<RunFailure>(text).unwrap(), f);
        }
        assert!(serde_json::from_value::<RunFailure>("Timeout".into()).is_err());
    }

    fn step(state: &str) -> StepOutcome {
        StepOutcome {
            name: "s".into(),
            id: "s-1".into(),
            state: state.into(),
            start: None,
            end: None,
            duration_seconds: None,
            failure: None,
        }
    }

    #[test]
    fn transient_succeeds_only_when_every_step_completed() {
        let done = [step("COMPLETED"), step("COMPLETED")];
        assert_eq!(
            judge(
                Mode::Transient,
                "TERMINATED",
                Some("ALL_STEPS_COMPLETED"),
                Some(&done)
            )
            .phase,
            Phase::Succeeded
        );
        // Every step done while the cluster terminates: the run waits for TERMINATED (its instances still bill), and
        // is checked again soon, as a starting cluster is; a failure does not wait.
        let ending = judge(
            Mode::Transient,
            "TERMINATING",
            Some("ALL_STEPS_COMPLETED"),
            Some(&done),
        );
        assert_eq!(ending.phase, Phase::Running);
        assert_eq!(delay_phase(ending.phase, "TERMINATING"), Phase::Starting);
        assert_eq!(delay_phase(Phase::Running, "RUNNING"), Phase::Running);
        assert_eq!(
            judge(
                Mode::Transient,
                "TERMINATING",
                Some("STEP_FAILURE"),
                Some(&[step("COMPLETED"), step("FAILED")])
            ),
            failed(RunFailure::StepFailed)
        );
        // EMR reports ALL_STEPS_COMPLETED even when a CANCEL_AND_WAIT step failed: the steps decide.
        let one_failed = [step("COMPLETED"), step("FAILED"), step("CANCELLED")];
        let v = judge(
            Mode::Transient,
            "TERMINATED",
            Some("ALL_STEPS_COMPLETED"),
            Some(&one_failed),
        );
        assert_eq!(v, failed(RunFailure::StepFailed));
    }

    #[test]
    fn interrupted_and_cancelled_steps_are_failures() {
        let v = judge(
            Mode::Transient,
            "TERMINATED_WITH_ERRORS",
            Some("INSTANCE_FAILURE"),
            Some(&[step("COMPLETED"), step("INTERRUPTED")]),
        );
        assert_eq!(v, failed(RunFailure::ClusterFailed));
        let v = judge(
            Mode::Run,
            "WAITING",
            None,
            Some(&[step("COMPLETED"), step("CANCELLED")]),
        );
        assert_eq!(v, failed(RunFailure::StepFailed));
        let v = judge(Mode::Run, "WAITING", None, Some(&[step("INTERRUPTED")]));
        assert_eq!(v, failed(RunFailure::StepFailed));
    }

    #[test]
    fn bootstrap_failure_is_its_own_failure() {
        for mode in [Mode::Transient, Mode::Up] {
            let v = judge(
                mode,
                "TERMINATED_WITH_ERRORS",
                Some("BOOTSTRAP_FAILURE"),
                None,
            );
            assert_eq!(v, failed(RunFailure::BootstrapFailure));
        }
    }

    #[test]
    fn every_cluster_reason_code_maps_to_a_phase() {
        let codes = [
            "INTERNAL_ERROR",
            "VALIDATION_ERROR",
            "INSTANCE_FAILURE",
            "INSTANCE_FLEET_TIMEOUT",
            "BOOTSTRAP_FAILURE",
            "USER_REQUEST",
            "STEP_FAILURE",
            "ALL_STEPS_COMPLETED",
        ];
        for code in codes {
            let with_failed_step = judge(
                Mode::Transient,
                "TERMINATED_WITH_ERRORS",
                Some(code),
                Some(&[step("FAILED")]),
            );
            assert_eq!(with_failed_step.phase, Phase::Failed, "{code}");
            let all_done = judge(
                Mode::Transient,
                "TERMINATED",
                Some(code),
                Some(&[step("COMPLETED")]),
            );
            let expected = if code == "BOOTSTRAP_FAILURE" {
                Phase::Failed
            } else {
                Phase::Succeeded
            };
            assert_eq!(all_done.phase, expected, "{code}");
            let up = judge(Mode::Up, "TERMINATED_WITH_ERRORS", Some(code), None);
            assert_eq!(up.phase, Phase::Failed, "{code}");
        }
    }

    #[test]
    fn a_terminated_transient_cluster_without_steps_listed_is_not_success() {
        assert_eq!(
            judge(
                Mode::Transient,
                "TERMINATED",
                Some("ALL_STEPS_COMPLETED"),
                None
            )
            .phase,
            Phase::Failed
        );
        assert_eq!(
            judge(
                Mode::Transient,
                "TERMINATED",
                Some("ALL_STEPS_COMPLETED"),
                Some(&[])
            )
            .phase,
            Phase::Failed
        );
    }

    #[test]
    fn unknown_states_never_succeed() {
        assert_eq!(
            judge(Mode::Transient, "SOMETHING_NEW", None, None).phase,
            Phase::Running
        );
        assert_eq!(
            judge(Mode::Run, "WAITING", None, Some(&[step("SOMETHING_NEW")])).phase,
            Phase::Running
        );
        assert_eq!(
            judge(Mode::Up, "SOMETHING_NEW", None, None).phase,
            Phase::Starting
        );
    }

    #[test]
    fn run_mode_fails_when_the_cluster_dies_under_its_steps() {
        let v = judge(
            Mode::Run,
            "TERMINATED_WITH_ERRORS",
            Some("INSTANCE_FAILURE"),
            Some(&[step("RUNNING")]),
        );
        assert_eq!(v, failed(RunFailure::ClusterFailed));
        assert_eq!(
            judge(Mode::Run, "TERMINATED", Some("USER_REQUEST"), None),
            failed(RunFailure::ClusterFailed)
        );
    }

    #[test]
    fn up_is_ready_when_running_or_waiting_and_down_when_terminated() {
        assert_eq!(judge(Mode::Up, "WAITING", None, None).phase, Phase::Ready);
        assert_eq!(
            judge(Mode::Up, "BOOTSTRAPPING", None, None).phase,
            Phase::Starting
        );
        assert_eq!(
            judge(Mode::Down, "TERMINATING", None, None).phase,
            Phase::Running
        );
        assert_eq!(
            judge(Mode::Down, "TERMINATED_WITH_ERRORS", None, None).phase,
            Phase::Terminated
        );
    }

    #[test]
    fn steps_are_listed_only_when_needed() {
        assert!(!needs_steps(
            Mode::Transient,
            "RUNNING",
            Some("RUNNING"),
            10
        ));
        assert!(needs_steps(
            Mode::Transient,
            "RUNNING",
            Some("BOOTSTRAPPING"),
            0
        ));
        assert!(!needs_steps(
            Mode::Transient,
            "TERMINATING",
            Some("RUNNING"),
            0
        ));
        assert!(needs_steps(
            Mode::Transient,
            "TERMINATED",
            Some("TERMINATING"),
            0
        ));
        assert!(!needs_steps(
            Mode::Transient,
            "BOOTSTRAPPING",
            Some("STARTING"),
            0
        ));
        assert!(!needs_steps(Mode::Run, "RUNNING", Some("RUNNING"), 0));
        assert!(needs_steps(Mode::Run, "RUNNING", Some("RUNNING"), 4));
        assert!(needs_steps(Mode::Run, "WAITING", Some("WAITING"), 0));
        assert!(!needs_steps(Mode::Up, "WAITING", None, 0));
    }

    #[test]
    fn polling_grows_with_age_within_bounds() {
        assert_eq!(next_poll_seconds(Phase::Starting, 10, 30, 900, 0.0), 30);
        assert_eq!(next_poll_seconds(Phase::Running, 60, 30, 900, 0.0), 30);
        assert_eq!(next_poll_seconds(Phase::Running, 1600, 30, 900, 0.0), 200);
        assert_eq!(next_poll_seconds(Phase::Running, 7200, 30, 900, 0.0), 300);
        assert_eq!(
            next_poll_seconds(Phase::Running, 7 * 3600, 30, 900, 0.0),
            900
        );
        // The user's bound holds at every age.
        assert_eq!(
            next_poll_seconds(Phase::Running, 7 * 3600, 30, 120, 0.0),
            120
        );
        assert_eq!(
            next_poll_seconds(Phase::Running, 14 * 86400, 30, 60, 1.0),
            60
        );
        let j = next_poll_seconds(Phase::Running, 1600, 30, 900, 1.0);
        assert_eq!(j, 220);
        assert_eq!(next_poll_seconds(Phase::Running, 1600, 30, 900, -1.0), 180);
        // a user's tighter bound wins
        assert_eq!(next_poll_seconds(Phase::Running, 7200, 10, 60, 0.0), 60);
    }
    #[test]
    fn the_backstop_doubles_the_age_within_its_bounds_and_never_passes_a_timeout() {
        let limits = BackstopLimits {
            min: 3600,
            max: 7200,
            startup_timeout: Some(3600),
            timeout: None,
        };
        assert_eq!(backstop_seconds(Phase::Running, 0, &limits), 3600);
        assert_eq!(backstop_seconds(Phase::Running, 3000, &limits), 6000);
        assert_eq!(backstop_seconds(Phase::Running, 86_400, &limits), 7200);
        // starting: no later than the startup timeout (plus a second, so the check sees it passed)
        assert_eq!(backstop_seconds(Phase::Starting, 600, &limits), 3001);
        assert_eq!(backstop_seconds(Phase::Starting, 5000, &limits), 1);
        let timed = BackstopLimits {
            timeout: Some(5400),
            ..limits
        };
        assert_eq!(backstop_seconds(Phase::Running, 3600, &timed), 1801);
        // a minimum under a minute is raised to one
        let tiny = BackstopLimits {
            min: 1,
            max: 1,
            startup_timeout: None,
            timeout: None,
        };
        assert_eq!(backstop_seconds(Phase::Running, 0, &tiny), 60);
    }

    #[test]
    fn only_the_cluster_states_that_can_end_a_wait_are_decisive() {
        assert!(!decisive_cluster_states(Mode::Transient).contains(&"RUNNING"));
        // a transient run ends with its cluster's end, not while it terminates
        assert!(!decisive_cluster_states(Mode::Transient).contains(&"TERMINATING"));
        assert!(decisive_cluster_states(Mode::Transient).contains(&"TERMINATED"));
        assert!(decisive_cluster_states(Mode::Up).contains(&"RUNNING"));
        assert!(decisive_cluster_states(Mode::Run).contains(&"WAITING"));
        assert!(!decisive_cluster_states(Mode::Down).contains(&"TERMINATING"));
        // every decisive state can change the verdict: judged without steps, each is final or needs the steps
        for mode in [Mode::Up, Mode::Run, Mode::Transient, Mode::Down] {
            for state in decisive_cluster_states(mode) {
                let v = judge(mode, state, None, None);
                assert!(
                    v.phase.is_final() || needs_steps(mode, state, Some("RUNNING"), 0),
                    "{mode:?} {state}"
                );
            }
        }
    }
}
