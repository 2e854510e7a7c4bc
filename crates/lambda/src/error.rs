//! The errors the Lambdas return. Step Functions' Retry and Catch match their names (the Lambda `errorType`), so the
//! names are a contract: each variant takes its name from the one list (`dfr_core::error_names`, origin `Function`),
//! documented in functions/README.md.

use aws_sdk_emr::config::http::HttpResponse;
use aws_sdk_emr::error::{ProvideErrorMetadata, SdkError};
use dfr_core::error_names::ErrorName;
use dfr_locks::{LockError, SdkFailure};

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
    ApplicationNotReady(String),
    #[error("{0}")]
    Internal(String),
}

impl Error {
    /// The name in the one list.
    pub fn kind(&self) -> ErrorName {
        match self {
            Self::InvalidConfig(_) => ErrorName::InvalidConfig,
            Self::ConfigNotFound(_) => ErrorName::ConfigNotFound,
            Self::EmrThrottled(_) => ErrorName::EmrThrottled,
            Self::EmrUnavailable(_) => ErrorName::EmrUnavailable,
            Self::EmrRejected(_) => ErrorName::EmrRejected,
            Self::AccessDenied(_) => ErrorName::AccessDenied,
            Self::ClusterNotFound(_) => ErrorName::ClusterNotFound,
            Self::ClusterNotActive(_) => ErrorName::ClusterNotActive,
            Self::ClusterNotManaged(_) => ErrorName::ClusterNotManaged,
            Self::ApplicationNotReady(_) => ErrorName::ApplicationNotReady,
            Self::Internal(_) => ErrorName::Internal,
        }
    }

    /// The stable name Step Functions sees.
    pub fn name(&self) -> &'static str {
        self.kind().as_str()
    }

    /// Whether the same call may succeed later (the state machines retry exactly these).
    pub fn retryable(&self) -> bool {
        self.kind().retryable()
    }

    /// Classifies an AWS SDK failure from any EMR, S3 or DynamoDB operation.
    pub fn from_sdk<E>(operation: &str, err: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        Self::from_failure(dfr_locks::sdk_failure(operation, err))
    }

    /// Classifies an AWS SDK failure from an EMR Serverless operation. `from_config`: the request was built from the
    /// user's config (CreateApplication, StartJobRun), so EMR Serverless's `ValidationException` is the config's
    /// fault (`InvalidConfig`); on any other call it refuses an application's or job run's state (`EmrRejected`).
    pub fn from_serverless_sdk<E>(
        operation: &str,
        from_config: bool,
        err: SdkError<E, HttpResponse>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        match dfr_locks::sdk_failure(operation, err) {
            SdkFailure::Answer {
                code,
                status,
                message,
            } => Self::of_serverless_answer(code.as_deref(), status, message, from_config),
            other => Self::from_failure(other),
        }
    }

    /// The name of an error answer from EMR Serverless: an application or job run it does not know is
    /// `ClusterNotFound` (the same name as a cluster's: what a run ran on is gone), `ValidationException` as
    /// [`Error::from_serverless_sdk`] says, the rest as EMR's ([`Error::of_service_answer`]: `ThrottlingException`,
    /// HTTP 429, is `EmrThrottled`; `ConflictException` and `ServiceQuotaExceededException` are `EmrRejected`).
    pub fn of_serverless_answer(
        code: Option<&str>,
        status: u16,
        message: String,
        from_config: bool,
    ) -> Self {
        match code.unwrap_or("") {
            "ResourceNotFoundException" => Self::ClusterNotFound(message),
            "ValidationException" if from_config => Self::InvalidConfig(message),
            _ => Self::of_service_answer(code, status, message),
        }
    }

    pub fn from_failure(failure: SdkFailure) -> Self {
        match failure {
            SdkFailure::Answer {
                code,
                status,
                message,
            } => Self::of_service_answer(code.as_deref(), status, message),
            SdkFailure::NoAnswer(message) => Self::EmrUnavailable(message),
            SdkFailure::Other(message) => Self::Internal(message),
        }
    }

    /// The name of an error answer from EMR, S3 or DynamoDB, from its error code and HTTP status. Codes are EMR's and
    /// DynamoDB's (JSON `__type`) and S3's (XML `Code`); an answer without a code is judged by its status alone (5xx:
    /// unavailable).
    pub fn of_service_answer(code: Option<&str>, status: u16, message: String) -> Self {
        match code.unwrap_or("") {
            "ThrottlingException"
            | "Throttling"
            | "ProvisionedThroughputExceededException"
            | "TooManyRequestsException"
            | "RequestLimitExceeded"
            | "SlowDown"
            | "RequestThrottled" => Self::EmrThrottled(message),
            "InternalServerError"
            | "InternalServerException"
            | "InternalErrorException"
            | "InternalFailure"
            | "InternalError"
            | "ServiceUnavailable"
            | "ServiceUnavailableException"
            | "RequestTimeout" => Self::EmrUnavailable(message),
            "AccessDeniedException"
            | "AccessDenied"
            | "UnauthorizedOperation"
            | "AuthFailure"
            | "UnrecognizedClientException"
            | "InvalidAccessKeyId"
            | "ExpiredToken"
            | "ExpiredTokenException"
            | "InvalidToken" => Self::AccessDenied(message),
            "NoSuchKey" | "NoSuchBucket" | "NotFound" => Self::ConfigNotFound(message),
            _ if message.contains("is not valid") && message.contains("Cluster id") => {
                Self::ClusterNotFound(message)
            }
            _ if status >= 500 => Self::EmrUnavailable(message),
            _ if status == 429 => Self::EmrThrottled(message),
            _ => Self::EmrRejected(message),
        }
    }
}

