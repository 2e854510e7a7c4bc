//! Prices, from the sample price fixture (`fixtures/prices.json`): the Price List Query API's GetProducts (instance
//! and EMR prices, EBS storage, EMR Serverless's and EMR on EKS's per-hour prices) and EC2's
//! DescribeSpotPriceHistory, in their real answer formats.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::clock::{iso8601_millis, parse_iso8601};
use crate::ec2;
use crate::faults::SplitMix64;
use crate::ops::ApiError;
use crate::state::State;
use crate::wire;

const FIXTURE: &str = include_str!("../fixtures/prices.json");

/// The service codes whose products the emulator holds.
pub const SERVICE_EC2: &str = "AmazonEC2";
pub const SERVICE_EMR: &str = "ElasticMapReduce";

/// The Price List's code of On-Demand terms, and of their per-unit price dimension.
const ON_DEMAND_TERM: &str = "JRTCKXETXF";
const PRICE_DIMENSION: &str = "6YS6EN2CT7";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Fixture {
    #[allow(dead_code)]
    comment: String,
    prices_as_of: String,
    regions: Vec<RegionRow>,
    instance_types: Vec<TypeRow>,
    ebs_volumes: Vec<EbsRow>,
    emr_serverless: ServerlessRows,
    spot: SpotRows,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ServerlessRows {
    #[allow(dead_code)]
    comment: String,
    products: Vec<ServerlessRow>,
}

/// One `ElasticMapReduce` product metered per hour, in each region it names.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ServerlessRow {
    /// "EMR Serverless" or "EMR Containers" (EMR on EKS).
    product_family: String,
    meter_unit: String,
    /// The usage type after the region's prefix.
    usage_type: String,
    /// The price dimension's unit.
    unit: String,
    /// What one unit is, in the dimension's description.
    per: String,
    /// Region → USD per unit.
    usd: BTreeMap<String, String>,
}

