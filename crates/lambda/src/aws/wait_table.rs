//! The wait table ([`crate::wait::Waits`], [`crate::unfinished::UnfinishedRuns`] and
//! [`crate::serverless::run_end::ServerlessRuns`]) over DynamoDB: layout in
//! infra/README.md "Waits". Items whose `waiter` starts with `#` are the table's notes (a cluster's last event, an
//! unfinished run), never a waiting execution's (an execution ARN).

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use dfr_locks::all_pages;

use crate::error::Error;
use crate::serverless::run_end::{RunNote, ServerlessRuns};
use crate::unfinished::{UnfinishedRun, UnfinishedRuns};
use crate::wait::{Wait, WaitRequest, Waits, EVENTS_NOTE, KEEP_NOTE_SECONDS};
use dfr_core::cost::unfinished as layout;
use dfr_core::serverless::status::ServerlessRunCost;

/// The first character of a note's sort key; an execution ARN never starts with it.
const NOTE_MARK: &str = "#";

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

    /// An item's key. The partition key `clusterId` holds a wait's subject: a cluster's id, or a job run's key
    /// ([`crate::wait::job_run_key`]).
    fn key(subject: &str, waiter: &str) -> HashMap<String, AttributeValue> {
        HashMap::from([
            ("clusterId".to_string(), s(subject)),
            ("waiter".to_string(), s(waiter)),
        ])
    }

    fn wait_of(item: &HashMap<String, AttributeValue>) -> Result<Wait, Error> {
        let request: Value = serde_json::from_str(text(item, "request")?)
            .map_err(|e| Error::Internal(format!("a wait item's request: {e}")))?;
        let request = WaitRequest::from_json(request)
            .map_err(|e| Error::Internal(format!("a wait item's request: {e}")))?;
        Ok(Wait {
            subject: text(item, "clusterId")?.to_string(),
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
            .set_key(Some(Self::key(&wait.subject, &wait.execution)))
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

    async fn last_event(&self, subject: &str) -> Result<Option<DateTime<Utc>>, Error> {
        let answer = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(subject, EVENTS_NOTE)))
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

    async fn note_event(&self, subject: &str, at: DateTime<Utc>) -> Result<(), Error> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(subject, EVENTS_NOTE)))
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
        let items = self
            .scan_where(
                "NOT begins_with(waiter, :note)",
                &[],
                &[(":note", s(NOTE_MARK))],
            )
            .await?;
        items.iter().map(Self::wait_of).collect()
    }

    async fn waiting_on(&self, subject: &str) -> Result<Vec<Wait>, Error> {
        let items = all_pages::<_, _, Error, _, _>(|start| async move {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("clusterId = :c")
                .expression_attribute_values(":c", s(subject))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| Error::from_sdk("Query", e))?;
            Ok((page.items().to_vec(), page.last_evaluated_key().cloned()))
        })
        .await?;
        let mut waits = Vec::new();
        for item in &items {
            if !text(item, "waiter")?.starts_with(NOTE_MARK) {
                waits.push(Self::wait_of(item)?);
            }
        }
        Ok(waits)
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
            .set_key(Some(Self::key(&wait.subject, &wait.execution)))
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
            .set_key(Some(Self::key(&wait.subject, &wait.execution)))
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

impl WaitTable {
    /// Every item the filter keeps, all pages, strongly consistent.
    async fn scan_where(
        &self,
        filter: &str,
        names: &[(&str, &str)],
        values: &[(&str, AttributeValue)],
    ) -> Result<Vec<HashMap<String, AttributeValue>>, Error> {
        all_pages::<_, _, Error, _, _>(|start| async move {
            let mut scan = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression(filter)
                .consistent_read(true)
                .set_exclusive_start_key(start);
            for (name, attribute) in names {
                scan = scan.expression_attribute_names(*name, *attribute);
            }
            for (name, value) in values {
                scan = scan.expression_attribute_values(*name, value.clone());
            }
            let page = scan.send().await.map_err(|e| Error::from_sdk("Scan", e))?;
            Ok((page.items().to_vec(), page.last_evaluated_key().cloned()))
        })
        .await
    }

    fn unfinished_of(item: &HashMap<String, AttributeValue>) -> Result<UnfinishedRun, Error> {
        let at = |key: &str| {
            item.get(key)
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse::<i64>().ok())
                .and_then(DateTime::<Utc>::from_timestamp_millis)
        };
        Ok(UnfinishedRun {
            cluster_id: text(item, "clusterId")?.to_string(),
            region: item.get("region").and_then(|v| v.as_s().ok()).cloned(),
            execution: text(item, layout::EXECUTION)?.to_string(),
            status: text(item, layout::STATUS)?.to_string(),
            started_at: at("startedAt"),
            stopped_at: at("stoppedAt"),
        })
    }
}

