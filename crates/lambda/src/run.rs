//! A run's identity: what makes a repeated invocation (Step Functions retry, redrive, a lost response) find the
//! cluster or steps it already created instead of creating them again.

use chrono::{DateTime, Utc};
use dfr_core::plan::EmrTag;
use serde::{Deserialize, Serialize};

/// Every cluster this project launches carries this tag (IAM conditions and terminate-cluster rely on it).
pub const TAG_MANAGED: &str = "dataflow-runner:managed";
/// The Step Functions execution that launched the cluster (the cleanup rule finds clusters by it).
pub const TAG_EXECUTION: &str = "dataflow-runner:execution";
/// The run key and launch attempt (`<key>#<attempt>`): one cluster per value.
pub const TAG_RUN_KEY: &str = "dataflow-runner:run-key";
/// Set when the user asked to keep the cluster after a failed run (for debugging): the cleanup of a FAILED
/// execution leaves it alone. A stopped or timed-out execution still ends it.
pub const TAG_KEEP_ON_FAILURE: &str = "dataflow-runner:keep-on-failure";

/// After a write that got no answer, how long to wait before each look for its effect: at once, then twice more,
/// in case EMR's listings lag behind the write. Then the call fails retryably and Step Functions retries it.
pub const SETTLE_PAUSES: [std::time::Duration; 3] = [
    std::time::Duration::ZERO,
    std::time::Duration::from_secs(2),
    std::time::Duration::from_secs(4),
];

/// After a write that got no answer: looks for its effect at each of [`SETTLE_PAUSES`] and returns what `look` found.
pub async fn settle<T, F, Fut>(mut look: F) -> Result<Option<T>, crate::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, crate::Error>>,
{
    for pause in SETTLE_PAUSES {
        tokio::time::sleep(pause).await;
        if let Some(found) = look().await? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Run {
    /// Unique per run; the state machines pass the execution name.
    #[serde(deserialize_with = "crate::event::run_key")]
    pub key: String,
    /// Launch attempt, from 1; a relaunch after a bootstrap failure is a new attempt.
    #[serde(default = "first_attempt", deserialize_with = "attempt")]
    pub attempt: u32,
    pub execution_arn: Option<String>,
    #[serde(default, deserialize_with = "crate::event::time")]
    pub started_at: Option<DateTime<Utc>>,
}

fn first_attempt() -> u32 {
    1
}

fn attempt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    match u32::deserialize(d)? {
        0 => Err(serde::de::Error::custom(
            "attempts count from 1 (the first launch is attempt 1)",
        )),
        n => Ok(n),
    }
}

impl Run {
    pub fn launch_key(&self) -> String {
        format!("{}#{}", self.key, self.attempt)
    }

    /// The tags that mark a cluster as launched by this run.
    pub fn tags(&self) -> Vec<EmrTag> {
        let mut tags = vec![
            EmrTag {
                key: TAG_MANAGED.into(),
                value: "true".into(),
            },
            EmrTag {
                key: TAG_RUN_KEY.into(),
                value: truncate(&self.launch_key(), 256),
            },
        ];
        if let Some(arn) = &self.execution_arn {
            tags.push(EmrTag {
                key: TAG_EXECUTION.into(),
                value: truncate(arn, 256),
            });
        }
        tags
    }

    /// Appended to every step name this run adds to a cluster, so a retry can recognise its own steps.
    pub fn step_suffix(&self) -> String {
        format!(" [run {}]", short_id(&self.key))
    }

    /// How far back to look for what this run may already have created.
    pub fn look_back_from(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.started_at.unwrap_or(now - chrono::Duration::days(2)) - chrono::Duration::minutes(10)
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// Eight hex digits of FNV-1a over the run key: short enough for a step name, stable across processes.
pub fn short_id(key: &str) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{:08x}", (h >> 32) as u32 ^ h as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ids_are_stable_and_distinct() {
        assert_eq!(short_id("exec-1"), short_id("exec-1"));
        assert_ne!(short_id("exec-1"), short_id("exec-2"));
        assert_eq!(short_id("x").len(), 8);
    }

    #[test]
    fn each_attempt_has_its_own_launch_key() {
        let mut run = Run {
            key: "nightly-2026-11-25".into(),
            attempt: 1,
            execution_arn: None,
            started_at: None,
        };
        let first = run.launch_key();
        run.attempt = 2;
        assert_ne!(first, run.launch_key());
        assert!(run
            .tags()
            .iter()
            .any(|t| t.key == TAG_MANAGED && t.value == "true"));
        // Configs may not set these: the core refuses every key under the reserved prefix.
        for key in [TAG_MANAGED, TAG_EXECUTION, TAG_RUN_KEY, TAG_KEEP_ON_FAILURE] {
            assert!(
                key.starts_with(dfr_core::checks::RESERVED_TAG_PREFIX),
                "{key}"
            );
        }
    }
}
