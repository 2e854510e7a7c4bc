//! Throttling, server errors, latency and lost responses as the real SDK sees them; the admin API;
//! the binary.

mod common;

use std::time::Duration;

use aws_sdk_emr::config::retry::RetryConfig;
use aws_sdk_emr::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_emr::operation::describe_cluster::DescribeClusterError;
use aws_sdk_emr::operation::run_job_flow::RunJobFlowError;
use aws_sdk_emr::types::ActionOnFailure as Aof;
use common::*;
use emr_emulator::{Faults, RateLimit};

#[tokio::test]
async fn when_a_throttle_share_is_set_should_answer_throttling_exceptions_the_sdk_recognises() {
    let (emr, client) = start(frozen()).await;
    let id = run(&client, "c", true, vec![]).await;
    emr.set_faults(Faults::none().with_throttle_share(0.3, 7))
        .unwrap();
    let mut throttled = 0;
    for _ in 0..100 {
        match client.describe_cluster().cluster_id(&id).send().await {
            Ok(_) => {}
            Err(err) => {
                assert_eq!(err.code(), Some("ThrottlingException"));
                assert_eq!(err.message(), Some("Rate exceeded"));
                assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(400));
                throttled += 1;
            }
        }
    }
    assert!(
        (15..=45).contains(&throttled),
        "about 30% throttled, got {throttled}"
    );
    let calls = emr.calls();
    assert_eq!(calls.get("DescribeCluster").calls, 100);
    assert_eq!(calls.get("DescribeCluster").throttled, throttled);
    assert_eq!(calls.get("DescribeCluster").succeeded, 100 - throttled);
    assert_eq!(calls.throttled, throttled);
    assert_eq!(calls.total, 101);

    // Same seed, same sequence.
    emr.set_faults(Faults::none().with_throttle_share(0.3, 7))
        .unwrap();
    let mut again = 0;
    for _ in 0..100 {
        if client
            .describe_cluster()
            .cluster_id(&id)
            .send()
            .await
            .is_err()
        {
            again += 1;
        }
    }
    assert_eq!(again, throttled);
}

#[tokio::test]
async fn when_rate_limits_are_on_should_throttle_once_the_burst_is_spent() {
    let (emr, client) = start(frozen().faults(Faults::none().with_rate_limits())).await;
    let id = run(&client, "c", true, vec![]).await;
    let steps = client
        .add_job_flow_steps()
        .job_flow_id(&id)
        .steps(step("A", Aof::Continue, &[]))
        .send()
        .await
        .unwrap();
    let step_id = steps.step_ids.unwrap()[0].clone();
    // DescribeStep: burst 10, refill 0.5/s.
    for i in 0..10 {
        assert!(
            client
                .describe_step()
                .cluster_id(&id)
                .step_id(&step_id)
                .send()
                .await
                .is_ok(),
            "call {i}"
        );
    }
    let err = client
        .describe_step()
        .cluster_id(&id)
        .step_id(&step_id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ThrottlingException"));
    // Other operations have their own buckets (the shared one still has tokens left).
    assert!(client.list_steps().cluster_id(&id).send().await.is_ok());
    assert_eq!(emr.calls().get("DescribeStep").throttled, 1);
}

#[tokio::test]
async fn when_the_all_calls_bucket_is_spent_should_throttle_every_operation() {
    let mut faults = Faults::none().with_rate_limits();
    faults.rate_limit_overrides.insert(
        "*".into(),
        RateLimit {
            burst: 3.0,
            per_second: 0.01,
        },
    );
    let (emr, client) = start(frozen().faults(faults)).await;
    let id = run(&client, "c", true, vec![]).await;
    client
        .describe_cluster()
        .cluster_id(&id)
        .send()
        .await
        .unwrap();
    client.list_steps().cluster_id(&id).send().await.unwrap();
    let err = client.list_clusters().send().await.unwrap_err();
    assert_eq!(err.code(), Some("ThrottlingException"));
    assert_eq!(emr.calls().throttled, 1);
}

#[tokio::test]
async fn when_run_job_flow_response_is_lost_should_fail_the_call_yet_create_exactly_one_cluster() {
    let (emr, client) =
        start(frozen().faults(Faults::none().with_lost_responses("RunJobFlow", 1))).await;
    let before = client
        .list_clusters()
        .send()
        .await
        .unwrap()
        .clusters
        .unwrap()
        .len();
    let err = client
        .run_job_flow()
        .name("lost")
        .instances(instances(false))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(err, SdkError::DispatchFailure(_)),
        "expected a dispatch failure, got {err:?}"
    );
    // No HTTP response at all (the SDK classifies it as a transient connector error).
    assert!(err.raw_response().is_none());
    let clusters = client
        .list_clusters()
        .send()
        .await
        .unwrap()
        .clusters
        .unwrap();
    assert_eq!(clusters.len(), before + 1);
    assert_eq!(clusters[0].name.as_deref(), Some("lost"));
    let calls = emr.calls().get("RunJobFlow");
    assert_eq!(
        (calls.calls, calls.lost_responses, calls.succeeded),
        (1, 1, 0)
    );
    // The budget is spent: the next launch is answered.
    client
        .run_job_flow()
        .name("answered")
        .instances(instances(false))
        .send()
        .await
        .unwrap();
    assert_eq!(emr.faults().lost_responses.get("RunJobFlow"), Some(&0));
}

