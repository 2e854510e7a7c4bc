//! terminate-cluster: composition root. The handler is `dfr_lambda::terminate`.

use dfr_lambda::runtime::{encode, init_tracing, Aws};
use dfr_lambda::terminate::{terminate, TerminateEvent};
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let aws = &Aws::load().await;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let event = TerminateEvent::parse(&event.payload)?;
        let emr = aws.emr(event.region());
        encode(&terminate(&event, &emr, chrono::Utc::now()).await?)
    }))
    .await
}
