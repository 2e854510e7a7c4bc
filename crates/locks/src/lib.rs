//! Run locks: what the original's `--lock NAME` / `--softLock NAME` did with a file or a Consul key, made atomic and
//! safe to lose, in the DynamoDB table the stack creates (`LockTable`, layout in infra/README.md "Locks").
//!
//! - **Atomic.** Every change is one conditional write: of twenty runs racing for a free lock exactly one gets it.
//! - **Owned.** A lock records its owner, the Step Functions execution ARN; the owner acquiring again (a retry, a
//!   redrive) gets it again, nobody else does.
//! - **Leased.** A held lock expires after its owner's longest possible run (the state machine's execution timeout
//!   and a margin); a lock whose owner is gone without releasing it is taken over by the next acquirer, atomically.
//! - **Hard and soft, as in the original.** Both are released when their run succeeds. A soft lock is released at
//!   every other end too; a hard lock is kept after a failure, with the failing execution and its error, and does
//!   not expire: a human looks, then releases it.
//!
//! [`model`] is the pure part (names, records, transitions, the release policy), [`item`] the table's item layout,
//! [`table::LockTable`] the conditional writes over `aws-sdk-dynamodb`, which the lock function and the
//! `dataflow-runner lock` commands call:
//!
//! ```ignore
//! let table = LockTable::new(aws_sdk_dynamodb::Client::new(&sdk_config), table_name); // the stack's LockTableName
//! let all: Vec<LockRecord> = table.list().await?;                   // lock list
//! let one: Option<LockRecord> = table.show(&LockName::new("snowplow/enrich")?).await?; // lock show NAME
//! println!("{}", one.unwrap().describe(chrono::Utc::now()));
//! // lock release NAME [--force]: refused (LockError::Refused) while the owner runs, as the lookup says.
//! let released = table
//!     .release(&name, force, "someone@example.com", |owner| async move { describe_execution(&owner).await }, Utc::now())
//!     .await?; // OperatorRelease::Released { before, after } or NotHeld { current }
//! ```

pub mod error;
pub mod item;
pub mod model;
pub mod table;

pub use error::{sdk_failure, LockError, SdkFailure};
pub use model::{
    Failure, Kind, LockName, LockRecord, Outcome, OwnerStatus, Release, State, LEASE_MARGIN_SECONDS,
};
pub use table::{all_pages, Acquisition, Ended, LockTable, OperatorRelease, PageKey};
