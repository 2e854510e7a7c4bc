//! EMR Serverless, driven by the real `aws-sdk-emrserverless` over HTTP: applications and job runs through their
//! states on the virtual clock, client-token idempotency, rate limits, the vCPU quota, events and their faults,
//! billed utilization, driver logs and IAM.

mod common;

use aws_sdk_emrserverless::config::retry::RetryConfig;
use aws_sdk_emrserverless::operation::create_application::builders::CreateApplicationFluentBuilder;
use aws_sdk_emrserverless::primitives::DateTimeFormat;
use aws_sdk_emrserverless::types::{
    ApplicationState, AutoStopConfig, ConfigurationOverrides, InitialCapacityConfig, JobDriver,
    JobRunState, MonitoringConfiguration, S3MonitoringConfiguration, SchedulerConfiguration,
    SparkSubmit, WorkerResourceConfig,
};
use aws_sdk_emrserverless::Client;
use emr_emulator::iam::{Iam, StackContext};
use emr_emulator::{
    EmulatorHandle, EventFaults, Fate, Faults, JobOutcome, JobRunRule, NameMatch, Scenario,
    ServerlessSettings, APPLICATION_STATE_CHANGE, JOB_RUN_STATE_CHANGE,
};
use serde_json::{json, Value};

use common::frozen;

const ROLE: &str = "arn:aws:iam::123456789012:role/emr-serverless-job";

async fn client_with(handle: &EmulatorHandle, access_key_id: &str, retry: RetryConfig) -> Client {
    Client::new(&common::sdk_config(handle, access_key_id, retry).await)
}

async fn start(scenario: Scenario) -> (EmulatorHandle, Client) {
    let emr = frozen().scenario(scenario).start().await.expect("starts");
    let client = client_with(&emr, "AKIDTEST", RetryConfig::disabled()).await;
    (emr, client)
}

const RELEASE: &str = "emr-7.5.0";

/// A CreateApplication of a Spark application of [`RELEASE`].
fn new_app(client: &Client) -> CreateApplicationFluentBuilder {
    client
        .create_application()
        .release_label(RELEASE)
        .r#type("SPARK")
}

/// A new application, CREATED (job runs are refused while it is CREATING).
async fn create_app(emr: &EmulatorHandle, client: &Client, name: &str) -> String {
    let id = new_app(client)
        .name(name)
        .send()
        .await
        .expect("CreateApplication")
        .application_id;
    emr.advance(5.0);
    id
}

fn spark(args: &[&str], parameters: Option<&str>) -> JobDriver {
    JobDriver::SparkSubmit(
        SparkSubmit::builder()
            .entry_point("s3://code/job.py")
            .set_entry_point_arguments(Some(args.iter().map(|a| a.to_string()).collect()))
            .set_spark_submit_parameters(parameters.map(String::from))
            .build()
            .expect("sparkSubmit"),
    )
}

async fn start_job(client: &Client, app: &str, name: &str, driver: JobDriver) -> String {
    client
        .start_job_run()
        .application_id(app)
        .name(name)
        .execution_role_arn(ROLE)
        .job_driver(driver)
        .send()
        .await
        .expect("StartJobRun")
        .job_run_id
}

/// A Spark job run that runs `seconds` (its `--emulator-duration` marker).
async fn start_timed(client: &Client, app: &str, name: &str, seconds: u32) -> String {
    let marker = format!("--emulator-duration={seconds}");
    start_job(client, app, name, spark(&[marker.as_str()], None)).await
}

async fn app_state(client: &Client, app: &str) -> ApplicationState {
    let out = client.get_application().application_id(app).send().await;
    out.expect("GetApplication")
        .application
        .expect("application")
        .state
}

async fn job_run(client: &Client, app: &str, id: &str) -> aws_sdk_emrserverless::types::JobRun {
    let out = client
        .get_job_run()
        .application_id(app)
        .job_run_id(id)
        .send()
        .await;
    out.expect("GetJobRun").job_run.expect("jobRun")
}

/// Every state the job run is seen in, stepping the clock from change to change until it ends (at most 40).
async fn states_until_end(
    emr: &EmulatorHandle,
    client: &Client,
    app: &str,
    id: &str,
) -> Vec<JobRunState> {
    let mut seen = vec![job_run(client, app, id).await.state];
    for _ in 0..40 {
        let last = seen.last().expect("a state").clone();
        if matches!(
            last,
            JobRunState::Success | JobRunState::Failed | JobRunState::Cancelled
        ) {
            break;
        }
        let Some(t) = emr.next_change() else { break };
        emr.advance_to(t);
        let state = job_run(client, app, id).await.state;
        if state != last {
            seen.push(state);
        }
    }
    seen
}

fn job_events(emr: &EmulatorHandle) -> Vec<Value> {
    emr.take_events()
        .into_iter()
        .map(|d| d.event)
        .filter(|e| e["detail-type"] == JOB_RUN_STATE_CHANGE)
        .collect()
}

