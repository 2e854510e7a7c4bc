//! Cluster and step lifecycle, observed through the real aws-sdk-emr client.

mod common;

use std::time::Duration;

use aws_sdk_emr::types::{
    ActionOnFailure as Aof, AutoTerminationPolicy, ClusterState as Cs, StepState,
};
use common::*;
use emr_emulator::{Emulator, Scenario};

const READY_AFTER: f64 = 300.0 + 180.0;

#[tokio::test]
async fn when_transient_cluster_runs_three_steps_should_terminate_with_all_steps_completed() {
    // Real clock at 20,000×: the whole run (39 virtual minutes) takes about 0.12 s.
    let (_emr, client) = start(Emulator::builder().time_scale(20_000.0)).await;
    let steps = vec![
        step("Enrich", Aof::TerminateCluster, &[]),
        step("Shred", Aof::TerminateCluster, &[]),
        step("Load", Aof::TerminateCluster, &[]),
    ];
    let id = run(&client, "transient", false, steps).await;

    let mut seen = Vec::new();
    for _ in 0..2000 {
        let s = state(&client, &id).await;
        if seen.last() != Some(&s) {
            seen.push(s.clone());
        }
        if s == Cs::Terminated || s == Cs::TerminatedWithErrors {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let order = [
        Cs::Starting,
        Cs::Bootstrapping,
        Cs::Running,
        Cs::Terminating,
        Cs::Terminated,
    ];
    let ranks: Vec<usize> = seen
        .iter()
        .map(|s| {
            order
                .iter()
                .position(|o| o == s)
                .expect("no WAITING on the way")
        })
        .collect();
    assert!(
        ranks.windows(2).all(|w| w[0] < w[1]),
        "states out of order: {seen:?}"
    );
    assert_eq!(seen.last(), Some(&Cs::Terminated));

    let c = describe(&client, &id).await;
    assert_eq!(reason_code(&c), "ALL_STEPS_COMPLETED");
    assert_eq!(c.auto_terminate, Some(true));
    let timeline = c.status.unwrap().timeline.unwrap();
    let created = secs(timeline.creation_date_time.as_ref().unwrap());
    let ready = secs(timeline.ready_date_time.as_ref().unwrap());
    let ended = secs(timeline.end_date_time.as_ref().unwrap());
    assert!(close(ready - created, READY_AFTER));

    let steps = all_steps(&client, &id).await;
    let names: Vec<_> = steps.iter().map(|s| s.name.clone().unwrap()).collect();
    assert_eq!(
        names,
        ["Load", "Shred", "Enrich"],
        "ListSteps is newest first"
    );
    for (i, s) in steps.iter().rev().enumerate() {
        let status = s.status.as_ref().unwrap();
        assert_eq!(status.state, Some(StepState::Completed));
        let t = status.timeline.as_ref().unwrap();
        let start = secs(t.start_date_time.as_ref().unwrap());
        let end = secs(t.end_date_time.as_ref().unwrap());
        assert!(
            close(start, ready + 600.0 * i as f64),
            "step {i} starts when the previous one ends"
        );
        assert!(close(end - start, 600.0));
        assert!(close(secs(t.creation_date_time.as_ref().unwrap()), created));
    }
    assert!(close(ended, ready + 3.0 * 600.0 + 60.0));
}

#[tokio::test]
async fn when_persistent_cluster_has_no_steps_should_wait_and_stay_waiting() {
    let (emr, client) = start(frozen()).await;
    let id = run(&client, "persistent", true, vec![]).await;
    assert_eq!(state(&client, &id).await, Cs::Starting);
    emr.advance(300.0);
    assert_eq!(state(&client, &id).await, Cs::Bootstrapping);
    emr.advance(180.0);
    let c = describe(&client, &id).await;
    let status = c.status.unwrap();
    assert_eq!(status.state, Some(Cs::Waiting));
    assert_eq!(
        status.state_change_reason.unwrap().message.as_deref(),
        Some("Cluster ready to run steps.")
    );
    emr.advance(30.0 * 86_400.0);
    assert_eq!(state(&client, &id).await, Cs::Waiting);

    // Work added later runs, and the cluster goes back to WAITING.
    client
        .add_job_flow_steps()
        .job_flow_id(&id)
        .steps(step("Late", Aof::Continue, &[]))
        .send()
        .await
        .unwrap();
    let c = describe(&client, &id).await;
    let status = c.status.unwrap();
    assert_eq!(status.state, Some(Cs::Running));
    assert_eq!(
        status.state_change_reason.unwrap().message.as_deref(),
        Some("Running step")
    );
    emr.advance(600.0);
    assert_eq!(state(&client, &id).await, Cs::Waiting);
    assert_eq!(step_states(&client, &id).await, ["COMPLETED"]);
}

#[tokio::test]
async fn when_step_fails_with_continue_should_run_the_next_steps_and_end_as_plain_terminated() {
    let (emr, client) = start(frozen()).await;
    let steps = vec![
        step("A", Aof::Continue, &["--emulator-outcome=FAILED"]),
        step("B", Aof::Continue, &[]),
    ];
    let id = run(&client, "continue", false, steps).await;
    emr.advance(READY_AFTER + 1200.0 + 60.0);
    let c = describe(&client, &id).await;
    // EMR's quirk: a transient cluster whose step failed still ends TERMINATED / ALL_STEPS_COMPLETED.
    assert_eq!(c.status.as_ref().unwrap().state, Some(Cs::Terminated));
    assert_eq!(reason_code(&c), "ALL_STEPS_COMPLETED");
    assert_eq!(step_states(&client, &id).await, ["FAILED", "COMPLETED"]);
}

#[tokio::test]
async fn when_step_fails_with_cancel_and_wait_should_cancel_pending_steps_and_wait() {
    let (emr, client) = start(frozen()).await;
    let steps = vec![
        step("A", Aof::CancelAndWait, &["--emulator-outcome=FAILED"]),
        step("B", Aof::CancelAndWait, &[]),
        step("C", Aof::CancelAndWait, &[]),
    ];
    let id = run(&client, "persistent", true, steps).await;
    emr.advance(READY_AFTER + 600.0);
    assert_eq!(state(&client, &id).await, Cs::Waiting);
    assert_eq!(
        step_states(&client, &id).await,
        ["FAILED", "CANCELLED", "CANCELLED"]
    );
    emr.advance(86_400.0);
    assert_eq!(state(&client, &id).await, Cs::Waiting);
}

#[tokio::test]
async fn when_transient_step_fails_with_cancel_and_wait_should_terminate_with_all_steps_completed()
{
    let (emr, client) = start(frozen()).await;
    let steps = vec![
        step("A", Aof::CancelAndWait, &["--emulator-outcome=FAILED"]),
        step("B", Aof::CancelAndWait, &[]),
    ];
    let id = run(&client, "transient", false, steps).await;
    emr.advance(READY_AFTER + 600.0);
    assert_eq!(state(&client, &id).await, Cs::Terminating);
    emr.advance(60.0);
    let c = describe(&client, &id).await;
    assert_eq!(c.status.as_ref().unwrap().state, Some(Cs::Terminated));
    assert_eq!(reason_code(&c), "ALL_STEPS_COMPLETED");
    assert_eq!(step_states(&client, &id).await, ["FAILED", "CANCELLED"]);
}

#[tokio::test]
async fn when_step_fails_with_terminate_cluster_should_end_with_errors_and_step_failure() {
    for action in [Aof::TerminateCluster, Aof::TerminateJobFlow] {
        let (emr, client) = start(frozen()).await;
        let steps = vec![
            step("A", Aof::Continue, &[]),
            step(
                "B",
                action.clone(),
                &["--emulator-outcome=FAILED", "--emulator-duration=120"],
            ),
            step("C", Aof::Continue, &[]),
        ];
        let id = run(&client, "persistent", true, steps).await;
        emr.advance(READY_AFTER + 600.0 + 120.0);
        let c = describe(&client, &id).await;
        assert_eq!(
            c.status.as_ref().unwrap().state,
            Some(Cs::Terminating),
            "{action:?}"
        );
        assert_eq!(reason_code(&c), "STEP_FAILURE");
        emr.advance(60.0);
        assert_eq!(state(&client, &id).await, Cs::TerminatedWithErrors);
        assert_eq!(
            step_states(&client, &id).await,
            ["COMPLETED", "FAILED", "CANCELLED"]
        );
    }
}

#[tokio::test]
async fn when_step_fails_should_report_failure_details_with_log_file_under_log_uri() {
    let scenario = Scenario::from_json(
        r#"{"steps":[{"match":{"nameContains":"Shred"},"outcome":"FAILED","durationSeconds":3600,
             "failureReason":"java.lang.OutOfMemoryError","failureMessage":"Java heap space"}]}"#,
    )
    .unwrap();
    let (emr, client) = start(frozen().scenario(scenario)).await;
    let id = run(
        &client,
        "nightly",
        true,
        vec![step("Shred events", Aof::CancelAndWait, &[])],
    )
    .await;
    emr.advance(READY_AFTER + 3599.0);
    assert_eq!(step_states(&client, &id).await, ["RUNNING"]);
    emr.advance(1.0);
    let steps = all_steps(&client, &id).await;
    let status = steps[0].status.as_ref().unwrap();
    assert_eq!(status.state, Some(StepState::Failed));
    let details = status.failure_details.as_ref().unwrap();
    assert_eq!(
        details.reason.as_deref(),
        Some("java.lang.OutOfMemoryError")
    );
    assert_eq!(details.message.as_deref(), Some("Java heap space"));
    let step_id = steps[0].id.clone().unwrap();
    assert_eq!(
        details.log_file.clone().unwrap(),
        format!("s3://logs-bucket/emr/{id}/steps/{step_id}/stderr.gz")
    );

    // DescribeStep tells the same.
    let described = client
        .describe_step()
        .cluster_id(&id)
        .step_id(&step_id)
        .send()
        .await
        .unwrap()
        .step
        .unwrap();
    assert_eq!(
        described
            .status
            .unwrap()
            .failure_details
            .unwrap()
            .reason
            .as_deref(),
        Some("java.lang.OutOfMemoryError")
    );
    assert_eq!(described.action_on_failure, Some(Aof::CancelAndWait));
}

