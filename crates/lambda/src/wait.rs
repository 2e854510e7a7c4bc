//! Runs waiting for EMR's events (`options.completion: "events"`). A waiting execution's task token is stored
//! against its cluster in the stack's wait table; event-router finds it there when EMR announces a change and
//! answers the token with a fresh status (SendTaskSuccess). The table holds two kinds of items per cluster:
//!
//! - one per waiting execution (`waiter` = the execution ARN): its current token, the check-status request to
//!   answer it with, the run's steps that events said ended, and an expiry (DynamoDB's TTL removes forgotten ones);
//! - `waiter = "#events"`: when event-router last saw an event of the cluster. A wait registered after an event it
//!   would have cared about sees it here and checks EMR itself, so no event is lost between a check and the next
//!   wait (the router notes the event before it looks for waits; registration stores its token before it looks at
//!   the note: one of the two always sees the other).
//!
//! A token answered twice (a duplicate event, the router and a registration at once) is harmless: Step Functions
//! answers the second SendTaskSuccess with TaskTimedOut, which counts as delivered.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::check::{check_status, CheckEvent, CheckOutput};
use crate::emr::Emr;
use crate::error::Error;

/// Step Functions' limit on a task token (SendTaskSuccess's API reference: 1 to 2,048 characters; older SDK models
/// said 1,024). A token Step Functions gave must never fail a run, so the bound is the API's, not the older one.
pub const MAX_TOKEN_CHARS: usize = 2048;
/// The sort key of a cluster's last-event note.
pub const EVENTS_NOTE: &str = "#events";
/// How long past its backstop a wait item is kept: long enough for a late event to find a token (it then learns the
/// token is dead), short enough that the table holds only live runs.
const KEEP_AFTER_BACKSTOP_SECONDS: i64 = 3600;
/// How long the note of a cluster's last event is kept.
const KEEP_NOTE_SECONDS: i64 = 7 * 24 * 3600;

/// The `wait` field of check-status's event: present when the state machine waits on a task token.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WaitFor {
    /// `$$.Task.Token`.
    #[serde(deserialize_with = "task_token")]
    pub task_token: String,
    /// `$$.Execution.Id`: one wait per execution and cluster; a new token replaces the last one.
    #[serde(deserialize_with = "crate::event::run_key")]
    pub execution: String,
    /// When the status the execution holds was read from EMR (`null` before the first check): events seen since
    /// then may have ended the run already.
    #[serde(default, deserialize_with = "crate::event::time")]
    pub checked_at: Option<DateTime<Utc>>,
    /// The wait's TimeoutSeconds (its backstop): the item outlives it by an hour.
    pub seconds: u32,
}

fn task_token<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    use serde::de::Error as _;
    let token = String::deserialize(d)?;
    let n = token.chars().count();
    if n == 0 || n > MAX_TOKEN_CHARS || token.chars().any(char::is_control) {
        return Err(D::Error::custom(format!(
            "a task token of {n} characters: give $$.Task.Token (1 to {MAX_TOKEN_CHARS} printable characters)"
        )));
    }
    Ok(token)
}

/// One waiting execution, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Wait {
    pub cluster_id: String,
    pub execution: String,
    pub token: String,
    /// The check-status request the answer is computed with (`wait` left out).
    pub request: CheckEvent,
    /// Steps of a `run` wait that events said ended.
    pub steps_ended: BTreeSet<String>,
}

/// What answering a token did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Delivery {
    Delivered,
    /// The token was answered already, timed out, or its execution ended: nobody waits on it any more.
    Stale,
}

/// The wait table.
#[allow(async_fn_in_trait)]
pub trait Waits {
    /// Stores the wait (its token and request), replacing the execution's previous token and request but keeping
    /// the steps events said ended: a `run` wait registered again after a backstop check must still count the
    /// steps that ended before.
    async fn put(&self, wait: &Wait, expires_at: DateTime<Utc>) -> Result<(), Error>;
    /// When an event of the cluster was last seen, if one was.
    async fn last_event(&self, cluster_id: &str) -> Result<Option<DateTime<Utc>>, Error>;
    async fn note_event(&self, cluster_id: &str, at: DateTime<Utc>) -> Result<(), Error>;
    /// Every waiting execution of every cluster (the reconciler's sweep; the table holds only live waits).
    async fn all(&self) -> Result<Vec<Wait>, Error>;
    /// Every execution waiting on the cluster (strongly consistent).
    async fn waiting_on(&self, cluster_id: &str) -> Result<Vec<Wait>, Error>;
    /// Records that `step_id` ended for the execution's wait; the steps recorded so far, or `None` when the
    /// execution no longer waits with `token`.
    async fn step_ended(
        &self,
        wait: &Wait,
        step_id: &str,
    ) -> Result<Option<BTreeSet<String>>, Error>;
    /// Removes the wait if it still holds `token` (a newer wait of the same execution stays).
    async fn remove(&self, wait: &Wait) -> Result<(), Error>;
}