#[tokio::test]
async fn when_an_application_is_started_stopped_and_deleted_should_pass_through_each_state() {
    let (emr, client) = start(Scenario::default()).await;
    let app = new_app(&client)
        .name("lifecycle")
        .send()
        .await
        .expect("CreateApplication")
        .application_id;
    assert_eq!(app_state(&client, &app).await, ApplicationState::Creating);
    emr.advance(5.0);
    assert_eq!(app_state(&client, &app).await, ApplicationState::Created);
    client
        .start_application()
        .application_id(&app)
        .send()
        .await
        .expect("StartApplication");
    assert_eq!(app_state(&client, &app).await, ApplicationState::Starting);
    emr.advance(60.0);
    assert_eq!(app_state(&client, &app).await, ApplicationState::Started);
    // Deleting a started application is refused.
    let err = client
        .delete_application()
        .application_id(&app)
        .send()
        .await
        .expect_err("started");
    assert!(err.into_service_error().is_validation_exception());
    client
        .stop_application()
        .application_id(&app)
        .send()
        .await
        .expect("StopApplication");
    assert_eq!(app_state(&client, &app).await, ApplicationState::Stopping);
    emr.advance(30.0);
    assert_eq!(app_state(&client, &app).await, ApplicationState::Stopped);
    client
        .delete_application()
        .application_id(&app)
        .send()
        .await
        .expect("DeleteApplication");
    assert_eq!(app_state(&client, &app).await, ApplicationState::Terminated);
    let states: Vec<String> = emr
        .take_events()
        .iter()
        .filter(|d| d.event["detail-type"] == APPLICATION_STATE_CHANGE)
        .map(|d| {
            d.event["detail"]["state"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(
        states,
        [
            "CREATING",
            "CREATED",
            "STARTING",
            "STARTED",
            "STOPPING",
            "STOPPED",
            "TERMINATED"
        ]
    );
    let missing = client
        .get_application()
        .application_id("00nosuchapp00000")
        .send()
        .await
        .expect_err("unknown");
    assert!(missing
        .into_service_error()
        .is_resource_not_found_exception());
}

#[tokio::test]
async fn when_an_application_idles_should_stop_after_its_idle_timeout() {
    let (emr, client) = start(Scenario::default()).await;
    let app = new_app(&client)
        .auto_stop_configuration(
            AutoStopConfig::builder()
                .enabled(true)
                .idle_timeout_minutes(20)
                .build(),
        )
        .send()
        .await
        .expect("CreateApplication")
        .application_id;
    emr.advance(5.0);
    let run = start_timed(&client, &app, "short", 120).await;
    // The job run auto-starts the application.
    assert_eq!(app_state(&client, &app).await, ApplicationState::Starting);
    let states = states_until_end(&emr, &client, &app, &run).await;
    assert_eq!(states.last(), Some(&JobRunState::Success));
    let ended = job_run(&client, &app, &run)
        .await
        .ended_at
        .expect("endedAt");
    emr.advance_to(ended.as_secs_f64() + 20.0 * 60.0 - 1.0);
    assert_eq!(app_state(&client, &app).await, ApplicationState::Started);
    emr.advance(1.0);
    assert_eq!(app_state(&client, &app).await, ApplicationState::Stopping);
}

#[tokio::test]
async fn when_a_job_run_succeeds_should_pass_every_state_and_bill_at_least_a_minute_per_worker() {
    let (emr, client) = start(Scenario::default()).await;
    let app = create_app(&emr, &client, "etl").await;
    let run = start_timed(&client, &app, "short", 30).await;
    let states = states_until_end(&emr, &client, &app, &run).await;
    assert_eq!(
        states,
        [
            JobRunState::Submitted,
            JobRunState::Pending,
            JobRunState::Scheduled,
            JobRunState::Running,
            JobRunState::Success
        ]
    );
    let job = job_run(&client, &app, &run).await;
    assert_eq!(job.total_execution_duration_seconds, Some(30));
    // Default resources: a driver and three executors of 4 vCPUs, 16 GB and 20 GB of disk each.
    let billed = job.billed_resource_utilization.expect("billed");
    let total = job.total_resource_utilization.expect("total");
    assert_eq!(
        billed.v_cpu_hour,
        Some(0.267),
        "16 vCPUs for the minimum minute"
    );
    assert_eq!(billed.memory_gb_hour, Some(1.067), "64 GB for a minute");
    assert_eq!(
        billed.storage_gb_hour,
        Some(0.0),
        "20 GB per worker are free"
    );
    assert_eq!(total.v_cpu_hour, Some(0.133), "16 vCPUs for 30 seconds");
    assert_eq!(total.memory_gb_hour, Some(0.533));
    assert_eq!(total.storage_gb_hour, Some(0.667));
}

#[tokio::test]
async fn when_workers_ask_more_disk_should_bill_the_storage_beyond_the_free_share() {
    let (emr, client) = start(Scenario::default()).await;
    let app = create_app(&emr, &client, "disk").await;
    let params = "--conf spark.emr-serverless.executor.disk=50G --conf spark.executor.instances=2";
    let run = start_job(
        &client,
        &app,
        "disk",
        spark(&["--emulator-duration=3600"], Some(params)),
    )
    .await;
    states_until_end(&emr, &client, &app, &run).await;
    let job = job_run(&client, &app, &run).await;
    let billed = job.billed_resource_utilization.expect("billed");
    // 12 vCPUs, 48 GB, 120 GB of disk of which 3 × 20 GB are free, for an hour.
    assert_eq!(billed.v_cpu_hour, Some(12.0));
    assert_eq!(billed.memory_gb_hour, Some(48.0));
    assert_eq!(billed.storage_gb_hour, Some(60.0));
}

#[tokio::test]
async fn when_a_job_run_is_scripted_to_fail_should_end_failed_with_its_details_and_driver_logs() {
    let scenario = Scenario {
        job_runs: vec![JobRunRule {
            matcher: NameMatch {
                name_contains: Some("shred".into()),
                ..NameMatch::default()
            },
            outcome: Some(JobOutcome::Failed),
            failure_message: Some("java.lang.OutOfMemoryError: Java heap space".into()),
            duration_seconds: Some(90.0),
            ..JobRunRule::default()
        }],
        ..Scenario::default()
    };
    let (emr, client) = start(scenario).await;
    let app = create_app(&emr, &client, "etl").await;
    let overrides = ConfigurationOverrides::builder()
        .monitoring_configuration(
            MonitoringConfiguration::builder()
                .s3_monitoring_configuration(
                    S3MonitoringConfiguration::builder()
                        .log_uri("s3://logs/serverless/")
                        .build(),
                )
                .build(),
        )
        .build();
    let run = client
        .start_job_run()
        .application_id(&app)
        .name("shred-events")
        .execution_role_arn(ROLE)
        .job_driver(spark(&[], None))
        .configuration_overrides(overrides)
        .send()
        .await
        .expect("StartJobRun")
        .job_run_id;
    let by_marker = start_job(
        &client,
        &app,
        "load",
        spark(
            &[
                "--emulator-outcome=FAILED",
                "--emulator-failure-message=bad input",
            ],
            None,
        ),
    )
    .await;
    let states = states_until_end(&emr, &client, &app, &run).await;
    assert_eq!(states.last(), Some(&JobRunState::Failed));
    let job = job_run(&client, &app, &run).await;
    assert_eq!(
        job.state_details,
        "java.lang.OutOfMemoryError: Java heap space"
    );
    assert_eq!(job.total_execution_duration_seconds, Some(90));
    states_until_end(&emr, &client, &app, &by_marker).await;
    let marked = job_run(&client, &app, &by_marker).await;
    assert_eq!(
        (marked.state, marked.state_details.as_str()),
        (JobRunState::Failed, "bad input")
    );
    let (_, logs) = common::admin(&emr, "GET", "/_emulator/step-logs", "").await;
    let keys: Vec<(&str, &str)> = logs["logs"]
        .as_array()
        .expect("logs")
        .iter()
        .map(|l| (l["bucket"].as_str().unwrap(), l["key"].as_str().unwrap()))
        .collect();
    let prefix = format!("serverless/applications/{app}/jobs/{run}/SPARK_DRIVER");
    assert_eq!(
        keys,
        [
            ("logs", format!("{prefix}/stderr.gz").as_str()),
            ("logs", format!("{prefix}/stdout.gz").as_str())
        ],
        "only the run with a logUri has logs"
    );
    let stderr = logs["logs"][0]["text"].as_str().unwrap_or_default();
    assert!(stderr.contains("Java heap space"), "{stderr}");
}

#[tokio::test]
async fn when_a_job_run_is_cancelled_should_go_cancelling_then_cancelled() {
    let (emr, client) = start(Scenario::default()).await;
    let app = create_app(&emr, &client, "etl").await;
    let run = start_job(&client, &app, "long", spark(&[], None)).await;
    // Until it runs.
    for _ in 0..10 {
        if job_run(&client, &app, &run).await.state == JobRunState::Running {
            break;
        }
        emr.advance_to(emr.next_change().expect("a change"));
    }
    assert_eq!(
        job_run(&client, &app, &run).await.state,
        JobRunState::Running
    );
    client
        .cancel_job_run()
        .application_id(&app)
        .job_run_id(&run)
        .send()
        .await
        .expect("CancelJobRun");
    assert_eq!(
        job_run(&client, &app, &run).await.state,
        JobRunState::Cancelling
    );
    emr.advance(5.0);
    let job = job_run(&client, &app, &run).await;
    assert_eq!(job.state, JobRunState::Cancelled);
    assert!(job.billed_resource_utilization.is_some(), "it ran: billed");
    let again = client
        .cancel_job_run()
        .application_id(&app)
        .job_run_id(&run)
        .send()
        .await
        .expect_err("already ended");
    assert!(again.into_service_error().is_validation_exception());
    let states: Vec<Value> = job_events(&emr)
        .iter()
        .map(|e| json!([e["detail"]["previousState"], e["detail"]["state"]]))
        .collect();
    assert_eq!(
        states[states.len() - 2..],
        [
            json!(["RUNNING", "CANCELLING"]),
            json!(["CANCELLING", "CANCELLED"])
        ]
    );
}

#[tokio::test]
async fn when_a_job_run_outlives_its_execution_timeout_should_be_cancelled() {
    let (emr, client) = start(Scenario::default()).await;
    let app = create_app(&emr, &client, "etl").await;
    let run = client
        .start_job_run()
        .application_id(&app)
        .execution_role_arn(ROLE)
        .job_driver(spark(&["--emulator-duration=7200"], None))
        .execution_timeout_minutes(30)
        .send()
        .await
        .expect("StartJobRun")
        .job_run_id;
    let states = states_until_end(&emr, &client, &app, &run).await;
    assert_eq!(
        states[states.len() - 3..],
        [
            JobRunState::Running,
            JobRunState::Cancelling,
            JobRunState::Cancelled
        ]
    );
    let job = job_run(&client, &app, &run).await;
    assert_eq!(job.state_details, "Job run has timed out.");
    assert_eq!(job.total_execution_duration_seconds, Some(30 * 60 + 5));
}

#[tokio::test]
async fn when_the_same_client_token_is_sent_twice_should_make_one_job_run() {
    let (emr, client) = start(Scenario::default()).await;
    let app = create_app(&emr, &client, "etl").await;
    let submit = |name: &'static str| {
        client
            .start_job_run()
            .application_id(&app)
            .client_token("token-1")
            .name(name)
            .execution_role_arn(ROLE)
            .job_driver(spark(&[], None))
            .send()
    };
    let first = submit("load").await.expect("first").job_run_id;
    let second = submit("load").await.expect("second").job_run_id;
    assert_eq!(first, second);
    let other = submit("other")
        .await
        .expect_err("same token, other request");
    assert!(other.into_service_error().is_conflict_exception());
    let runs = client
        .list_job_runs()
        .application_id(&app)
        .send()
        .await
        .expect("ListJobRuns")
        .job_runs;
    assert_eq!(runs.len(), 1);
    assert_eq!(emr.calls().get("StartJobRun").succeeded, 2);
    let by_state = |state: JobRunState| {
        client
            .list_job_runs()
            .application_id(&app)
            .states(state)
            .send()
    };
    let submitted = by_state(JobRunState::Submitted).await.expect("ListJobRuns");
    assert_eq!(submitted.job_runs.len(), 1);
    let running = by_state(JobRunState::Running).await.expect("ListJobRuns");
    assert!(running.job_runs.is_empty());

    // A lost response retried by the SDK (same generated token): still one job run.
    emr.set_faults(Faults::none().with_lost_responses("StartJobRun", 1))
        .expect("faults");
    let retrying = client_with(
        &emr,
        "AKIDTEST",
        RetryConfig::standard().with_max_attempts(3),
    )
    .await;
    retrying
        .start_job_run()
        .application_id(&app)
        .execution_role_arn(ROLE)
        .job_driver(spark(&[], None))
        .send()
        .await
        .expect("retried StartJobRun");
    let calls = emr.calls().get("StartJobRun");
    assert_eq!(calls.lost_responses, 1);
    let runs = client
        .list_job_runs()
        .application_id(&app)
        .send()
        .await
        .expect("ListJobRuns")
        .job_runs;
    assert_eq!(runs.len(), 2, "one more, not two");

    let token_app = |release: &'static str| {
        client
            .create_application()
            .client_token("app-token")
            .release_label(release)
            .r#type("SPARK")
            .send()
    };
    let a = token_app("emr-7.5.0").await.expect("first").application_id;
    let b = token_app("emr-7.5.0").await.expect("second").application_id;
    assert_eq!(a, b);
    assert!(token_app("emr-7.1.0")
        .await
        .expect_err("another request")
        .into_service_error()
        .is_conflict_exception());
}

#[tokio::test]
async fn when_start_job_run_exceeds_its_burst_should_be_throttled_and_counted() {
    let emr = frozen()
        .faults(Faults::none().with_rate_limits())
        .start()
        .await
        .expect("starts");
    let client = client_with(&emr, "AKIDTEST", RetryConfig::disabled()).await;
    let app = create_app(&emr, &client, "etl").await;
    let mut throttled = 0;
    let mut accepted = 0;
    // Burst 25, one more per real second: the first 25 pass, and one of the next 25 is refused unless every
    // call took a second.
    for _ in 0..50 {
        let out = client
            .start_job_run()
            .application_id(&app)
            .execution_role_arn(ROLE)
            .job_driver(spark(&[], None))
            .send()
            .await;
        match out {
            Ok(_) => accepted += 1,
            Err(e) => {
                let code = e.raw_response().map(|r| r.status().as_u16());
                assert_eq!(code, Some(429));
                assert_eq!(
                    e.into_service_error().meta().code(),
                    Some("ThrottlingException")
                );
                throttled += 1;
            }
        }
        if throttled > 0 && accepted >= 25 {
            break;
        }
    }
    assert!(accepted >= 25, "the burst passes: {accepted}");
    assert!(throttled >= 1);
    let stats = emr.calls().get("StartJobRun");
    assert_eq!((stats.succeeded, stats.throttled), (accepted, throttled));
    // EMR Serverless's calls take nothing from EMR's bucket of all its calls.
    assert_eq!(emr.calls().get("CreateApplication").throttled, 0);
}

#[tokio::test]
async fn when_get_job_run_exceeds_its_bucket_should_be_throttled() {
    let mut faults = Faults::none().with_rate_limits();
    faults.rate_limit_overrides.insert(
        "GetJobRun".into(),
        emr_emulator::RateLimit {
            burst: 50.0,
            per_second: 0.0,
        },
    );
    assert_eq!(
        emr_emulator::default_rate_limits()["GetJobRun"],
        emr_emulator::RateLimit {
            burst: 50.0,
            per_second: 10.0
        }
    );
    let emr = frozen().faults(faults).start().await.expect("starts");
    let client = client_with(&emr, "AKIDTEST", RetryConfig::disabled()).await;
    let app = create_app(&emr, &client, "etl").await;
    let run = start_job(&client, &app, "poll", spark(&[], None)).await;
    let mut outcomes = Vec::new();
    for _ in 0..52 {
        let out = client
            .get_job_run()
            .application_id(&app)
            .job_run_id(&run)
            .send()
            .await;
        outcomes.push(out.is_ok());
    }
    assert_eq!(outcomes.iter().filter(|ok| **ok).count(), 50);
    assert_eq!(&outcomes[50..], [false, false]);
    assert_eq!(emr.calls().get("GetJobRun").throttled, 2);
}

#[tokio::test]
async fn when_the_vcpu_quota_is_taken_should_hold_job_runs_in_scheduled_until_capacity_frees() {
    let (emr, client) = start(Scenario::default()).await;
    let app = create_app(&emr, &client, "etl").await;
    // Each run asks the defaults: 16 vCPUs, the whole default quota.
    let first = start_timed(&client, &app, "first", 600).await;
    let second = start_timed(&client, &app, "second", 600).await;
    let too_big = start_job(
        &client,
        &app,
        "big",
        spark(&[], Some("--conf spark.executor.instances=7")),
    )
    .await;
    let states = states_until_end(&emr, &client, &app, &first).await;
    assert_eq!(states.last(), Some(&JobRunState::Success));
    let a = job_run(&client, &app, &first).await;
    assert_eq!(
        job_run(&client, &app, &second).await.state,
        JobRunState::Scheduled
    );
    emr.advance(20.0);
    let b = job_run(&client, &app, &second).await;
    assert_eq!(b.state, JobRunState::Running);
    let (a_end, b_start) = (
        a.ended_at.expect("ended").as_secs_f64(),
        b.started_at.expect("started").as_secs_f64(),
    );
    // The second got capacity when the first ended, then spent its 20 s in SCHEDULED.
    assert_eq!(b_start, a_end + 20.0);
    let big = job_run(&client, &app, &too_big).await;
    assert_eq!(big.state, JobRunState::Failed);
    assert!(
        big.state_details.contains("32 vCPUs"),
        "{}",
        big.state_details
    );
    // An application whose initial capacity is beyond the quota cannot start.
    let worker = WorkerResourceConfig::builder()
        .cpu("4vCPU")
        .memory("16GB")
        .build()
        .expect("worker");
    let warm = new_app(&client)
        .initial_capacity(
            "EXECUTOR",
            InitialCapacityConfig::builder()
                .worker_count(5)
                .worker_configuration(worker)
                .build()
                .expect("capacity"),
        )
        .send()
        .await
        .expect("CreateApplication")
        .application_id;
    emr.advance(5.0);
    let err = client
        .start_application()
        .application_id(&warm)
        .send()
        .await
        .expect_err("20 vCPUs");
    assert!(err
        .into_service_error()
        .is_service_quota_exceeded_exception());
}

#[tokio::test]
async fn a_job_run_uses_its_applications_pre_initialized_workers_first_against_the_quota() {
    let (emr, client) = start(Scenario::default()).await;
    // 3 pre-initialized executors of 4 vCPUs: 12 of the 16-vCPU quota, held once the application starts.
    let worker = WorkerResourceConfig::builder()
        .cpu("4vCPU")
        .memory("16GB")
        .build()
        .expect("worker");
    let warm = new_app(&client)
        .initial_capacity(
            "EXECUTOR",
            InitialCapacityConfig::builder()
                .worker_count(3)
                .worker_configuration(worker)
                .build()
                .expect("capacity"),
        )
        .send()
        .await
        .expect("CreateApplication")
        .application_id;
    emr.advance(5.0);
    // A default run (16 vCPUs) runs on the 12 pre-initialized ones and 4 on demand: the application holds 16, not 28.
    let run = start_timed(&client, &warm, "warm", 600).await;
    let states = states_until_end(&emr, &client, &warm, &run).await;
    assert!(states.contains(&JobRunState::Running), "{states:?}");
    assert_eq!(states.last(), Some(&JobRunState::Success));
}

#[tokio::test]
async fn when_concurrent_runs_are_full_should_queue_job_runs() {
    let (emr, client) = start(Scenario::default()).await;
    let app = new_app(&client)
        .scheduler_configuration(
            SchedulerConfiguration::builder()
                .max_concurrent_runs(1)
                .queue_timeout_minutes(60)
                .build(),
        )
        .send()
        .await
        .expect("CreateApplication")
        .application_id;
    emr.advance(5.0);
    let params = Some("--conf spark.executor.instances=1");
    let first = start_job(&client, &app, "first", spark(&[], params)).await;
    let second = start_job(&client, &app, "second", spark(&[], params)).await;
    emr.advance(1.0);
    assert_eq!(
        job_run(&client, &app, &first).await.state,
        JobRunState::Pending
    );
    assert_eq!(
        job_run(&client, &app, &second).await.state,
        JobRunState::Queued
    );
    states_until_end(&emr, &client, &app, &first).await;
    assert_eq!(
        job_run(&client, &app, &second).await.state,
        JobRunState::Pending
    );
    let queued = job_run(&client, &app, &second).await;
    assert!(queued.queued_duration_milliseconds.unwrap_or_default() > 600_000);
    // The queue timeout: a run that waits more than 60 minutes fails.
    let third = start_timed(&client, &app, "third", 7200).await;
    let fourth = start_timed(&client, &app, "fourth", 60).await;
    emr.advance(3600.0);
    assert_eq!(
        job_run(&client, &app, &fourth).await.state,
        JobRunState::Queued
    );
    emr.advance(60.0);
    let timed_out = job_run(&client, &app, &fourth).await;
    assert_eq!(timed_out.state, JobRunState::Failed);
    assert_eq!(
        timed_out.state_details,
        "Job run timed out after waiting 60 minutes in the queue."
    );
    assert!(
        timed_out.billed_resource_utilization.is_none(),
        "it never ran"
    );
    assert_ne!(
        job_run(&client, &app, &third).await.state,
        JobRunState::Failed
    );
}

#[tokio::test]
async fn when_a_job_runs_should_emit_its_events_in_eventbridge_shape_and_lose_them_to_the_drop_fault(
) {
    let (emr, client) = start(Scenario::default()).await;
    let app = create_app(&emr, &client, "etl").await;
    let run = start_timed(&client, &app, "load", 60).await;
    states_until_end(&emr, &client, &app, &run).await;
    let events = job_events(&emr);
    let pairs: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            (
                e["detail"]["previousState"].as_str().unwrap().to_string(),
                e["detail"]["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected = [
        ("", "SUBMITTED"),
        ("SUBMITTED", "PENDING"),
        ("PENDING", "SCHEDULED"),
        ("SCHEDULED", "RUNNING"),
        ("RUNNING", "SUCCESS"),
    ];
    assert_eq!(pairs, expected.map(|(a, b)| (a.to_string(), b.to_string())));
    let last = events.last().expect("an event");
    assert_eq!(last["source"], "aws.emr-serverless");
    assert_eq!(last["version"], "0");
    assert_eq!(last["account"], "123456789012");
    assert_eq!(last["region"], "eu-west-1");
    assert_eq!(last["resources"], json!([]));
    assert_eq!(last["detail"]["jobRunId"], run);
    assert_eq!(last["detail"]["applicationId"], app);
    assert_eq!(last["detail"]["releaseLabel"], "emr-7.5.0");
    assert_eq!(
        last["detail"]["arn"],
        format!("arn:aws:emr-serverless:eu-west-1:123456789012:/applications/{app}/jobruns/{run}")
    );
    let ended = job_run(&client, &app, &run).await.ended_at.expect("ended");
    let time = ended.fmt(DateTimeFormat::DateTime).expect("time");
    assert_eq!(last["time"], json!(time));

    // Every job run event lost; the application's still come.
    let drop_jobs = EventFaults {
        drop_rate: 1.0,
        detail_types: vec![JOB_RUN_STATE_CHANGE.to_string()],
        ..EventFaults::default()
    };
    emr.set_faults(Faults::none().with_events(drop_jobs, 7))
        .expect("faults");
    let app2 = create_app(&emr, &client, "other").await;
    let run2 = start_timed(&client, &app2, "load", 60).await;
    states_until_end(&emr, &client, &app2, &run2).await;
    let delivered: Vec<String> = emr
        .take_events()
        .iter()
        .map(|d| d.event["detail-type"].as_str().unwrap().to_string())
        .collect();
    assert!(delivered.iter().all(|t| t == APPLICATION_STATE_CHANGE));
    assert!(!delivered.is_empty());
    let dropped = emr
        .event_log()
        .into_iter()
        .filter(|e| e.fate == Fate::Dropped && e.event["detail"]["jobRunId"] == run2)
        .count();
    assert_eq!(dropped, 5);
}

fn allow(action: Value, resource: &str) -> Value {
    json!({"Effect": "Allow", "Action": action, "Resource": resource})
}

fn doc(statements: Vec<Value>) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

#[tokio::test]
async fn when_a_role_lacks_emr_serverless_permissions_should_be_denied() {
    let team_only = doc(vec![
        json!({"Effect": "Allow", "Action": "emr-serverless:*", "Resource": "*",
               "Condition": {"StringEquals": {"aws:ResourceTag/team": "data"}}}),
        json!({"Effect": "Allow", "Action": "emr-serverless:CreateApplication", "Resource": "*",
               "Condition": {"StringEquals": {"aws:RequestTag/team": "data"}}}),
    ]);
    let passer = doc(vec![
        allow(json!("emr-serverless:*"), "*"),
        json!({"Effect": "Allow", "Action": "iam:PassRole", "Resource": ROLE,
               "Condition": {"StringEquals": {"iam:PassedToService": "emr-serverless.amazonaws.com"}}}),
    ]);
    let emr_only = doc(vec![allow(json!("elasticmapreduce:*"), "*")]);
    let iam = Iam::new()
        .principal("AKIDTEAM", "team", vec![team_only])
        .and_then(|i| i.principal("AKIDPASS", "passer", vec![passer]))
        .and_then(|i| i.principal("AKIDEMR", "emr", vec![emr_only]))
        .expect("policies");
    let emr = frozen().iam(iam).start().await.expect("starts");
    let team = client_with(&emr, "AKIDTEAM", RetryConfig::disabled()).await;
    let passer = client_with(&emr, "AKIDPASS", RetryConfig::disabled()).await;
    let emr_role = client_with(&emr, "AKIDEMR", RetryConfig::disabled()).await;

    let denied = new_app(&emr_role)
        .send()
        .await
        .expect_err("no emr-serverless permission");
    assert_eq!(
        denied.raw_response().map(|r| r.status().as_u16()),
        Some(403)
    );
    let message = denied
        .into_service_error()
        .meta()
        .message()
        .unwrap_or_default()
        .to_string();
    assert!(
        message.contains("assumed-role/emr/AKIDEMR is not authorized to perform: emr-serverless:CreateApplication"),
        "{message}"
    );
    // Tagged on create as the policy asks: allowed.
    let app = new_app(&team)
        .tags("team", "data")
        .send()
        .await
        .expect("tagged CreateApplication")
        .application_id;
    let untagged = new_app(&passer).send().await;
    let other_app = untagged.expect("passer may create").application_id;
    emr.advance(5.0);
    // The team's role reaches its tagged application only.
    team.get_application()
        .application_id(&app)
        .send()
        .await
        .expect("tagged");
    let err = team
        .get_application()
        .application_id(&other_app)
        .send()
        .await
        .expect_err("untagged");
    assert_eq!(
        err.into_service_error().meta().code(),
        Some("AccessDeniedException")
    );
    // No iam:PassRole of the runtime role: StartJobRun refused, nothing made.
    let err = team
        .start_job_run()
        .application_id(&app)
        .execution_role_arn(ROLE)
        .job_driver(spark(&[], None))
        .send()
        .await
        .expect_err("PassRole");
    let message = err
        .into_service_error()
        .meta()
        .message()
        .unwrap_or_default()
        .to_string();
    assert!(
        message.contains(&format!("iam:PassRole on resource: {ROLE}")),
        "{message}"
    );
    assert!(emr_role_has_no_runs(&passer, &app).await);
    // With PassRole to emr-serverless.amazonaws.com: allowed.
    passer
        .start_job_run()
        .application_id(&app)
        .execution_role_arn(ROLE)
        .job_driver(spark(&[], None))
        .send()
        .await
        .expect("StartJobRun");
    let created_by = passer
        .list_job_runs()
        .application_id(&app)
        .send()
        .await
        .expect("ListJobRuns")
        .job_runs[0]
        .created_by
        .clone();
    assert_eq!(
        created_by,
        "arn:aws:sts::123456789012:assumed-role/passer/AKIDPASS"
    );
    assert_eq!(emr.calls().get("StartJobRun").denied, 1);
    assert_eq!(emr.calls().get("CreateApplication").denied, 1);
    let stranger = client_with(&emr, "AKIDUNKNOWN", RetryConfig::disabled()).await;
    let err = stranger
        .list_applications()
        .send()
        .await
        .expect_err("unknown key");
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(403));
    assert_eq!(
        err.into_service_error().meta().code(),
        Some("UnrecognizedClientException")
    );
}

#[tokio::test]
async fn when_a_role_of_the_template_calls_emr_serverless_should_be_judged_by_its_statements() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/template.yaml");
    let template = std::fs::read_to_string(path).expect("infra/template.yaml");
    let ctx = StackContext::default();
    let iam = Iam::new()
        .principal_from_template("AKIDLAUNCH", &template, &ctx, "LaunchClusterFunction")
        .expect("principal");
    let emr = frozen().iam(iam).start().await.expect("starts");
    let launch = client_with(&emr, "AKIDLAUNCH", RetryConfig::disabled()).await;
    // Without this stack's tags in the request, launch-cluster's role may not create an application.
    let err = new_app(&launch).send().await.expect_err("untagged");
    assert_eq!(
        err.into_service_error().meta().code(),
        Some("AccessDeniedException")
    );
    assert!(emr.state_json()["serverless"]["applications"]
        .as_array()
        .is_some_and(Vec::is_empty));
    // With them (a run of this stack's serverless-run-transient), it may.
    let execution =
        "arn:aws:states:eu-west-1:123456789012:execution:dataflow-runner-serverless-run-transient:nightly";
    new_app(&launch)
        .tags("dataflow-runner:managed", "true")
        .tags("dataflow-runner:execution", execution)
        .tags("dataflow-runner:run-key", format!("{execution}#1"))
        .send()
        .await
        .expect("granted with the stack's tags");
}

