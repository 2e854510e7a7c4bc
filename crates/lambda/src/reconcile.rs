//! reconciler: every few minutes (the stack's `ReconcileMinutes`), compares what exists with what should and repairs
//! what a lost event left behind. AWS delivers the events the stack's other safety nets ride on (Step Functions'
//! execution status changes for the cleanup and lock rules, EMR's cluster and step changes for waiting runs) best
//! effort: an event never emitted triggers nothing. So a sweep, in every region the stack launches in:
//!
//! - **waits**: a run waiting for EMR's events whose cluster reached what it waits for (a decisive state for its
//!   mode, or all of a `run` wait's steps ended) is checked and answered, as event-router would have; a run waiting
//!   for an EMR Serverless job run's end is checked (one GetJobRun per waiting job run) and answered if it ended;
//! - **clusters**: an active cluster of this stack whose execution ended without handing it over (stopped, timed
//!   out, or failed without `keepClusterOnFailure`) is terminated, as the cleanup rule would have;
//! - **locks**: a lock held by an execution that no longer runs is ended as that execution's end would have (released;
//!   a hard lock after a failure kept, with the failure recorded);
//! - **applications**: an EMR Serverless application a serverless-run-transient execution created and left (stopped,
//!   timed out, or failed before its cleanup states) is ended one step per sweep, as terminate-cluster does: its job
//!   runs cancelled, then the application stopped, then deleted (the deletion is the repair, unless terminate-cluster
//!   noted that the cleanup event came and left the deletion to this sweep: then it is routine,
//!   `applicationsFinished`, no alarm); the deletion records the run's cost ([`crate::serverless::run_end`],
//!   [`crate::serverless::ended`]);
//! - **costs**: a run that ended without finishing, noted by the cleanup path (or by this sweep, when it terminates
//!   the cluster), gets its cost recorded once its cluster has ended, as event-router would have on the cluster's
//!   TERMINATED event ([`crate::unfinished`]).
//!
//! Discovery costs calls per region and page, not per cluster: ListClusters by state (one call per 50 active
//! clusters of the account) for every cluster's state, and the tagging API's GetResources (one call per 100
//! clusters tagged `dataflow-runner:managed`, outside EMR's rate limits) for their tags. DescribeCluster and
//! ListSteps are spent only on waits the listing says can end, DescribeExecution once per execution owning a cluster
//! or a lock. EMR Serverless has no listing by tag: ListApplications per region and page, then GetApplication of
//! each application not TERMINATED. Every repair is idempotent against the cleanup path doing the same at the same moment: terminating a
//! terminating cluster, answering an answered token and ending an ended lock are no-ops.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use dfr_core::status::{decisive_cluster_states, Mode, CLUSTER_ACTIVE, STEP_FINAL};
use dfr_locks::{Ended, LockTable, State};
use serde::Serialize;
use serde_json::{json, Value};

use crate::check::CheckEvent;
use crate::emr::Emr;
use crate::error::Error;
use crate::lock::{ended_outcome, HeldLocks};
use crate::prices::PriceSource;
use crate::run::{TAG_EXECUTION, TAG_MANAGED};
use crate::serverless::ended::{
    creator, end_application, stack_applications, Ended as ServerlessEnded,
};
use crate::serverless::run_end::{self, RunEnd, ServerlessRuns};
use crate::serverless::EmrServerless;
use crate::terminate::{fate_of, Fate};
use crate::unfinished::{record_cost, Recorded, UnfinishedRun, UnfinishedRuns};
use crate::wait::{Answering, Callbacks, Delivery, Wait, WaitRequest, Waits};

/// An execution as DescribeExecution tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionStatus {
    /// RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED or PENDING_REDRIVE.
    pub status: String,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub stopped_at: Option<DateTime<Utc>>,
}

impl ExecutionStatus {
    /// Still going: running, or about to run again (a redrive).
    pub fn running(&self) -> bool {
        matches!(self.status.as_str(), "RUNNING" | "PENDING_REDRIVE")
    }
}

/// Step Functions' DescribeExecution.
#[allow(async_fn_in_trait)]
pub trait Executions {
    /// `None` when Step Functions has no such execution (never started here, or deleted 90 days after it closed).
    async fn describe(&self, execution_arn: &str) -> Result<Option<ExecutionStatus>, Error>;
}

/// A cluster the tagging API lists, with its tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggedCluster {
    pub id: String,
    pub tags: Vec<(String, String)>,
}

impl TaggedCluster {
    pub fn tag(&self, key: &str) -> Option<&str> {
        crate::emr::tag(&self.tags, key)
    }
}

/// The Resource Groups Tagging API of one region: the clusters tagged `dataflow-runner:managed=true`.
#[allow(async_fn_in_trait)]
pub trait ManagedClusters {
    async fn managed_clusters(&self) -> Result<Vec<TaggedCluster>, Error>;
}

/// Which executions are this stack's: their ARNs start with `arn:…:states:<region>:<account>:execution:<stack>-`
/// (`DFR_STACK_EXECUTIONS`, set by the template), followed by the state machine's command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackExecutions {
    prefix: String,
}

impl StackExecutions {
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    pub fn from_process_env() -> Result<Self, Error> {
        std::env::var("DFR_STACK_EXECUTIONS")
            .ok()
            .filter(|p| p.contains(":execution:"))
            .map(Self::new)
            .ok_or_else(|| {
                Error::Internal(
                    "DFR_STACK_EXECUTIONS is not set: the stack gives the reconciler the prefix of its executions' ARNs"
                        .into(),
                )
            })
    }

    fn of(&self, arn: &str, commands: &[&str]) -> bool {
        arn.strip_prefix(&self.prefix)
            .and_then(|rest| rest.split_once(':'))
            .is_some_and(|(command, name)| commands.contains(&command) && !name.is_empty())
    }

    /// An execution of this stack's run-transient or up: the only ones that launch clusters.
    pub fn launches(&self, arn: &str) -> bool {
        self.of(arn, &["run-transient", "up"])
    }

    /// An execution of this stack's serverless-run-transient or serverless-up: the only ones that create EMR
    /// Serverless applications.
    pub fn serverless(&self, arn: &str) -> bool {
        self.of(arn, &["serverless-run-transient", "serverless-up"])
    }

    /// An execution of this stack's run-transient (on EMR or EMR Serverless), up or run: the ones that take locks.
    pub fn locks(&self, arn: &str) -> bool {
        self.of(
            arn,
            &[
                "run-transient",
                "serverless-run-transient",
                "up",
                "serverless-up",
                "run",
            ],
        )
    }
}

