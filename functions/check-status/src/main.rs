//! check-status: composition root. The handler is `dfr_lambda::check` (one poll), or `dfr_lambda::wait` when the
//! state machine waits for EMR's events on a task token, or `dfr_lambda::serverless::check` for
//! `"target": "serverless"` (one GetJobRun).

use dfr_lambda::check::{check_status, CheckEvent};
use dfr_lambda::runtime::{decode, encode, jitter, serve, Aws};
use dfr_lambda::serverless::{self, check::CheckEvent as ServerlessCheck};
use dfr_lambda::wait::{register, Answering};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let aws = &Aws::load().await;
    serve(aws, |payload| async move {
        if serverless::is_serverless(&payload) {
            let event: ServerlessCheck = decode("check-status", payload)?;
            let port = aws.emr_serverless(event.region.as_deref());
            let home_region = aws.list_prices().home_region;
            let now = chrono::Utc::now();
            let checked =
                serverless::check::check(&event, &port, aws.prices(), &home_region, now, jitter());
            return encode(&checked.await?);
        }
        let event: CheckEvent = decode("check-status", payload)?;
        let emr = aws.emr(event.region.as_deref());
        let now = chrono::Utc::now();
        let prices = aws.list_prices();
        match &event.wait {
            None => {
                let status = check_status(&event, &emr, &prices, now, jitter()).await?;
                // A polled check's answer is the Task's result: the run ends with it.
                status.write_run_end();
                encode(&status)
            }
            Some(wait) => {
                let with = Answering {
                    waits: aws.waits()?,
                    callbacks: aws.callbacks(),
                    prices: &prices,
                    now,
                    jitter: jitter(),
                };
                encode(&register(&event, wait, &emr, &with).await?)
            }
        }
    })
    .await
}
