//! lock: composition root. The handler is `dfr_lambda::lock`, the lock logic `dfr_locks`.

use dfr_lambda::lock::{handle, LockEvent};
use dfr_lambda::runtime::{serve, Aws};
use dfr_lambda::stack::Stack;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let aws = &Aws::load().await;
    let stack = &Stack::from_process_env();
    serve(aws, |payload| async move {
        let event = LockEvent::parse(&payload)?;
        handle(&event, aws.locks()?, stack, chrono::Utc::now()).await
    })
    .await
}