/// Where one sweep looks.
#[derive(Debug, Clone)]
pub struct Scope {
    /// The regions the stack launches in (`EmrRegions`).
    pub regions: Vec<String>,
    /// The functions' own region: where a run without a `region` has its cluster.
    pub home_region: String,
    pub executions: StackExecutions,
}

/// The ports one sweep works through, and its time.
pub struct Ports<'a, E, T, X, W, C, P, S> {
    pub emr: &'a dyn Fn(&str) -> E,
    /// EMR Serverless of a region.
    pub serverless: &'a dyn Fn(&str) -> S,
    pub tagging: &'a dyn Fn(&str) -> T,
    pub executions: &'a X,
    /// The wait table, Step Functions' callbacks, the time of the sweep and the checks' jitter.
    pub answering: Answering<'a, W, C, P>,
    /// `None`: the stack has no lock table to look at (unit tests of the other parts).
    pub locks: Option<&'a LockTable>,
}

/// One repair, as logged and answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Repair {
    /// The cluster id, the application id, or the lock's name.
    pub target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub execution: String,
    pub reason: String,
}

/// What a sweep found and did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reconciled {
    /// Regions whose clusters were listed.
    pub regions: Vec<String>,
    /// Active clusters of this stack seen, and runs waiting for events.
    pub clusters_seen: usize,
    pub waits_seen: usize,
    pub clusters_terminated: Vec<Repair>,
    /// Applications of this stack's serverless runs seen (created by a run), and those deleted by this sweep.
    pub applications_seen: usize,
    pub applications_deleted: Vec<Repair>,
    /// Applications deleted by this sweep whose deletion the cleanup rule had left to it (terminate-cluster noted
    /// them, their job runs still cancelling): routine, not repairs.
    pub applications_finished: Vec<String>,
    /// Applications of ended executions on their way to deletion (job runs cancelling, STOPPING): the next sweep
    /// goes on.
    pub applications_ending: Vec<String>,
    pub waits_answered: Vec<Repair>,
    pub locks_released: Vec<Repair>,
    pub locks_kept: Vec<Repair>,
    /// Costs of runs that ended without finishing, recorded because no cluster-end event did.
    pub costs_recorded: Vec<Repair>,
    /// The locks the sweep leaves held (the dashboard's gauge: `HeldLocks::metrics`).
    pub held_locks: HeldLocks,
    /// Waits whose token was already dead (the run ended): forgotten, not a repair.
    pub waits_forgotten: usize,
    /// What could not be looked at or repaired this time (the next sweep tries again).
    pub errors: Vec<String>,
}

impl Reconciled {
    pub fn repairs(&self) -> usize {
        self.clusters_terminated.len()
            + self.applications_deleted.len()
            + self.waits_answered.len()
            + self.locks_released.len()
            + self.locks_kept.len()
            + self.costs_recorded.len()
    }
}

/// One region's listing: the state of every active cluster, and which of them are tagged as managed.
struct Listing {
    active: HashMap<String, String>,
    managed: Vec<TaggedCluster>,
}

/// One sweep. Goes on past every error (kept in `errors`): one region or cluster that cannot be read must not keep
/// the others from being repaired.
pub async fn reconcile<
    E: Emr,
    T: ManagedClusters,
    X: Executions,
    W: Waits + UnfinishedRuns + ServerlessRuns,
    C: Callbacks,
    P: PriceSource,
    S: EmrServerless,
>(
    scope: &Scope,
    ports: &Ports<'_, E, T, X, W, C, P, S>,
) -> Reconciled {
    let mut out = Reconciled::default();
    // Waits are read before the clusters are listed: a cluster missing from the listing then cannot be one created
    // after its wait was read, so missing means no longer active.
    let waits = match ports.answering.waits.all().await {
        Ok(w) => w,
        Err(e) => {
            out.errors.push(format!("the wait table: {e}"));
            Vec::new()
        }
    };
    out.waits_seen = waits.len();
    let unrecorded = match ports.answering.waits.unrecorded().await {
        Ok(u) => u,
        Err(e) => {
            out.errors
                .push(format!("the wait table's unfinished runs: {e}"));
            Vec::new()
        }
    };
    let mut listings: BTreeMap<String, Listing> = BTreeMap::new();
    for region in &scope.regions {
        let active = match (ports.emr)(region)
            .list_clusters(None, &CLUSTER_ACTIVE)
            .await
        {
            Ok(list) => list.into_iter().map(|c| (c.id, c.state)).collect(),
            Err(e) => {
                out.errors.push(format!("{region}: ListClusters: {e}"));
                continue;
            }
        };
        let managed = match (ports.tagging)(region).managed_clusters().await {
            Ok(m) => m,
            Err(e) => {
                out.errors.push(format!("{region}: GetResources: {e}"));
                Vec::new()
            }
        };
        out.regions.push(region.clone());
        listings.insert(region.clone(), Listing { active, managed });
    }
    let mut statuses = ExecutionCache::default();
    for wait in &waits {
        match &wait.request {
            WaitRequest::Cluster(request) => {
                reconcile_wait(scope, ports, &listings, wait, request, &mut out).await;
            }
            WaitRequest::JobRun(_) => reconcile_job_run_wait(scope, ports, wait, &mut out).await,
        }
    }
    for run in &unrecorded {
        reconcile_cost(scope, ports, &listings, run, &mut out).await;
    }
    for (region, listing) in &listings {
        for cluster in &listing.managed {
            if !listing.active.contains_key(&cluster.id) {
                continue;
            }
            reconcile_cluster(scope, ports, region, cluster, &mut statuses, &mut out).await;
        }
    }
    for region in &scope.regions {
        reconcile_applications(scope, ports, region, &mut statuses, &mut out).await;
    }
    if let Some(table) = ports.locks {
        let now = ports.answering.now;
        reconcile_locks(scope, ports.executions, table, &mut statuses, now, &mut out).await;
    }
    out
}

/// DescribeExecution once per execution and sweep.
#[derive(Default)]
struct ExecutionCache(HashMap<String, Option<ExecutionStatus>>);

impl ExecutionCache {
    async fn get(
        &mut self,
        executions: &impl Executions,
        arn: &str,
    ) -> Result<Option<ExecutionStatus>, Error> {
        if let Some(known) = self.0.get(arn) {
            return Ok(known.clone());
        }
        let status = executions.describe(arn).await?;
        self.0.insert(arn.to_string(), status.clone());
        Ok(status)
    }
}

