//! `dataflow-runner`: validate configs and show the exact EMR requests they make, before anything is spent; run them
//! on the deployed stack (`up`, `run`, `down`, `run-transient`) with the original's flags and exit codes, and look
//! after the runs (`status`, `stop`, `list`); price a cluster before launching it (`plan --estimate`). The one place
//! a template reads the user's environment, files and clock (`process_env`): configs are rendered where the CLI runs,
//! as the original did.

mod aws;
mod cost;
mod estimate;
mod execute;
mod follow;
mod locks;
mod logs;
mod process_env;
mod report;
mod stack;
mod view;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};
use dfr_core::diagnostics::{ConfigErrors, Diagnostic};
use dfr_core::execution::input::{
    DownInput, ExecutionInput, Lock, LockKind, Options, RunInput, RunTransientInput,
    ServerlessDownInput, Shared, UpInput,
};
use dfr_core::ids::is_cluster_id;
use dfr_core::load::{self, Loaded, RunPlace};
use dfr_core::model::{ClusterConfig, PlaybookConfig};
use dfr_core::plan::{self, Lifecycle, Plan};
use dfr_core::serverless::{self, ServerlessConfig};
use execute::{Exit, FollowOptions, Output};
use process_env::ProcessEnv;
use serde_json::Value;
use stack::{Machine, RunsOn, Target};

#[derive(Parser)]
#[command(
    name = "dataflow-runner",
    version,
    about = "Run dataflow-runner playbooks on Amazon EMR, serverless"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// The AWS profile to sign in with (default: $AWS_PROFILE, else default): static keys, IAM Identity Center
    /// (SSO), credential_process, assume-role or web identity, as the AWS CLI reads ~/.aws/config.
    #[arg(long, value_name = "NAME", global = true)]
    profile: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Check the config files: templating, schema, and EMR's own rules. Prints one OK line, or every problem;
    /// with --estimate, then the cluster's price per hour.
    Validate {
        #[command(flatten)]
        files: Files,
        #[command(flatten)]
        estimate: EstimateArg,
    },
    /// Print the EMR requests the configs make, as one JSON object: operation name → request body; with
    /// --estimate, then the cluster's price per hour.
    Plan {
        #[command(flatten)]
        files: Files,
        /// Embed the playbook's steps in RunJobFlow; the cluster terminates itself when they end.
        #[arg(long)]
        transient: bool,
        /// Plan AddJobFlowSteps of the playbook to this existing cluster.
        #[arg(long = "emr-cluster", value_name = "j-…")]
        emr_cluster: Option<String>,
        #[command(flatten)]
        estimate: EstimateArg,
        /// text: the plan, then the estimate's lines; json: one JSON object, the estimate under "estimate".
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
        /// With a ServerlessConfig: the execution whose client tokens the requests carry (each token is derived
        /// from the execution id, so a retried call never starts a job twice).
        #[arg(long = "execution-id", value_name = "ID", default_value = "plan")]
        execution_id: String,
    },
    /// Launch a cluster with the playbook's steps embedded, follow it until it ends itself, report every step.
    #[command(name = "run-transient")]
    RunTransient {
        #[command(flatten)]
        files: Files,
        #[command(flatten)]
        execution: ExecutionArgs,
        #[command(flatten)]
        lock: LockArgs,
        #[command(flatten)]
        common: RunArgs,
    },
    /// Launch a long-running cluster and wait until it is ready.
    Up {
        #[command(flatten)]
        files: Files,
        #[command(flatten)]
        execution: ExecutionArgs,
        #[command(flatten)]
        common: RunArgs,
    },
    /// Add the playbook's steps to a running cluster and follow them until they end (unless --async).
    Run {
        #[command(flatten)]
        files: Files,
        #[command(flatten)]
        execution: ExecutionArgs,
        /// The cluster to add the steps to.
        #[arg(long = "emr-cluster", value_name = "j-…")]
        emr_cluster: Option<String>,
        /// With a ServerlessConfig: the EMR Serverless application to run the job runs on (what up printed).
        #[arg(long = "emr-application", value_name = "ID")]
        emr_application: Option<String>,
        /// End once EMR has accepted the steps.
        #[arg(long = "async")]
        asynchronous: bool,
        #[command(flatten)]
        lock: LockArgs,
        #[command(flatten)]
        common: RunArgs,
    },
    /// Terminate a cluster and wait until it is terminated.
    Down {
        #[command(flatten)]
        files: Files,
        #[command(flatten)]
        execution: ExecutionArgs,
        /// The cluster to terminate.
        #[arg(long = "emr-cluster", value_name = "j-…")]
        emr_cluster: Option<String>,
        /// Instead: the EMR Serverless application up created, to stop and delete (after cancelling its job runs).
        #[arg(long = "emr-application", value_name = "ID")]
        emr_application: Option<String>,
        #[command(flatten)]
        common: RunArgs,
    },
    /// Follow an execution (name or ARN) until it ends, or show how it ended.
    Status {
        execution: String,
        #[command(flatten)]
        common: RunArgs,
    },
    /// Stop an execution (name or ARN); the stack's cleanup terminates the clusters it launched.
    Stop {
        execution: String,
        #[command(flatten)]
        common: RunArgs,
    },
    /// The recent executions of the stack's state machines, newest first.
    List {
        #[command(flatten)]
        common: RunArgs,
    },
    /// The stack's runs of the last days and what they cost, as a table, JSON or CSV.
    ///
    /// One row per run since --since (default: the last 7 days): start, command, pipeline, outcome, duration,
    /// instance-hours and cost (from the run's output or failure Cause; stopped, timed-out and running runs have
    /// none); then the totals. --output csv for spreadsheets. Step Functions keeps an execution for 90 days after it
    /// ends.
    Report(report::ReportArgs),
    /// The stack's run locks: list them, show one, release one (refused while its owner runs, unless --force).
    Lock {
        #[command(subcommand)]
        action: LockAction,
        /// The lock table (default: <stack>-locks, as the stack names it).
        #[arg(long = "lock-table", value_name = "NAME", global = true)]
        lock_table: Option<String>,
        #[command(flatten)]
        common: RunArgs,
    },
    /// Print the shell completion script for bash, zsh, fish, elvish or PowerShell, e.g.
    /// `dataflow-runner completions bash > /etc/bash_completion.d/dataflow-runner`.
    Completions { shell: clap_complete::Shell },
    /// The last lines of the logs of each failed step of an execution (name or ARN).
    Logs {
        execution: String,
        /// How many lines of each log file to print.
        #[arg(long = "log-lines", value_name = "N", default_value_t = 20)]
        log_lines: usize,
        #[command(flatten)]
        common: RunArgs,
    },
}

