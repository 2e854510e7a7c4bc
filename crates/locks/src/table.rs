//! The lock table: every change of a lock is one conditional PutItem of the record [`crate::model`] computes, so
//! DynamoDB decides every race.
//!
//! - Acquire: `attribute_not_exists(lockName) OR state = released OR (state = held AND leaseExpiresAt < now)`.
//! - Every later change (renew, release, keep after a failure, an operator's release): the record is still the one
//!   that was read (`owner`, `state` and `acquiredAt` unchanged), otherwise read again and decide again.

use std::future::Future;

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::Serialize;

use crate::error::{sdk_failure, LockError};
use crate::item::{self, from_item, to_item, Item};
use crate::model::{release_refusal, Kind, LockName, LockRecord, Outcome, OwnerStatus, State};

/// Conditional writes that find the lock changed are decided again this many times before giving up (each time
/// someone else changed it in between: with a handful of runs per lock, two are already rare).
const ATTEMPTS: usize = 5;

const CAN_ACQUIRE: &str =
    "attribute_not_exists(#key) OR #state = :released OR (#state = :held AND #lease < :now)";
const UNCHANGED: &str = "#owner = :owner AND #state = :state AND #acquiredAt = :acquiredAt";

/// What an acquire found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "outcome")]
pub enum Acquisition {
    /// The lock is the caller's: newly, or again (`already_held`: the same owner acquiring again, a retry or a
    /// redrive), or taken over from an owner whose lease had ended (`took_over`: that owner's record).
    #[serde(rename = "acquired")]
    Acquired {
        record: LockRecord,
        already_held: bool,
        took_over: Option<Box<LockRecord>>,
    },
    /// Someone else holds it (or failed with it, for a kept hard lock).
    #[serde(rename = "held")]
    Held { holder: LockRecord },
}

/// What the end of a run did to its lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "outcome")]
pub enum Ended {
    #[serde(rename = "released")]
    Released { record: LockRecord },
    /// A hard lock kept after a failure (the first failure recorded on it stays).
    #[serde(rename = "kept")]
    Kept { record: LockRecord },
    /// The lock is not this owner's (any more): released already, taken over after its lease, or released by hand.
    #[serde(rename = "notOwned")]
    NotOwned { current: Option<LockRecord> },
}

/// What an operator's release did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "outcome")]
pub enum OperatorRelease {
    #[serde(rename = "released")]
    Released {
        before: Box<LockRecord>,
        after: LockRecord,
    },
    /// Nothing to release: no such lock, or it is free already.
    #[serde(rename = "notHeld")]
    NotHeld { current: Option<LockRecord> },
}

enum Write {
    /// The write took effect; the item before it, if there was one.
    Done(Option<LockRecord>),
    /// The condition failed; the item as it is, if there is one.
    Conflict(Option<LockRecord>),
}

/// The stack's lock table (`DFR_LOCK_TABLE` in the functions, the `LockTableName` output of the stack).
#[derive(Debug, Clone)]
pub struct LockTable {
    client: Client,
    table: String,
}

/// Where a paginated listing goes on from: DynamoDB's `LastEvaluatedKey`, or a `NextToken`/`Marker`. An empty one,
/// like none, ends the listing.
pub trait PageKey {
    fn is_empty_key(&self) -> bool;
}

impl PageKey for Item {
    fn is_empty_key(&self) -> bool {
        self.is_empty()
    }
}

impl PageKey for String {
    fn is_empty_key(&self) -> bool {
        self.is_empty()
    }
}

/// Every item of a paginated listing (a Query or Scan, or a listing that pages with a token): `page` reads the page
/// after a key (the first when `None`) and answers its items and the key to go on from. (The stack's other table, the
/// wait table, pages the same way, and so do the functions' adapters of EMR's and the Price List's listings.)
pub async fn all_pages<F, Fut, E, T, K>(mut page: F) -> Result<Vec<T>, E>
where
    F: FnMut(Option<K>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<K>), E>>,
    K: PageKey,
{
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let (mut these, next) = page(start).await?;
        items.append(&mut these);
        match next {
            Some(k) if !k.is_empty_key() => start = Some(k),
            _ => return Ok(items),
        }
    }
}

/// The record an answer carries, if any (DynamoDB leaves out, or sends empty, the attributes of no item).
fn record_of(attributes: Option<&Item>) -> Result<Option<LockRecord>, LockError> {
    attributes
        .filter(|a| !a.is_empty())
        .map(from_item)
        .transpose()
}

