//! `report`: the stack's runs of a period, one row per run (start, command, pipeline, outcome, duration,
//! instance-hours, cost) and their totals, as an aligned table, JSON for scripts, or CSV for spreadsheets.
//!
//! Each of the stack's state machines (`stack::Machine`) is listed newest first (ListExecutions), and no further
//! than the first page that reaches back past `--since`; each run in range is then described (DescribeExecution, a
//! few at once) for its input, and its output or failure Cause, which name the pipeline and carry the `cost`
//! (`crate::cost`).
//!
//! A run stopped, timed out by Step Functions, or failed without its own cleanup has no output and no Cause with a
//! cost: the stack records its cluster's final cost in its wait table (`<stack>-waits`) once the cluster has ended
//! (`dfr_core::cost::unfinished`), and the report reads those records with one Scan when some run lacks a cost. A
//! run on EMR Serverless has its cost (its job runs' together) in its output when it succeeded, and in the same
//! table, recorded when its application was deleted, whatever its outcome; its row shows vCPU-hours (JSON), no
//! instance-hours.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_sfn::config::retry::RetryConfig;
use aws_sdk_sfn::Client;
use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use serde_json::{json, Value};
use tokio::task::JoinSet;

use crate::cost::{cents, Cost, MARKS};
use crate::execute::Exit;
use crate::stack::{aws_error, Machine, Target};
use crate::view;

/// Executions asked for per ListExecutions call (Step Functions' default page; it may answer with fewer).
const PAGE: i32 = 100;
/// DescribeExecution calls under way at once. Step Functions throttles DescribeExecution per account and region
/// (a token bucket); a throttled call is retried by the SDK's standard retry, with exponential backoff and jitter.
const AT_ONCE: usize = 4;
/// Attempts of each call before a throttled or failed one is given up (the SDK's default is 3).
const ATTEMPTS: u32 = 8;

/// `report`'s flags.
#[derive(clap::Args)]
pub struct ReportArgs {
    /// The runs that started since: an age (7d, 36h, 90m) or a time (RFC 3339, e.g. 2026-11-01T00:00:00Z, or a
    /// date, 2026-11-01, UTC). Step Functions keeps an execution for 90 days after it ends: older runs are gone.
    #[arg(long, value_name = "AGE|TIME", default_value = "7d", value_parser = Since::parse)]
    since: Since,
    /// Only the runs of this pipeline: the cluster's name (for run and down, that of the cluster an up in the
    /// report launched), else the cluster id.
    #[arg(long, value_name = "NAME")]
    pipeline: Option<String>,
    /// The stack whose state machines to read (default: $DATAFLOW_RUNNER_STACK, else dataflow-runner).
    #[arg(long, value_name = "NAME")]
    stack: Option<String>,
    /// text: an aligned table and the totals; json: {"since", "runs": [...], "totals"}; csv: one row per run under a
    /// header row (RFC 4180), for spreadsheets (no totals row: the sheet adds up).
    #[arg(long, value_enum, default_value = "text")]
    output: Format,
}

/// How `report` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Csv,
}

/// Where the report starts: an age counted back from now, or a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    Ago(Duration),
    At(DateTime<Utc>),
}

impl Since {
    /// `7d`, `36h`, `90m`, an RFC 3339 time or a date (midnight UTC).
    pub fn parse(text: &str) -> Result<Since, String> {
        let text = text.trim();
        let unit = text.chars().last().unwrap_or(' ');
        let number = &text[..text.len() - unit.len_utf8().min(text.len())];
        if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) {
            let n: i64 = number
                .parse()
                .map_err(|_| format!("{text}: too far back"))?;
            let age = match unit {
                'd' => Duration::try_days(n),
                'h' => Duration::try_hours(n),
                'm' => Duration::try_minutes(n),
                _ => return Err(Self::usage(text)),
            };
            return age.map(Since::Ago).ok_or(format!("{text}: too far back"));
        }
        if let Ok(t) = DateTime::parse_from_rfc3339(text) {
            return Ok(Since::At(t.to_utc()));
        }
        match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(d) => Ok(Since::At(d.and_time(chrono::NaiveTime::MIN).and_utc())),
            Err(_) => Err(Self::usage(text)),
        }
    }

    fn usage(text: &str) -> String {
        format!(
            "\"{text}\": give an age in days, hours or minutes (7d, 36h, 90m) or a time (2026-11-01T00:00:00Z, or \
             2026-11-01 for midnight UTC)"
        )
    }

    /// The moment the report starts at, `now` being now.
    pub fn moment(self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Since::Ago(age) => now - age,
            Since::At(t) => t,
        }
    }
}

