//! The end of a run on EMR Serverless, seen in one place: the cleanup pass that deletes the application the run
//! created ([`super::cleanup::cleanup_pass`]), whoever runs it — the state machine's cleanup states (the run
//! succeeded, or failed), terminate-cluster on the execution's end (stopped, timed out), or the reconciler (the
//! deletion the cleanup left to it, or a lost cleanup event). Before it deletes the application the pass reads each
//! of its job runs (all ended by then: their billed utilization is final); [`record`] prices them, adds them up
//! ([`dfr_core::serverless::status::run_cost`]), records the run's cost in the stack's wait table (the
//! `#serverless` item of the application, `dfr_core::cost::unfinished`, which `dataflow-runner report` reads) and
//! writes the run's end metric line ([`crate::metrics::serverless_run_ended`]) — once: a later pass finds the
//! application deleted and reads nothing, and a record already made is not made again.
//!
//! The same item, put without a cost by terminate-cluster when it leaves an application's deletion to the
//! reconciler (job runs still cancelling), tells the reconciler that the cleanup rule handled the execution: its
//! finishing that deletion is routine, not a repair.
//!
//! A run on an application it did not create (a reused one) writes no line: nothing of it is deleted.

use chrono::{DateTime, Utc};
use dfr_core::serverless::status::{job_run_cost, run_cost, JobRunPhase, ServerlessRunCost};

use super::{ApplicationInfo, JobRunInfo};
use crate::error::Error;
use crate::metrics;
use crate::prices::PriceSource;

/// An application a cleanup pass deleted, and its job runs as they were just before.
#[derive(Debug, Clone, PartialEq)]
pub struct EndedRun {
    pub application: ApplicationInfo,
    /// Its region; `None` is the functions' own.
    pub region: Option<String>,
    pub job_runs: Vec<JobRunInfo>,
}

/// A serverless run's item in the wait table (partition: the application's id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunNote {
    pub application_id: String,
    /// The application's region; `None` is the functions' own.
    pub region: Option<String>,
    pub execution: String,
    /// `SUCCEEDED`, the failure's name, or how the execution ended (ABORTED, TIMED_OUT, FAILED).
    pub status: String,
}

/// Where serverless runs' notes and costs are kept (the stack's wait table).
#[allow(async_fn_in_trait)]
pub trait ServerlessRuns {
    /// Notes that the cleanup rule handled the run and left the application's deletion to the reconciler; a note
    /// or record already there stays as it is.
    async fn note_application(&self, note: &RunNote, now: DateTime<Utc>) -> Result<(), Error>;
    /// Whether the application has a note (or a record).
    async fn application_noted(&self, application_id: &str) -> Result<bool, Error>;
    /// Records the run's cost unless it is recorded already: whether this call recorded it.
    async fn record_application(
        &self,
        note: &RunNote,
        cost: &ServerlessRunCost,
        now: DateTime<Utc>,
    ) -> Result<bool, Error>;
}

/// How the run ended, as the caller of the cleanup knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEnd {
    pub execution: String,
    /// `SUCCEEDED`, the failure's name, or how the execution ended.
    pub outcome: String,
    /// When the execution started, if known (the line's duration).
    pub started_at: Option<DateTime<Utc>>,
    /// The application's region; `None` is the functions' own.
    pub region: Option<String>,
}

/// The run's cost: each job run's billed utilization priced at its application's architecture in its region (one
/// read of the prices; a job run EMR Serverless reports no utilization for counts none).
pub async fn cost_of(
    ended: &EndedRun,
    region: Option<&str>,
    prices: &impl PriceSource,
    now: DateTime<Utc>,
) -> ServerlessRunCost {
    let architecture = ended
        .application
        .architecture
        .as_deref()
        .unwrap_or(dfr_core::serverless::Architecture::default().as_str());
    let priced = prices.serverless_prices(region, architecture, now).await;
    if let Err(why) = &priced {
        tracing::warn!(application_id = %ended.application.id, %why, "the run's job runs not priced");
    }
    let costs: Vec<_> = ended
        .job_runs
        .iter()
        .map(|j| {
            let ended = JobRunPhase::of(&j.state).is_final();
            let billed = j.billed.unwrap_or_default();
            job_run_cost(&billed, priced.as_ref().map_err(String::as_str), ended)
        })
        .collect();
    run_cost(&costs)
}

