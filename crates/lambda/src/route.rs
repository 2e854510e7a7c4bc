//! event-router: EMR's `EMR Cluster State Change` and `EMR Step Status Change` events (EventBridge, best effort) end
//! the waits of the runs they concern (see [`crate::wait`]).
//!
//! For each event: note it against its cluster, find the executions waiting on that cluster, and for each wait the
//! event can matter to (a decisive cluster state for its mode; for a `run` wait, the last of its own steps ending)
//! check the run exactly as check-status would, answering the token if the run is over. Events of clusters nobody
//! waits on, events that cannot end a wait, stale and duplicate events cost no EMR call and answer nothing. Every
//! EMR call goes to a cluster one of this stack's executions registered, never to the cluster an event names alone.

use chrono::{DateTime, Utc};
use dfr_core::status::{decisive_cluster_states, Mode, STEP_FINAL};
use serde::Serialize;
use serde_json::Value;

use crate::check::check_status;
use crate::emr::Emr;
use crate::error::Error;
use crate::event::is_cluster_id;
use crate::wait::{answer, Callbacks, Delivery, Wait, Waits};

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

/// Handles one event. `emr` gives the EMR port of a region (the wait's own, as check-status would use it).
/// Goes through every wait even when one fails, then reports the first failure (EventBridge's asynchronous
/// invocation then tries the event again; answering again is harmless).
pub async fn route<E: Emr>(
    event: &Value,
    emr: impl Fn(Option<&str>) -> E,
    waits: &impl Waits,
    callbacks: &impl Callbacks,
    now: DateTime<Utc>,
    jitter: f64,
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
    waits.note_event(event.cluster_id(), now).await?;
    let found = waits.waiting_on(event.cluster_id()).await?;
    let mut routed = Routed {
        waits: found.len(),
        ..Routed::default()
    };
    let mut first_error = None;
    for wait in &found {
        let outcome = async {
            if !can_end(&event, wait, waits).await? {
                return Ok(None);
            }
            let status = check_status(
                &wait.request,
                &emr(wait.request.region.as_deref()),
                now,
                jitter,
            )
            .await?;
            if !status.finished {
                return Ok(Some(None));
            }
            answer(wait, &status, waits, callbacks)
                .await
                .map(Some)
                .map(Some)
        }
        .await;
        match outcome {
            Ok(None) => {}
            Ok(Some(delivery)) => {
                routed.checked += 1;
                match delivery {
                    Some(Delivery::Delivered) => routed.delivered += 1,
                    Some(Delivery::Stale) => routed.stale += 1,
                    None => {}
                }
            }
            Err(e) => {
                tracing::warn!(execution = %wait.execution, error = %e, "a wait could not be checked");
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(routed),
    }
}
