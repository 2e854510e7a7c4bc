//! The hostile-input corpus (`tests/corpus/`, described in its README): every case is fed to the real handler it
//! names, as its binary would feed it (decode, then the handler), with the real aws-sdk-emr client against the EMR
//! emulator under the deployed stack's IAM. Each must fail with its error name and message fragments, and leave EMR
//! untouched: no request at all for `InvalidConfig` (or `ConfigNotFound`), no write that succeeded otherwise, and
//! every cluster as it was.
//!
//! Cases that depend on a bound another part of the project provides (`dependsOn`) run in a child process, so a
//! case that crashes the process (a stack overflow) is reported as that case's failure.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;
use dfr_lambda::add_steps::{add_steps, AddStepsEvent};
use dfr_lambda::check::{check_status, CheckEvent};
use dfr_lambda::launch::{launch_cluster, LaunchEvent};
use dfr_lambda::runtime::{decode, encode};
use dfr_lambda::source::{ObjectStore, S3Scope};
use dfr_lambda::terminate::{terminate, TerminateEvent};
use dfr_lambda::Error;
use emr_emulator::EmulatorHandle;
use gotemplate::SystemClock;
use serde::Deserialize;
use serde_json::{json, Map, Value};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/corpus");
/// The corpus may grow; it may not shrink below this (the README says "at least").
const MIN_CASES: usize = 60;
/// An error message longer than this is itself a defect: it ends up in an execution's cause and in logs.
const MAX_MESSAGE_CHARS: usize = 4096;
/// The stack's config location, as `DFR_CONFIG_BUCKET`/`DFR_CONFIG_PREFIX` would give it.
const CONFIG_BUCKET: &str = "configs";
const CONFIG_PREFIX: &str = "dfr/";
/// Set in the child process that runs one isolated case.
const CASE_VAR: &str = "DFR_CORPUS_CASE";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Case {
    description: String,
    category: Category,
    handler: Handler,
    /// The event, but for the configs the handler reads: those come from `cluster`/`playbook`, a file of the case,
    /// or `base/` (unless the event gives them itself).
    #[serde(default)]
    event: Map<String, Value>,
    /// Changes to the event once its configs are filled in (a list of 257 step ids is one `grow`).
    #[serde(default)]
    event_patch: Vec<Op>,
    #[serde(default)]
    cluster: Option<Source>,
    #[serde(default)]
    playbook: Option<Source>,
    /// Objects the config location serves: `s3://` URI → content.
    #[serde(default)]
    s3: BTreeMap<String, Source>,
    /// Clusters that exist before the case runs; their ids replace `$OWN_CLUSTER`, `$FOREIGN_CLUSTER`,
    /// `$OTHER_STACKS_CLUSTER` (and `$OWN_EXECUTION`, `$OTHER_STACKS_EXECUTION`) in the event.
    #[serde(default)]
    setup: Vec<Setup>,
    expect: Expect,
    /// The part of the project whose bounds this case needs (it runs isolated, see the module doc).
    #[serde(default)]
    depends_on: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Category {
    /// Malformed events: unknown fields, wrong lifecycle, missing run key, ids and regions that are not.
    Event,
    /// A value of the wrong type in a config.
    Types,
    /// An enum with a value it does not have.
    Enums,
    /// A number or a list outside its bounds.
    Bounds,
    /// A key no schema has, at each level.
    UnknownKeys,
    /// Broken or runaway templates, missing vars, env and files.
    Templates,
    /// Bytes that are not UTF-8, binary files, nesting, size.
    Encoding,
    /// Wrong `schema` URIs and versions.
    Schema,
    /// Clusters and executions that are not this stack's, or do not exist.
    Ownership,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Handler {
    LaunchCluster,
    AddSteps,
    CheckStatus,
    TerminateCluster,
}

/// A cluster that exists before a case runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
enum Setup {
    /// A persistent cluster this stack launched (run key `own`, an `up` execution).
    #[serde(rename = "ownCluster")]
    Own,
    /// A cluster someone else launched, without any of this stack's tags.
    #[serde(rename = "foreignCluster")]
    Foreign,
    /// A cluster another stack of Dataflow Runner launched: managed, tagged with that stack's execution.
    #[serde(rename = "otherStacksCluster")]
    OtherStacks,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    error: String,
    /// Fragments the message must contain (the file or JSON path, what is wrong, the fix).
    message: Vec<String>,
    /// Fragments it must not contain (a secret, a dump of the input).
    #[serde(default)]
    absent: Vec<String>,
}

/// A config's (or an object's) content.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Source {
    /// A file of the case, else of `base/`, as it is.
    File(String),
    /// A file whose `replace` text is replaced with generated text.
    Replaced {
        file: String,
        replace: String,
        with: Piece,
    },
    /// A config object: `base/<slot>.json` (or `file`) with patch operations applied, given inline.
    Patched {
        #[serde(default)]
        file: Option<String>,
        patch: Vec<Op>,
    },
}

/// Generated text.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Piece {
    Text { text: String },
    Repeat { repeat: String, times: usize },
    Concat(Vec<Piece>),
}

