//! The shared core of Dataflow Runner, serverless: config model, templating, validation, EMR request planning and
//! the decisions about what an EMR status means. Pure: no network, no clock or environment except through
//! `template::TemplateEnv`.

pub mod checks;
pub mod diagnostics;
pub mod execution;
pub mod ids;
pub mod load;
pub mod model;
pub mod plan;
pub mod schema;
pub mod status;
pub mod structure;
pub mod template;