impl UnfinishedRuns for WaitTable {
    async fn note(&self, run: &UnfinishedRun, now: DateTime<Utc>) -> Result<(), Error> {
        let mut item = Self::key(&run.cluster_id, layout::WAITER);
        item.insert(layout::EXECUTION.into(), s(&run.execution));
        item.insert(layout::STATUS.into(), s(&run.status));
        if let Some(region) = &run.region {
            item.insert("region".into(), s(region));
        }
        for (key, at) in [("startedAt", run.started_at), ("stoppedAt", run.stopped_at)] {
            if let Some(at) = at {
                item.insert(key.into(), n(at.timestamp_millis()));
            }
        }
        item.insert(
            "expiresAt".into(),
            n((now + Duration::seconds(layout::KEEP_UNRECORDED_SECONDS)).timestamp()),
        );
        self.put_if(item, "attribute_not_exists(waiter)", &[])
            .await
            .map(|_| ())
    }

    async fn unrecorded_of(&self, cluster_id: &str) -> Result<Option<UnfinishedRun>, Error> {
        let answer = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(cluster_id, layout::WAITER)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| Error::from_sdk("GetItem", e))?;
        match answer.item() {
            Some(item) if !item.contains_key(layout::COST) => Ok(Some(Self::unfinished_of(item)?)),
            _ => Ok(None),
        }
    }

    async fn unrecorded(&self) -> Result<Vec<UnfinishedRun>, Error> {
        let items = self
            .scan_where(
                "waiter = :unfinished AND attribute_not_exists(#cost)",
                &[("#cost", layout::COST)],
                &[(":unfinished", s(layout::WAITER))],
            )
            .await?;
        items.iter().map(Self::unfinished_of).collect()
    }

    async fn record(
        &self,
        run: &UnfinishedRun,
        cost: &dfr_core::cost::RunCost,
        now: DateTime<Utc>,
    ) -> Result<bool, Error> {
        let cost = serde_json::to_string(cost)
            .map_err(|e| Error::Internal(format!("a run's cost as JSON: {e}")))?;
        let answer = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(&run.cluster_id, layout::WAITER)))
            .update_expression("SET #cost = :cost, expiresAt = :expires")
            .condition_expression("attribute_exists(waiter) AND attribute_not_exists(#cost)")
            .expression_attribute_names("#cost", layout::COST)
            .expression_attribute_values(":cost", s(&cost))
            .expression_attribute_values(
                ":expires",
                n((now + Duration::seconds(layout::KEEP_RECORDED_SECONDS)).timestamp()),
            )
            .send()
            .await;
        match answer {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failed(&e) => Ok(false),
            Err(e) => Err(Error::from_sdk("UpdateItem", e)),
        }
    }
}

impl WaitTable {
    /// A serverless run's item: its note, with `expiresAt` `keep_seconds` from `now`.
    fn serverless_item(
        note: &RunNote,
        keep_seconds: i64,
        now: DateTime<Utc>,
    ) -> HashMap<String, AttributeValue> {
        let mut item = Self::key(&note.application_id, layout::SERVERLESS_WAITER);
        item.insert(layout::EXECUTION.into(), s(&note.execution));
        item.insert(layout::STATUS.into(), s(&note.status));
        if let Some(region) = &note.region {
            item.insert("region".into(), s(region));
        }
        item.insert(
            "expiresAt".into(),
            n((now + Duration::seconds(keep_seconds)).timestamp()),
        );
        item
    }

    /// PutItem of `item` under `condition`: whether it was written (false: the condition failed).
    async fn put_if(
        &self,
        item: HashMap<String, AttributeValue>,
        condition: &str,
        names: &[(&str, &str)],
    ) -> Result<bool, Error> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition);
        for (name, attribute) in names {
            put = put.expression_attribute_names(*name, *attribute);
        }
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failed(&e) => Ok(false),
            Err(e) => Err(Error::from_sdk("PutItem", e)),
        }
    }
}

impl ServerlessRuns for WaitTable {
    async fn note_application(&self, note: &RunNote, now: DateTime<Utc>) -> Result<(), Error> {
        let item = Self::serverless_item(note, layout::KEEP_UNRECORDED_SECONDS, now);
        self.put_if(item, "attribute_not_exists(waiter)", &[])
            .await
            .map(|_| ())
    }

    async fn application_noted(&self, application_id: &str) -> Result<bool, Error> {
        let answer = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(application_id, layout::SERVERLESS_WAITER)))
            .projection_expression("waiter")
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| Error::from_sdk("GetItem", e))?;
        Ok(answer.item().is_some())
    }

    async fn record_application(
        &self,
        note: &RunNote,
        cost: &ServerlessRunCost,
        now: DateTime<Utc>,
    ) -> Result<bool, Error> {
        let cost = serde_json::to_string(cost)
            .map_err(|e| Error::Internal(format!("a run's cost as JSON: {e}")))?;
        let mut item = Self::serverless_item(note, layout::KEEP_RECORDED_SECONDS, now);
        item.insert(layout::COST.into(), s(&cost));
        // Over a note, never over a record.
        self.put_if(
            item,
            "attribute_not_exists(#cost)",
            &[("#cost", layout::COST)],
        )
        .await
    }
}
