//! The adapters: each port of this crate over its AWS SDK client, apart from the decisions (which never see an SDK
//! type).

pub mod pricing;
pub mod spot;

pub use pricing::SdkPrices;
pub use spot::SdkSpotPrices;