/// Whether the listing says `wait` can be over: its cluster gone from the active ones (ending or ended), or in a
/// state decisive for its mode. `None` when the listing cannot tell (a `run` wait on a cluster still running others'
/// steps: its own steps decide).
fn wait_can_end(mode: Mode, state: Option<&str>) -> Option<bool> {
    match state {
        None => Some(true),
        Some(s) if decisive_cluster_states(mode).contains(&s) => Some(true),
        Some("RUNNING") if mode == Mode::Run => None,
        Some(_) => Some(false),
    }
}

/// The region of a cluster (`None`: the functions' own) and its listing; `None` for a region not listed (outside the
/// stack's, or its listing failed): nothing is known of the cluster.
fn listed<'a>(
    scope: &Scope,
    listings: &'a BTreeMap<String, Listing>,
    region: Option<&str>,
) -> Option<(String, &'a Listing)> {
    let region = region.unwrap_or(&scope.home_region).to_string();
    let listing = listings.get(&region)?;
    Some((region, listing))
}

async fn reconcile_wait<E: Emr, T, X, W: Waits, C: Callbacks, P: PriceSource, S>(
    scope: &Scope,
    ports: &Ports<'_, E, T, X, W, C, P, S>,
    listings: &BTreeMap<String, Listing>,
    wait: &Wait,
    request: &CheckEvent,
    out: &mut Reconciled,
) {
    let Some((region, listing)) = listed(scope, listings, request.region.as_deref()) else {
        return;
    };
    let emr = (ports.emr)(&region);
    let state = listing.active.get(&wait.subject).map(String::as_str);
    let can_end = match wait_can_end(request.mode, state) {
        Some(b) => b,
        None => match emr
            .list_steps(&wait.subject, Some(&request.step_ids), None)
            .await
        {
            Ok(steps) => {
                steps.len() == request.step_ids.len()
                    && steps
                        .iter()
                        .all(|s| STEP_FINAL.contains(&s.outcome.state.as_str()))
            }
            Err(e) => {
                out.errors
                    .push(format!("{region}: ListSteps of {}: {e}", wait.subject));
                return;
            }
        },
    };
    if !can_end {
        return;
    }
    let result = ports
        .answering
        .check_and_answer(wait, &emr)
        .await
        .map(|answered| {
            answered.map(|(d, status)| (d, format!("cluster {}", status.cluster_state)))
        });
    answered(wait, region, result, out);
}

/// A wait on an EMR Serverless job run: one GetJobRun in the run's region (one of the stack's), answered if the job
/// run ended. No listing tells a job run's state for less.
async fn reconcile_job_run_wait<
    E,
    T,
    X,
    W: Waits,
    C: Callbacks,
    P: PriceSource,
    S: EmrServerless,
>(
    scope: &Scope,
    ports: &Ports<'_, E, T, X, W, C, P, S>,
    wait: &Wait,
    out: &mut Reconciled,
) {
    let region = wait
        .request
        .region()
        .unwrap_or(&scope.home_region)
        .to_string();
    if !scope.regions.contains(&region) {
        return;
    }
    let result = ports
        .answering
        .check_and_answer_job_run(wait, &(ports.serverless)(&region))
        .await
        .map(|answered| answered.map(|(d, status)| (d, format!("job run {}", status.state))));
    answered(wait, region, result, out);
}

/// What checking a wait found: answered (a repair: an event should have), already answered (forgotten), going on, or
/// an error. `state` says what was found (`cluster TERMINATED`, `job run SUCCESS`).
fn answered(
    wait: &Wait,
    region: String,
    result: Result<Option<(Delivery, String)>, Error>,
    out: &mut Reconciled,
) {
    match result {
        Ok(Some((Delivery::Delivered, state))) => {
            let reason = format!(
                "the run's wait on {} was over ({state}) but no event had ended it",
                wait.subject
            );
            tracing::warn!(execution = %wait.execution, subject = %wait.subject, %region, %reason, "answered a wait an event should have");
            out.waits_answered.push(Repair {
                target: wait.subject.clone(),
                region: Some(region),
                execution: wait.execution.clone(),
                reason,
            });
        }
        Ok(Some((Delivery::Stale, _))) => out.waits_forgotten += 1,
        Ok(None) => {}
        Err(e) => out.errors.push(format!(
            "the wait of {} on {}: {e}",
            wait.execution, wait.subject
        )),
    }
}

/// Records the cost of a run that ended without finishing once the listing no longer shows its cluster active and EMR
/// says it has ended (a terminating cluster waits for the next sweep).
async fn reconcile_cost<E: Emr, T, X, W: UnfinishedRuns, C, P: PriceSource, S>(
    scope: &Scope,
    ports: &Ports<'_, E, T, X, W, C, P, S>,
    listings: &BTreeMap<String, Listing>,
    run: &UnfinishedRun,
    out: &mut Reconciled,
) {
    let Some((region, listing)) = listed(scope, listings, run.region.as_deref()) else {
        return;
    };
    if listing.active.contains_key(&run.cluster_id) {
        return;
    }
    let answering = &ports.answering;
    match record_cost(
        run,
        &(ports.emr)(&region),
        answering.waits,
        answering.prices,
        answering.now,
    )
    .await
    {
        Ok(Recorded::Now(_)) => {
            let reason = format!(
                "its execution ended {} and its cluster has ended, but no event recorded the run's cost",
                run.status
            );
            tracing::warn!(cluster_id = %run.cluster_id, execution = %run.execution, %reason, "recorded a cost an event should have");
            out.costs_recorded.push(Repair {
                target: run.cluster_id.clone(),
                region: Some(region),
                execution: run.execution.clone(),
                reason,
            });
        }
        Ok(Recorded::NotEnded | Recorded::Already) => {}
        Err(e) => out.errors.push(format!(
            "the cost of {} on {}: {e}",
            run.execution, run.cluster_id
        )),
    }
}

/// What an execution launched, for the log.
#[derive(Clone, Copy)]
enum Launched<'a> {
    Cluster(&'a str),
    Application(&'a str),
}

/// The status of the execution that launched something, when it ended in a way that means its launch must end too
/// (`fate_of`, the keep-on-failure tag `keep` heeded); `None` when it still runs, keeps what it launched, is no longer
/// known to Step Functions (logged) or could not be read (in `out.errors`, for the next sweep).
async fn ended_unkept(
    statuses: &mut ExecutionCache,
    executions: &impl Executions,
    execution: &str,
    keep: Option<&str>,
    launched: Launched<'_>,
    out: &mut Reconciled,
) -> Option<ExecutionStatus> {
    let status = match statuses.get(executions, execution).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            match launched {
                Launched::Cluster(id) => {
                    tracing::warn!(cluster_id = %id, %execution, "left alone: Step Functions no longer knows its execution")
                }
                Launched::Application(id) => {
                    tracing::warn!(application_id = %id, %execution, "left alone: Step Functions no longer knows its execution")
                }
            }
            return None;
        }
        Err(e) => {
            out.errors
                .push(format!("DescribeExecution of {execution}: {e}"));
            return None;
        }
    };
    (!status.running() && fate_of(&status.status, keep) == Fate::Terminate).then_some(status)
}

