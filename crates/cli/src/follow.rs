//! Following an execution: DescribeExecution for its status, the newest history events for what happened since
//! the last look, folded into a [`Progress`] that the views print.

use std::time::Duration;

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent, HistoryEventType};
use aws_sdk_sfn::Client;
use serde_json::Value;

use crate::cost::{Cost, JobRunCost};

/// One step of the run as the last check reported it (on EMR Serverless: its job run).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepView {
    pub name: String,
    pub state: String,
    pub duration_seconds: Option<i64>,
    /// EMR Serverless: the step's job run, once started.
    pub job_run_id: Option<String>,
    /// EMR Serverless: what the job run cost, once it ended with one.
    pub cost: Option<JobRunCost>,
}

impl StepView {
    /// A job run as a serverless run's output (or failure Cause) lists it.
    fn of_job_run(r: &Value) -> Self {
        StepView {
            name: r["name"].as_str().unwrap_or_default().to_string(),
            state: r["state"].as_str().unwrap_or_default().to_string(),
            job_run_id: r["jobRunId"].as_str().map(str::to_string),
            cost: JobRunCost::of(r),
            ..StepView::default()
        }
    }
}

/// What is known of the run so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    /// The state the execution is in (as the console names it).
    pub state: Option<String>,
    pub cluster_id: Option<String>,
    pub cluster_state: Option<String>,
    /// EMR Serverless: the application the job runs go to.
    pub application_id: Option<String>,
    pub reason: Option<String>,
    pub steps: Vec<StepView>,
    pub launch_attempt: u32,
    pub next_check_seconds: Option<u64>,
    /// Waiting for EMR's events (a callback Task): its backstop, the longest the wait lasts without one.
    pub waiting_for_events: Option<i64>,
    pub elapsed_seconds: Option<i64>,
    /// The last function failure seen (it may have been retried).
    pub last_error: Option<String>,
    /// The last Task state entered.
    pub last_task: Option<String>,
    /// What the run cost, once it ended with one.
    pub cost: Option<Cost>,
}

/// How an execution ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Succeeded(Value),
    Failed { error: String, cause: String },
    Aborted,
    TimedOut,
}

impl Outcome {
    pub fn status(&self) -> &'static str {
        match self {
            Outcome::Succeeded(_) => "SUCCEEDED",
            Outcome::Failed { .. } => "FAILED",
            Outcome::Aborted => "ABORTED",
            Outcome::TimedOut => "TIMED_OUT",
        }
    }
}

/// Something worth a line in the plain view.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Entered(String),
    Launched {
        cluster_id: String,
        attempt: u32,
    },
    Cluster {
        state: String,
        reason: Option<String>,
    },
    Step(StepView),
    /// EMR Serverless: the application was created (or found, to be reused), or deleted.
    Application {
        id: String,
        event: &'static str,
    },
    FunctionFailed {
        state: String,
        error: String,
    },
}

