//! Runs waiting for EMR's events (`options.completion: "events"`). A waiting execution's task token is stored
//! against what it waits on, its *subject* (a cluster's id, or an EMR Serverless job run's [`job_run_key`]), in the
//! stack's wait table; event-router finds it there when EMR or EMR Serverless announces a change and answers the
//! token with a fresh status (SendTaskSuccess). The table holds two kinds of items per subject:
//!
//! - one per waiting execution (`waiter` = the execution ARN): its current token, the check-status request to
//!   answer it with, the run's steps that events said ended, and an expiry (DynamoDB's TTL removes forgotten ones);
//! - `waiter = "#events"`: when event-router last saw an event of the subject. A wait registered after an event it
//!   would have cared about sees it here and checks itself, so no event is lost between a check and the next
//!   wait (the router notes the event before it looks for waits; registration stores its token before it looks at
//!   the note: one of the two always sees the other).
//!
//! A token answered twice (a duplicate event, the router and a registration at once) is harmless: Step Functions
//! answers the second SendTaskSuccess with TaskTimedOut, which counts as delivered.

use std::collections::BTreeSet;

use std::future::Future;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::check::{check_status, CheckEvent, CheckOutput, WaitFor};
use crate::emr::Emr;
use crate::error::Error;
use crate::prices::PriceSource;
use crate::serverless::check::{self as job_run, CheckEvent as JobRunCheck};
use crate::serverless::{is_serverless, EmrServerless};

/// The sort key of a cluster's last-event note.
pub const EVENTS_NOTE: &str = "#events";
/// How long past its backstop a wait item is kept: long enough for a late event to find a token (it then learns the
/// token is dead), short enough that the table holds only live runs.
const KEEP_AFTER_BACKSTOP_SECONDS: i64 = 3600;
/// How long the note of a cluster's last event is kept.
pub(crate) const KEEP_NOTE_SECONDS: i64 = 7 * 24 * 3600;

/// One waiting execution, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Wait {
    /// What it waits on: a cluster's id, or a job run's [`job_run_key`].
    pub subject: String,
    pub execution: String,
    pub token: String,
    /// The check-status request the answer is computed with (`wait` left out).
    pub request: WaitRequest,
    /// Steps of a `run` wait that events said ended.
    pub steps_ended: BTreeSet<String>,
}

/// The check a wait is answered with: a cluster's run, or one EMR Serverless job run.
#[derive(Debug, Clone, PartialEq)]
pub enum WaitRequest {
    Cluster(CheckEvent),
    JobRun(JobRunCheck),
}

impl WaitRequest {
    /// The request as the wait table keeps it.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Cluster(c) => c.to_json(),
            Self::JobRun(j) => serde_json::to_value(j).unwrap_or(Value::Null),
        }
    }

    /// A stored request (`"target": "serverless"` for a job run's).
    pub fn from_json(value: Value) -> Result<Self, String> {
        if is_serverless(&value) {
            serde_json::from_value(value)
                .map(Self::JobRun)
                .map_err(|e| e.to_string())
        } else {
            serde_json::from_value(value)
                .map(Self::Cluster)
                .map_err(|e| e.to_string())
        }
    }

    /// The region the check is made in (`None`: the functions' own).
    pub fn region(&self) -> Option<&str> {
        match self {
            Self::Cluster(c) => c.region.as_deref(),
            Self::JobRun(j) => j.region.as_deref(),
        }
    }
}

/// The subject of a wait on an EMR Serverless job run. Job run ids are unique per application only; a cluster's id
/// (`j-…`) never holds a `/`.
pub fn job_run_key(application_id: &str, job_run_id: &str) -> String {
    format!("{application_id}/{job_run_id}")
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
    /// When an event of the subject was last seen, if one was.
    async fn last_event(&self, subject: &str) -> Result<Option<DateTime<Utc>>, Error>;
    async fn note_event(&self, subject: &str, at: DateTime<Utc>) -> Result<(), Error>;
    /// Every waiting execution of every subject (the reconciler's sweep; the table holds only live waits).
    async fn all(&self) -> Result<Vec<Wait>, Error>;
    /// Every execution waiting on the subject (strongly consistent).
    async fn waiting_on(&self, subject: &str) -> Result<Vec<Wait>, Error>;
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
pub struct Registered<S = CheckOutput> {
    /// Whether an event seen since the last check made this registration check EMR.
    pub checked: bool,
    /// The status it found, when it checked.
    pub status: Option<S>,
    /// Whether it answered its own token (the run had ended, or is ready, before any event could).
    pub answered: Option<Delivery>,
    /// The error name when the run was over but answering failed (the wait stays stored; the run goes on waiting).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unanswered: Option<String>,
}

/// What checking and answering waits needs besides EMR (check-status's registration, event-router, the
/// reconciler): the wait table, Step Functions' callbacks, the prices a finished run's cost is read with, the time of
/// the check and the poll jitter.
pub struct Answering<'a, W, C, P> {
    pub waits: &'a W,
    pub callbacks: &'a C,
    pub prices: &'a P,
    pub now: DateTime<Utc>,
    pub jitter: f64,
}