#[derive(Subcommand)]
enum LockAction {
    /// Every lock, with who holds it since when, or how it was released.
    List,
    /// One lock.
    Show { name: String },
    /// Release a lock (a hard lock kept after a failure, or one whose owner is gone).
    Release {
        name: String,
        /// Release even though the owner may still be running.
        #[arg(long)]
        force: bool,
    },
}

/// `--estimate`, for the commands that read a ClusterConfig without launching it.
#[derive(Args)]
struct EstimateArg {
    /// Then print the cluster's price per hour from AWS's prices read now (pricing:GetProducts, and
    /// ec2:DescribeSpotPriceHistory for spot): each group's count × (EC2 or spot + EMR + EBS) and the total, a range
    /// where EMR chooses (fleets, spot zones). Advisory: prices that cannot be read print why, and the exit code
    /// stays the command's.
    #[arg(long)]
    estimate: bool,
}

/// The execution's options beyond the original's flags.
#[derive(Args, Default)]
struct ExecutionArgs {
    /// The execution input's options as a JSON object, e.g. '{"completion": "poll", "timeoutSeconds": 7200}'
    /// (statemachine/README.md, Execution input); validated with the rest of the input before anything starts.
    #[arg(long = "options", value_name = "JSON")]
    options: Option<String>,
}

/// `--lock NAME` / `--softLock NAME`, as in the original; `--consul` is refused.
#[derive(Args, Default)]
struct LockArgs {
    /// A lock that keeps other runs holding it from starting; kept after a failure (a person looks), released on success.
    #[arg(long, value_name = "NAME", conflicts_with = "soft_lock")]
    lock: Option<String>,
    /// A lock released at every end, success or not.
    #[arg(long = "softLock", value_name = "NAME")]
    soft_lock: Option<String>,
    /// The original's Consul locks: replaced by the stack's own lock table.
    #[arg(long, value_name = "ADDRESS", hide = true)]
    consul: Option<String>,
    /// After a failure, print the last lines of each failed step's logs (waiting for EMR to upload them).
    #[arg(long = "log-failed-steps")]
    log_failed_steps: bool,
    /// How many lines of each log file --log-failed-steps prints.
    #[arg(long = "log-lines", value_name = "N", default_value_t = 20)]
    log_lines: usize,
    #[command(flatten)]
    budget: BudgetArgs,
}

/// A run's budget: the execution input's `maxInstanceHours` and `maxCostUsd` (statemachine/README.md, What a run
/// cost). Past either, the run cancels its steps, terminates the cluster it launched and fails with BudgetExceeded.
#[derive(Args, Default)]
struct BudgetArgs {
    /// The most instance-hours the run's cluster may be billed (options.maxInstanceHours).
    #[arg(long = "max-instance-hours", value_name = "HOURS")]
    max_instance_hours: Option<f64>,
    /// The most the run's cluster may cost, in US dollars, by the Price List estimate (options.maxCostUsd).
    #[arg(long = "max-cost", value_name = "USD")]
    max_cost: Option<f64>,
}

impl BudgetArgs {
    /// The options these flags set (the schema checks their bounds with the rest of the input).
    fn options(&self) -> Options {
        let mut options = Options::new();
        for (key, value) in [
            ("maxInstanceHours", self.max_instance_hours),
            ("maxCostUsd", self.max_cost),
        ] {
            if let Some(v) = value.and_then(serde_json::Number::from_f64) {
                options.insert(key.into(), Value::Number(v));
            }
        }
        options
    }
}

/// Where and how a run is started and followed.
#[derive(Args)]
struct RunArgs {
    /// The stack whose state machines to use (default: $DATAFLOW_RUNNER_STACK, else dataflow-runner).
    #[arg(long, value_name = "NAME", global = true)]
    stack: Option<String>,
    /// Use this state machine instead of looking the stack up.
    #[arg(long = "state-machine-arn", value_name = "ARN")]
    state_machine_arn: Option<String>,
    /// The execution name (default: <command>-<cluster name or id>-<UTC time>).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// How the end is printed: text for people, or one JSON object for scripts.
    #[arg(long, value_enum, default_value = "text", global = true)]
    output: Output,
    /// On Ctrl-C, stop the execution (its clusters are then terminated) instead of leaving it running.
    #[arg(long = "stop-on-interrupt")]
    stop_on_interrupt: bool,
}

impl RunArgs {
    fn target(&self) -> Target {
        Target::new(self.stack.clone(), self.state_machine_arn.clone())
    }

    fn follow(&self) -> FollowOptions {
        FollowOptions {
            output: self.output,
            stop_on_interrupt: self.stop_on_interrupt,
            log_failed_steps: None,
        }
    }
}

#[derive(Args)]
struct Files {
    /// The ClusterConfig file (self-describing JSON, may be a template); for validate, plan and run-transient, a
    /// ServerlessConfig too (run-transient then runs the playbook's steps as EMR Serverless job runs).
    #[arg(long = "emr-config", value_name = "FILE")]
    emr_config: Option<String>,
    /// The PlaybookConfig file (self-describing JSON, may be a template).
    #[arg(long = "emr-playbook", value_name = "FILE")]
    emr_playbook: Option<String>,
    /// Template variables as key,value pairs: --vars k1,v1,k2,v2 (values cannot contain commas).
    #[arg(long, value_name = "k1,v1,…")]
    vars: Option<String>,
    /// Template variables from a JSON object of strings; --vars wins on the same key.
    #[arg(long = "vars-file", value_name = "FILE.json")]
    vars_file: Option<String>,
}

/// A failure and how to report it.
enum Failure {
    Usage(String),
    Config(ConfigErrors),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(profile) = cli.profile {
        aws::use_profile(profile);
    }
    let exit = match cli.command {
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "dataflow-runner",
                &mut std::io::stdout(),
            );
            Exit::Success
        }
        Command::Validate { files, estimate } => done(validate(&files, estimate.estimate)),
        Command::Plan {
            files,
            transient,
            emr_cluster,
            estimate,
            output,
            execution_id,
        } => done(plan_command(
            &files,
            PlanArgs {
                transient,
                cluster_id: emr_cluster.as_deref(),
                estimate: estimate.estimate,
                output,
                execution_id: &execution_id,
            },
        )),
        other => runtime().block_on(on_the_stack(other)),
    };
    ExitCode::from(exit as u8)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// The exit code of a local command, its problems printed.
fn done(result: Result<(), Failure>) -> Exit {
    match result {
        Ok(()) => Exit::Success,
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}");
            Exit::Usage
        }
        Err(Failure::Config(errors)) => {
            eprint!("{errors}");
            Exit::Failed
        }
    }
}

