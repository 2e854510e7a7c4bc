//! A playbook's steps as EMR Serverless job runs. The same playbooks run on EMR and on EMR Serverless, so the
//! translation reads the steps as EMR would run them:
//!
//! - `command-runner.jar` with `spark-submit [options] APP [args]` becomes a `sparkSubmit` driver: APP is the entry
//!   point, the args its arguments, the options one `sparkSubmitParameters` string (each value shell-quoted when it
//!   holds anything but letters, digits and `@%+=:,./_-`). Options that only choose where the driver runs on a
//!   cluster (`--master`, `--deploy-mode`, `--queue`, `--supervise`, `--total-executor-cores`, and the
//!   `spark.master` / `spark.submit.deployMode` confs) are left out with a warning: EMR Serverless decides that
//!   itself. Options that need something EMR Serverless has not (a file on the master node, a Kerberos or proxy
//!   user) or that submit nothing are refused.
//! - `command-runner.jar` with `hive-script --run-hive-script --args -f s3://…` becomes a `hive` driver: `-f` the
//!   query file, `-i` the init file, `-d`/`--define`/`--hivevar` and `--hiveconf` the parameters.
//! - Everything else is refused, each step with the file, the JSON path and why: s3-dist-cp, script-runner, other
//!   commands, custom JARs (whether one is a Spark application cannot be known from the playbook), `hdfs://`
//!   paths (EMR Serverless has no HDFS), step `properties` and `mainClass` (they configure EMR's step runner).
//!
//! `actionOnFailure` keeps its meaning: CONTINUE goes on to the next step, every other value stops the playbook
//! (there is no cluster to terminate or keep waiting).

use serde::Serialize;

use super::ApplicationType;
use crate::diagnostics::{ConfigErrors, Diagnostic, LineIndex};
use crate::model::{ActionOnFailure, PlaybookConfig, Step};

/// A step as a job run, before it is given an application, a role and a client token.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRun {
    pub name: String,
    pub driver: JobDriver,
    pub on_failure: OnFailure,
}

/// What the playbook does when the job run fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// CANCEL_AND_WAIT, TERMINATE_CLUSTER, TERMINATE_JOB_FLOW (and no `actionOnFailure`): the steps after it do not
    /// run.
    Stop,
    /// CONTINUE: the next step runs.
    Continue,
}

impl From<Option<ActionOnFailure>> for OnFailure {
    fn from(a: Option<ActionOnFailure>) -> Self {
        match a {
            Some(ActionOnFailure::Continue) => Self::Continue,
            _ => Self::Stop,
        }
    }
}

/// StartJobRun's `jobDriver`, as the API writes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum JobDriver {
    SparkSubmit(SparkSubmit),
    Hive(Hive),
}

