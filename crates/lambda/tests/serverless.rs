//! The EMR Serverless port over its adapter, with the real `aws-sdk-emrserverless` over real HTTP to the emulator:
//! an application's life, job runs to SUCCESS, FAILED and CANCELLED, a lost StartJobRun answer retried with the
//! same client token, throttling and the other error names, and the cost of a finished job run (its prices read
//! from the emulator's Price List through `dfr_prices`).
//!
//! The calls are signed as a test principal with its own policy ([`Function::Serverless`]); one test shows
//! launch-cluster's role refused an application without this stack's tags (the functions' handlers over the port,
//! signed as their own roles, are tests/serverless_functions.rs).

mod common;

use chrono::TimeZone;
use common::*;
use dfr_core::cost::Usd;
use dfr_core::serverless::status::{
    job_run_cost, ApplicationPhase, JobRunPhase, ServerlessPrices, JOB_RUN_NOT_ENDED,
};
use dfr_core::serverless::{client_token, TokenFor};
use dfr_lambda::aws::SdkEmrServerless;
use dfr_lambda::prices::{serverless_prices, ServerlessPriceList};
use dfr_lambda::runtime::Aws;
use dfr_lambda::serverless::{EmrServerless, JobRunInfo};
use emr_emulator::{EmulatorHandle, Faults};
use serde_json::{json, Value};

const EXECUTION: &str =
    "arn:aws:states:eu-west-1:123456789012:execution:dataflow-runner-run-transient:nightly";

async fn serverless(h: &EmulatorHandle, retries: bool) -> (Aws, SdkEmrServerless) {
    let aws = client(h, retries, Function::Serverless).await;
    let port = aws.emr_serverless(None);
    (aws, port)
}

fn application(name: &str) -> Value {
    json!({"name": name, "releaseLabel": "emr-7.5.0", "type": "SPARK", "tags": {"dfr:run": name}})
}

/// A Spark job run's StartJobRun body, with the emulator's markers in its arguments.
fn job(name: &str, markers: &[&str], parameters: Option<&str>) -> Value {
    let mut spark = json!({"entryPoint": "s3://code/job.py", "entryPointArguments": markers});
    if let Some(p) = parameters {
        spark["sparkSubmitParameters"] = json!(p);
    }
    json!({
        "name": name,
        "executionRoleArn": SERVERLESS_JOB_ROLE,
        "jobDriver": {"sparkSubmit": spark},
        "configurationOverrides": {"monitoringConfiguration": {
            "s3MonitoringConfiguration": {"logUri": "s3://logs/serverless/"}
        }}
    })
}

/// A CREATED application of this execution.
async fn created(h: &EmulatorHandle, port: &SdkEmrServerless, name: &str) -> String {
    let token = client_token(&format!("{EXECUTION}-{name}"), TokenFor::CreateApplication);
    let id = port
        .create_application(&application(name), &token)
        .await
        .unwrap();
    h.advance(5.0);
    id
}

/// Steps the emulator's clock from change to change until the run ends (at most 40 changes); every state seen.
async fn until_final(
    h: &EmulatorHandle,
    port: &SdkEmrServerless,
    app: &str,
    run: &str,
) -> (JobRunInfo, Vec<String>) {
    let mut seen: Vec<String> = Vec::new();
    for _ in 0..40 {
        let info = port.get_job_run(app, run).await.unwrap();
        if seen.last() != Some(&info.state) {
            seen.push(info.state.clone());
        }
        if JobRunPhase::of(&info.state).is_final() {
            return (info, seen);
        }
        let next = h.next_change().expect("a run not ended changes later");
        h.advance_to(next);
    }
    panic!("the run did not end: {seen:?}");
}

/// Job run 0 of `app` to its end: its id, and it ended, every state seen: a driver and 3 executors of 4 vCPUs and 16 GB (14g + 10 %), the
/// executors with 50 GB of disk (30 GB billed each beyond the free 20 GB), RUNNING for 600 s.
async fn ten_minute_run(
    h: &EmulatorHandle,
    port: &SdkEmrServerless,
    app: &str,
) -> (String, JobRunInfo, Vec<String>) {
    let body = job(
        "step-0",
        &["--emulator-duration=600"],
        Some("--conf spark.emr-serverless.executor.disk=50G"),
    );
    let token = client_token(EXECUTION, TokenFor::StartJobRun(0));
    let run = port.start_job_run(app, &body, &token).await.unwrap();
    let (info, seen) = until_final(h, port, app, &run).await;
    (run, info, seen)
}