async fn reconcile_cluster<E: Emr, T, X: Executions, W: UnfinishedRuns, C, P, S>(
    scope: &Scope,
    ports: &Ports<'_, E, T, X, W, C, P, S>,
    region: &str,
    cluster: &TaggedCluster,
    statuses: &mut ExecutionCache,
    out: &mut Reconciled,
) {
    // Only clusters this stack launched: the managed tag and an execution of this stack's launching machines.
    let Some(execution) = cluster.tag(TAG_EXECUTION) else {
        return;
    };
    if cluster.tag(TAG_MANAGED) != Some("true") || !scope.executions.launches(execution) {
        return;
    }
    out.clusters_seen += 1;
    let keep = cluster.tag(crate::run::TAG_KEEP_ON_FAILURE);
    let Some(status) = ended_unkept(
        statuses,
        ports.executions,
        execution,
        keep,
        Launched::Cluster(&cluster.id),
        out,
    )
    .await
    else {
        return;
    };
    // Noted first, as the cleanup path does: its cost is recorded once it has ended.
    let run = UnfinishedRun {
        cluster_id: cluster.id.clone(),
        region: Some(region.to_string()),
        execution: execution.to_string(),
        status: status.status.clone(),
        started_at: status.started_at,
        stopped_at: status.stopped_at,
    };
    if let Err(e) = ports.answering.waits.note(&run, ports.answering.now).await {
        tracing::warn!(cluster_id = %cluster.id, error = %e, "the run's cost will not be recorded: the wait table could not be written");
    }
    match (ports.emr)(region).terminate_job_flows(&cluster.id).await {
        Ok(()) => {
            let reason = format!(
                "its execution ended {} and its cluster was still running (the cleanup event never came or failed)",
                status.status
            );
            tracing::warn!(cluster_id = %cluster.id, %region, %execution, %reason, "terminated a cluster the cleanup missed");
            out.clusters_terminated.push(Repair {
                target: cluster.id.clone(),
                region: Some(region.to_string()),
                execution: execution.to_string(),
                reason,
            });
        }
        Err(e) => out.errors.push(format!(
            "{region}: TerminateJobFlows of {}: {e}",
            cluster.id
        )),
    }
}

/// One step of the end of each application a serverless run created whose execution ended without its cleanup (one
/// pass of the cleanup terminate-cluster does: [`end_application`]).
async fn reconcile_applications<
    E,
    T,
    X: Executions,
    W: ServerlessRuns,
    C,
    P: PriceSource,
    S: EmrServerless,
>(
    scope: &Scope,
    ports: &Ports<'_, E, T, X, W, C, P, S>,
    region: &str,
    statuses: &mut ExecutionCache,
    out: &mut Reconciled,
) {
    let serverless = (ports.serverless)(region);
    let apps = match stack_applications(&serverless, region).await {
        Ok((apps, errors)) => {
            out.errors
                .extend(errors.iter().map(|e| format!("{region}: {e}")));
            apps
        }
        Err(e) => {
            out.errors.push(format!("{region}: ListApplications: {e}"));
            return;
        }
    };
    for app in &apps {
        let Some(execution) = creator(&app.tags) else {
            continue;
        };
        if !scope.executions.serverless(execution) {
            continue;
        }
        out.applications_seen += 1;
        let keep = crate::emr::tag(&app.tags, crate::run::TAG_KEEP_ON_FAILURE);
        let Some(status) = ended_unkept(
            statuses,
            ports.executions,
            execution,
            keep,
            Launched::Application(&app.id),
            out,
        )
        .await
        else {
            continue;
        };
        let mut ended = ServerlessEnded::default();
        if let Err(e) = end_application(
            &serverless,
            region,
            &app.id,
            true,
            Vec::new(),
            execution,
            &mut ended,
        )
        .await
        {
            out.errors.push(format!(
                "{region}: the cleanup of application {}: {e}",
                app.id
            ));
            continue;
        }
        if !ended.applications_deleted.is_empty() {
            // terminate-cluster notes an application whose deletion it leaves to the sweep: finishing it is routine.
            let waits = ports.answering.waits;
            let handled = match waits.application_noted(&app.id).await {
                Ok(noted) => noted,
                Err(e) => {
                    tracing::warn!(application_id = %app.id, error = %e, "whether the cleanup rule handled it could not be read: counted as a repair");
                    false
                }
            };
            for run in &ended.runs_ended {
                let end = RunEnd {
                    execution: execution.to_string(),
                    outcome: status.status.clone(),
                    started_at: status.started_at,
                    region: run.region.clone(),
                };
                run_end::record(
                    run,
                    &end,
                    waits,
                    ports.answering.prices,
                    ports.answering.now,
                )
                .await;
            }
            if handled {
                tracing::info!(application_id = %app.id, %region, %execution, "deleted an application whose deletion the cleanup rule left to the sweep");
                out.applications_finished.push(app.id.clone());
                continue;
            }
            let reason = format!(
                "its execution ended {} and its application was still there ({}; the cleanup event never came, \
                 or failed)",
                status.status, app.state
            );
            tracing::warn!(application_id = %app.id, %region, %execution, %reason, "deleted an application the cleanup left");
            out.applications_deleted.push(Repair {
                target: app.id.clone(),
                region: Some(region.to_string()),
                execution: execution.to_string(),
                reason,
            });
        } else {
            tracing::info!(application_id = %app.id, %region, %execution, cancelled = ?ended.job_runs_cancelled, "application of an ended execution on its way to deletion");
            out.applications_ending.push(app.id.clone());
        }
    }
}

