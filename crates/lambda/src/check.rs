//! check-status: one poll. One DescribeCluster in steady state; the steps are listed only when the core says the
//! answer depends on them.

use chrono::{DateTime, Utc};
use dfr_core::execution::defaults::defaults;
use dfr_core::status::{self, Mode, Phase, Reason, RunFailure, StepOutcome, CLUSTER_ACTIVE};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use dfr_core::cost::{over_budget, seconds_to_budget_check, Budget, RunCost};

use crate::emr::Emr;
use crate::error::Error;
use crate::metrics;
use crate::payload;
use crate::prices::{self as pricing, PriceSource};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckEvent {
    #[serde(deserialize_with = "crate::event::cluster_id")]
    pub cluster_id: String,
    #[serde(default, deserialize_with = "crate::event::region")]
    pub region: Option<String>,
    pub mode: Mode,
    /// `$$.Execution.Id`: the execution this check is for, named in the run-end line (metrics.rs `run_ended`), and
    /// kept in the request a wait stores, so the check event-router makes names it too. Absent (null in the line)
    /// when check-status is invoked outside a state machine.
    #[serde(
        default,
        deserialize_with = "crate::event::optional_execution_arn",
        skip_serializing_if = "Option::is_none"
    )]
    pub execution: Option<String>,
    /// `run` mode: the steps of this run.
    #[serde(default, deserialize_with = "crate::event::step_ids")]
    pub step_ids: Vec<String>,
    /// When the wait began (polling slows down with age); the cluster's creation time when absent.
    #[serde(default, deserialize_with = "crate::event::time")]
    pub since: Option<DateTime<Utc>>,
    #[serde(default)]
    pub previous: Option<Previous>,
    #[serde(default)]
    pub options: PollOptions,
    /// Present when the state machine waits for EMR's events on a task token (registration: `wait.rs`).
    #[serde(default, skip_serializing)]
    pub wait: Option<WaitFor>,
}

impl CheckEvent {
    /// The same check after an event said the cluster or a step changed: as if the state last seen were unknown,
    /// so the steps are listed whenever they can decide the run (a `run` wait's steps, a transient cluster ending).
    pub fn after_event(&self) -> Self {
        Self {
            previous: None,
            wait: None,
            ..self.clone()
        }
    }

    /// The request as JSON (without `wait`), as the wait table keeps it.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// Step Functions' limit on a task token (SendTaskSuccess's API reference: 1 to 2,048 characters; older SDK models
/// said 1,024). A token Step Functions gave must never fail a run, so the bound is the API's, not the older one.
pub const MAX_TOKEN_CHARS: usize = 2048;
/// The `wait` field of check-status's event: present when the state machine waits on a task token.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WaitFor {
    /// `$$.Task.Token`.
    #[serde(deserialize_with = "task_token")]
    pub task_token: String,
    /// `$$.Execution.Id`: one wait per execution and cluster; a new token replaces the last one.
    #[serde(deserialize_with = "crate::event::run_key")]
    pub execution: String,
    /// When the status the execution holds was read from EMR (`null` before the first check): events seen since
    /// then may have ended the run already.
    #[serde(default, deserialize_with = "crate::event::time")]
    pub checked_at: Option<DateTime<Utc>>,
    /// The wait's TimeoutSeconds (its backstop): the item outlives it by an hour.
    pub seconds: u32,
}

fn task_token<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    use serde::de::Error as _;
    let token = String::deserialize(d)?;
    let n = token.chars().count();
    if n == 0 || n > MAX_TOKEN_CHARS || token.chars().any(char::is_control) {
        return Err(D::Error::custom(format!(
            "a task token of {n} characters: give $$.Task.Token (1 to {MAX_TOKEN_CHARS} printable characters)"
        )));
    }
    Ok(token)
}

