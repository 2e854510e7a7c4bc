//! check-status: composition root. The handler is `dfr_lambda::check` (one poll), or `dfr_lambda::wait` when the
//! state machine waits for EMR's or EMR Serverless's events on a task token, or `dfr_lambda::serverless::check` for
//! `"target": "serverless"` (one GetJobRun).

use dfr_lambda::check::{check_status, CheckEvent};
use dfr_lambda::runtime::{decode, encode, jitter, serve, Aws};
use dfr_lambda::serverless::{self, check::CheckEvent as ServerlessCheck};
use dfr_lambda::wait::{register, register_job_run};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let aws = &Aws::load().await;
    serve(aws, |payload| async move {
        let now = chrono::Utc::now();
        let prices = aws.list_prices();
        if serverless::is_serverless(&payload) {
            let event: ServerlessCheck = decode("check-status", payload)?;
            let port = aws.emr_serverless(event.region.as_deref());
            return match &event.wait {
                None => {
                    encode(&serverless::check::check(&event, &port, &prices, now, jitter()).await?)
                }
                Some(wait) => {
                    let with = aws.answering(&prices, now)?;
                    encode(&register_job_run(&event, wait, &port, &with).await?)
                }
            };
        }
        let event: CheckEvent = decode("check-status", payload)?;
        let emr = aws.emr(event.region.as_deref());
        match &event.wait {
            None => {
                let status = check_status(&event, &emr, &prices, now, jitter()).await?;
                // A polled check's answer is the Task's result: the run ends with it.
                status.write_run_end();
                encode(&status)
            }
            Some(wait) => {
                let with = aws.answering(&prices, now)?;
                encode(&register(&event, wait, &emr, &with).await?)
            }
        }
    })
    .await
}
