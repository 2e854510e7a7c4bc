//! Scripted outcomes: durations, rules matched by cluster/step name, and argument markers.

use serde::{Deserialize, Serialize};

use crate::model::{ClusterPlan, StepOutcome, StepPlan};
use crate::serverless::{JobOutcome, JobPlan, ServerlessSettings};

/// Default durations, in virtual seconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Durations {
    pub starting_seconds: f64,
    pub bootstrap_seconds: f64,
    pub terminating_seconds: f64,
    pub step_seconds: f64,
    /// CANCEL_PENDING → CANCELLED after CancelSteps.
    pub cancel_seconds: f64,
}

impl Default for Durations {
    fn default() -> Self {
        Durations {
            starting_seconds: 300.0,
            bootstrap_seconds: 180.0,
            terminating_seconds: 60.0,
            step_seconds: 600.0,
            cancel_seconds: 5.0,
        }
    }
}

/// Partial [`Durations`]: the fields that are set override the base.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DurationOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starting_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bootstrap_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terminating_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_seconds: Option<f64>,
}

impl Durations {
    pub fn with(mut self, o: &DurationOverrides) -> Self {
        self.starting_seconds = o.starting_seconds.unwrap_or(self.starting_seconds);
        self.bootstrap_seconds = o.bootstrap_seconds.unwrap_or(self.bootstrap_seconds);
        self.terminating_seconds = o.terminating_seconds.unwrap_or(self.terminating_seconds);
        self.step_seconds = o.step_seconds.unwrap_or(self.step_seconds);
        self.cancel_seconds = o.cancel_seconds.unwrap_or(self.cancel_seconds);
        self
    }
}

/// Name matching: `name` is exact, `nameContains` a substring; both unset matches everything.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NameMatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_contains: Option<String>,
    /// Step rules only: the step's cluster name, exact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_name: Option<String>,
    /// Step rules only: the step's cluster name, substring.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_name_contains: Option<String>,
}

impl NameMatch {
    fn matches(&self, name: &str, cluster_name: &str) -> bool {
        let exact = |want: &Option<String>, got: &str| want.as_deref().is_none_or(|w| w == got);
        let sub =
            |want: &Option<String>, got: &str| want.as_deref().is_none_or(|w| got.contains(w));
        exact(&self.name, name)
            && sub(&self.name_contains, name)
            && exact(&self.cluster_name, cluster_name)
            && sub(&self.cluster_name_contains, cluster_name)
    }
}

/// A failure at the end of STARTING (e.g. `VALIDATION_ERROR`, `INTERNAL_ERROR`, `INSTANCE_FLEET_TIMEOUT`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartupFailure {
    pub code: String,
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterRule {
    #[serde(rename = "match", default)]
    pub matcher: NameMatch,
    /// The rule applies to the first `times` matching clusters only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starting_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bootstrap_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terminating_seconds: Option<f64>,
    /// The first N clusters matched by this rule fail bootstrap (BOOTSTRAP_FAILURE).
    #[serde(default)]
    pub bootstrap_failures: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub startup_failure: Option<StartupFailure>,
    /// Instance failure this many virtual seconds after the cluster became ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_failure_after_seconds: Option<f64>,
    /// The cluster's core and task spot instances are interrupted this many virtual seconds after it became ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spot_interruption_after_seconds: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StepRule {
    #[serde(rename = "match", default)]
    pub matcher: NameMatch,
    /// The rule applies to the first `times` matching steps only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<StepOutcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
}

/// How an EMR Serverless job run behaves, matched by its name (`name`, `nameContains`) and its application's
/// (`clusterName`, `clusterNameContains`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobRunRule {
    #[serde(rename = "match", default)]
    pub matcher: NameMatch,
    /// The rule applies to the first `times` matching job runs only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<JobOutcome>,
    /// Seconds in RUNNING.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<f64>,
    /// Seconds in SCHEDULED once capacity is there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduled_seconds: Option<f64>,
    /// `stateDetails` of a failed run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
    /// Resources the run holds while it runs (instead of those its `sparkSubmitParameters` ask).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vcpu: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_gb: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_gb: Option<f64>,
}