/// What the last poll saw; the state machine passes the last output's fields back.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Previous {
    pub cluster_state: Option<String>,
    #[serde(default)]
    pub polls_since_steps: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PollOptions {
    #[serde(default = "default_min")]
    pub min_poll_seconds: u32,
    #[serde(default = "default_max")]
    pub max_poll_seconds: u32,
    /// Bounds of the backstop of a run waiting for EMR's events ([`status::backstop_seconds`]).
    #[serde(default = "default_min_backstop")]
    pub min_backstop_seconds: u32,
    #[serde(default = "default_max_backstop")]
    pub max_backstop_seconds: u32,
    /// The run's timeouts, which a backstop never passes, and at which a check reads the cost so far for the
    /// Timeout's Cause ([`status::may_time_out`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_startup_checks: Option<u32>,
    #[serde(default)]
    pub startup_timeout_seconds: Option<u64>,
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
    /// The run's budget (run-transient, run), judged at every check: `BudgetExceeded` past it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_instance_hours: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cost_usd: Option<f64>,
}

impl PollOptions {
    fn budget(&self) -> Budget {
        Budget {
            max_instance_hours: self.max_instance_hours,
            max_cost_usd: self.max_cost_usd,
        }
    }
}

impl Default for PollOptions {
    fn default() -> Self {
        Self {
            min_poll_seconds: default_min(),
            max_poll_seconds: default_max(),
            min_backstop_seconds: default_min_backstop(),
            max_backstop_seconds: default_max_backstop(),
            max_startup_checks: None,
            startup_timeout_seconds: None,
            timeout_seconds: None,
            max_instance_hours: None,
            max_cost_usd: None,
        }
    }
}

// The schema's defaults (`dfr_core::execution::defaults`): what the state machines pass when no option is given.
fn default_min_backstop() -> u32 {
    defaults().min_backstop_seconds
}

fn default_max_backstop() -> u32 {
    defaults().max_backstop_seconds
}

fn default_min() -> u32 {
    defaults().min_poll_seconds
}