/// An execution as ListExecutions gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub command: &'static str,
    pub name: String,
    pub arn: String,
    pub status: String,
    pub start: DateTime<Utc>,
    pub stop: Option<DateTime<Utc>>,
}

/// What DescribeExecution adds: the input, and the output or the failure's error and Cause (JSON text).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Details {
    pub status: String,
    pub stop: Option<DateTime<Utc>>,
    pub input: Option<String>,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub command: &'static str,
    pub name: String,
    pub arn: String,
    pub status: String,
    pub error: Option<String>,
    pub start: DateTime<Utc>,
    pub stop: Option<DateTime<Utc>>,
    /// The cluster's name as the execution knows it: its input's ClusterConfig, else its output's `clusterName`.
    pub cluster_name: Option<String>,
    pub cluster_id: Option<String>,
    /// The cluster's name, else its id (a serverless run's application id): set by [`name_pipelines`].
    pub pipeline: Option<String>,
    pub cost: Option<Cost>,
    /// The `cost` object as the run wrote it, for `--output json`.
    pub cost_json: Option<Value>,
}

impl Run {
    /// A row from what ListExecutions said and, unless DescribeExecution failed, what it added.
    pub fn new(listed: Listed, details: Option<Details>) -> Run {
        let details = details.unwrap_or_else(|| Details {
            status: listed.status.clone(),
            stop: listed.stop,
            ..Details::default()
        });
        let parse = |text: &Option<String>| {
            text.as_deref()
                .and_then(|t| serde_json::from_str::<Value>(t).ok())
                .unwrap_or(Value::Null)
        };
        let input = parse(&details.input);
        // The output of a success, else the Cause of a failure: both name the cluster and carry the cost.
        let ended = match parse(&details.output) {
            Value::Null => parse(&details.cause),
            output => output,
        };
        let text = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_string);
        let cost = Cost::of(&ended);
        Run {
            command: listed.command,
            name: listed.name,
            arn: listed.arn,
            status: details.status,
            error: details.error,
            start: listed.start,
            stop: details.stop.or(listed.stop),
            cluster_name: named_cluster(&input).or_else(|| text(&ended["clusterName"])),
            // A serverless run's output and Cause name its application instead.
            cluster_id: text(&ended["clusterId"])
                .or_else(|| text(&input["clusterId"]))
                .or_else(|| text(&ended["applicationId"])),
            pipeline: None,
            cost_json: cost.as_ref().map(|_| ended["cost"].clone()),
            cost,
        }
    }

    /// `SUCCEEDED`, `FAILED StepFailed`, `TIMED_OUT`, `ABORTED`, `RUNNING`.
    pub fn outcome(&self) -> String {
        match (&self.error, self.status.as_str()) {
            (Some(e), "FAILED") if !e.is_empty() => format!("FAILED {e}"),
            (_, status) => status.to_string(),
        }
    }

    /// From start to stop, to the second; `None` while it runs.
    pub fn seconds(&self) -> Option<i64> {
        self.stop
            .map(|stop| ((stop - self.start).num_milliseconds() + 500).div_euclid(1000))
    }
}

/// The cluster name of a ClusterConfig in an execution input (an object, or the file's text), unless it is still a
/// template (an input with `"rendered": false` renders it in the functions).
fn named_cluster(input: &Value) -> Option<String> {
    let config = match &input["cluster"] {
        Value::String(text) => serde_json::from_str(text).unwrap_or(Value::Null),
        other => other.clone(),
    };
    config["data"]["name"]
        .as_str()
        .filter(|n| !n.is_empty() && !n.contains("{{"))
        .map(str::to_string)
}