impl Progress {
    /// Folds one history event in; returns what changed.
    pub fn apply(&mut self, event: &HistoryEvent) -> Vec<Change> {
        let mut changes = Vec::new();
        match event.r#type() {
            HistoryEventType::TaskStateEntered
            | HistoryEventType::WaitStateEntered
            | HistoryEventType::ChoiceStateEntered
            | HistoryEventType::PassStateEntered
            | HistoryEventType::FailStateEntered
            | HistoryEventType::SucceedStateEntered => {
                if let Some(d) = event.state_entered_event_details() {
                    let name = d.name().to_string();
                    // A Task entered again (the next check) is no news.
                    if event.r#type() == &HistoryEventType::TaskStateEntered
                        && self.last_task.as_deref() != Some(name.as_str())
                    {
                        changes.push(Change::Entered(name.clone()));
                        self.last_task = Some(name.clone());
                    }
                    self.state = Some(name);
                }
            }
            // A function's answer; a wait for EMR's events (a callback Task) ends with the status event-router or
            // check-status sent (SendTaskSuccess → TaskSucceeded).
            HistoryEventType::LambdaFunctionSucceeded => changes.extend(
                self.apply_output(
                    event
                        .lambda_function_succeeded_event_details()
                        .and_then(|d| d.output()),
                ),
            ),
            HistoryEventType::TaskScheduled => {
                self.waiting_for_events = event
                    .task_scheduled_event_details()
                    .filter(|d| d.resource() == "invoke.waitForTaskToken")
                    .map(|d| d.timeout_in_seconds().unwrap_or(0));
            }
            HistoryEventType::LambdaFunctionScheduled | HistoryEventType::TaskTimedOut => {
                self.waiting_for_events = None;
            }
            HistoryEventType::TaskSucceeded => changes.extend(
                self.apply_output(
                    event
                        .task_succeeded_event_details()
                        .and_then(|d| d.output()),
                ),
            ),
            HistoryEventType::LambdaFunctionFailed => changes.extend(
                event
                    .lambda_function_failed_event_details()
                    .map(|d| self.failed(d.error())),
            ),
            HistoryEventType::TaskFailed => changes.extend(
                event
                    .task_failed_event_details()
                    .map(|d| self.failed(d.error())),
            ),
            _ => {}
        }
        changes
    }

    fn apply_output(&mut self, output: Option<&str>) -> Vec<Change> {
        self.waiting_for_events = None;
        let answer = output
            .and_then(|o| serde_json::from_str::<Value>(o).ok())
            .unwrap_or(Value::Null);
        self.apply_answer(&answer)
    }

    fn failed(&mut self, error: Option<&str>) -> Change {
        let error = error.unwrap_or("Unknown").to_string();
        self.last_error = Some(error.clone());
        Change::FunctionFailed {
            state: self.state.clone().unwrap_or_default(),
            error,
        }
    }

    /// A function's answer: launch-cluster's (a cluster id) or check-status's (phase, cluster state, steps).
    fn apply_answer(&mut self, answer: &Value) -> Vec<Change> {
        let mut changes = Vec::new();
        let text = |v: &Value| v.as_str().map(str::to_string);
        if answer.get("alreadyLaunched").is_some() {
            if let Some(id) = text(&answer["clusterId"]) {
                self.launch_attempt += 1;
                self.cluster_id = Some(id.clone());
                changes.push(Change::Launched {
                    cluster_id: id,
                    attempt: self.launch_attempt,
                });
            }
            return changes;
        }
        if answer.get("applicationId").is_some() || answer.get("jobRunId").is_some() {
            return self.apply_serverless_answer(answer);
        }
        if answer.get("phase").is_none() {
            return changes;
        }
        if let Some(id) = text(&answer["clusterId"]) {
            self.cluster_id = Some(id);
        }
        let state = text(&answer["clusterState"]);
        let reason = text(&answer["reason"]["message"]);
        if state.is_some() && state != self.cluster_state {
            self.cluster_state = state.clone();
            self.reason = reason.clone();
            changes.push(Change::Cluster {
                state: state.unwrap_or_default(),
                reason,
            });
        }
        self.next_check_seconds = answer["nextPollSeconds"].as_u64();
        self.elapsed_seconds = answer["elapsedSeconds"].as_i64();
        if answer["stepsListed"].as_bool() == Some(true) {
            let steps: Vec<StepView> = answer["steps"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| StepView {
                    name: text(&s["name"]).unwrap_or_default(),
                    state: text(&s["state"]).unwrap_or_default(),
                    duration_seconds: s["durationSeconds"].as_i64(),
                    ..StepView::default()
                })
                .collect();
            for s in &steps {
                let before = self.steps.iter().find(|b| b.name == s.name);
                if before.map(|b| &b.state) != Some(&s.state) {
                    changes.push(Change::Step(s.clone()));
                }
            }
            self.steps = steps;
        }
        changes
    }

    /// An answer of a function working on EMR Serverless: launch-cluster's (the application and the job runs to
    /// come), add-steps' (a job run started), check-status' (a job run's state) or terminate-cluster's.
    fn apply_serverless_answer(&mut self, answer: &Value) -> Vec<Change> {
        let mut changes = Vec::new();
        if let Some(id) = answer["applicationId"].as_str() {
            let event = match (answer["jobRuns"].as_array(), answer["deleted"].as_bool()) {
                (Some(runs), _) => {
                    self.steps = runs
                        .iter()
                        .map(|r| StepView {
                            name: r["name"].as_str().unwrap_or_default().to_string(),
                            state: "PENDING".into(),
                            ..StepView::default()
                        })
                        .collect();
                    if answer["created"].as_bool() == Some(false) {
                        "reused"
                    } else {
                        "created"
                    }
                }
                (None, Some(true)) => "deleted",
                _ => return changes,
            };
            self.application_id = Some(id.to_string());
            changes.push(Change::Application {
                id: id.to_string(),
                event,
            });
            return changes;
        }
        let Some(run_id) = answer["jobRunId"].as_str() else {
            return changes;
        };
        // add-steps: the job run of the step at `index` started.
        let started = answer
            .get("phase")
            .is_none()
            .then(|| answer["index"].as_u64())
            .flatten()
            .and_then(|i| self.steps.get_mut(i as usize));
        let (step, state) = match started {
            Some(step) => {
                step.job_run_id = Some(run_id.to_string());
                (step, "SUBMITTED")
            }
            None => {
                self.next_check_seconds = answer["nextPollSeconds"].as_u64();
                let Some(step) = self
                    .steps
                    .iter_mut()
                    .find(|s| s.job_run_id.as_deref() == Some(run_id))
                else {
                    return changes;
                };
                step.cost = JobRunCost::of(answer).or(step.cost.take());
                (step, answer["state"].as_str().unwrap_or_default())
            }
        };
        if step.state != state {
            step.state = state.to_string();
            changes.push(Change::Step(step.clone()));
        }
        changes
    }

    /// How the run ended: the steps as its output reports them, and its cost (output or Cause) when it has one.
    pub fn take_outcome(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Succeeded(output) => self.take_output_steps(output),
            Outcome::Failed { cause, .. } => {
                if let Ok(cause) = serde_json::from_str::<Value>(cause) {
                    self.take_failed_job_run(&cause);
                }
            }
            _ => {}
        }
        self.cost = Cost::of_outcome(outcome);
    }

    /// The job runs and the application of a serverless run's output, when it has them.
    fn take_job_runs(&mut self, document: &Value) {
        if let (Some(id), Some(runs)) = (
            document["applicationId"].as_str(),
            document["jobRuns"].as_array(),
        ) {
            self.application_id = Some(id.to_string());
            self.steps = runs.iter().map(StepView::of_job_run).collect();
        }
    }

    /// The application and the job run that ended a serverless run, from its failure's Cause (which names that one
    /// job run, not the others): its step takes the state the Cause read, when it read one.
    fn take_failed_job_run(&mut self, cause: &Value) {
        let Some(id) = cause["applicationId"].as_str() else {
            return;
        };
        self.application_id = Some(id.to_string());
        let Some(run_id) = cause["jobRunId"].as_str() else {
            return;
        };
        let run = StepView::of_job_run(cause);
        match self.steps.iter_mut().find(|s| {
            s.job_run_id.as_deref() == Some(run_id)
                || (s.job_run_id.is_none() && s.name == run.name)
        }) {
            Some(step) => {
                step.job_run_id = run.job_run_id;
                if !run.state.is_empty() {
                    step.state = run.state;
                }
                step.cost = run.cost.or(step.cost.take());
            }
            None => self.steps.push(run),
        }
    }

    /// The steps as the execution's output reports them, when it has them.
    fn take_output_steps(&mut self, output: &Value) {
        if let Some(steps) = output["steps"].as_array() {
            self.steps = steps
                .iter()
                .map(|s| StepView {
                    name: s["name"].as_str().unwrap_or_default().to_string(),
                    state: s["state"].as_str().unwrap_or_default().to_string(),
                    duration_seconds: s["durationSeconds"].as_i64(),
                    ..StepView::default()
                })
                .collect();
        }
        self.take_job_runs(output);
    }
}

