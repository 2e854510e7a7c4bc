//! What can go wrong with a lock table, and what an AWS SDK call's failure was (named by whoever reports it: the
//! Lambdas give it their error names, the CLI its exit codes).

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

/// An AWS call that failed, before anyone names the failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SdkFailure {
    /// The service answered with an error: its code (`__type` or XML `Code`, when it gave one) and HTTP status.
    Answer {
        code: Option<String>,
        status: u16,
        message: String,
    },
    /// No usable answer (timeout, connection dropped, unreadable response): the call may have taken effect.
    NoAnswer(String),
    /// Anything else the SDK reports (a request it could not build, …): a defect.
    Other(String),
}

impl std::fmt::Display for SdkFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SdkFailure::Answer { message, .. }
            | SdkFailure::NoAnswer(message)
            | SdkFailure::Other(message) => f.write_str(message),
        }
    }
}

/// Classifies the failure of any AWS SDK operation (every SDK shares these error types).
pub fn sdk_failure<E>(operation: &str, err: SdkError<E, HttpResponse>) -> SdkFailure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let status = service.raw().status().as_u16();
            let message = format!(
                "{operation}: {}: {}",
                e.code().unwrap_or(&format!("HTTP {status}")),
                e.message().unwrap_or("no message")
            );
            SdkFailure::Answer {
                code: e.code().map(str::to_string),
                status,
                message,
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            SdkFailure::NoAnswer(format!("{operation}: no usable answer: {}", chain(&err)))
        }
        _ => SdkFailure::Other(format!("{operation}: {}", chain(&err))),
    }
}

/// An error and its sources, one line.
fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockError {
    /// A lock request that cannot be right (a malformed name, an owner that is not an execution ARN).
    #[error("{0}")]
    Invalid(String),
    /// DynamoDB (or the way to it) failed.
    #[error("{0}")]
    Aws(SdkFailure),
    /// An operator's release refused: the owner is (or may be) still running.
    #[error("{0}")]
    Refused(String),
    /// The lock kept changing under a conditional write, or changed between a look and a release.
    #[error("{0}")]
    Changed(String),
    /// An item that is not in this layout (written by something else).
    #[error("{0}")]
    Corrupt(String),
}