#[tokio::test]
async fn when_an_application_is_created_started_stopped_and_deleted_the_port_reports_each_state() {
    let h = emulator(json!({})).await;
    let (_, port) = serverless(&h, false).await;
    let token = client_token(EXECUTION, TokenFor::CreateApplication);
    let id = port
        .create_application(&application("lifecycle"), &token)
        .await
        .unwrap();
    let again = port
        .create_application(&application("lifecycle"), &token)
        .await
        .unwrap();
    assert_eq!(again, id, "the same token answers the same application");
    let state = |id: String| {
        let port = port.clone();
        async move { port.get_application(&id).await.unwrap().state }
    };
    assert_eq!(state(id.clone()).await, "CREATING");
    h.advance(5.0);
    let app = port.get_application(&id).await.unwrap();
    assert_eq!(
        (
            app.state.as_str(),
            app.kind.as_str(),
            app.release_label.as_str()
        ),
        ("CREATED", "SPARK", "emr-7.5.0")
    );
    assert_eq!(ApplicationPhase::of(&app.state), ApplicationPhase::Ready);
    assert_eq!(
        app.tags,
        vec![("dfr:run".to_string(), "lifecycle".to_string())]
    );
    assert_eq!(app.name.as_deref(), Some("lifecycle"));
    port.start_application(&id).await.unwrap();
    assert_eq!(state(id.clone()).await, "STARTING");
    h.advance(60.0);
    assert_eq!(state(id.clone()).await, "STARTED");
    let started = port.delete_application(&id).await.unwrap_err();
    assert_eq!(started.name(), "EmrRejected", "{started}");
    port.stop_application(&id).await.unwrap();
    assert_eq!(state(id.clone()).await, "STOPPING");
    h.advance(30.0);
    assert_eq!(state(id.clone()).await, "STOPPED");
    port.delete_application(&id).await.unwrap();
    assert_eq!(state(id.clone()).await, "TERMINATED");
    port.delete_application(&id)
        .await
        .expect("deleting a deleted application is done, not an error");
    assert_eq!(h.calls().get("DeleteApplication").succeeded, 1);
}

#[tokio::test]
async fn when_a_job_run_succeeds_the_port_reports_its_utilization_log_uri_and_cost() {
    let h = emulator(json!({})).await;
    let (_, port) = serverless(&h, false).await;
    let app = created(&h, &port, "succeeds").await;
    let (run, info, seen) = ten_minute_run(&h, &port, &app).await;
    assert_eq!(
        seen,
        ["SUBMITTED", "PENDING", "SCHEDULED", "RUNNING", "SUCCESS"]
    );
    assert_eq!(JobRunPhase::of(&info.state), JobRunPhase::Succeeded);
    assert_eq!(
        (info.application_id.as_str(), info.id.as_str()),
        (app.as_str(), run.as_str())
    );
    assert_eq!(info.name.as_deref(), Some("step-0"));
    assert_eq!(info.log_uri.as_deref(), Some("s3://logs/serverless/"));
    assert_eq!(info.total_execution_duration_seconds, Some(600));
    let (started, ended) = (info.started_at.unwrap(), info.ended_at.unwrap());
    assert_eq!((ended - started).num_seconds(), 600);
    let billed = info.billed.expect("billed once ended");
    let hours = 600.0 / 3600.0;
    let round3 = |x: f64| (x * 1000.0).round() / 1000.0;
    assert_eq!(billed.vcpu_hour, round3(16.0 * hours));
    assert_eq!(billed.memory_gb_hour, round3(64.0 * hours));
    assert_eq!(billed.storage_gb_hour, round3(3.0 * 30.0 * hours));
    assert!(info.total.is_some());

    // EMR Serverless's public prices in eu-west-1 (x86_64), as the Price List publishes them.
    let prices = ServerlessPrices {
        region: "eu-west-1".into(),
        architecture: "X86_64".into(),
        prices_as_of: chrono::Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap(),
        per_vcpu_hour: Usd::parse("0.052624").unwrap(),
        per_memory_gb_hour: Usd::parse("0.0057785").unwrap(),
        per_storage_gb_hour: Usd::parse("0.000122").unwrap(),
    };
    let cost = job_run_cost(&billed, Ok(&prices), true);
    let expected = billed.vcpu_hour * 0.052624
        + billed.memory_gb_hour * 0.0057785
        + billed.storage_gb_hour * 0.000122;
    let usd = cost.usd.unwrap();
    assert!(
        (usd - (expected * 10_000.0).round() / 10_000.0).abs() < 1e-9,
        "{usd} for {expected}"
    );
    assert!(cost.is_final && cost.storage_usd.unwrap() > 0.0);
}

