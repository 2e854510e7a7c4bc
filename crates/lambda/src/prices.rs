//! Pricing a run: [`PriceSource`], the prices of a run's cluster, over `dfr_prices` (the Price List and spot price
//! ports and their SDK adapters, shared with the CLI, re-exported here), and [`run_cost`].

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use dfr_core::cost::{
    self, EbsVolume as CoreEbsVolume, InstanceLife, PriceBook, PriceNeeds, RunCost, Window,
};
use dfr_core::serverless::status::ServerlessPrices;
use dfr_core::status::CLUSTER_ENDED;
pub use dfr_prices::{
    serverless_prices, ListPrices, PriceDocuments, PriceError, PriceQuery, Prices,
    ServerlessPriceList, SpotPrice, SpotPrices,
};

use crate::emr::{ClusterInfo, ClusterUsage, Emr, Market};
use crate::error::Error;

/// The prices of one run's cluster: a [`PriceBook`] for its instance and volume types in its region, and for its
/// spot instances' types in its zone. What check-status and the cleanup path price a run with.
#[allow(async_fn_in_trait)]
pub trait PriceSource {
    /// The book for a cluster of `region` (`None`: the functions' own), or why there is none (said in the cost's
    /// `pricesUnavailable`: no secret, no value of a product).
    async fn price_book(
        &self,
        region: Option<&str>,
        usage: &ClusterUsage,
        now: DateTime<Utc>,
    ) -> Result<PriceBook, String>;

    /// EMR Serverless's prices in `region` (`None`: the functions' own) for an application of `architecture`, or why
    /// there are none (as [`Self::price_book`] says it). A source that does not read them says so.
    async fn serverless_prices(
        &self,
        region: Option<&str>,
        architecture: &str,
        now: DateTime<Utc>,
    ) -> Result<ServerlessPrices, String> {
        let _ = (region, architecture, now);
        Err("EMR Serverless prices are not read here".into())
    }
}

/// The Price List and EC2's spot prices, as the functions read them: in their own region unless a run names one.
pub struct FunctionPrices<'a, P, F> {
    /// The functions' own region: a run's without a `region`.
    pub home_region: String,
    pub list: ListPrices<'a, P, F>,
}

/// What pricing a cluster's instances needs.
fn needs_of(usage: &ClusterUsage) -> PriceNeeds {
    let types = |spot_only: bool| -> BTreeSet<String> {
        usage
            .instances
            .iter()
            .filter(|i| !spot_only || i.market == Market::Spot)
            .map(|i| i.instance_type.clone())
            .collect()
    };
    PriceNeeds {
        instance_types: types(false),
        spot_types: types(true),
        volume_types: usage
            .instances
            .iter()
            .flat_map(|i| i.volumes.iter().map(|v| v.volume_type.clone()))
            .collect(),
    }
}

/// Why prices could not be read, as a cost says it: the error's name only (AWS's message names the role).
fn unreadable(e: PriceError) -> String {
    match e {
        PriceError::PriceList(f) => format!(
            "the AWS Price List could not be read ({})",
            Error::from_failure(f).kind()
        ),
        PriceError::Spot(f) => format!(
            "EC2's spot prices could not be read ({})",
            Error::from_failure(f).kind()
        ),
        PriceError::Unreadable(e) => e.to_string(),
    }
}

impl<P: Prices + ServerlessPriceList, S: SpotPrices, F: Fn(&str) -> S> PriceSource
    for FunctionPrices<'_, P, F>
{
    async fn price_book(
        &self,
        region: Option<&str>,
        usage: &ClusterUsage,
        now: DateTime<Utc>,
    ) -> Result<PriceBook, String> {
        let region = region.unwrap_or(&self.home_region);
        let zone = usage.availability_zone.as_deref();
        self.list
            .price_book(region, &needs_of(usage), zone, now)
            .await
            .map_err(unreadable)
    }

    async fn serverless_prices(
        &self,
        region: Option<&str>,
        architecture: &str,
        now: DateTime<Utc>,
    ) -> Result<ServerlessPrices, String> {
        let region = region.unwrap_or(&self.home_region);
        serverless_prices(self.list.prices, region, architecture, now)
            .await
            .map_err(unreadable)
    }
}

/// What a cluster just described cost from `window.since` (the whole cluster when `None`) to now, or to its
/// instances' end: EMR's record of each instance (2 EMR calls) priced with `prices` when `with_prices`, else its
/// instance-hours only.
pub async fn run_cost(
    emr: &impl Emr,
    prices: &impl PriceSource,
    region: Option<&str>,
    cluster: &ClusterInfo,
    since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    with_prices: bool,
) -> Result<RunCost, Error> {
    let usage = emr.cluster_usage(cluster).await?;
    let lives: Vec<InstanceLife> = usage
        .instances
        .iter()
        .filter_map(|i| {
            Some(InstanceLife {
                instance_type: i.instance_type.clone(),
                market: i.market,
                start: i.created_at?,
                end: i.ended_at,
                ebs_volumes: i
                    .volumes
                    .iter()
                    .map(|v| CoreEbsVolume {
                        volume_type: v.volume_type.clone(),
                        size_gib: v.size_gib,
                    })
                    .collect(),
            })
        })
        .collect();
    let ended =
        CLUSTER_ENDED.contains(&usage.state.as_str()) && lives.iter().all(|l| l.end.is_some());
    let until = if ended {
        lives
            .iter()
            .filter_map(|l| l.end)
            .max()
            .unwrap_or(now)
            .min(now)
    } else {
        now
    };
    let window = Window {
        since,
        until,
        ended,
    };
    let book = if with_prices {
        prices.price_book(region, &usage, now).await
    } else {
        Err("not read: this check judges instance-hours only".to_string())
    };
    Ok(cost::run_cost(
        &lives,
        usage.normalized_instance_hours,
        &window,
        book.as_ref().map_err(String::as_str),
    ))
}
