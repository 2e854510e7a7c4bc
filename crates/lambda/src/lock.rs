//! lock: a run's lock (the original's `--lock` / `--softLock`), acquired before anything is spent and ended with
//! the run; and, from the stack's rule on every end of an execution, the end of whatever lock that execution still
//! holds (a stopped or timed-out execution runs none of its own states). The lock logic is `dfr_locks`.

use chrono::{DateTime, Duration, Utc};
use dfr_locks::{Acquisition, Ended, Kind, LockName, LockRecord, LockTable, Outcome, State};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::Error;
use crate::event::ExecutionStatusChange;
use crate::stack::Stack;

use crate::metrics::Metric;
pub use crate::metrics::METRICS_NAMESPACE;

/// Longest lease a state machine may ask for: a Standard workflow's year and a day.
pub const MAX_LEASE_SECONDS: u64 = 366 * 86_400;

/// An acquire gives up (retryably) after this long, so that no acquire of a stopped execution can write its lock
/// after the end of that execution has looked for it a second time (`DFR_LAUNCH_WINDOW_SECONDS`, 75 s, after the stop).
pub const ACQUIRE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(45);

/// The state machines whose executions take locks, by the end of their name (the longest first: the stack is what
/// is left of a name without it).
const LOCKING_MACHINES: [&str; 5] = [
    "-serverless-run-transient",
    "-serverless-up",
    "-run-transient",
    "-up",
    "-run",
];

/// The statuses of an ended execution: what the stack's lock rule forwards.
pub const ENDED: [&str; 4] = ["SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT"];

