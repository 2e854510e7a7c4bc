//! EMR's EventBridge events: an `EMR Cluster State Change` or `EMR Step Status Change` event for
//! every state change the model makes, in the envelope EventBridge delivers, and the queue a local
//! stand-in for the event bus takes them from (`/_emulator/events/...`).
//!
//! An event carries the virtual time of its change, not the time it was noticed: the model applies
//! transitions lazily, but each at its exact time. Delivery faults (loss, delay, duplicates) are
//! drawn by [`crate::faults::FaultState::event_deliveries`]; everything ever emitted stays in the
//! log with its fate, so a test can tell a lost event from a late one and measure detection latency.

use serde::Serialize;
use serde_json::{json, Value};

use crate::clock::{civil, iso8601};
use crate::faults::EVENT_DETAIL_TYPES;
use crate::model::{Cluster, ClusterState, Step, StepState, Transition};

pub const SOURCE: &str = "aws.emr";
pub const CLUSTER_STATE_CHANGE: &str = EVENT_DETAIL_TYPES[0];
pub const STEP_STATUS_CHANGE: &str = EVENT_DETAIL_TYPES[1];

/// Reasons for which EMR rates a TERMINATED cluster's event CRITICAL rather than INFO.
const CRITICAL_REASONS: [&str; 4] = [
    "INSTANCE_FAILURE",
    "VALIDATION_ERROR",
    "INTERNAL_ERROR",
    "BOOTSTRAP_FAILURE",
];

pub fn detail_type(transition: &Transition) -> &'static str {
    match transition {
        Transition::Cluster { .. } => CLUSTER_STATE_CHANGE,
        Transition::Step { .. } => STEP_STATUS_CHANGE,
    }
}

/// The event of one transition of `cluster`, as EventBridge delivers it.
pub fn envelope(cluster: &Cluster, transition: &Transition, id: String) -> Value {
    let at = transition.at();
    let mut arn = cluster.arn.split(':');
    let region = arn.nth(3).unwrap_or_default();
    let account = arn.next().unwrap_or_default();
    let detail = match transition {
        Transition::Cluster {
            from,
            state,
            code,
            message,
            ..
        } => cluster_detail(
            cluster,
            at,
            *from,
            *state,
            code.as_deref(),
            message.as_deref(),
        ),
        Transition::Step {
            step, from, state, ..
        } => step_detail(cluster, &cluster.steps[*step], at, *from, *state),
    };
    wrap(
        detail_type(transition),
        SOURCE,
        account,
        region,
        at,
        id,
        detail,
    )
}

/// An event of `source` in the envelope EventBridge delivers, `time` the virtual time of the change.
pub fn wrap(
    detail_type: &str,
    source: &str,
    account: &str,
    region: &str,
    at: f64,
    id: String,
    detail: Value,
) -> Value {
    json!({
        "version": "0",
        "id": id,
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": iso8601(at),
        "region": region,
        "resources": [],
        "detail": detail,
    })
}

fn cluster_detail(
    c: &Cluster,
    at: f64,
    from: Option<ClusterState>,
    state: ClusterState,
    code: Option<&str>,
    message: Option<&str>,
) -> Value {
    let code_text = code.unwrap_or_default();
    let severity = match state {
        ClusterState::TerminatedWithErrors => "CRITICAL",
        ClusterState::Terminated if CRITICAL_REASONS.contains(&code_text) => "CRITICAL",
        _ => "INFO",
    };
    // EMR sends the reason as a JSON document inside a string.
    let mut reason = json!({ "code": code_text });
    if let Some(m) = message {
        reason["message"] = json!(m);
    }
    let who = format!("Amazon EMR cluster {} ({})", c.id, c.name);
    let when = minutes(at);
    let sentence = match state {
        ClusterState::Starting => format!("{who} was requested at {when} and is being created."),
        ClusterState::Bootstrapping => {
            format!("{who} started running bootstrap actions at {when}.")
        }
        ClusterState::Running => format!("{who} began running steps at {when}."),
        ClusterState::Waiting if from == Some(ClusterState::Bootstrapping) => {
            format!("{who} was created at {when} and is ready for use.")
        }
        ClusterState::Waiting => format!("{who} finished running all pending steps at {when}."),
        ClusterState::Terminating => format!(
            "Amazon EMR Cluster {} ({}) is terminating at {when} with a reason of {code_text}.",
            c.id, c.name
        ),
        ClusterState::Terminated => format!(
            "Amazon EMR Cluster {} ({}) has terminated at {when} with a reason of {code_text}.",
            c.id, c.name
        ),
        ClusterState::TerminatedWithErrors => format!(
            "Amazon EMR Cluster {} ({}) has terminated with errors at {when} with a reason of {code_text}.",
            c.id, c.name
        ),
    };
    json!({
        "severity": severity,
        "stateChangeReason": reason.to_string(),
        "name": c.name,
        "clusterId": c.id,
        "state": state.as_str(),
        "message": sentence,
    })
}

