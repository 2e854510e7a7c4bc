//! terminate-cluster: composition root. The handler is `dfr_lambda::terminate`, or
//! `dfr_lambda::serverless::cleanup::cleanup_run` for `"target": "serverless"`.

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
            let (prices, now) = (aws.list_prices(), chrono::Utc::now());
            let cleaned =
                serverless::cleanup::cleanup_run(&event, &port, aws.waits()?, &prices, now);
            return encode(&cleaned.await?);
        }
        let event = TerminateEvent::parse(&payload)?;
        let emr_for = |region: Option<&str>| aws.emr(region);
        let serverless_for = |region: Option<&str>| aws.emr_serverless(region);
        let now = chrono::Utc::now();
        let prices = aws.list_prices();
        let ended = terminate(
            &event,
            emr_for,
            serverless_for,
            aws.waits()?,
            &prices,
            stack,
            now,
        );
        encode(&ended.await?)
    })
    .await
}