/// The execution input's `lock`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LockInput {
    pub name: LockName,
    #[serde(default)]
    pub kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Action {
    Acquire,
    Release,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RunOutcome {
    Succeeded,
    Failed,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DirectEvent {
    action: Action,
    lock: LockInput,
    #[serde(deserialize_with = "crate::event::execution_arn")]
    owner: String,
    #[serde(default)]
    lease_seconds: Option<u64>,
    #[serde(default)]
    asynchronous: bool,
    /// The execution's options: the acquire is the first call of a locked run, so it checks them.
    #[serde(default)]
    execution: Option<crate::event::ExecutionOptions>,
    #[serde(default)]
    outcome: Option<RunOutcome>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    cause: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LockEvent {
    Acquire {
        lock: LockInput,
        owner: String,
        lease: Duration,
    },
    Release {
        name: LockName,
        owner: String,
        outcome: Outcome,
    },
    ExecutionEnded(ExecutionStatusChange),
}

impl LockEvent {
    pub fn parse(v: &Value) -> Result<Self, Error> {
        if let Some(ended) = ExecutionStatusChange::parse(v)? {
            ended.check(
                &LOCKING_MACHINES,
                "take no locks; the lock rule is for the run-transient, up and run state machines' executions",
                &ENDED,
                &format!(
                    "the lock rule acts on an execution that ended ({}); a running execution keeps its lock",
                    ENDED.join(", ")
                ),
            )?;
            return Ok(Self::ExecutionEnded(ended));
        }
        let d: DirectEvent = crate::runtime::decode("lock", v.clone())?;
        let invalid = |m: &str| Err(Error::InvalidConfig(format!("lock: {m}")));
        match d.action {
            Action::Acquire => {
                if let Some(execution) = &d.execution {
                    execution.check()?;
                }
                if d.asynchronous {
                    return invalid(
                        "a lock cannot be used with options.async: the lock would be released when the steps are \
                         submitted, not when they end (the original refused --lock with --async too); drop one of them",
                    );
                }
                if d.outcome.is_some() || d.error.is_some() || d.cause.is_some() {
                    return invalid(
                        "$.outcome, $.error and $.cause belong to \"release\", not \"acquire\"",
                    );
                }
                let lease = match d.lease_seconds {
                    Some(s) if (1..=MAX_LEASE_SECONDS).contains(&s) => s,
                    other => {
                        return invalid(&format!(
                            "$.leaseSeconds: {other:?}: an acquire needs the lease, 1 to {MAX_LEASE_SECONDS} seconds \
                             (the state machine's execution timeout plus a margin)"
                        ))
                    }
                };
                Ok(Self::Acquire {
                    lock: d.lock,
                    owner: d.owner,
                    lease: Duration::seconds(lease as i64),
                })
            }
            Action::Release => {
                if d.lease_seconds.is_some() || d.asynchronous || d.execution.is_some() {
                    return invalid(
                        "$.leaseSeconds, $.asynchronous and $.execution belong to \"acquire\", not \"release\"",
                    );
                }
                let outcome = match d.outcome {
                    Some(RunOutcome::Succeeded) => Outcome::Succeeded,
                    Some(RunOutcome::Failed) => {
                        Outcome::failed(d.error.unwrap_or_else(|| "Failed".into()), d.cause)
                    }
                    None => return invalid(
                        "$.outcome: a release says how the run ended: \"succeeded\" or \"failed\"",
                    ),
                };
                Ok(Self::Release {
                    name: d.lock.name,
                    owner: d.owner,
                    outcome,
                })
            }
        }
    }
}

/// The answer to an acquire, which the state machines' Choice reads (`acquired`) and quote (`holder`, `message`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AcquireOutput {
    pub acquired: bool,
    pub name: LockName,
    pub kind: Kind,
    pub owner: String,
    pub acquired_at: Option<DateTime<Utc>>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// The same execution acquiring again (a retry, a redrive).
    pub already_held: bool,
    /// The owner whose lease had ended without a release, when this acquire took the lock over from it.
    pub took_over_from: Option<String>,
    /// Who has the lock, when it was not acquired.
    pub holder: Option<LockRecord>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseOutput {
    pub name: LockName,
    /// `released`, `kept` (a hard lock after a failure) or `notOwned` (released already, taken over, or released by
    /// hand).
    pub outcome: &'static str,
    pub lock: Option<LockRecord>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CleanupOutput {
    pub released: Vec<LockName>,
    pub kept: Vec<LockName>,
    pub not_owned: Vec<LockName>,
}

pub async fn handle(
    event: &LockEvent,
    table: &LockTable,
    stack: &Stack,
    now: DateTime<Utc>,
) -> Result<Value, Error> {
    match event {
        LockEvent::Acquire { lock, owner, lease } => {
            let acquire = table.acquire(&lock.name, lock.kind, owner, *lease, now);
            let a = tokio::time::timeout(ACQUIRE_DEADLINE, acquire)
                .await
                .map_err(|_| {
                    Error::EmrUnavailable(format!(
                        "lock {}: no answer from the lock table within {} s; the acquire is retried",
                        lock.name,
                        ACQUIRE_DEADLINE.as_secs()
                    ))
                })??;
            crate::runtime::encode(&acquire_output(lock, owner, a, now))
        }
        LockEvent::Release {
            name,
            owner,
            outcome,
        } => {
            let ended = table.end(name, owner, outcome, "run", now).await?;
            crate::runtime::encode(&release_output(name, ended))
        }
        LockEvent::ExecutionEnded(ended) => {
            let mut out = CleanupOutput::default();
            cleanup(ended, table, now, &mut out).await?;
            // An acquire still in flight when the execution was stopped writes its lock after this look.
            if let Some(wait) = stack.in_flight_wait(&ended.status, ended.stopped_at, now) {
                tokio::time::sleep(wait).await;
                let later = now + Duration::from_std(wait).unwrap_or_default();
                cleanup(ended, table, later, &mut out).await?;
            }
            crate::runtime::encode(&out)
        }
    }
}

/// The outcome a lock records for an execution that ended with `status` (and, when FAILED, its error and cause): the
/// same for the lock rule and the reconciler.
pub fn ended_outcome(status: &str, error: Option<String>, cause: Option<String>) -> Outcome {
    match status {
        "SUCCEEDED" => Outcome::Succeeded,
        "FAILED" => Outcome::failed(error.unwrap_or_else(|| "FAILED".into()), cause),
        "ABORTED" => Outcome::failed("ABORTED", Some("the execution was stopped".into())),
        other => Outcome::failed(
            other,
            Some("the execution timed out (its state machine's TimeoutSeconds)".into()),
        ),
    }
}

/// What the execution's end does to the locks it still has: the same as its own last state would have.
async fn cleanup(
    ended: &ExecutionStatusChange,
    table: &LockTable,
    now: DateTime<Utc>,
    out: &mut CleanupOutput,
) -> Result<(), Error> {
    let outcome = ended_outcome(&ended.status, ended.error.clone(), ended.cause.clone());
    for name in table.locks_of(&ended.execution_arn).await? {
        if out.released.contains(&name) || out.kept.contains(&name) {
            continue;
        }
        // Not this execution's at the first look, but maybe at the second (an acquire that was in flight).
        out.not_owned.retain(|n| n != &name);
        match table
            .end(&name, &ended.execution_arn, &outcome, "cleanup", now)
            .await?
        {
            Ended::Released { .. } => {
                tracing::info!(lock = %name, execution_arn = %ended.execution_arn, status = %ended.status, "released the lock of an ended execution");
                out.released.push(name);
            }
            Ended::Kept { .. } => out.kept.push(name),
            Ended::NotOwned { .. } => out.not_owned.push(name),
        }
    }
    Ok(())
}

fn acquire_output(
    lock: &LockInput,
    owner: &str,
    a: Acquisition,
    now: DateTime<Utc>,
) -> AcquireOutput {
    match a {
        Acquisition::Acquired {
            record,
            already_held,
            took_over,
        } => {
            if let Some(old) = &took_over {
                tracing::warn!(lock = %lock.name, previous_owner = %old.owner, "took over a lock whose lease had ended without a release");
            }
            AcquireOutput {
                acquired: true,
                name: record.name.clone(),
                kind: record.kind,
                owner: record.owner.clone(),
                acquired_at: Some(record.acquired_at),
                lease_expires_at: record.lease_expires_at,
                already_held,
                took_over_from: took_over.map(|r| r.owner.clone()),
                holder: None,
                message: record.describe(now),
            }
        }
        Acquisition::Held { holder } => {
            let message = holder.describe(now);
            tracing::info!(lock = %lock.name, holder = %holder.owner, "{message}");
            println!("{}", held_metrics(owner, &holder, now));
            AcquireOutput {
                acquired: false,
                name: lock.name.clone(),
                kind: lock.kind,
                owner: owner.to_string(),
                acquired_at: None,
                lease_expires_at: None,
                already_held: false,
                took_over_from: None,
                holder: Some(holder),
                message,
            }
        }
    }
}

fn release_output(name: &LockName, ended: Ended) -> ReleaseOutput {
    let (outcome, lock) = match ended {
        Ended::Released { record } => ("released", Some(record)),
        Ended::Kept { record } => ("kept", Some(record)),
        Ended::NotOwned { current } => ("notOwned", current),
    };
    ReleaseOutput {
        name: name.clone(),
        outcome,
        lock,
    }
}

/// The stack an execution belongs to: its state machine's name without the command (`dfr-run-transient` → `dfr`).
fn stack_of(execution_arn: &str) -> &str {
    let machine = crate::event::execution_machine(execution_arn).unwrap_or_default();
    LOCKING_MACHINES
        .iter()
        .find_map(|suffix| machine.strip_suffix(suffix))
        .unwrap_or(machine)
}

/// A CloudWatch embedded-metric log line for a run that found its lock held: `LockHeld` (1) and
/// `LockHeldForSeconds` (how long the holder has had it), per stack. The stack's alarms read them: failed executions
/// that are not LockHeld, and a lock held longer than expected (infra/README.md "Locks").
pub fn held_metrics(owner: &str, holder: &LockRecord, now: DateTime<Utc>) -> Value {
    let held_for = (now - holder.acquired_at).num_seconds().max(0);
    crate::metrics::embedded(
        stack_of(owner),
        &[
            (Metric::LockHeld, 1.0),
            (Metric::LockHeldForSeconds, held_for as f64),
        ],
        json!({
            "lock": holder.name,
            "holder": holder.owner,
            "holderState": holder.state.as_str(),
            "requester": owner,
            "message": if holder.state == State::Failed { "kept after its owner failed" } else { "held" },
        }),
        now,
    )
}

/// The locks a reconciler's sweep leaves held: held by a run, or kept after a failure (a hard lock, until someone
/// releases it); each keeps the next run of its name from starting.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeldLocks {
    pub count: usize,
    /// Of them, hard locks kept after a failure.
    pub kept: usize,
    /// The one held longest, and for how many seconds (since its owner acquired it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oldest: Option<LockName>,
    pub oldest_seconds: i64,
}

impl HeldLocks {
    /// Of the lock table's `records` as the sweep read them, but for those it `freed` (released) since.
    pub fn of(records: &[LockRecord], freed: &[&str], now: DateTime<Utc>) -> Self {
        let mut held = HeldLocks::default();
        for record in records {
            if !matches!(record.state, State::Held | State::Failed)
                || freed.contains(&record.name.as_str())
            {
                continue;
            }
            held.count += 1;
            held.kept += usize::from(record.state == State::Failed);
            let seconds = (now - record.acquired_at).num_seconds().max(0);
            if held.oldest.is_none() || seconds > held.oldest_seconds {
                held.oldest = Some(record.name.clone());
                held.oldest_seconds = seconds;
            }
        }
        held
    }

    /// The embedded-metric log line of `HeldLocks` and `OldestHeldLockSeconds` for `stack`, or `None` when no lock
    /// is held: a gauge written only while there is something to tell (the dashboard reads no line as none held),
    /// so a stack without locks pays for no custom metric.
    pub fn metrics(&self, stack: &str, now: DateTime<Utc>) -> Option<Value> {
        (self.count > 0).then(|| {
            crate::metrics::embedded(
                stack,
                &[
                    (Metric::HeldLocks, self.count as f64),
                    (Metric::OldestHeldLockSeconds, self.oldest_seconds as f64),
                ],
                json!({ "oldestLock": self.oldest, "locksKept": self.kept }),
                now,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNER: &str =
        "arn:aws:states:eu-west-1:123456789012:execution:dfr-run-transient:nightly-2";

    #[test]
    fn events_are_checked_before_the_table_is_asked() {
        let acquire = json!({"action": "acquire", "lock": {"name": "snowplow/enrich"}, "owner": OWNER, "leaseSeconds": 1_299_600});
        match LockEvent::parse(&acquire).unwrap() {
            LockEvent::Acquire { lock, lease, .. } => {
                assert_eq!(lock.kind, Kind::Hard, "--lock is hard");
                assert_eq!(lease, Duration::seconds(1_299_600));
            }
            other => panic!("{other:?}"),
        }
        let cases = [
            (
                json!({"action": "acquire", "lock": {"name": "a b"}, "owner": OWNER, "leaseSeconds": 600}),
                "1 to 256 characters",
            ),
            (
                json!({"action": "acquire", "lock": {"name": "x", "kind": "HARD"}, "owner": OWNER, "leaseSeconds": 600}),
                "$.lock.kind",
            ),
            (
                json!({"action": "acquire", "lock": {"name": "x"}, "owner": "nightly", "leaseSeconds": 600}),
                "not a Step Functions execution ARN",
            ),
            (
                json!({"action": "acquire", "lock": {"name": "x"}, "owner": OWNER}),
                "$.leaseSeconds",
            ),
            (
                json!({"action": "acquire", "lock": {"name": "x"}, "owner": OWNER, "leaseSeconds": 600, "asynchronous": true}),
                "options.async",
            ),
            (
                json!({"action": "release", "lock": {"name": "x"}, "owner": OWNER}),
                "$.outcome",
            ),
            (
                json!({"action": "steal", "lock": {"name": "x"}, "owner": OWNER}),
                "$.action",
            ),
            (
                json!({"action": "acquire", "lock": {"name": "x", "ttl": 5}, "owner": OWNER, "leaseSeconds": 600}),
                "ttl",
            ),
        ];
        for (event, fragment) in cases {
            let e = LockEvent::parse(&event).unwrap_err();
            assert_eq!(e.name(), "InvalidConfig", "{event}");
            assert!(e.to_string().contains(fragment), "{event}: {e}");
        }
    }

    #[test]
    fn a_lock_without_a_kind_is_of_the_schemas_default_kind() {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../../schemas/execution-input.schema.json"))
                .unwrap();
        let default = &schema["$defs"]["lock"]["properties"]["kind"]["default"];
        let lock: LockInput = serde_json::from_value(json!({"name": "snowplow/enrich"})).unwrap();
        assert_eq!(default.as_str(), Some(lock.kind.as_str()));
    }

    #[test]
    fn the_lock_rule_acts_on_ended_executions_of_the_locking_machines() {
        let event = |arn: &str, status: &str| {
            json!({"detail-type": "Step Functions Execution Status Change", "source": "aws.states",
                   "detail": {"executionArn": arn, "status": status, "stopDate": 1_764_000_000_000_i64}})
        };
        for status in ENDED {
            assert!(matches!(
                LockEvent::parse(&event(OWNER, status)).unwrap(),
                LockEvent::ExecutionEnded(_)
            ));
        }
        let run = OWNER.replace("dfr-run-transient", "dfr-run");
        assert!(LockEvent::parse(&event(&run, "ABORTED")).is_ok());
        let serverless = OWNER.replace("dfr-run-transient", "dfr-serverless-run-transient");
        assert!(LockEvent::parse(&event(&serverless, "FAILED")).is_ok());
        assert_eq!(stack_of(&serverless), "dfr");
        assert_eq!(
            stack_of(&OWNER.replace("dfr-run-transient", "dfr-serverless-up")),
            "dfr"
        );
        let down = OWNER.replace("dfr-run-transient", "dfr-down");
        let e = LockEvent::parse(&event(&down, "FAILED")).unwrap_err();
        assert!(e.to_string().contains("take no locks"), "{e}");
        let e = LockEvent::parse(&event(OWNER, "RUNNING")).unwrap_err();
        assert!(e.to_string().contains("$.detail.status"), "{e}");
    }

    #[test]
    fn a_held_lock_is_a_metric_of_the_stack() {
        let holder = LockRecord::held(
            &LockName::new("snowplow/enrich").unwrap(),
            Kind::Hard,
            "arn:aws:states:eu-west-1:123456789012:execution:dfr-run-transient:nightly-1",
            "2026-11-24T03:00:00Z".parse().unwrap(),
            Duration::seconds(1_299_600),
        );
        let m = held_metrics(OWNER, &holder, "2026-11-25T03:00:00Z".parse().unwrap());
        assert_eq!(m["Stack"], "dfr");
        assert_eq!(m["LockHeld"], 1);
        assert_eq!(m["LockHeldForSeconds"], 86_400);
        crate::metrics::assert_well_formed(&m);
        assert_eq!(
            stack_of("arn:aws:states:r:1:execution:my-stack-up:x"),
            "my-stack"
        );
        assert_eq!(
            stack_of("arn:aws:states:r:1:execution:my-stack-run:x"),
            "my-stack"
        );
    }

    #[test]
    fn the_locks_a_sweep_leaves_held_are_counted_with_the_oldest() {
        let t = |s: &str| -> DateTime<Utc> { s.parse().unwrap() };
        let lock = |name: &str, acquired: &str| {
            LockRecord::held(
                &LockName::new(name).unwrap(),
                Kind::Hard,
                OWNER,
                t(acquired),
                Duration::seconds(3600),
            )
        };
        let now = t("2026-11-25T03:00:00Z");
        let mut kept = lock("acme/kept", "2026-11-24T03:00:00Z");
        kept.state = State::Failed;
        let released = lock("acme/free", "2026-11-20T00:00:00Z").released(now, OWNER, "done");
        let records = [lock("acme/enrich", "2026-11-25T02:00:00Z"), kept, released];
        let held = HeldLocks::of(&records, &[], now);
        assert_eq!((held.count, held.kept), (2, 1), "a released lock is free");
        let swept = HeldLocks::of(&records, &["acme/kept"], now);
        assert_eq!(swept.count, 1, "as is one the sweep released");
        assert_eq!(
            swept.oldest.as_ref().map(LockName::as_str),
            Some("acme/enrich")
        );
        assert_eq!(
            held.oldest.as_ref().map(LockName::as_str),
            Some("acme/kept")
        );
        assert_eq!(held.oldest_seconds, 86_400);
        let m = held.metrics("dfr", now).unwrap();
        assert_eq!(
            (&m["HeldLocks"], &m["OldestHeldLockSeconds"]),
            (&json!(2), &json!(86_400))
        );
        assert_eq!(m["oldestLock"], "acme/kept");
        crate::metrics::assert_well_formed(&m);
        assert_eq!(
            HeldLocks::of(&records[2..], &[], now).metrics("dfr", now),
            None,
            "no line while no lock is held"
        );
    }
}
