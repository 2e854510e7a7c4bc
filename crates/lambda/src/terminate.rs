//! terminate-cluster: end a cluster this project launched — one by id, or every cluster an execution launched
//! when EventBridge reports that execution stopped, failed or timed out (no Catch runs then); for an execution of
//! serverless-run-transient, the EMR Serverless applications and job runs it left ([`crate::serverless::ended`]).

use chrono::{DateTime, Utc};
use dfr_core::status::{CLUSTER_ACTIVE, CLUSTER_ENDING};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::emr::Emr;
use crate::error::Error;
use crate::event::ExecutionStatusChange;
use crate::prices::PriceSource;
use crate::run::{TAG_EXECUTION, TAG_KEEP_ON_FAILURE, TAG_MANAGED};
use crate::serverless::ended::{end_execution, Ended};
use crate::serverless::run_end::{self, RunEnd, RunNote, ServerlessRuns};
use crate::serverless::EmrServerless;
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
                "launch no clusters; the cleanup is for the run-transient, serverless-run-transient and up state \
                 machines' executions",
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
/// conditions on the cluster tags expect) or EMR Serverless applications (`<stack>-serverless-run-transient` and
/// `<stack>-serverless-up`, which also end with `-run-transient` and `-up`: [`on_serverless`] tells them apart).
const LAUNCHING_MACHINES: [&str; 4] = [
    "-run-transient",
    "-serverless-run-transient",
    "-up",
    "-serverless-up",
];

/// Whether an execution ran on EMR Serverless (its state machine is `<stack>-serverless-run-transient` or
/// `<stack>-serverless-up`): its end is swept for applications, not clusters.
pub fn on_serverless(execution_arn: &str) -> bool {
    crate::event::execution_machine(execution_arn)
        .is_some_and(|m| SERVERLESS_MACHINES.iter().any(|s| m.ends_with(s)))
}

const SERVERLESS_MACHINES: [&str; 2] = ["-serverless-run-transient", "-serverless-up"];

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TerminateOutput {
    pub terminated: Vec<String>,
    pub already_terminated: Vec<String>,
    /// Clusters of a failed execution that asked to keep them.
    pub kept: Vec<String>,
    /// For an execution of serverless-run-transient: its applications and job runs.
    #[serde(flatten)]
    pub serverless: Ended,
}

/// How many clusters one sweep of one region describes at most; more means the event is retried (and, in the end,
/// lands in the dead-letter queue with this message), never a sweep that runs past the function's timeout.
pub const MAX_DESCRIBED_PER_SWEEP: usize = 200;