impl Piece {
    fn write(&self, out: &mut String) {
        match self {
            Piece::Text { text } => out.push_str(text),
            Piece::Repeat { repeat, times } => out.push_str(&repeat.repeat(*times)),
            Piece::Concat(pieces) => pieces.iter().for_each(|p| p.write(out)),
        }
    }
}

/// One change to a JSON document, at a JSON Pointer.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Op {
    /// Sets the value (adding the last member if it is missing; `-` appends to a list).
    Set {
        set: String,
        to: Value,
    },
    Remove {
        remove: String,
    },
    /// Grows the list to `to` items with copies of its last one.
    Grow {
        grow: String,
        to: usize,
    },
}

/// What a case's handler was given and what it did.
struct Outcome {
    /// The setup's names (`$OWN_CLUSTER` → its id), for the expected fragments too.
    names: BTreeMap<&'static str, String>,
    result: Result<Value, Error>,
    /// The emulator's record of the case's own requests (setup excluded).
    requests: Vec<emr_emulator::RecordedRequest>,
    clusters_before: Vec<(String, String)>,
    clusters_after: Vec<(String, String)>,
}

/// The config location's objects, read through the same scope check as the functions' S3 client.
struct CorpusS3 {
    scope: S3Scope,
    objects: BTreeMap<String, Vec<u8>>,
}

impl ObjectStore for CorpusS3 {
    async fn get_bytes(&self, bucket: &str, key: &str) -> Result<Vec<u8>, Error> {
        self.scope.check(bucket, key)?;
        let uri = format!("s3://{bucket}/{key}");
        self.objects.get(&uri).cloned().ok_or_else(|| {
            Error::ConfigNotFound(format!(
                "{uri}: GetObject: NoSuchKey: The specified key does not exist."
            ))
        })
    }
}

fn corpus() -> PathBuf {
    Path::new(CORPUS).to_path_buf()
}

/// Every case's name (`<nn>-<slug>`, a `.json` file or a directory with `case.json`), in order.
fn case_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(corpus())
        .expect("tests/corpus exists")
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.len() > 4 && n.as_bytes()[..3].iter().all(u8::is_ascii_digit))
        .map(|n| n.trim_end_matches(".json").to_string())
        .collect();
    names.sort();
    names
}

fn case_dir(name: &str) -> Option<PathBuf> {
    let dir = corpus().join(name);
    dir.is_dir().then_some(dir)
}

