//! Reading AWS's prices into a [`PriceBook`]: the Price List Query API's `GetProducts` answers (its `PriceList` is
//! an array of JSON strings, one product document each) for the service codes `AmazonEC2` (instances and EBS
//! storage) and `ElasticMapReduce` (the EMR uplift, and EMR Serverless's prices: [`serverless_prices_from_price_list`]),
//! and EC2's `DescribeSpotPriceHistory` for spot.
//!
//! A product document: `{"product": {"productFamily", "attributes": {…}, "sku"}, "serviceCode", "terms": {"OnDemand":
//! {<offer>: {"priceDimensions": {<dimension>: {"unit", "beginRange", "pricePerUnit": {"USD"}}}}}, "Reserved": …},
//! "publicationDate"}`. Answers carry many products besides the ones priced here (other operating systems,
//! tenancies, families, locations): those are passed over. A product that is one of ours but malformed is an error
//! naming its SKU and the field; no error quotes a value from the documents other than SKUs and instance or volume
//! type names, and those only when they look like one.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{InstancePrice, PriceBook, SpotPrice, Usd};
use crate::serverless::status::ServerlessPrices;

/// Why prices could not be read from an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceListError {
    #[error("{list} price list, document {index}: not a JSON product document (line {line}, column {column})")]
    NotJson {
        list: &'static str,
        index: usize,
        line: usize,
        column: usize,
    },
    #[error("{list} price list, product {sku}: {field} {problem}")]
    Malformed {
        list: &'static str,
        sku: String,
        field: String,
        problem: &'static str,
    },
    #[error("{list} price list: {what} has different prices in products {}", .skus.join(", "))]
    Conflict {
        list: &'static str,
        what: String,
        skus: Vec<String>,
    },
    #[error(
        "spot price history, {instance_type} in {zone}: the price is not a decimal amount of USD"
    )]
    SpotPrice { instance_type: String, zone: String },
    #[error("{list} price list: no product prices {what} in {region}")]
    Missing {
        list: &'static str,
        what: String,
        region: String,
    },
    #[error("EMR Serverless has no architecture {0}: X86_64 or ARM64")]
    Architecture(String),
}

const EC2: &str = "EC2";
const EMR: &str = "EMR";
const SERVERLESS: &str = "EMR Serverless";

/// A name quoted in an error only if it looks like an identifier (an instance type, a SKU, a volume type).
fn quoted(name: &str) -> String {
    let plain = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if plain {
        name.to_string()
    } else {
        "<unnamed>".to_string()
    }
}

/// One product document, parsed.
struct Product<'a> {
    list: &'static str,
    sku: String,
    family: &'a str,
    attributes: &'a serde_json::Map<String, Value>,
    document: &'a Value,
}