/// Ends the cluster, or the clusters of the ended execution; each of those is first noted in `runs`, so that the
/// run's cost is recorded once the cluster has ended ([`crate::unfinished`]). For a serverless execution, an
/// application it deletes ends the run ([`run_end::record`], priced with `prices`); one whose deletion it leaves to
/// the reconciler (job runs still cancelling) is noted in `runs`, so that the reconciler's finishing it is routine.
pub async fn terminate<E: Emr, S: EmrServerless>(
    event: &TerminateEvent,
    emr_for: impl Fn(Option<&str>) -> E,
    serverless_for: impl Fn(Option<&str>) -> S,
    runs: &(impl UnfinishedRuns + ServerlessRuns),
    prices: &impl PriceSource,
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
            let pass = Pass {
                event,
                emr_for: &emr_for,
                serverless_for: &serverless_for,
                runs,
                regions,
            };
            pass.run(now, &mut out, &mut errors).await;
            end_runs(event, &mut out.serverless, runs, prices, now).await;
            // A launch still in flight when the execution was stopped (or timed out) creates its cluster (or
            // application) after this sweep: look again once no launch-cluster invocation of the execution can still
            // be running. An application's end goes on meanwhile: the second pass may find it STOPPED, and delete it.
            if let Some(wait) = stack.in_flight_wait(status, *stopped_at, now) {
                tokio::time::sleep(wait).await;
                let later = now + chrono::Duration::from_std(wait).unwrap_or_default();
                out.serverless.applications_ending.clear();
                out.serverless.ending_in.clear();
                pass.run(later, &mut out, &mut errors).await;
                end_runs(event, &mut out.serverless, runs, prices, later).await;
            }
            if let Some(first) = errors.first() {
                let all: Vec<String> = errors.iter().map(ToString::to_string).collect();
                let message = format!(
                    "the cleanup of {} did not finish ({} error(s)), terminated so far: {:?}; {}",
                    event_execution(event),
                    errors.len(),
                    out.terminated
                        .iter()
                        .chain(&out.serverless.applications_deleted)
                        .collect::<Vec<_>>(),
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

/// What a serverless pass ended or left: each application it deleted ends its run (recorded); each it left on its
/// way to deletion is noted, so that the reconciler's finishing it is routine. A note that fails is logged: the
/// reconciler then counts its deletion as a repair, nothing is lost.
async fn end_runs(
    event: &TerminateEvent,
    ended: &mut Ended,
    runs: &impl ServerlessRuns,
    prices: &impl PriceSource,
    now: DateTime<Utc>,
) {
    let TerminateEvent::ExecutionEnded {
        execution_arn,
        status,
        started_at,
        ..
    } = event
    else {
        return;
    };
    for run in std::mem::take(&mut ended.runs_ended) {
        let end = RunEnd {
            execution: execution_arn.clone(),
            outcome: status.clone(),
            started_at: *started_at,
            region: run.region.clone(),
        };
        run_end::record(&run, &end, runs, prices, now).await;
    }
    for (application_id, region) in &ended.ending_in {
        let note = RunNote {
            application_id: application_id.clone(),
            region: Some(region.clone()),
            execution: execution_arn.clone(),
            status: status.clone(),
        };
        if let Err(e) = runs.note_application(&note, now).await {
            tracing::warn!(%application_id, error = %e, "the reconciler will count this application's deletion as a repair: the wait table could not be written");
        }
    }
}

fn event_execution(event: &TerminateEvent) -> &str {
    match event {
        TerminateEvent::ExecutionEnded { execution_arn, .. } => execution_arn,
        TerminateEvent::Cluster { cluster_id, .. } => cluster_id,
    }
}

/// One look at what an ended execution left: its clusters, or on EMR Serverless its applications.
struct Pass<'a, EF, SF, R> {
    event: &'a TerminateEvent,
    emr_for: &'a EF,
    serverless_for: &'a SF,
    runs: &'a R,
    regions: &'a Regions,
}

impl<
        E: Emr,
        S: EmrServerless,
        EF: Fn(Option<&str>) -> E,
        SF: Fn(Option<&str>) -> S,
        R: UnfinishedRuns,
    > Pass<'_, EF, SF, R>
{
    async fn run(&self, now: DateTime<Utc>, out: &mut TerminateOutput, errors: &mut Vec<Error>) {
        if on_serverless(event_execution(self.event)) {
            sweep_serverless(self.event, self.serverless_for, self.regions, out, errors).await;
        } else {
            sweep(
                self.event,
                self.emr_for,
                self.runs,
                self.regions,
                now,
                out,
                errors,
            )
            .await;
        }
    }
}

/// Ends what an ended execution of serverless-run-transient left in every region of the stack (one pass each).
async fn sweep_serverless<S: EmrServerless>(
    event: &TerminateEvent,
    serverless_for: &impl Fn(Option<&str>) -> S,
    regions: &Regions,
    out: &mut TerminateOutput,
    errors: &mut Vec<Error>,
) {
    let TerminateEvent::ExecutionEnded { execution_arn, .. } = event else {
        return;
    };
    for region in regions.all() {
        let serverless = serverless_for(Some(region));
        end_execution(
            &serverless,
            region,
            execution_arn,
            &mut out.serverless,
            errors,
        )
        .await;
    }
    out.serverless.applications_deleted.sort();
    out.serverless.applications_deleted.dedup();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ended(machine: &str, status: &str) -> Value {
        serde_json::json!({
            "detail-type": "Step Functions Execution Status Change",
            "detail": {
                "executionArn": format!("arn:aws:states:eu-west-1:1:execution:dfr-{machine}:nightly"),
                "status": status
            }
        })
    }

    #[test]
    fn the_end_of_a_serverless_run_is_swept_for_applications_and_a_cluster_runs_for_clusters() {
        for machine in [
            "run-transient",
            "up",
            "serverless-run-transient",
            "serverless-up",
        ] {
            let event = TerminateEvent::parse(&ended(machine, "ABORTED")).unwrap();
            let serverless = on_serverless(event_execution(&event));
            assert_eq!(serverless, machine.starts_with("serverless-"), "{machine}");
        }
        for machine in ["run", "down", "serverless-run", "serverless-down"] {
            let e = TerminateEvent::parse(&ended(machine, "ABORTED")).unwrap_err();
            assert_eq!(e.name(), "InvalidConfig", "{machine}");
        }
        assert!(TerminateEvent::parse(&ended("serverless-run-transient", "SUCCEEDED")).is_err());
    }
}
