//! The adapters: each port of the Lambdas over its AWS SDK client, together, apart from the decisions (which never
//! see an SDK type). The ports themselves live beside the logic that uses them: [`crate::emr`], [`crate::wait`],
//! [`crate::reconcile`], [`crate::source`] (configs and files), [`crate::serverless`] (EMR Serverless). The price adapters, which the CLI uses too, live with
//! their ports in `dfr_prices` (re-exported here and in [`crate::prices`]).

pub mod callbacks;
pub mod emr;
mod emr_requests;
pub mod executions;
pub mod s3;
pub mod serverless;
mod serverless_requests;
pub mod tagging;
pub mod throttles;
pub mod wait_table;

pub use callbacks::SdkCallbacks;
pub use dfr_prices::aws::{pricing, spot, SdkPrices, SdkSpotPrices};
pub use emr::SdkEmr;
pub use executions::SdkExecutions;
pub use s3::SdkS3;
pub use serverless::SdkEmrServerless;
pub use tagging::SdkTagging;
pub use throttles::ThrottleCounter;
pub use wait_table::WaitTable;