fn load_case(name: &str) -> Case {
    let path = match case_dir(name) {
        Some(dir) => dir.join("case.json"),
        None => corpus().join(format!("{name}.json")),
    };
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// A file of the case (its directory first) or of `base/`.
fn read_file(name: &str, file: &str) -> Option<Vec<u8>> {
    case_dir(name)
        .map(|d| d.join(file))
        .filter(|p| p.exists())
        .or_else(|| Some(corpus().join("base").join(file)).filter(|p| p.exists()))
        .map(|p| std::fs::read(p).unwrap())
}

fn text(name: &str, file: &str) -> String {
    let bytes = read_file(name, file).unwrap_or_else(|| panic!("{name}: no file {file}"));
    String::from_utf8(bytes).unwrap_or_else(|_| {
        panic!("{name}: {file} is not UTF-8: an event carries text; serve it from s3")
    })
}

/// A source as the bytes of a file or object.
fn bytes_of(name: &str, slot: &str, source: &Source) -> Vec<u8> {
    match source {
        Source::File(file) => {
            read_file(name, file).unwrap_or_else(|| panic!("{name}: no file {file}"))
        }
        Source::Replaced {
            file,
            replace,
            with,
        } => {
            let original = text(name, file);
            assert!(
                original.contains(replace.as_str()),
                "{name}: {file} has no {replace:?}"
            );
            let mut generated = String::new();
            with.write(&mut generated);
            original
                .replacen(replace.as_str(), &generated, 1)
                .into_bytes()
        }
        Source::Patched { .. } => value_of(name, slot, source).to_string().into_bytes(),
    }
}

/// A source as the event carries it: text, or an inline object when patched.
fn value_of(name: &str, slot: &str, source: &Source) -> Value {
    match source {
        Source::Patched { file, patch } => {
            let file = file.clone().unwrap_or(format!("{slot}.json"));
            let mut doc: Value = serde_json::from_str(&text(name, &file))
                .unwrap_or_else(|e| panic!("{name}: {file} must be JSON to patch it: {e}"));
            for op in patch {
                apply(&mut doc, op).unwrap_or_else(|e| panic!("{name}: {op:?}: {e}"));
            }
            doc
        }
        other => Value::String(
            String::from_utf8(bytes_of(name, slot, other)).unwrap_or_else(|_| {
                panic!("{name}: the {slot} is not UTF-8: an event carries text; serve it from s3")
            }),
        ),
    }
}

fn apply(doc: &mut Value, op: &Op) -> Result<(), String> {
    let pointer = match op {
        Op::Set { set, .. } => set,
        Op::Remove { remove } => remove,
        Op::Grow { grow, .. } => grow,
    };
    if let Op::Grow { to, .. } = op {
        let list = doc
            .pointer_mut(pointer)
            .and_then(Value::as_array_mut)
            .ok_or("not a list")?;
        let last = list.last().cloned().ok_or("an empty list")?;
        list.resize(*to, last);
        return Ok(());
    }
    let (parent, last) = pointer.rsplit_once('/').ok_or("not a JSON Pointer")?;
    let last = last.replace("~1", "/").replace("~0", "~");
    let parent = doc.pointer_mut(parent).ok_or("no such parent")?;
    match (op, parent) {
        (Op::Set { to, .. }, Value::Object(m)) => {
            m.insert(last, to.clone());
        }
        (Op::Set { to, .. }, Value::Array(a)) if last == "-" => a.push(to.clone()),
        (Op::Set { to, .. }, Value::Array(a)) => {
            *a.get_mut(last.parse::<usize>().map_err(|e| e.to_string())?)
                .ok_or("no such item")? = to.clone()
        }
        (Op::Remove { .. }, Value::Object(m)) => {
            m.shift_remove(&last).ok_or("no such member")?;
        }
        (Op::Remove { .. }, Value::Array(a)) => {
            a.remove(last.parse::<usize>().map_err(|e| e.to_string())?);
        }
        _ => return Err("the parent is neither an object nor a list".into()),
    }
    Ok(())
}

/// `$NAME` placeholders replaced with what the setup made.
fn substitute(text: &str, names: &BTreeMap<&str, String>) -> String {
    let mut text = text.to_string();
    // Longest first, so that no name is eaten by a shorter one it starts with.
    let mut names: Vec<_> = names.iter().collect();
    names.sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));
    for (k, v) in names {
        text = text.replace(k, v);
    }
    text
}