/// The commands that run on the deployed stack. Configs are rendered and validated here first: nothing is started
/// when they are invalid.
async fn on_the_stack(command: Command) -> Exit {
    if let Some(run) = RunCommand::of(&command) {
        return start(run).await;
    }
    match command {
        Command::Status { execution, common } => {
            execute::status(
                &execute::sfn_client().await,
                &common.target(),
                &execution,
                &common.follow(),
            )
            .await
        }
        Command::Stop { execution, common } => {
            execute::stop(&execute::sfn_client().await, &common.target(), &execution).await
        }
        Command::List { common } => {
            execute::list(
                &execute::sfn_client().await,
                &common.target(),
                common.output,
            )
            .await
        }
        Command::Report(args) => report::report(args).await,
        Command::Logs {
            execution,
            log_lines,
            common,
        } => {
            let sfn = execute::sfn_client().await;
            execute::logs(&sfn, &common.target(), &execution, log_lines).await
        }
        Command::Lock {
            action,
            lock_table,
            common,
        } => {
            let table = locks::table(&common.target().stack, lock_table.as_deref()).await;
            match action {
                LockAction::List => locks::list(&table, common.output).await,
                LockAction::Show { name } => locks::show(&table, &name, common.output).await,
                LockAction::Release { name, force } => {
                    let sfn = execute::sfn_client().await;
                    locks::release(&table, &sfn, &name, force).await
                }
            }
        }
        Command::Validate { .. } | Command::Plan { .. } | Command::Completions { .. } => {
            unreachable!("local commands")
        }
        Command::RunTransient { .. }
        | Command::Up { .. }
        | Command::Run { .. }
        | Command::Down { .. } => {
            unreachable!("run commands")
        }
    }
}

/// A run command (`run-transient`, `up`, `run`, `down`): its state machine, its execution input and what it runs on
/// (for the execution name), or why it cannot start, and how to follow it.
struct RunCommand<'a> {
    machine: Machine,
    prepared: Result<(ExecutionInput, String), Failure>,
    common: &'a RunArgs,
    log_failed_steps: Option<usize>,
}

impl<'a> RunCommand<'a> {
    /// `None` for the other commands.
    fn of(command: &'a Command) -> Option<Self> {
        let logs = |lock: &LockArgs| lock.log_failed_steps.then_some(lock.log_lines);
        let (machine, prepared, execution, common, log_failed_steps) = match command {
            Command::RunTransient {
                files,
                execution,
                lock,
                common,
            } => (
                Machine::RunTransient,
                run_transient_input(files, lock),
                execution,
                common,
                logs(lock),
            ),
            Command::Up {
                files,
                execution,
                common,
            } => (Machine::Up, up_input(files), execution, common, None),
            Command::Run {
                files,
                execution,
                emr_cluster,
                emr_application,
                asynchronous,
                lock,
                common,
            } => (
                Machine::Run,
                run_input(
                    files,
                    Place {
                        emr_cluster,
                        emr_application,
                    },
                    *asynchronous,
                    lock,
                ),
                execution,
                common,
                logs(lock),
            ),
            Command::Down {
                files,
                execution,
                emr_cluster,
                emr_application,
                common,
            } => (
                Machine::Down,
                down_input(
                    files,
                    Place {
                        emr_cluster,
                        emr_application,
                    },
                ),
                execution,
                common,
                None,
            ),
            _ => return None,
        };
        // The file's schema (or --emr-application) says where the run goes, and that chooses the state machine.
        let (machine, prepared) = match prepared {
            Ok((input, what, on)) => (
                Machine::choose(machine.state_machine(), on),
                with_options(input, execution).map(|input| (input, what)),
            ),
            Err(f) => (machine, Err(f)),
        };
        Some(Self {
            machine,
            prepared,
            common,
            log_failed_steps,
        })
    }
}

fn run_transient_input(files: &Files, lock: &LockArgs) -> Result<Prepared, Failure> {
    require(&files.emr_config, "run-transient needs --emr-config FILE")?;
    require(
        &files.emr_playbook,
        "run-transient needs --emr-playbook FILE",
    )?;
    let budget = lock.budget.options();
    let lock = lock_input(lock, false)?;
    let loaded = load_files(files, Serverless::Accepted)?;
    let (document, what, on) = match (&loaded.cluster, &loaded.serverless) {
        (Some(cluster), _) => (
            cluster.document.clone(),
            cluster.config.name.clone(),
            RunsOn::Emr,
        ),
        (None, Some(config)) => {
            // Every step EMR Serverless cannot run is refused here, before anything is spent.
            serverless_plan(config, files, &loaded, "plan")?;
            (
                config.document.clone(),
                serverless_run_name(&config.config),
                RunsOn::Serverless,
            )
        }
        (None, None) => unreachable!("required above"),
    };
    let playbook = loaded.playbook.expect("required above");
    let input = ExecutionInput::RunTransient(RunTransientInput {
        cluster: document,
        application_id: None,
        playbook: playbook.document,
        shared: Shared::rendered(lock, budget),
    });
    Ok((input, what, on))
}

/// What a run on EMR Serverless runs on, for its execution name: the application it creates, else the one it
/// reuses.
fn serverless_run_name(config: &ServerlessConfig) -> String {
    config
        .application
        .as_ref()
        .and_then(|a| a.name.clone())
        .unwrap_or_else(|| serverless::application_id(config).to_string())
}

/// A run command's execution input, what it runs on (for the execution name) and where it goes.
type Prepared = (ExecutionInput, String, RunsOn);

fn up_input(files: &Files) -> Result<Prepared, Failure> {
    require(&files.emr_config, "up needs --emr-config FILE")?;
    let loaded = load_files(files, Serverless::Accepted)?;
    if let Some(config) = &loaded.serverless {
        if loaded.playbook.is_some() {
            return Err(Failure::Usage(
                "up on EMR Serverless creates and starts the application only: leave out --emr-playbook and run \
                 it with run --emr-application ID"
                    .into(),
            ));
        }
        if config.config.application.is_none() {
            return Err(Failure::Usage(
                "up creates an application: give the ServerlessConfig an \"application\" (one with \
                 \"applicationId\" exists already: run on it with run)"
                    .into(),
            ));
        }
        serverless_plan(config, files, &loaded, "plan")?;
        let what = serverless_run_name(&config.config);
        let input = ExecutionInput::Up(UpInput {
            cluster: config.document.clone(),
            playbook: None,
            shared: Shared::rendered(None, Options::new()),
        });
        return Ok((input, what, RunsOn::Serverless));
    }
    let cluster = loaded.cluster.expect("required above");
    let input = ExecutionInput::Up(UpInput {
        cluster: cluster.document,
        playbook: loaded.playbook.map(|p| p.document),
        shared: Shared::rendered(None, Options::new()),
    });
    Ok((input, cluster.config.name, RunsOn::Emr))
}