#[tokio::test]
async fn when_failure_is_unscripted_should_report_unknown_error() {
    let (emr, client) = start(frozen()).await;
    let id = run(
        &client,
        "c",
        true,
        vec![step("A", Aof::Continue, &["--emulator-outcome=FAILED"])],
    )
    .await;
    emr.advance(READY_AFTER + 600.0);
    let steps = all_steps(&client, &id).await;
    let details = steps[0]
        .status
        .as_ref()
        .unwrap()
        .failure_details
        .clone()
        .unwrap();
    assert_eq!(details.reason.as_deref(), Some("Unknown Error"));
}

#[tokio::test]
async fn when_bootstrap_fails_for_the_first_cluster_of_a_name_should_succeed_on_relaunch() {
    let scenario = Scenario::from_json(r#"{"clusters":[{"match":{"name":"nightly"},"bootstrapFailures":1,"bootstrapSeconds":480}]}"#)
        .unwrap();
    let (emr, client) = start(frozen().scenario(scenario)).await;
    let first = client
        .run_job_flow()
        .name("nightly")
        .log_uri("s3://logs-bucket/emr/")
        .release_label("emr-6.15.0")
        .instances(instances(false))
        .bootstrap_actions(
            aws_sdk_emr::types::BootstrapActionConfig::builder()
                .name("Install deps")
                .script_bootstrap_action(
                    aws_sdk_emr::types::ScriptBootstrapActionConfig::builder()
                        .path("s3://b/install.sh")
                        .build(),
                )
                .build(),
        )
        .steps(step("A", Aof::TerminateCluster, &[]))
        .send()
        .await
        .unwrap()
        .job_flow_id
        .unwrap();
    emr.advance(300.0 + 479.0);
    assert_eq!(state(&client, &first).await, Cs::Bootstrapping);
    emr.advance(1.0);
    let c = describe(&client, &first).await;
    assert_eq!(c.status.as_ref().unwrap().state, Some(Cs::Terminating));
    assert_eq!(reason_code(&c), "BOOTSTRAP_FAILURE");
    emr.advance(60.0);
    let c = describe(&client, &first).await;
    let status = c.status.clone().unwrap();
    assert_eq!(status.state, Some(Cs::TerminatedWithErrors));
    assert!(status.timeline.unwrap().ready_date_time.is_none());
    let message = status.state_change_reason.unwrap().message.unwrap();
    assert!(
        message.contains("bootstrap action 1 (Install deps)"),
        "{message}"
    );
    assert!(
        message.contains(&format!("s3://logs-bucket/emr/{first}/node/")),
        "{message}"
    );
    assert_eq!(status.error_details.unwrap().len(), 1);
    assert_eq!(step_states(&client, &first).await, ["CANCELLED"]);

    let second = run(
        &client,
        "nightly",
        false,
        vec![step("A", Aof::TerminateCluster, &[])],
    )
    .await;
    emr.advance(300.0 + 480.0 + 600.0 + 60.0);
    let c = describe(&client, &second).await;
    assert_eq!(c.status.as_ref().unwrap().state, Some(Cs::Terminated));
    assert_eq!(reason_code(&c), "ALL_STEPS_COMPLETED");
}

#[tokio::test]
async fn when_a_bootstrap_action_carries_the_failure_marker_should_fail_bootstrap() {
    let (emr, client) = start(frozen()).await;
    let action = |name: &str, args: &[&str]| {
        aws_sdk_emr::types::BootstrapActionConfig::builder()
            .name(name)
            .script_bootstrap_action(
                aws_sdk_emr::types::ScriptBootstrapActionConfig::builder()
                    .path("s3://b/x.sh")
                    .set_args(Some(args.iter().map(|a| a.to_string()).collect()))
                    .build(),
            )
            .build()
    };
    let id = client
        .run_job_flow()
        .name("marked")
        .instances(instances(true))
        .bootstrap_actions(action("ok", &[]))
        .bootstrap_actions(action("broken", &["--emulator-outcome=FAILED"]))
        .send()
        .await
        .unwrap()
        .job_flow_id
        .unwrap();
    emr.advance(READY_AFTER + 60.0);
    let c = describe(&client, &id).await;
    assert_eq!(reason_code(&c), "BOOTSTRAP_FAILURE");
    let message = c
        .status
        .unwrap()
        .state_change_reason
        .unwrap()
        .message
        .unwrap();
    assert!(message.contains("bootstrap action 2 (broken)"), "{message}");
}

#[tokio::test]
async fn when_an_instance_fails_mid_step_should_interrupt_running_and_cancel_pending_steps() {
    let scenario = Scenario::from_json(
        r#"{"clusters":[{"match":{"nameContains":"flaky"},"instanceFailureAfterSeconds":900}]}"#,
    )
    .unwrap();
    let (emr, client) = start(frozen().scenario(scenario)).await;
    let steps = vec![
        step("A", Aof::Continue, &[]),
        step("B", Aof::Continue, &[]),
        step("C", Aof::Continue, &[]),
    ];
    let id = run(&client, "my-flaky-cluster", false, steps).await;
    emr.advance(READY_AFTER + 900.0);
    let c = describe(&client, &id).await;
    assert_eq!(c.status.as_ref().unwrap().state, Some(Cs::Terminating));
    assert_eq!(reason_code(&c), "INSTANCE_FAILURE");
    assert_eq!(
        step_states(&client, &id).await,
        ["COMPLETED", "INTERRUPTED", "CANCELLED"]
    );
    emr.advance(60.0);
    assert_eq!(state(&client, &id).await, Cs::TerminatedWithErrors);
}

#[tokio::test]
async fn when_cluster_idles_past_its_idle_timeout_should_terminate() {
    let (emr, client) = start(frozen()).await;
    let id = client
        .run_job_flow()
        .name("idle")
        .instances(instances(true))
        .auto_termination_policy(AutoTerminationPolicy::builder().idle_timeout(3600).build())
        .steps(step("A", Aof::Continue, &[]))
        .send()
        .await
        .unwrap()
        .job_flow_id
        .unwrap();
    // Idle time counts from the end of the last step, not from launch.
    emr.advance(READY_AFTER + 600.0 + 3599.0);
    assert_eq!(state(&client, &id).await, Cs::Waiting);
    emr.advance(1.0);
    let c = describe(&client, &id).await;
    assert_eq!(c.status.as_ref().unwrap().state, Some(Cs::Terminating));
    assert_eq!(reason_code(&c), "ALL_STEPS_COMPLETED");
    let message = c
        .status
        .unwrap()
        .state_change_reason
        .unwrap()
        .message
        .unwrap();
    assert!(message.contains("idle timeout"), "{message}");
    emr.advance(60.0);
    assert_eq!(state(&client, &id).await, Cs::Terminated);
    let policy = client
        .get_auto_termination_policy()
        .cluster_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        policy.auto_termination_policy.unwrap().idle_timeout,
        Some(3600)
    );
}