#[tokio::test]
async fn when_a_finished_job_run_is_priced_with_the_price_lists_serverless_products_the_cost_is_the_fixtures(
) {
    let h = emulator(json!({})).await;
    let (_, port) = serverless(&h, false).await;
    let app = created(&h, &port, "priced").await;
    // The run of the test above: billed 16 vCPUs × 600/3600 = 2.667 vCPU-hours, 64 GB × 600/3600 = 10.667 memory
    // GB-hours, 3 × 30 GB × 600/3600 = 15 storage GB-hours (EMR Serverless rounds each to 3 decimals).
    let (_, info, _) = ten_minute_run(&h, &port, &app).await;
    let billed = info.billed.expect("billed once ended");
    assert_eq!(
        (
            billed.vcpu_hour,
            billed.memory_gb_hour,
            billed.storage_gb_hour
        ),
        (2.667, 10.667, 15.0)
    );

    // The prices, read as check-status reads a cluster's (its role may call pricing:GetProducts): one GetProducts per
    // meter unit, each answer also carrying EMR on EKS's product of that unit in eu-west-1, passed over.
    let check = client(&h, false, Function::Check).await;
    let before = h.calls().get("GetProducts").succeeded;
    let x86 = serverless_prices(check.prices(), "eu-west-1", "X86_64", now(&h))
        .await
        .unwrap();
    assert_eq!(h.calls().get("GetProducts").succeeded - before, 3);
    // fixtures/prices.json, emrServerless, eu-west-1: 0.052624 per vCPU-hour, 0.0057785 per GB-hour of memory,
    // 0.000122 per GB-hour of storage.
    assert_eq!(
        [
            x86.per_vcpu_hour,
            x86.per_memory_gb_hour,
            x86.per_storage_gb_hour
        ]
        .map(|u| u.to_string()),
        ["0.052624", "0.0057785", "0.000122"]
    );
    let cpu = check
        .prices()
        .serverless_documents("eu-west-1", &["CPUHours"])
        .await
        .unwrap();
    let usage = |d: &String| {
        serde_json::from_str::<Value>(d).unwrap()["product"]["attributes"]["usagetype"].clone()
    };
    assert_eq!(
        cpu.iter().map(usage).collect::<Vec<_>>(),
        [
            json!("EU-EMR-SERVERLESS-vCPUHours"),
            json!("EU-EMR-EKS-EC2-vCPUHours")
        ]
    );
    let cost = job_run_cost(&billed, Ok(&x86), true);
    // 2.667 × 0.052624 = 0.140348208; 10.667 × 0.0057785 = 0.0616392595; 15 × 0.000122 = 0.00183;
    // total 0.2038174675. Each rounded to 4 decimals on its own.
    assert_eq!(
        (cost.vcpu_usd, cost.memory_usd, cost.storage_usd, cost.usd),
        (Some(0.1403), Some(0.0616), Some(0.0018), Some(0.2038))
    );
    assert_eq!(cost.region.as_deref(), Some("eu-west-1"));

    // Had the application been ARM64: 0.0420992 per vCPU-hour, 0.0046228 per GB-hour, storage alike.
    // 2.667 × 0.0420992 = 0.1122785664; 10.667 × 0.0046228 = 0.0493114076; 0.00183; total 0.163419974.
    let arm = serverless_prices(check.prices(), "eu-west-1", "ARM64", now(&h))
        .await
        .unwrap();
    let cost = job_run_cost(&billed, Ok(&arm), true);
    assert_eq!(
        (cost.vcpu_usd, cost.memory_usd, cost.storage_usd, cost.usd),
        (Some(0.1123), Some(0.0493), Some(0.0018), Some(0.1634))
    );
}

#[tokio::test]
async fn when_a_job_run_fails_the_port_reports_failed_with_its_state_details() {
    let h = emulator(json!({})).await;
    let (_, port) = serverless(&h, false).await;
    let app = created(&h, &port, "fails").await;
    let body = job(
        "step-1",
        &[
            "--emulator-outcome=FAILED",
            "--emulator-failure-message=java.lang.OutOfMemoryError: Java heap space",
        ],
        None,
    );
    let token = client_token(EXECUTION, TokenFor::StartJobRun(1));
    let run = port.start_job_run(&app, &body, &token).await.unwrap();
    let (info, seen) = until_final(&h, &port, &app, &run).await;
    assert_eq!(seen.last().map(String::as_str), Some("FAILED"));
    assert_eq!(JobRunPhase::of(&info.state), JobRunPhase::Failed);
    assert!(
        info.state_details
            .as_deref()
            .is_some_and(|d| d.contains("java.lang.OutOfMemoryError")),
        "{:?}",
        info.state_details
    );
    let failed = port.list_job_runs(&app, &["FAILED"]).await.unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].id, run);
    assert_eq!(failed[0].state_details, info.state_details);
}