impl<'a> Product<'a> {
    fn parse(list: &'static str, document: &'a Value) -> Result<Product<'a>, PriceListError> {
        let product = document.get("product");
        let sku = product
            .and_then(|p| p.get("sku"))
            .and_then(Value::as_str)
            .map_or_else(|| "<no sku>".to_string(), quoted);
        let malformed = |field: &str, problem| PriceListError::Malformed {
            list,
            sku: sku.clone(),
            field: field.to_string(),
            problem,
        };
        let product = product
            .and_then(Value::as_object)
            .ok_or_else(|| malformed("product", "is missing or not an object"))?;
        let attributes = product
            .get("attributes")
            .and_then(Value::as_object)
            .ok_or_else(|| malformed("product.attributes", "is missing or not an object"))?;
        Ok(Product {
            list,
            family: product
                .get("productFamily")
                .and_then(Value::as_str)
                .unwrap_or(""),
            attributes,
            document,
            sku,
        })
    }

    fn malformed(&self, field: &str, problem: &'static str) -> PriceListError {
        PriceListError::Malformed {
            list: self.list,
            sku: self.sku.clone(),
            field: field.to_string(),
            problem,
        }
    }

    fn attribute(&self, name: &str) -> Option<&'a str> {
        self.attributes.get(name).and_then(Value::as_str)
    }

    /// The attribute is `value`, or absent when `optional`.
    fn is(&self, name: &str, value: &str, optional: bool) -> bool {
        self.attribute(name)
            .map_or(optional, |v| v.eq_ignore_ascii_case(value))
    }

    /// In `region`, not a Local Zone, Wavelength Zone or Outpost. Answers filtered by `regionCode` carry it; a
    /// product without it is taken to be the region's.
    fn in_region(&self, region: &str) -> bool {
        self.is("regionCode", region, true) && self.is("locationType", "AWS Region", true)
    }

    fn required(&self, name: &str) -> Result<&'a str, PriceListError> {
        self.attribute(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| self.malformed(&format!("product.attributes.{name}"), "is missing"))
    }

    /// The on-demand price per `unit` ("Hrs", "GB-Mo"; `None`: in whatever unit the product is metered, its
    /// `meterunit`): the dimensions in that unit from the first tier of every on-demand offer must agree.
    fn on_demand_price(&self, unit: Option<&str>) -> Result<Usd, PriceListError> {
        let offers = self
            .document
            .get("terms")
            .and_then(|t| t.get("OnDemand"))
            .and_then(Value::as_object)
            .ok_or_else(|| self.malformed("terms.OnDemand", "is missing or not an object"))?;
        let mut found: Option<Usd> = None;
        for offer in offers.values() {
            let dimensions = offer
                .get("priceDimensions")
                .and_then(Value::as_object)
                .ok_or_else(|| {
                    self.malformed(
                        "terms.OnDemand.*.priceDimensions",
                        "is missing or not an object",
                    )
                })?;
            for dimension in dimensions.values() {
                let in_unit = dimension
                    .get("unit")
                    .and_then(Value::as_str)
                    .is_some_and(|u| unit.is_none_or(|unit| u.eq_ignore_ascii_case(unit)));
                let first_tier = dimension
                    .get("beginRange")
                    .and_then(Value::as_str)
                    .is_none_or(|b| b == "0");
                if !(in_unit && first_tier) {
                    continue;
                }
                let field = "terms.OnDemand.*.priceDimensions.*.pricePerUnit.USD";
                let text = dimension
                    .get("pricePerUnit")
                    .and_then(|p| p.get("USD"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| self.malformed(field, "is missing"))?;
                let price = Usd::parse(text)
                    .ok_or_else(|| self.malformed(field, "is not a decimal amount of USD"))?;
                match found {
                    Some(other) if other != price => {
                        return Err(self.malformed(
                            "terms.OnDemand",
                            "has two different prices in the same unit",
                        ))
                    }
                    _ => found = Some(price),
                }
            }
        }
        found.ok_or_else(|| {
            self.malformed(
                "terms.OnDemand.*.priceDimensions.*.unit",
                match unit {
                    Some("Hrs") => "has no price per hour (Hrs)",
                    Some(_) => "has no price per GB-month (GB-Mo)",
                    None => "has no price",
                },
            )
        })
    }
}

/// Prices by key, with the SKUs they came from: two products with one key must agree.
struct Prices {
    list: &'static str,
    kind: &'static str,
    found: BTreeMap<String, (Usd, Vec<String>)>,
}

impl Prices {
    fn new(list: &'static str, kind: &'static str) -> Self {
        Prices {
            list,
            kind,
            found: BTreeMap::new(),
        }
    }

    fn insert(&mut self, key: &str, price: Usd, sku: &str) -> Result<(), PriceListError> {
        let entry = self
            .found
            .entry(key.to_string())
            .or_insert_with(|| (price, Vec::new()));
        entry.1.push(sku.to_string());
        if entry.0 != price {
            return Err(PriceListError::Conflict {
                list: self.list,
                what: format!("{}{}", self.kind, quoted(key)),
                skus: entry.1.clone(),
            });
        }
        Ok(())
    }

    fn into_map(self) -> BTreeMap<String, Usd> {
        self.found.into_iter().map(|(k, (p, _))| (k, p)).collect()
    }
}

