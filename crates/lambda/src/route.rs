//! event-router: EMR's `EMR Cluster State Change` and `EMR Step Status Change` events (EventBridge, best effort) end
//! the waits of the runs they concern (see [`crate::wait`]).
//!
//! For each event: note it against its cluster, find the executions waiting on that cluster, and for each wait the
//! event can matter to (a decisive cluster state for its mode; for a `run` wait, the last of its own steps ending)
//! check the run exactly as check-status would, answering the token if the run is over. Events of clusters nobody
//! waits on, events that cannot end a wait, stale and duplicate events cost no EMR call and answer nothing. Every
//! EMR call goes to a cluster one of this stack's executions registered, never to the cluster an event names alone.
//!
//! A cluster's end also records the cost of the run that left it, when that run ended without finishing and the
//! cleanup path noted it ([`crate::unfinished`]).

use dfr_core::status::{decisive_cluster_states, Mode, CLUSTER_ENDED, STEP_FINAL};
use serde::Serialize;
use serde_json::Value;

use crate::emr::Emr;
use crate::error::Error;
use crate::event::is_cluster_id;
use crate::prices::PriceSource;
use crate::unfinished::{record_cost, Recorded, UnfinishedRuns};
use crate::wait::{Answering, Callbacks, Delivery, Wait, Waits};

/// The fields of an EMR event the router reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmrEvent {
    Cluster {
        cluster_id: String,
        state: String,
    },
    Step {
        cluster_id: String,
        step_id: String,
        state: String,
    },
}

impl EmrEvent {
    /// The event, or why it is not one the router acts on (anything can be sent to a function).
    pub fn parse(event: &Value) -> Result<Self, String> {
        let field = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
        if field(event, "source").as_deref() != Some("aws.emr") {
            return Err("not an aws.emr event".into());
        }
        let detail = event.get("detail").ok_or("no detail")?;
        let cluster_id = field(detail, "clusterId").ok_or("no detail.clusterId")?;
        if !is_cluster_id(&cluster_id) {
            return Err("detail.clusterId is not a cluster id".into());
        }
        let state = field(detail, "state").ok_or("no detail.state")?;
        match field(event, "detail-type").as_deref() {
            Some("EMR Cluster State Change") => Ok(Self::Cluster { cluster_id, state }),
            Some("EMR Step Status Change") => {
                let step_id = field(detail, "stepId").ok_or("no detail.stepId")?;
                Ok(Self::Step {
                    cluster_id,
                    step_id,
                    state,
                })
            }
            _ => Err("a detail-type the router does not handle".into()),
        }
    }

    pub fn cluster_id(&self) -> &str {
        match self {
            Self::Cluster { cluster_id, .. } | Self::Step { cluster_id, .. } => cluster_id,
        }
    }
}

/// What the router did with one event.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Routed {
    /// Why the event was not acted on at all, if it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored: Option<String>,
    /// Executions waiting on the cluster.
    pub waits: usize,
    /// Waits the event could end, so checked.
    pub checked: usize,
    /// Tokens answered (`delivered`) and tokens found dead.
    pub delivered: usize,
    pub stale: usize,
    /// Whether this event recorded the cost of a run that ended without finishing (its cluster has ended).
    pub cost_recorded: bool,
}

/// Whether `event` can end `wait`: a decisive cluster state for its mode, or (a `run` wait) the last of its steps
/// ending. Steps are recorded as they end, so a lost step event only delays the end to the next one or the backstop.
async fn can_end(event: &EmrEvent, wait: &Wait, waits: &impl Waits) -> Result<bool, Error> {
    match event {
        EmrEvent::Cluster { state, .. } => {
            Ok(decisive_cluster_states(wait.request.mode).contains(&state.as_str()))
        }
        EmrEvent::Step { step_id, state, .. } => {
            if wait.request.mode != Mode::Run
                || !STEP_FINAL.contains(&state.as_str())
                || !wait.request.step_ids.contains(step_id)
            {
                return Ok(false);
            }
            Ok(match waits.step_ended(wait, step_id).await? {
                Some(ended) => wait.request.step_ids.iter().all(|id| ended.contains(id)),
                None => false,
            })
        }
    }
}

/// What one event did to one wait.
enum Handled {
    /// The event cannot end it: no EMR call.
    NotDecisive,
    /// Checked: the run goes on, the wait stays.
    GoesOn,
    /// Checked: the run is over, its token answered.
    Answered(Delivery),
}