#[tokio::test]
async fn when_the_start_job_run_answer_is_lost_a_retry_with_the_same_token_starts_one_job_run() {
    let h = emulator(json!({})).await;
    let (_, port) = serverless(&h, false).await;
    let app = created(&h, &port, "lost").await;
    let body = job("step-0", &[], None);
    let token = client_token(EXECUTION, TokenFor::StartJobRun(0));
    h.set_faults(Faults::none().with_lost_responses("StartJobRun", 1))
        .unwrap();
    let lost = port.start_job_run(&app, &body, &token).await.unwrap_err();
    assert_eq!(lost.name(), "EmrUnavailable", "{lost}");
    assert!(lost.retryable(), "the state machine retries it");
    // The retry (the Task's, after the Lambda failed) with the same token.
    let run = port.start_job_run(&app, &body, &token).await.unwrap();
    let runs = port.list_job_runs(&app, &[]).await.unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].id, run);
    let calls = h.calls().get("StartJobRun");
    assert_eq!((calls.calls, calls.lost_responses), (2, 1));

    // The next step's token is another: a second job run.
    let next = client_token(EXECUTION, TokenFor::StartJobRun(1));
    let second = port.start_job_run(&app, &body, &next).await.unwrap();
    assert_ne!(second, run);
    assert_eq!(port.list_job_runs(&app, &[]).await.unwrap().len(), 2);
}

#[tokio::test]
async fn when_the_create_application_answer_is_lost_the_sdk_retry_makes_one_application() {
    let h = emulator(json!({})).await;
    // The SDK's own retries (standard, 3 attempts) resend our token.
    let (_, port) = serverless(&h, true).await;
    h.set_faults(Faults::none().with_lost_responses("CreateApplication", 1))
        .unwrap();
    let token = client_token(EXECUTION, TokenFor::CreateApplication);
    let id = port
        .create_application(&application("retried"), &token)
        .await
        .unwrap();
    let calls = h.calls().get("CreateApplication");
    assert_eq!((calls.calls, calls.lost_responses), (2, 1));
    let state = h.state_json();
    let apps = state["serverless"]["applications"].as_array().unwrap();
    assert_eq!(apps.len(), 1, "one application, not two");
    assert_eq!(apps[0]["applicationId"], json!(id));
}

