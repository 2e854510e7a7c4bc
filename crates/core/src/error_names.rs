//! The one list of the error names an execution can fail with: what a function returns as its `errorType` (Step
//! Functions' `Retry` and `Catch` match it), what check-status reports for a failed run, and what the state machines
//! end with themselves. The Lambdas' `Error` (crates/lambda), check-status's [`RunFailure`](crate::status::RunFailure)
//! and the CLI's exit codes take their names from here; `tests/contracts.rs` reads the four definitions,
//! statemachine/README.md and functions/README.md and compares the names they use with this list.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Who gives a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A function's `errorType`: crates/lambda's `Error`, documented in functions/README.md.
    Function,
    /// check-status's verdict on a run that failed on EMR (`status::RunFailure`).
    Run,
    /// A state machine's own, written by its definitions.
    StateMachine,
}

macro_rules! error_names {
    ($($(#[doc = $doc:literal])* $name:ident => $origin:ident,)*) => {
        /// An error name. Its text is the variant's name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorName {
            $($(#[doc = $doc])* $name,)*
        }

        impl ErrorName {
            pub const ALL: &'static [ErrorName] = &[$(Self::$name,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$name => stringify!($name),)*
                }
            }

            pub fn origin(self) -> Origin {
                match self {
                    $(Self::$name => Origin::$origin,)*
                }
            }
        }
    };
}

error_names! {
    /// The event, the input or a config is invalid.
    InvalidConfig => Function,
    /// An `s3://` config cannot be read.
    ConfigNotFound => Function,
    /// EMR, S3 or DynamoDB throttled the call.
    EmrThrottled => Function,
    /// EMR, S3 or DynamoDB did not answer, or answered 5xx.
    EmrUnavailable => Function,
    /// EMR or DynamoDB refused the request.
    EmrRejected => Function,
    /// The function's role may not do this.
    AccessDenied => Function,
    /// No such cluster in this region.
    ClusterNotFound => Function,
    /// Steps cannot be added: the cluster is ending.
    ClusterNotActive => Function,
    /// terminate-cluster refused a cluster this project did not launch.
    ClusterNotManaged => Function,
    /// An EMR Serverless application is on its way to a state the call needs (CREATING, STOPPING, job runs still
    /// cancelling): the same call succeeds later.
    ApplicationNotReady => Function,
    /// A defect.
    Internal => Function,
    /// The cluster failed bootstrap on the last allowed attempt.
    BootstrapFailure => Run,
    /// The cluster ended without its steps.
    ClusterFailed => Run,
    /// A step ended FAILED, CANCELLED or INTERRUPTED.
    StepFailed => Run,
    /// The run's cluster cost more than `options.maxInstanceHours` or `maxCostUsd` allow.
    BudgetExceeded => Run,
    /// The run's lock is held by another run: nothing was launched (the CLI exits 17).
    LockHeld => StateMachine,
    /// The run did not end within its bounds.
    Timeout => StateMachine,
    /// check-status failed `maxFailedChecks` times in a row.
    StatusUnknown => StateMachine,
}

impl ErrorName {
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|n| n.as_str() == name)
    }

    /// Whether the same call may succeed later: the state machines retry exactly these.
    pub fn retryable(self) -> bool {
        matches!(
            self,
            Self::EmrThrottled | Self::EmrUnavailable | Self::ApplicationNotReady
        )
    }
}

impl std::fmt::Display for ErrorName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Self::from_name(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("{name:?} is not an error name")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_reads_back_as_itself_and_nothing_else_is_a_name() {
        for &n in ErrorName::ALL {
            assert_eq!(ErrorName::from_name(n.as_str()), Some(n));
            assert_eq!(serde_json::to_value(n).unwrap(), n.as_str());
            assert_eq!(
                serde_json::from_value::<ErrorName>(n.as_str().into()).unwrap(),
                n
            );
        }
        assert_eq!(ErrorName::from_name("States.Timeout"), None);
        assert!(serde_json::from_value::<ErrorName>("lockheld".into()).is_err());
    }
}
