//! The four handlers over real HTTP: the real aws-sdk-emr client against the local EMR emulator.

mod common;

use common::*;
use dfr_core::status::{Mode, Phase, RunFailure};
use dfr_lambda::add_steps::{add_steps, AddStepsEvent};
use dfr_lambda::aws::SdkEmr;
use dfr_lambda::check::{check_status, CheckEvent, CheckOutput};
use dfr_lambda::launch::LaunchEvent;
use dfr_lambda::runtime::decode;
use dfr_lambda::terminate::{terminate, TerminateEvent};
use emr_emulator::{EmulatorHandle, Faults};
use gotemplate::SystemClock;
use serde_json::{json, Value};

async fn check(
    emr: &SdkEmr,
    h: &EmulatorHandle,
    id: &str,
    mode: Mode,
    step_ids: &[String],
    previous: Option<&CheckOutput>,
) -> CheckOutput {
    let mut e = json!({"clusterId": id, "mode": mode, "stepIds": step_ids});
    if let Some(p) = previous {
        e["previous"] =
            json!({"clusterState": p.cluster_state, "pollsSinceSteps": p.polls_since_steps});
    }
    let e: CheckEvent = decode("check-status", e).unwrap();
    check_status(&e, emr, &common::NoPrices, now(h), 0.0)
        .await
        .unwrap()
}

/// Polls like the state machine does, advancing virtual time by each answer's nextPollSeconds.
async fn poll_until_finished(
    emr: &SdkEmr,
    h: &EmulatorHandle,
    id: &str,
    mode: Mode,
    step_ids: &[String],
) -> (CheckOutput, u32) {
    let mut last = check(emr, h, id, mode, step_ids, None).await;
    let mut polls = 1;
    while !last.finished {
        h.advance(f64::from(last.next_poll_seconds));
        last = check(emr, h, id, mode, step_ids, Some(&last)).await;
        polls += 1;
        assert!(polls < 500, "never finished: {last:?}");
    }
    (last, polls)
}

#[tokio::test]
async fn when_a_transient_run_succeeds_should_report_every_step_and_poll_cheaply() {
    let h = emulator(json!({})).await;
    let aws = aws(&h, true).await;
    let pb = playbook(&[
        ("Stage", "CANCEL_AND_WAIT", &["a"]),
        ("Enrich", "CANCEL_AND_WAIT", &["b"]),
        ("Archive", "CONTINUE", &["c"]),
    ]);
    let out = launch(
        &aws,
        &h,
        &launch_event(cluster_config("nightly"), Some(pb), "transient", "exec-1"),
    )
    .await
    .unwrap();
    assert!(!out.already_launched);
    assert_eq!(out.steps, ["Stage", "Enrich", "Archive"]);
    let snapshot = h.cluster(&out.cluster_id).unwrap();
    assert_eq!(snapshot.steps.len(), 3, "steps are embedded in RunJobFlow");
    let described = aws.check().describe_cluster_for_test(&out.cluster_id).await;
    assert!(described.contains(&("dataflow-runner:managed".to_string(), "true".to_string())));
    assert!(described.contains(&(
        "dataflow-runner:run-key".to_string(),
        "exec-1#1".to_string()
    )));

    h.reset_calls();
    let emr = aws.check();
    let (last, polls) = poll_until_finished(&emr, &h, &out.cluster_id, Mode::Transient, &[]).await;
    assert_eq!(last.phase, Phase::Succeeded);
    assert_eq!(
        last.steps
            .iter()
            .map(|s| s.state.as_str())
            .collect::<Vec<_>>(),
        ["COMPLETED"; 3]
    );
    assert!(last.steps.iter().all(|s| s.duration_seconds == Some(600)));
    let calls = h.calls();
    assert_eq!(
        calls.count("DescribeCluster"),
        u64::from(polls),
        "one DescribeCluster per poll; the run's cost reads what the last one said"
    );
    let cost = last
        .cost
        .as_ref()
        .expect("the end of a run says what it cost");
    assert!(cost.is_final && cost.instance_hours > 0.0, "{cost:?}");
    assert_eq!(calls.count("ListInstances"), 1, "the cost is read once");
    assert!(
        calls.count("ListSteps") <= 3,
        "steps listed only on changes and at the end: {}",
        calls.count("ListSteps")
    );
}

#[tokio::test]
async fn when_launch_is_repeated_for_the_same_run_should_return_the_same_cluster() {
    let h = emulator(json!({})).await;
    let aws = aws(&h, true).await;
    let e = launch_event(cluster_config("nightly"), None, "persistent", "exec-2");
    let first = launch(&aws, &h, &e).await.unwrap();
    let second = launch(&aws, &h, &e).await.unwrap();
    assert_eq!(first.cluster_id, second.cluster_id);
    assert!(second.already_launched);
    assert_eq!(h.calls().count("RunJobFlow"), 1);
    // another run with the same config is another cluster
    let other = up(&aws, &h, "nightly", "exec-3").await;
    assert_ne!(other, first.cluster_id);
}

