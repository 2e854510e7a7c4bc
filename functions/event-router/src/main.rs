//! event-router: composition root. The handler is `dfr_lambda::route`, the waits `dfr_lambda::wait`.

use dfr_lambda::route::{route, Regional};
use dfr_lambda::runtime::{encode, serve, Aws};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let aws = &Aws::load().await;
    serve(aws, |payload| async move {
        let prices = aws.list_prices();
        let with = aws.answering(&prices, chrono::Utc::now())?;
        let ports = Regional {
            emr: |region: Option<&str>| aws.emr(region),
            serverless: |region: Option<&str>| aws.emr_serverless(region),
        };
        let routed = route(&payload, &ports, &with).await?;
        encode(&routed)
    })
    .await
}
