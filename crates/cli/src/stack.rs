//! Finding the deployed stack's state machines and executions by name, so nobody has to copy ARNs around.

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_sfn::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sfn::Client;

/// The environment variable that names the stack when `--stack` is not given.
pub const STACK_VAR: &str = "DATAFLOW_RUNNER_STACK";
/// The stack name when neither `--stack` nor the variable says otherwise (infra/README.md deploys it so).
pub const DEFAULT_STACK: &str = "dataflow-runner";

/// Where a run goes: an EMR cluster (EC2) or an EMR Serverless application, as the `--emr-config` file's schema says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunsOn {
    Emr,
    Serverless,
}

/// The stack's state machines, each named `<stack>-<suffix>` by the template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Machine {
    RunTransient,
    Up,
    Run,
    Down,
    /// run-transient of a ServerlessConfig: the same execution input, job runs on an EMR Serverless application
    /// (one created for the run, or reused: `run --emr-application` starts it too).
    ServerlessRunTransient,
    /// up of a ServerlessConfig: create and start an application, handed over.
    ServerlessUp,
    /// down of an application serverless-up created.
    ServerlessDown,
}

impl Machine {
    pub const ALL: [Machine; 7] = [
        Machine::RunTransient,
        Machine::Up,
        Machine::Run,
        Machine::Down,
        Machine::ServerlessRunTransient,
        Machine::ServerlessUp,
        Machine::ServerlessDown,
    ];

    /// The one choice of a state machine: the command's, on EMR or EMR Serverless. On EMR Serverless, `run` is
    /// serverless-run-transient on a reused application (its input names it).
    pub fn choose(command: dfr_core::execution::StateMachine, on: RunsOn) -> Machine {
        use dfr_core::execution::StateMachine as M;
        match (command, on) {
            (M::RunTransient, RunsOn::Emr) => Machine::RunTransient,
            (M::Up, RunsOn::Emr) => Machine::Up,
            (M::Run, RunsOn::Emr) => Machine::Run,
            (M::Down, RunsOn::Emr) => Machine::Down,
            (M::RunTransient | M::Run, RunsOn::Serverless) => Machine::ServerlessRunTransient,
            (M::Up, RunsOn::Serverless) => Machine::ServerlessUp,
            (M::Down, RunsOn::Serverless) => Machine::ServerlessDown,
        }
    }

    /// The machine as the core's execution-input rules name it (each serverless machine takes its command's input;
    /// serverless-run-transient, run-transient's).
    pub fn state_machine(self) -> dfr_core::execution::StateMachine {
        use dfr_core::execution::StateMachine as M;
        match self {
            Machine::RunTransient | Machine::ServerlessRunTransient => M::RunTransient,
            Machine::Up | Machine::ServerlessUp => M::Up,
            Machine::Run => M::Run,
            Machine::Down | Machine::ServerlessDown => M::Down,
        }
    }

    /// The command that starts it.
    pub fn command(self) -> &'static str {
        self.state_machine().command()
    }

    /// Where it runs.
    pub fn runs_on(self) -> RunsOn {
        match self {
            Machine::ServerlessRunTransient | Machine::ServerlessUp | Machine::ServerlessDown => {
                RunsOn::Serverless
            }
            _ => RunsOn::Emr,
        }
    }

    /// The suffix of its name in the stack: `<stack>-<suffix>`.
    pub fn suffix(self) -> &'static str {
        match self {
            Machine::ServerlessRunTransient => "serverless-run-transient",
            Machine::ServerlessUp => "serverless-up",
            Machine::ServerlessDown => "serverless-down",
            other => other.command(),
        }
    }

    /// The machine a state machine's name (`<stack>-<suffix>`) is, if it is one of the stack's.
    pub fn named(name: &str, stack: &str) -> Option<Machine> {
        let suffix = name.strip_prefix(stack)?.strip_prefix('-')?;
        Machine::ALL.into_iter().find(|m| m.suffix() == suffix)
    }
}

/// Where the executions go: a stack found by name, or state machine ARNs given outright.
#[derive(Debug, Clone)]
pub struct Target {
    pub stack: String,
    /// `--state-machine-arn`: used for the command at hand instead of looking the stack up.
    pub explicit_arn: Option<String>,
}

