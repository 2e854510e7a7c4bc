//! terminate-cluster: end a cluster this project launched — one by id, or every cluster an execution launched
//! when EventBridge reports that execution stopped, failed or timed out (no Catch runs then).

use chrono::{DateTime, Utc};
use dfr_core::status::{CLUSTER_ACTIVE, CLUSTER_ENDING};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::emr::Emr;
use crate::error::Error;
use crate::event::ExecutionStatusChange;
use crate::run::{TAG_EXECUTION, TAG_KEEP_ON_FAILURE, TAG_MANAGED};
use crate::stack::{Regions, Stack};
use crate::unfinished::{UnfinishedRun, UnfinishedRuns};

#[derive(Debug, Clone, PartialEq)]
pub enum TerminateEvent {
    Cluster {
        cluster_id: String,
        region: Option<String>,
        force: bool,
    },
    ExecutionEnded {
        execution_arn: String,
        status: String,
        started_at: Option<DateTime<Utc>>,
        stopped_at: Option<DateTime<Utc>>,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DirectEvent {
    #[serde(deserialize_with = "crate::event::cluster_id")]
    cluster_id: String,
    #[serde(default, deserialize_with = "crate::event::region")]
    region: Option<String>,
    #[serde(default)]
    force: bool,
}

impl TerminateEvent {
    /// A direct request, or an EventBridge `Step Functions Execution Status Change` event.
    pub fn parse(v: &Value) -> Result<Self, Error> {
        if let Some(ended) = ExecutionStatusChange::parse(v)? {
            // `run` and `down` executions launch no clusters: an event for one is misrouted (and would be a wasted
            // scan of every cluster).
            ended.check(
                &LAUNCHING_MACHINES,
                "launch no clusters; the cleanup is for the run-transient and up state machines' executions",
                &ENDED_UNFINISHED,
                &format!(
                    "the cleanup ends the clusters of an execution that stopped without finishing ({}); a running \
                     or succeeded execution's clusters are its own (up's outlives it)",
                    ENDED_UNFINISHED.join(", ")
                ),
            )?;
            return Ok(Self::ExecutionEnded {
                execution_arn: ended.execution_arn,
                status: ended.status,
                started_at: ended.started_at,
                stopped_at: ended.stopped_at,
            });
        }
        let d: DirectEvent = crate::runtime::decode("terminate-cluster", v.clone())?;
        Ok(Self::Cluster {
            cluster_id: d.cluster_id,
            region: d.region,
            force: d.force,
        })
    }
}

/// The execution statuses the cleanup acts on: what the stack's EventBridge rule forwards.
pub const ENDED_UNFINISHED: [&str; 3] = ["ABORTED", "TIMED_OUT", "FAILED"];

/// What the end of its execution means for a cluster it launched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Stopped, timed out, or failed: nothing of the run will end it.
    Terminate,
    /// Failed, and the run asked to keep it for debugging (`keepClusterOnFailure`, the keep-on-failure tag).
    Keep,
    /// Succeeded (an `up` hands its cluster over; a transient cluster ends itself), or still running.
    Leave,
}

/// The one rule for a cluster whose execution ended with `status`, for the cleanup rule and the reconciler alike.
pub fn fate_of(status: &str, keep_on_failure_tag: Option<&str>) -> Fate {
    match status {
        "FAILED" if keep_on_failure_tag == Some("true") => Fate::Keep,
        s if ENDED_UNFINISHED.contains(&s) => Fate::Terminate,
        _ => Fate::Leave,
    }
}

/// The state machines whose executions launch clusters (named `<stack>-run-transient` and `<stack>-up`, as the IAM
/// conditions on the cluster tags expect).
const LAUNCHING_MACHINES: [&str; 2] = ["-run-transient", "-up"];

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TerminateOutput {
    pub terminated: Vec<String>,
    pub already_terminated: Vec<String>,
    /// Clusters of a failed execution that asked to keep them.
    pub kept: Vec<String>,
}

/// How many clusters one sweep of one region describes at most; more means the event is retried (and, in the end,
/// lands in the dead-letter queue with this message), never a sweep that runs past the function's timeout.
pub const MAX_DESCRIBED_PER_SWEEP: usize = 200;

/// Ends the cluster, or the clusters of the ended execution; each of those is first noted in `runs`, so that the
/// run's cost is recorded once the cluster has ended ([`crate::unfinished`]).
pub async fn terminate<E: Emr>(
    event: &TerminateEvent,
    emr_for: impl Fn(Option<&str>) -> E,
    runs: &impl UnfinishedRuns,
    stack: &Stack,
    now: DateTime<Utc>,
) -> Result<TerminateOutput, Error> {
    let regions = &stack.regions;
    let mut out = TerminateOutput::default();
    match event {
        TerminateEvent::Cluster {
            cluster_id,
            force,
            region,
        } => {
            let emr = emr_for(region.as_deref());
            let info = emr.describe_cluster(cluster_id).await?;
            if CLUSTER_ENDING.contains(&info.state.as_str()) {
                out.already_terminated.push(info.id);
                return Ok(out);
            }
            if info.tag(TAG_MANAGED) != Some("true") && !force {
                return Err(Error::ClusterNotManaged(format!(
                    "cluster {cluster_id} was not launched by Dataflow Runner (no {TAG_MANAGED} tag); pass \"force\": true to terminate it anyway"
                )));
            }
            emr.terminate_job_flows(cluster_id).await?;
            out.terminated.push(info.id);
        }
        TerminateEvent::ExecutionEnded {
            stopped_at, status, ..
        } => {
            let mut errors = Vec::new();
            sweep(event, &emr_for, runs, regions, now, &mut out, &mut errors).await;
            // A launch still in flight when the execution was stopped (or timed out) creates its cluster after this
            // sweep: look again once no launch-cluster invocation of the execution can still be running.
            if let Some(wait) = stack.in_flight_wait(status, *stopped_at, now) {
                tokio::time::sleep(wait).await;
                let later = now + chrono::Duration::from_std(wait).unwrap_or_default();
                sweep(event, &emr_for, runs, regions, later, &mut out, &mut errors).await;
            }
            if let Some(first) = errors.first() {
                let all: Vec<String> = errors.iter().map(ToString::to_string).collect();
                let message = format!(
                    "the cleanup of {} did not finish ({} error(s)), terminated so far: {:?}; {}",
                    event_execution(event),
                    errors.len(),
                    out.terminated,
                    all.join("; ")
                );
                // Retryable when any part is: a retry of the event sweeps again, which is safe.
                return Err(if errors.iter().any(Error::retryable) {
                    Error::EmrUnavailable(message)
                } else {
                    match first {
                        Error::AccessDenied(_) => Error::AccessDenied(message),
                        _ => Error::Internal(message),
                    }
                });
            }
        }
    }
    Ok(out)
}

fn event_execution(event: &TerminateEvent) -> &str {
    match event {
        TerminateEvent::ExecutionEnded { execution_arn, .. } => execution_arn,
        TerminateEvent::Cluster { cluster_id, .. } => cluster_id,
    }
}

/// Terminates the active clusters of an ended execution in every region of the stack, going on past any error (each
/// is kept in `errors`): one cluster that cannot be read must not keep the others running.
async fn sweep<E: Emr>(
    event: &TerminateEvent,
    emr_for: &impl Fn(Option<&str>) -> E,
    runs: &impl UnfinishedRuns,
    regions: &Regions,
    now: DateTime<Utc>,
    out: &mut TerminateOutput,
    errors: &mut Vec<Error>,
) {
    let TerminateEvent::ExecutionEnded {
        execution_arn,
        status,
        started_at,
        stopped_at,
    } = event
    else {
        return;
    };
    let since =
        started_at.unwrap_or(now - chrono::Duration::days(14)) - chrono::Duration::minutes(10);
    for region in regions.all() {
        let emr = emr_for(Some(region));
        let candidates = match emr.list_clusters(Some(since), &CLUSTER_ACTIVE).await {
            Ok(c) => c,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        if candidates.len() > MAX_DESCRIBED_PER_SWEEP {
            errors.push(Error::EmrUnavailable(format!(
                "{region}: {} active clusters created since the execution started, more than the {} one sweep reads",
                candidates.len(),
                MAX_DESCRIBED_PER_SWEEP
            )));
        }
        for c in candidates.iter().take(MAX_DESCRIBED_PER_SWEEP) {
            let seen = out.terminated.contains(&c.id) || out.kept.contains(&c.id);
            if seen {
                continue;
            }
            let info = match emr.describe_cluster(&c.id).await {
                Ok(info) => info,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            if info.tag(TAG_EXECUTION) != Some(execution_arn.as_str())
                || info.tag(TAG_MANAGED) != Some("true")
            {
                continue;
            }
            if fate_of(status, info.tag(TAG_KEEP_ON_FAILURE)) == Fate::Keep {
                tracing::info!(cluster_id = %info.id, "kept for debugging, as the run asked");
                out.kept.push(info.id);
                continue;
            }
            // Noted before it is terminated: a retried event no longer finds a terminating cluster. A note that
            // fails loses only the cost, never the termination.
            let run = UnfinishedRun {
                cluster_id: info.id.clone(),
                region: Some(region.to_string()),
                execution: execution_arn.clone(),
                status: status.clone(),
                started_at: *started_at,
                stopped_at: *stopped_at,
            };
            if let Err(e) = runs.note(&run, now).await {
                tracing::warn!(cluster_id = %info.id, error = %e, "the run's cost will not be recorded: the wait table could not be written");
            }
            match emr.terminate_job_flows(&info.id).await {
                Ok(()) => {
                    tracing::info!(cluster_id = %info.id, %region, execution_arn = %execution_arn, status = %status, "terminated a cluster the execution left");
                    out.terminated.push(info.id);
                }
                Err(e) => errors.push(e),
            }
        }
    }
}
