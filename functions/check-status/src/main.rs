//! check-status: composition root. The handler is `dfr_lambda::check`.

use dfr_lambda::check::{check_status, CheckEvent};
use dfr_lambda::runtime::{decode, encode, init_tracing, jitter, Aws};
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let aws = &Aws::load().await;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let event: CheckEvent = decode("check-status", event.payload)?;
        let emr = aws.emr(event.region.as_deref());
        encode(&check_status(&event, &emr, chrono::Utc::now(), jitter()).await?)
    }))
    .await
}