#[tokio::test]
async fn when_the_run_job_flow_response_is_lost_should_launch_exactly_one_cluster() {
    let h = emulator(json!({})).await;
    h.set_faults(Faults::none().with_lost_responses("RunJobFlow", 1))
        .unwrap();
    let aws = aws(&h, true).await;
    let e = launch_event(cluster_config("nightly"), None, "persistent", "exec-lost");
    // The call that got no answer looks for its cluster before failing, and finds it.
    let first = launch(&aws, &h, &e).await.unwrap();
    assert!(first.already_launched);
    let retried = launch(&aws, &h, &e).await.unwrap();
    assert_eq!(retried.cluster_id, first.cluster_id);
    assert_eq!(h.clusters().len(), 1);
    assert_eq!(
        h.calls().count("RunJobFlow"),
        1,
        "the SDK must not retry RunJobFlow by itself"
    );
}

#[tokio::test]
async fn when_the_config_is_invalid_should_fail_before_any_emr_call() {
    let h = emulator(json!({})).await;
    let aws = aws(&h, true).await;
    let mut bad = cluster_config("nightly");
    bad["data"]["ec2"]["instances"]["core"]["cuont"] = json!(2);
    let err = launch(&aws, &h, &launch_event(bad, None, "persistent", "exec-bad"))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "InvalidConfig");
    assert!(
        err.to_string().contains("data.ec2.instances.core.cuont"),
        "{err}"
    );
    assert!(err.to_string().contains("did you mean `count`?"), "{err}");
    // a malformed event is InvalidConfig too
    let malformed = decode::<LaunchEvent>(
        "launch-cluster",
        json!({"cluster": cluster_config("x"), "lifecycle": "forever", "run": {"key": "k"}}),
    );
    assert_eq!(malformed.unwrap_err().name(), "InvalidConfig");
    let transient_without_playbook = launch(
        &aws,
        &h,
        &launch_event(cluster_config("x"), None, "transient", "k"),
    )
    .await
    .unwrap_err();
    assert_eq!(transient_without_playbook.name(), "InvalidConfig");
    assert_eq!(h.calls().total, 0, "nothing may reach EMR");
}

fn add_event(id: &str, pb: Value, key: &str) -> AddStepsEvent {
    decode(
        "add-steps",
        json!({"clusterId": id, "playbook": pb, "run": {"key": key}}),
    )
    .unwrap()
}

#[tokio::test]
async fn when_add_steps_is_retried_after_a_lost_response_should_queue_the_steps_once() {
    let h = emulator(json!({})).await;
    let aws = aws(&h, true).await;
    let up_id = up(&aws, &h, "shared", "up-1").await;
    h.set_faults(Faults::none().with_lost_responses("AddJobFlowSteps", 1))
        .unwrap();
    let emr = aws.add();
    let e = add_event(
        &up_id,
        playbook(&[("One", "CONTINUE", &[]), ("Two", "CONTINUE", &[])]),
        "run-1",
    );
    let first = add_steps(&e, &emr, &NoS3, &SystemClock, now(&h))
        .await
        .unwrap();
    assert!(
        first.already_added,
        "the call that got no answer finds its steps"
    );
    let retried = add_steps(&e, &emr, &NoS3, &SystemClock, now(&h))
        .await
        .unwrap();
    assert!(retried.already_added);
    assert_eq!(retried.step_ids, first.step_ids);
    assert_eq!(h.cluster(&up_id).unwrap().steps.len(), 2);
    assert_eq!(h.calls().count("AddJobFlowSteps"), 1);
    let names: Vec<String> = h
        .cluster(&up_id)
        .unwrap()
        .steps
        .iter()
        .map(|s| s.name.clone())
        .collect();
    assert_eq!(retried.step_names, names);
    // the same playbook in another run is added again
    let again = add_steps(
        &add_event(
            &up_id,
            playbook(&[("One", "CONTINUE", &[]), ("Two", "CONTINUE", &[])]),
            "run-2",
        ),
        &emr,
        &NoS3,
        &SystemClock,
        now(&h),
    )
    .await
    .unwrap();
    assert!(!again.already_added);
    assert_eq!(h.cluster(&up_id).unwrap().steps.len(), 4);
}

#[tokio::test]
async fn when_sixty_steps_run_should_page_through_all_of_them() {
    let h = emulator(json!({"defaults": {"stepSeconds": 60}})).await;
    let aws = aws(&h, true).await;
    let (emr, add) = (aws.check(), aws.add());
    let names: Vec<String> = (1..=60).map(|i| format!("step {i}")).collect();
    let steps: Vec<(&str, &str, &[&str])> = names
        .iter()
        .map(|n| (n.as_str(), "CONTINUE", &[][..]))
        .collect();
    // transient: the embedded steps, listed in pages of 50
    let out = launch(
        &aws,
        &h,
        &launch_event(
            cluster_config("big"),
            Some(playbook(&steps)),
            "transient",
            "big-1",
        ),
    )
    .await
    .unwrap();
    let (last, _) = poll_until_finished(&emr, &h, &out.cluster_id, Mode::Transient, &[]).await;
    assert_eq!(last.phase, Phase::Succeeded);
    assert_eq!(last.steps.len(), 60);
    assert_eq!(last.steps[0].name, "step 1");
    // run mode: 60 step ids, asked for ten at a time
    let up_id = up(&aws, &h, "big-up", "big-up").await;
    let added = add_steps(
        &add_event(&up_id, playbook(&steps), "big-run"),
        &add,
        &NoS3,
        &SystemClock,
        now(&h),
    )
    .await
    .unwrap();
    assert_eq!(added.step_ids.len(), 60);
    let (last, _) = poll_until_finished(&emr, &h, &up_id, Mode::Run, &added.step_ids).await;
    assert_eq!(last.phase, Phase::Succeeded, "{last:?}");
    assert_eq!(last.steps.len(), 60);
}

