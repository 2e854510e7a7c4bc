//! EC2's spot prices ([`crate::SpotPrices`]) over `aws-sdk-ec2`: DescribeSpotPriceHistory, Linux/UNIX, in the region
//! of the client (the cluster's).

use std::collections::HashMap;

use aws_sdk_ec2::types::InstanceType;
use aws_types::region::Region;
use aws_types::SdkConfig;
use chrono::{DateTime, TimeZone, Utc};
use dfr_locks::{sdk_failure, SdkFailure};

use crate::{SpotPrice, SpotPrices};

/// What EMR's instances run: EC2's product description of Linux spot prices.
pub const PRODUCT_DESCRIPTION: &str = "Linux/UNIX";

/// EC2's spot price history of one region over the SDK.
#[derive(Debug, Clone)]
pub struct SdkSpotPrices {
    pub client: aws_sdk_ec2::Client,
}

impl SdkSpotPrices {
    /// EC2's client of `region` from `config` (its credentials, HTTP client, retries and endpoints).
    pub fn new(config: &SdkConfig, region: &str) -> SdkSpotPrices {
        let conf = aws_sdk_ec2::config::Builder::from(config)
            .region(Region::new(region.to_string()))
            .build();
        SdkSpotPrices {
            client: aws_sdk_ec2::Client::from_conf(conf),
        }
    }
}

impl SpotPrices for SdkSpotPrices {
    async fn spot_prices(
        &self,
        availability_zone: Option<&str>,
        instance_types: &[String],
        at: DateTime<Utc>,
    ) -> Result<Vec<SpotPrice>, SdkFailure> {
        if instance_types.is_empty() {
            return Ok(Vec::new());
        }
        // The second `at` is in, whole seconds at both ends: EC2 answers the change in effect at its start and any
        // made within it; those after `at` are dropped below. (A window of `at` truncated to its second would miss
        // a change made earlier in that second.)
        let from = at.timestamp();
        let to = from + i64::from(at.timestamp_subsec_nanos() > 0);
        let (from, to) = (
            aws_smithy_types::DateTime::from_secs(from),
            aws_smithy_types::DateTime::from_secs(to),
        );
        let types: Vec<InstanceType> = instance_types
            .iter()
            .map(|t| InstanceType::from(t.as_str()))
            .collect();
        let types = &types;
        let history = dfr_locks::all_pages::<_, _, SdkFailure, _, _>(|token| async move {
            let page = self
                .client
                .describe_spot_price_history()
                .set_availability_zone(availability_zone.map(str::to_string))
                .set_instance_types(Some(types.clone()))
                .product_descriptions(PRODUCT_DESCRIPTION)
                .start_time(from)
                .end_time(to)
                .max_results(1000)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| sdk_failure("DescribeSpotPriceHistory", e))?;
            let prices = page.spot_price_history().iter().filter_map(|p| {
                Some(SpotPrice {
                    usd_per_hour: p.spot_price()?.parse::<f64>().ok()?,
                    since: p
                        .timestamp()
                        .and_then(|t| Utc.timestamp_opt(t.secs(), t.subsec_nanos()).single()),
                    availability_zone: p.availability_zone().or(availability_zone)?.to_string(),
                    instance_type: p.instance_type()?.as_str().to_string(),
                })
            });
            Ok((prices.collect(), page.next_token().map(str::to_string)))
        })
        .await?;
        let mut newest: HashMap<(String, String), SpotPrice> = HashMap::new();
        for price in history
            .into_iter()
            .filter(|p| p.since.is_none_or(|s| s <= at))
        {
            let key = (price.availability_zone.clone(), price.instance_type.clone());
            match newest.get(&key) {
                Some(known) if known.since >= price.since => {}
                _ => {
                    newest.insert(key, price);
                }
            }
        }
        let mut out: Vec<SpotPrice> = newest.into_values().collect();
        out.sort_by(|a, b| {
            (&a.availability_zone, &a.instance_type).cmp(&(&b.availability_zone, &b.instance_type))
        });
        Ok(out)
    }
}
