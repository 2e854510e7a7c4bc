//! Step Functions' callback API ([`crate::wait::Callbacks`]) over `aws-sdk-sfn`.

use serde_json::Value;

use crate::error::Error;
use crate::wait::{Callbacks, Delivery};

/// Step Functions' callback API over the SDK.
#[derive(Debug, Clone)]
pub struct SdkCallbacks {
    pub client: aws_sdk_sfn::Client,
}

impl Callbacks for SdkCallbacks {
    async fn succeed(&self, token: &str, output: &Value) -> Result<Delivery, Error> {
        let answer = self
            .client
            .send_task_success()
            .task_token(token)
            .output(output.to_string())
            .send()
            .await;
        match answer {
            Ok(_) => Ok(Delivery::Delivered),
            Err(e) => {
                let code = e
                    .as_service_error()
                    .and_then(aws_sdk_sfn::error::ProvideErrorMetadata::code)
                    .map(str::to_string);
                match code.as_deref() {
                    Some("TaskTimedOut" | "TaskDoesNotExist" | "InvalidToken") => {
                        Ok(Delivery::Stale)
                    }
                    Some("InvalidOutput") => Err(Error::Internal(format!(
                        "SendTaskSuccess refused the status as output: {}",
                        crate::error::Error::from_sdk("SendTaskSuccess", e)
                    ))),
                    _ => Err(Error::from_sdk("SendTaskSuccess", e)),
                }
            }
        }
    }
}
