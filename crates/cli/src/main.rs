//! `dataflow-runner`: validate configs and show the exact EMR requests they make, before anything is spent.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use dfr_core::diagnostics::{ConfigErrors, Diagnostic};
use dfr_core::load::{self, Loaded};
use dfr_core::model::{ClusterConfig, PlaybookConfig};
use dfr_core::plan::{self, Lifecycle, Plan};
use dfr_core::template::{self, ProcessEnv};

#[derive(Parser)]
#[command(
    name = "dataflow-runner",
    version,
    about = "Run dataflow-runner playbooks on Amazon EMR, serverless"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check the config files: templating, schema, and EMR's own rules. Prints one OK line, or every problem.
    Validate(Files),
    /// Print the EMR requests the configs make, as one JSON object: operation name → request body.
    Plan {
        #[command(flatten)]
        files: Files,
        /// Embed the playbook's steps in RunJobFlow; the cluster terminates itself when they end.
        #[arg(long)]
        transient: bool,
        /// Plan AddJobFlowSteps of the playbook to this existing cluster.
        #[arg(long = "emr-cluster", value_name = "j-…")]
        emr_cluster: Option<String>,
    },
}

#[derive(Args)]
struct Files {
    /// The ClusterConfig file (self-describing JSON, may be a template).
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
    let result = match cli.command {
        Command::Validate(files) => validate(&files),
        Command::Plan {
            files,
            transient,
            emr_cluster,
        } => plan_command(&files, transient, emr_cluster.as_deref()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Config(errors)) => {
            eprint!("{errors}");
            ExitCode::from(1)
        }
    }
}

struct LoadedFiles {
    cluster: Option<Loaded<ClusterConfig>>,
    playbook: Option<Loaded<PlaybookConfig>>,
}

fn validate(files: &Files) -> Result<(), Failure> {
    if files.emr_config.is_none() && files.emr_playbook.is_none() {
        return Err(Failure::Usage(
            "give --emr-config FILE and/or --emr-playbook FILE".into(),
        ));
    }
    let loaded = load_files(files)?;
    let mut parts = Vec::new();
    if let (Some(path), Some(c)) = (&files.emr_config, &loaded.cluster) {
        parts.push(format!("{path} ({})", c.schema.uri));
    }
    if let (Some(path), Some(p)) = (&files.emr_playbook, &loaded.playbook) {
        parts.push(format!("{path} ({})", p.schema.uri));
    }
    println!("OK: {} valid", parts.join(" and "));
    Ok(())
}

fn plan_command(files: &Files, transient: bool, cluster_id: Option<&str>) -> Result<(), Failure> {
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
    let loaded = load_files(files)?;
    let playbook = loaded.playbook.as_ref().map(|p| &p.config);
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
    println!(
        "{}",
        serde_json::to_string_pretty(&plan).expect("a plan serializes")
    );
    Ok(())
}

fn is_cluster_id(id: &str) -> bool {
    id.strip_prefix("j-")
        .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// Loads both files, reporting the problems of both at once, then checks them against each other.
fn load_files(files: &Files) -> Result<LoadedFiles, Failure> {
    let vars = vars(files)?;
    let env = ProcessEnv;
    let mut errors = Vec::new();
    let cluster = match &files.emr_config {
        Some(path) => {
            match read(path).and_then(|text| load::load_cluster(path, &text, &vars, &env)) {
                Ok(c) => Some(c),
                Err(e) => {
                    errors.extend(e.0);
                    None
                }
            }
        }
        None => None,
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
        .chain(playbook.iter().flat_map(|p| &p.warnings))
    {
        eprintln!("warning: {w}");
    }
    if errors.is_empty() {
        Ok(LoadedFiles { cluster, playbook })
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
        vars.extend(template::parse_vars(s).map_err(|e| Failure::Usage(e.to_string()))?);
    }
    Ok(vars)
}
