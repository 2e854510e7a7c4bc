//! EMR's EventBridge events: what the emulator emits for each state change, the queue a stand-in
//! event bus takes them from, their delivery faults, and `next-change`.

mod common;

use aws_sdk_emr::types::ActionOnFailure as Aof;
use aws_sdk_emr::Client;
use common::*;
use emr_emulator::{
    Delivery, EmulatorHandle, EventFaults, Fate, Faults, Scenario, CLUSTER_STATE_CHANGE,
    STEP_STATUS_CHANGE,
};
use serde_json::{json, Value};

/// A frozen emulator whose events suffer `faults` (seed 3).
async fn with_event_faults(faults: EventFaults) -> (EmulatorHandle, Client) {
    start(frozen().faults(Faults::none().with_events(faults, 3))).await
}

/// (detail-type, the step's name or "cluster", state, time) of each event.
fn summary(events: &[Delivery]) -> Vec<(String, String, String, String)> {
    events
        .iter()
        .map(|d| {
            let e = &d.event;
            let who = match e["detail-type"].as_str() {
                Some(CLUSTER_STATE_CHANGE) => "cluster".to_string(),
                _ => e["detail"]["name"].as_str().unwrap_or_default().to_string(),
            };
            let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
            (
                text(&e["detail-type"]),
                who,
                text(&e["detail"]["state"]),
                text(&e["time"]),
            )
        })
        .collect()
}

fn row(kind: &str, who: &str, state: &str, time: &str) -> (String, String, String, String) {
    (kind.into(), who.into(), state.into(), time.into())
}

/// The first events of a cluster launched at T0 with `steps`: STARTING, each step PENDING, and
/// BOOTSTRAPPING five minutes later.
fn opening(steps: &[&str]) -> Vec<(String, String, String, String)> {
    let mut rows = vec![row(
        CLUSTER_STATE_CHANGE,
        "cluster",
        "STARTING",
        "2023-11-14T22:13:20Z",
    )];
    for name in steps {
        rows.push(row(
            STEP_STATUS_CHANGE,
            name,
            "PENDING",
            "2023-11-14T22:13:20Z",
        ));
    }
    rows.push(row(
        CLUSTER_STATE_CHANGE,
        "cluster",
        "BOOTSTRAPPING",
        "2023-11-14T22:18:20Z",
    ));
    rows
}

/// The cluster events' states, in delivery order.
fn cluster_states(events: &[Delivery]) -> Vec<String> {
    summary(events)
        .into_iter()
        .filter(|(kind, ..)| kind == CLUSTER_STATE_CHANGE)
        .map(|(_, _, state, _)| state)
        .collect()
}

/// The last event of the cluster in `state`.
fn last_in<'a>(events: &'a [Delivery], state: &str) -> &'a Value {
    &events
        .iter()
        .rev()
        .find(|d| {
            d.event["detail-type"] == CLUSTER_STATE_CHANGE && d.event["detail"]["state"] == state
        })
        .unwrap_or_else(|| panic!("no {state} event in {:?}", summary(events)))
        .event
}

/// The stateChangeReason DescribeCluster reports, as the events carry it (a JSON document in a string).
async fn described_reason(client: &Client, id: &str) -> Value {
    let c = describe(client, id).await;
    let reason = c.status.unwrap().state_change_reason.unwrap();
    json!({
        "code": reason.code.map(|c| c.as_str().to_string()).unwrap_or_default(),
        "message": reason.message.unwrap(),
    })
}

fn reason_of(event: &Value) -> Value {
    let text = event["detail"]["stateChangeReason"]
        .as_str()
        .expect("a string");
    serde_json::from_str(text).expect("a JSON document")
}

