//! Where the cost of an unfinished run is kept: a run stopped, timed out by Step Functions, or failed without its own
//! cleanup writes no output and no Cause with a `cost`, so the cleanup path (terminate-cluster, the reconciler) notes
//! each cluster it terminates for such a run in the stack's wait table, and event-router or the reconciler records
//! the cluster's final cost there once it has ended. The functions write the item; `dataflow-runner report` reads it.
//! The layout is here, in one place, because both sides need it (infra/README.md, "The wait table").

/// The sort key (`waiter`) of an unfinished run's item; its partition key is the cluster's id.
pub const WAITER: &str = "#unfinished";
/// The sort key of a serverless run's item; its partition key is the application's id. terminate-cluster puts it
/// (execution, status, no cost) when the end of an execution it cleans up is left to the reconciler (job runs still
/// cancelling): the reconciler's deletion of that application is then routine, not a repair. The pass that deletes
/// the application records the run's cost in it (any outcome), for `dataflow-runner report`.
pub const SERVERLESS_WAITER: &str = "#serverless";
/// The execution's ARN.
pub const EXECUTION: &str = "execution";
/// How it ended: `ABORTED`, `TIMED_OUT` or `FAILED` (a serverless run's: also `SUCCEEDED` or its failure's name).
pub const STATUS: &str = "status";
/// The cluster's final cost, a JSON object as a run's result carries it; absent until the cluster has ended.
pub const COST: &str = "cost";
/// How long an item waits for its cluster to end before DynamoDB forgets it: a terminating cluster ends in minutes.
pub const KEEP_UNRECORDED_SECONDS: i64 = 2 * 24 * 3600;
/// How long a recorded cost is kept: as long as Step Functions keeps a closed execution (90 days), so `report` finds
/// the cost of every run it can list.
pub const KEEP_RECORDED_SECONDS: i64 = 90 * 24 * 3600;
