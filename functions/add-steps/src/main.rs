//! add-steps: composition root. The handler is `dfr_lambda::add_steps`.

use dfr_core::template::ProcessEnv;
use dfr_lambda::add_steps::{add_steps, AddStepsEvent};
use dfr_lambda::runtime::{decode, encode, serve, Aws};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let aws = &Aws::load().await;
    serve(|payload| async move {
        let event: AddStepsEvent = decode("add-steps", payload)?;
        let emr = aws.emr(event.region.as_deref());
        encode(&add_steps(&event, &emr, aws.s3(), &ProcessEnv, chrono::Utc::now()).await?)
    })
    .await
}