#[tokio::test]
async fn when_transient_cluster_runs_its_steps_to_the_end_should_emit_each_change_at_its_time() {
    let (emr, client) = start(frozen()).await;
    let steps = vec![
        step("Enrich", Aof::Continue, &[]),
        step("Load", Aof::Continue, &["--emulator-outcome=FAILED"]),
    ];
    let id = run(&client, "transient", false, steps).await;
    // One jump over the whole life: each event still carries the time of its change.
    emr.advance(3600.0);
    let events = emr.take_events();

    let (c, s) = (CLUSTER_STATE_CHANGE, STEP_STATUS_CHANGE);
    let mut want = opening(&["Enrich", "Load"]);
    want.extend([
        // Ready with a step to run: straight to RUNNING, as DescribeCluster never shows WAITING.
        row(c, "cluster", "RUNNING", "2023-11-14T22:21:20Z"),
        row(s, "Enrich", "RUNNING", "2023-11-14T22:21:20Z"),
        row(s, "Enrich", "COMPLETED", "2023-11-14T22:31:20Z"),
        row(s, "Load", "RUNNING", "2023-11-14T22:31:20Z"),
        row(s, "Load", "FAILED", "2023-11-14T22:41:20Z"),
        row(c, "cluster", "TERMINATING", "2023-11-14T22:41:20Z"),
        row(c, "cluster", "TERMINATED", "2023-11-14T22:42:20Z"),
    ]);
    assert_eq!(summary(&events), want);
    let deliver_at: Vec<f64> = events.iter().map(|d| d.deliver_at - T0).collect();
    assert_eq!(
        deliver_at,
        [0.0, 0.0, 0.0, 300.0, 480.0, 480.0, 1080.0, 1080.0, 1680.0, 1680.0, 1740.0]
    );

    let terminated = last_in(&events, "TERMINATED");
    assert_eq!(
        terminated,
        &json!({
            "version": "0",
            "id": terminated["id"],
            "detail-type": "EMR Cluster State Change",
            "source": "aws.emr",
            "account": "123456789012",
            "time": "2023-11-14T22:42:20Z",
            "region": "eu-west-1",
            "resources": [],
            "detail": {
                "severity": "INFO",
                "stateChangeReason": "{\"code\":\"ALL_STEPS_COMPLETED\",\"message\":\"Steps completed\"}",
                "name": "transient",
                "clusterId": id,
                "state": "TERMINATED",
                "message": format!("Amazon EMR Cluster {id} (transient) has terminated at 2023-11-14 22:42 UTC with a reason of ALL_STEPS_COMPLETED."),
            }
        })
    );
    assert_eq!(reason_of(terminated), described_reason(&client, &id).await);
    assert_eq!(
        reason_of(last_in(&events, "RUNNING")),
        json!({"code": "", "message": "Running step"})
    );

    let failed = &events[8].event;
    let load_id = &emr.cluster(&id).unwrap().steps[1].id;
    assert_eq!(
        failed["detail"],
        json!({
            "severity": "ERROR",
            "actionOnFailure": "CONTINUE",
            "stepId": load_id,
            "name": "Load",
            "clusterId": id,
            "state": "FAILED",
            "message": format!("Step {load_id} (Load) in Amazon EMR cluster {id} (transient) failed at 2023-11-14 22:41 UTC."),
        })
    );
    let completed = &events[6].event["detail"];
    assert_eq!(completed["severity"], "INFO");
    assert!(
        completed["message"].as_str().unwrap().ends_with(
            "The step started running at 2023-11-14 22:21 UTC and took 10 minutes to complete."
        ),
        "{completed}"
    );

    let mut ids: Vec<&str> = events
        .iter()
        .map(|d| d.event["id"].as_str().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), events.len(), "every event has its own id");
}

#[tokio::test]
async fn when_events_are_taken_should_return_each_once_and_later_ones_later() {
    let (emr, client) = start(frozen()).await;
    let id = run(&client, "persistent", true, vec![]).await;
    assert_eq!(cluster_states(&emr.take_events()), ["STARTING"]);
    assert!(emr.take_events().is_empty(), "taken events are gone");

    emr.advance(300.0 + 180.0);
    let events = emr.take_events();
    assert_eq!(cluster_states(&events), ["BOOTSTRAPPING", "WAITING"]);
    let waiting = last_in(&events, "WAITING");
    assert_eq!(
        waiting["detail"]["message"],
        format!("Amazon EMR cluster {id} (persistent) was created at 2023-11-14 22:21 UTC and is ready for use.")
    );
    assert_eq!(reason_of(waiting), described_reason(&client, &id).await);
    assert!(emr.take_events().is_empty());

    let log = emr.event_log();
    assert_eq!(log.len(), 3);
    assert!(log
        .iter()
        .all(|e| e.fate == Fate::Delivered && !e.duplicate));
    assert_eq!(log[2].taken_at, Some(T0 + 480.0));
    assert_eq!(log[2].at, T0 + 480.0);
}

