//! launch-cluster: composition root. The handler is `dfr_lambda::launch`.

use dfr_core::template::ProcessEnv;
use dfr_lambda::launch::{launch_cluster, LaunchEvent};
use dfr_lambda::runtime::{decode, encode, serve, Aws};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let aws = &Aws::load().await;
    serve(|payload| async move {
        let event: LaunchEvent = decode("launch-cluster", payload)?;
        let emr_for = |region: Option<&str>| aws.emr(region);
        encode(&launch_cluster(&event, emr_for, aws.s3(), &ProcessEnv, chrono::Utc::now()).await?)
    })
    .await
}
