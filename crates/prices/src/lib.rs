//! AWS's prices of a cluster, read once for whoever prices one: the Lambdas (a run's cost, in check-status,
//! event-router, terminate-cluster and the reconciler) and the CLI (`plan --estimate`, `validate --estimate`); and
//! EMR Serverless's prices of a job run's billed utilization ([`serverless_prices`]).
//!
//! Three ports, [`Prices`] (the Price List's product documents), [`ServerlessPriceList`] (its EMR Serverless
//! products) and [`SpotPrices`] (EC2's spot price history), their adapters over the AWS SDK in [`aws`], and
//! [`ListPrices`], which reads a [`PriceBook`] through them. The documents
//! are passed on as AWS gives them, JSON strings: reading them is the pure core's business
//! (`dfr_core::cost::price_list`). A failed call is a [`dfr_locks::SdkFailure`], named by whoever reports it (the
//! Lambdas give it their error names, the CLI shows the service's message). Reads no environment: the callers build
//! the SDK clients from their own configuration.

pub mod aws;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, OnceLock};

use chrono::{DateTime, Duration, Utc};
use dfr_core::cost::price_list::{
    newest_spot_prices, price_book_from_price_list, serverless_meter_units,
    serverless_prices_from_price_list, PriceListError, SpotPricePoint,
};
use dfr_core::cost::{PriceBook, PriceNeeds};
use dfr_core::serverless::status::ServerlessPrices;
use dfr_locks::SdkFailure;

/// What to price, in one region.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PriceQuery {
    /// The region the cluster runs in (`eu-west-1`).
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
    async fn price_documents(&self, query: &PriceQuery) -> Result<PriceDocuments, SdkFailure>;
}