async fn reconcile_locks(
    scope: &Scope,
    executions: &impl Executions,
    table: &LockTable,
    statuses: &mut ExecutionCache,
    now: DateTime<Utc>,
    out: &mut Reconciled,
) {
    let records = match table.list().await {
        Ok(r) => r,
        Err(e) => {
            out.errors.push(format!("the lock table: {e}"));
            return;
        }
    };
    for record in &records {
        if record.state != State::Held || !scope.executions.locks(&record.owner) {
            continue;
        }
        let status = match statuses.get(executions, &record.owner).await {
            Ok(Some(s)) if !s.running() => s,
            Ok(Some(_)) => continue,
            Ok(None) => {
                tracing::warn!(lock = %record.name, owner = %record.owner, "left to its lease: Step Functions no longer knows its owner");
                continue;
            }
            Err(e) => {
                out.errors
                    .push(format!("DescribeExecution of {}: {e}", record.owner));
                continue;
            }
        };
        let outcome = ended_outcome(&status.status, status.error.clone(), status.cause.clone());
        let reason = format!(
            "its owner ended {} and the lock was still held (the lock rule's event never came or failed)",
            status.status
        );
        let repair = Repair {
            target: record.name.to_string(),
            region: None,
            execution: record.owner.clone(),
            reason,
        };
        match table
            .end(&record.name, &record.owner, &outcome, "reconciler", now)
            .await
        {
            Ok(Ended::Released { .. }) => {
                tracing::warn!(lock = %record.name, execution = %record.owner, reason = %repair.reason, "released a lock the cleanup missed");
                out.locks_released.push(repair);
            }
            Ok(Ended::Kept { .. }) => {
                tracing::warn!(lock = %record.name, execution = %record.owner, reason = %repair.reason, "kept a hard lock with its owner's failure, as the cleanup would have");
                out.locks_kept.push(repair);
            }
            // Ended by the cleanup path in the meantime.
            Ok(Ended::NotOwned { .. }) => {}
            Err(e) => out
                .errors
                .push(format!("lock {}: {}", record.name, Error::from(e))),
        }
    }
    let freed: Vec<&str> = out
        .locks_released
        .iter()
        .map(|r| r.target.as_str())
        .collect();
    out.held_locks = HeldLocks::of(&records, &freed, now);
}

/// A CloudWatch embedded-metric log line of what the sweep repaired, per kind and in all (`Repairs`), or `None` when it
/// repaired nothing: a custom metric is billed for each month it has data, so a quiet month costs nothing (the
/// alarm treats missing data as not breaching). The stack's ReconcilerRepairsAlarm fires on any repair: each one
/// means an event was lost, or a defect.
pub fn metrics(stack: &str, r: &Reconciled, now: DateTime<Utc>) -> Option<Value> {
    if r.repairs() == 0 {
        return None;
    }
    use crate::metrics::Metric;
    let n = |v: usize| v as f64;
    Some(crate::metrics::embedded(
        stack,
        &[
            (Metric::Repairs, n(r.repairs())),
            (Metric::ClustersTerminated, n(r.clusters_terminated.len())),
            (Metric::WaitsAnswered, n(r.waits_answered.len())),
            (Metric::LocksReleased, n(r.locks_released.len())),
            (Metric::LocksKept, n(r.locks_kept.len())),
            (Metric::CostsRecorded, n(r.costs_recorded.len())),
        ],
        json!({ "sweepErrors": r.errors.len() }),
        now,
    ))
}

/// The stack's name, from the prefix of its executions' ARNs (`…:execution:<stack>-`).
pub fn stack_name(executions: &StackExecutions) -> &str {
    executions
        .prefix
        .rsplit_once(":execution:")
        .map(|(_, s)| s.trim_end_matches('-'))
        .unwrap_or_default()
}