/// Step Functions' callback API.
#[allow(async_fn_in_trait)]
pub trait Callbacks {
    async fn succeed(&self, token: &str, output: &Value) -> Result<Delivery, Error>;
}

/// What check-status answers when it registers a wait. Step Functions ignores it (the task ends with what
/// SendTaskSuccess sends); it shows in the function's logs and tests.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Registered {
    /// Whether an event seen since the last check made this registration check EMR.
    pub checked: bool,
    /// The status it found, when it checked.
    pub status: Option<CheckOutput>,
    /// Whether it answered its own token (the run had ended, or is ready, before any event could).
    pub answered: Option<Delivery>,
    /// The error name when the run was over but answering failed (the wait stays stored; the run goes on waiting).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unanswered: Option<String>,
}

/// check-status with a task token: stores the token, then checks EMR only if an event came since the execution's
/// last status (zero EMR calls otherwise), answering the token at once if the run is over.
pub async fn register(
    event: &CheckEvent,
    wait: &WaitFor,
    emr: &impl Emr,
    waits: &impl Waits,
    callbacks: &impl Callbacks,
    now: DateTime<Utc>,
    jitter: f64,
) -> Result<Registered, Error> {
    let request = CheckEvent {
        wait: None,
        ..event.clone()
    };
    let stored = Wait {
        cluster_id: event.cluster_id.clone(),
        execution: wait.execution.clone(),
        token: wait.task_token.clone(),
        request: request.clone(),
        steps_ended: BTreeSet::new(),
    };
    let expires_at = now + Duration::seconds(i64::from(wait.seconds) + KEEP_AFTER_BACKSTOP_SECONDS);
    waits.put(&stored, expires_at).await?;
    let seen = waits.last_event(&event.cluster_id).await?;
    let stale = match (seen, wait.checked_at) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(seen), Some(checked)) => seen >= checked,
    };
    if !stale {
        return Ok(Registered {
            checked: false,
            status: None,
            answered: None,
            unanswered: None,
        });
    }
    let status = check_status(&request.after_event(), emr, now, jitter).await?;
    let mut registered = Registered {
        checked: true,
        status: None,
        answered: None,
        unanswered: None,
    };
    if status.finished {
        // The token is Step Functions' own and the wait is stored: a refused or failed answer must not fail the run
        // (it would end an `up` whose cluster just became ready). The wait stays for event-router, the reconciler's
        // next sweep and, last, the backstop.
        match answer(&stored, &status, waits, callbacks).await {
            Ok(delivery) => registered.answered = Some(delivery),
            Err(e) => {
                tracing::warn!(execution = %stored.execution, error = %e, "the run is over but its token could not be answered; the wait stays for the router, the reconciler or the backstop");
                registered.unanswered = Some(e.name().to_string());
            }
        }
    }
    registered.status = Some(status);
    Ok(registered)
}

/// Answers a wait's token with `status` and forgets the wait.
pub async fn answer(
    wait: &Wait,
    status: &CheckOutput,
    waits: &impl Waits,
    callbacks: &impl Callbacks,
) -> Result<Delivery, Error> {
    let output = serde_json::to_value(status).map_err(|e| Error::Internal(e.to_string()))?;
    let delivery = callbacks.succeed(&wait.token, &output).await?;
    waits.remove(wait).await?;
    Ok(delivery)
}

/// The wait table over DynamoDB (`DFR_WAIT_TABLE`).
#[derive(Debug, Clone)]
pub struct WaitTable {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn text<'a>(item: &'a HashMap<String, AttributeValue>, key: &str) -> Result<&'a str, Error> {
    item.get(key)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| Error::Internal(format!("a wait item without its {key}")))
}

impl WaitTable {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn key(cluster_id: &str, waiter: &str) -> HashMap<String, AttributeValue> {
        HashMap::from([
            ("clusterId".to_string(), s(cluster_id)),
            ("waiter".to_string(), s(waiter)),
        ])
    }

    fn wait_of(item: &HashMap<String, AttributeValue>) -> Result<Wait, Error> {
        let request: Value = serde_json::from_str(text(item, "request")?)
            .map_err(|e| Error::Internal(format!("a wait item's request: {e}")))?;
        let request: CheckEvent = serde_json::from_value(request)
            .map_err(|e| Error::Internal(format!("a wait item's request: {e}")))?;
        Ok(Wait {
            cluster_id: text(item, "clusterId")?.to_string(),
            execution: text(item, "waiter")?.to_string(),
            token: text(item, "token")?.to_string(),
            request,
            steps_ended: item
                .get("stepsEnded")
                .and_then(|v| v.as_ss().ok())
                .map(|ids| ids.iter().cloned().collect())
                .unwrap_or_default(),
        })
    }
}