/// Records the cost of the run whose application a cleanup pass deleted, and writes its run-end line: see the
/// module's documentation. A record that fails is logged, and the line written anyway (the dashboard keeps the
/// run; `report` then shows it without a cost); a record made already means the line was written already.
pub async fn record(
    ended: &EndedRun,
    end: &RunEnd,
    table: &impl ServerlessRuns,
    prices: &impl PriceSource,
    now: DateTime<Utc>,
) -> ServerlessRunCost {
    let cost = cost_of(ended, end.region.as_deref(), prices, now).await;
    let app = &ended.application;
    let note = RunNote {
        application_id: app.id.clone(),
        region: end.region.clone(),
        execution: end.execution.clone(),
        status: end.outcome.clone(),
    };
    match table.record_application(&note, &cost, now).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::info!(application_id = %app.id, "the run's cost was recorded already");
            return cost;
        }
        Err(e) => {
            tracing::warn!(application_id = %app.id, error = %e, "the run's cost could not be recorded in the wait table: report will show it without one");
        }
    }
    let line = metrics::ServerlessRunEnded {
        pipeline: app.name.as_deref().unwrap_or(&app.id),
        outcome: &end.outcome,
        application_id: &app.id,
        duration_seconds: end.started_at.map(|s| (now - s).num_seconds().max(0)),
        execution: &end.execution,
        cost: &cost,
    };
    println!(
        "{}",
        metrics::serverless_run_ended(&metrics::stack_from_process_env(), &line, now)
    );
    tracing::info!(application_id = %app.id, execution = %end.execution, outcome = %end.outcome, vcpu_hours = cost.vcpu_hours, usd = ?cost.usd, "recorded the cost of a serverless run");
    cost
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::{FakeTable, NoPrices};
    use crate::serverless::ResourceUtilization;

    fn job_run(id: &str, state: &str, vcpu: f64) -> JobRunInfo {
        JobRunInfo {
            application_id: "00app".into(),
            id: id.into(),
            name: None,
            state: state.into(),
            state_details: None,
            billed: Some(ResourceUtilization {
                vcpu_hour: vcpu,
                memory_gb_hour: 4.0 * vcpu,
                storage_gb_hour: 0.0,
            }),
            total: None,
            total_execution_duration_seconds: None,
            created_at: None,
            updated_at: None,
            started_at: None,
            ended_at: None,
            log_uri: None,
            tags: Vec::new(),
        }
    }

    fn ended() -> EndedRun {
        EndedRun {
            application: ApplicationInfo {
                id: "00app".into(),
                name: Some("nightly-enrich-prod".into()),
                state: "STOPPED".into(),
                state_details: None,
                release_label: "emr-7.5.0".into(),
                kind: "SPARK".into(),
                architecture: None,
                tags: Vec::new(),
                created_at: None,
                updated_at: None,
            },
            region: None,
            job_runs: vec![
                job_run("00r1", "SUCCESS", 1.0),
                job_run("00r2", "CANCELLED", 0.25),
            ],
        }
    }

    fn end() -> RunEnd {
        RunEnd {
            execution: "arn:aws:states:eu-west-1:1:execution:dfr-serverless-run-transient:n".into(),
            outcome: "ABORTED".into(),
            started_at: Some("2026-12-02T10:00:00Z".parse().unwrap()),
            region: None,
        }
    }

    #[tokio::test]
    async fn a_runs_end_adds_up_its_job_runs_and_is_recorded_once() {
        let table = FakeTable::default();
        let now = "2026-12-02T10:30:00Z".parse().unwrap();
        let cost = record(&ended(), &end(), &table, &NoPrices, now).await;
        assert_eq!((cost.job_runs, cost.vcpu_hours), (2, 1.25));
        assert_eq!(cost.memory_gb_hours, 5.0);
        assert!(cost.is_final);
        // No prices here: the utilization, and why there is no USD.
        assert_eq!(cost.usd, None);
        assert!(cost.prices_unavailable.is_some());
        let recorded = table.serverless.borrow().get("00app").cloned().unwrap();
        assert_eq!(recorded.0.status, "ABORTED");
        assert_eq!(recorded.1.as_ref(), Some(&cost));
        assert!(table.application_noted("00app").await.unwrap());
        // A second pass (a duplicate event): recorded already, no second record.
        assert!(!table
            .record_application(&recorded.0, &cost, now)
            .await
            .unwrap());
    }
}