#[tokio::test]
async fn when_bootstrap_fails_should_end_with_a_critical_terminated_with_errors_event() {
    let scenario =
        Scenario::from_json(r#"{"clusters":[{"match":{"name":"nightly"},"bootstrapFailures":1}]}"#)
            .unwrap();
    let (emr, client) = start(frozen().scenario(scenario)).await;
    let steps = vec![step("Enrich", Aof::TerminateCluster, &[])];
    let id = run(&client, "nightly", false, steps).await;
    emr.advance(300.0 + 180.0 + 60.0);
    let events = emr.take_events();

    let (c, s) = (CLUSTER_STATE_CHANGE, STEP_STATUS_CHANGE);
    let mut want = opening(&["Enrich"]);
    want.extend([
        row(s, "Enrich", "CANCELLED", "2023-11-14T22:21:20Z"),
        row(c, "cluster", "TERMINATING", "2023-11-14T22:21:20Z"),
        row(
            c,
            "cluster",
            "TERMINATED_WITH_ERRORS",
            "2023-11-14T22:22:20Z",
        ),
    ]);
    assert_eq!(summary(&events), want);
    let ended = last_in(&events, "TERMINATED_WITH_ERRORS");
    assert_eq!(ended["detail"]["severity"], "CRITICAL");
    let reason = reason_of(ended);
    assert_eq!(reason["code"], "BOOTSTRAP_FAILURE");
    assert!(
        reason["message"]
            .as_str()
            .unwrap()
            .contains("bootstrap action 1 (bootstrap action) returned a non-zero return code"),
        "{reason}"
    );
    assert_eq!(reason, described_reason(&client, &id).await);
    assert_eq!(
        ended["detail"]["message"],
        format!("Amazon EMR Cluster {id} (nightly) has terminated with errors at 2023-11-14 22:22 UTC with a reason of BOOTSTRAP_FAILURE.")
    );
    assert_eq!(events[3].event["detail"]["severity"], "WARN");
}

#[tokio::test]
async fn when_a_step_fails_with_terminate_cluster_should_cancel_the_rest_and_end_with_step_failure()
{
    let (emr, client) = start(frozen()).await;
    let steps = vec![
        step(
            "Shred",
            Aof::TerminateCluster,
            &["--emulator-outcome=FAILED"],
        ),
        step("Load", Aof::TerminateCluster, &[]),
    ];
    let id = run(&client, "doomed", true, steps).await;
    emr.advance(300.0 + 180.0 + 600.0 + 60.0);
    let events = emr.take_events();
    let tail: Vec<_> = summary(&events).into_iter().skip(6).collect();
    let (c, s) = (CLUSTER_STATE_CHANGE, STEP_STATUS_CHANGE);
    assert_eq!(
        tail,
        [
            row(s, "Shred", "FAILED", "2023-11-14T22:31:20Z"),
            row(s, "Load", "CANCELLED", "2023-11-14T22:31:20Z"),
            row(c, "cluster", "TERMINATING", "2023-11-14T22:31:20Z"),
            row(
                c,
                "cluster",
                "TERMINATED_WITH_ERRORS",
                "2023-11-14T22:32:20Z"
            ),
        ]
    );
    assert_eq!(
        events[6].event["detail"]["actionOnFailure"],
        "TERMINATE_CLUSTER"
    );
    let ended = last_in(&events, "TERMINATED_WITH_ERRORS");
    assert_eq!(
        reason_of(ended),
        json!({"code": "STEP_FAILURE", "message": "Shut down as step failed"})
    );
    assert_eq!(reason_of(ended), described_reason(&client, &id).await);
}

#[tokio::test]
async fn when_calls_change_states_should_emit_at_the_time_of_the_call() {
    let (emr, client) = start(frozen()).await;
    let id = run(&client, "persistent", true, vec![]).await;
    emr.advance(480.0);
    let added = client
        .add_job_flow_steps()
        .job_flow_id(&id)
        .set_steps(Some(vec![
            step("A", Aof::Continue, &[]),
            step("B", Aof::Continue, &[]),
        ]))
        .send()
        .await
        .unwrap()
        .step_ids
        .unwrap();
    emr.advance(100.0);
    client
        .cancel_steps()
        .cluster_id(&id)
        .step_ids(&added[1])
        .send()
        .await
        .unwrap();
    emr.advance(10.0);
    client
        .terminate_job_flows()
        .job_flow_ids(&id)
        .send()
        .await
        .unwrap();
    let events = emr.take_events();
    let tail: Vec<_> = summary(&events).into_iter().skip(3).collect();
    let (c, s) = (CLUSTER_STATE_CHANGE, STEP_STATUS_CHANGE);
    assert_eq!(
        tail,
        [
            row(s, "A", "PENDING", "2023-11-14T22:21:20Z"),
            row(s, "B", "PENDING", "2023-11-14T22:21:20Z"),
            row(c, "cluster", "RUNNING", "2023-11-14T22:21:20Z"),
            row(s, "A", "RUNNING", "2023-11-14T22:21:20Z"),
            row(s, "B", "CANCEL_PENDING", "2023-11-14T22:23:00Z"),
            row(s, "B", "CANCELLED", "2023-11-14T22:23:05Z"),
            row(s, "A", "INTERRUPTED", "2023-11-14T22:23:10Z"),
            row(c, "cluster", "TERMINATING", "2023-11-14T22:23:10Z"),
        ]
    );
    let cancelled = &events[8].event["detail"]["message"];
    assert!(
        cancelled
            .as_str()
            .unwrap()
            .starts_with("Cancellation request has succeeded for cluster step"),
        "{cancelled}"
    );
    assert_eq!(
        reason_of(last_in(&events, "TERMINATING")),
        json!({"code": "USER_REQUEST", "message": "Terminated by user request"})
    );
}

#[tokio::test]
async fn when_clusters_of_several_regions_change_should_emit_all_in_time_order() {
    let (emr, client) = start(frozen()).await;
    let steps = vec![step("Long", Aof::Continue, &["--emulator-duration=5000"])];
    let here = run(&client, "here", false, steps).await;
    // No SigV4 scope: a caller in us-east-1.
    let body = r#"{"Name": "there", "Instances": {"InstanceCount": 1}}"#;
    let (status, answer) = emr_raw(&emr, "RunJobFlow", body).await;
    assert_eq!(status, Some(200));
    let there = answer["JobFlowId"].as_str().unwrap().to_string();
    emr.advance(7200.0);

    let log = emr.event_log();
    assert!(
        log.windows(2)
            .all(|w| w[0].at <= w[1].at && w[0].seq < w[1].seq),
        "emitted in time order: {:?}",
        log.iter().map(|e| e.at - T0).collect::<Vec<_>>()
    );
    let region_of = |cluster: &str| {
        let e = log
            .iter()
            .find(|e| e.event["detail"]["clusterId"] == cluster)
            .unwrap();
        e.event["region"].as_str().unwrap().to_string()
    };
    assert_eq!(region_of(&here), "eu-west-1");
    assert_eq!(region_of(&there), "us-east-1");
    // The second cluster, transient without steps, ends long before the first one's step does.
    let ends: Vec<_> = log
        .iter()
        .filter(|e| e.event["detail"]["state"] == "TERMINATED")
        .map(|e| e.event["detail"]["clusterId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ends, [there, here]);
}

#[tokio::test]
async fn when_drop_rate_is_one_should_deliver_nothing_and_log_every_event_dropped() {
    let (emr, client) = with_event_faults(EventFaults {
        drop_rate: 1.0,
        ..EventFaults::default()
    })
    .await;
    run(&client, "lost", false, vec![]).await;
    emr.advance(3600.0);
    assert!(emr.take_events().is_empty());
    assert!(emr.pending_events().is_empty());
    assert_eq!(emr.next_change(), None, "lost events are never due");
    let log = emr.event_log();
    let states: Vec<_> = log
        .iter()
        .map(|e| e.event["detail"]["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states,
        ["STARTING", "BOOTSTRAPPING", "TERMINATING", "TERMINATED"]
    );
    assert!(log
        .iter()
        .all(|e| e.fate == Fate::Dropped && e.deliver_at.is_none()));
}

#[tokio::test]
async fn when_faults_name_detail_types_should_spare_the_others() {
    let (emr, client) = with_event_faults(EventFaults {
        drop_rate: 1.0,
        detail_types: vec![STEP_STATUS_CHANGE.to_string()],
        ..EventFaults::default()
    })
    .await;
    run(&client, "c", false, vec![step("A", Aof::Continue, &[])]).await;
    emr.advance(3600.0);
    let events = emr.take_events();
    assert_eq!(
        cluster_states(&events),
        [
            "STARTING",
            "BOOTSTRAPPING",
            "RUNNING",
            "TERMINATING",
            "TERMINATED"
        ]
    );
    assert_eq!(events.len(), 5, "no step event gets through");
    assert_eq!(emr.event_log().len(), 5 + 3);
}

#[tokio::test]
async fn when_duplicate_rate_is_one_should_deliver_every_event_twice_with_the_same_id() {
    let (emr, client) = with_event_faults(EventFaults {
        duplicate_rate: 1.0,
        ..EventFaults::default()
    })
    .await;
    run(&client, "twice", true, vec![]).await;
    let events = emr.take_events();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].event, events[1].event, "same event, same id");
    assert_ne!(events[0].seq, events[1].seq);
    let log = emr.event_log();
    let duplicates: Vec<_> = log.iter().map(|e| e.duplicate).collect();
    assert_eq!(duplicates, [false, true]);
    emr.advance(300.0);
    assert_eq!(
        cluster_states(&emr.take_events()),
        ["BOOTSTRAPPING", "BOOTSTRAPPING"]
    );
}

#[tokio::test]
async fn when_events_are_delayed_should_hold_them_until_next_change_says() {
    let (emr, client) = with_event_faults(EventFaults {
        delay_seconds: 30.0,
        ..EventFaults::default()
    })
    .await;
    run(&client, "late", true, vec![]).await;
    assert!(emr.take_events().is_empty(), "not deliverable yet");
    let pending = emr.pending_events();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].deliver_at, T0 + 30.0);
    assert_eq!(emr.next_change(), Some(T0 + 30.0));

    emr.advance_to(T0 + 30.0);
    let events = emr.take_events();
    assert_eq!(cluster_states(&events), ["STARTING"]);
    assert_eq!(
        events[0].event["time"], "2023-11-14T22:13:20Z",
        "the time of the change, not of the delivery"
    );
    assert!(emr.pending_events().is_empty());
    assert_eq!(
        emr.next_change(),
        Some(T0 + 300.0),
        "then the end of STARTING"
    );
}

