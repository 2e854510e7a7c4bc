//! The step logs EMR uploads under a cluster's `LogUri`: `<LogUri>/<cluster id>/steps/<step id>/{controller,
//! stderr, stdout, syslog}`, gzipped by EMR. The emulator does not talk to S3; it says what EMR would have uploaded
//! (`GET /_emulator/step-logs`), and a test harness puts it in its local S3.

use serde::Serialize;

use crate::model::{Cluster, StepState};

/// EMR pushes step logs to S3 about five minutes after a step ends.
pub const UPLOAD_DELAY_SECONDS: f64 = 300.0;

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StepLog {
    pub bucket: String,
    /// The object key, without EMR's `.gz` compression applied (the uploader gzips `text`).
    pub key: String,
    pub text: String,
    /// Virtual time from which the object is there.
    pub available_at: f64,
}

fn split_s3(uri: &str) -> Option<(String, String)> {
    let rest = uri
        .strip_prefix("s3://")
        .or_else(|| uri.strip_prefix("s3n://"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let prefix = prefix.trim_end_matches('/');
    Some((
        bucket.to_string(),
        if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}/")
        },
    ))
}

/// The logs of every ended step of `cluster` whose upload time has come by `now`.
pub fn step_logs(cluster: &Cluster, now: f64) -> Vec<StepLog> {
    let Some((bucket, prefix)) = cluster.spec.log_uri.as_deref().and_then(split_s3) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for step in &cluster.steps {
        let Some(ended) = step.ended else { continue };
        if step.started.is_none() || ended + UPLOAD_DELAY_SECONDS > now {
            continue;
        }
        let failed = step.state == StepState::Failed;
        let (reason, message) = match &step.failure {
            Some((r, m, _)) => (r.clone().unwrap_or_default(), m.clone().unwrap_or_default()),
            None => (String::new(), String::new()),
        };
        let command = format!(
            "{} {}",
            step.jar.as_deref().unwrap_or(""),
            step.args.join(" ")
        );
        let exit = if failed { 1 } else { 0 };
        let files = [
            (
                "controller",
                format!(
                    "INFO Step created with id {}\nINFO Executing {}\nINFO Step ended with state {} and exit code {exit}\n",
                    step.id,
                    command.trim(),
                    step.state
                ),
            ),
            (
                "stderr",
                if failed {
                    format!("Exception in thread \"main\" {reason}: {message}\n\tat the step's main class\n")
                } else {
                    String::new()
                },
            ),
            ("stdout", format!("{} started\n{} ended\n", step.name, step.name)),
            ("syslog", format!("INFO step {} running on the master node\n", step.id)),
        ];
        for (name, text) in files {
            out.push(StepLog {
                bucket: bucket.clone(),
                key: format!("{prefix}{}/steps/{}/{name}.gz", cluster.id, step.id),
                text,
                available_at: ended + UPLOAD_DELAY_SECONDS,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_uris_split_into_bucket_and_prefix() {
        assert_eq!(
            split_s3("s3://logs/emr/"),
            Some(("logs".into(), "emr/".into()))
        );
        assert_eq!(split_s3("s3://logs"), Some(("logs".into(), String::new())));
        assert_eq!(split_s3("hdfs:///x"), None);
    }
}