impl Waits for WaitTable {
    async fn put(&self, wait: &Wait, expires_at: DateTime<Utc>) -> Result<(), Error> {
        // UpdateItem, not PutItem: `stepsEnded` stays (see [`Waits::put`]).
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(&wait.cluster_id, &wait.execution)))
            .update_expression("SET #token = :token, #request = :request, expiresAt = :expires")
            .expression_attribute_names("#token", "token")
            .expression_attribute_names("#request", "request")
            .expression_attribute_values(":token", s(&wait.token))
            .expression_attribute_values(":request", s(&wait.request.to_json().to_string()))
            .expression_attribute_values(":expires", n(expires_at.timestamp()))
            .send()
            .await
            .map_err(|e| Error::from_sdk("UpdateItem", e))?;
        Ok(())
    }

    async fn last_event(&self, cluster_id: &str) -> Result<Option<DateTime<Utc>>, Error> {
        let answer = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(cluster_id, EVENTS_NOTE)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| Error::from_sdk("GetItem", e))?;
        Ok(answer
            .item()
            .and_then(|i| i.get("lastEventAt"))
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<i64>().ok())
            .and_then(DateTime::<Utc>::from_timestamp_millis))
    }

    async fn note_event(&self, cluster_id: &str, at: DateTime<Utc>) -> Result<(), Error> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(cluster_id, EVENTS_NOTE)))
            .update_expression("SET lastEventAt = :at, expiresAt = :expires")
            .expression_attribute_values(":at", n(at.timestamp_millis()))
            .expression_attribute_values(
                ":expires",
                n((at + Duration::seconds(KEEP_NOTE_SECONDS)).timestamp()),
            )
            .send()
            .await
            .map_err(|e| Error::from_sdk("UpdateItem", e))?;
        Ok(())
    }

    async fn all(&self) -> Result<Vec<Wait>, Error> {
        let mut waits = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("waiter <> :note")
                .expression_attribute_values(":note", s(EVENTS_NOTE))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| Error::from_sdk("Scan", e))?;
            for item in page.items() {
                waits.push(Self::wait_of(item)?);
            }
            match page.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok(waits),
            }
        }
    }

    async fn waiting_on(&self, cluster_id: &str) -> Result<Vec<Wait>, Error> {
        let mut waits = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("clusterId = :c")
                .expression_attribute_values(":c", s(cluster_id))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| Error::from_sdk("Query", e))?;
            for item in page.items() {
                if text(item, "waiter")? != EVENTS_NOTE {
                    waits.push(Self::wait_of(item)?);
                }
            }
            match page.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok(waits),
            }
        }
    }

    async fn step_ended(
        &self,
        wait: &Wait,
        step_id: &str,
    ) -> Result<Option<BTreeSet<String>>, Error> {
        let answer = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(&wait.cluster_id, &wait.execution)))
            .update_expression("ADD stepsEnded :s")
            .condition_expression("#token = :token")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":s", AttributeValue::Ss(vec![step_id.to_string()]))
            .expression_attribute_values(":token", s(&wait.token))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        match answer {
            Ok(a) => Ok(Some(
                a.attributes()
                    .and_then(|i| i.get("stepsEnded"))
                    .and_then(|v| v.as_ss().ok())
                    .map(|ids| ids.iter().cloned().collect())
                    .unwrap_or_default(),
            )),
            Err(e) if is_condition_failed(&e) => Ok(None),
            Err(e) => Err(Error::from_sdk("UpdateItem", e)),
        }
    }

    async fn remove(&self, wait: &Wait) -> Result<(), Error> {
        let answer = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(&wait.cluster_id, &wait.execution)))
            .condition_expression("#token = :token")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":token", s(&wait.token))
            .send()
            .await;
        match answer {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failed(&e) => Ok(()),
            Err(e) => Err(Error::from_sdk("DeleteItem", e)),
        }
    }
}

fn is_condition_failed<E, R>(e: &aws_sdk_dynamodb::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    e.as_service_error()
        .and_then(|s| s.code())
        .is_some_and(|c| c == "ConditionalCheckFailedException")
}

/// Step Functions' callback API over the SDK.
#[derive(Debug, Clone)]
pub struct SdkCallbacks {
    pub client: aws_sdk_sfn::Client,
}

impl Callbacks for SdkCallbacks {
    async fn succeed(&self, token: &str, output: &Value) -> Result<Delivery, Error> {
        let answer = self
            .client
            .send_task_success()
            .task_token(token)
            .output(output.to_string())
            .send()
            .await;
        match answer {
            Ok(_) => Ok(Delivery::Delivered),
            Err(e) => {
                let code = e
                    .as_service_error()
                    .and_then(aws_sdk_sfn::error::ProvideErrorMetadata::code)
                    .map(str::to_string);
                match code.as_deref() {
                    Some("TaskTimedOut" | "TaskDoesNotExist" | "InvalidToken") => {
                        Ok(Delivery::Stale)
                    }
                    Some("InvalidOutput") => Err(Error::Internal(format!(
                        "SendTaskSuccess refused the status as output: {}",
                        crate::error::Error::from_sdk("SendTaskSuccess", e)
                    ))),
                    _ => Err(Error::from_sdk("SendTaskSuccess", e)),
                }
            }
        }
    }
}
