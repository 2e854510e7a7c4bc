//! The four functions' `"target": "serverless"` handlers over the real `aws-sdk-emrserverless`, over real HTTP to the
//! emulator, each signed as its own function's role from infra/template.yaml: launch creates the run's application
//! once and refuses a playbook EMR Serverless cannot run before creating anything; start waits for a CREATING
//! application and starts one job run even when its answer is lost; check reports a job run running, succeeded or
//! failed (with its driver logs and cost) and a run past its timeout; cleanup cancels, stops and deletes a created
//! application (repeatable) and leaves a reused one; an application that is not this stack's is refused by IAM.

mod common;

use common::*;
use dfr_lambda::runtime::decode;
use dfr_lambda::serverless::check::{check, CheckEvent, CheckOutput, CheckPhase};
use dfr_lambda::serverless::cleanup::{cleanup, CleanupEvent, CleanupOutput};
use dfr_lambda::serverless::launch::{launch, LaunchEvent, LaunchOutput, OnFailureInput};
use dfr_lambda::serverless::start::{start, StartEvent, StartOutput};
use dfr_lambda::serverless::EmrServerless;
use dfr_lambda::Error;
use emr_emulator::{EmulatorHandle, Faults};
use gotemplate::SystemClock;
use serde_json::{json, Value};

const KEY: &str = "nightly";

fn execution() -> String {
    execution_arn("serverless-run-transient", KEY)
}

fn config(place: Value) -> Value {
    let mut data = json!({
        "region": "eu-west-1",
        "credentials": {"accessKeyId": "env", "secretAccessKey": "env"},
        "executionRoleArn": SERVERLESS_JOB_ROLE,
        "logUri": "s3://logs/sls/",
        "tags": [{"key": "team", "value": "data"}]
    });
    for (k, v) in place.as_object().unwrap() {
        data[k] = v.clone();
    }
    json!({"schema": "iglu:com.dataflowrunner.serverless/ServerlessConfig/jsonschema/1-0-0", "data": data})
}

fn created_config() -> Value {
    config(
        json!({"application": {"name": "nightly", "releaseLabel": "emr-7.5.0", "type": "Spark"}}),
    )
}

/// A spark-submit step whose job run takes `seconds` and ends with `outcome` (the emulator's markers).
fn spark(seconds: u32, outcome: &str) -> Vec<String> {
    [
        "spark-submit",
        "--class",
        "com.example.Main",
        "s3://code/job.jar",
        &format!("--emulator-duration={seconds}"),
        &format!("--emulator-outcome={outcome}"),
    ]
    .map(String::from)
    .to_vec()
}

fn two_steps() -> Value {
    let (a, b) = (spark(600, "SUCCESS"), spark(60, "FAILED"));
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let b: Vec<&str> = b.iter().map(String::as_str).collect();
    playbook(&[
        ("Step 1", "CANCEL_AND_WAIT", &a),
        ("Step 2", "CONTINUE", &b),
    ])
}

fn launch_event(cluster: Value, playbook: Value) -> LaunchEvent {
    decode(
        "launch-cluster",
        json!({"target": "serverless", "cluster": cluster, "playbook": playbook,
               "run": {"key": execution(), "attempt": 1, "executionArn": execution()}}),
    )
    .unwrap()
}

async fn as_(h: &EmulatorHandle, f: Function) -> dfr_lambda::runtime::Aws {
    client(h, false, f).await
}

async fn launched_with(h: &EmulatorHandle, e: &LaunchEvent) -> Result<LaunchOutput, Error> {
    let aws = as_(h, Function::Launch).await;
    launch(e, |r| aws.emr_serverless(r), &NoS3, &SystemClock, &stack()).await
}

/// The run's application, launched and CREATED.
async fn launched(h: &EmulatorHandle) -> LaunchOutput {
    let out = launched_with(h, &launch_event(created_config(), two_steps()))
        .await
        .unwrap();
    h.advance(5.0);
    out
}

fn start_event(out: &LaunchOutput, index: usize) -> StartEvent {
    decode(
        "add-steps",
        json!({"target": "serverless", "applicationId": out.application_id, "region": "eu-west-1",
               "execution": execution(), "index": index,
               "jobRun": serde_json::to_value(&out.job_runs[index]).unwrap()}),
    )
    .unwrap()
}

async fn started(h: &EmulatorHandle, e: &StartEvent) -> Result<StartOutput, Error> {
    let aws = as_(h, Function::AddSteps).await;
    start(e, &aws.emr_serverless(Some("eu-west-1"))).await
}