/// Where `run` and `down` go: an EMR cluster, or an EMR Serverless application.
struct Place<'a> {
    emr_cluster: &'a Option<String>,
    emr_application: &'a Option<String>,
}

fn run_input(
    files: &Files,
    place: Place<'_>,
    asynchronous: bool,
    lock: &LockArgs,
) -> Result<Prepared, Failure> {
    require(&files.emr_playbook, "run needs --emr-playbook FILE")?;
    let mut options = lock.budget.options();
    let lock = lock_input(lock, asynchronous)?;
    let loaded = load_files(files, Serverless::Accepted)?;
    if let Some(config) = &loaded.serverless {
        if place.emr_cluster.is_some() || asynchronous {
            return Err(Failure::Usage(
                "--emr-config is a ServerlessConfig: run it on an application with --emr-application ID (what up \
                 printed), without --emr-cluster or --async (job runs run one at a time, followed to their end)"
                    .into(),
            ));
        }
        let id = match place.emr_application {
            Some(id) => application_id(id)?,
            None => config.config.application_id.clone().ok_or_else(|| {
                Failure::Usage(
                    "give --emr-application ID: the application up created (or an applicationId in the \
                     ServerlessConfig)"
                        .into(),
                )
            })?,
        };
        serverless_plan(config, files, &loaded, "plan")?;
        let playbook = loaded.playbook.expect("required above");
        let input = ExecutionInput::RunTransient(RunTransientInput {
            cluster: config.document.clone(),
            application_id: Some(id.clone()),
            playbook: playbook.document,
            shared: Shared::rendered(lock, options),
        });
        return Ok((input, id, RunsOn::Serverless));
    }
    no_application(place.emr_application)?;
    let id = cluster_id(place.emr_cluster)?;
    let playbook = loaded.playbook.expect("required above");
    options.insert("async".into(), Value::Bool(asynchronous));
    if let Some(r) = playbook.config.region {
        options.insert("region".into(), Value::String(r));
    }
    let input = ExecutionInput::Run(RunInput {
        cluster_id: id.clone(),
        playbook: playbook.document,
        shared: Shared::rendered(lock, options),
    });
    Ok((input, id, RunsOn::Emr))
}

fn down_input(files: &Files, place: Place<'_>) -> Result<Prepared, Failure> {
    let loaded = load_files(files, Serverless::Accepted)?;
    let mut options = Options::new();
    if let Some(given) = place.emr_application {
        if place.emr_cluster.is_some() || loaded.cluster.is_some() {
            return Err(Failure::Usage(
                "give --emr-application ID or --emr-cluster j-…, and a ServerlessConfig (if any) with the \
                 application"
                    .into(),
            ));
        }
        let id = application_id(given)?;
        if let Some(r) = loaded.serverless.and_then(|c| c.config.region) {
            options.insert("region".into(), Value::String(r));
        }
        let input = ExecutionInput::ServerlessDown(ServerlessDownInput {
            application_id: id.clone(),
            options,
        });
        return Ok((input, id, RunsOn::Serverless));
    }
    if loaded.serverless.is_some() {
        return Err(Failure::Usage(
            "--emr-config is a ServerlessConfig: give --emr-application ID, the application up created".into(),
        ));
    }
    let id = cluster_id(place.emr_cluster)?;
    if let Some(r) = loaded.cluster.and_then(|c| c.config.region) {
        options.insert("region".into(), Value::String(r));
    }
    let input = ExecutionInput::Down(DownInput {
        cluster_id: id.clone(),
        options,
    });
    Ok((input, id, RunsOn::Emr))
}

/// Starts what `run` describes, or reports why it cannot be started.
async fn start(run: RunCommand<'_>) -> Exit {
    let (input, what) = match run.prepared {
        Ok(p) => p,
        Err(f) => return done(Err(f)),
    };
    let name = execute::name_for(run.common.name.as_deref(), run.machine.command(), &what);
    let sfn = execute::sfn_client().await;
    let options = FollowOptions {
        log_failed_steps: run.log_failed_steps,
        ..run.common.follow()
    };
    let target = run.common.target();
    execute::start_and_follow(&sfn, &target, run.machine, &name, input.to_json(), &options).await
}

/// The input with `--options` merged under the options the CLI set from its flags, validated against the schema
/// of its machine's execution input (and the history budget it documents): nothing is started when it is invalid.
fn with_options(
    mut input: ExecutionInput,
    execution: &ExecutionArgs,
) -> Result<ExecutionInput, Failure> {
    if let Some(text) = &execution.options {
        let given: Value = serde_json::from_str(text).map_err(|e| {
            Failure::Usage(format!(
                "--options: not JSON ({e}); give an object, e.g. --options '{{\"completion\": \"poll\"}}'"
            ))
        })?;
        let Value::Object(mut options) = given else {
            return Err(Failure::Usage(
                "--options: give a JSON object, e.g. --options '{\"completion\": \"poll\"}'".into(),
            ));
        };
        let from_flags = input.options_mut();
        options.extend(std::mem::take(from_flags));
        *from_flags = options;
    }
    let problems = input.validate();
    if problems.is_empty() {
        Ok(input)
    } else {
        Err(Failure::Config(ConfigErrors(problems)))
    }
}

fn require(given: &Option<String>, message: &str) -> Result<(), Failure> {
    match given {
        Some(_) => Ok(()),
        None => Err(Failure::Usage(message.into())),
    }
}

/// `--emr-application`, as the execution input's schema takes it (what up printed).
fn application_id(given: &str) -> Result<String, Failure> {
    if dfr_core::ids::is_application_id(given) {
        Ok(given.to_string())
    } else {
        Err(Failure::Usage(format!(
            "--emr-application \"{}\" is not an EMR Serverless application id (lowercase letters and digits, as up \
             printed it)",
            given.chars().take(80).collect::<String>()
        )))
    }
}

/// An EMR cluster has no `--emr-application`.
fn no_application(given: &Option<String>) -> Result<(), Failure> {
    match given {
        Some(_) => Err(Failure::Usage(
            "--emr-application is for a ServerlessConfig's application; --emr-config is not one"
                .into(),
        )),
        None => Ok(()),
    }
}

fn cluster_id(given: &Option<String>) -> Result<String, Failure> {
    match given {
        Some(id) if is_cluster_id(id) => Ok(id.clone()),
        Some(id) => Err(Failure::Usage(format!(
            "--emr-cluster \"{id}\" is not an EMR cluster id (j-…)"
        ))),
        None => Err(Failure::Usage(
            "give --emr-cluster j-…: the cluster up launched".into(),
        )),
    }
}