/// A scenario: first matching rule wins (clusters by cluster name, steps by step and cluster name, job runs by
/// job run and application name).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scenario {
    #[serde(default)]
    pub defaults: DurationOverrides,
    #[serde(default)]
    pub clusters: Vec<ClusterRule>,
    #[serde(default)]
    pub steps: Vec<StepRule>,
    /// EMR Serverless: durations and the account's vCPU quota.
    #[serde(default)]
    pub serverless: ServerlessSettings,
    #[serde(default)]
    pub job_runs: Vec<JobRunRule>,
}

impl Scenario {
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

/// A scenario plus how often each rule has matched so far.
#[derive(Clone, Debug, Default)]
pub struct ScenarioRuntime {
    pub scenario: Scenario,
    cluster_hits: Vec<u32>,
    step_hits: Vec<u32>,
    job_run_hits: Vec<u32>,
}

pub const MARKER_OUTCOME: &str = "--emulator-outcome=";
pub const MARKER_DURATION: &str = "--emulator-duration=";
pub const MARKER_REASON: &str = "--emulator-failure-reason=";
pub const MARKER_MESSAGE: &str = "--emulator-failure-message=";

pub(crate) fn marker<'a>(args: &'a [String], prefix: &str) -> Option<&'a str> {
    args.iter().rev().find_map(|a| a.strip_prefix(prefix))
}

/// Parses the step markers; an unreadable marker is a client error.
pub fn marker_outcome(args: &[String]) -> Result<Option<StepOutcome>, String> {
    match marker(args, MARKER_OUTCOME) {
        None => Ok(None),
        Some(v) if v.eq_ignore_ascii_case("FAILED") => Ok(Some(StepOutcome::Failed)),
        Some(v) if v.eq_ignore_ascii_case("COMPLETED") => Ok(Some(StepOutcome::Completed)),
        Some(v) => Err(format!("{MARKER_OUTCOME}{v}: expected FAILED or COMPLETED")),
    }
}

pub fn marker_duration(args: &[String]) -> Result<Option<f64>, String> {
    match marker(args, MARKER_DURATION) {
        None => Ok(None),
        Some(v) => match v.parse::<f64>() {
            Ok(d) if d >= 0.0 && d.is_finite() => Ok(Some(d)),
            _ => Err(format!(
                "{MARKER_DURATION}{v}: expected a number of seconds"
            )),
        },
    }
}

/// A bootstrap action as the planner sees it: name and script arguments.
pub struct BootstrapInfo<'a> {
    pub name: &'a str,
    pub args: &'a [String],
}

impl ScenarioRuntime {
    pub fn new(scenario: Scenario) -> Self {
        let cluster_hits = vec![0; scenario.clusters.len()];
        let step_hits = vec![0; scenario.steps.len()];
        let job_run_hits = vec![0; scenario.job_runs.len()];
        ScenarioRuntime {
            scenario,
            cluster_hits,
            step_hits,
            job_run_hits,
        }
    }

    /// Re-arm the counters (`bootstrapFailures`, `times`).
    pub fn rearm(&mut self) {
        *self = ScenarioRuntime::new(self.scenario.clone());
    }

    pub fn durations(&self, base: Durations) -> Durations {
        base.with(&self.scenario.defaults)
    }