/// The product families of the per-hour `ElasticMapReduce` products.
const HOURLY_FAMILIES: [&str; 2] = ["EMR Serverless", "EMR Containers"];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RegionRow {
    region_code: String,
    location: String,
    /// The prefix of the region's usage types (`EU-BoxUsage:…`).
    usage_prefix: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TypeRow {
    instance_type: String,
    instance_family: String,
    vcpu: String,
    memory: String,
    current_generation: String,
    /// Region → USD per hour, Linux, shared tenancy.
    ec2: BTreeMap<String, String>,
    /// Region → the EMR uplift, USD per hour.
    emr: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EbsRow {
    volume_api_name: String,
    volume_type: String,
    storage_media: String,
    usd_per_gb_month: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SpotRows {
    product_description: String,
    step_seconds: f64,
    /// Zone → instance type → prices, newest first.
    prices: BTreeMap<String, BTreeMap<String, Vec<String>>>,
}

/// One product of the Price List, with its document as GetProducts gives it (a JSON string).
pub struct Product {
    pub service_code: &'static str,
    pub product_family: &'static str,
    pub attributes: Map<String, Value>,
    pub document: String,
}

/// One price change in the spot market.
pub struct SpotPoint {
    pub availability_zone: String,
    pub instance_type: String,
    pub product_description: String,
    pub spot_price: f64,
    /// When it took effect, in seconds before the emulator's start.
    pub seconds_before_start: f64,
}

pub struct PriceBook {
    pub products: Vec<Product>,
    pub spot: Vec<SpotPoint>,
}

/// The price book, read once from the committed fixture.
pub fn book() -> &'static PriceBook {
    static BOOK: OnceLock<PriceBook> = OnceLock::new();
    BOOK.get_or_init(|| build(FIXTURE).expect("fixtures/prices.json is valid (tested)"))
}

/// A SKU for `key`: 16 uppercase alphanumerics, the same for the same key.
fn sku(key: &str) -> String {
    let seed = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let mut rng = SplitMix64(seed);
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    (0..16)
        .map(|_| ALPHABET[(rng.next_u64() % ALPHABET.len() as u64) as usize] as char)
        .collect()
}

/// A price as the Price List writes it: ten decimals.
fn usd(price: f64) -> String {
    format!("{price:.10}")
}

fn attributes(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect()
}

/// A product document in the Price List's `aws_v1` format, with one On-Demand price.
fn document(
    service_code: &str,
    product_family: &str,
    attributes: &Map<String, Value>,
    price: f64,
    unit: &str,
    description: &str,
    as_of: &str,
) -> String {
    let sku = sku(&format!(
        "{service_code}|{}",
        Value::Object(attributes.clone())
    ));
    let term = format!("{sku}.{ON_DEMAND_TERM}");
    let rate = format!("{term}.{PRICE_DIMENSION}");
    let effective = format!("{as_of}T00:00:00Z");
    json!({
        "product": {"productFamily": product_family, "attributes": attributes, "sku": sku},
        "serviceCode": service_code,
        "terms": {"OnDemand": {term.clone(): {
            "priceDimensions": {rate.clone(): {
                "unit": unit,
                "endRange": "Inf",
                "description": description,
                "appliesTo": [],
                "rateCode": rate,
                "beginRange": "0",
                "pricePerUnit": {"USD": usd(price)},
            }},
            "sku": sku,
            "effectiveDate": effective,
            "offerTermCode": ON_DEMAND_TERM,
            "termAttributes": {},
        }}},
        "version": format!("{}000000", as_of.replace('-', "")),
        "publicationDate": effective,
    })
    .to_string()
}

fn number(text: &str, what: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|p| p.is_finite() && *p >= 0.0)
        .ok_or_else(|| format!("{what}: '{text}' is not a price"))
}

/// The instance variants of one EC2 price: the product a Linux query wants, then products it must filter out
/// (another capacity status, dedicated tenancy, Windows, SQL Server pre-installed), priced differently.
/// (capacitystatus, tenancy, operatingSystem, preInstalledSw, operation, price from the Linux price and vCPUs)
type Variant = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    fn(f64, f64) -> f64,
);
const EC2_VARIANTS: [Variant; 5] = [
    ("Used", "Shared", "Linux", "NA", "RunInstances", |p, _| p),
    (
        "UnusedCapacityReservation",
        "Shared",
        "Linux",
        "NA",
        "RunInstances",
        |p, _| p,
    ),
    (
        "Used",
        "Dedicated",
        "Linux",
        "NA",
        "RunInstances",
        |p, _| p * 1.1,
    ),
    (
        "Used",
        "Shared",
        "Windows",
        "NA",
        "RunInstances:0002",
        |p, vcpu| p + 0.046 * vcpu,
    ),
    (
        "Used",
        "Shared",
        "Linux",
        "SQL Web",
        "RunInstances:0200",
        |p, vcpu| p + 0.017 * vcpu,
    ),
];