fn epoch(t: DateTime<Utc>) -> AttributeValue {
    AttributeValue::N(t.timestamp().to_string())
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

impl LockTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }

    /// Acquires `name` for `owner` (an execution ARN) until `now + lease`; see [`Acquisition`].
    pub async fn acquire(
        &self,
        name: &LockName,
        kind: Kind,
        owner: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Acquisition, LockError> {
        // Whole seconds, as the condition compares them: what it lets through is what `is_free` says is free.
        let now = DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
        for _ in 0..ATTEMPTS {
            let wanted = LockRecord::held(name, kind, owner, now, lease);
            let current = match self.put_if_free(&wanted, now).await? {
                Write::Done(previous) => {
                    let took_over = previous
                        .filter(|p| p.state == State::Held && p.owner != owner)
                        .map(Box::new);
                    let record = match &took_over {
                        // Say on the lock whose expired lease it replaced (if it is still ours to say).
                        Some(old) => {
                            let marked = LockRecord {
                                took_over_from: Some(old.owner.clone()),
                                ..wanted.clone()
                            };
                            match self.put_if_unchanged(&marked, &wanted).await? {
                                Write::Done(_) => marked,
                                Write::Conflict(_) => wanted,
                            }
                        }
                        None => wanted,
                    };
                    return Ok(Acquisition::Acquired {
                        record,
                        already_held: false,
                        took_over,
                    });
                }
                Write::Conflict(Some(current)) => current,
                Write::Conflict(None) => match self.show(name).await? {
                    Some(current) => current,
                    None => continue,
                },
            };
            if current.owner == owner && current.state != State::Released {
                let renewed = current.renewed(kind, now, lease);
                if let Write::Done(_) = self.put_if_unchanged(&renewed, &current).await? {
                    return Ok(Acquisition::Acquired {
                        record: renewed,
                        already_held: true,
                        took_over: None,
                    });
                }
            } else if !current.is_free(now) {
                return Ok(Acquisition::Held { holder: current });
            }
            // Freed or changed between the write and the look: decide again.
        }
        Err(self.contended(name))
    }

    /// The end of `owner`'s run: releases the lock, or keeps a hard one after a failure (see
    /// [`LockRecord::ended`]). `by` says who reports the end (`run`, `cleanup`). Idempotent.
    pub async fn end(
        &self,
        name: &LockName,
        owner: &str,
        outcome: &Outcome,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<Ended, LockError> {
        for _ in 0..ATTEMPTS {
            let current = match self.show(name).await? {
                Some(c) if c.owner == owner && c.state != State::Released => c,
                other => return Ok(Ended::NotOwned { current: other }),
            };
            if current.state == State::Failed && current.kind.keeps_after(outcome) {
                return Ok(Ended::Kept { record: current });
            }
            let ended = current.ended(outcome, by, now);
            if let Write::Done(_) = self.put_if_unchanged(&ended, &current).await? {
                return Ok(match ended.state {
                    State::Failed => Ended::Kept { record: ended },
                    _ => Ended::Released { record: ended },
                });
            }
        }
        Err(self.contended(name))
    }

    /// The locks `owner` holds or held (through the owner index, which DynamoDB updates within about a second).
    pub async fn locks_of(&self, owner: &str) -> Result<Vec<LockName>, LockError> {
        let items = all_pages(|start| async move {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(item::OWNER_INDEX)
                .key_condition_expression("#owner = :owner")
                .expression_attribute_names("#owner", item::OWNER)
                .expression_attribute_values(":owner", s(owner))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| LockError::Aws(sdk_failure("Query", e)))?;
            Ok((out.items().to_vec(), out.last_evaluated_key().cloned()))
        })
        .await?;
        let mut names = Vec::new();
        for i in items {
            if let Some(AttributeValue::S(n)) = i.get(item::KEY) {
                names.push(LockName::new(n.clone()).map_err(LockError::Corrupt)?);
            }
        }
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// One lock, read consistently; `None` when the table has no record of it.
    pub async fn show(&self, name: &LockName) -> Result<Option<LockRecord>, LockError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(item::KEY, s(name.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| LockError::Aws(sdk_failure("GetItem", e)))?;
        out.item().map(from_item).transpose()
    }

    /// Every lock the table has a record of (held, kept after a failure, or released in the last 30 days), by name.
    pub async fn list(&self) -> Result<Vec<LockRecord>, LockError> {
        let items = all_pages(|start| async move {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| LockError::Aws(sdk_failure("Scan", e)))?;
            Ok((out.items().to_vec(), out.last_evaluated_key().cloned()))
        })
        .await?;
        let mut records = items.iter().map(from_item).collect::<Result<Vec<_>, _>>()?;
        records.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(records)
    }

    /// An operator releases `name` by hand (`by`: who, for the record). Refused ([`LockError::Refused`]) while its
    /// owner is running, as `owner_status` tells for the owner's execution ARN (e.g. from DescribeExecution; answer
    /// [`OwnerStatus::Unknown`] to judge from the lease), unless `force`. The release applies only to the lock as it
    /// was looked at: if it changed in between, [`LockError::Changed`].
    pub async fn release<F, Fut>(
        &self,
        name: &LockName,
        force: bool,
        by: &str,
        owner_status: F,
        now: DateTime<Utc>,
    ) -> Result<OperatorRelease, LockError>
    where
        F: FnOnce(String) -> Fut,
        Fut: Future<Output = OwnerStatus>,
    {
        let current = match self.show(name).await? {
            Some(c) if c.state != State::Released => c,
            other => return Ok(OperatorRelease::NotHeld { current: other }),
        };
        let status = if force {
            OwnerStatus::Unknown
        } else {
            owner_status(current.owner.clone()).await
        };
        if let Some(why) = release_refusal(&current, &status, force, now) {
            return Err(LockError::Refused(why));
        }
        let reason = match &status {
            OwnerStatus::Ended(s) => format!("released by hand after its owner ended {s}"),
            _ if force => "released by hand (forced)".to_string(),
            _ => "released by hand".to_string(),
        };
        let after = current.released(now, by, &reason);
        match self.put_if_unchanged(&after, &current).await? {
            Write::Done(_) => Ok(OperatorRelease::Released {
                before: Box::new(current),
                after,
            }),
            Write::Conflict(now_is) => Err(LockError::Changed(format!(
                "lock {name:?} changed while it was being released (it is now: {}); look again",
                now_is.map_or("gone".to_string(), |r| r.describe(now))
            ))),
        }
    }

    fn contended(&self, name: &LockName) -> LockError {
        LockError::Changed(format!(
            "lock {name:?} changed under {ATTEMPTS} conditional writes in a row; try again"
        ))
    }

    async fn put_if_free(
        &self,
        wanted: &LockRecord,
        now: DateTime<Utc>,
    ) -> Result<Write, LockError> {
        let request = self
            .put(wanted)
            .condition_expression(CAN_ACQUIRE)
            .expression_attribute_names("#key", item::KEY)
            .expression_attribute_names("#state", item::STATE)
            .expression_attribute_names("#lease", item::LEASE_EXPIRES_AT)
            .expression_attribute_values(":released", s(State::Released.as_str()))
            .expression_attribute_values(":held", s(State::Held.as_str()))
            .expression_attribute_values(":now", epoch(now));
        Self::write(request).await
    }

    async fn put_if_unchanged(
        &self,
        new: &LockRecord,
        seen: &LockRecord,
    ) -> Result<Write, LockError> {
        let request = self
            .put(new)
            .condition_expression(UNCHANGED)
            .expression_attribute_names("#owner", item::OWNER)
            .expression_attribute_names("#state", item::STATE)
            .expression_attribute_names("#acquiredAt", item::ACQUIRED_AT)
            .expression_attribute_values(":owner", s(&seen.owner))
            .expression_attribute_values(":state", s(seen.state.as_str()))
            .expression_attribute_values(
                ":acquiredAt",
                s(&seen.acquired_at.to_rfc3339_opts(SecondsFormat::Secs, true)),
            );
        Self::write(request).await
    }

    fn put(
        &self,
        record: &LockRecord,
    ) -> aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(record)))
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
    }

    async fn write(
        request: aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder,
    ) -> Result<Write, LockError> {
        match request.send().await {
            Ok(out) => Ok(Write::Done(record_of(out.attributes())?)),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(c)) => {
                    Ok(Write::Conflict(record_of(c.item())?))
                }
                _ => Err(LockError::Aws(sdk_failure("PutItem", e))),
            },
        }
    }
}
