//! What the Lambdas share: their error names, the EMR port and its SDK adapter, configs from the execution
//! input, a run's identity, and the handlers themselves (the reconciler's sweep too) (each binary in functions/ is only its composition root).

pub mod add_steps;
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
pub mod reconcile;
pub mod route;
pub mod run;
pub mod runtime;
mod sdk;
pub mod source;
pub mod stack;
pub mod terminate;
pub mod wait;

pub use error::Error;
