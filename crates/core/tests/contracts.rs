//! The contracts that have one home in the core, compared with their other appearances: the numbers the
//! execution-input schema's prose states (its `default`, `minimum` and `maximum` are the options' one home, read by
//! `execution::defaults`), and the error names (`error_names`, the one list) as the four definitions,
//! statemachine/README.md, functions/README.md and the schema use them.

use std::collections::{BTreeMap, BTreeSet};

use dfr_core::error_names::{ErrorName, Origin};
use dfr_core::execution::defaults::{bounds, defaults, idle_timeout_seconds};
use dfr_core::execution::{
    validate_options, StateMachine, EVENTS_PER_BACKSTOP, EVENTS_PER_POLL, HISTORY_LIMIT,
    TIMED_CHECKS_BUDGET,
};
use dfr_core::status::{
    POLL_JITTER, STARTING_POLL_SECONDS, YOUNG_MAX_POLL_SECONDS, YOUNG_RUN_SECONDS,
};
use serde_json::{json, Value};

const SCHEMA: &str = include_str!("../../../schemas/execution-input.schema.json");
const CLUSTER_CONFIG: &str = include_str!(
    "../../../schemas/com.dataflowrunner.serverless-ClusterConfig-jsonschema-1-2-0.schema.json"
);
const DEFINITIONS: [(&str, &str); 7] = [
    (
        "run-transient",
        include_str!("../../../statemachine/run-transient.asl.json"),
    ),
    ("up", include_str!("../../../statemachine/up.asl.json")),
    ("run", include_str!("../../../statemachine/run.asl.json")),
    ("down", include_str!("../../../statemachine/down.asl.json")),
    (
        "serverless-run-transient",
        include_str!("../../../statemachine/serverless-run-transient.asl.json"),
    ),
    (
        "serverless-up",
        include_str!("../../../statemachine/serverless-up.asl.json"),
    ),
    (
        "serverless-down",
        include_str!("../../../statemachine/serverless-down.asl.json"),
    ),
];
const MACHINES_README: &str = include_str!("../../../statemachine/README.md");
const FUNCTIONS_README: &str = include_str!("../../../functions/README.md");

const DAY: u64 = 86_400;
const HOUR: u64 = 3_600;

fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("JSON")
}

fn definition(machine: &str) -> Value {
    json(DEFINITIONS.iter().find(|(m, _)| *m == machine).unwrap().1)
}

/// Every state of a definition, a Map's iteration's included, by name.
fn all_states(def: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (name, s) in def["States"].as_object().unwrap() {
        out.push((name.clone(), s.clone()));
        if let Some(inner) = s.get("ItemProcessor") {
            out.extend(all_states(inner));
        }
    }
    out
}