/// A check's answer, as a wait's token is answered with it.
pub trait Answer: Serialize {
    /// Whether the wait is over (the token is answered with this).
    fn over(&self) -> bool;
    /// What follows a delivered answer: a cluster's run ends with it, so its run-end metric line is written.
    fn delivered(&self) {}
}

impl Answer for CheckOutput {
    fn over(&self) -> bool {
        self.finished
    }
    fn delivered(&self) {
        self.write_run_end();
    }
}

impl Answer for job_run::CheckOutput {
    fn over(&self) -> bool {
        self.ended()
    }
}

fn mismatch(wait: &Wait) -> Error {
    Error::Internal(format!(
        "the wait of {} on {} holds another target's request",
        wait.execution, wait.subject
    ))
}

impl<W: Waits, C: Callbacks, P> Answering<'_, W, C, P> {
    /// Answers the wait's token with `status` if the wait is over: `None` when it goes on.
    async fn answer_if_over<S: Answer>(
        &self,
        wait: &Wait,
        status: S,
    ) -> Result<Option<(Delivery, S)>, Error> {
        if !status.over() {
            return Ok(None);
        }
        let delivery = answer(wait, &status, self.waits, self.callbacks).await?;
        if delivery == Delivery::Delivered {
            status.delivered();
        }
        Ok(Some((delivery, status)))
    }
}

impl<W: Waits, C: Callbacks, P: PriceSource> Answering<'_, W, C, P> {
    /// Checks the run a cluster's `wait` waits for, as check-status would after an event, and answers its token if
    /// the run is over: `None` when it goes on.
    pub async fn check_and_answer(
        &self,
        wait: &Wait,
        emr: &impl Emr,
    ) -> Result<Option<(Delivery, CheckOutput)>, Error> {
        let WaitRequest::Cluster(request) = &wait.request else {
            return Err(mismatch(wait));
        };
        let status = check_status(
            &request.after_event(),
            emr,
            self.prices,
            self.now,
            self.jitter,
        )
        .await?;
        self.answer_if_over(wait, status).await
    }
}

impl<W: Waits, C: Callbacks, P: PriceSource> Answering<'_, W, C, P> {
    /// Checks the job run `wait` waits for (one GetJobRun) and answers its token if the job run has ended: `None`
    /// when it goes on.
    pub async fn check_and_answer_job_run(
        &self,
        wait: &Wait,
        serverless: &impl EmrServerless,
    ) -> Result<Option<(Delivery, job_run::CheckOutput)>, Error> {
        let WaitRequest::JobRun(request) = &wait.request else {
            return Err(mismatch(wait));
        };
        let status =
            job_run::check(request, serverless, self.prices, self.now, self.jitter).await?;
        self.answer_if_over(wait, status).await
    }
}

/// Stores `stored`, then checks (with `check`) only if an event of its subject came since the execution's last
/// status, answering the token at once if the wait is over.
async fn register_wait<S, W, C, P, F>(
    stored: Wait,
    wait: &WaitFor,
    with: &Answering<'_, W, C, P>,
    check: impl FnOnce() -> F,
) -> Result<Registered<S>, Error>
where
    S: Answer,
    W: Waits,
    C: Callbacks,
    F: Future<Output = Result<S, Error>>,
{
    let expires_at =
        with.now + Duration::seconds(i64::from(wait.seconds) + KEEP_AFTER_BACKSTOP_SECONDS);
    with.waits.put(&stored, expires_at).await?;
    let seen = with.waits.last_event(&stored.subject).await?;
    let stale = match (seen, wait.checked_at) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(seen), Some(checked)) => seen >= checked,
    };
    let mut registered = Registered {
        checked: stale,
        status: None,
        answered: None,
        unanswered: None,
    };
    if !stale {
        return Ok(registered);
    }
    let status = check().await?;
    if status.over() {
        // The token is Step Functions' own and the wait is stored: a refused or failed answer must not fail the run
        // (it would end an `up` whose cluster just became ready). The wait stays for event-router, the reconciler's
        // next sweep and, last, the backstop.
        match answer(&stored, &status, with.waits, with.callbacks).await {
            Ok(delivery) => {
                if delivery == Delivery::Delivered {
                    status.delivered();
                }
                registered.answered = Some(delivery);
            }
            Err(e) => {
                tracing::warn!(execution = %stored.execution, error = %e, "the wait is over but its token could not be answered; the wait stays for the router, the reconciler or the backstop");
                registered.unanswered = Some(e.name().to_string());
            }
        }
    }
    registered.status = Some(status);
    Ok(registered)
}