/// Each run's pipeline: its cluster's name; for `run` and `down`, which know only the cluster id, the name an `up`
/// (or `run-transient`) of the report gave that cluster; else the cluster id.
pub fn name_pipelines(runs: &mut [Run]) {
    let names: BTreeMap<String, String> = runs
        .iter()
        .filter_map(|r| Some((r.cluster_id.clone()?, r.cluster_name.clone()?)))
        .collect();
    for r in runs {
        r.pipeline = r
            .cluster_name
            .clone()
            .or_else(|| r.cluster_id.as_ref().and_then(|id| names.get(id).cloned()))
            .or_else(|| r.cluster_id.clone());
    }
}

/// What the runs of the report add up to.
#[derive(Debug, Clone, PartialEq)]
pub struct Totals {
    pub runs: usize,
    /// Runs per outcome (`FAILED StepFailed` apart from `FAILED LockHeld`).
    pub outcomes: BTreeMap<String, usize>,
    /// Of the runs with a cost; `None` when none has one.
    pub instance_hours: Option<f64>,
    /// Of the runs with a price; `None` when none has one.
    pub usd: Option<f64>,
    /// Some run's `usd` is a lower bound, not final, or missing although the run has a cost.
    pub usd_is_lower_bound: bool,
    /// Runs without a cost: stopped, timed out or running, or from before the stack recorded costs.
    pub without_cost: usize,
}

/// Adds up the runs.
pub fn totals(runs: &[Run]) -> Totals {
    let costs: Vec<&Cost> = runs.iter().filter_map(|r| r.cost.as_ref()).collect();
    let mut outcomes = BTreeMap::new();
    for r in runs {
        *outcomes.entry(r.outcome()).or_insert(0) += 1;
    }
    let priced: Vec<f64> = costs.iter().filter_map(|c| c.usd).collect();
    Totals {
        runs: runs.len(),
        outcomes,
        instance_hours: (!costs.is_empty())
            .then(|| rounded(costs.iter().map(|c| c.instance_hours).sum())),
        usd: (!priced.is_empty()).then(|| rounded(priced.iter().sum())),
        usd_is_lower_bound: costs
            .iter()
            .any(|c| c.usd_is_lower_bound || !c.is_final || c.usd.is_none()),
        without_cost: runs.len() - costs.len(),
    }
}

