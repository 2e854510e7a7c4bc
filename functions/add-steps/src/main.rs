//! add-steps: composition root. The handler is `dfr_lambda::add_steps`, or `dfr_lambda::serverless::start` for
//! `"target": "serverless"` (one job run).

use dfr_lambda::add_steps::{add_steps, cancel_steps, AddStepsRequest};
use dfr_lambda::runtime::{decode, encode, serve, Aws};
use dfr_lambda::serverless::{self, start::StartEvent};
use gotemplate::SystemClock;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let aws = &Aws::load().await;
    serve(aws, |payload| async move {
        if serverless::is_serverless(&payload) {
            let event: StartEvent = decode("add-steps", payload)?;
            let port = aws.emr_serverless(event.region.as_deref());
            return encode(&serverless::start::start(&event, &port).await?);
        }
        match AddStepsRequest::parse(payload)? {
            AddStepsRequest::Add(event) => {
                let emr = aws.emr(event.region.as_deref());
                encode(&add_steps(&event, &emr, aws.s3(), &SystemClock, chrono::Utc::now()).await?)
            }
            AddStepsRequest::Cancel(event) => {
                let emr = aws.emr(event.region.as_deref());
                encode(&cancel_steps(&event, &emr).await?)
            }
        }
    })
    .await
}