    /// Plan a new cluster. Counts the match against the rule's `times`/`bootstrapFailures`.
    pub fn plan_cluster(
        &mut self,
        name: &str,
        bootstrap: &[BootstrapInfo<'_>],
        base: Durations,
    ) -> ClusterPlan {
        let d = self.durations(base);
        let mut plan = ClusterPlan {
            starting_seconds: d.starting_seconds,
            bootstrap_seconds: d.bootstrap_seconds,
            terminating_seconds: d.terminating_seconds,
            cancel_seconds: d.cancel_seconds,
            startup_failure: None,
            bootstrap_failure: None,
            instance_failure_after: None,
            spot_interruption_after: None,
        };
        let found = self.scenario.clusters.iter().enumerate().find(|(i, r)| {
            r.matcher.matches(name, name) && r.times.is_none_or(|n| self.cluster_hits[*i] < n)
        });
        if let Some((i, rule)) = found {
            let nth = self.cluster_hits[i];
            self.cluster_hits[i] += 1;
            plan.starting_seconds = rule.starting_seconds.unwrap_or(plan.starting_seconds);
            plan.bootstrap_seconds = rule.bootstrap_seconds.unwrap_or(plan.bootstrap_seconds);
            plan.terminating_seconds = rule.terminating_seconds.unwrap_or(plan.terminating_seconds);
            plan.instance_failure_after = rule.instance_failure_after_seconds;
            plan.spot_interruption_after = rule.spot_interruption_after_seconds;
            plan.startup_failure = rule.startup_failure.as_ref().map(|f| {
                let message = f
                    .message
                    .clone()
                    .unwrap_or_else(|| format!("Cluster failed to start ({})", f.code));
                (f.code.clone(), message)
            });
            if nth < rule.bootstrap_failures {
                let first = bootstrap.first().map_or("bootstrap action", |b| b.name);
                plan.bootstrap_failure = Some((1, first.to_string()));
            }
        }
        // A marker in a bootstrap action's arguments fails that action, every time.
        let marked = bootstrap
            .iter()
            .enumerate()
            .find(|(_, b)| matches!(marker_outcome(b.args), Ok(Some(StepOutcome::Failed))));
        if let Some((i, b)) = marked {
            plan.bootstrap_failure = Some((i + 1, b.name.to_string()));
        }
        plan
    }

    /// Plan a new step: markers win over the first matching rule, which wins over the defaults.
    pub fn plan_step(
        &mut self,
        cluster_name: &str,
        step_name: &str,
        args: &[String],
        base: Durations,
    ) -> StepPlan {
        let d = self.durations(base);
        let mut plan = StepPlan {
            outcome: StepOutcome::Completed,
            duration_seconds: d.step_seconds,
            failure_reason: None,
            failure_message: None,
        };
        let found = self.scenario.steps.iter().enumerate().find(|(i, r)| {
            r.matcher.matches(step_name, cluster_name)
                && r.times.is_none_or(|n| self.step_hits[*i] < n)
        });
        if let Some((i, rule)) = found {
            self.step_hits[i] += 1;
            plan.outcome = rule.outcome.unwrap_or(plan.outcome);
            plan.duration_seconds = rule.duration_seconds.unwrap_or(plan.duration_seconds);
            plan.failure_reason = rule.failure_reason.clone();
            plan.failure_message = rule.failure_message.clone();
        }
        if let Ok(Some(outcome)) = marker_outcome(args) {
            plan.outcome = outcome;
        }
        if let Ok(Some(duration)) = marker_duration(args) {
            plan.duration_seconds = duration;
        }
        if let Some(reason) = marker(args, MARKER_REASON) {
            plan.failure_reason = Some(reason.to_string());
        }
        if let Some(message) = marker(args, MARKER_MESSAGE) {
            plan.failure_message = Some(message.to_string());
        }
        plan
    }
}

impl ScenarioRuntime {
    /// Plan a new job run from the first matching rule (counted against its `times`); `plan` holds the defaults
    /// and what the run's parameters ask, and is changed by the rule. Markers are applied by the caller.
    pub fn plan_job_run(&mut self, app_name: &str, job_name: &str, plan: &mut JobPlan) {
        let found = self.scenario.job_runs.iter().enumerate().find(|(i, r)| {
            r.matcher.matches(job_name, app_name)
                && r.times.is_none_or(|n| self.job_run_hits[*i] < n)
        });
        let Some((i, rule)) = found else { return };
        self.job_run_hits[i] += 1;
        plan.outcome = rule.outcome.unwrap_or(plan.outcome);
        plan.running_seconds = rule.duration_seconds.unwrap_or(plan.running_seconds);
        plan.scheduled_seconds = rule.scheduled_seconds.unwrap_or(plan.scheduled_seconds);
        plan.failure_message = rule.failure_message.clone().or(plan.failure_message.take());
        plan.vcpu = rule.vcpu.unwrap_or(plan.vcpu);
        plan.memory_gb = rule.memory_gb.unwrap_or(plan.memory_gb);
        plan.storage_gb = rule.storage_gb.unwrap_or(plan.storage_gb);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn when_rule_has_bootstrap_failures_should_fail_only_the_first_clusters() {
        let scenario = Scenario::from_json(
            r#"{"clusters":[{"match":{"name":"nightly"},"bootstrapFailures":1}]}"#,
        )
        .unwrap();
        let mut rt = ScenarioRuntime::new(scenario);
        let first = rt.plan_cluster("nightly", &[], Durations::default());
        let second = rt.plan_cluster("nightly", &[], Durations::default());
        let other = rt.plan_cluster("other", &[], Durations::default());
        assert!(first.bootstrap_failure.is_some());
        assert!(second.bootstrap_failure.is_none());
        assert!(other.bootstrap_failure.is_none());
    }

    #[test]
    fn when_step_args_carry_markers_should_override_rules() {
        let scenario =
            Scenario::from_json(r#"{"steps":[{"match":{"nameContains":"Shred"},"outcome":"FAILED","durationSeconds":3600}]}"#)
                .unwrap();
        let mut rt = ScenarioRuntime::new(scenario);
        let ruled = rt.plan_step("c", "Shred events", &[], Durations::default());
        assert_eq!(
            (ruled.outcome, ruled.duration_seconds),
            (StepOutcome::Failed, 3600.0)
        );
        let marked = rt.plan_step(
            "c",
            "Shred events",
            &args(&["--emulator-outcome=COMPLETED", "--emulator-duration=5"]),
            Durations::default(),
        );
        assert_eq!(
            (marked.outcome, marked.duration_seconds),
            (StepOutcome::Completed, 5.0)
        );
    }

    #[test]
    fn when_rule_has_times_should_stop_matching_after_that_many() {
        let scenario = Scenario::from_json(
            r#"{"steps":[{"match":{"name":"A"},"outcome":"FAILED","times":1}]}"#,
        )
        .unwrap();
        let mut rt = ScenarioRuntime::new(scenario);
        assert_eq!(
            rt.plan_step("c", "A", &[], Durations::default()).outcome,
            StepOutcome::Failed
        );
        assert_eq!(
            rt.plan_step("c", "A", &[], Durations::default()).outcome,
            StepOutcome::Completed
        );
        rt.rearm();
        assert_eq!(
            rt.plan_step("c", "A", &[], Durations::default()).outcome,
            StepOutcome::Failed
        );
    }

    #[test]
    fn when_scenario_has_unknown_field_should_reject_it() {
        assert!(Scenario::from_json(r#"{"clusterz":[]}"#).is_err());
    }

    #[test]
    fn when_step_rule_matches_cluster_name_should_only_apply_there() {
        let scenario = Scenario::from_json(
            r#"{"steps":[{"match":{"clusterNameContains":"nightly"},"outcome":"FAILED"}]}"#,
        )
        .unwrap();
        let mut rt = ScenarioRuntime::new(scenario);
        assert_eq!(
            rt.plan_step("x-nightly", "A", &[], Durations::default())
                .outcome,
            StepOutcome::Failed
        );
        assert_eq!(
            rt.plan_step("daily", "A", &[], Durations::default())
                .outcome,
            StepOutcome::Completed
        );
    }
}
