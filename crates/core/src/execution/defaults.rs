//! The options' defaults and bounds, read from `schemas/execution-input.schema.json`, their one home (each option's
//! `default`, `minimum` and `maximum`): the Rust code reads them here instead of stating its own numbers. The
//! definitions' "Read the input" states and statemachine/README.md's table repeat them, and tests compare those by
//! value (`tests/statemachine/test/definitions.test.mjs`, `execution-input.test.mjs`); `tests/contracts.rs` checks
//! every number the schema's own prose states.

use std::ops::RangeInclusive;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::{Map, Value};

/// The schema, embedded at build time (the validators are generated from the same file).
pub(crate) const SCHEMA_TEXT: &str =
    include_str!("../../../../schemas/execution-input.schema.json");

fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| serde_json::from_str(SCHEMA_TEXT).expect("the embedded schema is JSON"))
}

/// The defaults of the options the Rust code reads, from the schema's shared definitions (`$defs/<option>`: the
/// options of run-transient, up and run; `down` has its own, which only its state machine reads).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Defaults {
    pub min_poll_seconds: u32,
    pub max_poll_seconds: u32,
    pub timeout_seconds: u64,
    pub max_startup_checks: u64,
    pub max_launch_attempts: u64,
    pub min_backstop_seconds: u32,
    pub max_backstop_seconds: u32,
    pub startup_timeout_seconds: u64,
}

/// The defaults, read once. A test reads every field, so a schema without one of them fails the build's tests, not
/// a function.
pub fn defaults() -> &'static Defaults {
    static DEFAULTS: OnceLock<Defaults> = OnceLock::new();
    DEFAULTS.get_or_init(|| {
        let shared: Map<String, Value> = definitions()
            .iter()
            .filter_map(|(name, def)| Some((name.clone(), def.get("default")?.clone())))
            .collect();
        serde_json::from_value(Value::Object(shared)).expect(
            "the execution-input schema states a default for every option the functions read",
        )
    })
}

/// `minimum..=maximum` of the shared definition `$defs/<option>` (an integer option).
pub fn bounds(option: &str) -> RangeInclusive<u64> {
    let def = &definitions()[option];
    range_of(def).unwrap_or_else(|| panic!("$defs/{option} states no minimum and maximum"))
}

/// The idle timeout EMR takes, which `idleTimeoutSeconds` allows besides 0 (none).
pub fn idle_timeout_seconds() -> RangeInclusive<u64> {
    definitions()["idleTimeoutSeconds"]["anyOf"]
        .as_array()
        .and_then(|branches| branches.iter().find_map(range_of))
        .expect("$defs/idleTimeoutSeconds states EMR's range")
}

fn range_of(schema: &Value) -> Option<RangeInclusive<u64>> {
    Some(schema.get("minimum")?.as_u64()?..=schema.get("maximum")?.as_u64()?)
}

fn definitions() -> &'static Map<String, Value> {
    schema()["$defs"].as_object().expect("the schema has $defs")
}