/// The event the handler gets: the case's, with the configs filled in where the handler reads them.
fn event_of(name: &str, case: &Case) -> Value {
    let mut event = case.event.clone();
    let own = |file: &str| case_dir(name).is_some_and(|d| d.join(file).exists());
    let mut fill = |slot: &str, source: &Option<Source>, needed: bool| {
        if event.contains_key(slot) {
            return;
        }
        let value = match source {
            Some(s) => value_of(name, slot, s),
            None if own(&format!("{slot}.json")) || needed => {
                value_of(name, slot, &Source::File(format!("{slot}.json")))
            }
            None => return,
        };
        event.insert(slot.to_string(), value);
    };
    // A serverless event carries its configs itself (the base ones are for clusters).
    let serverless = case.event.get("target") == Some(&json!("serverless"));
    match case.handler {
        _ if serverless => {}
        Handler::LaunchCluster => {
            let transient = case.event.get("lifecycle") == Some(&json!("transient"));
            fill("cluster", &case.cluster, true);
            fill("playbook", &case.playbook, transient);
        }
        Handler::AddSteps => fill("playbook", &case.playbook, true),
        Handler::CheckStatus | Handler::TerminateCluster => {}
    }
    let mut event = Value::Object(event);
    for op in &case.event_patch {
        apply(&mut event, op).unwrap_or_else(|e| panic!("{name}: {op:?}: {e}"));
    }
    event
}

fn clusters(h: &EmulatorHandle) -> Vec<(String, String)> {
    h.clusters()
        .into_iter()
        .map(|c| (c.id, c.state.to_string()))
        .collect()
}

/// Runs one case through its handler, as the function's binary would: decode, pick the region's client, handle.
async fn run(name: &str, case: &Case) -> Outcome {
    let h = emulator(json!({})).await;
    let aws = aws(&h, false).await;
    let mut names: BTreeMap<&'static str, String> = BTreeMap::new();
    for setup in &case.setup {
        match setup {
            Setup::Own => {
                names.insert("$OWN_CLUSTER", up(&aws, &h, "own", "own").await);
                names.insert("$OWN_EXECUTION", execution_arn("up", "own"));
            }
            Setup::Foreign => {
                let id = aws
                    .operator
                    .emr(None)
                    .launch_unmanaged_for_test("someone-elses")
                    .await;
                names.insert("$FOREIGN_CLUSTER", id);
            }
            Setup::OtherStacks => {
                let arn =
                    format!("arn:aws:states:eu-west-1:{ACCOUNT}:execution:other-stack-up:theirs");
                let tags = [
                    ("dataflow-runner:managed", "true"),
                    ("dataflow-runner:execution", arn.as_str()),
                    ("dataflow-runner:run-key", "theirs#1"),
                ];
                let id = aws
                    .operator
                    .emr(None)
                    .launch_tagged_for_test("other-stacks", &tags)
                    .await;
                names.insert("$OTHER_STACKS_CLUSTER", id);
                names.insert("$OTHER_STACKS_EXECUTION", arn);
            }
        }
    }
    let event: Value =
        serde_json::from_str(&substitute(&event_of(name, case).to_string(), &names)).unwrap();
    let store = CorpusS3 {
        scope: S3Scope {
            bucket: Some(CONFIG_BUCKET.into()),
            prefix: CONFIG_PREFIX.into(),
        },
        objects: case
            .s3
            .iter()
            .map(|(uri, source)| (uri.clone(), bytes_of(name, "object", source)))
            .collect(),
    };
    let clusters_before = clusters(&h);
    h.clear_requests();
    let now = now(&h);
    let result = if dfr_lambda::serverless::is_serverless(&event) {
        run_serverless(case.handler, event, &aws, &store, now).await
    } else {
        run_cluster(case.handler, event, &aws, &store, now).await
    };
    Outcome {
        names,
        result,
        requests: h.requests(),
        clusters_before,
        clusters_after: clusters(&h),
    }
}