impl JobDriver {
    fn application_type(&self) -> ApplicationType {
        match self {
            Self::SparkSubmit(_) => ApplicationType::Spark,
            Self::Hive(_) => ApplicationType::Hive,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SparkSubmit {
    pub entry_point: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entry_point_arguments: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spark_submit_parameters: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Hive {
    pub query: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_query_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<String>,
}

/// The job runs of a playbook, and the options left out of them.
#[derive(Debug, Clone, PartialEq)]
pub struct Translation {
    pub jobs: Vec<JobRun>,
    pub warnings: Vec<Diagnostic>,
}

/// Translates every step of `playbook` (read from `file`, whose `lines` locate each problem), or refuses the
/// playbook with every step that cannot run. `application` is the type of the application the jobs run on, when known (an application created by the
/// run); an application runs one type of job, so the steps must all be of that type (or, unknown, of one type).
pub fn translate(
    file: &str,
    lines: &LineIndex,
    playbook: &PlaybookConfig,
    application: Option<ApplicationType>,
) -> Result<Translation, ConfigErrors> {
    let mut jobs = Vec::new();
    let mut warnings = Vec::new();
    let mut errors = Vec::new();
    let mut first_kind: Option<(ApplicationType, usize)> = None;
    for (i, step) in playbook.steps.iter().enumerate() {
        let mut s = StepReport {
            file,
            lines,
            index: i,
            errors: Vec::new(),
            warnings: Vec::new(),
        };
        let driver = s.step(step);
        if let Some(driver) = &driver {
            let kind = driver.application_type();
            match (application, first_kind) {
                (Some(app), _) if app != kind => s.refuse(
                    &s.jar(),
                    format!(
                        "a {} job cannot run on the config's {} application",
                        kind.as_api(),
                        app.as_api()
                    ),
                    "an application runs one type of job: run this step from a playbook of its own, with a \
                     ServerlessConfig whose application.type is that type",
                ),
                (None, Some((first, at))) if first != kind => s.refuse(
                    &s.jar(),
                    format!(
                        "a {} job, but step {at} is a {} job, and an application runs one type of job",
                        kind.as_api(),
                        first.as_api()
                    ),
                    "split the playbook in two, one per type of job",
                ),
                (None, None) => first_kind = Some((kind, i)),
                _ => {}
            }
        }
        warnings.append(&mut s.warnings);
        if s.errors.is_empty() {
            jobs.push(JobRun {
                name: step.name.clone(),
                driver: driver.expect("a step without errors has a driver"),
                on_failure: step.action_on_failure.into(),
            });
        } else {
            errors.append(&mut s.errors);
        }
    }
    // In the file's order, as loading reports (a stable sort: without lines, the steps' order).
    errors.sort_by_key(|d| d.line);
    warnings.sort_by_key(|d| d.line);
    if errors.is_empty() {
        Ok(Translation { jobs, warnings })
    } else {
        Err(ConfigErrors(errors))
    }
}

/// How spark-submit treats one of its options, and what becomes of it on EMR Serverless.
#[derive(Clone, Copy)]
enum Treatment {
    Keep,
    /// Left out, with why.
    Drop(&'static str),
    /// The step is refused, with why and the fix.
    Refuse(&'static str, &'static str),
}

const CLUSTER_CHOICE: &str = "EMR Serverless chooses where the driver and executors run";
const NOT_KERBEROS: &str =
    "job runs act as the config's executionRoleArn, not as a Kerberos principal or a proxy user";
const USE_ROLE: &str =
    "remove it: give the role the job needs as the ServerlessConfig's executionRoleArn";

/// spark-submit's options that take a value (Spark 3's `SparkSubmitArguments`), and their treatment.
const VALUE_OPTIONS: &[(&str, Treatment)] = &[
    ("--class", Treatment::Keep),
    ("--name", Treatment::Keep),
    ("--jars", Treatment::Keep),
    ("--packages", Treatment::Keep),
    ("--exclude-packages", Treatment::Keep),
    ("--repositories", Treatment::Keep),
    ("--py-files", Treatment::Keep),
    ("--files", Treatment::Keep),
    ("--archives", Treatment::Keep),
    ("--conf", Treatment::Keep),
    ("-c", Treatment::Keep),
    ("--driver-memory", Treatment::Keep),
    ("--driver-java-options", Treatment::Keep),
    ("--driver-library-path", Treatment::Keep),
    ("--driver-class-path", Treatment::Keep),
    ("--driver-cores", Treatment::Keep),
    ("--executor-memory", Treatment::Keep),
    ("--executor-cores", Treatment::Keep),
    ("--num-executors", Treatment::Keep),
    ("--master", Treatment::Drop(CLUSTER_CHOICE)),
    ("--deploy-mode", Treatment::Drop(CLUSTER_CHOICE)),
    (
        "--queue",
        Treatment::Drop("EMR Serverless has no YARN queues"),
    ),
    (
        "--total-executor-cores",
        Treatment::Drop("a Spark standalone option, which EMR Serverless ignores"),
    ),
    (
        "--properties-file",
        Treatment::Refuse(
            "names a file on the cluster's master node, and EMR Serverless has no master node",
            "give its properties as --conf options",
        ),
    ),
    ("--proxy-user", Treatment::Refuse(NOT_KERBEROS, USE_ROLE)),
    ("--principal", Treatment::Refuse(NOT_KERBEROS, USE_ROLE)),
    ("--keytab", Treatment::Refuse(NOT_KERBEROS, USE_ROLE)),
    (
        "--kill",
        Treatment::Refuse(
            "manages a submitted driver and submits nothing",
            "remove the step",
        ),
    ),
    (
        "--status",
        Treatment::Refuse(
            "manages a submitted driver and submits nothing",
            "remove the step",
        ),
    ),
];

/// spark-submit's options without a value.
const FLAGS: &[(&str, Treatment)] = &[
    ("--verbose", Treatment::Keep),
    ("-v", Treatment::Keep),
    (
        "--supervise",
        Treatment::Drop("it restarts a driver in Spark standalone mode only"),
    ),
    (
        "--help",
        Treatment::Refuse("prints spark-submit's usage and runs nothing", "remove it"),
    ),
    (
        "-h",
        Treatment::Refuse("prints spark-submit's usage and runs nothing", "remove it"),
    ),
    (
        "--version",
        Treatment::Refuse("prints Spark's version and runs nothing", "remove it"),
    ),
];

/// The Spark properties that, like `--master` and `--deploy-mode`, choose where the driver runs.
const CLUSTER_CHOICE_CONFS: [&str; 2] = ["spark.master", "spark.submit.deployMode"];

const NO_HDFS: &str =
    "EMR Serverless has no HDFS: read and write S3 (s3://…) instead; a job's scratch space \
                       is its workers' local disk";

struct StepReport<'a> {
    file: &'a str,
    lines: &'a LineIndex,
    index: usize,
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
}

impl StepReport<'_> {
    fn at(&self, member: &str) -> String {
        format!("/data/steps/{}/{member}", self.index)
    }

    fn jar(&self) -> String {
        self.at("jar")
    }

    fn arg(&self, j: usize) -> String {
        self.at(&format!("arguments/{j}"))
    }

    fn refuse(&mut self, pointer: &str, why: impl Into<String>, fix: impl Into<String>) {
        let d = Diagnostic::new(
            self.file,
            pointer,
            format!("cannot run on EMR Serverless: {}", why.into()),
        )
        .with_line(self.lines.line_of(pointer))
        .with_hint(fix);
        self.errors.push(d);
    }

    fn warn(&mut self, pointer: &str, message: String) {
        let d = Diagnostic::new(self.file, pointer, message)
            .with_line(self.lines.line_of(pointer))
            .with_hint(
                "nothing to do: the option still applies when the playbook runs on an EMR cluster",
            );
        self.warnings.push(d);
    }

    /// The driver of one step, or `None` with its refusals recorded.
    fn step(&mut self, step: &Step) -> Option<JobDriver> {
        let args = step.arguments.as_deref().unwrap_or_default();
        let places: Vec<(String, &String)> = std::iter::once((self.jar(), &step.jar))
            .chain(args.iter().enumerate().map(|(j, a)| (self.arg(j), a)))
            .collect();
        for (pointer, value) in places {
            if value.to_ascii_lowercase().contains("hdfs://") {
                self.refuse(&pointer, format!("\"{value}\" is an HDFS path"), NO_HDFS);
            }
        }
        if step.properties.as_ref().is_some_and(|p| !p.is_empty()) {
            self.refuse(
                &self.at("properties"),
                "step properties are Java system properties of EMR's step runner, which EMR Serverless has not",
                "pass them to the job instead: --conf spark.driver.extraJavaOptions=-Dname=value",
            );
        }
        let jar = step.jar.as_str();
        let file_name = jar.rsplit('/').next().unwrap_or(jar);
        if file_name == "command-runner.jar" {
            if step.main_class.as_deref().is_some_and(|m| !m.is_empty()) {
                self.refuse(
                    &self.at("mainClass"),
                    "command-runner.jar takes no main class",
                    "remove mainClass; give spark-submit's --class in the arguments",
                );
            }
            return self.command(args);
        }
        if file_name == "script-runner.jar" {
            self.refuse(
                &self.jar(),
                "script-runner runs a script on the cluster's master node, and EMR Serverless has no nodes to run \
                 one on",
                "do the script's work in a Spark job, or before or after the playbook",
            );
        } else if file_name.contains("s3-dist-cp") {
            self.refuse(
                &self.jar(),
                "s3-dist-cp copies with the cluster's MapReduce, which EMR Serverless has not",
                S3_DIST_CP_FIX,
            );
        } else {
            let main = step
                .main_class
                .clone()
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| "MAIN_CLASS".into());
            self.refuse(
                &self.jar(),
                format!(
                    "a custom JAR runs with `hadoop jar` on a cluster; EMR Serverless runs Spark and Hive jobs only, \
                     and whether \"{jar}\" is a Spark application cannot be known from the playbook"
                ),
                format!(
                    "if it is a Spark application, write the step as \"jar\": \"command-runner.jar\" with \
                     \"arguments\": [\"spark-submit\", \"--class\", \"{main}\", \"{jar}\", …its arguments]"
                ),
            );
        }
        None
    }

    fn command(&mut self, args: &[String]) -> Option<JobDriver> {
        let Some(command) = args.first() else {
            self.refuse(
                &self.at("arguments"),
                "command-runner.jar without a command",
                "give the command as the first argument: \"spark-submit\" or \"hive-script\"",
            );
            return None;
        };
        match command.rsplit('/').next().unwrap_or(command) {
            "spark-submit" => self.spark_submit(args),
            "hive-script" => self.hive_script(args),
            "s3-dist-cp" => {
                self.refuse(
                    &self.arg(0),
                    "s3-dist-cp copies with the cluster's MapReduce, which EMR Serverless has not",
                    S3_DIST_CP_FIX,
                );
                None
            }
            other => {
                self.refuse(
                    &self.arg(0),
                    format!("`{other}` is neither spark-submit nor hive-script, and EMR Serverless runs Spark and Hive jobs only"),
                    "do this step's work in a Spark job, or before or after the playbook",
                );
                None
            }
        }
    }

    fn spark_submit(&mut self, args: &[String]) -> Option<JobDriver> {
        let mut parameters: Vec<String> = Vec::new();
        let mut j = 1;
        let errors_before = self.errors.len();
        while j < args.len() && args[j].starts_with('-') && args[j] != "-" {
            let (name, inline) = match args[j].split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
                _ => (args[j].as_str(), None),
            };
            let option_at = j;
            if let Some((_, treatment)) = FLAGS.iter().find(|(n, _)| *n == name) {
                match treatment {
                    Treatment::Keep => parameters.push(name.to_string()),
                    Treatment::Drop(why) => self.warn(
                        &self.arg(option_at),
                        format!("`{name}` is left out on EMR Serverless: {why}"),
                    ),
                    Treatment::Refuse(why, fix) => {
                        self.refuse(&self.arg(option_at), format!("`{name}` {why}"), *fix)
                    }
                }
                j += 1;
                continue;
            }
            let Some((_, treatment)) = VALUE_OPTIONS.iter().find(|(n, _)| *n == name) else {
                self.refuse(
                    &self.arg(option_at),
                    format!("`{name}` is not a spark-submit option"),
                    "check the spelling (spark-submit --help lists its options), or put the application before \
                     its own options",
                );
                return None;
            };
            let value = match inline {
                Some(v) => v,
                None => {
                    j += 1;
                    let Some(v) = args.get(j) else {
                        self.refuse(
                            &self.arg(option_at),
                            format!("`{name}` has no value"),
                            format!("give `{name}` its value as the next argument"),
                        );
                        return None;
                    };
                    v.clone()
                }
            };
            j += 1;
            let is_conf = name == "--conf" || name == "-c";
            let conf_key = value.split_once('=').map(|(k, _)| k.trim());
            match treatment {
                Treatment::Keep
                    if is_conf && conf_key.is_some_and(|k| CLUSTER_CHOICE_CONFS.contains(&k)) =>
                {
                    self.warn(
                        &self.arg(option_at),
                        format!("`{name} {value}` is left out on EMR Serverless: {CLUSTER_CHOICE}"),
                    )
                }
                Treatment::Keep => {
                    parameters.push(name.to_string());
                    parameters.push(shell_quote(&value));
                }
                Treatment::Drop(why) => self.warn(
                    &self.arg(option_at),
                    format!("`{name} {value}` is left out on EMR Serverless: {why}"),
                ),
                Treatment::Refuse(why, fix) => {
                    self.refuse(&self.arg(option_at), format!("`{name}` {why}"), *fix)
                }
            }
        }
        if self.errors.len() > errors_before {
            return None;
        }
        let Some(entry_point) = args.get(j) else {
            self.refuse(
                &self.at("arguments"),
                "spark-submit without an application",
                "give the application (an s3:// JAR or Python file) after spark-submit's options",
            );
            return None;
        };
        Some(JobDriver::SparkSubmit(SparkSubmit {
            entry_point: entry_point.clone(),
            entry_point_arguments: args[j + 1..].to_vec(),
            spark_submit_parameters: (!parameters.is_empty()).then(|| parameters.join(" ")),
        }))
    }

    fn hive_script(&mut self, args: &[String]) -> Option<JobDriver> {
        if args.get(1).map(String::as_str) != Some("--run-hive-script")
            || args.get(2).map(String::as_str) != Some("--args")
        {
            self.refuse(
                &self.at("arguments"),
                "hive-script runs a Hive script only as `hive-script --run-hive-script --args -f s3://…`",
                "write the arguments as [\"hive-script\", \"--run-hive-script\", \"--args\", \"-f\", \"s3://…/query.q\", …]",
            );
            return None;
        }
        let mut query = None;
        let mut init = None;
        let mut parameters = Vec::new();
        let errors_before = self.errors.len();
        let mut j = 3;
        while j < args.len() {
            let option_at = j;
            let name = args[j].as_str();
            let Some(value) = args.get(j + 1) else {
                self.refuse(
                    &self.arg(option_at),
                    format!("`{name}` has no value"),
                    format!("give `{name}` its value as the next argument"),
                );
                return None;
            };
            j += 2;
            match name {
                "-f" | "-i" if !value.starts_with("s3://") => self.refuse(
                    &self.arg(option_at + 1),
                    format!("\"{value}\" is not on S3, and EMR Serverless reads Hive scripts from S3 only"),
                    "put the script on S3 and give its s3:// location",
                ),
                "-f" => query = Some(value.clone()),
                "-i" => init = Some(value.clone()),
                "-d" | "--define" | "--hivevar" => {
                    parameters.push(format!("--hivevar {}", shell_quote(value)))
                }
                "--hiveconf" => parameters.push(format!("--hiveconf {}", shell_quote(value))),
                _ => self.refuse(
                    &self.arg(option_at),
                    format!("`{name}` is not one of the Hive options EMR Serverless takes"),
                    "use -f (the script), -i (an init script), -d/--hivevar NAME=VALUE or --hiveconf NAME=VALUE",
                ),
            }
        }
        if self.errors.len() > errors_before {
            return None;
        }
        let Some(query) = query else {
            self.refuse(
                &self.at("arguments"),
                "a Hive step without a script (-f)",
                "give the script as \"-f\", \"s3://…/query.q\"",
            );
            return None;
        };
        Some(JobDriver::Hive(Hive {
            query,
            init_query_file: init,
            parameters: (!parameters.is_empty()).then(|| parameters.join(" ")),
        }))
    }
}

const S3_DIST_CP_FIX: &str =
    "copy with S3 itself (a Spark job reading and writing s3://, or `aws s3 cp` / S3 Batch \
                              Operations before the playbook)";

/// `value` as one word of a POSIX shell command line: as it is when it holds only letters, digits and
/// `@%+=:,./_-`, else in single quotes (a single quote inside written `'\''`). EMR Serverless reads
/// `sparkSubmitParameters` and Hive's `parameters` as one string of words.
pub fn shell_quote(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@%+=:,./_-".contains(&b));
    if plain {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests;