/// The Price List's EMR Serverless products.
#[allow(async_fn_in_trait)]
pub trait ServerlessPriceList {
    /// The `ElasticMapReduce` product documents of `region` metered in each of `meter_units`, as GetProducts answers
    /// them (JSON strings; other products sharing a meter unit, such as EMR on EKS's, may come with them).
    async fn serverless_documents(
        &self,
        region: &str,
        meter_units: &[&str],
    ) -> Result<Vec<String>, SdkFailure>;
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

/// EC2's spot prices of one region, for Linux/UNIX.
#[allow(async_fn_in_trait)]
pub trait SpotPrices {
    /// The price in effect at `at` of each of `instance_types` in `availability_zone` (each zone of the region when
    /// `None`): the newest change at or before `at`, one per type and zone; a type without a spot price in a zone is
    /// left out there.
    async fn spot_prices(
        &self,
        availability_zone: Option<&str>,
        instance_types: &[String],
        at: DateTime<Utc>,
    ) -> Result<Vec<SpotPrice>, SdkFailure>;
}

/// Why no price book could be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PriceError {
    #[error("the AWS Price List could not be read: {0}")]
    PriceList(SdkFailure),
    #[error("EC2's spot prices could not be read: {0}")]
    Spot(SdkFailure),
    /// An answer that is not what AWS documents (its message names no value but SKUs and type names).
    #[error("{0}")]
    Unreadable(#[from] PriceListError),
}

/// The AWS Price List and EC2's spot price histories, read into price books. A book for a running cluster's zone is
/// kept an hour per process for the same region, types and zone (a scheduled pipeline's clusters are alike: its runs
/// then cost no price call at all while a function stays warm).
pub struct ListPrices<'a, P, F> {
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

impl<P: Prices, S: SpotPrices, F: Fn(&str) -> S> ListPrices<'_, P, F> {
    /// The book of a cluster in `region` that needs `needs`, its spot prices in `zone` (none without a zone), read
    /// at `now`, or one read less than an hour ago for the same cluster shape.
    pub async fn price_book(
        &self,
        region: &str,
        needs: &PriceNeeds,
        zone: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<PriceBook, PriceError> {
        let key = format!(
            "{region}|{:?}|{:?}|{}|{:?}",
            needs.instance_types,
            needs.volume_types,
            zone.unwrap_or_default(),
            needs.spot_types
        );
        if let Some((read, book)) = books().lock().ok().and_then(|b| b.get(&key).cloned()) {
            if now - read < KEEP_PRICES {
                return Ok(book);
            }
        }
        let mut book = self.list_book(region, needs, now).await?;
        let points = match zone {
            Some(zone) => self.spot_points(region, needs, Some(zone), now).await?,
            None => Vec::new(),
        };
        let spot = newest_spot_prices(zone.unwrap_or_default(), &points)?;
        book.spot_zone = spot.zone;
        book.spot = spot.prices;
        if let Ok(mut b) = books().lock() {
            b.insert(key, (now, book.clone()));
        }
        Ok(book)
    }

    /// The books of a cluster about to be launched in `region`: one per zone it may run in, alike but for spot. With
    /// `zone` (the config's), that zone's; else one per zone of the region with a spot price of a type in
    /// `needs.spot_types`, in the zones' order (one book without spot prices when it needs none, or none has any).
    /// Not kept: a command asks once.
    pub async fn zone_books(
        &self,
        region: &str,
        needs: &PriceNeeds,
        zone: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<PriceBook>, PriceError> {
        let base = self.list_book(region, needs, now).await?;
        let points = self.spot_points(region, needs, zone, now).await?;
        let zones: BTreeSet<&str> = match zone {
            Some(z) => BTreeSet::from([z]),
            None => points
                .iter()
                .map(|p| p.availability_zone.as_str())
                .collect(),
        };
        if zones.is_empty() {
            return Ok(vec![base]);
        }
        zones
            .into_iter()
            .map(|z| {
                let spot = newest_spot_prices(z, &points)?;
                Ok(PriceBook {
                    spot_zone: spot.zone,
                    spot: spot.prices,
                    ..base.clone()
                })
            })
            .collect()
    }

    /// The on-demand, EMR and EBS prices of `needs` in `region`: a book without spot prices.
    async fn list_book(
        &self,
        region: &str,
        needs: &PriceNeeds,
        now: DateTime<Utc>,
    ) -> Result<PriceBook, PriceError> {
        let query = PriceQuery {
            region: region.to_string(),
            instance_types: needs.instance_types.iter().cloned().collect(),
            volume_types: needs.volume_types.iter().cloned().collect(),
        };
        let documents = self
            .prices
            .price_documents(&query)
            .await
            .map_err(PriceError::PriceList)?;
        let ec2: Vec<String> = documents.ec2.into_iter().chain(documents.ebs).collect();
        let spot = newest_spot_prices("", &[])?;
        Ok(price_book_from_price_list(
            region,
            &ec2,
            &documents.emr,
            spot,
            now,
        )?)
    }

    /// The spot prices in effect at `now` of `needs.spot_types` in `zone` (every zone when `None`); none to ask for,
    /// none asked.
    async fn spot_points(
        &self,
        region: &str,
        needs: &PriceNeeds,
        zone: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<SpotPricePoint>, PriceError> {
        if needs.spot_types.is_empty() {
            return Ok(Vec::new());
        }
        let types: Vec<String> = needs.spot_types.iter().cloned().collect();
        let prices = (self.spot)(region)
            .spot_prices(zone, &types, now)
            .await
            .map_err(PriceError::Spot)?;
        Ok(prices
            .into_iter()
            .map(|p| SpotPricePoint {
                instance_type: p.instance_type,
                availability_zone: p.availability_zone,
                product_description: aws::spot::PRODUCT_DESCRIPTION.into(),
                spot_price: p.usd_per_hour.to_string(),
                timestamp: p.since.unwrap_or(now),
            })
            .collect())
    }
}

type ServerlessBooks = Mutex<HashMap<String, (DateTime<Utc>, ServerlessPrices)>>;

/// EMR Serverless's prices in `region` for applications of `architecture` (`X86_64`, `ARM64`), read at `now` through
/// `list`, or read less than an hour ago in this process for the same region and architecture (as price books are).
pub async fn serverless_prices<L: ServerlessPriceList>(
    list: &L,
    region: &str,
    architecture: &str,
    now: DateTime<Utc>,
) -> Result<ServerlessPrices, PriceError> {
    static KEPT: OnceLock<ServerlessBooks> = OnceLock::new();
    let kept = KEPT.get_or_init(ServerlessBooks::default);
    let key = format!("{region}|{architecture}");
    if let Some((read, prices)) = kept.lock().ok().and_then(|k| k.get(&key).cloned()) {
        if now - read < KEEP_PRICES {
            return Ok(prices);
        }
    }
    let units = serverless_meter_units(architecture)?;
    let documents = list
        .serverless_documents(region, &units)
        .await
        .map_err(PriceError::PriceList)?;
    let prices = serverless_prices_from_price_list(region, architecture, &documents, now)?;
    if let Ok(mut k) = kept.lock() {
        k.insert(key, (now, prices.clone()));
    }
    Ok(prices)
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use chrono::TimeZone;

    use super::*;

    /// A Price List with no product: each query is recorded.
    #[derive(Default)]
    struct Asked(RefCell<Vec<PriceQuery>>);

    impl Prices for Asked {
        async fn price_documents(&self, query: &PriceQuery) -> Result<PriceDocuments, SdkFailure> {
            self.0.borrow_mut().push(query.clone());
            Ok(PriceDocuments::default())
        }
    }

    /// Spot prices of r5.2xlarge in two zones of `region`; each question is recorded.
    struct Spot<'a> {
        region: String,
        asked: &'a Questions,
    }

    impl SpotPrices for Spot<'_> {
        async fn spot_prices(
            &self,
            availability_zone: Option<&str>,
            instance_types: &[String],
            _at: DateTime<Utc>,
        ) -> Result<Vec<SpotPrice>, SdkFailure> {
            self.asked
                .borrow_mut()
                .push((self.region.clone(), availability_zone.map(str::to_string)));
            let price = |zone: &str, usd: f64| SpotPrice {
                instance_type: instance_types[0].clone(),
                availability_zone: format!("{}{zone}", self.region),
                usd_per_hour: usd,
                since: None,
            };
            Ok([price("a", 0.2), price("b", 0.17)]
                .into_iter()
                .filter(|p| availability_zone.is_none_or(|z| z == p.availability_zone))
                .collect())
        }
    }

    type Questions = RefCell<Vec<(String, Option<String>)>>;

    /// The price books over the fakes.
    fn list<'a>(
        prices: &'a Asked,
        asked: &'a Questions,
    ) -> ListPrices<'a, Asked, impl Fn(&str) -> Spot<'a> + 'a> {
        ListPrices {
            prices,
            spot: move |region: &str| Spot {
                region: region.to_string(),
                asked,
            },
        }
    }

    fn needs(spot: &[&str]) -> PriceNeeds {
        PriceNeeds {
            instance_types: ["m5.xlarge", "r5.2xlarge"].map(String::from).into(),
            spot_types: spot.iter().map(|s| s.to_string()).collect(),
            volume_types: ["gp3".to_string()].into(),
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, 6, 0, 0).unwrap()
    }

    #[tokio::test]
    async fn when_a_cluster_to_launch_names_no_zone_should_read_one_book_per_zone_with_spot_prices()
    {
        let (prices, asked) = (Asked::default(), RefCell::new(Vec::new()));
        let list = list(&prices, &asked);
        let spot = needs(&["r5.2xlarge"]);
        let books = list
            .zone_books("eu-west-1", &spot, None, now())
            .await
            .unwrap();
        let zones: Vec<(Option<&str>, String)> = books
            .iter()
            .map(|b| {
                (
                    b.spot_zone.as_deref(),
                    b.spot["r5.2xlarge"].usd_per_hour.to_string(),
                )
            })
            .collect();
        assert_eq!(
            zones,
            [
                (Some("eu-west-1a"), "0.2".to_string()),
                (Some("eu-west-1b"), "0.17".to_string())
            ]
        );
        assert!(books
            .iter()
            .all(|b| b.region == "eu-west-1" && b.prices_as_of == now()));
        assert_eq!(asked.borrow().as_slice(), [("eu-west-1".to_string(), None)]);
        assert_eq!(
            prices.0.borrow()[0],
            PriceQuery {
                region: "eu-west-1".into(),
                instance_types: vec!["m5.xlarge".into(), "r5.2xlarge".into()],
                volume_types: vec!["gp3".into()],
            }
        );

        // The config's zone: that zone's book alone.
        let books = list
            .zone_books("eu-west-1", &spot, Some("eu-west-1b"), now())
            .await
            .unwrap();
        assert_eq!(books.len(), 1);
        assert_eq!(books[0].spot_zone.as_deref(), Some("eu-west-1b"));
        assert_eq!(
            asked.borrow()[1],
            ("eu-west-1".to_string(), Some("eu-west-1b".to_string()))
        );

        // Nothing on the spot market: no spot price asked, one book.
        let books = list
            .zone_books("eu-west-1", &needs(&[]), None, now())
            .await
            .unwrap();
        assert_eq!(books.len(), 1);
        assert!(books[0].spot.is_empty());
        assert_eq!(asked.borrow().len(), 2);
    }

    #[tokio::test]
    async fn when_a_running_cluster_is_priced_again_within_the_hour_should_ask_nothing() {
        let (prices, asked) = (Asked::default(), RefCell::new(Vec::new()));
        let list = list(&prices, &asked);
        // A region no other test prices: the books are kept per process.
        let spot = needs(&["r5.2xlarge"]);
        let first = list
            .price_book("ap-south-1", &spot, Some("ap-south-1a"), now())
            .await
            .unwrap();
        assert_eq!(first.spot_zone.as_deref(), Some("ap-south-1a"));
        assert_eq!(first.spot.len(), 1);
        let again = list
            .price_book(
                "ap-south-1",
                &spot,
                Some("ap-south-1a"),
                now() + Duration::minutes(59),
            )
            .await
            .unwrap();
        assert_eq!(again, first);
        assert_eq!((prices.0.borrow().len(), asked.borrow().len()), (1, 1));
        let later = list
            .price_book(
                "ap-south-1",
                &spot,
                Some("ap-south-1a"),
                now() + Duration::minutes(61),
            )
            .await
            .unwrap();
        assert_eq!(later.prices_as_of, now() + Duration::minutes(61));
        assert_eq!((prices.0.borrow().len(), asked.borrow().len()), (2, 2));
    }

    /// The Price List's EMR Serverless products of every region, priced by meter unit; each question is recorded.
    #[derive(Default)]
    struct Serverless(RefCell<Vec<(String, Vec<String>)>>);

    impl ServerlessPriceList for Serverless {
        async fn serverless_documents(
            &self,
            region: &str,
            meter_units: &[&str],
        ) -> Result<Vec<String>, SdkFailure> {
            self.0.borrow_mut().push((
                region.to_string(),
                meter_units.iter().map(|u| u.to_string()).collect(),
            ));
            Ok(meter_units
                .iter()
                .enumerate()
                .map(|(i, unit)| {
                    let sku = format!("SKU{i}");
                    format!(
                        r#"{{"product": {{"sku": "{sku}", "attributes": {{"regionCode": "{region}",
                        "usagetype": "EMR-SERVERLESS-{unit}", "meterunit": "{unit}"}}}},
                        "terms": {{"OnDemand": {{"{sku}.T": {{"priceDimensions": {{"{sku}.T.D": {{
                        "unit": "hours", "beginRange": "0", "pricePerUnit": {{"USD": "0.0{}"}}}}}}}}}}}}}}"#,
                        i + 1
                    )
                })
                .collect())
        }
    }

    #[tokio::test]
    async fn when_serverless_prices_are_read_again_within_the_hour_should_ask_nothing() {
        let list = Serverless::default();
        // A region no other test prices: the prices are kept per process.
        let arm = serverless_prices(&list, "sa-east-1", "ARM64", now())
            .await
            .unwrap();
        assert_eq!(
            [
                arm.per_vcpu_hour,
                arm.per_memory_gb_hour,
                arm.per_storage_gb_hour
            ]
            .map(|u| u.to_string()),
            ["0.01", "0.02", "0.03"]
        );
        assert_eq!(
            list.0.borrow().as_slice(),
            [(
                "sa-east-1".to_string(),
                vec![
                    "ARMCPUHours".into(),
                    "ARMGBHours".into(),
                    "StorageGBHours".into()
                ]
            )]
        );
        let again = serverless_prices(&list, "sa-east-1", "ARM64", now() + Duration::minutes(59))
            .await
            .unwrap();
        assert_eq!((again, list.0.borrow().len()), (arm, 1));
        serverless_prices(&list, "sa-east-1", "X86_64", now())
            .await
            .unwrap();
        assert_eq!(list.0.borrow()[1].1[0], "CPUHours");
        let err = serverless_prices(&list, "sa-east-1", "x86", now())
            .await
            .unwrap_err();
        assert!(matches!(err, PriceError::Unreadable(_)), "{err}");
        assert_eq!(
            list.0.borrow().len(),
            2,
            "an unknown architecture asks nothing"
        );
    }
}
