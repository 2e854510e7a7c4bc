//! The ports that price a run (their adapters: `aws/pricing.rs` over the AWS Price List Query API, `aws/spot.rs`
//! over EC2's spot price history). The Price List's product documents are passed on as it gives them, JSON strings:
//! reading them is the pure core's business.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, OnceLock};

use chrono::{DateTime, Duration, Utc};
use dfr_core::cost::price_list::{newest_spot_prices, price_book_from_price_list, SpotPricePoint};
use dfr_core::cost::{self, EbsVolume as CoreEbsVolume, InstanceLife, PriceBook, RunCost, Window};
use dfr_core::status::CLUSTER_ENDED;

use crate::emr::{ClusterInfo, ClusterUsage, Emr, Market};
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
}

/// The AWS Price List and EC2's spot price history of one region, read at most once an hour per process for the
/// same types and zone (a scheduled pipeline's clusters are alike: its runs then cost no price call at all while
/// the function stays warm).
pub struct ListPrices<'a, P, F> {
    /// The functions' own region: a run's without a `region`.
    pub home_region: String,
    pub prices: &'a P,
    /// EC2's spot prices of a region.
    pub spot: F,
}

/// How long a price book read from the Price List is used again.
const KEEP_PRICES: Duration = Duration::hours(1);

type Books = Mutex<HashMap<String, (DateTime<Utc>, PriceBook)>>;

fn books() -> &'static Books {
    static BOOKS: OnceLock<Books> = OnceLock::new();
    BOOKS.get_or_init(Books::default)
}

impl<P: Prices, S: SpotPrices, F: Fn(&str) -> S> PriceSource for ListPrices<'_, P, F> {
    async fn price_book(
        &self,
        region: Option<&str>,
        usage: &ClusterUsage,
        now: DateTime<Utc>,
    ) -> Result<PriceBook, String> {
        let region = region.unwrap_or(&self.home_region);
        let types: BTreeSet<String> = usage
            .instances
            .iter()
            .map(|i| i.instance_type.clone())
            .collect();
        let spot_types: BTreeSet<String> = usage
            .instances
            .iter()
            .filter(|i| i.market == Market::Spot)
            .map(|i| i.instance_type.clone())
            .collect();
        let volume_types: BTreeSet<String> = usage
            .instances
            .iter()
            .flat_map(|i| i.volumes.iter().map(|v| v.volume_type.clone()))
            .collect();
        let zone = usage.availability_zone.clone().unwrap_or_default();
        let key = format!("{region}|{types:?}|{volume_types:?}|{zone}|{spot_types:?}");
        if let Some((read, book)) = books().lock().ok().and_then(|b| b.get(&key).cloned()) {
            if now - read < KEEP_PRICES {
                return Ok(book);
            }
        }
        let query = PriceQuery {
            region: region.to_string(),
            instance_types: types.into_iter().collect(),
            volume_types: volume_types.into_iter().collect(),
        };
        let documents = self
            .prices
            .price_documents(&query)
            .await
            .map_err(|e| format!("the AWS Price List could not be read ({})", e.kind()))?;
        let points = match (&usage.availability_zone, spot_types.is_empty()) {
            (Some(zone), false) => {
                let types: Vec<String> = spot_types.into_iter().collect();
                (self.spot)(region)
                    .spot_prices(zone, &types, now)
                    .await
                    .map_err(|e| format!("EC2's spot prices could not be read ({})", e.kind()))?
                    .into_iter()
                    .map(|p| SpotPricePoint {
                        instance_type: p.instance_type,
                        availability_zone: p.availability_zone,
                        product_description: "Linux/UNIX".into(),
                        spot_price: p.usd_per_hour.to_string(),
                        timestamp: p.since.unwrap_or(now),
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        let spot = newest_spot_prices(&zone, &points).map_err(|e| e.to_string())?;
        let ec2: Vec<String> = documents.ec2.into_iter().chain(documents.ebs).collect();
        let book = price_book_from_price_list(region, &ec2, &documents.emr, spot, now)
            .map_err(|e| e.to_string())?;
        if let Ok(mut b) = books().lock() {
            b.insert(key, (now, book.clone()));
        }
        Ok(book)
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
