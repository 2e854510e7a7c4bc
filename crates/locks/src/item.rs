//! The lock table's item layout (infra/README.md "Locks" documents it; infra/template.yaml declares the key, the
//! owner index and the TTL attribute, and the state-machine tests create the table from that declaration).
//!
//! | attribute | type | |
//! |---|---|---|
//! | `lockName` | S | partition key |
//! | `kind`, `state`, `owner`, `acquiredAt` | S | `hard`/`soft`; `held`/`failed`/`released`; execution ARN; RFC 3339 |
//! | `leaseExpiresAt` | N | held only: epoch seconds, compared in the acquire condition |
//! | `failedAt`, `failureError`, `failureCause` | S | failed only |
//! | `releasedAt`, `releasedBy`, `releaseReason` | S | released only |
//! | `tookOverFrom` | S | the owner whose expired lease was taken over |
//! | `expiresAt` | N | the TTL attribute (epoch seconds): none on a kept hard lock |

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, SecondsFormat, Utc};

use crate::error::LockError;
use crate::model::{Failure, Kind, LockName, LockRecord, Release, State};

/// The partition key.
pub const KEY: &str = "lockName";
/// The global secondary index on `owner`: the cleanup of an ended execution finds its locks with it.
pub const OWNER_INDEX: &str = "owner-index";
/// The TTL attribute.
pub const TTL: &str = "expiresAt";

pub const KIND: &str = "kind";
pub const STATE: &str = "state";
pub const OWNER: &str = "owner";
pub const ACQUIRED_AT: &str = "acquiredAt";
pub const LEASE_EXPIRES_AT: &str = "leaseExpiresAt";
pub const FAILED_AT: &str = "failedAt";
pub const FAILURE_ERROR: &str = "failureError";
pub const FAILURE_CAUSE: &str = "failureCause";
pub const RELEASED_AT: &str = "releasedAt";
pub const RELEASED_BY: &str = "releasedBy";
pub const RELEASE_REASON: &str = "releaseReason";
pub const TOOK_OVER_FROM: &str = "tookOverFrom";

pub type Item = HashMap<String, AttributeValue>;

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn time(t: DateTime<Utc>) -> AttributeValue {
    s(&t.to_rfc3339_opts(SecondsFormat::Secs, true))
}

fn epoch(t: DateTime<Utc>) -> AttributeValue {
    AttributeValue::N(t.timestamp().to_string())
}

pub fn to_item(r: &LockRecord) -> Item {
    let mut item = Item::new();
    item.insert(KEY.into(), s(r.name.as_str()));
    item.insert(KIND.into(), s(r.kind.as_str()));
    item.insert(STATE.into(), s(r.state.as_str()));
    item.insert(OWNER.into(), s(&r.owner));
    item.insert(ACQUIRED_AT.into(), time(r.acquired_at));
    if let Some(t) = r.lease_expires_at {
        item.insert(LEASE_EXPIRES_AT.into(), epoch(t));
    }
    if let Some(f) = &r.failure {
        item.insert(FAILED_AT.into(), time(f.at));
        item.insert(FAILURE_ERROR.into(), s(&f.error));
        if let Some(c) = &f.cause {
            item.insert(FAILURE_CAUSE.into(), s(c));
        }
    }
    if let Some(rel) = &r.release {
        item.insert(RELEASED_AT.into(), time(rel.at));
        item.insert(RELEASED_BY.into(), s(&rel.by));
        item.insert(RELEASE_REASON.into(), s(&rel.reason));
    }
    if let Some(o) = &r.took_over_from {
        item.insert(TOOK_OVER_FROM.into(), s(o));
    }
    if let Some(t) = r.expires_at {
        item.insert(TTL.into(), epoch(t));
    }
    item
}