#[tokio::test]
async fn when_terminate_job_flows_is_called_twice_should_succeed_and_interrupt_the_running_step() {
    let (emr, client) = start(frozen()).await;
    let id = run(
        &client,
        "c",
        true,
        vec![step("A", Aof::Continue, &[]), step("B", Aof::Continue, &[])],
    )
    .await;
    emr.advance(READY_AFTER + 10.0);
    client
        .terminate_job_flows()
        .job_flow_ids(&id)
        .send()
        .await
        .expect("first terminate");
    client
        .terminate_job_flows()
        .job_flow_ids(&id)
        .send()
        .await
        .expect("second terminate");
    let c = describe(&client, &id).await;
    assert_eq!(c.status.as_ref().unwrap().state, Some(Cs::Terminating));
    assert_eq!(reason_code(&c), "USER_REQUEST");
    assert_eq!(
        step_states(&client, &id).await,
        ["INTERRUPTED", "CANCELLED"]
    );
    emr.advance(60.0);
    client
        .terminate_job_flows()
        .job_flow_ids(&id)
        .send()
        .await
        .expect("terminate a terminated cluster");
    assert_eq!(state(&client, &id).await, Cs::Terminated);
    // No more steps on a terminated cluster.
    let err = client
        .add_job_flow_steps()
        .job_flow_id(&id)
        .steps(step("X", Aof::Continue, &[]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_emr::error::ProvideErrorMetadata::code(&err),
        Some("ValidationException")
    );
}

#[tokio::test]
async fn when_cluster_is_protected_should_ignore_terminate_job_flows_until_unprotected() {
    let (emr, client) = start(frozen()).await;
    let id = run(&client, "protected", true, vec![]).await;
    client
        .set_termination_protection()
        .job_flow_ids(&id)
        .termination_protected(true)
        .send()
        .await
        .unwrap();
    emr.advance(READY_AFTER);
    client
        .terminate_job_flows()
        .job_flow_ids(&id)
        .send()
        .await
        .expect("terminate is accepted");
    let c = describe(&client, &id).await;
    assert_eq!(c.status.as_ref().unwrap().state, Some(Cs::Waiting));
    assert_eq!(c.termination_protected, Some(true));
    client
        .set_termination_protection()
        .job_flow_ids(&id)
        .termination_protected(false)
        .send()
        .await
        .unwrap();
    client
        .terminate_job_flows()
        .job_flow_ids(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(state(&client, &id).await, Cs::Terminating);
}

#[tokio::test]
async fn when_pending_step_is_cancelled_should_pass_through_cancel_pending_to_cancelled() {
    let (emr, client) = start(frozen()).await;
    let id = run(
        &client,
        "c",
        true,
        vec![step("A", Aof::Continue, &[]), step("B", Aof::Continue, &[])],
    )
    .await;
    emr.advance(READY_AFTER);
    let steps = all_steps(&client, &id).await;
    let (b, a) = (steps[0].id.clone().unwrap(), steps[1].id.clone().unwrap());
    let out = client
        .cancel_steps()
        .cluster_id(&id)
        .step_ids(&b)
        .step_ids("s-NOTASTEP")
        .send()
        .await
        .unwrap();
    let infos = out.cancel_steps_info_list.unwrap();
    assert_eq!(infos[0].status.as_ref().unwrap().as_str(), "SUBMITTED");
    assert_eq!(infos[1].status.as_ref().unwrap().as_str(), "FAILED");
    assert!(infos[1].reason.is_some());
    assert_eq!(
        step_states(&client, &id).await,
        ["RUNNING", "CANCEL_PENDING"]
    );
    emr.advance(5.0);
    assert_eq!(step_states(&client, &id).await, ["RUNNING", "CANCELLED"]);
    emr.advance(600.0);
    assert_eq!(step_states(&client, &id).await, ["COMPLETED", "CANCELLED"]);
    assert_eq!(state(&client, &id).await, Cs::Waiting);
    // Cancelling a finished step fails for that step only.
    let out = client
        .cancel_steps()
        .cluster_id(&id)
        .step_ids(&a)
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.cancel_steps_info_list.unwrap()[0]
            .status
            .as_ref()
            .unwrap()
            .as_str(),
        "FAILED"
    );
}

#[tokio::test]
async fn when_a_running_step_is_cancelled_should_interrupt_it_only_from_release_5_28() {
    let (emr, client) = start(frozen()).await;
    let mut states = Vec::new();
    for label in ["emr-6.15.0", "emr-5.27.0"] {
        let id = client
            .run_job_flow()
            .name(label)
            .release_label(label)
            .instances(instances(true))
            .steps(step("A", Aof::Continue, &[]))
            .steps(step("B", Aof::Continue, &[]))
            .send()
            .await
            .unwrap()
            .job_flow_id
            .unwrap();
        emr.advance(READY_AFTER);
        let steps = all_steps(&client, &id).await;
        let ids: Vec<String> = steps.iter().map(|s| s.id.clone().unwrap()).collect();
        let out = client
            .cancel_steps()
            .cluster_id(&id)
            .set_step_ids(Some(ids))
            .step_cancellation_option(aws_sdk_emr::types::StepCancellationOption::SendInterrupt)
            .send()
            .await
            .unwrap();
        let statuses: Vec<String> = out
            .cancel_steps_info_list
            .unwrap()
            .iter()
            .map(|i| i.status.as_ref().unwrap().as_str().to_string())
            .collect();
        emr.advance(5.0);
        states.push((label, statuses, step_states(&client, &id).await));
    }
    // Statuses newest first (B pending, A running); states oldest first.
    assert_eq!(
        states[0],
        (
            "emr-6.15.0",
            vec!["SUBMITTED".to_string(), "SUBMITTED".to_string()],
            vec!["CANCELLED".to_string(), "CANCELLED".to_string()]
        )
    );
    assert_eq!(
        states[1],
        (
            "emr-5.27.0",
            vec!["SUBMITTED".to_string(), "FAILED".to_string()],
            vec!["RUNNING".to_string(), "CANCELLED".to_string()]
        )
    );
}

#[tokio::test]
async fn when_the_cancellation_option_is_unknown_should_answer_a_validation_error() {
    let (emr, client) = start(frozen()).await;
    let id = run(&client, "c", true, vec![step("A", Aof::Continue, &[])]).await;
    emr.advance(READY_AFTER);
    let a = all_steps(&client, &id).await[0].id.clone().unwrap();
    let err = client
        .cancel_steps()
        .cluster_id(&id)
        .step_ids(&a)
        .step_cancellation_option("KILL".into())
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.into_service_error().meta().code(),
        Some("ValidationException")
    );
    assert_eq!(step_states(&client, &id).await, ["RUNNING"]);
}