#[tokio::test]
async fn when_a_step_fails_with_each_action_on_failure_should_report_step_failed_with_its_log() {
    for action in ["CANCEL_AND_WAIT", "CONTINUE", "TERMINATE_CLUSTER"] {
        let h = emulator(json!({})).await;
        let aws = aws(&h, true).await;
        let pb = playbook(&[
            ("Ok", "CONTINUE", &[]),
            ("Broken", action, &["--emulator-outcome=FAILED"]),
            ("After", "CONTINUE", &[]),
        ]);
        let out = launch(
            &aws,
            &h,
            &launch_event(cluster_config("failing"), Some(pb), "transient", action),
        )
        .await
        .unwrap();
        let (last, _) =
            poll_until_finished(&aws.check(), &h, &out.cluster_id, Mode::Transient, &[]).await;
        assert_eq!(last.phase, Phase::Failed, "{action}");
        let error = last.error.unwrap();
        assert_eq!(error.name, RunFailure::StepFailed, "{action}");
        let failed = &error.cause["failedSteps"];
        assert_eq!(failed[0]["name"], "Broken");
        assert!(
            failed[0]["failure"]["logFile"]
                .as_str()
                .unwrap()
                .starts_with("s3://logs/"),
            "{action}: {failed}"
        );
        let after = last.steps.iter().find(|s| s.name == "After").unwrap();
        let expected = if action == "CONTINUE" {
            "COMPLETED"
        } else {
            "CANCELLED"
        };
        assert_eq!(after.state, expected, "{action}");
    }
}

#[tokio::test]
async fn when_bootstrap_fails_or_an_instance_dies_should_name_the_failure() {
    let h = emulator(json!({"clusters": [
        {"match": {"name": "boot"}, "bootstrapFailures": 1},
        {"match": {"name": "dies"}, "instanceFailureAfterSeconds": 300}
    ]}))
    .await;
    let aws = aws(&h, true).await;
    let emr = aws.check();
    let pb = playbook(&[("Long", "CONTINUE", &["--emulator-duration=3600"])]);
    let boot = launch(
        &aws,
        &h,
        &launch_event(cluster_config("boot"), Some(pb.clone()), "transient", "b"),
    )
    .await
    .unwrap();
    let (last, _) = poll_until_finished(&emr, &h, &boot.cluster_id, Mode::Transient, &[]).await;
    assert_eq!(
        last.error.map(|e| e.name),
        Some(RunFailure::BootstrapFailure)
    );
    let dies = launch(
        &aws,
        &h,
        &launch_event(cluster_config("dies"), Some(pb), "transient", "d"),
    )
    .await
    .unwrap();
    let (last, _) = poll_until_finished(&emr, &h, &dies.cluster_id, Mode::Transient, &[]).await;
    assert_eq!(last.error.map(|e| e.name), Some(RunFailure::ClusterFailed));
    assert_eq!(last.steps[0].state, "INTERRUPTED");
}

#[tokio::test]
async fn when_emr_throttles_or_fails_should_surface_retryable_names() {
    let h = emulator(json!({})).await;
    let aws_no_retry = aws(&h, false).await;
    let up_id = up(&aws_no_retry, &h, "t", "t").await;
    h.set_faults(Faults::none().with_throttle_share(1.0, 7))
        .unwrap();
    let e: CheckEvent = decode("check-status", json!({"clusterId": up_id, "mode": "up"})).unwrap();
    let err = check_status(&e, &aws_no_retry.check(), &common::NoPrices, now(&h), 0.0)
        .await
        .unwrap_err();
    assert_eq!((err.name(), err.retryable()), ("EmrThrottled", true));
    h.set_faults(Faults::none().with_server_error_share(1.0, 500, 7))
        .unwrap();
    let err = check_status(&e, &aws_no_retry.check(), &common::NoPrices, now(&h), 0.0)
        .await
        .unwrap_err();
    assert_eq!((err.name(), err.retryable()), ("EmrUnavailable", true));
    // A load balancer's page without an error code is a server fault too, not a rejection.
    let faults: Faults = serde_json::from_value(json!({
        "serverErrorShare": 1.0, "serverErrorStatus": 502, "serverErrorWithoutCode": true, "seed": 7
    }))
    .unwrap();
    h.set_faults(faults).unwrap();
    let err = check_status(&e, &aws_no_retry.check(), &common::NoPrices, now(&h), 0.0)
        .await
        .unwrap_err();
    assert_eq!(
        (err.name(), err.retryable()),
        ("EmrUnavailable", true),
        "{err}"
    );
    h.set_faults(Faults::none()).unwrap();
    let missing: CheckEvent = decode(
        "check-status",
        json!({"clusterId": "j-NOSUCHCLUSTER", "mode": "up"}),
    )
    .unwrap();
    let err = check_status(
        &missing,
        &aws_no_retry.check(),
        &common::NoPrices,
        now(&h),
        0.0,
    )
    .await
    .unwrap_err();
    // IAM decides before EMR looks: a cluster without this stack's tags, or none at all, is AccessDenied (as on AWS).
    assert_eq!(
        (err.name(), err.retryable()),
        ("AccessDenied", false),
        "{err}"
    );
    assert!(err.to_string().contains("cluster/j-NOSUCHCLUSTER"), "{err}");
}

