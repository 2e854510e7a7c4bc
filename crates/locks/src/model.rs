//! The pure part of locks: names, kinds, the record a lock is, its transitions, and who may release it.

use std::fmt;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// Added to a state machine's execution timeout to make its lease: a lock outlives its owner's longest possible
/// run by this much (a function invocation still in flight when the execution timed out, clocks that disagree).
pub const LEASE_MARGIN_SECONDS: u64 = 3600;

/// How long DynamoDB keeps the record of a released or expired lock (its TTL), so that `lock show` can tell who
/// last held it.
pub fn record_retention() -> Duration {
    Duration::days(30)
}

/// At most this many characters of a failure's cause are kept on a lock (the execution history has it all).
pub const MAX_CAUSE_CHARS: usize = 8 * 1024;

/// Longest lock name, in characters.
pub const MAX_NAME_CHARS: usize = 256;

/// A lock's name, e.g. `snowplow/enrich`: 1 to 256 characters, no whitespace or control characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LockName(String);

impl LockName {
    pub fn new(name: impl Into<String>) -> Result<Self, String> {
        let name = name.into();
        let n = name.chars().count();
        let bad = name.chars().find(|c| c.is_whitespace() || c.is_control());
        if n == 0 || n > MAX_NAME_CHARS || bad.is_some() {
            let what = match bad {
                Some(c) => format!("contains {c:?}"),
                None => format!("has {n} characters"),
            };
            return Err(format!(
                "lock name {:?} {what}: a lock name is 1 to {MAX_NAME_CHARS} characters without whitespace or \
                 control characters, e.g. \"snowplow/enrich\"",
                name.chars().take(80).collect::<String>()
            ));
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for LockName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::new(s)
    }
}

impl From<LockName> for String {
    fn from(n: LockName) -> String {
        n.0
    }
}

impl fmt::Display for LockName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `hard` (the original's `--lock`): kept after a failure until someone releases it. `soft` (`--softLock`):
/// released at every end of its run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    #[default]
    Hard,
    Soft,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Hard => "hard",
            Kind::Soft => "soft",
        }
    }

    /// What the end of its run does to a lock of this kind: released, except a hard lock after a failure.
    pub fn keeps_after(self, outcome: &Outcome) -> bool {
        self == Kind::Hard && outcome != &Outcome::Succeeded
    }
}

/// `held` by a running owner; `failed`: a hard lock kept after its owner failed; `released`: free (the record stays
/// a while to say who last held it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Held,
    Failed,
    Released,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Held => "held",
            State::Failed => "failed",
            State::Released => "released",
        }
    }
}

/// How a run ended, for what its lock becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    /// `error`: the execution's error name (`StepFailed`, …), or `ABORTED` / `TIMED_OUT` for a stopped or timed-out
    /// execution; `cause`: its cause, if known.
    Failed {
        error: String,
        cause: Option<String>,
    },
}

impl Outcome {
    pub fn failed(error: impl Into<String>, cause: Option<String>) -> Self {
        Outcome::Failed {
            error: error.into(),
            cause,
        }
    }

    fn describe(&self) -> String {
        match self {
            Outcome::Succeeded => "the run succeeded".into(),
            Outcome::Failed { error, .. } => format!("the run ended with {error}"),
        }
    }
}

/// Why a hard lock was kept: the failure of its owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    pub at: DateTime<Utc>,
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

/// Who released a lock, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Release {
    pub at: DateTime<Utc>,
    /// `run` (its own run's last state), `cleanup` (the stack's rule on the execution's end) or who released it by
    /// hand.
    pub by: String,
    pub reason: String,
}

/// One lock: an item of the lock table (infra/README.md "Locks" has the attribute names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockRecord {
    pub name: LockName,
    pub kind: Kind,
    pub state: State,
    /// The execution that holds it (held), failed with it (failed) or last held it (released).
    pub owner: String,
    /// When the owner acquired it.
    pub acquired_at: DateTime<Utc>,
    /// Held only: the end of its owner's longest possible run. After it, the next acquirer takes the lock over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_expires_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<Release>,
    /// The owner whose expired lease this owner took over, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub took_over_from: Option<String>,
    /// When DynamoDB may delete the record (its TTL): never for a kept hard lock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// Whole seconds: what the table stores.