/// check-status with a task token: stores the token against the cluster, then checks EMR only if an event came
/// since the execution's last status (zero EMR calls otherwise), answering the token at once if the run is over.
pub async fn register<W: Waits, C: Callbacks, P: PriceSource>(
    event: &CheckEvent,
    wait: &WaitFor,
    emr: &impl Emr,
    with: &Answering<'_, W, C, P>,
) -> Result<Registered, Error> {
    let request = CheckEvent {
        wait: None,
        ..event.clone()
    };
    let stored = Wait {
        subject: event.cluster_id.clone(),
        execution: wait.execution.clone(),
        token: wait.task_token.clone(),
        request: WaitRequest::Cluster(request.clone()),
        steps_ended: BTreeSet::new(),
    };
    register_wait(stored, wait, with, || async {
        check_status(
            &request.after_event(),
            emr,
            with.prices,
            with.now,
            with.jitter,
        )
        .await
    })
    .await
}

/// check-status with a task token, `"target": "serverless"`: stores the token against the job run, then makes one
/// GetJobRun only if an event of the job run came since the execution's last check, answering the token at once if
/// the job run has ended.
pub async fn register_job_run<W: Waits, C: Callbacks, P: PriceSource>(
    event: &JobRunCheck,
    wait: &WaitFor,
    serverless: &impl EmrServerless,
    with: &Answering<'_, W, C, P>,
) -> Result<Registered<job_run::CheckOutput>, Error> {
    let request = event.without_wait();
    let stored = Wait {
        subject: job_run_key(&event.application_id, &event.job_run_id),
        execution: wait.execution.clone(),
        token: wait.task_token.clone(),
        request: WaitRequest::JobRun(request.clone()),
        steps_ended: BTreeSet::new(),
    };
    register_wait(stored, wait, with, || async {
        job_run::check(&request, serverless, with.prices, with.now, with.jitter).await
    })
    .await
}

/// Answers a wait's token with `status` and forgets the wait.
pub async fn answer(
    wait: &Wait,
    status: &impl Serialize,
    waits: &impl Waits,
    callbacks: &impl Callbacks,
) -> Result<Delivery, Error> {
    let output = serde_json::to_value(status).map_err(|e| Error::Internal(e.to_string()))?;
    let delivery = callbacks.succeed(&wait.token, &output).await?;
    waits.remove(wait).await?;
    Ok(delivery)
}

#[cfg(test)]
mod tests {
    //! Registration and the stored request over in-memory ports (the real table and Step Functions run in
    //! tests/statemachine: events.test.mjs).
    use chrono::Duration;
    use dfr_core::status::Mode;

    use super::*;
    use crate::fakes::{
        answering as with, now, request, FakeCallbacks, FakeEmr, FakeServerless, FakeTable,
    };

    fn wait_for(checked_at: Option<DateTime<Utc>>) -> WaitFor {
        WaitFor {
            task_token: "token-1".into(),
            execution: "exec-1".into(),
            checked_at,
            seconds: 3600,
        }
    }

    #[tokio::test]
    async fn a_registration_checks_emr_only_when_an_event_came_since_the_last_check() {
        let (emr, table, sfn) = (
            FakeEmr::default(),
            FakeTable::default(),
            FakeCallbacks::default(),
        );
        *emr.state.borrow_mut() = "RUNNING".into();
        let event = request(Mode::Transient, &[]);
        let quiet = register(&event, &wait_for(None), &&emr, &with(&table, &sfn))
            .await
            .unwrap();
        assert!(!quiet.checked);
        assert_eq!(emr.calls.get(), 0);
        assert_eq!(table.waits.borrow()["exec-1"].token, "token-1");
        // an event noted before the last check: nothing new
        table.note.set(Some(now() - Duration::minutes(10)));
        let fresh = register(
            &event,
            &wait_for(Some(now() - Duration::minutes(5))),
            &&emr,
            &with(&table, &sfn),
        )
        .await
        .unwrap();
        assert!(!fresh.checked);
        // an event after it, while the run goes on: one check, no answer, the wait stays
        table.note.set(Some(now() - Duration::minutes(1)));
        let going_on = register(
            &event,
            &wait_for(Some(now() - Duration::minutes(5))),
            &&emr,
            &with(&table, &sfn),
        )
        .await
        .unwrap();
        assert!(going_on.checked && going_on.answered.is_none());
        assert_eq!(table.waits.borrow().len(), 1);
        // the run ended before the token was stored: the registration answers it itself
        *emr.state.borrow_mut() = "TERMINATED".into();
        emr.steps
            .borrow_mut()
            .push(("s-1".into(), "COMPLETED".into()));
        let ended = register(
            &event,
            &wait_for(Some(now() - Duration::minutes(5))),
            &&emr,
            &with(&table, &sfn),
        )
        .await
        .unwrap();
        assert_eq!(ended.answered, Some(Delivery::Delivered));
        assert_eq!(sfn.answered.borrow()[0].0, "token-1");
        assert!(table.waits.borrow().is_empty());
    }

