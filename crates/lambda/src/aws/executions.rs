//! Step Functions' DescribeExecution ([`crate::reconcile::Executions`]) over `aws-sdk-sfn`.

use crate::error::Error;
use crate::reconcile::{ExecutionStatus, Executions};

/// DescribeExecution over the SDK.
#[derive(Debug, Clone)]
pub struct SdkExecutions {
    pub client: aws_sdk_sfn::Client,
}

impl Executions for SdkExecutions {
    async fn describe(&self, execution_arn: &str) -> Result<Option<ExecutionStatus>, Error> {
        let answer = self
            .client
            .describe_execution()
            .execution_arn(execution_arn)
            .send()
            .await;
        match answer {
            Ok(d) => Ok(Some(ExecutionStatus {
                status: d.status().as_str().to_string(),
                error: d.error().map(str::to_string),
                cause: d.cause().map(str::to_string),
                started_at: utc(d.start_date()),
                stopped_at: d.stop_date().and_then(utc),
            })),
            Err(e)
                if e.as_service_error()
                    .and_then(aws_sdk_sfn::error::ProvideErrorMetadata::code)
                    == Some("ExecutionDoesNotExist") =>
            {
                Ok(None)
            }
            Err(e) => Err(Error::from_sdk("DescribeExecution", e)),
        }
    }
}

fn utc(t: &aws_sdk_sfn::primitives::DateTime) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}