fn documents<'a>(
    list: &'static str,
    price_list: &'a [String],
) -> impl Iterator<Item = Result<Value, PriceListError>> + 'a {
    price_list.iter().enumerate().map(move |(index, text)| {
        serde_json::from_str::<Value>(text).map_err(|e| PriceListError::NotJson {
            list,
            index,
            line: e.line(),
            column: e.column(),
        })
    })
}

/// The newest spot price of each instance type, from `DescribeSpotPriceHistory`'s `SpotPriceHistory`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SpotPrices {
    pub zone: Option<String>,
    pub prices: BTreeMap<String, SpotPrice>,
}

/// One entry of `DescribeSpotPriceHistory`'s `SpotPriceHistory`, as EC2 gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpotPricePoint {
    pub instance_type: String,
    pub availability_zone: String,
    /// "Linux/UNIX", "Linux/UNIX (Amazon VPC)", "Windows", …: only the Linux ones are EMR's.
    pub product_description: String,
    /// USD per hour, e.g. "0.038000".
    pub spot_price: String,
    pub timestamp: DateTime<Utc>,
}

/// The newest Linux spot price of each instance type in `zone` (the cluster's); points of other zones or systems are
/// passed over.
pub fn newest_spot_prices(
    zone: &str,
    points: &[SpotPricePoint],
) -> Result<SpotPrices, PriceListError> {
    let mut prices: BTreeMap<String, SpotPrice> = BTreeMap::new();
    for p in points {
        let linux = p.product_description.starts_with("Linux/UNIX");
        if p.availability_zone != zone || !linux {
            continue;
        }
        let usd_per_hour = Usd::parse(&p.spot_price).ok_or_else(|| PriceListError::SpotPrice {
            instance_type: quoted(&p.instance_type),
            zone: quoted(zone),
        })?;
        let newer = prices
            .get(&p.instance_type)
            .is_none_or(|known| p.timestamp > known.timestamp);
        if newer {
            prices.insert(
                p.instance_type.clone(),
                SpotPrice {
                    usd_per_hour,
                    timestamp: p.timestamp,
                },
            );
        }
    }
    Ok(SpotPrices {
        zone: Some(zone.to_string()),
        prices,
    })
}

/// A price book for `region` from `GetProducts` answers: `ec2_price_list` (service code `AmazonEC2`: instances and
/// EBS storage, in one answer or several) and `emr_price_list` (`ElasticMapReduce`), with the `spot` prices of the
/// cluster's zone, read at `as_of`. For each instance type it takes the EC2 product of Linux, shared tenancy, no
/// pre-installed software and capacity status Used (operation RunInstances, on-demand market, no license); the EMR
/// product of software type EMR; and for each EBS volume type the Storage product's price per GB-month.
pub fn price_book_from_price_list(
    region: &str,
    ec2_price_list: &[String],
    emr_price_list: &[String],
    spot: SpotPrices,
    as_of: DateTime<Utc>,
) -> Result<PriceBook, PriceListError> {
    let mut ec2 = Prices::new(EC2, "");
    let mut ebs = Prices::new(EC2, "EBS ");
    for document in documents(EC2, ec2_price_list) {
        let document = document?;
        let p = Product::parse(EC2, &document)?;
        if !p.in_region(region) {
            continue;
        }
        if p.family.starts_with("Compute Instance")
            && p.is("operatingSystem", "Linux", false)
            && p.is("tenancy", "Shared", false)
            && p.is("preInstalledSw", "NA", false)
            && p.is("capacitystatus", "Used", false)
            && p.is("operation", "RunInstances", true)
            && p.is("marketoption", "OnDemand", true)
            && p.is("licenseModel", "No License required", true)
        {
            let instance_type = p.required("instanceType")?;
            ec2.insert(instance_type, p.on_demand_price(Some("Hrs"))?, &p.sku)?;
        } else if p.family == "Storage" {
            let volume_type = p.required("volumeApiName")?;
            ebs.insert(volume_type, p.on_demand_price(Some("GB-Mo"))?, &p.sku)?;
        }
    }
    let mut emr = Prices::new(EMR, "");
    for document in documents(EMR, emr_price_list) {
        let document = document?;
        let p = Product::parse(EMR, &document)?;
        if p.in_region(region)
            && p.family == "Elastic Map Reduce Instance"
            && p.is("softwareType", "EMR", false)
        {
            let instance_type = p.required("instanceType")?;
            emr.insert(instance_type, p.on_demand_price(Some("Hrs"))?, &p.sku)?;
        }
    }
    let mut instances: BTreeMap<String, InstancePrice> = BTreeMap::new();
    for (instance_type, price) in ec2.into_map() {
        instances.entry(instance_type).or_default().ec2_on_demand = Some(price);
    }
    for (instance_type, price) in emr.into_map() {
        instances.entry(instance_type).or_default().emr = Some(price);
    }
    Ok(PriceBook {
        region: region.to_string(),
        prices_as_of: as_of,
        instances,
        spot_zone: spot.zone,
        spot: spot.prices,
        ebs_per_gb_month: ebs.into_map(),
    })
}