fn check_event(app: &str, run: &str, since: &str) -> CheckEvent {
    let e = json!({"target": "serverless", "applicationId": app, "region": "eu-west-1", "jobRunId": run,
                   "execution": execution(), "since": since,
                   "options": {"minPollSeconds": 30, "maxPollSeconds": 900}});
    decode("check-status", e).unwrap()
}

async fn checked(h: &EmulatorHandle, e: &CheckEvent) -> Result<CheckOutput, Error> {
    let aws = as_(h, Function::Check).await;
    let prices = aws.list_prices();
    let out = check(
        e,
        &aws.emr_serverless(Some("eu-west-1")),
        &prices,
        now(h),
        0.0,
    )
    .await;
    out
}

fn cleanup_event(app: &str, created: bool, runs: &[&str]) -> CleanupEvent {
    decode(
        "terminate-cluster",
        json!({"target": "serverless", "applicationId": app, "region": "eu-west-1", "created": created,
               "jobRunIds": runs, "execution": execution()}),
    )
    .unwrap()
}

async fn cleaned(h: &EmulatorHandle, e: &CleanupEvent) -> Result<CleanupOutput, Error> {
    let aws = as_(h, Function::Terminate).await;
    cleanup(e, &aws.emr_serverless(Some("eu-west-1"))).await
}

/// Cleanup repeated as the state machine's Retry does, the emulator's clock stepped between tries; every
/// ApplicationNotReady message seen.
async fn cleaned_up(h: &EmulatorHandle, e: &CleanupEvent) -> (CleanupOutput, Vec<String>) {
    let mut not_ready = Vec::new();
    for _ in 0..40 {
        match cleaned(h, e).await {
            Ok(out) => return (out, not_ready),
            Err(Error::ApplicationNotReady(why)) => {
                not_ready.push(why);
                h.advance_to(h.next_change().expect("something is on its way"));
            }
            Err(other) => panic!("{other}"),
        }
    }
    panic!("the cleanup did not end: {not_ready:?}");
}

fn iso(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339()
}

async fn application_state(h: &EmulatorHandle, id: &str) -> String {
    let tester = as_(h, Function::Serverless).await;
    tester
        .emr_serverless(None)
        .get_application(id)
        .await
        .unwrap()
        .state
}

#[tokio::test]
async fn when_launch_is_retried_it_answers_the_same_application_tagged_with_the_run() {
    let h = emulator(json!({})).await;
    let e = launch_event(created_config(), two_steps());
    let first = launched_with(&h, &e).await.unwrap();
    let again = launched_with(&h, &e).await.unwrap();
    assert_eq!(again.application_id, first.application_id);
    assert!(first.created);
    let state = h.state_json();
    assert_eq!(
        state["serverless"]["applications"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let tester = as_(&h, Function::Serverless).await;
    let app = tester
        .emr_serverless(None)
        .get_application(&first.application_id)
        .await
        .unwrap();
    let tag = |k: &str| {
        app.tags
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(tag("dataflow-runner:managed").as_deref(), Some("true"));
    assert_eq!(tag("dataflow-runner:execution"), Some(execution()));
    assert_eq!(tag("team").as_deref(), Some("data"));

    assert_eq!(first.application_name.as_deref(), Some("nightly"));
    assert_eq!(first.log_uri.as_deref(), Some("s3://logs/sls/"));
    let runs = &first.job_runs;
    assert_eq!(
        runs.iter()
            .map(|r| (r.name.as_str(), r.on_failure))
            .collect::<Vec<_>>(),
        [
            ("Step 1", OnFailureInput::Stop),
            ("Step 2", OnFailureInput::Continue)
        ]
    );
    let request = runs[0].request.as_object().unwrap();
    assert!(!request.contains_key("applicationId") && !request.contains_key("clientToken"));
    assert_eq!(request["tags"]["dataflow-runner:managed"], "true");
    assert_eq!(
        request["tags"]["dataflow-runner:execution"],
        json!(execution())
    );
    assert_eq!(request["tags"]["team"], "data");
}

#[tokio::test]
async fn when_the_playbook_has_an_s3_dist_cp_step_launch_refuses_it_before_creating_anything() {
    let h = emulator(json!({})).await;
    let copy = playbook(&[(
        "Copy",
        "CONTINUE",
        &["s3-dist-cp", "--src", "s3://a/", "--dest", "s3://b/"],
    )]);
    let err = launched_with(&h, &launch_event(created_config(), copy))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "InvalidConfig", "{err}");
    let message = err.to_string();
    for part in ["execution input $.playbook", "steps[0]", "s3-dist-cp"] {
        assert!(message.contains(part), "{part}: {message}");
    }
    assert_eq!(h.calls().get("CreateApplication").calls, 0);
}

#[tokio::test]
async fn when_the_application_is_creating_start_answers_application_not_ready_then_starts_once() {
    let h = emulator(json!({})).await;
    let out = launched_with(&h, &launch_event(created_config(), two_steps()))
        .await
        .unwrap();
    let e = start_event(&out, 0);
    let not_ready = started(&h, &e).await.unwrap_err();
    assert_eq!(not_ready.name(), "ApplicationNotReady", "{not_ready}");
    assert!(not_ready.retryable());
    assert_eq!(h.calls().get("StartJobRun").calls, 0);

    h.advance(5.0);
    let run = started(&h, &e).await.unwrap();
    assert_eq!((run.index, run.name.as_str()), (0, "Step 1"));
}

#[tokio::test]
async fn when_the_start_job_run_answer_is_lost_the_retried_start_makes_exactly_one_job_run() {
    let h = emulator(json!({})).await;
    let out = launched(&h).await;
    let e = start_event(&out, 0);
    h.set_faults(Faults::none().with_lost_responses("StartJobRun", 1))
        .unwrap();
    let lost = started(&h, &e).await.unwrap_err();
    assert_eq!(lost.name(), "EmrUnavailable", "{lost}");
    let run = started(&h, &e).await.unwrap();
    let tester = as_(&h, Function::Serverless).await;
    let runs = tester
        .emr_serverless(None)
        .list_job_runs(&out.application_id, &[])
        .await
        .unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].id, run.job_run_id);
    assert_eq!(h.calls().get("StartJobRun").lost_responses, 1);
}