/// The functions' `EmrThrottled` metric counts every attempt EMR throttled, the SDK's retries included, each once:
/// the count is what the emulator answered.
#[tokio::test]
async fn when_emr_throttles_every_throttled_attempt_should_be_counted_retries_included() {
    let h = emulator(json!({})).await;
    let id = up(&aws(&h, false).await, &h, "t", "t").await;
    // As the functions retry (standard, 3 attempts), with a 1 ms backoff.
    let retry = aws_config::retry::RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(std::time::Duration::from_millis(1));
    let check = common::client_retrying(&h, retry, common::Function::Check).await;
    h.set_faults(Faults::none().with_throttle_share(0.5, 11))
        .unwrap();
    let before = h.calls().throttled;
    let e: CheckEvent = decode("check-status", json!({"clusterId": id, "mode": "up"})).unwrap();
    let mut failed = 0;
    for _ in 0..10 {
        let checked = check_status(&e, &check.emr(None), &common::NoPrices, now(&h), 0.0).await;
        failed += u64::from(checked.is_err());
    }
    let throttled = h.calls().throttled - before;
    assert_eq!(check.take_emr_throttled(), throttled);
    assert!(
        throttled > 3 * failed,
        "some throttled attempts were retried to success: {throttled} throttled, {failed} calls failed"
    );
    assert_eq!(check.take_emr_throttled(), 0, "a take starts over");
}

#[tokio::test]
async fn when_the_poll_counter_is_at_its_maximum_should_not_overflow() {
    let h = emulator(json!({})).await;
    let aws = aws(&h, true).await;
    let id = up(&aws, &h, "counted", "counted").await;
    let e: CheckEvent = decode(
        "check-status",
        json!({"clusterId": id, "mode": "up", "previous": {"clusterState": "STARTING", "pollsSinceSteps": u32::MAX}}),
    )
    .unwrap();
    let out = check_status(&e, &aws.check(), &common::NoPrices, now(&h), 0.0)
        .await
        .unwrap();
    assert_eq!(out.polls_since_steps, u32::MAX);
}

#[tokio::test]
async fn when_asked_to_terminate_should_end_only_managed_clusters() {
    let h = emulator(json!({})).await;
    let aws = aws(&h, true).await;
    let ours = up(&aws, &h, "ours", "exec-t").await;
    let direct = |id: &str, force: bool| {
        TerminateEvent::parse(&json!({"clusterId": id, "force": force})).unwrap()
    };
    let out = end(&aws, &h, &direct(&ours, false)).await.unwrap();
    assert_eq!(out.terminated, vec![ours.clone()]);
    h.advance(120.0);
    let again = end(&aws, &h, &direct(&ours, false)).await.unwrap();
    assert_eq!(
        again.already_terminated,
        vec![ours.clone()],
        "terminating twice is success"
    );

    let theirs = aws
        .operator
        .emr(None)
        .launch_unmanaged_for_test("theirs")
        .await;
    let refused = end(&aws, &h, &direct(&theirs, false)).await.unwrap_err();
    assert_eq!(refused.name(), "ClusterNotManaged");
    // force is an opt-in of the stack: without AllowForceDown, IAM refuses it.
    let denied = end(&aws, &h, &direct(&theirs, true)).await.unwrap_err();
    assert_eq!(denied.name(), "AccessDenied", "{denied}");
    assert!(
        denied
            .to_string()
            .contains("elasticmapreduce:TerminateJobFlows"),
        "{denied}"
    );
    h.advance(120.0);
    let state = h.cluster(&theirs).unwrap().state.to_string();
    assert!(!state.starts_with("TERMINAT"), "{state}");
}

#[tokio::test]
async fn when_the_stack_allows_force_down_should_terminate_a_cluster_it_did_not_launch() {
    let h = emulator_with(json!({}), iam_of(TEMPLATE, &[("AllowForceDown", "true")])).await;
    let aws = aws(&h, true).await;
    let theirs = aws
        .operator
        .emr(None)
        .launch_unmanaged_for_test("theirs")
        .await;
    let event = TerminateEvent::parse(&json!({"clusterId": theirs, "force": true})).unwrap();
    let out = end(&aws, &h, &event).await.unwrap();
    assert_eq!(out.terminated, vec![theirs]);
}