#[tokio::test]
async fn when_extra_delays_are_drawn_should_stay_in_range_reorder_and_repeat_per_seed() {
    let delays = |seed| async move {
        let faults = Faults::none().with_events(
            EventFaults {
                delay_seconds: 10.0,
                max_extra_delay_seconds: 600.0,
                ..EventFaults::default()
            },
            seed,
        );
        let (emr, client) = start(frozen().faults(faults)).await;
        let steps: Vec<_> = (0..10)
            .map(|i| step(&format!("S{i}"), Aof::Continue, &[]))
            .collect();
        run(&client, "c", true, steps).await;
        let log = emr.event_log();
        log.iter()
            .map(|e| e.deliver_at.unwrap() - e.at)
            .collect::<Vec<f64>>()
    };
    let a = delays(5).await;
    assert_eq!(a.len(), 11);
    assert!(a.iter().all(|d| (10.0..=610.0).contains(d)), "{a:?}");
    assert!(
        a.windows(2).any(|w| w[0] > w[1]),
        "events of one instant come out of order: {a:?}"
    );
    assert_eq!(a, delays(5).await, "same seed, same delays");
    assert_ne!(a, delays(6).await);
}

#[tokio::test]
async fn when_a_cluster_is_starting_next_change_should_be_the_end_of_starting_through_the_admin_api(
) {
    let (emr, client) = start(frozen()).await;
    let (status, none) = admin(&emr, "GET", "/_emulator/next-change", "").await;
    assert_eq!(status, 200);
    assert_eq!(none, json!({"at": null, "now": T0}));

    run(&client, "c", true, vec![]).await;
    let (_, next) = admin(&emr, "GET", "/_emulator/next-change", "").await;
    assert_eq!(next, json!({"at": T0 + 300.0, "now": T0}));
    let (_, taken) = admin(&emr, "POST", "/_emulator/events/take", "").await;
    assert_eq!(taken["events"].as_array().unwrap().len(), 1);
    assert_eq!(taken["events"][0]["seq"], 1);
    assert_eq!(taken["events"][0]["deliverAt"], T0);
    assert_eq!(taken["events"][0]["event"]["detail"]["state"], "STARTING");

    // Just short of it: nothing yet.
    emr.advance(299.0);
    let (_, taken) = admin(&emr, "POST", "/_emulator/events/take", "").await;
    assert_eq!(taken, json!({"events": []}));
    let (status, _) = admin(
        &emr,
        "POST",
        "/_emulator/clock",
        r#"{"advanceTo": 1700000300}"#,
    )
    .await;
    assert_eq!(status, 200);
    let (_, taken) = admin(&emr, "POST", "/_emulator/events/take", "").await;
    assert_eq!(
        taken["events"][0]["event"]["detail"]["state"],
        "BOOTSTRAPPING"
    );
    assert_eq!(taken["events"][0]["deliverAt"], T0 + 300.0);
    let (_, next) = admin(&emr, "GET", "/_emulator/next-change", "").await;
    assert_eq!(next["at"], T0 + 480.0);

    let (_, log) = admin(&emr, "GET", "/_emulator/events/log", "").await;
    let fates: Vec<_> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["fate"].clone(), e["duplicate"].clone()))
        .collect();
    assert_eq!(fates, vec![(json!("delivered"), json!(false)); 2]);
    let (_, pending) = admin(&emr, "GET", "/_emulator/events/pending", "").await;
    assert_eq!(pending, json!({"events": []}));
}