impl Target {
    pub fn new(stack: Option<String>, explicit_arn: Option<String>) -> Self {
        let stack = stack
            .or_else(|| std::env::var(STACK_VAR).ok().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| DEFAULT_STACK.to_string());
        Self {
            stack,
            explicit_arn,
        }
    }

    /// The ARN of `machine`'s state machine.
    pub async fn machine_arn(&self, sfn: &Client, machine: Machine) -> Result<String, String> {
        if let Some(arn) = &self.explicit_arn {
            return Ok(arn.clone());
        }
        let wanted = format!("{}-{}", self.stack, machine.suffix());
        let mut token = None;
        loop {
            let page = sfn
                .list_state_machines()
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| aws_error("ListStateMachines", &e))?;
            if let Some(m) = page.state_machines().iter().find(|m| m.name() == wanted) {
                return Ok(m.state_machine_arn().to_string());
            }
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                return Err(format!(
                    "no state machine named {wanted} in this account and region: deploy the stack (infra/README.md), \
                     name it with --stack or {STACK_VAR}, or give --state-machine-arn"
                ));
            }
        }
    }

    /// The stack's state machines and their ARNs, in [`Machine::ALL`]'s order; a stack deployed before runs on EMR
    /// Serverless has no serverless machine, which is then left out.
    pub async fn deployed_machines(&self, sfn: &Client) -> Result<Vec<(Machine, String)>, String> {
        let mut found = Vec::new();
        for machine in Machine::ALL {
            match self.machine_arn(sfn, machine).await {
                Ok(arn) => found.push((machine, arn)),
                Err(_) if machine.runs_on() == RunsOn::Serverless => {}
                Err(e) => return Err(e),
            }
        }
        Ok(found)
    }

    /// An execution ARN from what the user typed: an ARN as it is, or a name of an execution of one of the stack's
    /// state machines (the first that has it).
    pub async fn execution_arn(&self, sfn: &Client, given: &str) -> Result<String, String> {
        if given.starts_with("arn:") {
            return Ok(given.to_string());
        }
        for machine in Machine::ALL {
            let Ok(machine_arn) = self.machine_arn(sfn, machine).await else {
                continue;
            };
            let arn = execution_arn_of(&machine_arn, given);
            if sfn
                .describe_execution()
                .execution_arn(&arn)
                .send()
                .await
                .is_ok()
            {
                return Ok(arn);
            }
        }
        Err(format!(
            "no execution named {given} in the state machines of stack {}: give its ARN",
            self.stack
        ))
    }
}

/// An AWS error as a person reads it: the operation, the service's code and message; the whole chain only when
/// the service did not answer (a network or credentials problem).
pub fn aws_error<E, R>(operation: &str, e: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match e {
        SdkError::ServiceError(s) => format!(
            "{operation}: {}: {}",
            s.err().code().unwrap_or("error"),
            s.err().message().unwrap_or("no message")
        ),
        other => match credentials_problem(other) {
            Some(why) => format!("{operation}: {}", no_credentials(&why)),
            None => format!("{operation}: {}", DisplayErrorContext(other)),
        },
    }
}