#[tokio::test]
async fn when_an_execution_is_aborted_should_terminate_the_clusters_it_launched() {
    let h = emulator(json!({})).await;
    let aws = aws(&h, true).await;
    let a = up(&aws, &h, "a", "aborted").await;
    let b = up(&aws, &h, "b", "still-running").await;
    // the real shape of the EventBridge event
    let event = json!({
        "version": "0", "id": "315c1398-40ff-a850-213b-158f73e60175",
        "detail-type": "Step Functions Execution Status Change", "source": "aws.states",
        "account": "123456789012", "time": "2026-11-25T10:00:00Z", "region": "eu-west-1",
        "resources": [execution_arn("up", "aborted")],
        "detail": {
            "executionArn": execution_arn("up", "aborted"),
            "stateMachineArn": format!("arn:aws:states:eu-west-1:{ACCOUNT}:stateMachine:dataflow-runner-up"),
            "name": "aborted", "status": "ABORTED",
            "startDate": ((T0 - 60.0) * 1000.0) as i64, "stopDate": ((T0 + 10.0) * 1000.0) as i64,
            "input": "{}", "output": null
        }
    });
    let out = end(&aws, &h, &TerminateEvent::parse(&event).unwrap())
        .await
        .unwrap();
    assert_eq!(out.terminated, vec![a.clone()]);
    h.advance(120.0);
    assert_eq!(h.cluster(&a).unwrap().state.to_string(), "TERMINATED");
    assert_ne!(h.cluster(&b).unwrap().state.to_string(), "TERMINATED");
}

#[tokio::test]
async fn when_a_failed_run_asked_to_keep_its_cluster_should_leave_it_until_the_execution_is_stopped(
) {
    let h = emulator(json!({})).await;
    let aws = aws(&h, true).await;
    let arn = execution_arn("up", "debug-me");
    let mut event: Value = json!({"cluster": cluster_config("debug"), "lifecycle": "persistent", "keepOnFailure": true,
                                  "run": {"key": "debug-me", "executionArn": arn}});
    let kept = launch(&aws, &h, &decode("launch-cluster", event.take()).unwrap())
        .await
        .unwrap()
        .cluster_id;
    let ended = |status: &str| {
        TerminateEvent::parse(
            &json!({"detail-type": "Step Functions Execution Status Change",
                                      "detail": {"executionArn": arn, "status": status}}),
        )
        .unwrap()
    };
    let out = end(&aws, &h, &ended("FAILED")).await.unwrap();
    assert_eq!(
        (out.kept.clone(), out.terminated.len()),
        (vec![kept.clone()], 0)
    );
    let out = end(&aws, &h, &ended("ABORTED")).await.unwrap();
    assert_eq!(out.terminated, vec![kept]);
}

#[tokio::test]
async fn when_run_job_flow_fails_without_effect_should_look_then_fail_retryably_with_no_cluster() {
    let h = emulator(json!({})).await;
    let faults: Faults = serde_json::from_value(json!({
        "serverErrorShare": 1.0, "serverErrorStatus": 503, "seed": 3, "operations": ["RunJobFlow"]
    }))
    .unwrap();
    h.set_faults(faults).unwrap();
    let aws = aws(&h, true).await;
    let e = launch_event(cluster_config("nightly"), None, "persistent", "exec-503");
    let err = launch(&aws, &h, &e).await.unwrap_err();
    assert_eq!((err.name(), err.retryable()), ("EmrUnavailable", true));
    assert!(h.clusters().is_empty());
    let calls = h.calls();
    assert_eq!(calls.count("RunJobFlow"), 1, "never retried blindly");
    assert_eq!(
        calls.count("ListClusters"),
        4,
        "one look before, three after the failed write"
    );
}

#[tokio::test]
async fn when_a_config_uses_base64_file_should_read_the_execution_input_files() {
    // The RDB Shredder playbook from Snowplow's docs, unchanged: two base64File reads of absolute paths.
    let text = include_str!("../../../tests/reference/real/10-docs-rdb-shredder-2x-playbook.json");
    let h = emulator(json!({})).await;
    let aws = aws(&h, true).await;
    let cluster_id = up(&aws, &h, "shredder", "up-shred").await;
    let event = json!({
        "clusterId": cluster_id, "playbook": text, "run": {"key": "shred-1"},
        "files": {
            "/home/snowplow/configs/snowplow/iglu_resolver.json": "{\"resolver\": true}",
            "/home/snowplow/configs/snowplow/config.hocon": "shredder { }"
        }
    });
    let added = add_steps(
        &decode("add-steps", event.clone()).unwrap(),
        &aws.add(),
        &NoS3,
        &SystemClock,
        now(&h),
    )
    .await
    .unwrap();
    assert_eq!(added.step_ids.len(), 2);
    let args = &h.cluster(&cluster_id).unwrap().steps[1].args;
    assert!(
        args.contains(&"eyJyZXNvbHZlciI6IHRydWV9".to_string()),
        "{args:?}"
    );
    assert!(args.contains(&"c2hyZWRkZXIgeyB9".to_string()), "{args:?}");
    // without them, the error names the path and the fix, before any write
    let mut without = event;
    without["files"] = json!({});
    without["run"]["key"] = json!("shred-2");
    let err = add_steps(
        &decode("add-steps", without).unwrap(),
        &aws.add(),
        &NoS3,
        &SystemClock,
        now(&h),
    )
    .await
    .unwrap_err();
    assert_eq!(err.name(), "InvalidConfig");
    assert!(
        err.to_string()
            .contains("/home/snowplow/configs/snowplow/iglu_resolver.json"),
        "{err}"
    );
    assert!(err.to_string().contains("\"files\""), "{err}");
    assert_eq!(h.calls().count("AddJobFlowSteps"), 1);
}