/// Every `description` in `v`, with the JSON pointer of the schema that holds it.
fn descriptions<'v>(v: &'v Value, pointer: String, out: &mut Vec<(String, &'v Value)>) {
    match v {
        Value::Object(o) => {
            if o.get("description").is_some_and(Value::is_string) {
                out.push((pointer.clone(), v));
            }
            for (k, x) in o {
                descriptions(x, format!("{pointer}/{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                descriptions(x, format!("{pointer}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// The numbers a text states in digits (`2,200`, `1213200`; not the 3 of `s3://` or the 64 of `base64File`).
fn numbers(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let glued = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        if !chars[i].is_ascii_digit() || glued {
            i += 1;
            continue;
        }
        let start = i;
        loop {
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let group = chars.get(i + 1..i + 4);
            let thousands = chars.get(i) == Some(&',')
                && group.is_some_and(|g| g.iter().all(char::is_ascii_digit))
                && chars.get(i + 4).is_none_or(|c| !c.is_ascii_digit());
            if !thousands {
                break;
            }
            i += 1;
        }
        out.push(chars[start..i].iter().collect());
    }
    out
}

fn value_of(number: &str) -> u64 {
    number.replace(',', "").parse().expect("a number")
}

/// What a schema states in its keywords: its `default`, `minimum`, `maximum` and `const`, those of its `anyOf`
/// branches, and the `{m,n}` of its `pattern`.
fn stated(schema: &Value) -> BTreeSet<u64> {
    let mut out = BTreeSet::new();
    let branches = schema["anyOf"].as_array().cloned().unwrap_or_default();
    for s in std::iter::once(schema).chain(&branches) {
        for k in ["default", "minimum", "maximum", "const"] {
            out.extend(s.get(k).and_then(Value::as_u64));
        }
        if let Some(pattern) = s.get("pattern").and_then(Value::as_str) {
            for quantifier in pattern.split('{').skip(1).filter_map(|q| q.split_once('}')) {
                out.extend(
                    quantifier
                        .0
                        .split(',')
                        .filter_map(|n| n.parse::<u64>().ok()),
                );
            }
        }
    }
    out
}

/// The largest `timeoutSeconds` (to the minute) a polling `run` with this `maxPollSeconds` may have: the prose's
/// "about N hours" is its whole hours.
fn longest_poll_run(max_poll_seconds: u64) -> u64 {
    let accepted = |t: u64| {
        let options =
            json!({"completion": "poll", "maxPollSeconds": max_poll_seconds, "timeoutSeconds": t});
        validate_options(StateMachine::Run, &options).is_empty()
    };
    let (mut ok, mut refused) = (60, *bounds("timeoutSeconds").end() + 60);
    while refused - ok > 60 {
        let mid = (ok + refused) / 2;
        if accepted(mid) {
            ok = mid;
        } else {
            refused = mid;
        }
    }
    ok
}

/// Every number the schema's prose states is one its keywords state, or one this table derives from the code and
/// the definitions. A number added to the prose without a check here fails, and so does a stale one.
#[test]
fn every_number_in_the_schemas_prose_is_its_keywords_or_derived_from_the_code() {
    let schema = json(SCHEMA);
    let d = defaults();
    let execution_timeout = |m: &str| definition(m)["TimeoutSeconds"].as_u64().unwrap();
    assert_eq!(execution_timeout("run-transient"), execution_timeout("run"));
    let long_run = execution_timeout("run");
    let down_options = &schema["$defs"]["down"]["properties"]["options"]["properties"];
    let (down_checks, down_poll) = (&down_options["maxChecks"], &down_options["maxPollSeconds"]);
    // The example of maxPollSeconds' prose: polling this often allows runs of about ... hours.
    const OFTEN: u64 = 30;
    let derived: Vec<(&str, &str, u64)> = vec![
        (
            "/$defs/maxPollSeconds",
            "6",
            (YOUNG_RUN_SECONDS as u64) / HOUR,
        ),
        (
            "/$defs/maxPollSeconds",
            "300",
            YOUNG_MAX_POLL_SECONDS.into(),
        ),
        (
            "/$defs/maxPollSeconds",
            "10",
            (POLL_JITTER * 100.0).round() as u64,
        ),
        ("/$defs/maxPollSeconds", "20,000", TIMED_CHECKS_BUDGET),
        ("/$defs/maxPollSeconds", "9", EVENTS_PER_POLL),
        ("/$defs/maxPollSeconds", "25,000", HISTORY_LIMIT),
        ("/$defs/maxPollSeconds", "30", OFTEN),
        (
            "/$defs/maxPollSeconds",
            "18",
            longest_poll_run(OFTEN) / HOUR,
        ),
        (
            "/$defs/maxStartupChecks",
            "30",
            STARTING_POLL_SECONDS.into(),
        ),
        (
            "/$defs/maxStartupChecks",
            "1",
            (d.max_startup_checks * u64::from(STARTING_POLL_SECONDS) + HOUR / 2) / HOUR,
        ),
        (
            "/$defs/maxStartupChecks",
            "2,200",
            TIMED_CHECKS_BUDGET / EVENTS_PER_POLL / 100 * 100,
        ),
        ("/$defs/timeoutSeconds", "14", d.timeout_seconds / DAY),
        ("/$defs/timeoutSeconds", "1", d.timeout_seconds % DAY / HOUR),
        (
            "/$defs/timeoutSeconds",
            "1",
            (long_run - bounds("timeoutSeconds").end()) / HOUR,
        ),
        ("/$defs/timeoutSeconds", "15", long_run / DAY),
        ("/$defs/timeoutSeconds", "25,000", HISTORY_LIMIT),
        ("/$defs/maxBackstopSeconds", "20,000", TIMED_CHECKS_BUDGET),
        ("/$defs/maxBackstopSeconds", "13", EVENTS_PER_BACKSTOP),
        (
            "/$defs/down/properties/options/properties/maxChecks",
            "55",
            down_poll["maximum"].as_u64().unwrap(),
        ),
        (
            "/$defs/down/properties/options/properties/maxChecks",
            "1",
            execution_timeout("down") / HOUR,
        ),
    ];
    // maxChecks' claim: every check within down's execution timeout, each at most maxPollSeconds apart.
    let slowest = down_checks["maximum"].as_u64().unwrap() * down_poll["maximum"].as_u64().unwrap();
    assert!(
        slowest < execution_timeout("down"),
        "down: {slowest} s of checks"
    );
    assert_eq!(
        d.max_startup_checks * u64::from(STARTING_POLL_SECONDS),
        HOUR,
        "about 1 hour"
    );

    let mut found = Vec::new();
    descriptions(&schema, String::new(), &mut found);
    let mut used = BTreeSet::new();
    for (pointer, node) in &found {
        let text = node["description"].as_str().unwrap();
        let own = stated(node);
        for number in numbers(text) {
            let value = value_of(&number);
            let checked: Vec<&(&str, &str, u64)> = derived
                .iter()
                .filter(|(p, n, _)| p == pointer && *n == number)
                .collect();
            for entry in &checked {
                assert_eq!(
                    entry.2, value,
                    "{pointer}: the prose says {number}, the code {}",
                    entry.2
                );
                used.insert(*entry);
            }
            assert!(
                own.contains(&value) || !checked.is_empty(),
                "{pointer}: the prose states {number}, which neither its keywords nor a check here state: {text}"
            );
        }
        // "default X" is the `default` keyword's value.
        let lower = text.to_lowercase();
        for (at, _) in lower.match_indices("default ") {
            let word = lower[at + "default ".len()..]
                .split([' ', ')', ';', ':', ','])
                .next()
                .unwrap();
            if let Ok(literal) = serde_json::from_str::<Value>(word) {
                assert_eq!(
                    node.get("default"),
                    Some(&literal),
                    "{pointer}: the prose says default {word}"
                );
            }
        }
    }
    let stale: Vec<_> = derived.iter().filter(|e| !used.contains(e)).collect();
    assert!(
        stale.is_empty(),
        "checks of numbers the prose no longer states: {stale:?}"
    );
}

#[test]
fn the_idle_timeout_the_options_allow_is_what_a_cluster_config_allows() {
    let config = json(CLUSTER_CONFIG);
    let idle = &config["properties"]["autoTerminationPolicy"]["properties"]["idleTimeout"];
    let range = idle_timeout_seconds();
    assert_eq!(idle["minimum"].as_u64(), Some(*range.start()));
    assert_eq!(idle["maximum"].as_u64(), Some(*range.end()));
    for (seconds, ok) in [
        (0, true),
        (1, false),
        (range.start() - 1, false),
        (*range.start(), true),
        (*range.end(), true),
        (range.end() + 1, false),
    ] {
        let accepted = validate_options(
            StateMachine::RunTransient,
            &json!({"idleTimeoutSeconds": seconds}),
        )
        .is_empty();
        assert_eq!(accepted, ok, "idleTimeoutSeconds {seconds}");
    }
    assert!(validate_options(
        StateMachine::RunTransient,
        &json!({"idleTimeoutSeconds": null})
    )
    .is_empty());
}

fn names(origin: Origin) -> BTreeSet<&'static str> {
    ErrorName::ALL
        .iter()
        .filter(|n| n.origin() == origin)
        .map(|n| n.as_str())
        .collect()
}

fn is_ours(name: &str) -> bool {
    !(name.starts_with("States.") || name.starts_with("Lambda.") || name == "Sandbox.Timedout")
}

/// Words that look like error names: capitalized, letters only, with a lowercase letter (not STARTING).
fn name_like(word: &str) -> bool {
    word.starts_with(|c: char| c.is_ascii_uppercase())
        && word.chars().all(|c| c.is_ascii_alphabetic())
        && word.chars().any(|c| c.is_ascii_lowercase())
}

fn listed(name: &str, origins: &[Origin], at: &str) -> ErrorName {
    let n = ErrorName::from_name(name)
        .unwrap_or_else(|| panic!("{at}: {name} is not in the list of error names"));
    assert!(
        origins.contains(&n.origin()),
        "{at}: {name} is a {:?} name",
        n.origin()
    );
    n
}

/// Every rule of a Choice, nested ones included.
fn rules(rule: &Value, out: &mut Vec<Value>) {
    out.push(rule.clone());
    for r in ["And", "Or"]
        .iter()
        .flat_map(|k| rule[*k].as_array().cloned().unwrap_or_default())
    {
        rules(&r, out);
    }
    if rule.get("Not").is_some() {
        rules(&rule["Not"], out);
    }
}

/// Every name a definition uses is in the list, with the origin its place allows: Retry and Catch match the
/// functions' names (a Retry only retryable ones), the Pass states write the state machines' own, the Choices
/// compare the failure with listed names, and each Fail state's Comment names every name of the list it can end
/// with that is not a function's.
#[test]
fn the_definitions_use_only_listed_names_and_every_state_machine_name_is_written() {
    let mut written = BTreeSet::new();
    let mut commented = BTreeSet::new();
    for (machine, _) in DEFINITIONS {
        let def = definition(machine);
        let mut own = BTreeSet::new();
        let mut fail_comment = None;
        for (state, s) in &all_states(&def) {
            let at = format!("{machine}: {state}");
            for (field, origins) in [("Retry", [Origin::Function]), ("Catch", [Origin::Function])] {
                for r in s[field].as_array().into_iter().flatten() {
                    for e in r["ErrorEquals"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter_map(Value::as_str)
                        .filter(|e| is_ours(e))
                    {
                        let n = listed(e, &origins, &at);
                        assert!(
                            field == "Catch" || n.retryable(),
                            "{at}: retries {e}, which is not retryable"
                        );
                    }
                }
            }
            if let Some(error) = s["Parameters"]["error"].as_str() {
                own.insert(listed(error, &[Origin::StateMachine], &at).as_str());
            }
            let mut all = Vec::new();
            for rule in s["Choices"].as_array().into_iter().flatten() {
                rules(rule, &mut all);
            }
            for rule in all {
                let (Some(variable), Some(value)) =
                    (rule["Variable"].as_str(), rule["StringEquals"].as_str())
                else {
                    continue;
                };
                match variable {
                    "$.status.error.name" => {
                        listed(value, &[Origin::Run], &at);
                    }
                    "$.failure.error" => {
                        listed(
                            value,
                            &[Origin::Function, Origin::Run, Origin::StateMachine],
                            &at,
                        );
                    }
                    _ => assert!(
                        !variable.contains("error"),
                        "{at}: a Choice on {variable} this test does not know"
                    ),
                }
            }
            if s["Type"] == "Fail" {
                let comment = s["Comment"].as_str().unwrap();
                let errors = comment
                    .split_once("Error:")
                    .unwrap()
                    .1
                    .split("Cause:")
                    .next()
                    .unwrap();
                let words: BTreeSet<&'static str> = errors
                    .split(|c: char| !c.is_ascii_alphabetic())
                    .filter(|w| name_like(w))
                    .map(|w| {
                        listed(
                            w,
                            &[Origin::Function, Origin::Run, Origin::StateMachine],
                            &at,
                        )
                        .as_str()
                    })
                    .collect();
                fail_comment.get_or_insert_with(BTreeSet::new).extend(words);
            }
        }
        let comment = fail_comment.unwrap_or_else(|| panic!("{machine}: a Fail state"));
        let missing: Vec<_> = own.difference(&comment).collect();
        assert!(
            missing.is_empty(),
            "{machine}: its Fail state's Comment leaves out {missing:?}"
        );
        written.extend(own);
        commented.extend(comment);
    }
    assert_eq!(
        written,
        names(Origin::StateMachine),
        "the state machines' own names, each written by a definition"
    );
    for name in names(Origin::Run) {
        assert!(
            commented.contains(name),
            "{name}: no Fail state says it can end with it"
        );
    }
}

/// The table rows of the section `heading` of a README: cells, trimmed, header and separator left out.
fn table<'t>(readme: &'t str, heading: &str) -> Vec<Vec<&'t str>> {
    let section = readme
        .split_once(heading)
        .unwrap_or_else(|| panic!("{heading}"))
        .1;
    let section = section.split("\n## ").next().unwrap();
    section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| {
            l.trim()
                .trim_matches('|')
                .split(" | ")
                .map(str::trim)
                .collect()
        })
        .collect()
}

fn backticked(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// statemachine/README.md's failure table has a row for each name a run ends with itself or on EMR, names every
/// function's name, and names nothing else; functions/README.md's error table is exactly the functions' names,
/// retryable as the list says, and check-status's output names the run's names.
#[test]
fn the_readmes_document_exactly_the_listed_names() {
    let rows = table(MACHINES_README, "## Failure: Error and Cause");
    let mut own_rows = BTreeSet::new();
    let mut mentioned = BTreeSet::new();
    for row in &rows {
        for cell in &row[..2] {
            for word in backticked(cell).into_iter().filter(|w| name_like(w)) {
                mentioned.insert(
                    listed(
                        word,
                        &[Origin::Function, Origin::Run, Origin::StateMachine],
                        "statemachine/README.md",
                    )
                    .as_str(),
                );
            }
        }
        if let [name] = backticked(row[0])[..] {
            own_rows.insert(name);
        }
    }
    let ends: BTreeSet<&str> = names(Origin::Run)
        .union(&names(Origin::StateMachine))
        .copied()
        .collect();
    assert!(
        own_rows.is_superset(&ends),
        "a row each: {:?}",
        ends.difference(&own_rows).collect::<Vec<_>>()
    );
    let all: BTreeSet<&str> = ErrorName::ALL.iter().map(|n| n.as_str()).collect();
    assert_eq!(
        mentioned, all,
        "statemachine/README.md's failure table names every listed name"
    );

    let rows = table(FUNCTIONS_README, "## Error names");
    let documented: BTreeMap<&str, bool> = rows
        .iter()
        .map(|r| (backticked(r[0])[0], *r.last().unwrap() == "yes"))
        .collect();
    let functions: BTreeMap<&str, bool> = ErrorName::ALL
        .iter()
        .filter(|n| n.origin() == Origin::Function)
        .map(|n| (n.as_str(), n.retryable()))
        .collect();
    assert_eq!(
        documented, functions,
        "functions/README.md's error table: name → retryable"
    );
    let verdicts = FUNCTIONS_README
        .split_once("`{\"name\": ")
        .unwrap()
        .1
        .split(", \"cause\"")
        .next()
        .unwrap();
    let run: BTreeSet<&str> = verdicts.split(" | ").map(|n| n.trim_matches('"')).collect();
    assert_eq!(
        run,
        names(Origin::Run),
        "check-status's failure names in functions/README.md"
    );
}

/// The names the schema's prose mentions are listed ones (besides the AWS and config names it also mentions).
#[test]
fn the_schema_mentions_only_listed_error_names() {
    const NOT_ERRORS: [&str; 4] = [
        "EventBridge",
        "StartExecution",
        "ClusterConfig",
        "PlaybookConfig",
    ];
    let schema = json(SCHEMA);
    let mut found = Vec::new();
    descriptions(&schema, String::new(), &mut found);
    let mut seen = BTreeSet::new();
    for (pointer, node) in found {
        let text = node["description"].as_str().unwrap();
        for word in text.split(|c: char| !c.is_ascii_alphabetic()) {
            let humps = word.chars().filter(char::is_ascii_uppercase).count();
            if name_like(word) && humps >= 2 && !NOT_ERRORS.contains(&word) {
                seen.insert(
                    listed(
                        word,
                        &[Origin::Function, Origin::Run, Origin::StateMachine],
                        &pointer,
                    )
                    .as_str(),
                );
            }
        }
    }
    assert!(
        seen.contains("LockHeld") && seen.contains("InvalidConfig"),
        "{seen:?}"
    );
}
