//! `--log-failed-steps` and `logs EXECUTION`: the last lines of each failed step's logs, read from where EMR uploads
//! them (`<logUri>/<cluster id>/steps/<step id>/<file>.gz`). EMR uploads them minutes after a step ends, so the wait
//! for them is bounded, and their absence is said, not hidden.

use std::io::Read;
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use serde_json::Value;

/// The files EMR writes for a step, in the order they are printed.
pub const FILES: [&str; 4] = ["stderr", "stdout", "controller", "syslog"];

/// A failed step's logs: where they are, and the step.
#[derive(Debug, Clone, PartialEq)]
pub struct StepLogs {
    pub step_name: String,
    pub bucket: String,
    /// `<prefix><cluster id>/steps/<step id>/`
    pub prefix: String,
}

/// The failed steps' log locations named by a run's failure cause (`logUri`, `clusterId`, `failedSteps[].id`).
pub fn from_cause(cause: &Value) -> Vec<StepLogs> {
    let (Some(uri), Some(cluster)) = (cause["logUri"].as_str(), cause["clusterId"].as_str()) else {
        return Vec::new();
    };
    let Some(rest) = uri
        .strip_prefix("s3://")
        .or_else(|| uri.strip_prefix("s3n://"))
    else {
        return Vec::new();
    };
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let prefix = match prefix.trim_end_matches('/') {
        "" => String::new(),
        p => format!("{p}/"),
    };
    cause["failedSteps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["state"].as_str() == Some("FAILED"))
        .filter_map(|s| {
            Some(StepLogs {
                step_name: s["name"].as_str()?.to_string(),
                bucket: bucket.to_string(),
                prefix: format!("{prefix}{cluster}/steps/{}/", s["id"].as_str()?),
            })
        })
        .collect()
}

/// The job run that ended a run on EMR Serverless, from its failure's Cause as the definition writes it
/// (`applicationId`, `error`, `message` and, when a step ended the run, the step's `name`, `jobRunId` and, once a
/// check read the job run, its `state`, `stateDetails`, `logUri`): an empty list when no job run ended the run (the
/// launch, a start or the cleanup failed); `None` when the cause is not a serverless run's.
pub fn failed_job_runs(cause: &Value) -> Option<Vec<&Value>> {
    cause["applicationId"].as_str()?;
    Some(
        cause["jobRunId"]
            .is_string()
            .then_some(cause)
            .into_iter()
            .collect(),
    )
}

/// `--log-failed-steps` on EMR Serverless: where each failed job run's logs are (the driver's under
/// `SPARK_DRIVER/`, or `HIVE_DRIVER/` for Hive); the CLI does not read them. `None` when the cause is not a
/// serverless run's.
pub fn serverless_log_locations(cause: &Value) -> Option<String> {
    let runs = failed_job_runs(cause)?;
    if runs.is_empty() {
        return Some("no failed job run with logs to show".into());
    }
    let lines: Vec<String> = runs
        .iter()
        .map(|r| {
            let name = r["name"].as_str().unwrap_or("?");
            let id = r["jobRunId"].as_str().unwrap_or("?");
            match r["logUri"].as_str() {
                Some(uri) => format!(
                    "logs of job run \"{name}\" ({id}): {uri} (the driver's: SPARK_DRIVER/stderr.gz and \
                     stdout.gz under it; HIVE_DRIVER/ for Hive)"
                ),
                // No check read the job run (its check failed), or the config has no logUri.
                None if r["state"].is_string() => format!(
                    "job run \"{name}\" ({id}) has no logs in S3: the ServerlessConfig has no logUri"
                ),
                None => format!(
                    "job run \"{name}\" ({id}): where its logs are is not known (no check read it); \
                     EMR Serverless puts them under <logUri>/applications/<application>/jobs/{id}/"
                ),
            }
        })
        .collect();
    Some(lines.join("\n"))
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

async fn read_gz(s3: &Client, bucket: &str, key: &str) -> Result<Option<String>, String> {
    let got = match s3.get_object().bucket(bucket).key(key).send().await {
        Ok(o) => o,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
        Err(e) => {
            return Err(format!(
                "s3://{bucket}/{key}: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            ))
        }
    };
    let bytes = got
        .body
        .collect()
        .await
        .map_err(|e| format!("s3://{bucket}/{key}: {e}"))?
        .into_bytes();
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(&bytes[..])
        .read_to_string(&mut text)
        .map_err(|e| format!("s3://{bucket}/{key}: not gzip text: {e}"))?;
    Ok(Some(text))
}

/// Prints the tails of each failed step's logs, waiting up to `wait` for EMR to upload them.
pub async fn print_failed_step_logs(
    s3: &Client,
    cause: &Value,
    lines: usize,
    wait: Duration,
    every: Duration,
) {
    let steps = from_cause(cause);
    if steps.is_empty() {
        eprintln!(
            "no failed step with logs to show (the cluster has no logUri, or no step failed)"
        );
        return;
    }
    for step in steps {
        let location = format!("s3://{}/{}", step.bucket, step.prefix);
        let deadline = Instant::now() + wait;
        let mut shown = false;
        loop {
            let mut found = Vec::new();
            for file in FILES {
                match read_gz(s3, &step.bucket, &format!("{}{file}.gz", step.prefix)).await {
                    Ok(Some(text)) => found.push((file, text)),
                    Ok(None) => {}
                    Err(e) => eprintln!("warning: {e}"),
                }
            }
            // stderr is the file EMR names in a failure; the others may come a moment apart.
            let complete = found.iter().any(|(f, _)| *f == "stderr");
            if complete || (Instant::now() >= deadline && !found.is_empty()) {
                eprintln!("logs of step \"{}\" ({location}):", step.step_name);
                for (file, text) in found {
                    eprintln!("  {file}.gz, last {lines} lines:");
                    for l in tail(&text, lines).lines() {
                        eprintln!("    {l}");
                    }
                }
                shown = true;
                break;
            }
            if Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(every).await;
        }
        if !shown {
            eprintln!(
                "logs of step \"{}\" are not in {location} yet (EMR uploads them about five minutes after a step ends); \
                 read them later with `dataflow-runner logs <execution>`",
                step.step_name
            );
        }
    }
}

/// How long to wait for the logs: `DATAFLOW_RUNNER_LOG_WAIT_SECONDS` (default 420: EMR's upload delay and a margin).
pub fn wait_for_logs() -> Duration {
    std::env::var("DATAFLOW_RUNNER_LOG_WAIT_SECONDS")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .map(Duration::from_secs_f64)
        .unwrap_or(Duration::from_secs(420))
}

pub async fn s3_client() -> Client {
    let config = crate::aws::sdk_config().await;
    // Path-style addressing works for every bucket name and for local endpoints.
    let conf = aws_sdk_s3::config::Builder::from(&config)
        .force_path_style(true)
        .build();
    Client::from_conf(conf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_failed_steps_logs_are_where_emr_puts_them() {
        let cause = serde_json::json!({"clusterId": "j-1", "logUri": "s3://acme/emr-logs/", "failedSteps": [
            {"name": "Load", "id": "s-1", "state": "FAILED"}, {"name": "After", "id": "s-2", "state": "CANCELLED"}]});
        assert_eq!(
            from_cause(&cause),
            vec![StepLogs {
                step_name: "Load".into(),
                bucket: "acme".into(),
                prefix: "emr-logs/j-1/steps/s-1/".into()
            }]
        );
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
    }

    #[test]
    fn a_failed_job_runs_logs_are_named_where_emr_serverless_puts_them() {
        let uri = "s3://acme/sls-logs/applications/00f1/jobs/00j2/";
        // The Cause as the definition writes it ("Describe the failed step").
        let cause = serde_json::json!({"applicationId": "00f1", "error": "StepFailed", "message": "job run 00j2 (Load) ended FAILED",
            "name": "Load", "jobRunId": "00j2", "state": "FAILED", "stateDetails": "exit 1", "logUri": uri});
        assert_eq!(
            serverless_log_locations(&cause).unwrap(),
            format!(
                "logs of job run \"Load\" (00j2): {uri} (the driver's: SPARK_DRIVER/stderr.gz and stdout.gz under \
                 it; HIVE_DRIVER/ for Hive)"
            )
        );
        let alone = serde_json::json!({"applicationId": "00f1", "name": "Load", "jobRunId": "00j2", "state": "FAILED",
            "stateDetails": null, "logUri": null});
        assert_eq!(
            serverless_log_locations(&alone).unwrap(),
            "job run \"Load\" (00j2) has no logs in S3: the ServerlessConfig has no logUri"
        );
        // A check that kept failing: the job run was never read.
        let unread = serde_json::json!({"applicationId": "00f1", "error": "Lambda.Unknown", "message": "…", "name": "Load", "jobRunId": "00j2"});
        assert_eq!(
            serverless_log_locations(&unread).unwrap(),
            "job run \"Load\" (00j2): where its logs are is not known (no check read it); EMR Serverless puts them \
             under <logUri>/applications/<application>/jobs/00j2/"
        );
        let launch_failed =
            serde_json::json!({"applicationId": null, "error": "EmrRejected", "message": "…"});
        assert_eq!(serverless_log_locations(&launch_failed), None);
        let start_failed = serde_json::json!({"applicationId": "00f1", "error": "EmrRejected", "message": "…", "name": "Load", "jobRunId": null});
        assert_eq!(
            serverless_log_locations(&start_failed).unwrap(),
            "no failed job run with logs to show"
        );
        let emr = serde_json::json!({"clusterId": "j-1", "logUri": "s3://acme/emr-logs/"});
        assert_eq!(serverless_log_locations(&emr), None);
    }
}