async fn handle<E: Emr, W: Waits, C: Callbacks, P: PriceSource>(
    event: &EmrEvent,
    wait: &Wait,
    emr: &impl Fn(Option<&str>) -> E,
    with: &Answering<'_, W, C, P>,
) -> Result<Handled, Error> {
    if !can_end(event, wait, with.waits).await? {
        return Ok(Handled::NotDecisive);
    }
    Ok(
        match with
            .check_and_answer(wait, &emr(wait.request.region.as_deref()))
            .await?
        {
            None => Handled::GoesOn,
            Some((delivery, _)) => Handled::Answered(delivery),
        },
    )
}

/// Handles one event. `emr` gives the EMR port of a region (the wait's own, as check-status would use it).
/// Goes through every wait even when one fails, then reports the first failure (EventBridge's asynchronous
/// invocation then tries the event again; answering again is harmless).
pub async fn route<E: Emr, W: Waits + UnfinishedRuns, C: Callbacks, P: PriceSource>(
    event: &Value,
    emr: impl Fn(Option<&str>) -> E,
    with: &Answering<'_, W, C, P>,
) -> Result<Routed, Error> {
    let event = match EmrEvent::parse(event) {
        Ok(e) => e,
        Err(why) => {
            tracing::info!(%why, "event ignored");
            return Ok(Routed {
                ignored: Some(why),
                ..Routed::default()
            });
        }
    };
    with.waits.note_event(event.cluster_id(), with.now).await?;
    let found = with.waits.waiting_on(event.cluster_id()).await?;
    let mut routed = Routed {
        waits: found.len(),
        ..Routed::default()
    };
    let mut first_error = None;
    for wait in &found {
        match handle(&event, wait, &emr, with).await {
            Ok(Handled::NotDecisive) => {}
            Ok(Handled::GoesOn) => routed.checked += 1,
            Ok(Handled::Answered(delivery)) => {
                routed.checked += 1;
                match delivery {
                    Delivery::Delivered => routed.delivered += 1,
                    Delivery::Stale => routed.stale += 1,
                }
            }
            Err(e) => {
                tracing::warn!(execution = %wait.execution, error = %e, "a wait could not be checked");
                first_error.get_or_insert(e);
            }
        }
    }
    if let EmrEvent::Cluster { cluster_id, state } = &event {
        if CLUSTER_ENDED.contains(&state.as_str()) {
            match record_unfinished(cluster_id, &emr, with).await {
                Ok(recorded) => routed.cost_recorded = recorded,
                Err(e) => {
                    tracing::warn!(%cluster_id, error = %e, "the cost of the run that left the cluster could not be recorded");
                    first_error.get_or_insert(e);
                }
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(routed),
    }
}

/// Records the final cost of the run that ended without finishing and left `cluster_id`, if the cleanup noted one
/// (one GetItem; EMR is called only for a noted cluster, in the noted region).
async fn record_unfinished<E: Emr, W: UnfinishedRuns, C, P: PriceSource>(
    cluster_id: &str,
    emr: &impl Fn(Option<&str>) -> E,
    with: &Answering<'_, W, C, P>,
) -> Result<bool, Error> {
    let Some(run) = with.waits.unrecorded_of(cluster_id).await? else {
        return Ok(false);
    };
    let recorded = record_cost(
        &run,
        &emr(run.region.as_deref()),
        with.waits,
        with.prices,
        with.now,
    )
    .await?;
    Ok(matches!(recorded, Recorded::Now(_)))
}

#[cfg(test)]
mod tests {
    //! The routing and registration logic over in-memory ports (the real table, EMR and Step Functions run in
    //! tests/statemachine: callbacks.test.mjs, events.test.mjs).
    use std::collections::BTreeSet;

    use dfr_core::status::Mode;
    use serde_json::{json, Value};

    use super::*;
    use crate::fakes::{answering as with, request, FakeCallbacks, FakeEmr, FakeTable, CLUSTER};

    fn waiting(table: &FakeTable, execution: &str, mode: Mode, step_ids: &[&str]) {
        table.waits.borrow_mut().insert(
            execution.into(),
            Wait {
                cluster_id: CLUSTER.into(),
                execution: execution.into(),
                token: format!("token-of-{execution}"),
                request: request(mode, step_ids),
                steps_ended: BTreeSet::new(),
            },
        );
    }

    fn cluster_event(state: &str) -> Value {
        json!({"source": "aws.emr", "detail-type": "EMR Cluster State Change", "detail": {"clusterId": CLUSTER, "state": state}})
    }

    fn step_event(step: &str, state: &str) -> Value {
        json!({"source": "aws.emr", "detail-type": "EMR Step Status Change",
               "detail": {"clusterId": CLUSTER, "stepId": step, "state": state}})
    }

    async fn send(event: Value, emr: &FakeEmr, table: &FakeTable, sfn: &FakeCallbacks) -> Routed {
        route(&event, |_| emr, &with(table, sfn)).await.unwrap()
    }

    #[tokio::test]
    async fn a_transient_run_is_answered_once_its_cluster_ends_and_never_checked_before() {
        let (emr, table, sfn) = (
            FakeEmr::default(),
            FakeTable::default(),
            FakeCallbacks::default(),
        );
        waiting(&table, "exec-1", Mode::Transient, &[]);
        *emr.state.borrow_mut() = "RUNNING".into();
        emr.steps
            .borrow_mut()
            .push(("s-1".into(), "COMPLETED".into()));
        for event in [cluster_event("RUNNING"), step_event("s-1", "COMPLETED")] {
            let routed = send(event, &emr, &table, &sfn).await;
            assert_eq!((routed.waits, routed.checked), (1, 0));
        }
        assert_eq!(
            emr.calls.get(),
            0,
            "events that cannot end a transient run cost no EMR call"
        );
        *emr.state.borrow_mut() = "TERMINATING".into();
        let routed = send(cluster_event("TERMINATING"), &emr, &table, &sfn).await;
        assert_eq!(
            (routed.waits, routed.checked, routed.delivered),
            (1, 0, 0),
            "a transient run ends with its cluster's end, not while it terminates"
        );
        assert_eq!(emr.calls.get(), 0);
        *emr.state.borrow_mut() = "TERMINATED".into();
        let routed = send(cluster_event("TERMINATED"), &emr, &table, &sfn).await;
        assert_eq!((routed.checked, routed.delivered), (1, 1));
        assert_eq!(
            emr.calls.get(),
            3,
            "DescribeCluster, ListSteps, and the instances the run's cost is read from"
        );
        let answered = sfn.answered.borrow().clone();
        assert_eq!(answered.len(), 1);
        assert_eq!(answered[0].0, "token-of-exec-1");
        assert_eq!(answered[0].1["phase"], "succeeded");
        assert_eq!(answered[0].1["finished"], true);
        assert!(
            table.waits.borrow().is_empty(),
            "an answered wait is forgotten"
        );
        // the same event again (EventBridge delivers at least once): nobody waits
        let routed = send(cluster_event("TERMINATED"), &emr, &table, &sfn).await;
        assert_eq!((routed.waits, routed.checked, routed.delivered), (0, 0, 0));
        assert_eq!(emr.calls.get(), 3, "no call after the answer");
    }

    #[tokio::test]
    async fn a_run_wait_is_checked_only_when_the_last_of_its_own_steps_ends() {
        let (emr, table, sfn) = (
            FakeEmr::default(),
            FakeTable::default(),
            FakeCallbacks::default(),
        );
        waiting(&table, "exec-run", Mode::Run, &["s-1", "s-2"]);
        *emr.state.borrow_mut() = "RUNNING".into();
        emr.steps.borrow_mut().extend([
            ("s-1".into(), "COMPLETED".into()),
            ("s-2".into(), "RUNNING".into()),
        ]);
        let routed = send(step_event("s-1", "COMPLETED"), &emr, &table, &sfn).await;
        assert_eq!(routed.checked, 0);
        // a step of somebody else's run, and a step that only started
        send(step_event("s-9", "COMPLETED"), &emr, &table, &sfn).await;
        send(step_event("s-2", "RUNNING"), &emr, &table, &sfn).await;
        assert_eq!(emr.calls.get(), 0);
        emr.steps.borrow_mut()[1].1 = "COMPLETED".into();
        let routed = send(step_event("s-2", "COMPLETED"), &emr, &table, &sfn).await;
        assert_eq!((routed.checked, routed.delivered), (1, 1));
        assert_eq!(sfn.answered.borrow()[0].1["phase"], "succeeded");
    }

    #[tokio::test]
    async fn a_check_that_finds_the_run_going_on_answers_nothing_and_keeps_the_wait() {
        let (emr, table, sfn) = (
            FakeEmr::default(),
            FakeTable::default(),
            FakeCallbacks::default(),
        );
        waiting(&table, "exec-run", Mode::Run, &["s-1"]);
        *emr.state.borrow_mut() = "WAITING".into();
        emr.steps
            .borrow_mut()
            .push(("s-1".into(), "RUNNING".into()));
        let routed = send(cluster_event("WAITING"), &emr, &table, &sfn).await;
        assert_eq!((routed.checked, routed.delivered), (1, 0));
        assert!(sfn.answered.borrow().is_empty());
        assert_eq!(table.waits.borrow().len(), 1);
    }

    #[tokio::test]
    async fn a_dead_token_counts_as_stale_and_its_wait_is_forgotten() {
        let (emr, table, sfn) = (
            FakeEmr::default(),
            FakeTable::default(),
            FakeCallbacks::default(),
        );
        waiting(&table, "exec-1", Mode::Up, &[]);
        sfn.answered
            .borrow_mut()
            .push(("token-of-exec-1".into(), Value::Null));
        *emr.state.borrow_mut() = "WAITING".into();
        let routed = send(cluster_event("WAITING"), &emr, &table, &sfn).await;
        assert_eq!((routed.delivered, routed.stale), (0, 1));
        assert!(table.waits.borrow().is_empty());
    }

    #[tokio::test]
    async fn a_clusters_end_records_the_cost_of_the_unfinished_run_that_left_it_once() {
        use crate::unfinished::{UnfinishedRun, UnfinishedRuns};
        let table = FakeTable::default();
        let sfn = FakeCallbacks::default();
        // Nobody noted the cluster: its end costs one table read and no EMR call.
        let emr = crate::fakes::cluster("TERMINATED");
        let routed = send(cluster_event("TERMINATED"), &emr, &table, &sfn).await;
        assert!(!routed.cost_recorded);
        assert_eq!(emr.calls.get(), 0);
        let run = UnfinishedRun {
            cluster_id: CLUSTER.into(),
            region: None,
            execution: "arn:aws:states:eu-west-1:123456789012:execution:dfr-run-transient:n".into(),
            status: "ABORTED".into(),
            started_at: None,
            stopped_at: None,
        };
        table.note(&run, crate::fakes::now()).await.unwrap();
        // TERMINATING is not an end: nothing read.
        let routed = send(cluster_event("TERMINATING"), &emr, &table, &sfn).await;
        assert!(!routed.cost_recorded);
        assert_eq!(emr.calls.get(), 0);
        let routed = send(cluster_event("TERMINATED"), &emr, &table, &sfn).await;
        assert!(routed.cost_recorded);
        assert!(table.recorded.borrow().contains_key(CLUSTER));
        // A duplicate of the event: recorded already, no EMR call.
        let calls = emr.calls.get();
        let routed = send(cluster_event("TERMINATED"), &emr, &table, &sfn).await;
        assert!(!routed.cost_recorded);
        assert_eq!(emr.calls.get(), calls);
    }

    #[tokio::test]
    async fn events_that_are_not_emr_cluster_or_step_changes_are_ignored_without_a_trace() {
        let (emr, table, sfn) = (
            FakeEmr::default(),
            FakeTable::default(),
            FakeCallbacks::default(),
        );
        waiting(&table, "exec-1", Mode::Transient, &[]);
        for event in [
            json!({"source": "aws.states", "detail-type": "EMR Cluster State Change", "detail": {"clusterId": CLUSTER, "state": "TERMINATED"}}),
            json!({"source": "aws.emr", "detail-type": "EMR Auto Scaling Policy State Change", "detail": {"clusterId": CLUSTER, "state": "TERMINATED"}}),
            json!({"source": "aws.emr", "detail-type": "EMR Cluster State Change", "detail": {"clusterId": "../j-1", "state": "TERMINATED"}}),
            json!({"source": "aws.emr", "detail-type": "EMR Step Status Change", "detail": {"clusterId": CLUSTER, "state": "COMPLETED"}}),
            json!("TERMINATED"),
        ] {
            let routed = send(event, &emr, &table, &sfn).await;
            assert!(routed.ignored.is_some());
        }
        assert_eq!(table.note.get(), None);
        assert_eq!(emr.calls.get(), 0);
    }
}