fn build(text: &str) -> Result<PriceBook, String> {
    let f: Fixture = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let as_of = &f.prices_as_of;
    let region = |code: &str| {
        f.regions
            .iter()
            .find(|r| r.region_code == code)
            .ok_or_else(|| format!("region {code} is not in regions"))
    };
    let mut products = Vec::new();
    for t in &f.instance_types {
        let vcpu = number(&t.vcpu, "vcpu")?;
        for (code, price) in &t.ec2 {
            let r = region(code)?;
            let linux = number(price, &t.instance_type)?;
            for (capacity, tenancy, os, sw, operation, price_of) in EC2_VARIANTS {
                let usage = if tenancy == "Dedicated" {
                    "DedicatedUsage"
                } else {
                    "BoxUsage"
                };
                let attrs = attributes(&[
                    ("instanceType", &t.instance_type),
                    ("instanceFamily", &t.instance_family),
                    ("vcpu", &t.vcpu),
                    ("memory", &t.memory),
                    ("currentGeneration", &t.current_generation),
                    ("location", &r.location),
                    ("locationType", "AWS Region"),
                    ("regionCode", &r.region_code),
                    ("servicecode", SERVICE_EC2),
                    ("servicename", "Amazon Elastic Compute Cloud"),
                    (
                        "usagetype",
                        &format!("{}{usage}:{}", r.usage_prefix, t.instance_type),
                    ),
                    ("operation", operation),
                    ("capacitystatus", capacity),
                    ("tenancy", tenancy),
                    ("operatingSystem", os),
                    ("preInstalledSw", sw),
                    ("licenseModel", "No License required"),
                    ("marketoption", "OnDemand"),
                ]);
                let p = price_of(linux, vcpu);
                let description = format!(
                    "${p:.4} per On Demand {os} {} Instance Hour",
                    t.instance_type
                );
                let document = document(
                    SERVICE_EC2,
                    "Compute Instance",
                    &attrs,
                    p,
                    "Hrs",
                    &description,
                    as_of,
                );
                products.push(Product {
                    service_code: SERVICE_EC2,
                    product_family: "Compute Instance",
                    attributes: attrs,
                    document,
                });
            }
        }
        for (code, price) in &t.emr {
            let r = region(code)?;
            let p = number(price, &t.instance_type)?;
            let attrs = attributes(&[
                ("instanceType", &t.instance_type),
                ("instanceFamily", &t.instance_family),
                ("location", &r.location),
                ("locationType", "AWS Region"),
                ("regionCode", &r.region_code),
                ("servicecode", SERVICE_EMR),
                ("servicename", "Amazon Elastic MapReduce"),
                ("softwareType", "EMR"),
                (
                    "usagetype",
                    &format!("{}BoxUsage:{}", r.usage_prefix, t.instance_type),
                ),
                ("operation", "RunInstances"),
            ]);
            let description = format!("${p:.4} per hour for EMR {}", t.instance_type);
            let family = "Elastic Map Reduce Instance";
            let document = document(SERVICE_EMR, family, &attrs, p, "Hrs", &description, as_of);
            products.push(Product {
                service_code: SERVICE_EMR,
                product_family: family,
                attributes: attrs,
                document,
            });
        }
    }
    for v in &f.ebs_volumes {
        for (code, price) in &v.usd_per_gb_month {
            let r = region(code)?;
            let p = number(price, &v.volume_api_name)?;
            let usage = match v.volume_api_name.as_str() {
                "standard" => "EBS:VolumeUsage".to_string(),
                api => format!("EBS:VolumeUsage.{api}"),
            };
            let attrs = attributes(&[
                ("location", &r.location),
                ("locationType", "AWS Region"),
                ("regionCode", &r.region_code),
                ("servicecode", SERVICE_EC2),
                ("servicename", "Amazon Elastic Compute Cloud"),
                ("storageMedia", &v.storage_media),
                ("volumeType", &v.volume_type),
                ("volumeApiName", &v.volume_api_name),
                ("usagetype", &format!("{}{usage}", r.usage_prefix)),
                ("operation", ""),
            ]);
            let description = format!(
                "${p} per GB-month of {} ({}) provisioned storage - {}",
                v.volume_type, v.volume_api_name, r.location
            );
            let document = document(
                SERVICE_EC2,
                "Storage",
                &attrs,
                p,
                "GB-Mo",
                &description,
                as_of,
            );
            products.push(Product {
                service_code: SERVICE_EC2,
                product_family: "Storage",
                attributes: attrs,
                document,
            });
        }
    }
    for row in &f.emr_serverless.products {
        let family = HOURLY_FAMILIES
            .into_iter()
            .find(|f| *f == row.product_family)
            .ok_or_else(|| {
                format!(
                    "productFamily '{}' is not one of {HOURLY_FAMILIES:?}",
                    row.product_family
                )
            })?;
        for (code, price) in &row.usd {
            let r = region(code)?;
            let p = number(price, &row.usage_type)?;
            let attrs = attributes(&[
                ("location", &r.location),
                ("locationType", "AWS Region"),
                ("regionCode", &r.region_code),
                ("servicecode", SERVICE_EMR),
                ("servicename", "Amazon Elastic MapReduce"),
                (
                    "usagetype",
                    &format!("{}{}", r.usage_prefix, row.usage_type),
                ),
                ("operation", ""),
                ("meterunit", &row.meter_unit),
            ]);
            let description = format!("${price} per {} in {}", row.per, r.location);
            let document = document(
                SERVICE_EMR,
                family,
                &attrs,
                p,
                &row.unit,
                &description,
                as_of,
            );
            products.push(Product {
                service_code: SERVICE_EMR,
                product_family: family,
                attributes: attrs,
                document,
            });
        }
    }
    let mut spot = Vec::new();
    for (zone, types) in &f.spot.prices {
        for (instance_type, history) in types {
            for (i, price) in history.iter().enumerate() {
                spot.push(SpotPoint {
                    availability_zone: zone.clone(),
                    instance_type: instance_type.clone(),
                    product_description: f.spot.product_description.clone(),
                    spot_price: number(price, instance_type)?,
                    seconds_before_start: i as f64 * f.spot.step_seconds,
                });
            }
        }
    }
    Ok(PriceBook { products, spot })
}

