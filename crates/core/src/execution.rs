//! The execution input of the state machines. `schemas/execution-input.schema.json` is its one home: validators
//! generated from it at build time (as for the configs, `schema`) check what the CLI starts and the options the
//! functions receive, the options' defaults and bounds are read from it (`defaults`), and this module adds the one
//! rule a JSON Schema cannot say: a run's options must keep its waiting loop within Step Functions' history limit,
//! whatever the run's length (the schema documents the rule). `input` is the input's type, as the CLI builds it.

pub mod defaults;
pub mod input;

use serde_json::Value;

use crate::diagnostics::Diagnostic;
use crate::status::{backstop_seconds, next_poll_seconds, BackstopLimits, Phase};

/// The state machines that take an execution input (their `$defs` in the schema).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateMachine {
    RunTransient,
    Up,
    Run,
    Down,
}

impl StateMachine {
    pub const ALL: [Self; 4] = [Self::RunTransient, Self::Up, Self::Run, Self::Down];

    /// The machine's command name, as the state machines and the CLI write it.
    pub fn command(self) -> &'static str {
        match self {
            Self::RunTransient => "run-transient",
            Self::Up => "up",
            Self::Run => "run",
            Self::Down => "down",
        }
    }

    pub fn from_command(command: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.command() == command)
    }
}

/// Step Functions' limit of events in one execution's history: an execution that reaches it fails.
pub const HISTORY_LIMIT: u64 = 25_000;
/// The most a run's timed checks (polls, or backstop checks while waiting for events) may write. The rest of the
/// limit is for everything else: the fixed states (about 30), a wake-up per EMR event that can end a wait (9 events;
/// at most about 270 with 256 steps), Lambda retries (3 events each) and failed checks.
pub const TIMED_CHECKS_BUDGET: u64 = 20_000;
/// History events of one poll: Wait entered and exited, Task entered, Lambda scheduled, started and succeeded, Task
/// exited, Choice entered and exited (statemachine/README.md, "Polling and the history budget").
pub const EVENTS_PER_POLL: u64 = 9;
/// History events of one backstop: the callback Task entered, its Lambda scheduled, started and succeeded, the task
/// timed out and exited; the check Task entered, scheduled, started, succeeded and exited; the Choice entered and exited.
pub const EVENTS_PER_BACKSTOP: u64 = 13;

/// Where the options of an execution input are, for messages.
const OPTIONS: &str = "/options";
const LABEL: &str = "execution input";
const SCHEMA_NOTE: &str =
    "schemas/execution-input.schema.json and statemachine/README.md, Execution input";

mod generated {
    /// One validator per machine's execution input and one per machine's `options`, each a `$ref` into the schema
    /// file, so that file stays the only statement of the rules.
    macro_rules! validators {
        ($($name:ident => $schema:tt,)*) => {
            $(
                #[jsonschema::validator(
                    schema = $schema,
                    draft = Draft202012,
                    resources = { "https://schemas.dataflowrunner.serverless/execution-input.schema.json" => { path = "../../schemas/execution-input.schema.json" } },
                    pattern_options = { engine = regex },
                    methods = { is_valid = false, validate = false, iter_errors = true }
                )]
                pub(super) struct $name;
            )*
        };
    }

    validators! {
        RunTransientInput => r##"{"$ref": "https://schemas.dataflowrunner.serverless/execution-input.schema.json#/$defs/runTransient"}"##,
        UpInput => r##"{"$ref": "https://schemas.dataflowrunner.serverless/execution-input.schema.json#/$defs/up"}"##,
        RunInput => r##"{"$ref": "https://schemas.dataflowrunner.serverless/execution-input.schema.json#/$defs/run"}"##,
        DownInput => r##"{"$ref": "https://schemas.dataflowrunner.serverless/execution-input.schema.json#/$defs/down"}"##,
        RunTransientOptions => r##"{"$ref": "https://schemas.dataflowrunner.serverless/execution-input.schema.json#/$defs/runTransient/properties/options"}"##,
        UpOptions => r##"{"$ref": "https://schemas.dataflowrunner.serverless/execution-input.schema.json#/$defs/up/properties/options"}"##,
        RunOptions => r##"{"$ref": "https://schemas.dataflowrunner.serverless/execution-input.schema.json#/$defs/run/properties/options"}"##,
        DownOptions => r##"{"$ref": "https://schemas.dataflowrunner.serverless/execution-input.schema.json#/$defs/down/properties/options"}"##,
    }
}

