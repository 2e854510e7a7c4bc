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
}