fn second(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

fn text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl LockRecord {
    /// A lock newly held by `owner` until `now + lease`.
    pub fn held(
        name: &LockName,
        kind: Kind,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Self {
        let lease_expires_at = second(now + lease);
        Self {
            name: name.clone(),
            kind,
            state: State::Held,
            owner: owner.to_string(),
            acquired_at: second(now),
            lease_expires_at: Some(lease_expires_at),
            failure: None,
            release: None,
            took_over_from: None,
            expires_at: Some(lease_expires_at + record_retention()),
        }
    }

    /// Held again by the same owner (a retry or a redrive acquiring again): since the first acquisition, with a
    /// lease from now.
    pub fn renewed(&self, kind: Kind, now: DateTime<Utc>, lease: Duration) -> Self {
        Self {
            acquired_at: self.acquired_at,
            took_over_from: self.took_over_from.clone(),
            ..Self::held(&self.name, kind, &self.owner, now, lease)
        }
    }

    pub fn released(&self, now: DateTime<Utc>, by: &str, reason: &str) -> Self {
        Self {
            state: State::Released,
            lease_expires_at: None,
            failure: None,
            release: Some(Release {
                at: second(now),
                by: by.to_string(),
                reason: reason.to_string(),
            }),
            expires_at: Some(second(now) + record_retention()),
            ..self.clone()
        }
    }

    /// Kept after its owner failed: no lease, no expiry.
    pub fn kept_failed(&self, now: DateTime<Utc>, error: &str, cause: Option<&str>) -> Self {
        Self {
            state: State::Failed,
            lease_expires_at: None,
            failure: Some(Failure {
                at: second(now),
                error: error.to_string(),
                cause: cause.map(|c| c.chars().take(MAX_CAUSE_CHARS).collect()),
            }),
            release: None,
            expires_at: None,
            ..self.clone()
        }
    }

    /// What the end of the owner's run makes of this lock.
    pub fn ended(&self, outcome: &Outcome, by: &str, now: DateTime<Utc>) -> Self {
        match outcome {
            Outcome::Failed { error, cause } if self.kind.keeps_after(outcome) => {
                self.kept_failed(now, error, cause.as_deref())
            }
            _ => self.released(now, by, &outcome.describe()),
        }
    }

    pub fn lease_expired(&self, now: DateTime<Utc>) -> bool {
        self.state == State::Held && self.lease_expires_at.is_some_and(|l| l < now)
    }

    /// Whether an acquirer gets it: released, or held past its lease.
    pub fn is_free(&self, now: DateTime<Utc>) -> bool {
        self.state == State::Released || self.lease_expired(now)
    }

    /// One sentence on where the lock stands, for people.
    pub fn describe(&self, now: DateTime<Utc>) -> String {
        let (name, kind, owner) = (self.name.as_str(), self.kind.as_str(), &self.owner);
        let since = text(self.acquired_at);
        match self.state {
            State::Held => {
                let lease = self.lease_expires_at.map(text).unwrap_or_default();
                if self.lease_expired(now) {
                    format!(
                        "lock {name:?} ({kind}) was held by {owner} since {since}; its lease ended {lease} without a \
                         release, so the next run takes it over"
                    )
                } else {
                    format!("lock {name:?} ({kind}) is held by {owner} since {since} (lease until {lease})")
                }
            }
            State::Failed => {
                let (error, at) = self
                    .failure
                    .as_ref()
                    .map(|f| (f.error.as_str(), text(f.at)))
                    .unwrap_or(("an error", String::new()));
                format!(
                    "lock {name:?} ({kind}) is kept since {owner} failed with {error} at {at} (held since {since}); a \
                     hard lock stays after a failure until it is released: dataflow-runner lock release {name}"
                )
            }
            State::Released => {
                let (by, at) = self
                    .release
                    .as_ref()
                    .map(|r| (r.by.as_str(), text(r.at)))
                    .unwrap_or(("someone", String::new()));
                format!("lock {name:?} is free; last held by {owner} since {since}, released by {by} at {at}")
            }
        }
    }
}

/// What the caller of an operator's release knows about the lock's owner (e.g. from DescribeExecution).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerStatus {
    /// The execution is running (or being redriven).
    Running,
    /// The execution has ended, with this status (SUCCEEDED, FAILED, ABORTED, TIMED_OUT).
    Ended(String),
    /// Not looked up: judged from the lease.
    Unknown,
}

/// Why an operator may not release `record` now, if not: its owner runs (or may run: the lease has not ended).
/// `force` overrides.
pub fn release_refusal(
    record: &LockRecord,
    owner: &OwnerStatus,
    force: bool,
    now: DateTime<Utc>,
) -> Option<String> {
    if force || record.state == State::Released {
        return None;
    }
    let name = &record.name;
    match owner {
        OwnerStatus::Running => Some(format!(
            "{}; its owner is still running: stop the execution first (its end releases or keeps the lock as its \
             kind says), or release with --force if you know what you are doing",
            record.describe(now)
        )),
        OwnerStatus::Ended(_) => None,
        OwnerStatus::Unknown if record.state == State::Held && !record.lease_expired(now) => Some(format!(
            "{}; its owner may still be running (its lease has not ended) and its status was not looked up: check \
             the execution, or release {name} with --force",
            record.describe(now)
        )),
        OwnerStatus::Unknown => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn lock(kind: Kind) -> LockRecord {
        LockRecord::held(
            &LockName::new("snowplow/enrich").unwrap(),
            kind,
            "arn:aws:states:eu-west-1:123456789012:execution:dfr-run-transient:nightly-1",
            at("2026-11-25T03:00:02.750Z"),
            Duration::seconds(1_299_600),
        )
    }

    #[test]
    fn names_are_what_a_command_line_can_carry() {
        assert!(LockName::new("snowplow/enrich").is_ok());
        assert!(LockName::new("a").is_ok());
        assert!(LockName::new("x".repeat(256)).is_ok());
        for bad in ["", "two words", "tab\there", "nl\n", &"x".repeat(257)] {
            let e = LockName::new(bad).unwrap_err();
            assert!(e.contains("1 to 256 characters"), "{e}");
        }
        let parsed: Result<LockName, _> = serde_json::from_str("\"a b\"");
        assert!(parsed.is_err());
    }

    #[test]
    fn a_held_lock_lasts_its_lease_and_its_record_a_month_more() {
        let l = lock(Kind::Hard);
        assert_eq!(l.acquired_at, at("2026-11-25T03:00:02Z"));
        assert_eq!(l.lease_expires_at, Some(at("2026-12-10T04:00:02Z")));
        assert_eq!(l.expires_at, Some(at("2027-01-09T04:00:02Z")));
        assert!(
            !l.is_free(at("2026-12-10T04:00:02Z")),
            "free only after the lease"
        );
        assert!(l.is_free(at("2026-12-10T04:00:03Z")));
        assert!(l
            .describe(at("2026-12-11T00:00:00Z"))
            .contains("takes it over"));
    }

    #[test]
    fn soft_locks_are_released_at_every_end_hard_ones_kept_after_a_failure_without_expiry() {
        let now = at("2026-11-25T05:00:00Z");
        let failed = Outcome::failed("StepFailed", Some("{\"clusterId\": \"j-1\"}".into()));
        for outcome in [
            Outcome::Succeeded,
            failed.clone(),
            Outcome::failed("ABORTED", None),
        ] {
            let soft = lock(Kind::Soft).ended(&outcome, "run", now);
            assert_eq!(soft.state, State::Released, "{outcome:?}");
            assert!(soft.is_free(now));
            assert_eq!(soft.expires_at, Some(now + record_retention()));
        }
        let hard = lock(Kind::Hard).ended(&Outcome::Succeeded, "run", now);
        assert_eq!(hard.state, State::Released);
        let kept = lock(Kind::Hard).ended(&failed, "run", now);
        assert_eq!(kept.state, State::Failed);
        assert_eq!(kept.failure.as_ref().unwrap().error, "StepFailed");
        assert_eq!(kept.lease_expires_at, None, "a kept hard lock has no lease");
        assert_eq!(kept.expires_at, None, "and no TTL");
        assert!(
            !kept.is_free(at("2099-01-01T00:00:00Z")),
            "it never expires"
        );
        assert!(kept.describe(now).contains("lock release snowplow/enrich"));
    }

    #[test]
    fn renewing_keeps_since_and_moves_the_lease() {
        let l = lock(Kind::Soft);
        let later = at("2026-11-26T00:00:00Z");
        let r = l.renewed(Kind::Soft, later, Duration::seconds(100));
        assert_eq!(r.acquired_at, l.acquired_at);
        assert_eq!(r.lease_expires_at, Some(at("2026-11-26T00:01:40Z")));
        assert_eq!(r.state, State::Held);
    }

    #[test]
    fn an_operator_may_not_release_a_lock_whose_owner_runs_unless_forced() {
        let l = lock(Kind::Hard);
        let now = at("2026-11-25T06:00:00Z");
        assert!(release_refusal(&l, &OwnerStatus::Running, false, now).is_some());
        assert!(release_refusal(&l, &OwnerStatus::Running, true, now).is_none());
        assert!(release_refusal(&l, &OwnerStatus::Ended("FAILED".into()), false, now).is_none());
        let why = release_refusal(&l, &OwnerStatus::Unknown, false, now).unwrap();
        assert!(why.contains("lease"), "{why}");
        let expired = at("2026-12-11T00:00:00Z");
        assert!(release_refusal(&l, &OwnerStatus::Unknown, false, expired).is_none());
        let kept = l.kept_failed(now, "StepFailed", None);
        assert!(release_refusal(&kept, &OwnerStatus::Unknown, false, now).is_none());
        assert!(
            release_refusal(&kept, &OwnerStatus::Running, false, now).is_some(),
            "a redriven owner runs again"
        );
    }

    #[test]
    fn a_long_cause_is_cut() {
        let kept = lock(Kind::Hard).kept_failed(
            at("2026-11-25T06:00:00Z"),
            "StepFailed",
            Some(&"é".repeat(MAX_CAUSE_CHARS + 10)),
        );
        let cause = kept.failure.unwrap().cause.unwrap();
        assert_eq!(cause.chars().count(), MAX_CAUSE_CHARS);
    }
}