/// Every problem of a whole execution input for `machine` (what the CLI starts), each with its JSON path and fix.
pub fn validate_input(machine: StateMachine, input: &Value) -> Vec<Diagnostic> {
    use generated::*;
    let errors = match machine {
        StateMachine::RunTransient => RunTransientInput::iter_errors(input),
        StateMachine::Up => UpInput::iter_errors(input),
        StateMachine::Run => RunInput::iter_errors(input),
        StateMachine::Down => DownInput::iter_errors(input),
    };
    let mut out = diagnostics(machine, "", errors);
    if out.is_empty() {
        out.extend(history_budget(
            machine,
            input.get("options").unwrap_or(&Value::Null),
        ));
    }
    out
}

/// Every problem of an execution's `options` for `machine` (what a function receives, the defaults merged in).
pub fn validate_options(machine: StateMachine, options: &Value) -> Vec<Diagnostic> {
    use generated::*;
    let errors = match machine {
        StateMachine::RunTransient => RunTransientOptions::iter_errors(options),
        StateMachine::Up => UpOptions::iter_errors(options),
        StateMachine::Run => RunOptions::iter_errors(options),
        StateMachine::Down => DownOptions::iter_errors(options),
    };
    let mut out = diagnostics(machine, OPTIONS, errors);
    if out.is_empty() {
        out.extend(history_budget(machine, options));
    }
    out
}

fn diagnostics<'i>(
    machine: StateMachine,
    prefix: &str,
    errors: impl Iterator<Item = jsonschema::ValidationError<'i>>,
) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = errors
        .map(|e| {
            let pointer = format!("{prefix}{}", e.instance_path().as_str());
            // `env` holds what systemEnv reads: never echo a value from it.
            let message = if pointer.starts_with("/env") {
                e.masked().to_string()
            } else {
                e.to_string()
            };
            Diagnostic::new(LABEL, pointer, message).with_hint(format!(
                "give what the {} state machine accepts there: {SCHEMA_NOTE}",
                machine.command()
            ))
        })
        .collect();
    out.sort_by(|a, b| a.pointer.cmp(&b.pointer));
    out
}

/// The options a run's timed checks depend on, with the schema's defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
struct WaitOptions {
    poll: bool,
    min_poll: u32,
    max_poll: u32,
    timeout: u64,
    startup_checks: u64,
    min_backstop: u32,
    max_backstop: u32,
    startup_timeout: u64,
}

impl WaitOptions {
    fn of(options: &Value) -> Self {
        let d = defaults::defaults();
        let int =
            |key: &str, default: u64| options.get(key).and_then(Value::as_u64).unwrap_or(default);
        let small =
            |key: &str, default: u32| int(key, u64::from(default)).min(u64::from(u32::MAX)) as u32;
        Self {
            poll: options.get("completion").and_then(Value::as_str) == Some("poll"),
            min_poll: small("minPollSeconds", d.min_poll_seconds),
            max_poll: small("maxPollSeconds", d.max_poll_seconds),
            timeout: int("timeoutSeconds", d.timeout_seconds),
            startup_checks: int("maxStartupChecks", d.max_startup_checks)
                .saturating_mul(int("maxLaunchAttempts", d.max_launch_attempts)),
            min_backstop: small("minBackstopSeconds", d.min_backstop_seconds),
            max_backstop: small("maxBackstopSeconds", d.max_backstop_seconds),
            startup_timeout: int("startupTimeoutSeconds", d.startup_timeout_seconds),
        }
    }
}

