//! The error names the Lambdas return. Step Functions' Retry and Catch match these names (the Lambda `errorType`),
//! so they are a contract: documented in functions/README.md, one variant each.

use aws_sdk_emr::error::{ProvideErrorMetadata, SdkError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    InvalidConfig(String),
    #[error("{0}")]
    ConfigNotFound(String),
    #[error("{0}")]
    EmrThrottled(String),
    #[error("{0}")]
    EmrUnavailable(String),
    #[error("{0}")]
    EmrRejected(String),
    #[error("{0}")]
    AccessDenied(String),
    #[error("{0}")]
    ClusterNotFound(String),
    #[error("{0}")]
    ClusterNotActive(String),
    #[error("{0}")]
    ClusterNotManaged(String),
    #[error("{0}")]
    Internal(String),
}

impl Error {
    /// The stable name Step Functions sees.
    pub fn name(&self) -> &'static str {
        match self {
            Self::InvalidConfig(_) => "InvalidConfig",
            Self::ConfigNotFound(_) => "ConfigNotFound",
            Self::EmrThrottled(_) => "EmrThrottled",
            Self::EmrUnavailable(_) => "EmrUnavailable",
            Self::EmrRejected(_) => "EmrRejected",
            Self::AccessDenied(_) => "AccessDenied",
            Self::ClusterNotFound(_) => "ClusterNotFound",
            Self::ClusterNotActive(_) => "ClusterNotActive",
            Self::ClusterNotManaged(_) => "ClusterNotManaged",
            Self::Internal(_) => "Internal",
        }
    }

    /// Whether the same call may succeed later (the state machines retry exactly these).
    pub fn retryable(&self) -> bool {
        matches!(self, Self::EmrThrottled(_) | Self::EmrUnavailable(_))
    }

    /// Classifies an AWS SDK failure from any EMR (or S3) operation.
    pub fn from_sdk<E, R>(operation: &str, err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug,
    {
        match &err {
            SdkError::ServiceError(service) => {
                let e = service.err();
                let code = e.code().unwrap_or("Unknown");
                let message = format!(
                    "{operation}: {code}: {}",
                    e.message().unwrap_or("no message")
                );
                match code {
                    "ThrottlingException"
                    | "Throttling"
                    | "TooManyRequestsException"
                    | "RequestLimitExceeded" => Self::EmrThrottled(message),
                    "InternalServerError"
                    | "InternalServerException"
                    | "InternalFailure"
                    | "ServiceUnavailable" => Self::EmrUnavailable(message),
                    "AccessDeniedException" | "AccessDenied" | "UnrecognizedClientException" => {
                        Self::AccessDenied(message)
                    }
                    "NoSuchKey" | "NoSuchBucket" | "NotFound" => Self::ConfigNotFound(message),
                    _ if message.contains("is not valid") && message.contains("Cluster id") => {
                        Self::ClusterNotFound(message)
                    }
                    _ => Self::EmrRejected(message),
                }
            }
            SdkError::TimeoutError(_)
            | SdkError::DispatchFailure(_)
            | SdkError::ResponseError(_) => {
                Self::EmrUnavailable(format!("{operation}: no usable answer: {}", describe(&err)))
            }
            _ => Self::Internal(format!("{operation}: {}", describe(&err))),
        }
    }
}

fn describe(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

impl From<Error> for lambda_runtime::Diagnostic {
    fn from(e: Error) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.name().to_string(),
            error_message: e.to_string(),
        }
    }
}

impl From<dfr_core::diagnostics::ConfigErrors> for Error {
    fn from(e: dfr_core::diagnostics::ConfigErrors) -> Self {
        Self::InvalidConfig(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_documented_contract() {
        let readme = include_str!("../../../functions/README.md");
        let all = [
            Error::InvalidConfig(String::new()),
            Error::ConfigNotFound(String::new()),
            Error::EmrThrottled(String::new()),
            Error::EmrUnavailable(String::new()),
            Error::EmrRejected(String::new()),
            Error::AccessDenied(String::new()),
            Error::ClusterNotFound(String::new()),
            Error::ClusterNotActive(String::new()),
            Error::ClusterNotManaged(String::new()),
            Error::Internal(String::new()),
        ];
        for e in all {
            let row = format!("| `{}` |", e.name());
            let line = readme
                .lines()
                .find(|l| l.starts_with(&row))
                .unwrap_or_else(|| panic!("{} is not documented", e.name()));
            let documented_retryable = line.trim_end().ends_with("| yes |");
            assert_eq!(
                documented_retryable,
                e.retryable(),
                "{} retryability differs from the README",
                e.name()
            );
            let d: lambda_runtime::Diagnostic = e.clone().into();
            assert_eq!(d.error_type, e.name());
        }
    }
}
