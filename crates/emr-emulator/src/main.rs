//! `emr-emulator`: serve the emulated EMR API until interrupted.

use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use emr_emulator::iam::{Iam, StackContext};
use emr_emulator::{Durations, Emulator, Faults, Scenario};

#[derive(Debug, Parser)]
#[command(
    name = "emr-emulator",
    version,
    about = "A local model of Amazon EMR's API with a simulated cluster lifecycle, and of EMR Serverless's"
)]
struct Args {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 4599)]
    port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Virtual seconds per real second (3600: an hour per second).
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Scenario file (JSON), see the README.
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// Faults file (JSON), same body as POST /_emulator/faults.
    #[arg(long)]
    faults: Option<PathBuf>,
    /// Default STARTING duration, virtual seconds.
    #[arg(long)]
    starting_seconds: Option<f64>,
    /// Default BOOTSTRAPPING duration, virtual seconds.
    #[arg(long)]
    bootstrap_seconds: Option<f64>,
    /// Default TERMINATING duration, virtual seconds.
    #[arg(long)]
    terminating_seconds: Option<f64>,
    /// Default step duration, virtual seconds.
    #[arg(long)]
    step_seconds: Option<f64>,
    /// Delay from CancelSteps to CANCELLED, virtual seconds.
    #[arg(long)]
    cancel_seconds: Option<f64>,
    /// Log every EMR call to stderr.
    #[arg(long)]
    verbose: bool,
    /// CloudFormation/SAM template whose roles' policies every EMR call is authorized against
    /// (needs --principal).
    #[arg(long, value_name = "PATH")]
    iam_template: Option<PathBuf>,
    /// Stack name the template is resolved for (${AWS::StackName}, generated names).
    #[arg(long, default_value = "dataflow-runner")]
    stack_name: String,
    /// Region the template is resolved for (${AWS::Region}).
    #[arg(long, default_value = "eu-west-1")]
    stack_region: String,
    /// Template parameter override (repeatable).
    #[arg(long, value_name = "KEY=VALUE")]
    template_parameter: Vec<String>,
    /// Calls signed with ACCESS_KEY_ID act as this role or function of the template (repeatable).
    #[arg(long, value_name = "ACCESS_KEY_ID=LOGICAL_ID")]
    principal: Vec<String>,
}

fn pair<'a>(flag: &str, text: &'a str) -> Result<(&'a str, &'a str), String> {
    text.split_once('=')
        .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        .ok_or_else(|| format!("--{flag} expects KEY=VALUE, got '{text}'"))
}

/// IAM from the flags: `None` (no enforcement) without --iam-template.
fn iam_of(args: &Args) -> Result<Option<Iam>, String> {
    let Some(path) = &args.iam_template else {
        if !args.principal.is_empty() || !args.template_parameter.is_empty() {
            return Err("--principal and --template-parameter need --iam-template".to_string());
        }
        return Ok(None);
    };
    if args.principal.is_empty() {
        return Err("--iam-template needs at least one --principal".to_string());
    }
    let template = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut ctx = StackContext {
        stack_name: args.stack_name.clone(),
        region: args.stack_region.clone(),
        ..StackContext::default()
    };
    for p in &args.template_parameter {
        let (k, v) = pair("template-parameter", p)?;
        ctx.parameters.insert(k.to_string(), v.to_string());
    }
    let mut iam = Iam::new();
    for p in &args.principal {
        let (key, logical_id) = pair("principal", p)?;
        iam = iam
            .principal_from_template(key, &template, &ctx, logical_id)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(Some(iam))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &PathBuf) -> Result<T, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

async fn run(args: Args) -> Result<(), String> {
    let scenario: Scenario = match &args.scenario {
        Some(p) => read_json(p)?,
        None => Scenario::default(),
    };
    let faults: Faults = match &args.faults {
        Some(p) => read_json(p)?,
        None => Faults::default(),
    };
    let iam = iam_of(&args)?;
    let d = Durations::default();
    let durations = Durations {
        starting_seconds: args.starting_seconds.unwrap_or(d.starting_seconds),
        bootstrap_seconds: args.bootstrap_seconds.unwrap_or(d.bootstrap_seconds),
        terminating_seconds: args.terminating_seconds.unwrap_or(d.terminating_seconds),
        step_seconds: args.step_seconds.unwrap_or(d.step_seconds),
        cancel_seconds: args.cancel_seconds.unwrap_or(d.cancel_seconds),
    };
    let mut builder = Emulator::builder();
    if let Some(iam) = iam {
        builder = builder.iam(iam);
    }
    let handle = builder
        .host(args.host)
        .port(args.port)
        .time_scale(args.time_scale)
        .durations(durations)
        .scenario(scenario)
        .faults(faults)
        .log_requests(args.verbose)
        .start()
        .await
        .map_err(|e| format!("cannot start on {}:{}: {e}", args.host, args.port))?;
    let mut out = std::io::stdout();
    let _ = writeln!(out, "emr-emulator listening on {}", handle.endpoint_url());
    let _ = out.flush();
    eprintln!(
        "emr-emulator: time scale {}, admin API at {}/_emulator/state",
        args.time_scale,
        handle.endpoint_url()
    );
    wait_for_shutdown().await;
    eprintln!("emr-emulator: shutting down");
    Ok(())
}

async fn wait_for_shutdown() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("emr-emulator: {e}");
            ExitCode::FAILURE
        }
    }
}