/// The most history events a run of `machine` with these options can spend on timed checks: every poll delay at its
/// shortest (jitter −10 %) over the longest the run may wait (`timeoutSeconds`; `up` waits only while its cluster
/// starts: `maxStartupChecks` per launch, or `startupTimeoutSeconds` waiting for events). Counts stop just past the
/// budget, so a one-second poll over a year costs no more than the budget to refuse. `None` for `down`, which its
/// one-hour execution timeout and `maxChecks` (at most 60) bound.
pub fn worst_case_timed_check_events(machine: StateMachine, options: &Value) -> Option<u64> {
    let o = WaitOptions::of(options);
    let limit = TIMED_CHECKS_BUDGET + EVENTS_PER_BACKSTOP;
    Some(match (machine, o.poll) {
        (StateMachine::Down, _) => return None,
        (StateMachine::Up, true) => o.startup_checks.saturating_mul(EVENTS_PER_POLL),
        (StateMachine::RunTransient, true) => o
            .startup_checks
            .saturating_mul(EVENTS_PER_POLL)
            .saturating_add(polls(&o, o.timeout, limit)),
        (StateMachine::Run, true) => polls(&o, o.timeout, limit),
        (StateMachine::Up, false) => backstops(&o, o.startup_timeout, limit),
        (_, false) => backstops(&o, o.timeout, limit),
    })
}

fn polls(o: &WaitOptions, horizon: u64, limit: u64) -> u64 {
    let (mut t, mut events) = (0u64, 0u64);
    while t < horizon && events <= limit {
        let age = i64::try_from(t).unwrap_or(i64::MAX);
        t += u64::from(next_poll_seconds(Phase::Running, age, o.min_poll, o.max_poll, -1.0).max(1));
        events += EVENTS_PER_POLL;
    }
    events
}

fn backstops(o: &WaitOptions, horizon: u64, limit: u64) -> u64 {
    let limits = BackstopLimits {
        min: o.min_backstop,
        max: o.max_backstop,
        startup_timeout: None,
        timeout: Some(horizon),
    };
    let (mut t, mut events) = (0u64, 0u64);
    while t < horizon && events <= limit {
        let age = i64::try_from(t).unwrap_or(i64::MAX);
        t += u64::from(backstop_seconds(Phase::Running, age, &limits).max(1));
        events += EVENTS_PER_BACKSTOP;
    }
    events
}

