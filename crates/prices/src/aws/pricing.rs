//! The AWS Price List ([`crate::Prices`], [`crate::ServerlessPriceList`]) over `aws-sdk-pricing`: GetProducts for
//! `AmazonEC2` and `ElasticMapReduce` (EMR's uplift, EMR Serverless's prices), filtered by TERM_MATCH. The Price List Query API has endpoints in us-east-1, eu-central-1 and
//! ap-south-1 only, whatever the region priced: [`SdkPrices::new`] builds its client for us-east-1
//! (`AWS_ENDPOINT_URL_PRICING`, read into the caller's configuration, points it elsewhere).

use aws_sdk_pricing::types::{Filter, FilterType};
use aws_types::region::Region;
use aws_types::SdkConfig;
use dfr_locks::{sdk_failure, SdkFailure};

use crate::{PriceDocuments, PriceQuery, Prices, ServerlessPriceList};

/// The region whose Price List endpoint the client calls.
pub const PRICE_LIST_REGION: &str = "us-east-1";

/// The Price List over the SDK.
#[derive(Debug, Clone)]
pub struct SdkPrices {
    pub client: aws_sdk_pricing::Client,
}

fn term(field: &str, value: &str) -> Filter {
    Filter::builder()
        .r#type(FilterType::TermMatch)
        .field(field)
        .value(value)
        .build()
        .expect("type, field and value are set")
}

/// The filters of one on-demand Linux instance price in `region`.
pub fn ec2_instance_filters(instance_type: &str, region: &str) -> Vec<Filter> {
    vec![
        term("instanceType", instance_type),
        term("regionCode", region),
        term("operatingSystem", "Linux"),
        term("tenancy", "Shared"),
        term("preInstalledSw", "NA"),
        term("capacitystatus", "Used"),
    ]
}

/// The filters of EMR's uplift for `instance_type` in `region`.
pub fn emr_filters(instance_type: &str, region: &str) -> Vec<Filter> {
    vec![
        term("instanceType", instance_type),
        term("regionCode", region),
        term("softwareType", "EMR"),
    ]
}

/// The filters of EBS storage of `volume_type` (`gp3`) in `region`.
pub fn ebs_filters(volume_type: &str, region: &str) -> Vec<Filter> {
    vec![
        term("productFamily", "Storage"),
        term("volumeApiName", volume_type),
        term("regionCode", region),
    ]
}

/// The filters of EMR Serverless's products metered in `meter_unit` (`CPUHours`, `ARMGBHours`, …) in `region`: EMR
/// on EKS's products share some meter units, so the answer is read by `usagetype` too
/// (`dfr_core::cost::price_list::serverless_prices_from_price_list`).
pub fn serverless_filters(meter_unit: &str, region: &str) -> Vec<Filter> {
    vec![term("regionCode", region), term("meterunit", meter_unit)]
}

impl SdkPrices {
    /// The Price List's client from `config` (its credentials, HTTP client, retries and endpoints), in its region.
    pub fn new(config: &SdkConfig) -> SdkPrices {
        let conf = aws_sdk_pricing::config::Builder::from(config)
            .region(Region::new(PRICE_LIST_REGION))
            .build();
        SdkPrices {
            client: aws_sdk_pricing::Client::from_conf(conf),
        }
    }

    /// Every document of `service_code` that passes `filters`, every page.
    async fn products(
        &self,
        service_code: &str,
        filters: Vec<Filter>,
    ) -> Result<Vec<String>, SdkFailure> {
        let filters = &filters;
        dfr_locks::all_pages::<_, _, SdkFailure, _, _>(|token| async move {
            let page = self
                .client
                .get_products()
                .service_code(service_code)
                .set_filters(Some(filters.clone()))
                .format_version("aws_v1")
                .max_results(100)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| sdk_failure("GetProducts", e))?;
            Ok((
                page.price_list().to_vec(),
                page.next_token().map(str::to_string),
            ))
        })
        .await
    }
}

impl Prices for SdkPrices {
    async fn price_documents(&self, query: &PriceQuery) -> Result<PriceDocuments, SdkFailure> {
        let region = query.region.as_str();
        let mut out = PriceDocuments::default();
        for t in &query.instance_types {
            out.ec2.extend(
                self.products("AmazonEC2", ec2_instance_filters(t, region))
                    .await?,
            );
            out.emr.extend(
                self.products("ElasticMapReduce", emr_filters(t, region))
                    .await?,
            );
        }
        for v in &query.volume_types {
            out.ebs
                .extend(self.products("AmazonEC2", ebs_filters(v, region)).await?);
        }
        Ok(out)
    }
}

impl ServerlessPriceList for SdkPrices {
    async fn serverless_documents(
        &self,
        region: &str,
        meter_units: &[&str],
    ) -> Result<Vec<String>, SdkFailure> {
        let mut out = Vec::new();
        for unit in meter_units {
            out.extend(
                self.products("ElasticMapReduce", serverless_filters(unit, region))
                    .await?,
            );
        }
        Ok(out)
    }
}
