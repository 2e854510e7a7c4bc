//! launch-cluster: composition root. The handler is `dfr_lambda::launch`, or `dfr_lambda::serverless::launch` for
//! `"target": "serverless"`.

use dfr_lambda::launch::{launch_cluster, LaunchEvent};
use dfr_lambda::runtime::{decode, encode, serve, Aws};
use dfr_lambda::serverless::{self, launch::LaunchEvent as ServerlessLaunch};
use dfr_lambda::stack::Stack;
use gotemplate::SystemClock;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let aws = &Aws::load().await;
    let stack = &Stack::from_process_env();
    serve(aws, |payload| async move {
        if serverless::is_serverless(&payload) && serverless::ready::is_ready(&payload) {
            let event: serverless::ready::ReadyEvent = decode("launch-cluster", payload)?;
            stack.regions.check(event.region.as_deref())?;
            let s = aws.emr_serverless(event.region.as_deref());
            return encode(&serverless::ready::ready(&event, &s).await?);
        }
        if serverless::is_serverless(&payload) {
            let event: ServerlessLaunch = decode("launch-cluster", payload)?;
            let serverless_for = |region: Option<&str>| aws.emr_serverless(region);
            return encode(
                &serverless::launch::launch(&event, serverless_for, aws.s3(), &SystemClock, stack)
                    .await?,
            );
        }
        let event: LaunchEvent = decode("launch-cluster", payload)?;
        let emr_for = |region: Option<&str>| aws.emr(region);
        let now = chrono::Utc::now();
        encode(&launch_cluster(&event, emr_for, aws.s3(), &SystemClock, stack, now).await?)
    })
    .await
}