#[tokio::test]
async fn when_the_sdk_retries_a_lost_run_job_flow_should_create_a_second_cluster() {
    // Why RunJobFlow must not be retried blindly: the first attempt took effect.
    let emr = frozen()
        .faults(Faults::none().with_lost_responses("RunJobFlow", 1))
        .start()
        .await
        .unwrap();
    let retry = RetryConfig::standard()
        .with_max_attempts(2)
        .with_initial_backoff(Duration::from_millis(1));
    let client = client_with_retry(&emr, retry).await;
    client
        .run_job_flow()
        .name("dup")
        .instances(instances(false))
        .send()
        .await
        .expect("the retry is answered");
    assert_eq!(emr.clusters().len(), 2);
    assert_eq!(emr.calls().count("RunJobFlow"), 2);
}

#[tokio::test]
async fn when_a_server_error_share_is_one_should_answer_modeled_server_errors() {
    let (emr, client) = start(frozen()).await;
    let id = run(&client, "c", true, vec![]).await;
    emr.set_faults(Faults::none().with_server_error_share(1.0, 500, 1))
        .unwrap();
    let err = client
        .run_job_flow()
        .name("x")
        .instances(instances(true))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(500));
    assert!(matches!(
        err.into_service_error(),
        RunJobFlowError::InternalServerError(_)
    ));
    let err = client
        .describe_cluster()
        .cluster_id(&id)
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        err.into_service_error(),
        DescribeClusterError::InternalServerException(_)
    ));

    emr.set_faults(Faults::none().with_server_error_share(1.0, 503, 1))
        .unwrap();
    let err = client
        .describe_cluster()
        .cluster_id(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(503));
    assert_eq!(err.code(), Some("ServiceUnavailable"));
    assert_eq!(emr.calls().get("DescribeCluster").server_errors, 2);
    assert_eq!(
        emr.clusters().len(),
        1,
        "a failed RunJobFlow creates nothing"
    );
}

#[tokio::test]
async fn when_shares_are_limited_to_operations_should_spare_the_others() {
    let (emr, client) = start(frozen()).await;
    let id = run(&client, "c", true, vec![]).await;
    let mut faults = Faults::none().with_throttle_share(1.0, 3);
    faults.operations = vec!["ListSteps".into()];
    emr.set_faults(faults).unwrap();
    assert!(client.list_steps().cluster_id(&id).send().await.is_err());
    assert!(client
        .describe_cluster()
        .cluster_id(&id)
        .send()
        .await
        .is_ok());
}

#[tokio::test]
async fn when_latency_is_set_should_delay_each_answer_by_it() {
    let (emr, client) = start(frozen().faults(Faults::none().with_latency_ms(80))).await;
    client.list_clusters().send().await.unwrap();
    client.list_clusters().send().await.unwrap();
    assert_eq!(emr.calls().get("ListClusters").delayed_ms, 2 * 80);
    let mut only_steps = Faults::none().with_latency_ms(80);
    only_steps.latency_operations = vec!["ListSteps".into()];
    emr.set_faults(only_steps).unwrap();
    client.list_clusters().send().await.unwrap();
    assert_eq!(
        emr.calls().get("ListClusters").delayed_ms,
        2 * 80,
        "only the operations named are delayed"
    );
}