/// The relation between the options the schema cannot state: refused, naming the options and what to change, when
/// the run's timed checks could pass [`TIMED_CHECKS_BUDGET`].
fn history_budget(machine: StateMachine, options: &Value) -> Option<Diagnostic> {
    let worst = worst_case_timed_check_events(machine, options)?;
    if worst <= TIMED_CHECKS_BUDGET {
        return None;
    }
    let o = WaitOptions::of(options);
    let (pointer, what, fix) = match (machine, o.poll) {
        (StateMachine::Up, true) => (
            "maxStartupChecks",
            format!("{} startup checks (maxStartupChecks × maxLaunchAttempts)", o.startup_checks),
            "lower options.maxStartupChecks or options.maxLaunchAttempts".to_string(),
        ),
        (_, true) => (
            "maxPollSeconds",
            format!(
                "polling every {}..{} s for up to timeoutSeconds {} s",
                o.min_poll, o.max_poll, o.timeout
            ),
            format!(
                "raise options.maxPollSeconds (the default, {}, allows the longest timeoutSeconds), lower \
                 options.timeoutSeconds, or use completion \"events\"",
                defaults::defaults().max_poll_seconds
            ),
        ),
        (StateMachine::Up, false) => (
            "minBackstopSeconds",
            format!(
                "a backstop check every {}..{} s for up to startupTimeoutSeconds {} s",
                o.min_backstop, o.max_backstop, o.startup_timeout
            ),
            "raise options.minBackstopSeconds and options.maxBackstopSeconds".to_string(),
        ),
        (_, false) => (
            "maxBackstopSeconds",
            format!(
                "a backstop check every {}..{} s for up to timeoutSeconds {} s",
                o.min_backstop, o.max_backstop, o.timeout
            ),
            format!(
                "raise options.maxBackstopSeconds (the default, {}, allows the longest timeoutSeconds) or lower \
                 options.timeoutSeconds",
                defaults::defaults().max_backstop_seconds
            ),
        ),
    };
    Some(
        Diagnostic::new(
            LABEL,
            format!("{OPTIONS}/{pointer}"),
            format!(
                "{what} can write more than the {TIMED_CHECKS_BUDGET} history events a run may spend on checks \
                 (Step Functions fails an execution at {HISTORY_LIMIT}, and the cleanup then ends its cluster)"
            ),
        )
        .with_hint(format!("{fix} ({SCHEMA_NOTE})")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refused(machine: StateMachine, options: Value) -> Vec<String> {
        validate_options(machine, &options)
            .iter()
            .map(|d| d.json_path())
            .collect()
    }

    #[test]
    fn when_a_poll_run_checks_every_30_seconds_for_14_days_should_be_refused_naming_max_poll_seconds(
    ) {
        let options =
            json!({"completion": "poll", "maxPollSeconds": 30, "timeoutSeconds": 1_213_200});
        for machine in [StateMachine::Run, StateMachine::RunTransient] {
            assert_eq!(
                refused(machine, options.clone()),
                ["options.maxPollSeconds"]
            );
        }
        let d = &validate_options(StateMachine::Run, &options)[0];
        assert!(d.message.contains("history events"), "{d}");
        assert!(
            d.hint
                .as_deref()
                .unwrap()
                .contains("raise options.maxPollSeconds"),
            "{d}"
        );
    }

    #[test]
    fn when_the_options_are_the_defaults_should_be_accepted_in_both_modes() {
        for machine in [
            StateMachine::RunTransient,
            StateMachine::Up,
            StateMachine::Run,
        ] {
            assert!(refused(machine, json!({})).is_empty());
            assert!(refused(machine, json!({"completion": "poll"})).is_empty());
        }
    }

    #[test]
    fn when_the_defaults_wait_the_longest_timeout_should_be_accepted_as_the_hints_say() {
        let longest = *defaults::bounds("timeoutSeconds").end();
        for machine in [StateMachine::RunTransient, StateMachine::Run] {
            for completion in ["poll", "events"] {
                let options = json!({"completion": completion, "timeoutSeconds": longest});
                assert!(
                    refused(machine, options).is_empty(),
                    "{machine:?} {completion}"
                );
            }
        }
    }

    #[test]
    fn when_a_short_run_polls_often_should_be_accepted() {
        let options = json!({"completion": "poll", "minPollSeconds": 1, "maxPollSeconds": 30, "timeoutSeconds": 7200});
        assert!(refused(StateMachine::Run, options).is_empty());
    }

    #[test]
    fn when_backstops_are_a_minute_apart_for_14_days_should_be_refused_naming_max_backstop_seconds()
    {
        let options = json!({"minBackstopSeconds": 60, "maxBackstopSeconds": 60});
        assert_eq!(
            refused(StateMachine::Run, options),
            ["options.maxBackstopSeconds"]
        );
    }

    #[test]
    fn when_an_option_is_out_of_its_schema_bounds_should_name_it_and_not_judge_the_budget() {
        let out = validate_options(
            StateMachine::Run,
            &json!({"maxPollSeconds": 0, "completion": "often"}),
        );
        let paths: Vec<String> = out.iter().map(Diagnostic::json_path).collect();
        assert_eq!(paths, ["options.completion", "options.maxPollSeconds"]);
    }

    #[test]
    fn when_the_worst_case_is_counted_should_stop_just_past_the_budget() {
        let options = json!({"completion": "poll", "minPollSeconds": 1, "maxPollSeconds": 1, "timeoutSeconds": 1_292_400});
        let worst = worst_case_timed_check_events(StateMachine::Run, &options).unwrap();
        assert!(
            worst > TIMED_CHECKS_BUDGET && worst <= TIMED_CHECKS_BUDGET + 2 * EVENTS_PER_BACKSTOP
        );
    }
}