// ------------------------------------------------------------ GetProducts

fn invalid_parameter(message: impl Into<String>) -> ApiError {
    ApiError::new(400, "InvalidParameterException", message)
}

const FILTER_TYPES: [&str; 5] = ["TERM_MATCH", "EQUALS", "CONTAINS", "ANY_OF", "NONE_OF"];

/// Whether `product` passes the filter. The field is `ServiceCode`, `productFamily` or an attribute name (as
/// written); TERM_MATCH and EQUALS compare exactly, ANY_OF and NONE_OF take a comma-separated list.
fn passes(product: &Product, kind: &str, field: &str, value: &str) -> bool {
    let actual = match field {
        "ServiceCode" => Some(product.service_code),
        "productFamily" => Some(product.product_family),
        attribute => product.attributes.get(attribute).and_then(Value::as_str),
    };
    let listed = || value.split(',').map(str::trim);
    match (kind, actual) {
        ("NONE_OF", None) => true,
        ("NONE_OF", Some(a)) => listed().all(|v| v != a),
        (_, None) => false,
        ("CONTAINS", Some(a)) => a.contains(value),
        ("ANY_OF", Some(a)) => listed().any(|v| v == a),
        (_, Some(a)) => a == value,
    }
}

/// GetProducts: the products of `ServiceCode` that pass every filter, in the fixture's order, `MaxResults` (1 to
/// 100, default 100) a page.
pub fn get_products(input: wire::GetProductsInput) -> Result<Value, ApiError> {
    let service_code = input
        .service_code
        .filter(|c| !c.is_empty())
        .ok_or_else(|| invalid_parameter("ServiceCode is required."))?;
    let format = input.format_version.unwrap_or_else(|| "aws_v1".into());
    if format != "aws_v1" {
        return Err(invalid_parameter(format!(
            "FormatVersion '{format}' is not supported: use aws_v1."
        )));
    }
    let max = input.max_results.unwrap_or(100);
    if !(1..=100).contains(&max) {
        return Err(invalid_parameter("MaxResults must be between 1 and 100."));
    }
    let mut filters = Vec::new();
    for f in input.filters.unwrap_or_default() {
        let kind = f.kind.unwrap_or_default();
        if !FILTER_TYPES.contains(&kind.as_str()) {
            return Err(invalid_parameter(format!(
                "Filter Type '{kind}' is not valid: use one of {}.",
                FILTER_TYPES.join(", ")
            )));
        }
        let field = f
            .field
            .filter(|v| !v.is_empty())
            .ok_or_else(|| invalid_parameter("A filter needs a Field."))?;
        let value = f
            .value
            .ok_or_else(|| invalid_parameter("A filter needs a Value."))?;
        filters.push((kind, field, value));
    }
    if service_code != SERVICE_EC2 && service_code != SERVICE_EMR {
        return Err(ApiError::new(
            404,
            "NotFoundException",
            format!("Service {service_code} is not found: the emulator holds prices of {SERVICE_EC2} and {SERVICE_EMR} only."),
        ));
    }
    let start = match input.next_token.as_deref() {
        None | Some("") => 0,
        Some(t) => t
            .strip_prefix("p-")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| {
                ApiError::new(
                    400,
                    "InvalidNextTokenException",
                    "The NextToken is not valid.",
                )
            })?,
    };
    let matching: Vec<&Product> = book()
        .products
        .iter()
        .filter(|p| p.service_code == service_code)
        .filter(|p| filters.iter().all(|(k, f, v)| passes(p, k, f, v)))
        .collect();
    let max = max as usize;
    let page: Vec<&str> = matching
        .iter()
        .skip(start)
        .take(max)
        .map(|p| p.document.as_str())
        .collect();
    let mut out = json!({"FormatVersion": "aws_v1", "PriceList": page});
    if start + max < matching.len() {
        out["NextToken"] = json!(format!("p-{}", start + max));
    }
    Ok(out)
}

// ---------------------------------------------------- DescribeSpotPriceHistory

fn invalid_value(message: impl Into<String>) -> ApiError {
    ApiError::new(400, "InvalidParameterValue", message)
}

