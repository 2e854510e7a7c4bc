//! event-router: composition root. The handler is `dfr_lambda::route`, the waits `dfr_lambda::wait`.

use dfr_lambda::route::route;
use dfr_lambda::runtime::{encode, jitter, serve, Aws};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let aws = &Aws::load().await;
    serve(|payload| async move {
        let routed = route(
            &payload,
            |region| aws.emr(region),
            aws.waits()?,
            aws.callbacks(),
            chrono::Utc::now(),
            jitter(),
        )
        .await?;
        encode(&routed)
    })
    .await
}