fn default_max() -> u32 {
    defaults().max_poll_seconds
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckOutput {
    pub phase: Phase,
    pub finished: bool,
    pub cluster_id: String,
    pub cluster_state: String,
    pub reason: Reason,
    /// The run's steps as last listed (empty when this poll did not need them).
    pub steps: Vec<StepOutcome>,
    pub steps_listed: bool,
    pub polls_since_steps: u32,
    /// Seconds since `since` (or the cluster's creation): what the state machines compare with their timeout.
    pub elapsed_seconds: i64,
    pub next_poll_seconds: u32,
    /// How long a run waiting for EMR's events waits before it checks anyway (a lost event).
    pub backstop_seconds: u32,
    /// When this status was read from EMR.
    pub checked_at: DateTime<Utc>,
    pub error: Option<RunError>,
    /// Checks that failed in a row before this one: always 0 in an answer (the state machines count the failures
    /// and carry the count in the same field).
    pub failed_checks: u32,
    /// What was left out to keep the answer within Step Functions' state limit, if anything.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub truncated: Option<String>,
    /// What the run cost (statemachine/README.md, "What a run cost"): at the end of the run, and at every check of a
    /// run with a budget (so far); `null` otherwise, or when EMR's record of the instances could not be read.
    #[serde(default)]
    pub cost: Option<RunCost>,
    /// The run-end metric line of a check that found the run over with its cost (metrics.rs `run_ended`), not part
    /// of the answer: written by [`CheckOutput::write_run_end`] only where the check's answer ends the run (the
    /// polled Task's answer, a delivered token), never for a token Step Functions no longer waits on (a stopped
    /// run: its cost is recorded by `crate::unfinished`).
    #[serde(skip)]
    pub run_end: Option<Value>,
}

impl CheckOutput {
    /// Writes the run-end metric line, if the check found the run over (one line per run's end).
    pub fn write_run_end(&self) {
        if let Some(line) = &self.run_end {
            println!("{line}");
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunError {
    pub name: RunFailure,
    /// What a person on call needs: cluster, reason, and each failed step's reason, message and log file.
    pub cause: Value,
}

/// The steps in the order the run added them. Listed without `StepIds`, EMR answers newest first; with them, it
/// promises no order, so the run's own list of ids decides.
fn in_run_order(steps: &mut [StepOutcome], ids: Option<&[String]>) {
    match ids {
        Some(ids) => {
            steps.sort_by_key(|s| ids.iter().position(|id| *id == s.id).unwrap_or(usize::MAX))
        }
        None => steps.reverse(),
    }
}

pub async fn check_status(
    event: &CheckEvent,
    emr: &impl Emr,
    prices: &impl PriceSource,
    now: DateTime<Utc>,
    jitter: f64,
) -> Result<CheckOutput, Error> {
    let cluster = emr.describe_cluster(&event.cluster_id).await?;
    let previous = event.previous.clone().unwrap_or_default();
    let list = status::needs_steps(
        event.mode,
        &cluster.state,
        previous.cluster_state.as_deref(),
        previous.polls_since_steps,
    );
    let steps: Option<Vec<StepOutcome>> = if list {
        let ids = (event.mode == Mode::Run).then_some(event.step_ids.as_slice());
        match emr.list_steps(&event.cluster_id, ids, None).await {
            Ok(listed) => {
                let mut steps: Vec<StepOutcome> = listed.into_iter().map(|s| s.outcome).collect();
                in_run_order(&mut steps, ids);
                Some(steps)
            }
            // While the cluster is active and its state alone decides nothing, the steps only add detail: a
            // throttled or unavailable ListSteps then leaves this answer without them instead of failing the poll
            // (a later poll lists them; the end of the run always does).
            Err(e)
                if e.retryable()
                    && CLUSTER_ACTIVE.contains(&cluster.state.as_str())
                    && !status::judge(
                        event.mode,
                        &cluster.state,
                        cluster.reason_code.as_deref(),
                        None,
                    )
                    .phase
                    .is_final() =>
            {
                tracing::warn!(error = %e, "steps not listed this time");
                None
            }
            Err(e) => return Err(e),
        }
    } else {
        None
    };
    let list = steps.is_some();
    let verdict = status::judge(
        event.mode,
        &cluster.state,
        cluster.reason_code.as_deref(),
        steps.as_deref(),
    );
    let since = event.since.or(cluster.created_at).unwrap_or(now);
    let reason = Reason {
        code: cluster.reason_code.clone(),
        message: cluster.reason_message.clone(),
    };
    let elapsed_seconds = (now - since).num_seconds().max(0);
    let mut output = CheckOutput {
        phase: verdict.phase,
        finished: verdict.phase.is_final(),
        cluster_id: cluster.id.clone(),
        cluster_state: cluster.state.clone(),
        reason,
        steps_listed: steps.is_some(),
        polls_since_steps: if list {
            0
        } else {
            previous.polls_since_steps.saturating_add(1)
        },
        steps: steps.unwrap_or_default(),
        elapsed_seconds,
        next_poll_seconds: status::next_poll_seconds(
            status::delay_phase(verdict.phase, &cluster.state),
            elapsed_seconds,
            event.options.min_poll_seconds,
            event.options.max_poll_seconds,
            jitter,
        ),
        backstop_seconds: status::backstop_seconds(
            verdict.phase,
            elapsed_seconds,
            &status::BackstopLimits {
                min: event.options.min_backstop_seconds,
                max: event.options.max_backstop_seconds,
                startup_timeout: event.options.startup_timeout_seconds,
                timeout: event.options.timeout_seconds,
            },
        ),
        checked_at: now,
        error: None,
        failed_checks: 0,
        truncated: None,
        cost: None,
        run_end: None,
    };
    let mut failure = verdict.failure;
    let budget = event.options.budget();
    let timed_out = status::may_time_out(
        output.phase,
        output.polls_since_steps,
        elapsed_seconds,
        &status::TimeoutLimits {
            max_startup_checks: event.options.max_startup_checks,
            startup_timeout: event.options.startup_timeout_seconds,
            timeout: event.options.timeout_seconds,
        },
    );
    let mut overrun = None;
    if output.finished || budget.is_set() || timed_out {
        // The window: the cluster's whole life, or from the run's start for `run` on a cluster it did not launch.
        let since = (event.mode == Mode::Run).then_some(since);
        let with_prices = output.finished || timed_out || budget.max_cost_usd.is_some();
        match pricing::run_cost(
            emr,
            prices,
            event.region.as_deref(),
            &cluster,
            since,
            now,
            with_prices,
        )
        .await
        {
            Ok(cost) => {
                if !output.finished {
                    overrun = over_budget(&cost, &budget);
                    // A budget is judged at checks: the next one comes before the spend can reach it, whether
                    // the run polls or waits for EMR's events (which come only when the cluster or a step changes).
                    if let Some(seconds) = seconds_to_budget_check(&cost, &budget, elapsed_seconds)
                    {
                        let delays = status::budget_check_delays(
                            seconds,
                            status::Delays {
                                next_poll_seconds: output.next_poll_seconds,
                                backstop_seconds: output.backstop_seconds,
                            },
                            event.options.min_poll_seconds,
                        );
                        output.next_poll_seconds = delays.next_poll_seconds;
                        output.backstop_seconds = delays.backstop_seconds;
                    }
                }
                output.cost = Some(cost);
            }
            // The cost never fails a check: the run goes on, or ends, without it.
            Err(e) => tracing::warn!(error = %e, "the run's cost could not be read"),
        }
    }
    if overrun.is_some() {
        output.phase = Phase::Failed;
        output.finished = true;
        failure = Some(RunFailure::BudgetExceeded);
    }
    let log_uri = cluster.log_uri.clone();
    let with_error = |o: &mut CheckOutput| {
        o.error = failure.map(|name| {
            // The cause ends up in the execution's Cause, which Step Functions cuts at 32,768 characters: the first
            // failed steps, and how many more there are.
            let mut failed: Vec<&StepOutcome> = Vec::new();
            let mut size = 0;
            let unsuccessful: Vec<&StepOutcome> =
                o.steps.iter().filter(|s| s.state != "COMPLETED").collect();
            for s in &unsuccessful {
                size += payload::size_of(s);
                if size > payload::CAUSE_STEPS_BUDGET && !failed.is_empty() {
                    break;
                }
                failed.push(s);
            }
            let mut cause = json!({
                "clusterId": o.cluster_id,
                "clusterState": o.cluster_state,
                "reason": o.reason,
                "logUri": log_uri,
                "failedSteps": failed,
            });
            if failed.len() < unsuccessful.len() {
                cause["moreFailedSteps"] = json!(unsuccessful.len() - failed.len());
            }
            if let Some(over) = &overrun {
                cause["overrun"] = json!(over);
            }
            cause["cost"] = json!(o.cost);
            RunError { name, cause }
        });
    };
    with_error(&mut output);
    fit(&mut output, with_error);
    output.run_end = run_end_line(event, &cluster.name, &output, now);
    Ok(output)
}

/// The run-end line (metrics.rs `run_ended`) of a check that found the run over and read its cost; `None`
/// otherwise. The pipeline is the cluster's name.
fn run_end_line(
    event: &CheckEvent,
    pipeline: &str,
    output: &CheckOutput,
    now: DateTime<Utc>,
) -> Option<Value> {
    let cost = output.cost.as_ref().filter(|_| output.finished)?;
    let outcome = output.error.as_ref().map_or("SUCCEEDED".to_string(), |e| {
        dfr_core::error_names::ErrorName::from(e.name).to_string()
    });
    let run = metrics::RunEnded {
        pipeline,
        command: event.mode.command(),
        outcome: &outcome,
        cluster_id: &output.cluster_id,
        duration_seconds: output.elapsed_seconds,
        execution: event.execution.as_deref(),
        cost,
    };
    Some(metrics::run_ended(
        &metrics::stack_from_process_env(),
        &run,
        now,
    ))
}

/// Keeps an answer within [`payload::STATUS_BUDGET`], cutting in this order until it fits: failure messages to
/// 1,024 then 160 characters (the step logs have them whole), step names to 80 characters, then the completed steps
/// are left out, then all but the first 32 of the others. `truncated` says what was cut.
fn fit(output: &mut CheckOutput, rebuild_error: impl Fn(&mut CheckOutput)) {
    let cut_messages = |o: &mut CheckOutput, limit: usize| {
        for f in o.steps.iter_mut().filter_map(|s| s.failure.as_mut()) {
            f.message = f.message.as_deref().map(|m| payload::cut(m, limit));
        }
        format!("failure messages cut to {limit} characters (the step logs have them whole)")
    };
    let ladder: [&dyn Fn(&mut CheckOutput) -> String; 5] = [
        &|o| cut_messages(o, 1024),
        &|o| cut_messages(o, 160),
        &|o| {
            for s in &mut o.steps {
                s.name = payload::cut(&s.name, 80);
            }
            "step names cut to 80 characters".to_string()
        },
        &|o| {
            let before = o.steps.len();
            o.steps.retain(|s| s.state != "COMPLETED");
            format!("{} completed steps left out", before - o.steps.len())
        },
        &|o| {
            let before = o.steps.len();
            o.steps.truncate(32);
            format!("all but the first 32 unsuccessful steps left out ({before} in all)")
        },
    ];
    let mut cuts: Vec<String> = Vec::new();
    for step in ladder {
        if payload::size_of(output) <= payload::STATUS_BUDGET {
            break;
        }
        cuts.push(step(output));
        rebuild_error(output);
    }
    if !cuts.is_empty() {
        output.truncated = Some(format!(
            "{}, to stay within Step Functions' state limit",
            cuts.join("; ")
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_tokens_up_to_2048_characters_are_accepted_as_step_functions_gives_them() {
        let with_token = |token: String| {
            serde_json::from_value::<WaitFor>(serde_json::json!({
                "taskToken": token, "execution": "arn:aws:states:eu-west-1:123456789012:execution:dfr-up:x",
                "checkedAt": null, "seconds": 3600
            }))
        };
        assert_eq!(with_token("A".repeat(2048)).unwrap().task_token.len(), 2048);
        let e = with_token("A".repeat(2049)).unwrap_err();
        assert!(e.to_string().contains("1 to 2048"), "{e}");
        assert!(with_token(String::new()).is_err());
    }

    #[test]
    fn a_runs_end_line_names_the_execution_the_check_is_for_and_a_direct_check_names_none() {
        let arn = "arn:aws:states:eu-west-1:123456789012:execution:dfr-run-transient:nightly";
        let event = |execution: Value| {
            serde_json::from_value::<CheckEvent>(json!({
                "clusterId": "j-1", "mode": "transient", "execution": execution
            }))
        };
        let now = "2026-11-25T11:00:00Z".parse().unwrap();
        let mut ended = output_with(vec![]);
        ended.cost = Some(metrics::a_cost());
        let line = |e: &CheckEvent| run_end_line(e, "nightly", &ended, now).unwrap();
        let polled = event(json!(arn)).unwrap();
        assert_eq!(line(&polled)["Execution"], arn);
        // The request a wait stores (to_json) keeps it: event-router's check of the run names it too.
        let stored: CheckEvent = serde_json::from_value(polled.to_json()).unwrap();
        assert_eq!(line(&stored.after_event())["Execution"], arn);
        assert_eq!(line(&event(Value::Null).unwrap())["Execution"], Value::Null);
        let absent: CheckEvent =
            serde_json::from_value(json!({"clusterId": "j-1", "mode": "transient"})).unwrap();
        assert_eq!(line(&absent)["Execution"], Value::Null);
        let e = event(json!("nightly")).unwrap_err();
        assert!(e.to_string().contains("$$.Execution.Id"), "{e}");
        // No line before the end, nor without a cost.
        let mut running = ended.clone();
        running.finished = false;
        assert_eq!(run_end_line(&polled, "nightly", &running, now), None);
        assert_eq!(
            run_end_line(&polled, "nightly", &output_with(vec![]), now),
            None
        );
    }

    fn step(id: &str) -> StepOutcome {
        serde_json::from_value(json!({"name": id, "id": id, "state": "COMPLETED"})).unwrap()
    }

    fn output_with(steps: Vec<StepOutcome>) -> CheckOutput {
        CheckOutput {
            phase: Phase::Failed,
            finished: true,
            cluster_id: "j-1".into(),
            cluster_state: "TERMINATED".into(),
            reason: Reason {
                code: None,
                message: None,
            },
            steps,
            steps_listed: true,
            polls_since_steps: 0,
            elapsed_seconds: 1,
            next_poll_seconds: 30,
            backstop_seconds: 3600,
            checked_at: "2026-11-25T11:00:00Z".parse().unwrap(),
            error: None,
            failed_checks: 0,
            truncated: None,
            cost: None,
            run_end: None,
        }
    }

    #[test]
    fn an_answer_for_256_steps_with_long_failures_stays_within_its_budget_and_says_what_was_cut() {
        let steps: Vec<StepOutcome> = (0..256)
            .map(|i| {
                serde_json::from_value(json!({
                    "name": format!("{i:03} {}", "n".repeat(252)), "id": format!("s-{i}"),
                    "state": if i % 2 == 0 { "COMPLETED" } else { "FAILED" },
                    "start": "2026-11-25T10:00:00Z", "end": "2026-11-25T11:00:00Z", "durationSeconds": 3600,
                    "failure": {"reason": "Unknown Error", "message": "m".repeat(4096), "logFile": "s3://logs/j-1/steps/s-1/stderr.gz"}
                }))
                .unwrap()
            })
            .collect();
        let mut output = output_with(steps);
        let rebuild = |o: &mut CheckOutput| {
            o.error = Some(RunError {
                name: RunFailure::StepFailed,
                cause: json!({"failedSteps": o.steps.iter().filter(|s| s.state != "COMPLETED").collect::<Vec<_>>()}),
            })
        };
        rebuild(&mut output);
        assert!(payload::size_of(&output) > 4 * payload::STATUS_BUDGET);
        fit(&mut output, rebuild);
        assert!(
            payload::size_of(&output) <= payload::STATUS_BUDGET,
            "{}",
            payload::size_of(&output)
        );
        let said = output.truncated.clone().unwrap();
        assert!(said.contains("failure messages cut"), "{said}");
        assert!(output
            .steps
            .iter()
            .all(|s| s.failure.as_ref().is_none_or(|f| f
                .message
                .as_ref()
                .unwrap()
                .contains("more characters"))));
        // a small answer is left whole
        let mut small = output_with(vec![step("s-1")]);
        fit(&mut small, |_| {});
        assert_eq!(small.truncated, None);
    }

    #[test]
    fn steps_are_reported_in_the_order_the_run_added_them() {
        let ids: Vec<String> = ["s-1", "s-2", "s-3"].map(String::from).to_vec();
        let mut listed = vec![step("s-2"), step("s-3"), step("s-1")];
        in_run_order(&mut listed, Some(&ids));
        assert_eq!(
            listed.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
            ["s-1", "s-2", "s-3"]
        );
        let mut newest_first = vec![step("s-3"), step("s-2"), step("s-1")];
        in_run_order(&mut newest_first, None);
        assert_eq!(newest_first[0].id, "s-1");
    }
}