/// The execution input's `lock`, with the original's rules: one of --lock and --softLock, never with --async,
/// and no Consul (the stack's own lock table replaces it).
fn lock_input(lock: &LockArgs, asynchronous: bool) -> Result<Option<Lock>, Failure> {
    if lock.consul.is_some() {
        return Err(Failure::Usage(
            "--consul is not supported: locks live in the stack's own lock table (atomic, and recovered when their \
             owner is gone); give --lock NAME or --softLock NAME alone"
                .into(),
        ));
    }
    let chosen = match (&lock.lock, &lock.soft_lock) {
        (Some(name), None) => Some((name, LockKind::Hard)),
        (None, Some(name)) => Some((name, LockKind::Soft)),
        _ => None,
    }
    .map(|(name, kind)| Lock {
        name: name.clone(),
        kind,
    });
    if chosen.is_some() && asynchronous {
        return Err(Failure::Usage(
            "--async cannot hold a lock: the run would end before its steps do, and the lock with it".into(),
        ));
    }
    Ok(chosen)
}

struct LoadedFiles {
    cluster: Option<Loaded<ClusterConfig>>,
    /// When `--emr-config` is a ServerlessConfig (see [`Serverless`]).
    serverless: Option<Loaded<ServerlessConfig>>,
    playbook: Option<Loaded<PlaybookConfig>>,
}

/// `plan`'s flags.
struct PlanArgs<'a> {
    transient: bool,
    cluster_id: Option<&'a str>,
    estimate: bool,
    output: Output,
    execution_id: &'a str,
}

/// Whether `--emr-config` may be a ServerlessConfig: `validate`, `plan` and the run commands read one (each run
/// command then starts its EMR Serverless machine, see [`Machine::choose`]); `plan --emr-cluster` refuses it by its
/// schema.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Serverless {
    Accepted,
    Refused,
}

/// `--estimate`, `--transient` and `--emr-cluster` concern EMR clusters.
const NOT_FOR_SERVERLESS: &str = "is for EMR clusters; --emr-config is a ServerlessConfig";

/// `--estimate` prices a cluster to launch: it needs the ClusterConfig.
const ESTIMATE_NEEDS_CONFIG: &str =
    "--estimate prices the cluster a ClusterConfig launches: give --emr-config FILE";

fn validate(files: &Files, estimate: bool) -> Result<(), Failure> {
    if files.emr_config.is_none() && files.emr_playbook.is_none() {
        return Err(Failure::Usage(
            "give --emr-config FILE and/or --emr-playbook FILE".into(),
        ));
    }
    if estimate && files.emr_config.is_none() {
        return Err(Failure::Usage(ESTIMATE_NEEDS_CONFIG.into()));
    }
    let loaded = load_files(files, Serverless::Accepted)?;
    if let (true, Some(_)) = (estimate, &loaded.serverless) {
        return Err(Failure::Usage(format!("--estimate {NOT_FOR_SERVERLESS}")));
    }
    let mut parts = Vec::new();
    if let (Some(path), Some(c)) = (&files.emr_config, &loaded.cluster) {
        parts.push(format!("{path} ({})", c.schema.uri));
    }
    if let (Some(path), Some(c)) = (&files.emr_config, &loaded.serverless) {
        parts.push(format!("{path} ({})", c.schema.uri));
        // The steps' refusals are the playbook's problems on EMR Serverless: validate reports them.
        serverless_plan(c, files, &loaded, "plan")?;
    }
    if let (Some(path), Some(p)) = (&files.emr_playbook, &loaded.playbook) {
        parts.push(format!("{path} ({})", p.schema.uri));
    }
    println!("OK: {} valid", parts.join(" and "));
    if let (true, Some(cluster)) = (estimate, &loaded.cluster) {
        let request = plan::run_job_flow(&cluster.config, Lifecycle::Persistent, None);
        let priced = price(&request, cluster.config.region.as_deref());
        for line in cost::estimate_lines(&priced) {
            println!("{line}");
        }
    }
    Ok(())
}

/// The estimate of the cluster `request` launches (see `estimate`).
fn price(
    request: &plan::RunJobFlowRequest,
    region: Option<&str>,
) -> Result<dfr_core::cost::HourlyEstimate, String> {
    runtime().block_on(estimate::hourly(request, region))
}

/// The EMR Serverless requests of a ServerlessConfig (and the playbook, if given) for the execution
/// `execution_id`; the spark-submit options left out are printed as warnings.
fn serverless_plan(
    config: &Loaded<ServerlessConfig>,
    files: &Files,
    loaded: &LoadedFiles,
    execution_id: &str,
) -> Result<serverless::ServerlessPlan, Failure> {
    let playbook = match (&files.emr_playbook, &loaded.playbook) {
        (Some(path), Some(p)) => Some((path.as_str(), p)),
        _ => None,
    };
    let (plan, warnings) =
        serverless::plan(&config.config, playbook, execution_id).map_err(Failure::Config)?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    Ok(plan)
}