/// Each statement the functions rely on, taken out of the template one at a time, makes the call that needs it
/// fail with AccessDenied naming the action, before anything is created: the local IAM is the deployed one.
#[tokio::test]
async fn when_a_statement_is_taken_out_of_the_template_should_fail_with_access_denied() {
    type Case = (&'static str, &'static str, &'static str);
    let cases: [Case; 10] = [
        (
            "LaunchOnlyTaggedClusters",
            "launch",
            "elasticmapreduce:RunJobFlow",
        ),
        ("TagClustersAtLaunch", "launch", "elasticmapreduce:AddTags"),
        (
            "ApplyIdleTimeoutAtLaunch",
            "launch",
            "elasticmapreduce:PutAutoTerminationPolicy",
        ),
        ("PassServiceRoleToEmr", "launch", "iam:PassRole"),
        ("PassInstanceRoleToEc2", "launch", "iam:PassRole"),
        (
            "FindClusterOfThisRun",
            "launch",
            "elasticmapreduce:ListClusters",
        ),
        (
            "StepsOnThisStacksClustersOnly",
            "add-steps",
            "elasticmapreduce:DescribeCluster",
        ),
        (
            "ReadThisStacksClustersOnly",
            "check-status",
            "elasticmapreduce:DescribeCluster",
        ),
        (
            "TerminateThisStacksClustersOnly",
            "terminate",
            "elasticmapreduce:TerminateJobFlows",
        ),
        (
            "FindClustersOfAnExecution",
            "cleanup",
            "elasticmapreduce:ListClusters",
        ),
    ];
    for (sid, call, action) in cases {
        let h = emulator_with(json!({}), iam_of(&without_statement(TEMPLATE, sid), &[])).await;
        let aws = aws(&h, false).await;
        // The cluster the other calls act on, launched while the whole template is in force.
        let target = if call == "launch" {
            None
        } else {
            let e = launch_event(cluster_config("target"), None, "persistent", "target");
            let ok = iam_of(TEMPLATE, &[]);
            h.set_iam(Some(ok));
            let id = launch(&aws, &h, &e).await.unwrap().cluster_id;
            h.set_iam(Some(iam_of(&without_statement(TEMPLATE, sid), &[])));
            Some(id)
        };
        let clusters_before = h.clusters().len();
        let err = match (call, &target) {
            ("launch", _) => {
                let pb = playbook(&[("s", "CONTINUE", &[])]);
                let mut e = launch_event(cluster_config("c"), Some(pb), "transient", sid);
                e.idle_timeout_seconds = Some(3600);
                launch(&aws, &h, &e).await.unwrap_err()
            }
            ("add-steps", Some(id)) => add_steps(
                &add_event(id, playbook(&[("s", "CONTINUE", &[])]), sid),
                &aws.add(),
                &NoS3,
                &SystemClock,
                now(&h),
            )
            .await
            .unwrap_err(),
            ("check-status", Some(id)) => {
                let e: CheckEvent =
                    decode("check-status", json!({"clusterId": id, "mode": "up"})).unwrap();
                check_status(&e, &aws.check(), &common::NoPrices, now(&h), 0.0)
                    .await
                    .unwrap_err()
            }
            ("terminate", Some(id)) => {
                let e = TerminateEvent::parse(&json!({"clusterId": id})).unwrap();
                end(&aws, &h, &e).await.unwrap_err()
            }
            ("cleanup", Some(_)) => {
                let e = TerminateEvent::parse(&json!({
                    "detail-type": "Step Functions Execution Status Change",
                    "detail": {"executionArn": execution_arn("up", "target"), "status": "ABORTED"}
                }))
                .unwrap();
                end(&aws, &h, &e).await.unwrap_err()
            }
            _ => unreachable!(),
        };
        assert_eq!(err.name(), "AccessDenied", "without {sid}: {err}");
        assert!(err.to_string().contains(action), "without {sid}: {err}");
        assert_eq!(
            h.clusters().len(),
            clusters_before,
            "without {sid}: nothing created"
        );
        if let Some(id) = target {
            let state = h.cluster(&id).unwrap().state.to_string();
            assert!(!state.starts_with("TERMINAT"), "without {sid}: {state}");
        }
    }
}

/// EMR judges idleness by YARN applications, not steps: an idle policy on a transient cluster could end a long
/// non-YARN step, and a transient cluster ends itself anyway. So it gets one only when the run asks.
#[tokio::test]
async fn when_a_transient_run_does_not_ask_for_an_idle_timeout_should_launch_without_one() {
    let h = emulator(json!({})).await;
    let aws = aws(&h, true).await;
    let pb = || Some(playbook(&[("s", "CONTINUE", &[])]));
    launch(
        &aws,
        &h,
        &launch_event(cluster_config("plain"), pb(), "transient", "plain"),
    )
    .await
    .unwrap();
    let mut asked = launch_event(cluster_config("asked"), pb(), "transient", "asked");
    asked.idle_timeout_seconds = Some(7200);
    launch(&aws, &h, &asked).await.unwrap();
    let bodies: Vec<Value> = h
        .requests()
        .iter()
        .filter(|r| r.operation == "RunJobFlow")
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0]["Name"], "plain");
    assert!(
        bodies[0].get("AutoTerminationPolicy").is_none(),
        "{}",
        bodies[0]
    );
    assert_eq!(bodies[1]["AutoTerminationPolicy"]["IdleTimeout"], 7200);
}

