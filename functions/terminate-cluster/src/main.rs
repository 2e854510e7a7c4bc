//! terminate-cluster: composition root. The handler is `dfr_lambda::terminate`.

use dfr_lambda::runtime::{encode, serve, Aws};
use dfr_lambda::terminate::{terminate, TerminateEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let aws = &Aws::load().await;
    serve(|payload| async move {
        let event = TerminateEvent::parse(&payload)?;
        let emr = aws.emr(event.region());
        encode(&terminate(&event, &emr, chrono::Utc::now()).await?)
    })
    .await
}