#[tokio::test]
async fn when_event_faults_are_set_through_the_admin_api_should_validate_and_reset_with_the_rest() {
    let (emr, client) = start(frozen()).await;
    for bad in [
        r#"{"events": {"dropRate": 1.5}}"#,
        r#"{"events": {"duplicateRate": -0.1}}"#,
        r#"{"events": {"delaySeconds": -1}}"#,
        r#"{"events": {"dropRat": 0.5}}"#,
        r#"{"events": {"detailTypes": ["EMR Instance Group State Change"]}}"#,
    ] {
        let (status, answer) = admin(&emr, "POST", "/_emulator/faults", bad).await;
        assert_eq!(status, 400, "{bad}");
        assert!(answer["error"].as_str().is_some(), "{answer}");
    }
    let body = r#"{"seed": 9, "events": {"delaySeconds": 60, "detailTypes": ["EMR Cluster State Change"]}}"#;
    let (status, faults) = admin(&emr, "POST", "/_emulator/faults", body).await;
    assert_eq!(status, 200);
    assert_eq!(faults["events"]["delaySeconds"], 60.0);
    run(&client, "c", true, vec![]).await;
    let (_, pending) = admin(&emr, "GET", "/_emulator/events/pending", "").await;
    assert_eq!(pending["events"][0]["deliverAt"], T0 + 60.0);
    assert_eq!(pending["events"][0]["seq"], 1);

    let (status, _) = admin(&emr, "POST", "/_emulator/reset", "").await;
    assert_eq!(status, 200);
    assert!(emr.event_log().is_empty());
    assert!(emr.pending_events().is_empty());
    assert_eq!(emr.next_change(), None);
    assert_eq!(emr.faults().events, EventFaults::default());
}
