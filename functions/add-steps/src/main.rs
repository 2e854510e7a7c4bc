//! add-steps: composition root. The handler is `dfr_lambda::add_steps`.

use dfr_lambda::add_steps::{add_steps, cancel_steps, AddStepsRequest};
use dfr_lambda::runtime::{encode, serve, Aws};
use gotemplate::SystemClock;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let aws = &Aws::load().await;
    serve(aws, |payload| async move {
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