/// The sweep's answer: what it did, or, when some part could not be looked at, an error naming each (retryable when
/// any part is), so the function's Errors metric and its retries see it. The repairs made are in the log either way.
pub fn outcome(r: Reconciled) -> Result<Reconciled, Error> {
    if r.errors.is_empty() {
        return Ok(r);
    }
    Err(Error::EmrUnavailable(format!(
        "the sweep did not finish ({} error(s)); repaired {} thing(s); {}",
        r.errors.len(),
        r.repairs(),
        r.errors.join("; ")
    )))
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use serde_json::json;

    use super::*;
    use crate::emr::ClusterSummary;
    use crate::fakes::{FakeCallbacks, FakeEmr, FakeServerless, FakeTable, CLUSTER};
    use crate::run::TAG_KEEP_ON_FAILURE;

    const PREFIX: &str = "arn:aws:states:eu-west-1:123456789012:execution:dfr-";

    fn arn(command: &str, name: &str) -> String {
        format!("{PREFIX}{command}:{name}")
    }

    #[derive(Default)]
    struct FakeExecutions {
        statuses: RefCell<HashMap<String, String>>,
        asked: RefCell<Vec<String>>,
    }

    impl Executions for FakeExecutions {
        async fn describe(&self, arn: &str) -> Result<Option<ExecutionStatus>, Error> {
            self.asked.borrow_mut().push(arn.to_string());
            Ok(self
                .statuses
                .borrow()
                .get(arn)
                .map(|status| ExecutionStatus {
                    status: status.clone(),
                    error: None,
                    cause: None,
                    started_at: Some("2026-12-02T10:00:00Z".parse().unwrap()),
                    stopped_at: Some("2026-12-02T11:00:00Z".parse().unwrap()),
                }))
        }
    }

    #[derive(Default)]
    struct FakeTagging {
        clusters: Vec<TaggedCluster>,
    }

    impl ManagedClusters for &FakeTagging {
        async fn managed_clusters(&self) -> Result<Vec<TaggedCluster>, Error> {
            Ok(self.clusters.clone())
        }
    }

    fn tagged(id: &str, execution: &str, keep: bool) -> TaggedCluster {
        let mut tags = vec![
            (TAG_MANAGED.to_string(), "true".to_string()),
            (TAG_EXECUTION.to_string(), execution.to_string()),
        ];
        if keep {
            tags.push((TAG_KEEP_ON_FAILURE.to_string(), "true".to_string()));
        }
        TaggedCluster {
            id: id.into(),
            tags,
        }
    }

    fn scope() -> Scope {
        Scope {
            regions: vec!["eu-west-1".into()],
            home_region: "eu-west-1".into(),
            executions: StackExecutions::new(PREFIX),
        }
    }

    fn now() -> DateTime<Utc> {
        "2026-12-02T12:00:00Z".parse().unwrap()
    }

    async fn sweep(
        emr: &FakeEmr,
        tagging: &FakeTagging,
        executions: &FakeExecutions,
        table: &FakeTable,
        sfn: &FakeCallbacks,
    ) -> Reconciled {
        sweep_with(
            emr,
            &FakeServerless::default(),
            tagging,
            executions,
            table,
            sfn,
        )
        .await
    }

    async fn sweep_with(
        emr: &FakeEmr,
        serverless: &FakeServerless,
        tagging: &FakeTagging,
        executions: &FakeExecutions,
        table: &FakeTable,
        sfn: &FakeCallbacks,
    ) -> Reconciled {
        let emr_for = |_: &str| emr;
        let serverless_for = |_: &str| serverless;
        let tagging_for = |_: &str| tagging;
        let ports = Ports {
            emr: &emr_for,
            serverless: &serverless_for,
            tagging: &tagging_for,
            executions,
            answering: Answering {
                waits: table,
                callbacks: sfn,
                prices: &crate::fakes::NoPrices,
                now: now(),
                jitter: 0.0,
            },
            locks: None,
        };
        reconcile(&scope(), &ports).await
    }

    fn active(emr: &FakeEmr, ids: &[(&str, &str)]) {
        *emr.listed.borrow_mut() = ids
            .iter()
            .map(|(id, state)| ClusterSummary {
                id: id.to_string(),
                name: "nightly".into(),
                state: state.to_string(),
            })
            .collect();
    }

    #[test]
    fn only_this_stacks_executions_are_its_own() {
        let own = StackExecutions::new(PREFIX);
        assert!(own.launches(&arn("run-transient", "nightly")));
        assert!(own.launches(&arn("up", "x")));
        assert!(!own.launches(&arn("run", "x")), "run launches nothing");
        assert!(own.locks(&arn("run", "x")));
        assert!(own.serverless(&arn("serverless-run-transient", "x")));
        assert!(own.serverless(&arn("serverless-up", "x")));
        assert!(own.locks(&arn("serverless-up", "x")));
        assert!(!own.launches(&arn("serverless-up", "x")), "no clusters");
        assert!(
            !own.launches(&arn("serverless-run-transient", "x")),
            "no clusters"
        );
        assert!(!own.serverless(&arn("run-transient", "x")));
        assert!(own.locks(&arn("serverless-run-transient", "x")));
        assert!(!own
            .launches("arn:aws:states:eu-west-1:123456789012:execution:dfr-other-run-transient:x"));
        assert!(!own.locks("arn:aws:states:eu-west-1:123456789012:execution:dfrx-run:x"));
        assert!(!own.launches(&arn("up", "")));
        assert_eq!(stack_name(&own), "dfr");
    }

    #[tokio::test]
    async fn when_an_execution_ended_without_handing_its_cluster_over_the_sweep_should_terminate_it_and_only_it(
    ) {
        let emr = FakeEmr::default();
        let executions = FakeExecutions::default();
        let cases = [
            ("j-STOPPED", arn("up", "stopped"), "ABORTED", false, true),
            (
                "j-TIMEDOUT",
                arn("run-transient", "late"),
                "TIMED_OUT",
                true,
                true,
            ),
            ("j-FAILED", arn("up", "failed"), "FAILED", false, true),
            ("j-KEPT", arn("up", "kept"), "FAILED", true, false),
            ("j-HANDED", arn("up", "ready"), "SUCCEEDED", false, false),
            (
                "j-RUNNING",
                arn("run-transient", "now"),
                "RUNNING",
                false,
                false,
            ),
            (
                "j-REDRIVE",
                arn("run-transient", "again"),
                "PENDING_REDRIVE",
                false,
                false,
            ),
        ];
        let mut tagging = FakeTagging::default();
        for (id, execution, status, keep, _) in &cases {
            tagging.clusters.push(tagged(id, execution, *keep));
            executions
                .statuses
                .borrow_mut()
                .insert(execution.clone(), status.to_string());
        }
        // Another stack's cluster, and one whose tags say managed but name no execution of this stack.
        tagging.clusters.push(tagged(
            "j-FOREIGN",
            "arn:aws:states:eu-west-1:123456789012:execution:other-up:x",
            false,
        ));
        // A managed cluster that already ended: not in the active listing.
        tagging
            .clusters
            .push(tagged("j-ENDED", &arn("up", "old"), false));
        let mut listed: Vec<(&str, &str)> = cases.iter().map(|c| (c.0, "WAITING")).collect();
        listed.push(("j-FOREIGN", "WAITING"));
        listed.push(("j-UNTAGGED", "RUNNING"));
        active(&emr, &listed);
        let table = FakeTable::default();
        let r = sweep(
            &emr,
            &tagging,
            &executions,
            &table,
            &FakeCallbacks::default(),
        )
        .await;
        let expected: Vec<&str> = cases.iter().filter(|c| c.4).map(|c| c.0).collect();
        assert_eq!(*emr.terminated.borrow(), expected);
        // Each is noted, with how its execution ended, so that its cost is recorded once it has ended.
        let mut noted: Vec<(String, String)> = table
            .unfinished
            .borrow()
            .values()
            .map(|u| (u.cluster_id.clone(), u.status.clone()))
            .collect();
        noted.sort();
        let mut terminated: Vec<(String, String)> = cases
            .iter()
            .filter(|c| c.4)
            .map(|c| (c.0.to_string(), c.2.to_string()))
            .collect();
        terminated.sort();
        assert_eq!(noted, terminated);
        assert_eq!(
            r.clusters_terminated
                .iter()
                .map(|c| c.target.as_str())
                .collect::<Vec<_>>(),
            expected
        );
        assert!(r.clusters_terminated[0].reason.contains("ABORTED"));
        assert_eq!(r.clusters_seen, cases.len());
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert!(
            !executions
                .asked
                .borrow()
                .iter()
                .any(|a| a.contains("other-up")),
            "another stack's execution is never asked about"
        );
        assert_eq!(
            emr.calls.get(),
            0,
            "no DescribeCluster: the listing and the tags decide"
        );
    }

    #[tokio::test]
    async fn an_application_an_ended_execution_left_is_ended_one_step_a_sweep_and_only_its_own() {
        let serverless = FakeServerless::default();
        let executions = FakeExecutions::default();
        let run_tags = |execution: &str| {
            vec![
                (TAG_MANAGED.to_string(), "true".to_string()),
                (TAG_EXECUTION.to_string(), execution.to_string()),
                (
                    crate::run::TAG_RUN_KEY.to_string(),
                    format!("{execution}#1"),
                ),
            ]
        };
        let stopped = arn("serverless-run-transient", "stopped");
        let running = arn("serverless-run-transient", "now");
        for (execution, status) in [(&stopped, "ABORTED"), (&running, "RUNNING")] {
            executions
                .statuses
                .borrow_mut()
                .insert(execution.clone(), status.into());
        }
        serverless.apps.borrow_mut().extend([
            (
                "00left".to_string(),
                "STARTED".to_string(),
                run_tags(&stopped),
            ),
            (
                "00busy".to_string(),
                "STARTED".to_string(),
                run_tags(&running),
            ),
            // Reused (tagged by hand, created by no run), and another account user's: never touched.
            (
                "00reused".to_string(),
                "STARTED".to_string(),
                vec![
                    (TAG_MANAGED.to_string(), "true".to_string()),
                    (TAG_EXECUTION.to_string(), stopped.clone()),
                ],
            ),
            ("00foreign".to_string(), "STARTED".to_string(), Vec::new()),
        ]);
        serverless.jobs.borrow_mut().push((
            "00left".into(),
            "00run".into(),
            "RUNNING".into(),
            run_tags(&stopped),
        ));
        let (emr, tagging, table, sfn) = Default::default();
        let go = || sweep_with(&emr, &serverless, &tagging, &executions, &table, &sfn);
        // Its job run is cancelled; nothing else yet.
        let r = go().await;
        assert_eq!(*serverless.writes.borrow(), ["cancel 00run"]);
        assert_eq!((r.applications_seen, r.repairs()), (2, 0), "{r:?}");
        assert_eq!(r.applications_ending, ["00left"]);
        // Still cancelling: nothing more.
        go().await;
        assert_eq!(serverless.writes.borrow().len(), 1);
        // Cancelled: the application is stopped; once STOPPED, deleted, and that is the repair.
        serverless.set_job("00run", "CANCELLED");
        go().await;
        assert_eq!(serverless.writes.borrow().last().unwrap(), "stop 00left");
        serverless.set_app("00left", "STOPPED");
        let r = go().await;
        assert_eq!(serverless.writes.borrow().last().unwrap(), "delete 00left");
        assert_eq!(r.applications_deleted.len(), 1, "{r:?}");
        assert_eq!(r.applications_deleted[0].target, "00left");
        assert!(r.applications_deleted[0].reason.contains("ABORTED"));
        assert_eq!(r.repairs(), 1);
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        for untouched in ["00busy", "00reused", "00foreign"] {
            assert_eq!(serverless.app_state(untouched), "STARTED", "{untouched}");
        }
        assert!(!executions
            .asked
            .borrow()
            .iter()
            .any(|a| a.contains("other")));
    }

    #[tokio::test]
    async fn a_deletion_terminate_cluster_left_to_the_sweep_is_routine_and_one_it_did_not_note_is_the_repair(
    ) {
        use crate::serverless::run_end::{RunNote, ServerlessRuns};
        for noted in [true, false] {
            let serverless = FakeServerless::default();
            let executions = FakeExecutions::default();
            let stopped = arn("serverless-run-transient", "stopped");
            executions
                .statuses
                .borrow_mut()
                .insert(stopped.clone(), "ABORTED".into());
            let tags = vec![
                (TAG_MANAGED.to_string(), "true".to_string()),
                (TAG_EXECUTION.to_string(), stopped.clone()),
                (crate::run::TAG_RUN_KEY.to_string(), format!("{stopped}#1")),
            ];
            serverless.apps.borrow_mut().push((
                "00left".to_string(),
                "STOPPED".to_string(),
                tags.clone(),
            ));
            serverless.jobs.borrow_mut().push((
                "00left".into(),
                "00run".into(),
                "CANCELLED".into(),
                tags,
            ));
            let (emr, tagging, table, sfn): (FakeEmr, FakeTagging, FakeTable, FakeCallbacks) =
                Default::default();
            if noted {
                let note = RunNote {
                    application_id: "00left".into(),
                    region: Some("eu-west-1".into()),
                    execution: stopped.clone(),
                    status: "ABORTED".into(),
                };
                table.note_application(&note, now()).await.unwrap();
            }
            let r = sweep_with(&emr, &serverless, &tagging, &executions, &table, &sfn).await;
            assert_eq!(serverless.writes.borrow().last().unwrap(), "delete 00left");
            if noted {
                assert_eq!(r.applications_finished, ["00left"], "{r:?}");
                assert!(r.applications_deleted.is_empty());
                assert_eq!(r.repairs(), 0);
                assert_eq!(metrics("dfr", &r, now()), None, "no Repairs line: no alarm");
            } else {
                assert!(r.applications_finished.is_empty());
                assert_eq!(r.applications_deleted.len(), 1, "{r:?}");
                assert_eq!(r.repairs(), 1);
            }
            // Either way the run's end is recorded, with the execution's status, once.
            let items = table.serverless.borrow();
            let (note, cost) = items.get("00left").unwrap();
            assert_eq!(
                (note.status.as_str(), note.execution.as_str()),
                ("ABORTED", stopped.as_str())
            );
            assert_eq!(cost.as_ref().map(|c| c.job_runs), Some(1));
        }
    }

    #[tokio::test]
    async fn a_noted_run_gets_its_cost_recorded_once_its_cluster_has_ended_and_not_before() {
        let run = UnfinishedRun {
            cluster_id: CLUSTER.into(),
            region: Some("eu-west-1".into()),
            execution: arn("run-transient", "stopped"),
            status: "ABORTED".into(),
            started_at: None,
            stopped_at: None,
        };
        let table = FakeTable::default();
        table.note(&run, now()).await.unwrap();
        let (tagging, executions, sfn) = Default::default();
        // Still listed as active: not even described.
        let emr = crate::fakes::cluster("WAITING");
        active(&emr, &[(CLUSTER, "WAITING")]);
        let r = sweep(&emr, &tagging, &executions, &table, &sfn).await;
        assert!(r.costs_recorded.is_empty());
        assert_eq!(emr.calls.get(), 0);
        // Gone from the listing but still terminating: described, nothing recorded yet.
        let emr = crate::fakes::cluster("TERMINATING");
        let r = sweep(&emr, &tagging, &executions, &table, &sfn).await;
        assert!(r.costs_recorded.is_empty() && r.errors.is_empty(), "{r:?}");
        assert_eq!(table.unrecorded().await.unwrap(), vec![run.clone()]);
        // Ended: recorded (a repair: the cluster's end event should have), then never again.
        let emr = crate::fakes::cluster("TERMINATED");
        let r = sweep(&emr, &tagging, &executions, &table, &sfn).await;
        assert_eq!(r.costs_recorded.len(), 1, "{r:?}");
        assert_eq!(r.repairs(), 1);
        assert!(table.recorded.borrow().contains_key(CLUSTER));
        let r = sweep(&emr, &tagging, &executions, &table, &sfn).await;
        assert!(r.costs_recorded.is_empty());
    }

    fn wait_of(execution: &str, mode: Mode, step_ids: &[&str]) -> Wait {
        let request: CheckEvent = serde_json::from_value(json!({
            "clusterId": CLUSTER, "mode": mode, "stepIds": step_ids,
            "since": "2026-12-02T10:00:00Z"
        }))
        .unwrap();
        Wait {
            subject: CLUSTER.into(),
            execution: execution.into(),
            token: format!("token-of-{execution}"),
            request: WaitRequest::Cluster(request),
            steps_ended: Default::default(),
        }
    }

    #[tokio::test]
    async fn when_a_waiting_job_run_ended_unannounced_the_sweep_should_answer_it_with_one_get_job_run(
    ) {
        let (emr, serverless, table, sfn) = (
            FakeEmr::default(),
            FakeServerless::default(),
            FakeTable::default(),
            FakeCallbacks::default(),
        );
        let (tagging, executions) = (FakeTagging::default(), FakeExecutions::default());
        serverless.jobs.borrow_mut().push((
            "00app1".into(),
            "00run1".into(),
            "RUNNING".into(),
            Vec::new(),
        ));
        let request = serde_json::from_value(json!({
            "target": "serverless", "applicationId": "00app1", "jobRunId": "00run1",
            "since": "2026-12-02T10:00:00Z", "architecture": "X86_64"
        }))
        .unwrap();
        table.waits.borrow_mut().insert(
            "exec-sls".into(),
            Wait {
                subject: crate::wait::job_run_key("00app1", "00run1"),
                execution: "exec-sls".into(),
                token: "token-of-exec-sls".into(),
                request: WaitRequest::JobRun(request),
                steps_ended: Default::default(),
            },
        );
        let r = sweep_with(&emr, &serverless, &tagging, &executions, &table, &sfn).await;
        assert_eq!((r.waits_seen, r.waits_answered.len()), (1, 0), "{r:?}");
        assert_eq!(serverless.reads.get(), 1);
        // Its end event was lost: the next sweep answers it, a repair.
        serverless.set_job("00run1", "SUCCESS");
        let r = sweep_with(&emr, &serverless, &tagging, &executions, &table, &sfn).await;
        assert_eq!(r.waits_answered.len(), 1, "{r:?}");
        assert_eq!(r.waits_answered[0].target, "00app1/00run1");
        assert!(r.waits_answered[0].reason.contains("job run SUCCESS"));
        assert_eq!(sfn.answered.borrow()[0].0, "token-of-exec-sls");
        assert_eq!(sfn.answered.borrow()[0].1["phase"], "succeeded");
        assert!(table.waits.borrow().is_empty());
        assert_eq!(emr.calls.get(), 0);
    }

    #[tokio::test]
    async fn when_a_waits_cluster_reached_what_it_waits_for_the_sweep_should_answer_it_and_otherwise_spend_nothing(
    ) {
        let emr = FakeEmr::default();
        let table = FakeTable::default();
        let sfn = FakeCallbacks::default();
        let tagging = FakeTagging::default();
        let executions = FakeExecutions::default();
        let transient = wait_of("exec-transient", Mode::Transient, &[]);
        table
            .waits
            .borrow_mut()
            .insert(transient.execution.clone(), transient.clone());
        // Still running: the listing alone says the transient run goes on, no EMR call.
        active(&emr, &[(CLUSTER, "RUNNING")]);
        *emr.state.borrow_mut() = "RUNNING".into();
        let r = sweep(&emr, &tagging, &executions, &table, &sfn).await;
        assert_eq!((r.waits_seen, r.waits_answered.len()), (1, 0));
        assert_eq!(emr.calls.get(), 0);
        // Its cluster ended and the event was lost: gone from the active listing, so checked and answered.
        active(&emr, &[]);
        *emr.state.borrow_mut() = "TERMINATED".into();
        emr.steps
            .borrow_mut()
            .push(("s-1".into(), "COMPLETED".into()));
        let r = sweep(&emr, &tagging, &executions, &table, &sfn).await;
        assert_eq!(r.waits_answered.len(), 1, "{r:?}");
        assert_eq!(r.waits_answered[0].execution, "exec-transient");
        assert_eq!(sfn.answered.borrow()[0].0, "token-of-exec-transient");
        assert_eq!(sfn.answered.borrow()[0].1["phase"], "succeeded");
        assert!(table.waits.borrow().is_empty());
    }

    #[tokio::test]
    async fn when_a_run_waits_steps_all_ended_on_a_busy_cluster_the_sweep_should_answer_it() {
        let emr = FakeEmr::default();
        let table = FakeTable::default();
        let sfn = FakeCallbacks::default();
        let run = wait_of("exec-run", Mode::Run, &["s-1", "s-2"]);
        table
            .waits
            .borrow_mut()
            .insert(run.execution.clone(), run.clone());
        active(&emr, &[(CLUSTER, "RUNNING")]);
        *emr.state.borrow_mut() = "RUNNING".into();
        emr.steps.borrow_mut().extend([
            ("s-1".into(), "COMPLETED".into()),
            ("s-2".into(), "RUNNING".into()),
            ("s-9".into(), "RUNNING".into()),
        ]);
        let (tagging, executions) = (FakeTagging::default(), FakeExecutions::default());
        let r = sweep(&emr, &tagging, &executions, &table, &sfn).await;
        assert!(r.waits_answered.is_empty());
        assert_eq!(emr.calls.get(), 1, "one ListSteps of the run's own steps");
        emr.steps.borrow_mut()[1].1 = "COMPLETED".into();
        let r = sweep(&emr, &tagging, &executions, &table, &sfn).await;
        assert_eq!(r.waits_answered.len(), 1, "{r:?}");
        assert_eq!(sfn.answered.borrow()[0].1["phase"], "succeeded");
    }

    #[tokio::test]
    async fn a_sweep_that_could_not_look_everywhere_fails_naming_each_part_after_repairing_the_rest(
    ) {
        let r = Reconciled {
            errors: vec!["us-east-1: ListClusters: throttled".into()],
            clusters_terminated: vec![Repair {
                target: "j-1".into(),
                region: Some("eu-west-1".into()),
                execution: arn("up", "x"),
                reason: "r".into(),
            }],
            ..Reconciled::default()
        };
        assert_eq!(
            metrics("dfr", &Reconciled::default(), now()),
            None,
            "a quiet sweep writes no metric"
        );
        let m = metrics("dfr", &r, now()).unwrap();
        assert_eq!(
            (m["Repairs"].as_u64(), m["ClustersTerminated"].as_u64()),
            (Some(1), Some(1))
        );
        assert_eq!(m["Stack"], "dfr");
        for metric in m["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
        {
            assert!(m[metric["Name"].as_str().unwrap()].is_number());
        }
        let e = outcome(r).unwrap_err();
        assert!(e.retryable());
        assert!(e.to_string().contains("us-east-1: ListClusters"), "{e}");
        assert!(e.to_string().contains("repaired 1"), "{e}");
    }
}