/// The `meterunit`s of EMR Serverless's products for an application of `architecture` (`X86_64` or `ARM64`): its
/// vCPU-hours, memory GB-hours and storage GB-hours (storage is priced alike for both). What a query for them filters
/// on, and what [`serverless_prices_from_price_list`] tells them apart by.
pub fn serverless_meter_units(architecture: &str) -> Result<[&'static str; 3], PriceListError> {
    match architecture {
        "X86_64" => Ok(["CPUHours", "GBHours", "StorageGBHours"]),
        "ARM64" => Ok(["ARMCPUHours", "ARMGBHours", "StorageGBHours"]),
        other => Err(PriceListError::Architecture(quoted(other))),
    }
}

/// EMR Serverless's prices in `region` for applications of `architecture`, from `GetProducts` answers of service code
/// `ElasticMapReduce` (in one answer or several), read at `as_of`. Its products are those whose `usagetype` names
/// `SERVERLESS` (`EU-EMR-SERVERLESS-vCPUHours`, `EU-EMR-SERVERLESS-ARM-MemoryGBHours`, …), told apart by their
/// `meterunit` ([`serverless_meter_units`]); others (EMR on EC2's uplift, EMR on EKS's vCPU and GB-hours, which share
/// the meter units) are passed over. Each of the three prices must be found, and products of one meter unit agree.
pub fn serverless_prices_from_price_list(
    region: &str,
    architecture: &str,
    price_list: &[String],
    as_of: DateTime<Utc>,
) -> Result<ServerlessPrices, PriceListError> {
    let units = serverless_meter_units(architecture)?;
    let mut found = Prices::new(SERVERLESS, "meter unit ");
    for document in documents(SERVERLESS, price_list) {
        let document = document?;
        let p = Product::parse(SERVERLESS, &document)?;
        let serverless = p
            .attribute("usagetype")
            .is_some_and(|u| u.to_ascii_uppercase().contains("SERVERLESS"));
        if !(serverless && p.in_region(region)) {
            continue;
        }
        if let Some(unit) = p.attribute("meterunit").filter(|u| units.contains(u)) {
            found.insert(unit, p.on_demand_price(None)?, &p.sku)?;
        }
    }
    let prices = found.into_map();
    let price = |unit: &str, what: &str| {
        prices
            .get(unit)
            .copied()
            .ok_or_else(|| PriceListError::Missing {
                list: SERVERLESS,
                what: format!("{what} (meterunit {unit})"),
                region: quoted(region),
            })
    };
    Ok(ServerlessPrices {
        region: region.to_string(),
        architecture: architecture.to_string(),
        prices_as_of: as_of,
        per_vcpu_hour: price(units[0], &format!("the vCPU-hours of {architecture}"))?,
        per_memory_gb_hour: price(units[1], &format!("the memory GB-hours of {architecture}"))?,
        per_storage_gb_hour: price(units[2], "the storage GB-hours")?,
    })
}

#[cfg(test)]
mod tests;