#[tokio::test]
async fn check_reports_a_job_run_running_then_succeeded_with_its_cost_and_another_failed_with_its_logs(
) {
    let h = emulator(json!({})).await;
    let since = iso(now(&h));
    let out = launched(&h).await;
    let app = out.application_id.clone();
    let first = started(&h, &start_event(&out, 0)).await.unwrap().job_run_id;

    let e = check_event(&app, &first, &since);
    let running = checked(&h, &e).await.unwrap();
    assert_eq!(running.phase, CheckPhase::Running, "{running:?}");
    assert!(running.error.is_none() && running.cost.is_none());
    assert!(running.next_poll_seconds >= 30);
    let logs = format!("s3://logs/sls/applications/{app}/jobs/{first}/");
    assert_eq!(running.log_uri.as_deref(), Some(logs.as_str()));

    let mut done = running;
    for _ in 0..40 {
        if done.phase != CheckPhase::Running {
            break;
        }
        h.advance_to(h.next_change().unwrap());
        done = checked(&h, &e).await.unwrap();
    }
    assert_eq!(
        (done.phase, done.state.as_str()),
        (CheckPhase::Succeeded, "SUCCESS")
    );
    let cost = done.cost.expect("an ended job run's cost");
    assert!(
        cost.vcpu_hours > 0.0 && cost.memory_gb_hours > 0.0,
        "{cost:?}"
    );
    let usd: f64 = cost
        .usd
        .expect("priced from the Price List")
        .parse()
        .unwrap();
    assert!(usd > 0.0);

    let second = started(&h, &start_event(&out, 1)).await.unwrap().job_run_id;
    let e = check_event(&app, &second, &since);
    let mut failed = checked(&h, &e).await.unwrap();
    for _ in 0..40 {
        if failed.phase != CheckPhase::Running {
            break;
        }
        h.advance_to(h.next_change().unwrap());
        failed = checked(&h, &e).await.unwrap();
    }
    assert_eq!(
        (failed.phase, failed.state.as_str()),
        (CheckPhase::Failed, "FAILED")
    );
    let error = failed.error.unwrap();
    assert_eq!(error.name.as_str(), "StepFailed");
    let logs = format!("s3://logs/sls/applications/{app}/jobs/{second}/");
    assert!(
        error.cause.contains("Step 2") && error.cause.contains(&logs),
        "{}",
        error.cause
    );
}

#[tokio::test]
async fn check_answers_the_runs_age_for_the_state_machine_to_judge_its_timeout() {
    let h = emulator(json!({})).await;
    let since = now(&h);
    let out = launched(&h).await;
    let run = started(&h, &start_event(&out, 0)).await.unwrap().job_run_id;
    h.advance(60.0);
    let e = check_event(&out.application_id, &run, &iso(since));
    let late = checked(&h, &e).await.unwrap();
    assert_eq!(late.phase, CheckPhase::Running);
    assert_eq!(
        late.elapsed_seconds, 65,
        "the application's 5 s of CREATING, then 60 s"
    );
    assert!(late.error.is_none());
}