/// To the 4 decimals a `cost` is written with, so that sums print without binary noise.
fn rounded(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `--output json`: `{"since", "runs": [...], "totals": {...}}`, each run with its `cost` as the run wrote it.
pub fn to_json(runs: &[Run], totals: &Totals, since: DateTime<Utc>) -> Value {
    let rows: Vec<Value> = runs
        .iter()
        .map(|r| {
            json!({
                "start": iso(r.start),
                "stop": r.stop.map(iso),
                "command": r.command,
                "pipeline": r.pipeline,
                "outcome": r.outcome(),
                "status": r.status,
                "error": r.error,
                "durationSeconds": r.seconds(),
                "instanceHours": r.cost.as_ref().filter(|c| !c.is_serverless()).map(|c| c.instance_hours),
                "vcpuHours": r.cost.as_ref().and_then(|c| c.vcpu_hours),
                "usd": r.cost.as_ref().and_then(|c| c.usd),
                "usdIsLowerBound": r.cost.as_ref().map(|c| c.usd_is_lower_bound),
                "costFinal": r.cost.as_ref().map(|c| c.is_final),
                "clusterId": r.cluster_id,
                "name": r.name,
                "executionArn": r.arn,
                "cost": r.cost_json,
            })
        })
        .collect();
    json!({
        "since": iso(since),
        "runs": rows,
        "totals": {
            "runs": totals.runs,
            "outcomes": totals.outcomes,
            "instanceHours": totals.instance_hours,
            "usd": totals.usd,
            "usdIsLowerBound": totals.usd_is_lower_bound,
            "runsWithoutCost": totals.without_cost,
        }
    })
}

/// The CSV columns, in order; the values are [`to_json`]'s, blank for null.
const CSV_COLUMNS: [&str; 15] = [
    "start",
    "stop",
    "command",
    "pipeline",
    "outcome",
    "status",
    "error",
    "durationSeconds",
    "instanceHours",
    "usd",
    "usdIsLowerBound",
    "costFinal",
    "clusterId",
    "name",
    "executionArn",
];

/// `--output csv`: a header row, then one row per run (RFC 4180, CRLF line ends, fields quoted where they need it),
/// times in ISO 8601 UTC, numbers plain (no currency symbol, no thousands separator), blank for none.
pub fn to_csv(json: &Value) -> String {
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    out.write_record(CSV_COLUMNS).expect("writes to memory");
    for row in json["runs"].as_array().into_iter().flatten() {
        let fields = CSV_COLUMNS.map(|c| match &row[c] {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        out.write_record(&fields).expect("writes to memory");
    }
    String::from_utf8(out.into_inner().expect("writes to memory")).expect("UTF-8 fields")
}

/// `--output text`: an aligned table, the legend of the marks it uses, and the totals.
pub fn to_text(runs: &[Run], totals: &Totals, since: DateTime<Utc>) -> String {
    let header = [
        "START",
        "COMMAND",
        "PIPELINE",
        "OUTCOME",
        "DURATION",
        "INSTANCE-HOURS",
        "USD",
        "EXECUTION",
    ];
    let right = [false, false, false, false, true, true, true, false];
    let rows: Vec<[String; 8]> = runs
        .iter()
        .map(|r| {
            let or_dash = |s: Option<String>| s.unwrap_or_else(|| "-".into());
            [
                view::moment(r.start),
                r.command.to_string(),
                or_dash(r.pipeline.clone()),
                r.outcome(),
                or_dash(r.seconds().map(view::duration)),
                or_dash(
                    r.cost
                        .as_ref()
                        .filter(|c| !c.is_serverless())
                        .map(|c| format!("{:.2}", c.instance_hours)),
                ),
                or_dash(r.cost.as_ref().map(Cost::usd_cell)),
                r.name.clone(),
            ]
        })
        .collect();
    let mut text = String::new();
    if !rows.is_empty() {
        let width = |i: usize| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..header.len()).map(width).collect();
        let line = |cells: [&str; 8]| {
            let padded: Vec<String> = cells
                .iter()
                .enumerate()
                .map(|(i, c)| match right[i] {
                    true => format!("{c:>w$}", w = widths[i]),
                    false => format!("{c:<w$}", w = widths[i]),
                })
                .collect();
            format!("{}\n", padded.join("  ").trim_end())
        };
        text.push_str(&line(header));
        for r in &rows {
            text.push_str(&line(r.each_ref().map(String::as_str)));
        }
        for (mark, meaning) in MARKS {
            if rows.iter().any(|r| r[6].contains(mark)) {
                text.push_str(&format!("{mark} {meaning}\n"));
            }
        }
    }
    text.push_str(&totals_line(totals, since));
    text.push('\n');
    text
}

/// `total since …: 5 runs (1 ABORTED, 2 SUCCEEDED, …); 3.01 instance-hours, ≈ $0.75; 2 runs without a cost`.
fn totals_line(totals: &Totals, since: DateTime<Utc>) -> String {
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let mut text = format!(
        "total since {}: {}",
        view::moment(since),
        plural(totals.runs, "run")
    );
    if totals.runs == 0 {
        return text;
    }
    let outcomes: Vec<String> = totals
        .outcomes
        .iter()
        .map(|(o, n)| format!("{n} {o}"))
        .collect();
    text.push_str(&format!(" ({})", outcomes.join(", ")));
    if let Some(hours) = totals.instance_hours {
        text.push_str(&format!("; {hours:.2} instance-hours"));
        text.push_str(&match (totals.usd, totals.usd_is_lower_bound) {
            (Some(usd), true) => format!(", at least ${} (estimate)", cents(usd)),
            (Some(usd), false) => format!(", ≈ ${} (estimate)", cents(usd)),
            (None, _) => ", not priced".into(),
        });
    }
    match totals.without_cost {
        0 => {}
        n if n == totals.runs => text.push_str("; no run has a cost"),
        n => text.push_str(&format!("; {} without a cost", plural(n, "run"))),
    }
    text
}

/// `report`: reads the runs, prints them. Exit 1 when the stack cannot be read, or when some run could not be
/// described (its row then has only what ListExecutions said).
pub async fn report(args: ReportArgs) -> Exit {
    let sfn = client().await;
    let target = Target::new(args.stack.clone(), None);
    let since = args.since.moment(Utc::now());
    let mut listed = Vec::new();
    let machines = match target.deployed_machines(&sfn).await {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Failed;
        }
    };
    for (machine, arn) in machines {
        match started_since(&sfn, machine, &arn, since).await {
            Ok(runs) => listed.extend(runs),
            Err(e) => {
                eprintln!("error: {e}");
                return Exit::Failed;
            }
        }
    }
    let (mut runs, problems) = describe_all(&sfn, listed).await;
    if runs.iter().any(lacks_recorded_cost) {
        let table = format!("{}-waits", target.stack);
        match recorded_costs(&table).await {
            Ok(recorded) => add_recorded_costs(&mut runs, &recorded),
            Err(e) => eprintln!(
                "warning: the costs of stopped and timed-out runs could not be read from {table}: {e} (their rows show -)"
            ),
        }
    }
    name_pipelines(&mut runs);
    if let Some(p) = &args.pipeline {
        runs.retain(|r| r.pipeline.as_deref() == Some(p.as_str()));
    }
    runs.sort_by(|a, b| b.start.cmp(&a.start).then_with(|| a.arn.cmp(&b.arn)));
    let totals = totals(&runs);
    match args.output {
        Format::Text => print!("{}", to_text(&runs, &totals, since)),
        Format::Json => println!("{}", to_json(&runs, &totals, since)),
        Format::Csv => print!("{}", to_csv(&to_json(&runs, &totals, since))),
    }
    for p in &problems {
        eprintln!("warning: {p} (its row has only what ListExecutions said)");
    }
    if problems.is_empty() {
        Exit::Success
    } else {
        Exit::Failed
    }
}

/// A run whose cost, if it has one, the stack recorded apart: it ended without writing an output or Cause with one.
fn lacks_recorded_cost(run: &Run) -> bool {
    run.cost.is_none() && matches!(run.status.as_str(), "ABORTED" | "TIMED_OUT" | "FAILED")
}

/// The cost the stack recorded for a run that ended without finishing, and the cluster it was recorded for.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedCost {
    pub cluster_id: String,
    pub cost: Value,
}