fn step_detail(c: &Cluster, s: &Step, at: f64, from: Option<StepState>, state: StepState) -> Value {
    let severity = match state {
        StepState::Pending | StepState::Running | StepState::Completed => "INFO",
        StepState::CancelPending | StepState::Cancelled | StepState::Interrupted => "WARN",
        StepState::Failed => "ERROR",
    };
    let step = format!("step {} ({})", s.id, s.name);
    let cluster = format!("Amazon EMR cluster {} ({})", c.id, c.name);
    let when = minutes(at);
    let sentence = match state {
        StepState::Pending => {
            format!("Step {} ({}) was added to {cluster} at {when} and is pending execution.", s.id, s.name)
        }
        StepState::Running => format!("Step {} ({}) in {cluster} started running at {when}.", s.id, s.name),
        StepState::Completed => {
            let started = s.started.unwrap_or(at);
            let took = ((at - started) / 60.0).round();
            format!(
                "Step {} ({}) in {cluster} completed execution at {when}. The step started running at {} and took {took} minutes to complete.",
                s.id,
                s.name,
                minutes(started)
            )
        }
        StepState::CancelPending => format!(
            "Step {} ({}) in {cluster} was cancelled at {when} and is pending cancellation.",
            s.id, s.name
        ),
        StepState::Cancelled if from == Some(StepState::CancelPending) => format!(
            "Cancellation request has succeeded for cluster {step} in {cluster} at {when}, and the step is now cancelled."
        ),
        StepState::Cancelled => format!(
            "Step {} ({}) in {cluster} was cancelled at {when} before it ran.",
            s.id, s.name
        ),
        StepState::Failed => format!("Step {} ({}) in {cluster} failed at {when}.", s.id, s.name),
        StepState::Interrupted => format!(
            "Step {} ({}) in {cluster} was interrupted at {when} as the cluster shut down.",
            s.id, s.name
        ),
    };
    json!({
        "severity": severity,
        "actionOnFailure": s.action_on_failure.as_str(),
        "stepId": s.id,
        "name": s.name,
        "clusterId": c.id,
        "state": state.as_str(),
        "message": sentence,
    })
}

/// What became of one delivery of an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Fate {
    /// Lost: never deliverable.
    Dropped,
    /// Queued, not taken yet (deliverable or not).
    Pending,
    /// Returned by a take.
    Delivered,
}

/// One delivery, as a take or the pending view returns it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub seq: u64,
    /// Virtual epoch seconds from which it can be taken.
    pub deliver_at: f64,
    pub event: Value,
}

/// One delivery (or a lost event) as the log keeps it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggedEvent {
    pub seq: u64,
    /// Virtual epoch seconds of the change (the envelope's `time`, before rounding).
    pub at: f64,
    /// `None` when dropped.
    pub deliver_at: Option<f64>,
    pub fate: Fate,
    /// The second delivery of an event (same `id` as the one before it).
    pub duplicate: bool,
    /// Virtual epoch seconds of the take that returned it.
    pub taken_at: Option<f64>,
    pub event: Value,
}

impl LoggedEvent {
    fn delivery(&self) -> Delivery {
        Delivery {
            seq: self.seq,
            deliver_at: self.deliver_at.unwrap_or(self.at),
            event: self.event.clone(),
        }
    }
}

/// The emitted events: the log of all of them, and the deliveries not taken yet.
#[derive(Debug, Default)]
pub struct EventBus {
    log: Vec<LoggedEvent>,
    /// Indexes into `log` of the pending deliveries.
    pending: Vec<usize>,
}