#[tokio::test]
async fn cleanup_cancels_stops_and_deletes_a_created_application_and_can_repeat() {
    let h = emulator(json!({})).await;
    let out = launched(&h).await;
    let app = out.application_id.clone();
    let run = started(&h, &start_event(&out, 0)).await.unwrap().job_run_id;
    for _ in 0..20 {
        if application_state(&h, &app).await == "STARTED" {
            break;
        }
        h.advance_to(h.next_change().unwrap());
    }
    assert_eq!(application_state(&h, &app).await, "STARTED");

    let e = cleanup_event(&app, true, &[&run]);
    let first = cleaned(&h, &e).await.unwrap_err();
    assert_eq!(first.name(), "ApplicationNotReady", "{first}");
    assert!(first.to_string().contains(&run), "{first}");
    // Once the job run has ended, the application is stopped...
    for _ in 0..40 {
        match cleaned(&h, &e).await {
            Err(Error::ApplicationNotReady(why)) if why.contains("stopping") => break,
            Err(Error::ApplicationNotReady(_)) => h.advance_to(h.next_change().unwrap()),
            other => panic!("{other:?}"),
        }
    }
    // ... and while it is STOPPING, nothing more happens.
    let stopping = cleaned(&h, &e).await.unwrap_err();
    assert!(
        matches!(&stopping, Error::ApplicationNotReady(why) if why.contains("STOPPING")),
        "{stopping}"
    );
    assert_eq!(h.calls().get("DeleteApplication").calls, 0);
    let (done, _) = cleaned_up(&h, &e).await;
    assert!(done.deleted);
    assert_eq!(application_state(&h, &app).await, "TERMINATED");
    let calls = h.calls();
    assert_eq!(calls.get("CancelJobRun").succeeded, 1);
    assert_eq!(calls.get("StopApplication").succeeded, 1);
    assert_eq!(calls.get("DeleteApplication").succeeded, 1);

    // Repeated: nothing more to do.
    let again = cleaned(&h, &e).await.unwrap();
    assert!(again.deleted && again.cancelled.is_empty());
    let calls = h.calls();
    assert_eq!(calls.get("StopApplication").calls, 1);
    assert_eq!(calls.get("DeleteApplication").calls, 1);
}

/// An application of this stack's (tagged as a run of it made it) that a run reuses.
async fn reusable(h: &EmulatorHandle) -> String {
    let tester = as_(h, Function::Serverless).await;
    let owner = execution_arn("serverless-run-transient", "shared");
    let body = json!({"name": "shared", "releaseLabel": "emr-7.5.0", "type": "SPARK",
                      "tags": {"dataflow-runner:managed": "true", "dataflow-runner:execution": owner}});
    let id = tester
        .emr_serverless(None)
        .create_application(&body, "shared-app")
        .await
        .unwrap();
    h.advance(5.0);
    id
}

#[tokio::test]
async fn cleanup_of_a_reused_application_cancels_the_runs_job_runs_and_never_stops_or_deletes_it() {
    let h = emulator(json!({})).await;
    let id = reusable(&h).await;
    let out = launched_with(
        &h,
        &launch_event(config(json!({"applicationId": id})), two_steps()),
    )
    .await
    .unwrap();
    assert!(!out.created);
    assert_eq!(out.application_id, id);
    assert_eq!(
        h.calls().get("CreateApplication").calls,
        1,
        "only the test's own"
    );
    let run = started(&h, &start_event(&out, 0)).await.unwrap().job_run_id;
    h.advance(30.0);

    let (done, _) = cleaned_up(&h, &cleanup_event(&id, false, &[&run])).await;
    assert!(!done.deleted);
    let calls = h.calls();
    assert_eq!(calls.get("CancelJobRun").succeeded, 1);
    assert_eq!(calls.get("StopApplication").calls, 0);
    assert_eq!(calls.get("DeleteApplication").calls, 0);
    assert_ne!(application_state(&h, &id).await, "TERMINATED");
}

