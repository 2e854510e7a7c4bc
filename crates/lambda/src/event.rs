//! The shapes of the event fields the handlers share, checked while an event is decoded: a malformed id, region or
//! run key is `InvalidConfig` naming the field, before anything is asked of EMR (where it would be a rejected or
//! denied call, or a tag that no longer tells two runs apart).

use chrono::{DateTime, Utc};
use serde::de::{Deserialize, Deserializer, Error as _};

/// Step ids `check-status` takes for one run: a run adds at most 256 steps (EMR's limit of active steps).
pub const MAX_STEP_IDS: usize = 256;

/// Longest run key: what the state machines pass is the execution ARN (a state machine name and an execution name
/// of at most 80 characters each, and the partition, region and account), and `<key>#<attempt>` must fit in a
/// 256-character tag value whole, or two keys could share a cluster.
pub const MAX_RUN_KEY_CHARS: usize = 250;

pub use dfr_core::ids::{is_cluster_id, is_step_id};

/// Why `key` cannot be a run key, if it cannot: the rules of a Step Functions execution name, so that a key is
/// never truncated in the cluster's run tag and `#` always separates it from the attempt.
pub fn run_key_problem(key: &str) -> Option<String> {
    // An execution ARN's separators (`:`) are fine; `#` separates the key from the attempt in the run tag.
    const REFUSED: &str = "<>{}[]?*\"#%\\^|~`$&,;/";
    let n = key.chars().count();
    if key.is_empty() {
        return Some(
            "is empty: a run key tells this run's cluster and steps from every other run's".into(),
        );
    }
    if n > MAX_RUN_KEY_CHARS {
        return Some(format!(
            "has {n} characters; at most {MAX_RUN_KEY_CHARS} (an execution ARN, whose key and attempt fit in an EMR tag)"
        ));
    }
    if let Some(c) = key
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || REFUSED.contains(*c))
    {
        return Some(format!(
            "contains {c:?}; a run key is a Step Functions execution ARN (or name): no spaces, control characters or any of {REFUSED}"
        ));
    }
    None
}

/// The state machine of a Step Functions execution ARN (`arn:<partition>:states:<region>:<account>:execution:<state
/// machine>:<name>`), or `None` when `arn` is not one.
pub fn execution_machine(arn: &str) -> Option<&str> {
    match arn.split(':').collect::<Vec<_>>().as_slice() {
        ["arn", _, "states", _, _, "execution", machine, name]
            if !machine.is_empty() && !name.is_empty() =>
        {
            Some(machine)
        }
        _ => None,
    }
}

/// A Step Functions execution ARN (what the state machines pass as `$$.Execution.Id`).
pub fn execution_arn<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let arn = String::deserialize(d)?;
    match execution_machine(&arn) {
        Some(_) if arn.chars().count() <= MAX_RUN_KEY_CHARS => Ok(arn),
        _ => Err(D::Error::custom(format!(
            "{} is not a Step Functions execution ARN (arn:aws:states:<region>:<account>:execution:<state \
             machine>:<name>); the state machines pass $$.Execution.Id",
            quoted(&arn)
        ))),
    }
}

/// An optional execution ARN: absent or null when the function is invoked outside a state machine.
pub fn optional_execution_arn<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(transparent)]
    struct Arn(#[serde(deserialize_with = "execution_arn")] String);
    Ok(Option::<Arn>::deserialize(d)?.map(|Arn(arn)| arn))
}

/// An EventBridge `Step Functions Execution Status Change` event, as the stack's rules forward it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionStatusChange {
    pub execution_arn: String,
    /// The execution's state machine, from its ARN.
    pub machine: String,
    /// `detail.status`: SUCCEEDED, FAILED, ABORTED, TIMED_OUT (what the rules forward), or anything else it says.
    pub status: String,
    pub started_at: Option<DateTime<Utc>>,
    pub stopped_at: Option<DateTime<Utc>>,
    /// A failed execution's error and cause, when the event carries them.
    pub error: Option<String>,
    pub cause: Option<String>,
}

impl ExecutionStatusChange {
    /// `None` when `v` is not an EventBridge event (no `detail-type`: a direct invocation); an EventBridge event of
    /// another kind, or without an execution ARN, is `InvalidConfig`.
    pub fn parse(v: &serde_json::Value) -> Result<Option<Self>, crate::Error> {
        use serde_json::Value;
        let Some(kind) = v.get("detail-type").and_then(Value::as_str) else {
            return Ok(None);
        };
        if kind != "Step Functions Execution Status Change" {
            return Err(crate::Error::InvalidConfig(format!(
                "unexpected EventBridge event \"{kind}\""
            )));
        }
        let detail = &v["detail"];
        let execution_arn = detail["executionArn"]
            .as_str()
            .ok_or_else(|| {
                crate::Error::InvalidConfig("EventBridge event without detail.executionArn".into())
            })?
            .to_string();
        let machine = execution_machine(&execution_arn)
            .ok_or_else(|| {
                crate::Error::InvalidConfig(format!(
                    "$.detail.executionArn: {execution_arn:?} is not a Step Functions execution ARN \
                     (arn:aws:states:<region>:<account>:execution:<state machine>:<name>)"
                ))
            })?
            .to_string();
        let at = |field: &str| {
            detail[field]
                .as_i64()
                .and_then(DateTime::from_timestamp_millis)
        };
        let text = |field: &str| detail[field].as_str().map(str::to_string);
        Ok(Some(Self {
            execution_arn,
            machine,
            status: text("status").unwrap_or_default(),
            started_at: at("startDate"),
            stopped_at: at("stopDate"),
            error: text("error"),
            cause: text("cause"),
        }))
    }

