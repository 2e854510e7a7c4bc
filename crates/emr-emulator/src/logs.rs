//! The step logs EMR uploads under a cluster's `LogUri`: `<LogUri>/<cluster id>/steps/<step id>/{controller,
//! stderr, stdout, syslog}`, gzipped by EMR. The emulator does not talk to S3; it says what EMR would have uploaded
//! (`GET /_emulator/step-logs`), and a test harness puts it in its local S3.

use serde::Serialize;

use crate::model::{Cluster, StepState};
use crate::serverless::{JobRun, JobState, Serverless};

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

/// The driver's `stderr` and `stdout` of every EMR Serverless job run that ran and ended by `now`, under its
/// `configurationOverrides.monitoringConfiguration.s3MonitoringConfiguration.logUri` (or its application's):
/// `<logUri>/applications/<application id>/jobs/<job run id>/SPARK_DRIVER/{stderr,stdout}.gz`. EMR Serverless
/// uploads them while the job runs, so they are there when it ends.
pub fn job_run_logs(serverless: &Serverless, now: f64) -> Vec<StepLog> {
    const LOG_URI: &str = "/monitoringConfiguration/s3MonitoringConfiguration/logUri";
    let mut out = Vec::new();
    for job in &serverless.jobs {
        let Some(ended) = job
            .ended_at
            .filter(|t| *t <= now && job.started_at.is_some())
        else {
            continue;
        };
        let app = &serverless.apps[job.app];
        let uri = job
            .request
            .pointer(&format!("/configurationOverrides{LOG_URI}"))
            .or_else(|| app.request.pointer(LOG_URI))
            .and_then(serde_json::Value::as_str);
        let Some((bucket, prefix)) = uri.and_then(split_s3) else {
            continue;
        };
        for (name, text) in driver_logs(job) {
            out.push(StepLog {
                bucket: bucket.clone(),
                key: format!(
                    "{prefix}applications/{}/jobs/{}/SPARK_DRIVER/{name}.gz",
                    app.id, job.id
                ),
                text,
                available_at: ended,
            });
        }
    }
    out
}

fn driver_logs(job: &JobRun) -> [(&'static str, String); 2] {
    let stderr = if job.state == JobState::Failed {
        format!(
            "Exception in thread \"main\" {}\n\tat the job's main class\n",
            job.state_details
        )
    } else {
        String::new()
    };
    let name = job.name.as_deref().unwrap_or(&job.id);
    [
        ("stderr", stderr),
        (
            "stdout",
            format!("{name} started\n{name} ended with {}\n", job.state.as_str()),
        ),
    ]
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