fn plan_command(files: &Files, args: PlanArgs<'_>) -> Result<(), Failure> {
    let PlanArgs {
        transient,
        cluster_id,
        estimate,
        output,
        execution_id,
    } = args;
    let mut preloaded = None;
    if files.emr_config.is_some() && cluster_id.is_none() {
        let loaded = load_files(files, Serverless::Accepted)?;
        if let Some(config) = &loaded.serverless {
            if transient || estimate {
                let flag = if transient {
                    "--transient"
                } else {
                    "--estimate"
                };
                return Err(Failure::Usage(format!("{flag} {NOT_FOR_SERVERLESS}")));
            }
            let plan = serverless_plan(config, files, &loaded, execution_id)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&plan).expect("JSON serializes")
            );
            return Ok(());
        }
        preloaded = Some(loaded);
    }
    if estimate && cluster_id.is_some() {
        return Err(Failure::Usage(format!(
            "{ESTIMATE_NEEDS_CONFIG}, not --emr-cluster (adding steps launches nothing)"
        )));
    }
    if let Some(id) = cluster_id {
        if transient {
            return Err(Failure::Usage(
                "--transient launches a new cluster; it cannot be combined with --emr-cluster"
                    .into(),
            ));
        }
        if files.emr_playbook.is_none() {
            return Err(Failure::Usage(
                "--emr-cluster needs --emr-playbook: the steps to add".into(),
            ));
        }
        if !is_cluster_id(id) {
            return Err(Failure::Usage(format!(
                "--emr-cluster \"{id}\" is not an EMR cluster id (j-…)"
            )));
        }
    } else {
        if files.emr_config.is_none() {
            return Err(Failure::Usage(
                "give --emr-config FILE (or --emr-cluster j-… with --emr-playbook FILE)".into(),
            ));
        }
        if transient && files.emr_playbook.is_none() {
            return Err(Failure::Usage(
                "--transient needs --emr-playbook: the steps to embed".into(),
            ));
        }
        if !transient && files.emr_playbook.is_some() {
            return Err(Failure::Usage(
                "with --emr-playbook, give --transient (steps embedded in RunJobFlow) or --emr-cluster j-… (steps added to that cluster)".into(),
            ));
        }
    }
    let loaded = match preloaded {
        Some(loaded) => loaded,
        None => load_files(files, Serverless::Refused)?,
    };
    let playbook = loaded.playbook.as_ref().map(|p| &p.config);
    let region = loaded
        .cluster
        .as_ref()
        .and_then(|c| c.config.region.as_deref());
    let plan = match cluster_id {
        Some(id) => Plan {
            run_job_flow: None,
            add_job_flow_steps: Some(plan::add_job_flow_steps(
                id,
                playbook.expect("checked above"),
            )),
        },
        None => {
            let cluster = &loaded.cluster.as_ref().expect("checked above").config;
            let lifecycle = if transient {
                Lifecycle::Transient
            } else {
                Lifecycle::Persistent
            };
            Plan {
                run_job_flow: Some(plan::run_job_flow(cluster, lifecycle, playbook)),
                add_job_flow_steps: None,
            }
        }
    };
    let priced = match (estimate, &plan.run_job_flow) {
        (true, Some(request)) => Some(price(request, region)),
        _ => None,
    };
    let mut document = serde_json::to_value(&plan).expect("a plan serializes");
    if let (Output::Json, Some(priced)) = (output, &priced) {
        document["estimate"] = match priced {
            Ok(e) => serde_json::to_value(e).expect("an estimate serializes"),
            Err(why) => serde_json::json!({ "pricesUnavailable": why }),
        };
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&document).expect("JSON serializes")
    );
    if let (Output::Text, Some(priced)) = (output, &priced) {
        for line in cost::estimate_lines(priced) {
            println!("{line}");
        }
    }
    Ok(())
}

/// Loads both files, reporting the problems of both at once, then checks them against each other.
fn load_files(files: &Files, serverless: Serverless) -> Result<LoadedFiles, Failure> {
    let vars = vars(files)?;
    let env = ProcessEnv;
    let mut errors = Vec::new();
    let place = match &files.emr_config {
        Some(path) => {
            let loaded = read(path).and_then(|text| match serverless {
                Serverless::Accepted => load::load_run_place(path, &text, &vars, &env),
                Serverless::Refused => load::load_cluster(path, &text, &vars, &env)
                    .map(|c| RunPlace::Cluster(Box::new(c))),
            });
            match loaded {
                Ok(c) => Some(c),
                Err(e) => {
                    errors.extend(e.0);
                    None
                }
            }
        }
        None => None,
    };
    let (cluster, serverless) = match place {
        Some(RunPlace::Cluster(c)) => (Some(*c), None),
        Some(RunPlace::Serverless(s)) => (None, Some(*s)),
        None => (None, None),
    };
    let playbook = match &files.emr_playbook {
        Some(path) => {
            match read(path).and_then(|text| load::load_playbook(path, &text, &vars, &env)) {
                Ok(p) => Some(p),
                Err(e) => {
                    errors.extend(e.0);
                    None
                }
            }
        }
        None => None,
    };
    if let (Some(c), Some(p), Some(cf), Some(pf)) =
        (&cluster, &playbook, &files.emr_config, &files.emr_playbook)
    {
        if let Err(e) = dfr_core::checks::pair(cf, &c.config, pf, &p.config) {
            errors.extend(e.0);
        }
    }
    for w in cluster
        .iter()
        .flat_map(|c| &c.warnings)
        .chain(serverless.iter().flat_map(|s| &s.warnings))
        .chain(playbook.iter().flat_map(|p| &p.warnings))
    {
        eprintln!("warning: {w}");
    }
    if errors.is_empty() {
        Ok(LoadedFiles {
            cluster,
            serverless,
            playbook,
        })
    } else {
        Err(Failure::Config(ConfigErrors(errors)))
    }
}

fn read(path: &str) -> Result<String, ConfigErrors> {
    let bytes = std::fs::read(path).map_err(|e| {
        ConfigErrors::from(
            Diagnostic::new(path, "", format!("cannot read the file: {e}")).with_hint(
                if Path::new(path).exists() {
                    "check the file's permissions"
                } else {
                    "check the path"
                },
            ),
        )
    })?;
    load::text_from_bytes(path, bytes)
}

