//! Start the run-transient state machine on configs in S3: what a cron job running
//! `dataflow-runner run-transient` becomes when something other than EventBridge Scheduler
//! decides when to run. See infra/README.md.
//!
//! ```text
//! start-execution --state-machine-arn ARN --cluster s3://bucket/cluster.json \
//!     --playbook s3://bucket/playbook.json --name nightly-2026-11-25 [--var KEY=VALUE]...
//! ```
//!
//! The execution name is the deduplication key: Step Functions keeps one execution per name and
//! state machine for 90 days, so starting the same schedule tick twice starts one run.

use std::process::ExitCode;

use aws_sdk_sfn::error::DisplayErrorContext;
use serde_json::{json, Map, Value};

const USAGE: &str = "usage: start-execution --state-machine-arn ARN --cluster s3://BUCKET/KEY \
--playbook s3://BUCKET/KEY --name NAME [--var KEY=VALUE]...";

/// One StartExecution call, as the command line asked for it.
#[derive(Debug, PartialEq)]
struct StartRequest {
    state_machine_arn: String,
    name: String,
    input: Value,
}

#[tokio::main]
async fn main() -> ExitCode {
    let request = match parse_args(std::env::args().skip(1)) {
        Ok(request) => request,
        Err(problem) => {
            eprintln!("{problem}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    // Region and credentials come from the usual chain (environment, profile, instance role).
    let config = aws_config::load_from_env().await;
    let client = aws_sdk_sfn::Client::new(&config);
    match start_execution(&client, &request).await {
        Ok(execution_arn) => {
            println!("{execution_arn}");
            ExitCode::SUCCESS
        }
        Err(problem) => {
            eprintln!("error: {problem}");
            ExitCode::FAILURE
        }
    }
}

/// Starts the execution, or finds the one this name already started. Returns its ARN.
async fn start_execution(
    client: &aws_sdk_sfn::Client,
    request: &StartRequest,
) -> Result<String, String> {
    let started = client
        .start_execution()
        .state_machine_arn(&request.state_machine_arn)
        .name(&request.name)
        .input(request.input.to_string())
        .send()
        .await;
    let error = match started {
        // Also the answer when an execution of this name and input is still running.
        Ok(output) => return Ok(output.execution_arn().to_owned()),
        Err(error) => error,
    };
    if !error
        .as_service_error()
        .is_some_and(|e| e.is_execution_already_exists())
    {
        return Err(DisplayErrorContext(error).to_string());
    }
    // The name was used by an execution that has ended, or with another input.
    let execution_arn = execution_arn(&request.state_machine_arn, &request.name)?;
    let existing = client
        .describe_execution()
        .execution_arn(&execution_arn)
        .send()
        .await
        .map_err(|e| format!("describing {execution_arn}: {}", DisplayErrorContext(e)))?;
    let existing_input: Option<Value> = existing.input().and_then(|s| serde_json::from_str(s).ok());
    if existing_input.as_ref() != Some(&request.input) {
        return Err(format!(
            "an execution named {} already exists with a different input: {execution_arn}",
            request.name
        ));
    }
    eprintln!(
        "{} already ran with this input (status {}); not starting it again. \
         Use another name, or redrive it, to run it again.",
        request.name,
        existing.status().as_str()
    );
    Ok(execution_arn)
}

/// `arn:…:stateMachine:NAME` → `arn:…:execution:NAME:EXECUTION`.
fn execution_arn(state_machine_arn: &str, name: &str) -> Result<String, String> {
    match state_machine_arn.split_once(":stateMachine:") {
        Some((prefix, state_machine)) => Ok(format!("{prefix}:execution:{state_machine}:{name}")),
        None => Err(format!(
            "--state-machine-arn {state_machine_arn} is not a state machine ARN"
        )),
    }
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<StartRequest, String> {
    let mut state_machine_arn = None;
    let mut cluster = None;
    let mut playbook = None;
    let mut name = None;
    let mut vars = Map::new();
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--state-machine-arn" => state_machine_arn = Some(value()?),
            "--cluster" => cluster = Some(s3_uri(&flag, value()?)?),
            "--playbook" => playbook = Some(s3_uri(&flag, value()?)?),
            "--name" => name = Some(value()?),
            "--var" => {
                let pair = value()?;
                match pair.split_once('=') {
                    // As with dataflow-runner's --vars, the last value given for a key wins.
                    Some((key, val)) if !key.is_empty() => {
                        vars.insert(key.to_owned(), Value::String(val.to_owned()));
                    }
                    _ => return Err(format!("--var {pair}: expected KEY=VALUE")),
                }
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let required =
        |value: Option<String>, flag: &str| value.ok_or_else(|| format!("{flag} is required"));
    let state_machine_arn = required(state_machine_arn, "--state-machine-arn")?;
    execution_arn(&state_machine_arn, "check")?;
    Ok(StartRequest {
        state_machine_arn,
        name: required(name, "--name")?,
        input: json!({
            "cluster": required(cluster, "--cluster")?,
            "playbook": required(playbook, "--playbook")?,
            "vars": vars,
        }),
    })
}

fn s3_uri(flag: &str, uri: String) -> Result<String, String> {
    if uri.starts_with("s3://") && uri.len() > "s3://".len() {
        Ok(uri)
    } else {
        Err(format!("{flag} {uri}: expected an s3://bucket/key URI"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:states:eu-west-1:123456789012:stateMachine:dfr-run-transient";

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn when_all_flags_are_given_should_build_the_run_transient_input() {
        let request = parse_args(args(&[
            "--state-machine-arn",
            ARN,
            "--cluster",
            "s3://acme/cluster.json",
            "--playbook",
            "s3://acme/playbook.json",
            "--name",
            "nightly-2026-11-25",
            "--var",
            "bucket=acme",
            "--var",
            "query=a=b",
        ]))
        .unwrap();
        assert_eq!(request.name, "nightly-2026-11-25");
        assert_eq!(
            request.input.to_string(),
            r#"{"cluster":"s3://acme/cluster.json","playbook":"s3://acme/playbook.json","vars":{"bucket":"acme","query":"a=b"}}"#
        );
    }

    #[test]
    fn when_a_var_is_repeated_should_keep_the_last_value() {
        let request = parse_args(args(&[
            "--state-machine-arn",
            ARN,
            "--cluster",
            "s3://a/c",
            "--playbook",
            "s3://a/p",
            "--name",
            "n",
            "--var",
            "k=1",
            "--var",
            "k=2",
        ]))
        .unwrap();
        assert_eq!(request.input["vars"], json!({"k": "2"}));
    }

    #[test]
    fn when_the_name_is_missing_should_refuse() {
        let error = parse_args(args(&[
            "--state-machine-arn",
            ARN,
            "--cluster",
            "s3://a/c",
            "--playbook",
            "s3://a/p",
        ]))
        .unwrap_err();
        assert_eq!(error, "--name is required");
    }

    #[test]
    fn when_a_config_is_not_in_s3_should_refuse() {
        let error = parse_args(args(&["--cluster", "cluster.json"])).unwrap_err();
        assert!(error.contains("expected an s3://bucket/key URI"), "{error}");
    }

    #[test]
    fn when_a_var_has_no_equals_sign_should_refuse() {
        let error = parse_args(args(&["--var", "bucket"])).unwrap_err();
        assert_eq!(error, "--var bucket: expected KEY=VALUE");
    }

    #[test]
    fn when_the_arn_is_not_a_state_machine_should_refuse() {
        let error = parse_args(args(&[
            "--state-machine-arn",
            "arn:aws:lambda:eu-west-1:1:function:x",
            "--cluster",
            "s3://a/c",
            "--playbook",
            "s3://a/p",
            "--name",
            "n",
        ]))
        .unwrap_err();
        assert!(error.contains("is not a state machine ARN"), "{error}");
    }

    #[test]
    fn should_derive_the_execution_arn_from_the_state_machine_arn() {
        assert_eq!(
            execution_arn(ARN, "nightly-2026-11-25").unwrap(),
            "arn:aws:states:eu-west-1:123456789012:execution:dfr-run-transient:nightly-2026-11-25"
        );
    }
}
