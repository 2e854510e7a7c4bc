//! The shared core of Dataflow Runner, serverless: the config model, loading a config (rendered with the
//! `gotemplate` crate, then parsed and validated against the embedded JSON Schemas), EMR request planning, the
//! decisions about what an EMR status means, what a cluster costs, the execution input (its type, and the
//! validators, option defaults and bounds read from its schema) and the one list of error names. Pure: no network, and no clock, environment or disk
//! of its own; a template reads them only through the `gotemplate::TemplateEnv` the caller passes. No template
//! engine here.

pub mod checks;
pub mod cost;
pub mod diagnostics;
pub mod error_names;
pub mod execution;
pub mod ids;
pub mod load;
pub mod model;
pub mod plan;
pub mod schema;
pub mod serverless_status;
pub mod status;
pub mod structure;
