//! terminate-cluster: composition root. The handler is `dfr_lambda::terminate`.

use dfr_lambda::runtime::{encode, serve, Aws};
use dfr_lambda::stack::Stack;
use dfr_lambda::terminate::{terminate, TerminateEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let aws = &Aws::load().await;
    let stack = &Stack::from_process_env();
    serve(aws, |payload| async move {
        let event = TerminateEvent::parse(&payload)?;
        let emr_for = |region: Option<&str>| aws.emr(region);
        encode(&terminate(&event, emr_for, aws.waits()?, stack, chrono::Utc::now()).await?)
    })
    .await
}