fn ended(machine: &str, key: &str, status: &str, stopped_at: Option<f64>) -> TerminateEvent {
    let mut detail = json!({"executionArn": execution_arn(machine, key), "status": status,
                            "startDate": ((T0 - 60.0) * 1000.0) as i64});
    if let Some(t) = stopped_at {
        detail["stopDate"] = json!((t * 1000.0) as i64);
    }
    TerminateEvent::parse(
        &json!({"detail-type": "Step Functions Execution Status Change", "detail": detail}),
    )
    .unwrap()
}

fn in_region(name: &str, region: &str) -> Value {
    let mut c = cluster_config(name);
    c["data"]["region"] = json!(region);
    c
}

#[tokio::test]
async fn when_an_execution_launched_in_another_region_should_clean_up_there_too() {
    let h = emulator(json!({})).await;
    let aws = aws(&h, true).await;
    let there = launch(
        &aws,
        &h,
        &launch_event(in_region("far", "us-east-1"), None, "persistent", "far"),
    )
    .await
    .unwrap()
    .cluster_id;
    assert!(h.cluster(&there).unwrap().arn.contains(":us-east-1:"));
    let noted = Noted::default();
    let out = terminate(
        &ended("up", "far", "ABORTED", Some(T0)),
        |r| aws.terminate.emr(r),
        |r| aws.terminate.emr_serverless(r),
        &noted,
        &common::NoPrices,
        &stack(),
        now(&h),
    )
    .await
    .unwrap();
    assert_eq!(out.terminated, vec![there.clone()]);
    // Noted for its cost, in its own region, with the execution's start and stop.
    let notes = noted.0.lock().unwrap().clone();
    assert_eq!(notes.len(), 1);
    let note = &notes[0];
    assert_eq!(
        (
            note.cluster_id.as_str(),
            note.region.as_deref(),
            note.status.as_str()
        ),
        (there.as_str(), Some("us-east-1"), "ABORTED")
    );
    assert_eq!(note.execution, execution_arn("up", "far"));
    assert_eq!(
        (
            note.started_at.map(|t| t.timestamp()),
            note.stopped_at.map(|t| t.timestamp())
        ),
        (Some(T0 as i64 - 60), Some(T0 as i64))
    );
    // a region the stack does not launch in is refused before anything is spent
    let err = launch(
        &aws,
        &h,
        &launch_event(in_region("x", "ap-south-1"), None, "persistent", "x"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.name(), "InvalidConfig");
    assert!(err.to_string().contains("EmrRegions"), "{err}");
    assert_eq!(h.calls().count("RunJobFlow"), 1);
}

#[tokio::test]
async fn when_a_launch_is_in_flight_as_the_execution_stops_should_find_its_cluster_on_the_second_look(
) {
    let h = emulator(json!({})).await;
    let aws = aws(&h, true).await;
    let stack = Deployment {
        launch_window: std::time::Duration::from_secs(2),
        ..stack()
    };
    // The sweep starts at once; the launch that was in flight lands a second later.
    let late_launch = async {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        launch(
            &aws,
            &h,
            &launch_event(cluster_config("late"), None, "persistent", "late"),
        )
        .await
        .unwrap()
        .cluster_id
    };
    let event = ended("up", "late", "ABORTED", Some(T0));
    let noted = Noted::default();
    let sweep = terminate(
        &event,
        |r| aws.terminate.emr(r),
        |r| aws.terminate.emr_serverless(r),
        &noted,
        &common::NoPrices,
        &stack,
        now(&h),
    );
    let (late, swept) = tokio::join!(late_launch, sweep);
    assert_eq!(
        swept.unwrap().terminated,
        vec![late],
        "found on the look after the launch window"
    );
}

#[tokio::test]
async fn when_one_cluster_cannot_be_read_the_sweep_should_end_the_others_and_fail_retryably() {
    let h = emulator(json!({})).await;
    let aws = aws(&h, true).await;
    let ids: Vec<String> = {
        let mut ids = Vec::new();
        for n in 0..4 {
            let e = launch_event(cluster_config(&format!("c{n}")), None, "persistent", "many");
            let mut e = e;
            e.run.attempt = n + 1;
            ids.push(launch(&aws, &h, &e).await.unwrap().cluster_id);
        }
        ids
    };
    let no_retry = aws_for_terminate_without_retries(&h).await;
    h.set_faults(
        serde_json::from_value(
            json!({"throttleShare": 0.5, "seed": 11, "operations": ["DescribeCluster"]}),
        )
        .unwrap(),
    )
    .unwrap();
    let first = terminate(
        &ended("up", "many", "ABORTED", None),
        |r| no_retry.emr(r),
        |r| no_retry.emr_serverless(r),
        &Noted::default(),
        &common::NoPrices,
        &stack(),
        now(&h),
    )
    .await;
    let err = first.unwrap_err();
    assert_eq!(
        (err.name(), err.retryable()),
        ("EmrUnavailable", true),
        "{err}"
    );
    assert!(err.to_string().contains("terminated so far"), "{err}");
    let denied_some = h.calls().get("DescribeCluster").throttled;
    assert!(denied_some > 0 && denied_some < 4, "{denied_some}");
    h.set_faults(Faults::none()).unwrap();
    h.advance(1.0);
    // the event is retried: the rest are ended, the ones already ending are not touched again
    let second = end(&aws, &h, &ended("up", "many", "ABORTED", None))
        .await
        .unwrap();
    assert_eq!(second.terminated.len() as u64, denied_some, "{second:?}");
    h.advance(120.0);
    for id in ids {
        assert!(
            h.cluster(&id)
                .unwrap()
                .state
                .to_string()
                .starts_with("TERMINAT"),
            "{id}"
        );
    }
}

async fn aws_for_terminate_without_retries(h: &EmulatorHandle) -> dfr_lambda::runtime::Aws {
    client(h, false, Function::Terminate).await
}

/// IAM holds the regions too: a stack deployed for its own region only refuses a launch elsewhere, even from a
/// function that would allow it.
#[tokio::test]
async fn when_the_stack_is_deployed_for_its_region_only_should_deny_a_launch_elsewhere() {
    let h = emulator_with(json!({}), iam_of(TEMPLATE, &[("EmrRegions", "")])).await;
    let aws = aws(&h, true).await;
    let e = launch_event(in_region("far", "us-east-1"), None, "persistent", "far");
    let err = launch(&aws, &h, &e).await.unwrap_err();
    assert_eq!(err.name(), "AccessDenied", "{err}");
    assert!(
        err.to_string().contains("elasticmapreduce:RunJobFlow"),
        "{err}"
    );
    assert!(h.clusters().is_empty());
    launch(
        &aws,
        &h,
        &launch_event(cluster_config("home"), None, "persistent", "home"),
    )
    .await
    .unwrap();
}

/// A name check must not slice a name by bytes: "Aé€" has a character across byte 4, where the `AWS_` prefix ends.
/// Through the handler as its binary runs it (`guarded`): no panic (`Internal`), but the outcome the name deserves.
#[tokio::test]
async fn when_an_env_name_has_multibyte_characters_should_refuse_only_aws_names_and_never_panic() {
    let h = emulator(json!({})).await;
    let aws = aws(&h, true).await;
    let run = |key: &str, name: &str, env: Value| {
        // The config's text, as a file holds it: the template's quotes are not JSON-escaped.
        let cluster = serde_json::to_string_pretty(&cluster_config("NAME"))
            .unwrap()
            .replace(
                "\"NAME\"",
                &format!("\"nightly-{{{{systemEnv \"{name}\"}}}}\""),
            );
        let mut e = json!({"cluster": cluster, "lifecycle": "persistent",
                           "run": {"key": key, "attempt": 1, "executionArn": execution_arn("up", key)}});
        e["env"] = env;
        let (aws, h) = (&aws, &h);
        async move {
            dfr_lambda::runtime::guarded(async {
                let event: LaunchEvent = decode("launch-cluster", e)?;
                dfr_lambda::runtime::encode(&launch(aws, h, &event).await?)
            })
            .await
        }
    };
    for (i, (name, reserved)) in [
        ("Aé€", false),
        ("aé€_x", false),
        ("AWé€", false),
        ("aws_é", true),
        ("Aws_€", true),
    ]
    .into_iter()
    .enumerate()
    {
        // As a key of the execution input's env, read by systemEnv.
        let given = run(&format!("env-{i}"), name, json!({name: "v1"})).await;
        if reserved {
            let err = given.unwrap_err();
            assert_eq!(err.name(), "InvalidConfig", "{name}: {err}");
            assert!(
                err.to_string().contains("$.env") && err.to_string().contains(name),
                "{name}: {err}"
            );
        } else {
            let out = given.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(out["clusterName"], "nightly-v1", "{name}");
        }
        // As the argument of systemEnv only, with no env: refused by name, or merely not set.
        let err = run(&format!("arg-{i}"), name, json!({})).await.unwrap_err();
        assert_eq!(err.name(), "InvalidConfig", "{name}: {err}");
        let why = if reserved {
            "may not be read here"
        } else {
            "not set"
        };
        assert!(err.to_string().contains(why), "{name}: {err}");
    }
}
