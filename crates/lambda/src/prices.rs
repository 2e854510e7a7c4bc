//! The ports that price a run (their adapters: `aws/pricing.rs` over the AWS Price List Query API, `aws/spot.rs`
//! over EC2's spot price history). The Price List's product documents are passed on as it gives them, JSON strings:
//! reading them is the pure core's business.

use chrono::{DateTime, Utc};

use crate::error::Error;

/// What to price, in one region.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PriceQuery {
    /// The region the cluster ran in (`eu-west-1`).
    pub region: String,
    /// Its instance types (`m5.xlarge`).
    pub instance_types: Vec<String>,
    /// Its EBS volume types (`gp3`).
    pub volume_types: Vec<String>,
}

/// The Price List's product documents for a [`PriceQuery`], each a JSON string as GetProducts answers it
/// (`{"product": {"attributes": {…}}, "terms": {"OnDemand": {…}}, …}`), by what they price.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PriceDocuments {
    /// `AmazonEC2` instances: on-demand, Linux, shared tenancy, no pre-installed software, capacity `Used`; per
    /// instance type, in the query's order.
    pub ec2: Vec<String>,
    /// `ElasticMapReduce`: the EMR uplift per instance-hour (the same for spot); per instance type.
    pub emr: Vec<String>,
    /// `AmazonEC2` storage (`productFamily` `Storage`): per GB-month; per volume type.
    pub ebs: Vec<String>,
}

/// AWS's list prices.
#[allow(async_fn_in_trait)]
pub trait Prices {
    async fn price_documents(&self, query: &PriceQuery) -> Result<PriceDocuments, Error>;
}

/// A spot price as EC2's history gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct SpotPrice {
    pub instance_type: String,
    pub availability_zone: String,
    pub usd_per_hour: f64,
    /// When this price took effect.
    pub since: Option<DateTime<Utc>>,
}

/// EC2's spot prices, for Linux/UNIX.
#[allow(async_fn_in_trait)]
pub trait SpotPrices {
    /// The price in effect at `at` of each of `instance_types` in `availability_zone`: the newest change at or before
    /// `at`, one per type; a type without a spot price there is left out.
    async fn spot_prices(
        &self,
        availability_zone: &str,
        instance_types: &[String],
        at: DateTime<Utc>,
    ) -> Result<Vec<SpotPrice>, Error>;
}
