//! launch-cluster: composition root. The handler is `dfr_lambda::launch`.

use dfr_lambda::launch::{launch_cluster, LaunchEvent};
use dfr_lambda::runtime::{decode, encode, serve, Aws};
use dfr_lambda::stack::Stack;
use gotemplate::SystemClock;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let aws = &Aws::load().await;
    let stack = &Stack::from_process_env();
    serve(aws, |payload| async move {
        let event: LaunchEvent = decode("launch-cluster", payload)?;
        let emr_for = |region: Option<&str>| aws.emr(region);
        let now = chrono::Utc::now();
        encode(&launch_cluster(&event, emr_for, aws.s3(), &SystemClock, stack, now).await?)
    })
    .await
}
