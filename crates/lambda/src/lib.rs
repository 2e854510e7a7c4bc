//! What the Lambdas share, in rooms:
//!
//! - **handlers** (one per function, flat): `launch`, `add_steps`, `check`, `terminate`, `lock`, `route`
//!   (event-router), `reconcile` (the reconciler), with `wait` (a run's wait for EMR's events: registration and
//!   answers) and `unfinished` (the cost of a run that ended without finishing) beside them;
//! - **ports**, beside the logic that uses them: `emr` (the EMR trait and its types), `wait` (the wait table and
//!   Step Functions' callbacks), `reconcile` (executions, tagged clusters), `source` (S3), `prices` (a run's price
//!   source, over the Price List and spot price ports of `dfr_prices`, which the CLI shares), `serverless` (the EMR
//!   Serverless trait and its types, with the four functions' `"target": "serverless"` handlers beside it);
//! - **adapters**, together in `aws`: each port over its AWS SDK client (decisions never see an SDK type); the price
//!   adapters live with their ports in `dfr_prices` and are re-exported there;
//! - **shared rules**: `error` (the error names, the contract with the state machines), `event` (ids and times in
//!   events), `run` (a run's identity and tags), `stack` (what the stack tells the functions), `payload` (Step
//!   Functions' size budgets), `metrics` (embedded CloudWatch metrics), `runtime` (the process: clients, logs,
//!   decoding).
//!
//! Each binary in functions/ is only its composition root. No two files here import each other.

pub mod add_steps;
pub mod aws;
pub mod check;
pub mod emr;
pub mod error;
pub mod event;
#[cfg(test)]
mod fakes;
pub mod launch;
pub mod lock;
pub mod metrics;
pub mod payload;
pub mod prices;
pub mod reconcile;
pub mod route;
pub mod run;
pub mod runtime;
pub mod serverless;
pub mod source;
pub mod stack;
pub mod terminate;
pub mod unfinished;
pub mod wait;

pub use error::Error;
