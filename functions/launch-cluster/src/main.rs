//! launch-cluster: composition root. The handler is `dfr_lambda::launch`.

use dfr_core::template::ProcessEnv;
use dfr_lambda::launch::{launch_cluster, LaunchEvent};
use dfr_lambda::runtime::{decode, encode, init_tracing, Aws};
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let aws = &Aws::load().await;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let event: LaunchEvent = decode("launch-cluster", event.payload)?;
        let output = launch_cluster(
            &event,
            |region| aws.emr(region),
            aws.s3(),
            &ProcessEnv,
            chrono::Utc::now(),
        )
        .await?;
        encode(&output)
    }))
    .await
}
