//! The adapters: each port of the Lambdas over its AWS SDK client, together, apart from the decisions (which never
//! see an SDK type). The ports themselves live beside the logic that uses them: [`crate::emr`], [`crate::wait`],
//! [`crate::reconcile`], [`crate::source`] (configs and files), [`crate::prices`].

pub mod callbacks;
pub mod emr;
mod emr_requests;
pub mod executions;
pub mod pricing;
pub mod s3;
pub mod spot;
pub mod tagging;
pub mod throttles;
pub mod wait_table;

pub use callbacks::SdkCallbacks;
pub use emr::SdkEmr;
pub use executions::SdkExecutions;
pub use pricing::SdkPrices;
pub use s3::SdkS3;
pub use spot::SdkSpotPrices;
pub use tagging::SdkTagging;
pub use throttles::ThrottleCounter;
pub use wait_table::WaitTable;