/// The events that happened since `after` (event id), oldest first: the history read newest first, up to where
/// the last look ended.
pub async fn new_events(sfn: &Client, arn: &str, after: i64) -> Result<Vec<HistoryEvent>, String> {
    let mut events = Vec::new();
    let mut token = None;
    'pages: loop {
        let page = sfn
            .get_execution_history()
            .execution_arn(arn)
            .reverse_order(true)
            .max_results(100)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| crate::stack::aws_error("GetExecutionHistory", &e))?;
        for e in page.events() {
            if e.id() <= after {
                break 'pages;
            }
            events.push(e.clone());
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    events.reverse();
    Ok(events)
}

/// The execution's end, once it has one.
pub async fn ended(sfn: &Client, arn: &str) -> Result<Option<Outcome>, String> {
    let d = sfn
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .map_err(|e| crate::stack::aws_error("DescribeExecution", &e))?;
    Ok(match d.status() {
        ExecutionStatus::Succeeded => Some(Outcome::Succeeded(
            d.output()
                .and_then(|o| serde_json::from_str(o).ok())
                .unwrap_or(Value::Null),
        )),
        ExecutionStatus::Failed => Some(Outcome::Failed {
            error: d.error().unwrap_or("Failed").to_string(),
            cause: d.cause().unwrap_or_default().to_string(),
        }),
        ExecutionStatus::Aborted => Some(Outcome::Aborted),
        ExecutionStatus::TimedOut => Some(Outcome::TimedOut),
        _ => None,
    })
}