/// Gives each run that lacks a cost the one recorded for its execution, with its cluster.
pub fn add_recorded_costs(runs: &mut [Run], recorded: &HashMap<String, RecordedCost>) {
    for run in runs.iter_mut().filter(|r| lacks_recorded_cost(r)) {
        let Some(r) = recorded.get(&run.arn) else {
            continue;
        };
        let document = json!({ "cost": r.cost });
        if let Some(cost) = Cost::of(&document) {
            run.cost = Some(cost);
            run.cost_json = Some(r.cost.clone());
            run.cluster_id.get_or_insert_with(|| r.cluster_id.clone());
        }
    }
}

/// Every cost the stack recorded for a run that ended without finishing, by execution ARN (one paged Scan of the
/// wait table, which holds only live waits, notes and these records).
async fn recorded_costs(table: &str) -> Result<HashMap<String, RecordedCost>, String> {
    use aws_sdk_dynamodb::types::AttributeValue;
    use dfr_core::cost::unfinished as layout;
    let config = crate::aws::sdk_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let items = dfr_locks::all_pages::<_, _, String, _, _>(|start| {
        let dynamodb = dynamodb.clone();
        async move {
            let page = dynamodb
                .scan()
                .table_name(table)
                .filter_expression(
                    "waiter IN (:unfinished, :serverless) AND attribute_exists(#cost)",
                )
                // Only what a cost record needs: the table also holds waiting runs' task tokens, which never
                // leave it for the CLI (an operator's Scan can be limited to these attributes by IAM).
                .projection_expression("clusterId, waiter, #execution, #cost")
                .expression_attribute_names("#execution", layout::EXECUTION)
                .expression_attribute_names("#cost", layout::COST)
                .expression_attribute_values(
                    ":unfinished",
                    AttributeValue::S(layout::WAITER.into()),
                )
                .expression_attribute_values(
                    ":serverless",
                    AttributeValue::S(layout::SERVERLESS_WAITER.into()),
                )
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| aws_error("Scan", &e))?;
            Ok((page.items().to_vec(), page.last_evaluated_key().cloned()))
        }
    })
    .await?;
    let text = |item: &HashMap<String, AttributeValue>, key: &str| {
        item.get(key).and_then(|v| v.as_s().ok()).cloned()
    };
    Ok(items
        .iter()
        .filter_map(|item| {
            let cost = serde_json::from_str(&text(item, layout::COST)?).ok()?;
            Some((
                text(item, layout::EXECUTION)?,
                RecordedCost {
                    cluster_id: text(item, "clusterId")?,
                    cost,
                },
            ))
        })
        .collect())
}

