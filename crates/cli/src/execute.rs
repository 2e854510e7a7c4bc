//! `up`, `run`, `down` and `run-transient` on the deployed stack: render and validate here, start the execution
//! with the rendered configs, follow it, and end with the original's exit codes. Also `status`, `stop`, `list`.

use std::io::IsTerminal;

use aws_sdk_sfn::Client;
use dfr_core::error_names::ErrorName;
use serde_json::{json, Value};

use crate::follow::{self, Outcome, Progress};
use crate::logs;
use crate::stack::{execution_name, Machine, RunsOn, Target};
use crate::view::{self, Live, Plain, View};

/// The original's exit codes, and 2 for usage errors (the original exited 0 on those).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success = 0,
    Failed = 1,
    Usage = 2,
    LockHeld = 17,
}

impl Exit {
    /// How an execution's end maps to an exit code: a run that found its lock held is a clean no-op (17, as the
    /// original), any other failure 1.
    pub fn of(outcome: &Outcome) -> Self {
        match outcome {
            Outcome::Succeeded(_) => Exit::Success,
            Outcome::Failed { error, .. } if error == ErrorName::LockHeld.as_str() => {
                Exit::LockHeld
            }
            _ => Exit::Failed,
        }
    }
}

/// How the end is printed: for people (text) or as one JSON object for scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Text,
    Json,
}

/// What following an execution is asked to do.
#[derive(Debug, Clone)]
pub struct FollowOptions {
    pub output: Output,
    /// Ctrl-C stops the execution instead of leaving it running.
    pub stop_on_interrupt: bool,
    /// After a failure, print this many last lines of each failed step's logs.
    pub log_failed_steps: Option<usize>,
}

/// The AWS clients, from the usual chain (environment, profile); `AWS_ENDPOINT_URL_SFN` points them elsewhere.
pub async fn sfn_client() -> Client {
    let config = crate::aws::sdk_config().await;
    Client::new(&config)
}

/// Starts `machine` with `input` under `name` and follows it to its end.
pub async fn start_and_follow(
    sfn: &Client,
    target: &Target,
    machine: Machine,
    name: &str,
    input: Value,
    options: &FollowOptions,
) -> Exit {
    let machine_arn = match target.machine_arn(sfn, machine).await {
        Ok(arn) => arn,
        Err(e) => return fail(&e),
    };
    let started = sfn
        .start_execution()
        .state_machine_arn(&machine_arn)
        .name(name)
        .input(input.to_string())
        .send()
        .await;
    let arn = match started {
        Ok(s) => s.execution_arn().to_string(),
        Err(e) => return fail(&crate::stack::aws_error("StartExecution", &e)),
    };
    match machine.runs_on() {
        RunsOn::Emr => eprintln!("started {} ({arn})", machine.command()),
        RunsOn::Serverless => eprintln!("started {} on EMR Serverless ({arn})", machine.command()),
    }
    follow_to_end(sfn, machine.command(), &arn, options).await
}

fn fail(message: &str) -> Exit {
    eprintln!("error: {message}");
    Exit::Failed
}

/// Follows an execution until it ends (or Ctrl-C), printing as it goes; the exit code says how it ended.
pub async fn follow_to_end(
    sfn: &Client,
    command: &str,
    arn: &str,
    options: &FollowOptions,
) -> Exit {
    let stderr = std::io::stderr();
    let mut view: Box<dyn View> = if stderr.is_terminal() && options.output == Output::Text {
        Box::new(Live::new(
            stderr,
            arn.rsplit(':').next().unwrap_or(arn).to_string(),
        ))
    } else {
        Box::new(Plain { out: stderr })
    };
    let mut progress = Progress::default();
    let mut last_id = 0;
    let interval = follow::poll_interval();
    // One listener for the whole follow, listening from here on: a Ctrl-C that comes while a request is under way
    // is kept until the next pause sees it (a listener made at each pause would miss it).
    let ctrl_c = interrupts();
    tokio::pin!(ctrl_c);
    let outcome = loop {
        match follow::new_events(sfn, arn, last_id).await {
            Ok(events) => {
                for e in &events {
                    last_id = last_id.max(e.id());
                    let changes = progress.apply(e);
                    if !changes.is_empty() {
                        view.changed(&progress, &changes);
                    }
                }
            }
            Err(e) => eprintln!("warning: {e} (trying again)"),
        }
        match follow::ended(sfn, arn).await {
            Ok(Some(outcome)) => {
                // The last events may have come after this look's history.
                if let Ok(events) = follow::new_events(sfn, arn, last_id).await {
                    for e in &events {
                        let changes = progress.apply(e);
                        if !changes.is_empty() {
                            view.changed(&progress, &changes);
                        }
                    }
                }
                break outcome;
            }
            Ok(None) => {}
            Err(e) => eprintln!("warning: {e} (trying again)"),
        }
        view.tick(&progress);
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = &mut ctrl_c => return interrupted(sfn, arn, options).await,
        }
    };
    progress.take_outcome(&outcome);
    view.finish(&progress);
    let exit = report(command, arn, &outcome, options.output);
    if let (Some(lines), Outcome::Failed { cause, .. }) = (options.log_failed_steps, &outcome) {
        show_failed_step_logs(cause, lines).await;
    }
    exit
}