async fn emr_role_has_no_runs(client: &Client, app: &str) -> bool {
    let runs = client.list_job_runs().application_id(app).send().await;
    runs.expect("ListJobRuns").job_runs.is_empty()
}

#[tokio::test]
async fn when_scenario_sets_the_quota_and_durations_should_follow_them() {
    let scenario = Scenario {
        serverless: ServerlessSettings {
            max_concurrent_vcpus: 64.0,
            running_seconds: 120.0,
            ..ServerlessSettings::default()
        },
        ..Scenario::default()
    };
    let (emr, client) = start(scenario).await;
    let app = create_app(&emr, &client, "etl").await;
    let params = Some("--conf spark.executor.instances=7");
    let run = start_job(&client, &app, "big", spark(&[], params)).await;
    let states = states_until_end(&emr, &client, &app, &run).await;
    assert_eq!(states.last(), Some(&JobRunState::Success));
    assert_eq!(
        job_run(&client, &app, &run)
            .await
            .total_execution_duration_seconds,
        Some(120)
    );
}

#[tokio::test]
async fn when_resources_are_tagged_and_listed_should_answer_their_tags_a_page_at_a_time() {
    let (emr, client) = start(Scenario::default()).await;
    let mut apps = Vec::new();
    for name in ["a", "b", "c"] {
        apps.push(create_app(&emr, &client, name).await);
    }
    let run = start_timed(&client, &apps[0], "tagged", 60).await;
    let app_arn = format!(
        "arn:aws:emr-serverless:eu-west-1:123456789012:/applications/{}",
        apps[0]
    );
    let run_arn = format!("{app_arn}/jobruns/{run}");
    for arn in [&app_arn, &run_arn] {
        client
            .tag_resource()
            .resource_arn(arn)
            .tags("team", "data")
            .tags("env", "test")
            .send()
            .await
            .expect("TagResource");
    }
    client
        .untag_resource()
        .resource_arn(&run_arn)
        .tag_keys("env")
        .send()
        .await
        .expect("UntagResource");
    let tags = |arn: String| {
        let client = client.clone();
        async move {
            let out = client
                .list_tags_for_resource()
                .resource_arn(arn)
                .send()
                .await;
            let mut tags: Vec<(String, String)> = out
                .expect("ListTagsForResource")
                .tags
                .unwrap_or_default()
                .into_iter()
                .collect();
            tags.sort();
            tags
        }
    };
    let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
    assert_eq!(
        tags(app_arn.clone()).await,
        [pair("env", "test"), pair("team", "data")]
    );
    assert_eq!(tags(run_arn.clone()).await, [pair("team", "data")]);
    let missing = client
        .list_tags_for_resource()
        .resource_arn(format!("{app_arn}/jobruns/00nosuchrun00000"))
        .send()
        .await
        .expect_err("unknown run");
    assert!(missing
        .into_service_error()
        .is_resource_not_found_exception());

    let first = client
        .list_applications()
        .max_results(2)
        .send()
        .await
        .expect("ListApplications");
    let token = first.next_token.clone().expect("a second page");
    let second = client
        .list_applications()
        .max_results(2)
        .next_token(token)
        .send()
        .await
        .expect("ListApplications");
    assert!(second.next_token.is_none());
    let ids: Vec<String> = first
        .applications
        .iter()
        .chain(&second.applications)
        .map(|a| a.id.clone())
        .collect();
    assert_eq!(ids, [apps[2].as_str(), &apps[1], &apps[0]], "newest first");
}

#[tokio::test]
async fn when_events_are_duplicated_and_delayed_should_deliver_each_twice_later() {
    let faults = EventFaults {
        duplicate_rate: 1.0,
        delay_seconds: 30.0,
        detail_types: vec![APPLICATION_STATE_CHANGE.to_string()],
        ..EventFaults::default()
    };
    let emr = frozen()
        .faults(Faults::none().with_events(faults, 3))
        .start()
        .await
        .expect("starts");
    let client = client_with(&emr, "AKIDTEST", RetryConfig::disabled()).await;
    new_app(&client).send().await.expect("CreateApplication");
    assert!(emr.take_events().is_empty(), "30 s late");
    assert_eq!(emr.pending_events().len(), 2);
    emr.advance(30.0);
    let delivered = emr.take_events();
    assert_eq!(delivered.len(), 2);
    assert_eq!(delivered[0].event["id"], delivered[1].event["id"]);
    assert_eq!(delivered[0].event["detail"]["state"], "CREATING");
    assert_eq!(delivered[0].event["detail"]["previousState"], "");
    assert_eq!(
        delivered[0].event["detail-type"],
        "EMR Serverless Application State Change"
    );
}
