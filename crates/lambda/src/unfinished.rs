//! The cost of a run that ended without finishing. A run stopped (ABORTED), timed out by Step Functions, or failed
//! without reaching its own cleanup writes no output and no Cause with a `cost`; its cluster is terminated by the
//! cleanup path (terminate-cluster on the execution's status-change event, or the reconciler when that event was
//! lost). Each of them notes the run against the cluster it terminates (the wait table's `#unfinished` item, layout in
//! `dfr_core::cost::unfinished`); once the cluster has ended, event-router (on its TERMINATED event) or the reconciler
//! (for a lost event) reads its final cost, records it in the item for `dataflow-runner report`, and writes the run's
//! end metric line for the dashboard, exactly once: only the call whose conditional write records the cost writes it.

use chrono::{DateTime, Utc};
use dfr_core::cost::RunCost;
use dfr_core::status::CLUSTER_ENDED;

use crate::emr::Emr;
use crate::error::Error;
use crate::metrics;
use crate::prices::{run_cost, PriceSource};

/// A run that ended without finishing, and the cluster the cleanup terminated for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnfinishedRun {
    pub cluster_id: String,
    /// The cluster's region; `None` is the functions' own.
    pub region: Option<String>,
    pub execution: String,
    /// How the execution ended: ABORTED, TIMED_OUT or FAILED.
    pub status: String,
    pub started_at: Option<DateTime<Utc>>,
    pub stopped_at: Option<DateTime<Utc>>,
}

impl UnfinishedRun {
    /// The command whose execution it was (`run-transient` or `up`: only they launch clusters), from its ARN.
    pub fn command(&self) -> &'static str {
        let machine = crate::event::execution_machine(&self.execution).unwrap_or_default();
        if machine.ends_with("-up") {
            "up"
        } else {
            "run-transient"
        }
    }

    /// How long the execution ran, when Step Functions said when it started and stopped.
    fn duration_seconds(&self, now: DateTime<Utc>) -> i64 {
        match self.started_at {
            Some(start) => (self.stopped_at.unwrap_or(now) - start)
                .num_seconds()
                .max(0),
            None => 0,
        }
    }
}

/// Where unfinished runs are kept (the stack's wait table).
#[allow(async_fn_in_trait)]
pub trait UnfinishedRuns {
    /// Notes the run against its cluster; a run noted already (recorded or not) stays as it is.
    async fn note(&self, run: &UnfinishedRun, now: DateTime<Utc>) -> Result<(), Error>;
    /// The cluster's unfinished run, while its cost is not recorded.
    async fn unrecorded_of(&self, cluster_id: &str) -> Result<Option<UnfinishedRun>, Error>;
    /// Every unfinished run whose cost is not recorded (the reconciler's sweep).
    async fn unrecorded(&self) -> Result<Vec<UnfinishedRun>, Error>;
    /// Records the run's final cost unless it is recorded already: whether this call recorded it.
    async fn record(
        &self,
        run: &UnfinishedRun,
        cost: &RunCost,
        now: DateTime<Utc>,
    ) -> Result<bool, Error>;
}

/// What [`record_cost`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    /// The cluster has not ended yet (its cost is not final): nothing recorded; a later event or sweep will.
    NotEnded,
    /// Recorded by this call, which wrote the run's end metric line.
    Now(Box<RunCost>),
    /// Recorded by another call already (a duplicate event, the router and the reconciler at once).
    Already,
}

/// Records the final cost of `run`'s cluster once it has ended: DescribeCluster, then EMR's record of each instance
/// (2 calls), priced with `prices`. The run's end metric line is written only by the call that records it.
pub async fn record_cost(
    run: &UnfinishedRun,
    emr: &impl Emr,
    table: &impl UnfinishedRuns,
    prices: &impl PriceSource,
    now: DateTime<Utc>,
) -> Result<Recorded, Error> {
    let cluster = emr.describe_cluster(&run.cluster_id).await?;
    if !CLUSTER_ENDED.contains(&cluster.state.as_str()) {
        return Ok(Recorded::NotEnded);
    }
    let cost = run_cost(
        emr,
        prices,
        run.region.as_deref(),
        &cluster,
        None,
        now,
        true,
    )
    .await?;
    if !table.record(run, &cost, now).await? {
        return Ok(Recorded::Already);
    }
    let ended = metrics::RunEnded {
        pipeline: &cluster.name,
        command: run.command(),
        outcome: &run.status,
        cluster_id: &run.cluster_id,
        duration_seconds: run.duration_seconds(now),
        execution: Some(&run.execution),
        cost: &cost,
    };
    println!(
        "{}",
        metrics::run_ended(&metrics::stack_from_process_env(), &ended, now)
    );
    tracing::info!(cluster_id = %run.cluster_id, execution = %run.execution, status = %run.status, instance_hours = cost.instance_hours, usd = ?cost.usd, "recorded the cost of a run that ended without finishing");
    Ok(Recorded::Now(Box::new(cost)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::{cluster, FakeTable, NoPrices, CLUSTER};

    fn stopped() -> UnfinishedRun {
        UnfinishedRun {
            cluster_id: CLUSTER.into(),
            region: None,
            execution: "arn:aws:states:eu-west-1:123456789012:execution:dfr-up:nightly".into(),
            status: "ABORTED".into(),
            started_at: Some("2026-12-02T10:00:00Z".parse().unwrap()),
            stopped_at: Some("2026-12-02T10:30:00Z".parse().unwrap()),
        }
    }

    fn now() -> DateTime<Utc> {
        "2026-12-02T10:45:00Z".parse().unwrap()
    }

    #[tokio::test]
    async fn nothing_is_recorded_while_the_cluster_terminates() {
        let emr = &cluster("TERMINATING");
        let table = FakeTable::default();
        table.note(&stopped(), now()).await.unwrap();
        let done = record_cost(&stopped(), &emr, &table, &NoPrices, now())
            .await
            .unwrap();
        assert_eq!(done, Recorded::NotEnded);
        assert_eq!(table.unrecorded().await.unwrap(), vec![stopped()]);
    }

    #[tokio::test]
    async fn an_ended_clusters_cost_is_recorded_once() {
        let emr = &cluster("TERMINATED");
        let table = FakeTable::default();
        table.note(&stopped(), now()).await.unwrap();
        let first = record_cost(&stopped(), &emr, &table, &NoPrices, now())
            .await
            .unwrap();
        let Recorded::Now(cost) = first else {
            panic!("recorded: {first:?}")
        };
        // The instance's 40 minutes, whatever the time of the record.
        assert!(cost.is_final);
        assert_eq!(cost.billed_seconds, 2400);
        assert_eq!(table.recorded.borrow().get(CLUSTER), Some(&*cost));
        assert!(table.unrecorded().await.unwrap().is_empty());
        assert_eq!(table.unrecorded_of(CLUSTER).await.unwrap(), None);
        let again = record_cost(&stopped(), &emr, &table, &NoPrices, now())
            .await
            .unwrap();
        assert_eq!(again, Recorded::Already);
    }

    #[test]
    fn the_command_and_duration_come_from_the_execution() {
        let run = stopped();
        assert_eq!(run.command(), "up");
        assert_eq!(run.duration_seconds(now()), 1800);
        let transient = UnfinishedRun {
            execution: "arn:aws:states:eu-west-1:123456789012:execution:dfr-run-transient:n".into(),
            stopped_at: None,
            ..stopped()
        };
        assert_eq!(transient.command(), "run-transient");
        assert_eq!(transient.duration_seconds(now()), 2700);
    }
}
