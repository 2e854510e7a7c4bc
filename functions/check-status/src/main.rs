//! check-status: composition root. The handler is `dfr_lambda::check`.

use dfr_lambda::check::{check_status, CheckEvent};
use dfr_lambda::runtime::{decode, encode, jitter, serve, Aws};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let aws = &Aws::load().await;
    serve(|payload| async move {
        let event: CheckEvent = decode("check-status", payload)?;
        let emr = aws.emr(event.region.as_deref());
        encode(&check_status(&event, &emr, chrono::Utc::now(), jitter()).await?)
    })
    .await
}