fn time_param(form: &[(String, String)], name: &str) -> Result<Option<f64>, ApiError> {
    ec2::param(form, name)
        .map(|t| {
            parse_iso8601(t).ok_or_else(|| {
                invalid_value(format!("Value ({t}) for parameter {name} is invalid."))
            })
        })
        .transpose()
}

/// Whether `zone` is one of `region`'s (`<region><letter>`).
fn zone_of(zone: &str, region: &str) -> bool {
    zone.strip_prefix(region)
        .is_some_and(|l| l.len() == 1 && l.bytes().all(|b| b.is_ascii_lowercase()))
}

/// DescribeSpotPriceHistory in the caller's region: the price changes between StartTime and EndTime (default now),
/// with the change in effect at StartTime, newest first, `MaxResults` (5 to 1000, default 1000) a page. The
/// fixture's history is anchored at the emulator's start: its newest price took effect then.
pub fn describe_spot_price_history(
    state: &State,
    form: &[(String, String)],
    region: &str,
    now: f64,
) -> Result<Value, ApiError> {
    let mut zones: Vec<String> = ec2::param(form, "AvailabilityZone")
        .into_iter()
        .map(str::to_string)
        .collect();
    let mut types = ec2::list(form, "InstanceType");
    let mut descriptions = ec2::list(form, "ProductDescription");
    for (name, values) in ec2::filters(form) {
        match name.as_str() {
            "availability-zone" => zones.extend(values),
            "instance-type" => types.extend(values),
            "product-description" => descriptions.extend(values),
            other => return Err(invalid_value(format!("The filter '{other}' is invalid"))),
        }
    }
    if let Some(bad) = zones.iter().find(|z| !zone_of(z, region)) {
        return Err(invalid_value(format!("Invalid availability zone: [{bad}]")));
    }
    if let Some(bad) = types.iter().find(|t| !t.contains('.')) {
        return Err(invalid_value(format!(
            "Value ({bad}) for parameter instanceType is invalid."
        )));
    }
    let start = time_param(form, "StartTime")?;
    let end = time_param(form, "EndTime")?.unwrap_or(now);
    if start.is_some_and(|s| s > end) {
        return Err(invalid_value("The end time must be after the start time."));
    }
    let max = match ec2::param(form, "MaxResults") {
        None => 1000,
        Some(m) => m
            .parse::<usize>()
            .ok()
            .filter(|m| (5..=1000).contains(m))
            .ok_or_else(|| invalid_value(format!("Value ( {m} ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.")))?,
    };
    let offset = match ec2::param(form, "NextToken").filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => t
            .strip_prefix("s-")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| invalid_value("The NextToken is not valid."))?,
    };
    let wanted = |p: &SpotPoint| {
        zone_of(&p.availability_zone, region)
            && (zones.is_empty() || zones.contains(&p.availability_zone))
            && (types.is_empty() || types.contains(&p.instance_type))
            && (descriptions.is_empty() || descriptions.contains(&p.product_description))
    };
    let at = |p: &SpotPoint| state.started_at - p.seconds_before_start;
    let mut items: Vec<(f64, &SpotPoint)> = Vec::new();
    for p in book().spot.iter().filter(|p| wanted(p)) {
        let t = at(p);
        let in_window = t <= end && start.is_none_or(|s| t >= s);
        // The change in effect at StartTime: the newest one at or before it.
        let in_effect = start.is_some_and(|s| {
            t < s
                && !book().spot.iter().any(|q| {
                    q.availability_zone == p.availability_zone
                        && q.instance_type == p.instance_type
                        && q.product_description == p.product_description
                        && at(q) > t
                        && at(q) <= s
                })
        });
        if in_window || in_effect {
            items.push((t, p));
        }
    }
    items.sort_by(|(ta, a), (tb, b)| {
        tb.total_cmp(ta)
            .then_with(|| a.availability_zone.cmp(&b.availability_zone))
            .then_with(|| a.instance_type.cmp(&b.instance_type))
    });
    let total = items.len();
    let page: Vec<Value> = items
        .into_iter()
        .skip(offset)
        .take(max)
        .map(|(t, p)| {
            json!({
                "availabilityZone": p.availability_zone,
                "instanceType": p.instance_type,
                "productDescription": p.product_description,
                "spotPrice": format!("{:.6}", p.spot_price),
                "timestamp": iso8601_millis(t),
            })
        })
        .collect();
    let mut out = json!({"spotPriceHistorySet": page});
    if offset + max < total {
        out["nextToken"] = json!(format!("s-{}", offset + max));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_reading_the_fixture_should_price_every_type_in_each_region_it_names() {
        let b = build(FIXTURE).unwrap();
        let is = |a: &Map<String, Value>, k: &str, v: &str| a.get(k).is_some_and(|x| x == v);
        let linux = |code: &str, t: &str, region: &str| -> Vec<&Product> {
            b.products
                .iter()
                .filter(|p| {
                    let a = &p.attributes;
                    p.service_code == code
                        && is(a, "instanceType", t)
                        && is(a, "regionCode", region)
                        && a.get("operatingSystem").is_none_or(|o| o == "Linux")
                        && a.get("tenancy").is_none_or(|o| o == "Shared")
                        && a.get("preInstalledSw").is_none_or(|o| o == "NA")
                        && a.get("capacitystatus").is_none_or(|o| o == "Used")
                })
                .collect()
        };
        let f: Fixture = serde_json::from_str(FIXTURE).unwrap();
        let mut priced = 0;
        for t in &f.instance_types {
            for (region, price) in &t.ec2 {
                assert_eq!(linux(SERVICE_EC2, &t.instance_type, region).len(), 1);
                assert_eq!(linux(SERVICE_EMR, &t.instance_type, region).len(), 1);
                assert!(t.emr.contains_key(region), "{} {region}", t.instance_type);
                assert!(number(price, "").is_ok());
                priced += 1;
            }
        }
        assert!(priced >= 20, "{priced}");
        let doc = &linux(SERVICE_EC2, "m5.xlarge", "us-east-1")[0].document;
        assert!(
            doc.contains(r#""pricePerUnit":{"USD":"0.1920000000"}"#),
            "{doc}"
        );
        assert_eq!(sku("x"), sku("x"));
        assert_ne!(sku("x"), sku("y"));
        assert!(b
            .spot
            .iter()
            .any(|p| p.availability_zone == "eu-west-1a" && p.seconds_before_start == 0.0));
    }

    #[test]
    fn when_reading_the_fixture_should_hold_five_emr_serverless_products_per_region_beside_emr_on_eks(
    ) {
        let b = build(FIXTURE).unwrap();
        let f: Fixture = serde_json::from_str(FIXTURE).unwrap();
        for r in &f.regions {
            let hourly: Vec<(&str, &str)> = b
                .products
                .iter()
                .filter(|p| {
                    p.attributes
                        .get("regionCode")
                        .is_some_and(|c| c == &r.region_code)
                })
                .filter_map(|p| {
                    let unit = p.attributes.get("meterunit")?.as_str()?;
                    Some((p.product_family, unit))
                })
                .collect();
            let serverless = |unit: &str| hourly.contains(&("EMR Serverless", unit));
            assert!(
                [
                    "CPUHours",
                    "GBHours",
                    "StorageGBHours",
                    "ARMCPUHours",
                    "ARMGBHours"
                ]
                .into_iter()
                .all(serverless),
                "{}: {hourly:?}",
                r.region_code
            );
            assert_eq!(hourly.len(), 5 + 2, "{}: {hourly:?}", r.region_code);
        }
        let usage = |p: &&Product| {
            p.attributes.get("usagetype") == Some(&json!("EU-EMR-SERVERLESS-ARM-vCPUHours"))
        };
        let arm = b.products.iter().find(usage).unwrap();
        assert!(
            arm.document
                .contains(r#""pricePerUnit":{"USD":"0.0420992000"}"#),
            "{}",
            arm.document
        );
        let broken = FIXTURE.replacen("\"EMR Containers\"", "\"EMR Lambdas\"", 1);
        assert!(build(&broken).err().unwrap().contains("EMR Lambdas"));
    }

    #[test]
    fn when_a_fixture_price_is_not_a_number_should_name_it() {
        let broken = FIXTURE.replacen("\"0.192\"", "\"cheap\"", 1);
        let err = build(&broken).err().unwrap();
        assert!(err.contains("m5.xlarge") && err.contains("cheap"), "{err}");
    }
}