/// That no credentials could be had, why, and how the CLI signs in.
pub fn no_credentials(why: &str) -> String {
    format!(
        "no AWS credentials: {why}. The CLI signs in as the AWS CLI does: --profile NAME or AWS_PROFILE (IAM \
         Identity Center after `aws sso login`, credential_process, assume-role, web identity), or \
         AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    )
}

/// Why no credentials could be had, when that is why a call failed: the innermost message of the providers' error.
pub fn credentials_problem(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut source = Some(e);
    while let Some(err) = source {
        if err.is::<CredentialsError>() {
            let mut innermost = err;
            while let Some(next) = innermost.source() {
                innermost = next;
            }
            return Some(innermost.to_string());
        }
        source = err.source();
    }
    None
}

/// `arn:…:stateMachine:<machine>` + name → `arn:…:execution:<machine>:<name>`.
pub fn execution_arn_of(machine_arn: &str, name: &str) -> String {
    format!(
        "{}:{name}",
        machine_arn.replacen(":stateMachine:", ":execution:", 1)
    )
}

/// A readable, unique execution name: `<command>-<what>-<UTC time>`, within Step Functions' 80 characters and
/// its alphabet (letters, digits, `-` and `_`).
pub fn execution_name(command: &str, what: &str, now: chrono::DateTime<chrono::Utc>) -> String {
    // To the millisecond: two runs started by one script in the same second get two names.
    let stamp = now.format("%Y%m%dT%H%M%S%3fZ").to_string();
    let clean: String = what
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let room = 80 - command.len() - stamp.len() - 2;
    let what: String = clean.chars().take(room).collect();
    format!("{command}-{what}-{stamp}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_without_credentials_says_how_to_sign_in_with_the_providers_reason() {
        use aws_sdk_sfn::config::http::HttpResponse;
        use aws_sdk_sfn::error::ConnectorError;
        use aws_sdk_sfn::operation::list_state_machines::ListStateMachinesError;
        let why = CredentialsError::provider_error("the SSO session has expired");
        let e: SdkError<ListStateMachinesError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::other(Box::new(why), None));
        let message = aws_error("ListStateMachines", &e);
        assert!(
            message
                .starts_with("ListStateMachines: no AWS credentials: the SSO session has expired."),
            "{message}"
        );
        assert!(message.contains("--profile NAME"), "{message}");
    }

    #[test]
    fn execution_names_are_readable_unique_and_valid() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-02T07:05:09Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            execution_name("run-transient", "nightly enrich", at),
            "run-transient-nightly-enrich-20261202T070509000Z"
        );
        let long = execution_name("run-transient", &"x".repeat(200), at);
        assert_eq!(long.len(), 80);
        assert!(long.ends_with("-20261202T070509000Z"));
    }

    #[test]
    fn the_machine_is_chosen_by_command_and_place() {
        use dfr_core::execution::StateMachine as M;
        for command in M::ALL {
            let on_emr = Machine::choose(command, RunsOn::Emr);
            assert_eq!(
                (on_emr.state_machine(), on_emr.runs_on()),
                (command, RunsOn::Emr)
            );
            assert_eq!(on_emr.suffix(), command.command());
        }
        let serverless = Machine::choose(M::RunTransient, RunsOn::Serverless);
        assert_eq!(serverless, Machine::ServerlessRunTransient);
        assert_eq!(serverless.suffix(), "serverless-run-transient");
        assert_eq!(serverless.command(), "run-transient");
        assert_eq!(serverless.state_machine(), M::RunTransient);
        // run on EMR Serverless is a run-transient on a reused application.
        assert_eq!(
            Machine::choose(M::Run, RunsOn::Serverless),
            Machine::ServerlessRunTransient
        );
        for (command, machine, suffix) in [
            (M::Up, Machine::ServerlessUp, "serverless-up"),
            (M::Down, Machine::ServerlessDown, "serverless-down"),
        ] {
            let chosen = Machine::choose(command, RunsOn::Serverless);
            assert_eq!(chosen, machine);
            assert_eq!(chosen.suffix(), suffix);
            assert_eq!(chosen.state_machine(), command);
            assert_eq!(chosen.runs_on(), RunsOn::Serverless);
            assert_eq!(
                Machine::named(&format!("dfr-{suffix}"), "dfr"),
                Some(machine)
            );
        }
        assert_eq!(
            Machine::named("dfr-serverless-run-transient", "dfr"),
            Some(Machine::ServerlessRunTransient)
        );
        assert_eq!(
            Machine::named("dfr-run-transient", "dfr"),
            Some(Machine::RunTransient)
        );
        assert_eq!(Machine::named("other-up", "dfr"), None);
    }

    #[test]
    fn an_execution_arn_is_made_from_its_state_machine() {
        assert_eq!(
            execution_arn_of(
                "arn:aws:states:eu-west-1:123456789012:stateMachine:dfr-up",
                "nightly"
            ),
            "arn:aws:states:eu-west-1:123456789012:execution:dfr-up:nightly"
        );
    }
}