impl From<Error> for lambda_runtime::Diagnostic {
    fn from(e: Error) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.name().to_string(),
            error_message: crate::payload::cut(&e.to_string(), crate::payload::MESSAGE_LIMIT),
        }
    }
}

impl From<LockError> for Error {
    fn from(e: LockError) -> Self {
        match e {
            LockError::Invalid(m) | LockError::Refused(m) => Self::InvalidConfig(m),
            LockError::Aws(failure) => Self::from_failure(failure),
            // Someone else changed the lock at every try: another try (a retry of the Task) decides again.
            LockError::Changed(m) => Self::EmrUnavailable(m),
            LockError::Corrupt(m) => Self::Internal(m),
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

    /// What each service answers, and the name it must become: retryable exactly when a later call may succeed.
    #[test]
    fn every_answer_of_emr_and_s3_gets_a_documented_name() {
        let cases: &[(&str, Option<&str>, u16, &str)] = &[
            // EMR (JSON 1.1 `__type`)
            ("EMR", Some("ThrottlingException"), 400, "EmrThrottled"),
            ("EMR", Some("InternalServerError"), 500, "EmrUnavailable"),
            (
                "EMR",
                Some("InternalServerException"),
                500,
                "EmrUnavailable",
            ),
            ("EMR", Some("ServiceUnavailable"), 503, "EmrUnavailable"),
            ("EMR", None, 500, "EmrUnavailable"),
            ("EMR", None, 502, "EmrUnavailable"),
            ("EMR", None, 429, "EmrThrottled"),
            ("EMR", Some("AccessDeniedException"), 400, "AccessDenied"),
            (
                "EMR",
                Some("UnrecognizedClientException"),
                400,
                "AccessDenied",
            ),
            ("EMR", Some("ExpiredTokenException"), 400, "AccessDenied"),
            ("EMR", Some("ValidationException"), 400, "EmrRejected"),
            ("EMR", Some("InvalidRequestException"), 400, "EmrRejected"),
            ("EMR", None, 400, "EmrRejected"),
            // S3 (XML `Code`)
            ("S3", Some("SlowDown"), 503, "EmrThrottled"),
            ("S3", Some("InternalError"), 500, "EmrUnavailable"),
            ("S3", Some("ServiceUnavailable"), 503, "EmrUnavailable"),
            ("S3", Some("RequestTimeout"), 400, "EmrUnavailable"),
            ("S3", None, 503, "EmrUnavailable"),
            ("S3", Some("NoSuchKey"), 404, "ConfigNotFound"),
            ("S3", Some("NoSuchBucket"), 404, "ConfigNotFound"),
            ("S3", Some("AccessDenied"), 403, "AccessDenied"),
            ("S3", Some("InvalidAccessKeyId"), 403, "AccessDenied"),
            ("S3", Some("ExpiredToken"), 400, "AccessDenied"),
        ];
        for (service, code, status, name) in cases {
            let e = Error::of_service_answer(*code, *status, "m".into());
            assert_eq!(e.name(), *name, "{service} {code:?} {status}");
        }
        let missing = Error::of_service_answer(
            Some("InvalidRequestException"),
            400,
            "DescribeCluster: InvalidRequestException: Cluster id 'j-X' is not valid.".into(),
        );
        assert_eq!(missing.name(), "ClusterNotFound");
    }

    #[test]
    fn every_answer_of_emr_serverless_gets_a_documented_name() {
        let cases: &[(Option<&str>, u16, bool, &str)] = &[
            (Some("ThrottlingException"), 429, false, "EmrThrottled"),
            (
                Some("InternalServerException"),
                500,
                false,
                "EmrUnavailable",
            ),
            (Some("ServiceUnavailable"), 503, false, "EmrUnavailable"),
            (
                Some("ResourceNotFoundException"),
                404,
                false,
                "ClusterNotFound",
            ),
            (
                Some("ResourceNotFoundException"),
                404,
                true,
                "ClusterNotFound",
            ),
            (Some("AccessDeniedException"), 403, true, "AccessDenied"),
            (
                Some("UnrecognizedClientException"),
                403,
                false,
                "AccessDenied",
            ),
            (Some("ValidationException"), 400, true, "InvalidConfig"),
            (Some("ValidationException"), 400, false, "EmrRejected"),
            (Some("ConflictException"), 409, true, "EmrRejected"),
            (
                Some("ServiceQuotaExceededException"),
                402,
                true,
                "EmrRejected",
            ),
            (None, 502, false, "EmrUnavailable"),
        ];
        for (code, status, from_config, name) in cases {
            let e = Error::of_serverless_answer(*code, *status, "m".into(), *from_config);
            assert_eq!(
                e.name(),
                *name,
                "{code:?} {status} from config: {from_config}"
            );
        }
    }

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
            Error::ApplicationNotReady(String::new()),
            Error::Internal(String::new()),
        ];
        let kinds: Vec<ErrorName> = all.iter().map(Error::kind).collect();
        let functions: Vec<ErrorName> = ErrorName::ALL
            .iter()
            .copied()
            .filter(|n| n.origin() == dfr_core::error_names::Origin::Function)
            .collect();
        assert_eq!(
            kinds, functions,
            "one variant per function error name of the list"
        );
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