fn vars(files: &Files) -> Result<BTreeMap<String, String>, Failure> {
    let mut vars = BTreeMap::new();
    if let Some(path) = &files.vars_file {
        let text = read(path).map_err(Failure::Config)?;
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            Failure::Config(ConfigErrors::from(
                Diagnostic::new(path, "", format!("invalid JSON: {e}"))
                    .with_hint("give a JSON object of strings: {\"name\": \"value\"}"),
            ))
        })?;
        let Some(obj) = value.as_object() else {
            return Err(Failure::Config(ConfigErrors::from(
                Diagnostic::new(path, "", "expected a JSON object")
                    .with_hint("give a JSON object of strings: {\"name\": \"value\"}"),
            )));
        };
        let mut problems = Vec::new();
        for (k, v) in obj {
            match v.as_str() {
                Some(s) => {
                    vars.insert(k.clone(), s.to_string());
                }
                None => problems.push(
                    Diagnostic::new(
                        path,
                        format!("/{}", dfr_core::diagnostics::pointer_segment(k)),
                        format!("expected a string, found {v}"),
                    )
                    .with_hint("template variables are strings: put the value in quotes"),
                ),
            }
        }
        if !problems.is_empty() {
            return Err(Failure::Config(ConfigErrors(problems)));
        }
    }
    if let Some(s) = &files.vars {
        vars.extend(gotemplate::parse_vars(s).map_err(|e| Failure::Usage(e.to_string()))?);
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn example(file: &str) -> String {
        format!("{}/../../examples/spark/{file}", env!("CARGO_MANIFEST_DIR"))
    }

    /// The execution input the CLI builds for this command line (after `dataflow-runner`; CLUSTER, PLAYBOOK and VARS
    /// are the spark example's files), or why it starts nothing.
    fn input_for(line: &str) -> Result<(Machine, Value), String> {
        let args: Vec<String> = std::iter::once("dataflow-runner".to_string())
            .chain(line.split_whitespace().map(|a| match a {
                "CLUSTER" => example("cluster.json"),
                "PLAYBOOK" => example("playbook.json"),
                "VARS" => example("vars.json"),
                other => other.to_string(),
            }))
            .collect();
        let cli = Cli::try_parse_from(args).map_err(|e| e.to_string())?;
        let run = RunCommand::of(&cli.command).expect("a run command");
        match run.prepared {
            Ok((input, _)) => {
                assert_eq!(input.machine(), run.machine.state_machine());
                Ok((run.machine, input.to_json()))
            }
            Err(Failure::Usage(m)) => Err(m),
            Err(Failure::Config(e)) => Err(e.to_string()),
        }
    }

    /// Every command's input, with and without locks, `--async`, regions and `--options`, serialized from the type
    /// and valid against schemas/execution-input.schema.json (and the history budget), shaped as the CLI promises.
    #[test]
    fn the_input_of_every_run_command_is_valid_against_the_execution_input_schema() {
        const CLUSTER: &str = "--emr-config CLUSTER --vars-file VARS";
        const PLAYBOOK: &str = "--emr-playbook PLAYBOOK --vars-file VARS";
        const BOTH: &str = "--emr-config CLUSTER --emr-playbook PLAYBOOK --vars-file VARS";
        let cases = [
            (format!("run-transient {BOTH}"), json!({"rendered": true})),
            (
                format!("run-transient --lock snowplow/enrich {BOTH}"),
                json!({"lock": {"name": "snowplow/enrich", "kind": "hard"}}),
            ),
            (
                format!(
                    r#"run-transient --softLock a/b --options {{"completion":"poll","timeoutSeconds":7200}} {BOTH}"#
                ),
                json!({"lock": {"name": "a/b", "kind": "soft"}, "options": {"completion": "poll", "timeoutSeconds": 7200}}),
            ),
            (
                format!("run-transient --max-instance-hours 12.5 --max-cost 40 {BOTH}"),
                json!({"options": {"maxInstanceHours": 12.5, "maxCostUsd": 40.0}}),
            ),
            (
                // the budget flags win over --options too
                format!(
                    r#"run --emr-cluster j-1ABC --max-cost 5 --options {{"maxCostUsd":50}} {PLAYBOOK}"#
                ),
                json!({"options": {"async": false, "maxCostUsd": 5.0, "region": "eu-west-1"}}),
            ),
            (format!("up {CLUSTER}"), json!({"rendered": true})),
            (
                format!(r#"up --options {{"maxLaunchAttempts":2}} {BOTH}"#),
                json!({"options": {"maxLaunchAttempts": 2}}),
            ),
            (
                format!("run --emr-cluster j-1ABC {PLAYBOOK}"),
                json!({"clusterId": "j-1ABC", "rendered": true, "options": {"async": false, "region": "eu-west-1"}}),
            ),
            (
                format!("run --emr-cluster j-1ABC --async {PLAYBOOK}"),
                json!({"options": {"async": true, "region": "eu-west-1"}}),
            ),
            (
                // the flags win over --options
                format!(
                    r#"run --emr-cluster j-1ABC --lock p/run --options {{"async":true,"maxFailedChecks":3}} {PLAYBOOK}"#
                ),
                json!({"lock": {"name": "p/run", "kind": "hard"}, "options": {"async": false, "maxFailedChecks": 3, "region": "eu-west-1"}}),
            ),
            (
                "down --emr-cluster j-1ABC".to_string(),
                json!({"clusterId": "j-1ABC"}),
            ),
            (
                format!(r#"down --emr-cluster j-1ABC --options {{"force":true}} {CLUSTER}"#),
                json!({"options": {"force": true, "region": "eu-west-1"}}),
            ),
        ];
        for (line, expected) in cases {
            let (machine, input) = input_for(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
            let problems = dfr_core::execution::validate_input(machine.state_machine(), &input);
            assert!(problems.is_empty(), "{line}: {problems:?}");
            for (key, value) in expected.as_object().unwrap() {
                assert_eq!(&input[key], value, "{line}: {key}");
            }
            let launches = matches!(machine, Machine::RunTransient | Machine::Up);
            let sent = ["cluster", "playbook"].map(|k| input.get(k).is_some());
            let given = ["CLUSTER", "PLAYBOOK"].map(|k| line.contains(k));
            assert_eq!(
                sent,
                [launches && given[0], machine != Machine::Down && given[1]],
                "{line}"
            );
            if expected.get("options").is_none() && machine != Machine::Run {
                assert!(
                    input.get("options").is_none(),
                    "{line}: no options unless asked"
                );
            }
        }
    }

    #[test]
    fn a_serverless_config_is_refused_where_a_cluster_is_meant() {
        let at = |file: &str| {
            Some(format!(
                "{}/../../examples/serverless/{file}",
                env!("CARGO_MANIFEST_DIR")
            ))
        };
        let files = Files {
            emr_config: at("config.json"),
            emr_playbook: at("playbook.json"),
            vars: None,
            vars_file: at("vars.json"),
        };
        let usage = |result: Result<(), Failure>| match result {
            Err(Failure::Usage(message)) => message,
            Err(Failure::Config(e)) => panic!("not a usage error: {e}"),
            Ok(()) => panic!("accepted"),
        };
        for (transient, estimate, flag) in
            [(true, false, "--transient"), (false, true, "--estimate")]
        {
            let args = PlanArgs {
                transient,
                cluster_id: None,
                estimate,
                output: Output::Text,
                execution_id: "x",
            };
            let message = usage(plan_command(&files, args));
            assert_eq!(
                message,
                format!("{flag} is for EMR clusters; --emr-config is a ServerlessConfig")
            );
        }
        assert!(usage(validate(&files, true)).starts_with("--estimate is for EMR clusters"));
    }

    /// The example's ServerlessConfig and playbook (and vars), as a command line's words.
    const SERVERLESS: &str =
        "--emr-config SLS_CONFIG --emr-playbook SLS_PLAYBOOK --vars-file SLS_VARS";

    /// Why this command line starts nothing, with the exit code it ends with.
    fn refusal(line: &str) -> (Exit, String) {
        let args = std::iter::once("dataflow-runner".to_string())
            .chain(line.split_whitespace().map(serverless_example));
        let cli = Cli::try_parse_from(args).unwrap();
        let run = RunCommand::of(&cli.command).expect("a run command");
        match run.prepared {
            Ok(_) => panic!("{line}: prepared"),
            Err(Failure::Usage(m)) => (Exit::Usage, m),
            Err(Failure::Config(e)) => (Exit::Failed, e.to_string()),
        }
    }

    fn serverless_example(word: &str) -> String {
        let at = |f: &str| {
            format!(
                "{}/../../examples/serverless/{f}",
                env!("CARGO_MANIFEST_DIR")
            )
        };
        match word {
            "SLS_CONFIG" => at("config.json"),
            "SLS_PLAYBOOK" => at("playbook.json"),
            "SLS_VARS" => at("vars.json"),
            other => other.to_string(),
        }
    }

    #[test]
    fn run_transient_of_a_serverless_config_starts_the_serverless_machine_with_the_run_transient_input(
    ) {
        let line =
            format!("dataflow-runner run-transient --softLock a/b --max-cost 5 {SERVERLESS}");
        let cli = Cli::try_parse_from(line.split_whitespace().map(serverless_example)).unwrap();
        let run = RunCommand::of(&cli.command).expect("a run command");
        assert_eq!(run.machine, Machine::ServerlessRunTransient);
        let (input, what) = run.prepared.unwrap_or_else(|_| panic!("refused"));
        assert_eq!(
            what, "nightly-enrich-prod",
            "the application's name names the execution"
        );
        let input = input.to_json();
        let problems = dfr_core::execution::validate_input(run.machine.state_machine(), &input);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            input["cluster"]["schema"],
            "iglu:com.dataflowrunner.serverless/ServerlessConfig/jsonschema/1-0-0"
        );
        assert_eq!(
            input["cluster"]["data"]["application"]["name"], "nightly-enrich-prod",
            "rendered"
        );
        assert_eq!(input["rendered"], true);
        assert_eq!(input["lock"], json!({"name": "a/b", "kind": "soft"}));
        assert_eq!(input["options"], json!({"maxCostUsd": 5.0}));
    }

    #[test]
    fn a_step_emr_serverless_cannot_run_is_refused_locally_with_its_file_path_and_fix() {
        let dir = std::env::temp_dir().join(format!("dfr-cli-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let playbook = dir.join("s3-dist-cp.json");
        std::fs::write(
            &playbook,
            json!({"schema": "iglu:com.dataflowrunner.serverless/PlaybookConfig/jsonschema/1-1-0",
                   "data": {"region": "eu-west-1", "credentials": {"accessKeyId": "env", "secretAccessKey": "env"},
                            "steps": [{"type": "CUSTOM_JAR", "name": "Copy", "actionOnFailure": "CANCEL_AND_WAIT",
                                       "jar": "/usr/share/aws/emr/s3-dist-cp/lib/s3-dist-cp.jar",
                                       "arguments": ["--src", "s3://a/", "--dest", "s3://b/"]}]}})
            .to_string(),
        )
        .unwrap();
        let line = format!(
            "run-transient --emr-config SLS_CONFIG --vars-file SLS_VARS --emr-playbook {}",
            playbook.display()
        );
        let (exit, message) = refusal(&line);
        assert_eq!(exit, Exit::Failed, "{message}");
        assert!(message.contains("s3-dist-cp.json"), "{message}");
        assert!(message.contains("steps[0]"), "{message}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The machine and the validated execution input a command line starts.
    fn started(line: &str) -> (Machine, Value, String) {
        let args = std::iter::once("dataflow-runner".to_string())
            .chain(line.split_whitespace().map(serverless_example));
        let cli = Cli::try_parse_from(args).unwrap();
        let run = RunCommand::of(&cli.command).expect("a run command");
        let machine = run.machine;
        let (input, what) = run.prepared.unwrap_or_else(|_| panic!("{line}: refused"));
        let input = input.to_json();
        let problems = dfr_core::execution::validate_input(machine.state_machine(), &input);
        assert!(problems.is_empty(), "{line}: {problems:?}");
        (machine, input, what)
    }

    #[test]
    fn up_run_and_down_of_a_serverless_config_start_the_serverless_machines() {
        let (machine, input, what) = started("up --emr-config SLS_CONFIG --vars-file SLS_VARS");
        assert_eq!(machine, Machine::ServerlessUp);
        assert_eq!(what, "nightly-enrich-prod");
        assert!(input.get("playbook").is_none());
        assert_eq!(
            input["cluster"]["data"]["application"]["name"],
            "nightly-enrich-prod"
        );

        let (machine, input, what) = started(&format!(
            "run --emr-application 00fabc123 --lock a/b {SERVERLESS}"
        ));
        assert_eq!(machine, Machine::ServerlessRunTransient);
        assert_eq!(what, "00fabc123");
        assert_eq!(input["applicationId"], "00fabc123");
        assert_eq!(input["lock"], json!({"name": "a/b", "kind": "hard"}));
        assert!(input["options"].get("async").is_none());

        let (machine, input, what) = started(
            "down --emr-application 00fabc123 --emr-config SLS_CONFIG --vars-file SLS_VARS",
        );
        assert_eq!(machine, Machine::ServerlessDown);
        assert_eq!(what, "00fabc123");
        assert_eq!(
            input,
            json!({"applicationId": "00fabc123", "options": {"region": "eu-west-1"}})
        );
        let (machine, _, _) = started("down --emr-application 00fabc123");
        assert_eq!(machine, Machine::ServerlessDown);
    }

    #[test]
    fn what_has_no_place_on_emr_serverless_is_a_usage_error() {
        for (line, expected) in [
            (
                "up --emr-config SLS_CONFIG --vars-file SLS_VARS --emr-playbook SLS_PLAYBOOK"
                    .to_string(),
                "up on EMR Serverless creates and starts the application only",
            ),
            (format!("run {SERVERLESS}"), "give --emr-application ID"),
            (
                format!("run --emr-cluster j-1ABC {SERVERLESS}"),
                "run it on an application with --emr-application ID",
            ),
            (
                format!("run --emr-application 00fabc --async {SERVERLESS}"),
                "without --emr-cluster or --async",
            ),
            (
                format!("run --emr-application 00F/x {SERVERLESS}"),
                "is not an EMR Serverless application id",
            ),
            (
                "down --emr-cluster j-1ABC --emr-config SLS_CONFIG --vars-file SLS_VARS"
                    .to_string(),
                "give --emr-application ID, the application up created",
            ),
            (
                "down --emr-application 00fabc --emr-cluster j-1ABC".to_string(),
                "give --emr-application ID or --emr-cluster",
            ),
        ] {
            let (exit, message) = refusal(&line);
            assert_eq!(exit, Exit::Usage, "{line}: {message}");
            assert!(message.contains(expected), "{line}: {message}");
        }
    }

    #[test]
    fn an_input_the_schema_refuses_starts_nothing_and_says_why() {
        let run = "run --emr-cluster j-1ABC --emr-playbook PLAYBOOK --vars-file VARS";
        let misspelt = input_for(&format!(r#"{run} --options {{"maxPollSecond":30}}"#));
        assert!(misspelt.unwrap_err().contains("maxPollSecond"));
        let bound = input_for(r#"down --emr-cluster j-1ABC --options {"maxPollSeconds":56}"#);
        assert!(bound.unwrap_err().contains("options.maxPollSeconds"));
        let locked = input_for(&format!("{run} --lock x --async"));
        assert!(locked.unwrap_err().contains("--async cannot hold a lock"));
    }
}