#[tokio::test]
async fn when_driven_through_the_admin_api_should_script_count_and_reset() {
    let (emr, client) = start(frozen()).await;
    let (status, _) = admin(
        &emr,
        "POST",
        "/_emulator/scenario",
        r#"{"steps":[{"match":{"name":"Bad"},"outcome":"FAILED"}]}"#,
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = admin(&emr, "POST", "/_emulator/scenario", r#"{"stepz":[]}"#).await;
    assert_eq!(status, 400, "{body}");

    let id = run(
        &client,
        "admin",
        true,
        vec![
            step("Bad", Aof::Continue, &[]),
            step("Good", Aof::Continue, &[]),
        ],
    )
    .await;
    let (_, cfg) = admin(
        &emr,
        "POST",
        "/_emulator/clock",
        r#"{"advanceSeconds": 1680}"#,
    )
    .await;
    assert!(close(cfg["now"].as_f64().unwrap(), T0 + 1680.0));
    assert_eq!(step_states(&client, &id).await, ["FAILED", "COMPLETED"]);

    let (_, calls) = admin(&emr, "GET", "/_emulator/calls", "").await;
    assert_eq!(calls["operations"]["RunJobFlow"]["calls"], 1);
    assert_eq!(calls["operations"]["ListSteps"]["calls"], 1);
    assert_eq!(calls["total"], 2, "admin requests are not counted");

    let (_, state) = admin(&emr, "GET", "/_emulator/state", "").await;
    assert_eq!(state["clusters"][0]["Id"], id.as_str());
    assert_eq!(state["clusters"][0]["Status"]["State"], "WAITING");
    assert_eq!(state["clusters"][0]["Steps"][0]["Name"], "Bad");
    assert_eq!(
        state["clusters"][0]["Steps"][0]["Status"]["State"],
        "FAILED"
    );
    assert_eq!(state["calls"]["total"], 2);

    let (status, _) = admin(
        &emr,
        "POST",
        "/_emulator/faults",
        r#"{"lostResponses":{"ListClusters":1}}"#,
    )
    .await;
    assert_eq!(status, 200);
    assert!(client.list_clusters().send().await.is_err());
    let (_, faults) = admin(&emr, "GET", "/_emulator/faults", "").await;
    assert_eq!(faults["lostResponses"]["ListClusters"], 0);
    let (status, _) = admin(&emr, "POST", "/_emulator/faults", r#"{"throttleShare": 2}"#).await;
    assert_eq!(status, 400);

    let (_, cfg) = admin(
        &emr,
        "POST",
        "/_emulator/config",
        r#"{"timeScale": 0, "defaults": {"stepSeconds": 30}}"#,
    )
    .await;
    assert_eq!(cfg["defaults"]["stepSeconds"], 30.0);
    client
        .add_job_flow_steps()
        .job_flow_id(&id)
        .steps(step("Quick", Aof::Continue, &[]))
        .send()
        .await
        .unwrap();
    emr.advance(30.0);
    assert_eq!(
        step_states(&client, &id).await,
        ["FAILED", "COMPLETED", "COMPLETED"]
    );

    let (status, _) = admin(&emr, "POST", "/_emulator/reset", "").await;
    assert_eq!(status, 200);
    assert!(emr.clusters().is_empty());
    assert_eq!(emr.calls().total, 0);
    let (status, _) = admin(&emr, "GET", "/_emulator/nothing-here", "").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn when_the_binary_starts_should_print_its_endpoint_and_serve() {
    let (line, answer) = binary_get(
        &["--port", "0", "--time-scale", "3600"],
        "/_emulator/health",
    )
    .await;
    let url = line.trim().strip_prefix("emr-emulator listening on ");
    let answered = answer.starts_with("HTTP/1.1 200");
    assert!(
        url.is_some_and(|u| u.starts_with("http://127.0.0.1:")),
        "first line: {line:?}"
    );
    assert!(answered);
}
