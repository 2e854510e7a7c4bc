//! reconciler: composition root. The sweep is `dfr_lambda::reconcile`; the stack's schedule starts it every
//! `ReconcileMinutes`.

use dfr_lambda::reconcile::{
    metrics, outcome, reconcile, stack_name, Ports, Scope, StackExecutions,
};
use dfr_lambda::runtime::{encode, serve, Aws};
use dfr_lambda::stack::Stack;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let aws = &Aws::load().await;
    let stack = &Stack::from_process_env();
    serve(aws, |_scheduled| async move {
        let scope = Scope {
            regions: stack.regions.all().to_vec(),
            home_region: std::env::var("AWS_REGION").unwrap_or_default(),
            executions: StackExecutions::from_process_env()?,
        };
        let emr = |region: &str| aws.emr(Some(region));
        let serverless = |region: &str| aws.emr_serverless(Some(region));
        let tagging = |region: &str| aws.tagging(region);
        let executions = aws.executions();
        let now = chrono::Utc::now();
        let prices = aws.list_prices();
        let ports = Ports {
            emr: &emr,
            serverless: &serverless,
            tagging: &tagging,
            executions: &executions,
            answering: aws.answering(&prices, now)?,
            locks: Some(aws.locks()?),
        };
        let swept = reconcile(&scope, &ports).await;
        tracing::info!(
            repairs = swept.repairs(),
            clusters = swept.clusters_seen,
            applications = swept.applications_seen,
            applications_finished = swept.applications_finished.len(),
            waits = swept.waits_seen,
            errors = swept.errors.len(),
            "swept"
        );
        let stack = stack_name(&scope.executions);
        let lines = [
            metrics(stack, &swept, now),
            swept.held_locks.metrics(stack, now),
        ];
        for line in lines.into_iter().flatten() {
            println!("{line}");
        }
        encode(&outcome(swept)?)
    })
    .await
}