/// The tails of the failed steps' logs a failure's cause names.
/// Resolves at the next Ctrl-C. The process listens from this call on: tokio's `ctrl_c()` starts listening only when
/// first awaited, and a Ctrl-C before that (during the first look at the run, on a slow connection or machine) would
/// kill the CLI instead of detaching it.
fn interrupts() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let mut listener =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
    async move {
        #[cfg(unix)]
        match listener.as_mut() {
            Some(l) => {
                l.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn show_failed_step_logs(cause: &str, lines: usize) {
    let cause: Value = serde_json::from_str(cause).unwrap_or(Value::Null);
    // EMR Serverless: where the failed job runs' logs are (they are read there, not here).
    if let Some(text) = logs::serverless_log_locations(&cause) {
        eprintln!("{text}");
        return;
    }
    let s3 = logs::s3_client().await;
    let (wait, every) = (logs::wait_for_logs(), follow::poll_interval());
    logs::print_failed_step_logs(&s3, &cause, lines, wait, every).await;
}

/// `logs EXECUTION`: the failed steps' logs of an execution that failed.
pub async fn logs(sfn: &Client, target: &Target, execution: &str, lines: usize) -> Exit {
    let arn = match target.execution_arn(sfn, execution).await {
        Ok(a) => a,
        Err(e) => return fail(&e),
    };
    match follow::ended(sfn, &arn).await {
        Ok(Some(Outcome::Failed { cause, .. })) => {
            show_failed_step_logs(&cause, lines).await;
            Exit::Success
        }
        Ok(Some(o)) => {
            eprintln!("{execution} ended {}: no failed step to show", o.status());
            Exit::Success
        }
        Ok(None) => {
            eprintln!("{execution} is still running: its failed steps' logs come after it ends");
            Exit::Failed
        }
        Err(e) => fail(&e),
    }
}

/// Ctrl-C: leave the run going (say how to come back), or stop it if asked.
async fn interrupted(sfn: &Client, arn: &str, options: &FollowOptions) -> Exit {
    if options.stop_on_interrupt {
        eprintln!("\nstopping {arn}: the stack's cleanup terminates the clusters it launched");
        match sfn.stop_execution().execution_arn(arn).send().await {
            Ok(_) => return Exit::Failed,
            Err(e) => return fail(&crate::stack::aws_error("StopExecution", &e)),
        }
    }
    eprintln!(
        "\ndetached: the run goes on without this terminal (its cluster too).\n  follow it: dataflow-runner status {arn}\n  stop it:   dataflow-runner stop {arn}"
    );
    Exit::Failed
}

/// Prints the end and chooses the exit code.
fn report(command: &str, arn: &str, outcome: &Outcome, output: Output) -> Exit {
    match output {
        Output::Json => {
            let mut v = json!({"executionArn": arn, "status": outcome.status()});
            match outcome {
                Outcome::Succeeded(out) => v["output"] = out.clone(),
                Outcome::Failed { error, cause } => {
                    v["error"] = json!(error);
                    v["cause"] = serde_json::from_str(cause).unwrap_or(json!(cause));
                }
                _ => {}
            }
            println!("{v}");
        }
        Output::Text => {
            let text = view::outcome_text(command, outcome);
            match outcome {
                // The original printed its success line for scripts to read: on stdout.
                Outcome::Succeeded(_) => println!("{text}"),
                _ => eprintln!("{text}"),
            }
        }
    }
    Exit::of(outcome)
}

/// The execution name: `--name`, or `<command>-<what>-<UTC time>`.
pub fn name_for(given: Option<&str>, command: &str, what: &str) -> String {
    match given {
        Some(n) => n.to_string(),
        None => execution_name(command, what, chrono::Utc::now()),
    }
}

/// `status EXECUTION`: where it is now, or how it ended.
pub async fn status(
    sfn: &Client,
    target: &Target,
    execution: &str,
    options: &FollowOptions,
) -> Exit {
    let arn = match target.execution_arn(sfn, execution).await {
        Ok(a) => a,
        Err(e) => return fail(&e),
    };
    let command = command_of(&arn, &target.stack);
    follow_to_end(sfn, &command, &arn, options).await
}

/// `stop EXECUTION`.
pub async fn stop(sfn: &Client, target: &Target, execution: &str) -> Exit {
    let arn = match target.execution_arn(sfn, execution).await {
        Ok(a) => a,
        Err(e) => return fail(&e),
    };
    match sfn.stop_execution().execution_arn(&arn).send().await {
        Ok(_) => {
            eprintln!("stopped {arn}; the stack's cleanup terminates the clusters it launched");
            Exit::Success
        }
        Err(e) => fail(&crate::stack::aws_error("StopExecution", &e)),
    }
}

/// `list`: the recent executions of the stack's state machines, newest first.
pub async fn list(sfn: &Client, target: &Target, output: Output) -> Exit {
    let mut rows = Vec::new();
    let machines = match target.deployed_machines(sfn).await {
        Ok(m) => m,
        Err(e) => return fail(&e),
    };
    for (machine, arn) in machines {
        let page = match sfn
            .list_executions()
            .state_machine_arn(&arn)
            .max_results(20)
            .send()
            .await
        {
            Ok(p) => p,
            Err(e) => return fail(&crate::stack::aws_error("ListExecutions", &e)),
        };
        for e in page.executions() {
            let cluster = cluster_of(sfn, e.execution_arn()).await;
            rows.push(json!({
                "command": machine.command(),
                "name": e.name(),
                "status": e.status().as_str(),
                "startDate": e.start_date().secs(),
                "stopDate": e.stop_date().map(|d| d.secs()),
                "clusterId": cluster,
            }));
        }
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r["startDate"].as_i64()));
    match output {
        Output::Json => println!("{}", Value::Array(rows)),
        Output::Text => {
            for r in &rows {
                let start = r["startDate"].as_i64().unwrap_or(0);
                let started = chrono::DateTime::from_timestamp(start, 0)
                    .map(view::moment)
                    .unwrap_or_default();
                let took = r["stopDate"]
                    .as_i64()
                    .map(|e| format!("{}s", e - start))
                    .unwrap_or_else(|| "running".into());
                println!(
                    "{:<14} {:<10} {started}  {took:>10}  {:<16} {}",
                    r["command"].as_str().unwrap_or(""),
                    r["status"].as_str().unwrap_or(""),
                    r["clusterId"].as_str().unwrap_or("-"),
                    r["name"].as_str().unwrap_or("")
                );
            }
        }
    }
    Exit::Success
}

/// The cluster (or EMR Serverless application) an execution worked on: from its input (`run`, `down`), output or
/// failure cause, else (a run still launching or running) from the last function answer that names one.
async fn cluster_of(sfn: &Client, arn: &str) -> Option<String> {
    let d = sfn
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .ok()?;
    let named = |text: &str| {
        serde_json::from_str::<Value>(text).ok().and_then(|v| {
            v["clusterId"]
                .as_str()
                .or(v["applicationId"].as_str())
                .map(str::to_string)
        })
    };
    if let Some(id) = [d.input(), d.output(), d.cause()]
        .into_iter()
        .flatten()
        .find_map(named)
    {
        return Some(id);
    }
    let events = follow::new_events(sfn, arn, 0).await.ok()?;
    events.iter().rev().find_map(|e| {
        e.lambda_function_succeeded_event_details()
            .and_then(|d| d.output())
            .and_then(named)
    })
}

/// The command whose state machine ran an execution, from its ARN (`…:execution:<stack>-<suffix>:<name>`).
fn command_of(arn: &str, stack: &str) -> String {
    let machine = arn.split(':').nth(6).unwrap_or_default();
    match Machine::named(machine, stack) {
        Some(m) => m.command().to_string(),
        None => machine
            .strip_prefix(&format!("{stack}-"))
            .unwrap_or(machine)
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_execution_of_the_serverless_machine_is_a_run_transient() {
        let arn =
            "arn:aws:states:eu-west-1:123456789012:execution:dfr-serverless-run-transient:nightly";
        assert_eq!(command_of(arn, "dfr"), "run-transient");
        let arn = "arn:aws:states:eu-west-1:123456789012:execution:dfr-up:nightly";
        assert_eq!(command_of(arn, "dfr"), "up");
    }

    #[test]
    fn every_failure_exits_1_but_a_held_lock_which_exits_17_as_documented() {
        for &name in ErrorName::ALL {
            let failed = Outcome::Failed {
                error: name.as_str().into(),
                cause: "{}".into(),
            };
            let expected = if name == ErrorName::LockHeld {
                Exit::LockHeld
            } else {
                Exit::Failed
            };
            assert_eq!(Exit::of(&failed), expected, "{name}");
        }
        assert_eq!(Exit::of(&Outcome::Succeeded(Value::Null)), Exit::Success);
        assert_eq!(Exit::of(&Outcome::TimedOut), Exit::Failed);
        let code = Exit::LockHeld as u8;
        let readme = include_str!("../../../README.md");
        assert!(
            readme.contains(&format!("**{code} the lock is held**")),
            "README.md: exit codes"
        );
        let machines = include_str!("../../../statemachine/README.md");
        let row = machines
            .lines()
            .find(|l| l.starts_with(&format!("| `{}` |", ErrorName::LockHeld)))
            .expect("statemachine/README.md has a LockHeld row");
        assert!(row.contains(&format!("the CLI exits {code}")), "{row}");
    }
}
