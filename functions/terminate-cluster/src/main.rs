//! terminate-cluster: composition root. The handler is `dfr_lambda::terminate`, or `dfr_lambda::serverless::cleanup`
//! for `"target": "serverless"`.

use dfr_lambda::runtime::{decode, encode, serve, Aws};
use dfr_lambda::serverless::{self, cleanup::CleanupEvent};
use dfr_lambda::stack::Stack;
use dfr_lambda::terminate::{terminate, TerminateEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let aws = &Aws::load().await;
    let stack = &Stack::from_process_env();
    serve(aws, |payload| async move {
        if serverless::is_serverless(&payload) {
            let event: CleanupEvent = decode("terminate-cluster", payload)?;
            stack.regions.check(event.region.as_deref())?;
            let port = aws.emr_serverless(event.region.as_deref());
            return encode(&serverless::cleanup::cleanup(&event, &port).await?);
        }
        let event = TerminateEvent::parse(&payload)?;
        let emr_for = |region: Option<&str>| aws.emr(region);
        let serverless_for = |region: Option<&str>| aws.emr_serverless(region);
        let now = chrono::Utc::now();
        encode(&terminate(&event, emr_for, serverless_for, aws.waits()?, stack, now).await?)
    })
    .await
}