    #[tokio::test]
    async fn when_its_own_answer_is_refused_a_registration_should_keep_the_wait_and_not_fail_the_run(
    ) {
        let (emr, table, sfn) = (
            FakeEmr::default(),
            FakeTable::default(),
            FakeCallbacks::default(),
        );
        sfn.refuse.set(true);
        *emr.state.borrow_mut() = "WAITING".into();
        table.note.set(Some(now() - Duration::minutes(1)));
        let ready = register(
            &request(Mode::Up, &[]),
            &wait_for(Some(now() - Duration::minutes(5))),
            &&emr,
            &with(&table, &sfn),
        )
        .await
        .expect("a refused SendTaskSuccess must not fail check-status (the run would end, and up's cluster with it)");
        assert!(ready.checked);
        assert_eq!(ready.answered, None);
        assert_eq!(ready.unanswered.as_deref(), Some("AccessDenied"));
        assert_eq!(
            table.waits.borrow()["exec-1"].token,
            "token-1",
            "the wait stays for event-router, the reconciler and the backstop"
        );
    }

    #[tokio::test]
    async fn a_job_runs_registration_is_stored_against_the_job_run_and_checks_only_after_its_event()
    {
        let (serverless, table, sfn) = (
            FakeServerless::default(),
            FakeTable::default(),
            FakeCallbacks::default(),
        );
        serverless.jobs.borrow_mut().push((
            "00app1".into(),
            "00run1".into(),
            "RUNNING".into(),
            Vec::new(),
        ));
        let event: JobRunCheck = serde_json::from_value(serde_json::json!({
            "target": "serverless", "applicationId": "00app1", "jobRunId": "00run1",
            "since": "2026-12-02T10:00:00Z", "architecture": "X86_64"
        }))
        .unwrap();
        let quiet = register_job_run(
            &event,
            &wait_for(Some(now() - Duration::minutes(5))),
            &&serverless,
            &with(&table, &sfn),
        )
        .await
        .unwrap();
        assert!(!quiet.checked);
        assert_eq!(serverless.reads.get(), 0);
        let stored = table.waits.borrow()["exec-1"].clone();
        assert_eq!(stored.subject, "00app1/00run1");
        assert_eq!(stored.request, WaitRequest::JobRun(event.without_wait()));
        // The job run ended and its event was noted before the token was stored: the registration answers it.
        serverless.set_job("00run1", "FAILED");
        table.note.set(Some(now() - Duration::minutes(1)));
        let ended = register_job_run(
            &event,
            &wait_for(Some(now() - Duration::minutes(5))),
            &&serverless,
            &with(&table, &sfn),
        )
        .await
        .unwrap();
        assert_eq!(ended.answered, Some(Delivery::Delivered));
        assert_eq!(serverless.reads.get(), 1);
        assert_eq!(sfn.answered.borrow()[0].1["phase"], "failed");
        assert!(table.waits.borrow().is_empty());
    }

    #[test]
    fn a_stored_request_is_read_back_as_the_targets_own() {
        let job_run: JobRunCheck = serde_json::from_value(serde_json::json!({
            "target": "serverless", "applicationId": "00app1", "jobRunId": "00run1", "region": "eu-west-1"
        }))
        .unwrap();
        for request in [
            WaitRequest::JobRun(job_run),
            WaitRequest::Cluster(request(Mode::Run, &["s-1"])),
        ] {
            assert_eq!(WaitRequest::from_json(request.to_json()).unwrap(), request);
        }
    }

    #[test]
    fn a_wait_request_round_trips_through_the_table_without_its_token() {
        let mut event = request(Mode::Run, &["s-1"]);
        event.wait = Some(wait_for(None));
        let json = event.to_json();
        assert!(json.get("wait").is_none(), "{json}");
        let back: CheckEvent = serde_json::from_value(json).unwrap();
        assert_eq!(
            back,
            CheckEvent {
                wait: None,
                ..event
            }
        );
    }
}
