//! `dataflow-runner lock list | show NAME | release NAME [--force]`: the stack's run locks for operators, over the
//! same library the lock function uses.

use chrono::Utc;
use dfr_locks::{LockName, LockTable, OperatorRelease, OwnerStatus};
use serde_json::json;

use crate::execute::{Exit, Output};

/// The stack's lock table: `--lock-table`, or `<stack>-locks` as the template names it.
pub async fn table(stack: &str, explicit: Option<&str>) -> LockTable {
    let config = crate::aws::sdk_config().await;
    let name = explicit
        .map(str::to_string)
        .unwrap_or_else(|| format!("{stack}-locks"));
    LockTable::new(aws_sdk_dynamodb::Client::new(&config), name)
}

fn name_of(given: &str) -> Result<LockName, Exit> {
    LockName::new(given).map_err(|e| {
        eprintln!("error: {e}");
        Exit::Usage
    })
}

pub async fn list(table: &LockTable, output: Output) -> Exit {
    match table.list().await {
        Ok(locks) => {
            let now = Utc::now();
            match output {
                Output::Json => println!("{}", json!(locks)),
                Output::Text if locks.is_empty() => eprintln!("no locks in {}", table.table_name()),
                Output::Text => locks.iter().for_each(|l| println!("{}", l.describe(now))),
            }
            Exit::Success
        }
        Err(e) => fail(&e.to_string()),
    }
}

pub async fn show(table: &LockTable, given: &str, output: Output) -> Exit {
    let name = match name_of(given) {
        Ok(n) => n,
        Err(exit) => return exit,
    };
    match table.show(&name).await {
        Ok(Some(lock)) => {
            match output {
                Output::Json => println!("{}", json!(lock)),
                Output::Text => println!("{}", lock.describe(Utc::now())),
            }
            Exit::Success
        }
        Ok(None) => {
            eprintln!("no lock named {given:?} in {}", table.table_name());
            Exit::Failed
        }
        Err(e) => fail(&e.to_string()),
    }
}

/// Releases a lock; refused while its owner runs (as DescribeExecution says), unless `force`.
pub async fn release(
    table: &LockTable,
    sfn: &aws_sdk_sfn::Client,
    given: &str,
    force: bool,
) -> Exit {
    let name = match name_of(given) {
        Ok(n) => n,
        Err(exit) => return exit,
    };
    let by = format!(
        "{} (dataflow-runner lock release{})",
        std::env::var("USER").unwrap_or_else(|_| "an operator".into()),
        if force { " --force" } else { "" }
    );
    let owner_status = |owner: String| async move {
        match sfn.describe_execution().execution_arn(&owner).send().await {
            Ok(d)
                if d.status().as_str() == "RUNNING" || d.status().as_str() == "PENDING_REDRIVE" =>
            {
                OwnerStatus::Running
            }
            Ok(d) => OwnerStatus::Ended(d.status().as_str().to_string()),
            Err(_) => OwnerStatus::Unknown,
        }
    };
    match table
        .release(&name, force, &by, owner_status, Utc::now())
        .await
    {
        Ok(OperatorRelease::Released { before, .. }) => {
            println!(
                "released lock {given:?} (it was: {})",
                before.describe(Utc::now())
            );
            Exit::Success
        }
        Ok(OperatorRelease::NotHeld { .. }) => {
            println!("lock {given:?} is not held: nothing to release");
            Exit::Success
        }
        Err(e) => fail(&e.to_string()),
    }
}

fn fail(message: &str) -> Exit {
    eprintln!("error: {message}");
    Exit::Failed
}