#[tokio::test]
async fn when_a_job_run_is_cancelled_it_ends_cancelled_and_a_second_cancel_is_harmless() {
    let h = emulator(json!({})).await;
    let (_, port) = serverless(&h, false).await;
    let app = created(&h, &port, "cancel").await;
    let token = client_token(EXECUTION, TokenFor::StartJobRun(0));
    let run = port
        .start_job_run(
            &app,
            &job("long", &["--emulator-duration=3600"], None),
            &token,
        )
        .await
        .unwrap();
    // Until it runs.
    for _ in 0..10 {
        if port.get_job_run(&app, &run).await.unwrap().state == "RUNNING" {
            break;
        }
        h.advance_to(h.next_change().unwrap());
    }
    let not_ended = port.list_job_runs(&app, &JOB_RUN_NOT_ENDED).await.unwrap();
    assert_eq!(not_ended.len(), 1);
    port.cancel_job_run(&app, &run).await.unwrap();
    assert_eq!(
        JobRunPhase::of(&port.get_job_run(&app, &run).await.unwrap().state),
        JobRunPhase::Cancelling
    );
    port.cancel_job_run(&app, &run)
        .await
        .expect("cancelling a cancelling run is harmless");
    let (info, _) = until_final(&h, &port, &app, &run).await;
    assert_eq!(JobRunPhase::of(&info.state), JobRunPhase::Cancelled);
    assert!(
        info.state_details
            .as_deref()
            .is_some_and(|d| d.contains("cancelled")),
        "{:?}",
        info.state_details
    );
    port.cancel_job_run(&app, &run)
        .await
        .expect("cancelling an ended run is done, not an error");
    assert!(port
        .list_job_runs(&app, &JOB_RUN_NOT_ENDED)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn when_emr_serverless_throttles_the_call_is_retryable_and_every_attempt_is_counted() {
    let h = emulator(json!({})).await;
    let (aws, port) = serverless(&h, false).await;
    let app = created(&h, &port, "throttled").await;
    let mut faults = Faults::none().with_throttle_share(1.0, 7);
    faults.operations = vec!["GetApplication".into()];
    h.set_faults(faults.clone()).unwrap();
    let err = port.get_application(&app).await.unwrap_err();
    assert_eq!(err.name(), "EmrThrottled", "{err}");
    assert!(err.retryable());
    assert_eq!(aws.take_emr_throttled(), 1);

    // With the SDK's retries (3 attempts), each throttled attempt counts.
    let (retrying, retrying_port) = serverless(&h, true).await;
    let err = retrying_port.get_application(&app).await.unwrap_err();
    assert_eq!(err.name(), "EmrThrottled");
    assert_eq!(retrying.take_emr_throttled(), 3);
    assert_eq!(h.calls().get("GetApplication").throttled, 4);
}

#[tokio::test]
async fn unknown_ids_invalid_requests_and_the_template_roles_get_their_names() {
    let h = emulator(json!({})).await;
    let (_, port) = serverless(&h, false).await;
    let app = created(&h, &port, "names").await;
    let missing = port
        .get_job_run(&app, "00aaaaaaaaaaaaaa")
        .await
        .unwrap_err();
    assert_eq!(missing.name(), "ClusterNotFound", "{missing}");
    let missing = port.get_application("00bbbbbbbbbbbbbb").await.unwrap_err();
    assert_eq!(missing.name(), "ClusterNotFound", "{missing}");

    // A request EMR Serverless refuses is the config's fault.
    let mut presto = application("presto");
    presto["type"] = json!("PRESTO");
    let token = client_token(EXECUTION, TokenFor::CreateApplication);
    let invalid = port.create_application(&presto, &token).await.unwrap_err();
    assert_eq!(invalid.name(), "InvalidConfig", "{invalid}");
    assert!(!invalid.retryable());

    // launch-cluster's role creates an application only with this stack's run tags in the request.
    let launch = client(&h, false, Function::Launch).await;
    let denied = launch
        .emr_serverless(None)
        .create_application(&application("denied"), &token)
        .await
        .unwrap_err();
    assert_eq!(denied.name(), "AccessDenied", "{denied}");
    assert_eq!(h.calls().get("CreateApplication").denied, 1);
}

#[tokio::test]
async fn a_cleanup_through_the_port_cancels_every_run_not_ended_then_stops_and_deletes_the_application(
) {
    let h = emulator(json!({})).await;
    let (_, port) = serverless(&h, false).await;
    let app = created(&h, &port, "cleanup").await;
    for step in 0..2 {
        let token = client_token(EXECUTION, TokenFor::StartJobRun(step));
        let body = job(&format!("step-{step}"), &["--emulator-duration=3600"], None);
        port.start_job_run(&app, &body, &token).await.unwrap();
    }
    h.advance(30.0);
    // Stopping is refused while runs have not ended.
    let busy = port.stop_application(&app).await.unwrap_err();
    assert_eq!(busy.name(), "EmrRejected", "{busy}");

    let mut changes = 0;
    loop {
        let not_ended = port.list_job_runs(&app, &JOB_RUN_NOT_ENDED).await.unwrap();
        for run in &not_ended {
            port.cancel_job_run(&app, &run.id).await.unwrap();
        }
        let all = port.list_job_runs(&app, &[]).await.unwrap();
        if all.iter().all(|r| JobRunPhase::of(&r.state).is_final()) {
            break;
        }
        changes += 1;
        assert!(changes < 20, "the runs did not end: {all:?}");
        h.advance_to(h.next_change().unwrap());
    }
    let runs = port.list_job_runs(&app, &["CANCELLED"]).await.unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(h.calls().get("CancelJobRun").succeeded, 2);

    port.stop_application(&app).await.unwrap();
    while !ApplicationPhase::deletable(&port.get_application(&app).await.unwrap().state) {
        changes += 1;
        assert!(changes < 40, "the application did not stop");
        h.advance_to(h.next_change().unwrap());
    }
    port.delete_application(&app).await.unwrap();
    assert_eq!(
        ApplicationPhase::of(&port.get_application(&app).await.unwrap().state),
        ApplicationPhase::Ended
    );
}