/// The Step Functions client of `report`: more patient with throttling than the other commands, since it describes
/// many executions in a row.
async fn client() -> Client {
    let config = crate::aws::sdk_config().await;
    let config = aws_sdk_sfn::config::Builder::from(&config)
        .retry_config(RetryConfig::standard().with_max_attempts(ATTEMPTS))
        .build();
    Client::from_conf(config)
}

fn utc(t: &aws_sdk_sfn::primitives::DateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos()).unwrap_or_default()
}

/// The executions of one state machine that started at or after `since`: pages newest first, until one reaches
/// back past `since` (Step Functions lists executions by start time, newest first).
async fn started_since(
    sfn: &Client,
    machine: Machine,
    machine_arn: &str,
    since: DateTime<Utc>,
) -> Result<Vec<Listed>, String> {
    let mut found = Vec::new();
    let mut token = None;
    loop {
        let page = sfn
            .list_executions()
            .state_machine_arn(machine_arn)
            .max_results(PAGE)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| aws_error("ListExecutions", &e))?;
        let mut reached_back = false;
        for e in page.executions() {
            let start = utc(e.start_date());
            if start < since {
                reached_back = true;
                continue;
            }
            found.push(Listed {
                command: machine.command(),
                name: e.name().to_string(),
                arn: e.execution_arn().to_string(),
                status: e.status().as_str().to_string(),
                start,
                stop: e.stop_date().map(utc),
            });
        }
        token = page.next_token().map(str::to_string);
        if reached_back || token.is_none() {
            return Ok(found);
        }
    }
}

/// Describes every listed run, [`AT_ONCE`] at a time; the problems of those that could not be described.
async fn describe_all(sfn: &Client, listed: Vec<Listed>) -> (Vec<Run>, Vec<String>) {
    let mut waiting = listed.into_iter();
    let mut under_way = JoinSet::new();
    let describe = |set: &mut JoinSet<_>, l: Listed| {
        let sfn = sfn.clone();
        set.spawn(async move {
            let details = describe(&sfn, &l.arn).await;
            (l, details)
        });
    };
    for l in waiting.by_ref().take(AT_ONCE) {
        describe(&mut under_way, l);
    }
    let (mut runs, mut problems) = (Vec::new(), Vec::new());
    while let Some(done) = under_way.join_next().await {
        let (l, details) = done.expect("describing an execution does not panic");
        match details {
            Ok(d) => runs.push(Run::new(l, Some(d))),
            Err(e) => {
                problems.push(format!("{}: {e}", l.name));
                runs.push(Run::new(l, None));
            }
        }
        if let Some(next) = waiting.next() {
            describe(&mut under_way, next);
        }
    }
    (runs, problems)
}

async fn describe(sfn: &Client, arn: &str) -> Result<Details, String> {
    let d = sfn
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .map_err(|e| aws_error("DescribeExecution", &e))?;
    Ok(Details {
        status: d.status().as_str().to_string(),
        stop: d.stop_date().map(utc),
        input: d.input().map(str::to_string),
        output: d.output().map(str::to_string),
        error: d.error().map(str::to_string),
        cause: d.cause().map(str::to_string),
    })
}

#[cfg(test)]
mod tests;