impl EventBus {
    /// Emit `event` about a change at `at`, delivered at each of `deliveries` (none: lost).
    pub fn publish(&mut self, at: f64, event: Value, deliveries: &[f64]) {
        if deliveries.is_empty() {
            self.push(at, event, None, false);
            return;
        }
        for (i, &deliver_at) in deliveries.iter().enumerate() {
            self.push(at, event.clone(), Some(deliver_at), i > 0);
        }
    }

    fn push(&mut self, at: f64, event: Value, deliver_at: Option<f64>, duplicate: bool) {
        let fate = match deliver_at {
            Some(_) => {
                self.pending.push(self.log.len());
                Fate::Pending
            }
            None => Fate::Dropped,
        };
        self.log.push(LoggedEvent {
            seq: self.log.len() as u64 + 1,
            at,
            deliver_at,
            fate,
            duplicate,
            taken_at: None,
            event,
        });
    }

    fn due(&self, i: usize, now: f64) -> bool {
        self.log[i].deliver_at.is_some_and(|t| t <= now)
    }

    /// Every delivery due by `now`, in delivery order then emission order; each is returned once.
    pub fn take(&mut self, now: f64) -> Vec<Delivery> {
        let (mut due, later): (Vec<usize>, Vec<usize>) =
            self.pending.iter().partition(|&&i| self.due(i, now));
        self.pending = later;
        self.sort(&mut due);
        due.into_iter()
            .map(|i| {
                let entry = &mut self.log[i];
                entry.fate = Fate::Delivered;
                entry.taken_at = Some(now);
                entry.delivery()
            })
            .collect()
    }

    /// The deliveries not due yet (delayed), in the order they will come.
    pub fn not_yet_due(&self, now: f64) -> Vec<Delivery> {
        let mut later: Vec<usize> = self
            .pending
            .iter()
            .copied()
            .filter(|&i| !self.due(i, now))
            .collect();
        self.sort(&mut later);
        later.into_iter().map(|i| self.log[i].delivery()).collect()
    }

    /// The earliest delivery time strictly after `now`.
    pub fn next_delivery_after(&self, now: f64) -> Option<f64> {
        self.pending
            .iter()
            .filter_map(|&i| self.log[i].deliver_at)
            .filter(|&t| t > now)
            .min_by(f64::total_cmp)
    }

    pub fn log(&self) -> &[LoggedEvent] {
        &self.log
    }

    fn sort(&self, indexes: &mut [usize]) {
        let key = |&i: &usize| (self.log[i].deliver_at.unwrap_or_default(), self.log[i].seq);
        indexes.sort_by(|a, b| {
            let (ta, sa) = key(a);
            let (tb, sb) = key(b);
            ta.total_cmp(&tb).then(sa.cmp(&sb))
        });
    }
}

/// `2026-12-02 10:00 UTC`: times inside EMR's event messages.
fn minutes(t: f64) -> String {
    let (date, h, m, _) = civil(t);
    format!("{date} {h:02}:{m:02} UTC")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_formatting_message_times_should_give_utc_minutes() {
        assert_eq!(minutes(1_796_205_600.0), "2026-12-02 10:00 UTC");
    }

    #[test]
    fn when_deliveries_are_due_should_take_each_once_in_delivery_order() {
        let mut bus = EventBus::default();
        bus.publish(10.0, json!("a"), &[30.0]);
        bus.publish(11.0, json!("b"), &[12.0, 40.0]);
        bus.publish(12.0, json!("c"), &[]);
        let seqs = |d: Vec<Delivery>| d.iter().map(|d| d.seq).collect::<Vec<_>>();
        assert_eq!(bus.next_delivery_after(12.0), Some(30.0));
        assert_eq!(seqs(bus.take(35.0)), [2, 1]);
        assert!(bus.take(35.0).is_empty());
        assert_eq!(seqs(bus.not_yet_due(35.0)), [3]);
        let fates: Vec<_> = bus.log().iter().map(|e| (e.fate, e.duplicate)).collect();
        assert_eq!(
            fates,
            [
                (Fate::Delivered, false),
                (Fate::Delivered, false),
                (Fate::Pending, true),
                (Fate::Dropped, false)
            ]
        );
    }
}