/// How often to look: `DATAFLOW_RUNNER_POLL_SECONDS` (fractions allowed; tests shorten it), 5 s by default.
pub fn poll_interval() -> Duration {
    std::env::var("DATAFLOW_RUNNER_POLL_SECONDS")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(Duration::from_secs(5))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sfn::types::{LambdaFunctionSucceededEventDetails, StateEnteredEventDetails};

    fn at(id: i64) -> aws_sdk_sfn::primitives::DateTime {
        aws_sdk_sfn::primitives::DateTime::from_secs(1_700_000_000 + id)
    }

    fn answered(id: i64, output: Value) -> HistoryEvent {
        HistoryEvent::builder()
            .id(id)
            .timestamp(at(id))
            .r#type(HistoryEventType::LambdaFunctionSucceeded)
            .lambda_function_succeeded_event_details(
                LambdaFunctionSucceededEventDetails::builder()
                    .output(output.to_string())
                    .build(),
            )
            .build()
            .unwrap()
    }

    #[test]
    fn a_serverless_run_is_followed_job_run_by_job_run_to_its_costs() {
        use serde_json::json;
        let mut p = Progress::default();
        let launched = json!({"applicationId": "00f1", "region": null, "created": true, "applicationName": "n",
            "logUri": null, "jobRuns": [{"name": "Stage", "onFailure": "stop", "request": {}},
                                       {"name": "Load", "onFailure": "stop", "request": {}}]});
        assert_eq!(
            p.apply(&answered(1, launched)),
            vec![Change::Application {
                id: "00f1".into(),
                event: "created"
            }]
        );
        assert_eq!(p.steps.len(), 2);
        assert_eq!(p.steps[1].state, "PENDING");
        let started = p.apply(&answered(
            2,
            json!({"jobRunId": "00j1", "index": 0, "name": "Stage"}),
        ));
        assert!(
            matches!(&started[..], [Change::Step(s)] if s.state == "SUBMITTED" && s.job_run_id.as_deref() == Some("00j1")),
            "{started:?}"
        );
        let check = |state: &str, phase: &str, cost: Value| {
            json!({"phase": phase, "state": state, "stateDetails": null, "nextPollSeconds": 30, "jobRunId": "00j1",
                   "logUri": null, "cost": cost, "error": null})
        };
        assert_eq!(
            p.apply(&answered(3, check("RUNNING", "running", Value::Null)))
                .len(),
            1
        );
        assert!(p
            .apply(&answered(4, check("RUNNING", "running", Value::Null)))
            .is_empty());
        assert_eq!(p.next_check_seconds, Some(30));
        let cost = json!({"vcpuHours": 1, "memoryGbHours": 4, "storageGbHours": 0, "usd": "0.05"});
        p.apply(&answered(5, check("SUCCESS", "succeeded", cost.clone())));
        assert_eq!(
            (
                p.steps[0].state.as_str(),
                p.steps[0].cost.as_ref().and_then(|c| c.usd)
            ),
            ("SUCCESS", Some(0.05))
        );
        assert_eq!(p.cluster_id, None, "no cluster in a serverless run");
        let deleted = json!({"applicationId": "00f1", "deleted": true, "cancelled": []});
        assert_eq!(
            p.apply(&answered(6, deleted)),
            vec![Change::Application {
                id: "00f1".into(),
                event: "deleted"
            }]
        );
        // The end: the output's job runs, as the definition reports them.
        let output = json!({"applicationId": "00f1", "region": "eu-west-1", "jobRuns": [
            {"name": "Stage", "jobRunId": "00j1", "state": "SUCCESS", "stateDetails": null, "logUri": null, "cost": cost},
            {"name": "Load", "jobRunId": "00j2", "state": "SUCCESS", "stateDetails": null, "logUri": null, "cost": cost}]});
        p.take_outcome(&Outcome::Succeeded(output));
        assert_eq!(
            p.steps.iter().map(|s| s.state.as_str()).collect::<Vec<_>>(),
            ["SUCCESS", "SUCCESS"]
        );
        assert_eq!(p.steps[1].job_run_id.as_deref(), Some("00j2"));
        assert_eq!(p.cost, None, "a serverless run's costs are its job runs'");
    }

    #[test]
    fn a_run_is_followed_from_its_events() {
        let mut p = Progress::default();
        let entered = HistoryEvent::builder()
            .id(1)
            .timestamp(at(1))
            .r#type(HistoryEventType::TaskStateEntered)
            .state_entered_event_details(
                StateEnteredEventDetails::builder()
                    .name("Launch cluster")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        assert_eq!(
            p.apply(&entered),
            vec![Change::Entered("Launch cluster".into())]
        );
        let launched = answered(
            2,
            serde_json::json!({"clusterId": "j-1", "alreadyLaunched": false}),
        );
        assert_eq!(
            p.apply(&launched),
            vec![Change::Launched {
                cluster_id: "j-1".into(),
                attempt: 1
            }]
        );
        let check = |state: &str, steps: Value| {
            serde_json::json!({"phase": "running", "clusterId": "j-1", "clusterState": state, "reason": {"message": null},
                               "steps": steps, "stepsListed": !steps.as_array().unwrap().is_empty(), "nextPollSeconds": 60})
        };
        let changes = p.apply(&answered(
            3,
            check(
                "RUNNING",
                serde_json::json!([{"name": "Enrich", "state": "RUNNING"}]),
            ),
        ));
        assert_eq!(changes.len(), 2, "{changes:?}");
        assert!(
            p.apply(&answered(4, check("RUNNING", serde_json::json!([]))))
                .is_empty(),
            "nothing new"
        );
        assert_eq!(p.steps[0].state, "RUNNING");
        assert_eq!(p.next_check_seconds, Some(60));
        // waiting for EMR's events: the view says so, with the backstop
        let waiting = HistoryEvent::builder()
            .id(5)
            .timestamp(at(5))
            .r#type(HistoryEventType::TaskScheduled)
            .task_scheduled_event_details(
                aws_sdk_sfn::types::TaskScheduledEventDetails::builder()
                    .resource_type("lambda")
                    .resource("invoke.waitForTaskToken")
                    .region("eu-west-1")
                    .parameters("{}")
                    .timeout_in_seconds(3600)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        assert!(p.apply(&waiting).is_empty());
        assert_eq!(p.waiting_for_events, Some(3600));
        // the end, as a wait for EMR's events receives it (SendTaskSuccess → TaskSucceeded)
        let ended = HistoryEvent::builder()
            .id(5)
            .timestamp(at(5))
            .r#type(HistoryEventType::TaskSucceeded)
            .task_succeeded_event_details(
                aws_sdk_sfn::types::TaskSucceededEventDetails::builder()
                    .resource_type("lambda")
                    .resource("invoke.waitForTaskToken")
                    .output(
                        check(
                            "TERMINATING",
                            serde_json::json!([{"name": "Enrich", "state": "COMPLETED"}]),
                        )
                        .to_string(),
                    )
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        assert_eq!(p.apply(&ended).len(), 2);
        assert_eq!(
            (p.cluster_state.as_deref(), p.steps[0].state.as_str()),
            (Some("TERMINATING"), "COMPLETED")
        );
        assert_eq!(p.waiting_for_events, None);
    }
}