#[tokio::test]
async fn when_step_concurrency_is_two_should_run_two_steps_at_once() {
    let (emr, client) = start(frozen()).await;
    let id = client
        .run_job_flow()
        .name("parallel")
        .instances(instances(false))
        .step_concurrency_level(2)
        .steps(step("A", Aof::Continue, &[]))
        .steps(step("B", Aof::Continue, &[]))
        .steps(step("C", Aof::Continue, &[]))
        .send()
        .await
        .unwrap()
        .job_flow_id
        .unwrap();
    emr.advance(READY_AFTER);
    assert_eq!(
        step_states(&client, &id).await,
        ["RUNNING", "RUNNING", "PENDING"]
    );
    emr.advance(600.0);
    assert_eq!(
        step_states(&client, &id).await,
        ["COMPLETED", "COMPLETED", "RUNNING"]
    );
    assert_eq!(describe(&client, &id).await.step_concurrency_level, Some(2));
    emr.advance(600.0 + 60.0);
    assert_eq!(state(&client, &id).await, Cs::Terminated);
}

#[tokio::test]
async fn when_handle_lists_clusters_should_match_what_the_api_says() {
    let (emr, client) = start(frozen()).await;
    let id = run(&client, "snap", true, vec![step("A", Aof::Continue, &[])]).await;
    emr.advance(READY_AFTER + 1.0);
    let snap = emr.cluster(&id).unwrap();
    assert_eq!(snap.state, emr_emulator::ClusterState::Running);
    assert_eq!(snap.steps[0].state, emr_emulator::StepState::Running);
    assert!(close(snap.ready.unwrap() - snap.created, READY_AFTER));
    assert_eq!(emr.clusters().len(), 1);
}