#[tokio::test]
async fn an_application_that_is_not_this_stacks_is_refused_by_iam() {
    let h = emulator(json!({})).await;
    let tester = as_(&h, Function::Serverless).await;
    let port = tester.emr_serverless(None);
    let body = json!({"name": "foreign", "releaseLabel": "emr-7.5.0", "type": "SPARK"});
    let foreign = port.create_application(&body, "foreign-app").await.unwrap();
    h.advance(5.0);
    let job = json!({"name": "theirs", "executionRoleArn": SERVERLESS_JOB_ROLE,
                     "jobDriver": {"sparkSubmit": {"entryPoint": "s3://code/job.py"}}});
    let theirs = port
        .start_job_run(&foreign, &job, "their-run")
        .await
        .unwrap();

    let reuse = launched_with(
        &h,
        &launch_event(config(json!({"applicationId": foreign})), two_steps()),
    )
    .await
    .unwrap_err();
    assert_eq!(reuse.name(), "AccessDenied", "{reuse}");

    let ours = launched(&h).await;
    let mut on_foreign = ours.clone();
    on_foreign.application_id = foreign.clone();
    let start = started(&h, &start_event(&on_foreign, 0)).await.unwrap_err();
    assert_eq!(start.name(), "AccessDenied", "{start}");

    let since = iso(now(&h));
    let read = checked(&h, &check_event(&foreign, &theirs, &since))
        .await
        .unwrap_err();
    assert_eq!(read.name(), "AccessDenied", "{read}");

    let end = cleaned(&h, &cleanup_event(&foreign, true, &[&theirs]))
        .await
        .unwrap_err();
    assert_eq!(end.name(), "AccessDenied", "{end}");
    let end = cleaned(&h, &cleanup_event(&foreign, false, &[&theirs]))
        .await
        .unwrap_err();
    assert_eq!(end.name(), "AccessDenied", "{end}");
    let calls = h.calls();
    for op in ["StopApplication", "DeleteApplication", "CancelJobRun"] {
        assert_eq!(calls.get(op).succeeded, 0, "{op}");
    }
    assert_ne!(application_state(&h, &foreign).await, "TERMINATED");
}

/// Each EMR Serverless statement of the template, taken out in turn: the call that needs it is refused with
/// `AccessDenied` (check-status without its application's architecture still answers, its cost unpriced).
#[tokio::test]
async fn when_a_serverless_statement_is_taken_out_of_the_template_its_call_is_denied() {
    let cases = [
        "CreateOnlyTaggedApplications",
        "ReadApplicationsToReuse",
        "ReadApplicationsToStartOn",
        "JobRunsOnThisStacksApplicationsOnly",
        "PassJobRoleToEmrServerless",
        "ReadThisStacksJobRuns",
        "ReadApplicationArchitecture",
        "EndThisStacksApplicationsOnly",
        "CancelThisStacksJobRunsOnly",
    ];
    for sid in cases {
        let h = emulator_with(json!({}), iam_of(&without_statement(TEMPLATE, sid), &[])).await;
        let denied = match sid {
            "CreateOnlyTaggedApplications" => {
                launched_with(&h, &launch_event(created_config(), two_steps()))
                    .await
                    .map(drop)
            }
            "ReadApplicationsToReuse" => {
                let id = reusable(&h).await;
                launched_with(
                    &h,
                    &launch_event(config(json!({"applicationId": id})), two_steps()),
                )
                .await
                .map(drop)
            }
            "ReadApplicationsToStartOn"
            | "JobRunsOnThisStacksApplicationsOnly"
            | "PassJobRoleToEmrServerless" => {
                let out = launched(&h).await;
                started(&h, &start_event(&out, 0)).await.map(drop)
            }
            "ReadThisStacksJobRuns" | "ReadApplicationArchitecture" => {
                let since = iso(now(&h));
                let out = launched(&h).await;
                let run = started(&h, &start_event(&out, 1)).await.unwrap().job_run_id;
                for _ in 0..20 {
                    match h.next_change() {
                        Some(next) => h.advance_to(next),
                        None => break,
                    }
                }
                let result = checked(&h, &check_event(&out.application_id, &run, &since)).await;
                if sid == "ReadApplicationArchitecture" {
                    let out = result.unwrap();
                    assert_eq!(out.state, "FAILED");
                    let cost = out.cost.expect("the billed utilization, unpriced");
                    assert!(cost.usd.is_none() && cost.vcpu_hours > 0.0, "{cost:?}");
                    continue;
                }
                result.map(drop)
            }
            _ => {
                let out = launched(&h).await;
                let run = started(&h, &start_event(&out, 0)).await.unwrap().job_run_id;
                h.advance(30.0);
                // Created: the application's statement; reused: only the job runs'.
                let created = sid == "EndThisStacksApplicationsOnly";
                cleaned(&h, &cleanup_event(&out.application_id, created, &[&run]))
                    .await
                    .map(drop)
            }
        };
        let e = denied.expect_err(sid);
        assert_eq!(e.name(), "AccessDenied", "{sid}: {e}");
    }
}