/// Reads an item back; anything not in this layout is [`LockError::Corrupt`], naming the lock and the attribute.
pub fn from_item(item: &Item) -> Result<LockRecord, LockError> {
    let name = text(item, KEY, "?")?.unwrap_or_default();
    let corrupt = |attr: &str, why: &str| {
        LockError::Corrupt(format!(
            "lock {name:?}: attribute {attr} {why}: the item is not in the layout the functions write (infra/README.md \
             \"Locks\")"
        ))
    };
    let required = |attr: &str| -> Result<String, LockError> {
        text(item, attr, &name)?.ok_or_else(|| corrupt(attr, "is missing"))
    };
    let when = |attr: &str| -> Result<Option<DateTime<Utc>>, LockError> {
        text(item, attr, &name)?
            .map(|t| {
                t.parse()
                    .map_err(|_| corrupt(attr, "is not an RFC 3339 time"))
            })
            .transpose()
    };
    let seconds = |attr: &str| -> Result<Option<DateTime<Utc>>, LockError> {
        match item.get(attr) {
            None => Ok(None),
            Some(AttributeValue::N(n)) => n
                .parse::<i64>()
                .ok()
                .and_then(|n| DateTime::from_timestamp(n, 0))
                .map(Some)
                .ok_or_else(|| corrupt(attr, "is not epoch seconds")),
            Some(_) => Err(corrupt(attr, "is not a number")),
        }
    };
    let kind = match required(KIND)?.as_str() {
        "hard" => Kind::Hard,
        "soft" => Kind::Soft,
        _ => return Err(corrupt(KIND, "is neither hard nor soft")),
    };
    let state = match required(STATE)?.as_str() {
        "held" => State::Held,
        "failed" => State::Failed,
        "released" => State::Released,
        _ => return Err(corrupt(STATE, "is not held, failed or released")),
    };
    let failure = match when(FAILED_AT)? {
        Some(at) => Some(Failure {
            at,
            error: required(FAILURE_ERROR)?,
            cause: text(item, FAILURE_CAUSE, &name)?,
        }),
        None => None,
    };
    let release = match when(RELEASED_AT)? {
        Some(at) => Some(Release {
            at,
            by: required(RELEASED_BY)?,
            reason: required(RELEASE_REASON)?,
        }),
        None => None,
    };
    Ok(LockRecord {
        name: LockName::new(name.clone()).map_err(|e| corrupt(KEY, &e))?,
        kind,
        state,
        owner: required(OWNER)?,
        acquired_at: when(ACQUIRED_AT)?.ok_or_else(|| corrupt(ACQUIRED_AT, "is missing"))?,
        lease_expires_at: seconds(LEASE_EXPIRES_AT)?,
        failure,
        release,
        took_over_from: text(item, TOOK_OVER_FROM, &name)?,
        expires_at: seconds(TTL)?,
    })
}

fn text(item: &Item, attr: &str, name: &str) -> Result<Option<String>, LockError> {
    match item.get(attr) {
        None => Ok(None),
        Some(AttributeValue::S(v)) => Ok(Some(v.clone())),
        Some(_) => Err(LockError::Corrupt(format!(
            "lock {name:?}: attribute {attr} is not a string: the item is not in the layout the functions write"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn every_state_of_a_record_survives_the_table() {
        let now: DateTime<Utc> = "2026-11-25T03:00:02Z".parse().unwrap();
        let held = LockRecord::held(
            &LockName::new("snowplow/enrich").unwrap(),
            Kind::Soft,
            "arn:aws:states:eu-west-1:123456789012:execution:dfr-run:n",
            now,
            Duration::seconds(100),
        );
        let taken = LockRecord {
            took_over_from: Some("arn:old".into()),
            ..held.clone()
        };
        let failed = held.kept_failed(now, "StepFailed", Some("{\"a\": 1}"));
        let released = held.released(now, "run", "the run succeeded");
        for r in [held, taken, failed, released] {
            assert_eq!(from_item(&to_item(&r)).unwrap(), r);
        }
    }

    #[test]
    fn an_item_in_another_layout_is_named_as_such() {
        let mut item = Item::new();
        item.insert(KEY.into(), s("x"));
        item.insert(KIND.into(), s("exclusive"));
        let e = from_item(&item).unwrap_err();
        assert!(matches!(e, LockError::Corrupt(_)));
        assert!(e.to_string().contains("kind"), "{e}");
    }
}
