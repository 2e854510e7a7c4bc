//! event-router: composition root. The handler is `dfr_lambda::route`, the waits `dfr_lambda::wait`.

use dfr_lambda::route::route;
use dfr_lambda::runtime::{encode, jitter, serve, Aws};
use dfr_lambda::wait::Answering;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let aws = &Aws::load().await;
    serve(aws, |payload| async move {
        let prices = aws.list_prices();
        let with = Answering {
            waits: aws.waits()?,
            callbacks: aws.callbacks(),
            prices: &prices,
            now: chrono::Utc::now(),
            jitter: jitter(),
        };
        let routed = route(&payload, |region| aws.emr(region), &with).await?;
        encode(&routed)
    })
    .await
}