/// A `"target": "serverless"` event through the serverless handler its function's binary picks for it.
async fn run_serverless(
    handler: Handler,
    event: Value,
    aws: &Stack,
    store: &CorpusS3,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Value, Error> {
    use dfr_lambda::serverless::{check, cleanup, launch, start};
    match handler {
        Handler::LaunchCluster => {
            let e: launch::LaunchEvent = decode("launch-cluster", event)?;
            let serverless_for = |r: Option<&str>| aws.launch.emr_serverless(r);
            encode(&launch::launch(&e, serverless_for, store, &SystemClock, &stack()).await?)
        }
        Handler::AddSteps => {
            let e: start::StartEvent = decode("add-steps", event)?;
            encode(&start::start(&e, &aws.add.emr_serverless(e.region.as_deref())).await?)
        }
        Handler::CheckStatus => {
            let e: check::CheckEvent = decode("check-status", event)?;
            let port = aws.check.emr_serverless(e.region.as_deref());
            encode(&check::check(&e, &port, &aws.check.list_prices(), now, 0.0).await?)
        }
        Handler::TerminateCluster => {
            let e: cleanup::CleanupEvent = decode("terminate-cluster", event)?;
            encode(&cleanup::cleanup(&e, &aws.terminate.emr_serverless(e.region.as_deref())).await?)
        }
    }
}

/// A cluster's event through its function's handler.
async fn run_cluster(
    handler: Handler,
    event: Value,
    aws: &Stack,
    store: &CorpusS3,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Value, Error> {
    match handler {
        Handler::LaunchCluster => match decode::<LaunchEvent>("launch-cluster", event) {
            Ok(e) => launch_cluster(
                &e,
                |r| aws.launch.emr(r),
                store,
                &SystemClock,
                &stack(),
                now,
            )
            .await
            .and_then(|o| encode(&o)),
            Err(e) => Err(e),
        },
        Handler::AddSteps => match decode::<AddStepsEvent>("add-steps", event) {
            Ok(e) => {
                let emr = aws.add.emr(e.region.as_deref());
                add_steps(&e, &emr, store, &SystemClock, now)
                    .await
                    .and_then(|o| encode(&o))
            }
            Err(e) => Err(e),
        },
        Handler::CheckStatus => match decode::<CheckEvent>("check-status", event) {
            Ok(e) => {
                let emr = aws.check.emr(e.region.as_deref());
                check_status(&e, &emr, &common::NoPrices, now, 0.0)
                    .await
                    .and_then(|o| encode(&o))
            }
            Err(e) => Err(e),
        },
        Handler::TerminateCluster => match TerminateEvent::parse(&event) {
            Ok(e) => terminate(
                &e,
                |r| aws.terminate.emr(r),
                |r| aws.terminate.emr_serverless(r),
                &Noted::default(),
                &common::NoPrices,
                &stack(),
                now,
            )
            .await
            .and_then(|o| encode(&o)),
            Err(e) => Err(e),
        },
    }
}

/// Reads are Describe*, List* and Get*; anything else changes something.
fn is_write(operation: &str) -> bool {
    !["Describe", "List", "Get"]
        .iter()
        .any(|p| operation.starts_with(p))
}

/// What is wrong with an outcome, if anything.
fn judge(case: &Case, outcome: &Outcome) -> Vec<String> {
    let mut problems = Vec::new();
    match &outcome.result {
        Ok(output) => problems.push(format!("succeeded instead of failing: {output}")),
        Err(e) => {
            let message = e.to_string();
            if e.name() != case.expect.error {
                problems.push(format!(
                    "{} instead of {}: {message}",
                    e.name(),
                    case.expect.error
                ));
            }
            for fragment in &case.expect.message {
                let fragment = substitute(fragment, &outcome.names);
                if !message.contains(fragment.as_str()) {
                    problems.push(format!("the message lacks {fragment:?}: {message}"));
                }
            }
            for fragment in &case.expect.absent {
                if message.contains(substitute(fragment, &outcome.names).as_str()) {
                    problems.push(format!("the message contains {fragment:?}"));
                }
            }
            if message.chars().count() > MAX_MESSAGE_CHARS {
                problems.push(format!(
                    "the message has {} characters (at most {MAX_MESSAGE_CHARS}): {}…",
                    message.chars().count(),
                    message.chars().take(300).collect::<String>()
                ));
            }
        }
    }
    // A config that is invalid or cannot be read stops everything before EMR is asked anything.
    let before_emr = ["InvalidConfig", "ConfigNotFound"].contains(&case.expect.error.as_str());
    for r in &outcome.requests {
        let succeeded = r.status.is_some_and(|s| (200..300).contains(&s));
        if before_emr {
            problems.push(format!(
                "an input that is {} reached EMR: {} ({:?})",
                case.expect.error, r.operation, r.status
            ));
        } else if is_write(&r.operation) && succeeded {
            problems.push(format!("a write succeeded: {} {}", r.operation, r.body));
        }
    }
    if outcome.clusters_after != outcome.clusters_before {
        problems.push(format!(
            "clusters changed: {:?} → {:?}",
            outcome.clusters_before, outcome.clusters_after
        ));
    }
    problems
}

/// Runs an isolated case in a child process (this test binary, `isolated_case` only). Its end is bounded by the
/// counted limits it depends on, not by a deadline here: a case whose bound is missing hangs the run, where a
/// deadline would fail at random on a loaded machine.
fn run_isolated(name: &str) -> Vec<String> {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            "isolated_case",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CASE_VAR, name)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() && said.contains(&passed_marker(name)) {
        return Vec::new();
    }
    let tail: Vec<&str> = said.lines().rev().take(12).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    vec![format!(
        "the process ended with {} (a crash, such as a stack overflow, if no case failure is shown):\n      {}",
        out.status,
        tail.join("\n      ")
    )]
}

fn passed_marker(name: &str) -> String {
    format!("corpus case {name} passed")
}

#[tokio::test]
async fn every_hostile_input_fails_with_its_error_and_changes_nothing_in_emr() {
    let names = case_names();
    assert!(
        names.len() >= MIN_CASES,
        "the corpus has {} cases; it must have at least {MIN_CASES}",
        names.len()
    );
    let mut by_category: BTreeMap<Category, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for name in &names {
        let case = load_case(name);
        *by_category.entry(case.category).or_default() += 1;
        let problems = if case.depends_on.is_some() {
            run_isolated(name)
        } else {
            let outcome = run(name, &case).await;
            if let Err(e) = &outcome.result {
                // What a person reading the execution's cause would see (shown with --nocapture).
                println!(
                    "{name}: {}: {}",
                    e.name(),
                    e.to_string().replace('\n', "\n    ")
                );
            }
            judge(&case, &outcome)
        };
        let verdict = if problems.is_empty() { "ok" } else { "FAILED" };
        println!(
            "{name}: {verdict} ({:?}, {:?})",
            case.category, case.handler
        );
        if !problems.is_empty() {
            let depends = case
                .depends_on
                .as_ref()
                .map(|d| format!(" [depends on {d}]"))
                .unwrap_or_default();
            failures.push(format!(
                "{name}{depends}: {}\n    {}",
                case.description,
                problems.join("\n    ")
            ));
        }
    }
    println!("{} cases: {by_category:?}", names.len());
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}

/// Runs the case named by `DFR_CORPUS_CASE` (in the child process [`run_isolated`] starts); nothing otherwise.
#[tokio::test]
async fn isolated_case() {
    let Ok(name) = std::env::var(CASE_VAR) else {
        return;
    };
    let case = load_case(&name);
    let problems = judge(&case, &run(&name, &case).await);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    println!("{}", passed_marker(&name));
}
