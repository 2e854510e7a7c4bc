//! add-steps: composition root. The handler is `dfr_lambda::add_steps`.

use dfr_core::template::ProcessEnv;
use dfr_lambda::add_steps::{add_steps, AddStepsEvent};
use dfr_lambda::runtime::{decode, encode, init_tracing, Aws};
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let aws = &Aws::load().await;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let event: AddStepsEvent = decode("add-steps", event.payload)?;
        let emr = aws.emr(event.region.as_deref());
        encode(&add_steps(&event, &emr, aws.s3(), &ProcessEnv, chrono::Utc::now()).await?)
    }))
    .await
}