    /// Refuses an event for an execution of a state machine other than `machines` (suffixes of its name:
    /// `-run-transient`, …), saying `wrong_machine`, or with a status other than `statuses`, saying `wrong_status`:
    /// the stack's rules forward only those.
    pub fn check(
        &self,
        machines: &[&str],
        wrong_machine: &str,
        statuses: &[&str],
        wrong_status: &str,
    ) -> Result<(), crate::Error> {
        if !machines.iter().any(|m| self.machine.ends_with(m)) {
            return Err(crate::Error::InvalidConfig(format!(
                "$.detail.executionArn: executions of state machine {} {wrong_machine}",
                self.machine
            )));
        }
        if !statuses.contains(&self.status.as_str()) {
            return Err(crate::Error::InvalidConfig(format!(
                "$.detail.status: {:?}: {wrong_status}",
                self.status
            )));
        }
        Ok(())
    }
}

pub fn cluster_id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let id = String::deserialize(d)?;
    if is_cluster_id(&id) {
        Ok(id)
    } else {
        Err(D::Error::custom(format!(
            "{} is not an EMR cluster id: give the j-… id that up's output (or the EMR console) shows",
            quoted(&id)
        )))
    }
}

/// The execution's `options` as its state machine merged them with the defaults, and which machine it is: what
/// the first function a run calls checks against `schemas/execution-input.schema.json` (and the history budget it
/// documents), so a run with bad options spends nothing.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExecutionOptions {
    #[serde(deserialize_with = "state_machine")]
    pub machine: dfr_core::execution::StateMachine,
    pub options: serde_json::Value,
}

impl ExecutionOptions {
    /// `InvalidConfig` listing every problem with its JSON path and fix.
    pub fn check(&self) -> Result<(), crate::Error> {
        let problems = dfr_core::execution::validate_options(self.machine, &self.options);
        if problems.is_empty() {
            return Ok(());
        }
        Err(dfr_core::diagnostics::ConfigErrors(problems).into())
    }
}

fn state_machine<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<dfr_core::execution::StateMachine, D::Error> {
    let name = String::deserialize(d)?;
    dfr_core::execution::StateMachine::from_command(&name).ok_or_else(|| {
        D::Error::custom(format!(
            "{} is not a state machine: run-transient, up, run or down",
            quoted(&name)
        ))
    })
}

/// An optional region: absent or null means the function's own region.
pub fn region<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let region = Option::<String>::deserialize(d)?;
    match region {
        Some(r) if !dfr_core::checks::is_region(&r) => Err(D::Error::custom(format!(
            "{} is not an AWS region: use a region code such as \"eu-west-1\", or leave it out for the functions' own",
            quoted(&r)
        ))),
        other => Ok(other),
    }
}

pub fn step_ids<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let ids = Vec::<String>::deserialize(d)?;
    if ids.len() > MAX_STEP_IDS {
        return Err(D::Error::custom(format!(
            "{} step ids; a run has at most {MAX_STEP_IDS} steps (EMR's limit of active steps)",
            ids.len()
        )));
    }
    match ids.iter().find(|id| !is_step_id(id)) {
        Some(bad) => Err(D::Error::custom(format!(
            "{} is not an EMR step id: give the s-… ids that add-steps returned",
            quoted(bad)
        ))),
        None => Ok(ids),
    }
}

/// An optional RFC 3339 time (`since`, `run.startedAt`).
pub fn time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) => s.parse::<DateTime<Utc>>().map(Some).map_err(|e| {
                D::Error::custom(format!(
                    "{} is not a time ({e}): give an RFC 3339 time such as \"2026-11-25T10:00:00Z\", as Step \
                     Functions' $$.Execution.StartTime",
                    quoted(&s)
                ))
            }),
    }
}

pub fn run_key<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let key = String::deserialize(d)?;
    match run_key_problem(&key) {
        Some(why) => Err(D::Error::custom(format!("the run key {why}"))),
        None => Ok(key),
    }
}

/// A value quoted for a message, shortened when long: events come from anywhere.
fn quoted(s: &str) -> String {
    const MAX: usize = 80;
    if s.chars().count() <= MAX {
        format!("{s:?}")
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head:?}… ({} characters)", s.chars().count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_and_step_ids_look_like_emrs() {
        assert!(is_cluster_id("j-2AXXXXXXGAPLF"));
        for bad in [
            "",
            "j-",
            "j-abc",
            "j-ABC/../x",
            "cluster-1",
            "J-ABC",
            "j-ABC DEF",
        ] {
            assert!(!is_cluster_id(bad), "{bad}");
        }
        assert!(is_step_id("s-1QWERTY"));
        assert!(!is_step_id("step-1"));
    }

    #[test]
    fn run_keys_are_execution_arns_or_names() {
        assert_eq!(run_key_problem("nightly-2026-11-25"), None);
        assert_eq!(run_key_problem("bench-steps-3"), None);
        let longest_arn = format!(
            "arn:aws-us-gov:states:us-gov-west-1:123456789012:execution:{}:{}",
            "m".repeat(80),
            "n".repeat(80)
        );
        assert_eq!(run_key_problem(&longest_arn), None, "{}", longest_arn.len());
        for bad in ["", "a b", "a#1", "x\u{0}", &"k".repeat(251)] {
            assert!(run_key_problem(bad).is_some(), "{bad:?}");
        }
    }
}
