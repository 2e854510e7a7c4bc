//! `GetProducts` answers in the Price List's own format (trimmed real-shaped documents), and spot price history.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::*;
use crate::cost::{run_cost, InstanceLife, Market, Window};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

/// An EC2 answer's product for m5.xlarge, Linux, shared tenancy, no pre-installed software, capacity Used: the one
/// to price. Trimmed (real ones carry some 40 attributes and a `Reserved` section with a dozen offers).
const EC2_M5_XLARGE: &str = r#"{
  "product": {
    "productFamily": "Compute Instance",
    "attributes": {
      "enhancedNetworkingSupported": "Yes", "memory": "16 GiB", "vcpu": "4", "capacitystatus": "Used",
      "locationType": "AWS Region", "storage": "EBS only", "instanceFamily": "General purpose",
      "operatingSystem": "Linux", "regionCode": "us-east-1", "physicalProcessor": "Intel Xeon Platinum 8175",
      "networkPerformance": "Up to 10 Gigabit", "servicename": "Amazon Elastic Compute Cloud",
      "instanceType": "m5.xlarge", "tenancy": "Shared", "usagetype": "BoxUsage:m5.xlarge",
      "normalizationSizeFactor": "8", "servicecode": "AmazonEC2", "licenseModel": "No License required",
      "currentGeneration": "Yes", "preInstalledSw": "NA", "location": "US East (N. Virginia)",
      "processorArchitecture": "64-bit", "marketoption": "OnDemand", "operation": "RunInstances",
      "availabilityzone": "NA"
    },
    "sku": "6ZJ9DKQWQ2KDEMCZ"
  },
  "serviceCode": "AmazonEC2",
  "terms": {
    "OnDemand": {
      "6ZJ9DKQWQ2KDEMCZ.JRTCKXETXF": {
        "priceDimensions": {
          "6ZJ9DKQWQ2KDEMCZ.JRTCKXETXF.6YS6EN2CT7": {
            "unit": "Hrs", "endRange": "Inf", "description": "$0.192 per On Demand Linux m5.xlarge Instance Hour",
            "appliesTo": [], "rateCode": "6ZJ9DKQWQ2KDEMCZ.JRTCKXETXF.6YS6EN2CT7", "beginRange": "0",
            "pricePerUnit": {"USD": "0.1920000000"}
          }
        },
        "sku": "6ZJ9DKQWQ2KDEMCZ", "effectiveDate": "2026-10-01T00:00:00Z", "offerTermCode": "JRTCKXETXF",
        "termAttributes": {}
      }
    },
    "Reserved": {
      "6ZJ9DKQWQ2KDEMCZ.38NPMPTW36": {
        "priceDimensions": {
          "6ZJ9DKQWQ2KDEMCZ.38NPMPTW36.2TG2D8R56U": {
            "unit": "Quantity", "description": "Upfront Fee", "appliesTo": [],
            "rateCode": "6ZJ9DKQWQ2KDEMCZ.38NPMPTW36.2TG2D8R56U", "pricePerUnit": {"USD": "1014"}
          }
        },
        "sku": "6ZJ9DKQWQ2KDEMCZ", "effectiveDate": "2026-10-01T00:00:00Z", "offerTermCode": "38NPMPTW36",
        "termAttributes": {"LeaseContractLength": "3yr", "OfferingClass": "standard", "PurchaseOption": "Partial Upfront"}
      }
    }
  },
  "version": "20261031194813",
  "publicationDate": "2026-10-31T19:48:13Z"
}"#;

/// The EBS gp2 storage product of the same answer.
const EC2_GP2: &str = r#"{
  "product": {
    "productFamily": "Storage",
    "attributes": {
      "maxThroughputvolume": "250 MiB/s", "volumeType": "General Purpose", "maxIopsvolume": "16000",
      "usagetype": "EBS:VolumeUsage.gp2", "locationType": "AWS Region", "maxVolumeSize": "16 TiB",
      "storageMedia": "SSD-backed", "regionCode": "us-east-1", "servicecode": "AmazonEC2",
      "volumeApiName": "gp2", "location": "US East (N. Virginia)", "servicename": "Amazon Elastic Compute Cloud",
      "operation": ""
    },
    "sku": "HY3BZPP2B6K8MSJF"
  },
  "serviceCode": "AmazonEC2",
  "terms": {
    "OnDemand": {
      "HY3BZPP2B6K8MSJF.JRTCKXETXF": {
        "priceDimensions": {
          "HY3BZPP2B6K8MSJF.JRTCKXETXF.6YS6EN2CT7": {
            "unit": "GB-Mo", "endRange": "Inf",
            "description": "$0.10 per GB-month of General Purpose SSD (gp2) provisioned storage - US East (Northern Virginia)",
            "appliesTo": [], "rateCode": "HY3BZPP2B6K8MSJF.JRTCKXETXF.6YS6EN2CT7", "beginRange": "0",
            "pricePerUnit": {"USD": "0.1000000000"}
          }
        },
        "sku": "HY3BZPP2B6K8MSJF", "effectiveDate": "2026-10-01T00:00:00Z", "offerTermCode": "JRTCKXETXF",
        "termAttributes": {}
      }
    }
  },
  "version": "20261031194813",
  "publicationDate": "2026-10-31T19:48:13Z"
}"#;

/// An EMR answer's product: EMR's uplift for m5.xlarge.
const EMR_M5_XLARGE: &str = r#"{
  "product": {
    "productFamily": "Elastic Map Reduce Instance",
    "attributes": {
      "softwareType": "EMR", "regionCode": "us-east-1", "servicecode": "ElasticMapReduce",
      "usagetype": "BoxUsage:m5.xlarge", "locationType": "AWS Region", "location": "US East (N. Virginia)",
      "instanceType": "m5.xlarge", "instanceFamily": "General purpose", "servicename": "Amazon Elastic MapReduce",
      "operation": "RunInstances"
    },
    "sku": "3KQ8RSHWXDNKT9JP"
  },
  "serviceCode": "ElasticMapReduce",
  "terms": {
    "OnDemand": {
      "3KQ8RSHWXDNKT9JP.JRTCKXETXF": {
        "priceDimensions": {
          "3KQ8RSHWXDNKT9JP.JRTCKXETXF.6YS6EN2CT7": {
            "unit": "Hrs", "endRange": "Inf", "description": "$0.048 per hour for EMR m5.xlarge",
            "appliesTo": [], "rateCode": "3KQ8RSHWXDNKT9JP.JRTCKXETXF.6YS6EN2CT7", "beginRange": "0",
            "pricePerUnit": {"USD": "0.0480000000"}
          }
        },
        "sku": "3KQ8RSHWXDNKT9JP", "effectiveDate": "2026-09-01T00:00:00Z", "offerTermCode": "JRTCKXETXF",
        "termAttributes": {}
      }
    }
  },
  "version": "20261015002233",
  "publicationDate": "2026-10-15T00:22:33Z"
}"#;

/// `document` with its SKU, some attributes, and its first on-demand price changed.
fn variant(document: &str, sku: &str, attributes: Value, usd: Option<&str>) -> String {
    let mut doc: Value = serde_json::from_str(document).unwrap();
    doc["product"]["sku"] = json!(sku);
    for (name, value) in attributes.as_object().unwrap() {
        doc["product"]["attributes"][name] = value.clone();
    }
    if let Some(usd) = usd {
        let offers = doc["terms"]["OnDemand"].as_object_mut().unwrap();
        let offer = offers.values_mut().next().unwrap();
        let dimension = offer["priceDimensions"]
            .as_object_mut()
            .unwrap()
            .values_mut()
            .next()
            .unwrap();
        dimension["pricePerUnit"]["USD"] = json!(usd);
    }
    doc.to_string()
}

fn book(ec2: &[String], emr: &[String]) -> Result<PriceBook, PriceListError> {
    price_book_from_price_list(
        "us-east-1",
        ec2,
        emr,
        SpotPrices::default(),
        at("2026-11-01T06:00:00Z"),
    )
}

/// The EC2 answer for m5.xlarge as it comes, with the products that are not the one to price.
fn ec2_answer() -> Vec<String> {
    vec![
        EC2_M5_XLARGE.to_string(),
        // Capacity reservations: the same instance, billed through the reservation.
        variant(EC2_M5_XLARGE, "AR1", json!({"capacitystatus": "AllocatedCapacityReservation"}), Some("0.0000000000")),
        variant(EC2_M5_XLARGE, "UR1", json!({"capacitystatus": "UnusedCapacityReservation"}), Some("0.1920000000")),
        // Other systems, tenancies and software.
        variant(EC2_M5_XLARGE, "RH1", json!({"operatingSystem": "RHEL", "operation": "RunInstances:0010"}), Some("0.2520000000")),
        variant(EC2_M5_XLARGE, "WI1", json!({"operatingSystem": "Windows", "operation": "RunInstances:0002"}), Some("0.3760000000")),
        variant(EC2_M5_XLARGE, "DE1", json!({"tenancy": "Dedicated"}), Some("0.2110000000")),
        variant(EC2_M5_XLARGE, "SQ1", json!({"preInstalledSw": "SQL Std", "operation": "RunInstances:0004"}), Some("0.6720000000")),
        variant(EC2_M5_XLARGE, "CB1", json!({"marketoption": "CapacityBlock"}), Some("0.1000000000")),
        // Another region, and a Local Zone of this one.
        variant(EC2_M5_XLARGE, "UW2", json!({"regionCode": "us-west-2"}), Some("0.2000000000")),
        variant(EC2_M5_XLARGE, "LZ1", json!({"locationType": "AWS Local Zone", "regionCode": "us-east-1"}), Some("0.2300000000")),
        EC2_GP2.to_string(),
        variant(EC2_GP2, "GP3", json!({"volumeApiName": "gp3", "usagetype": "EBS:VolumeUsage.gp3"}), Some("0.0800000000")),
        // Not storage per GB-month: snapshots, IOPS.
        variant(EC2_GP2, "SN1", json!({"volumeApiName": "", "usagetype": "EBS:SnapshotUsage"}), Some("0.0500000000"))
            .replace("\"Storage\"", "\"Storage Snapshot\""),
        variant(EC2_GP2, "IO1", json!({"volumeApiName": "io1", "usagetype": "EBS:VolumeP-IOPS.piops"}), Some("0.0650000000"))
            .replace("\"Storage\"", "\"System Operation\""),
        // A product with no family at all (data transfer comes like this).
        r#"{"product": {"attributes": {"transferType": "IntraRegion"}, "sku": "DT1"}, "serviceCode": "AmazonEC2",
            "terms": {"OnDemand": {}}}"#
            .to_string(),
    ]
}

fn emr_answer() -> Vec<String> {
    vec![
        EMR_M5_XLARGE.to_string(),
        variant(
            EMR_M5_XLARGE,
            "EM2",
            json!({"instanceType": "r5.2xlarge", "usagetype": "BoxUsage:r5.2xlarge"}),
            Some("0.1260000000"),
        ),
        // EMR's other products: EMR on EKS, and other software.
        variant(
            EMR_M5_XLARGE,
            "EKS",
            json!({"softwareType": "EMR", "instanceType": ""}),
            Some("0.0101240000"),
        )
        .replace("Elastic Map Reduce Instance", "EMR Containers"),
        variant(
            EMR_M5_XLARGE,
            "MR5",
            json!({"softwareType": "MapR M5"}),
            Some("0.1620000000"),
        ),
    ]
}

#[test]
fn when_answers_carry_every_kind_of_product_should_pick_linux_shared_used_ec2_the_emr_uplift_and_ebs(
) {
    let book = book(&ec2_answer(), &emr_answer()).unwrap();
    let text = serde_json::to_value(&book).unwrap();
    assert_eq!(
        text,
        json!({
            "region": "us-east-1",
            "pricesAsOf": "2026-11-01T06:00:00Z",
            "instances": {
                "m5.xlarge": {"ec2OnDemand": "0.192", "emr": "0.048"},
                "r5.2xlarge": {"ec2OnDemand": null, "emr": "0.126"}
            },
            "spotZone": null,
            "spot": {},
            "ebsPerGbMonth": {"gp2": "0.1", "gp3": "0.08"}
        })
    );
}

#[test]
fn when_a_book_is_read_from_the_price_list_should_price_a_run_as_the_hand_computation_says() {
    // The first test of `cost`, with the prices read from the documents: m5.xlarge, 5,420 s, 2 × 32 GiB gp2:
    // 0.3613333… + 0.0131993… = 0.3745326… → 0.3745.
    let book = book(&ec2_answer(), &emr_answer()).unwrap();
    let master = InstanceLife {
        instance_type: "m5.xlarge".to_string(),
        market: Market::OnDemand,
        start: at("2026-11-02T01:00:00Z"),
        end: Some(at("2026-11-02T02:30:20Z")),
        ebs_volumes: vec![
            crate::cost::EbsVolume {
                volume_type: "gp2".to_string(),
                size_gib: 32
            };
            2
        ],
    };
    let window = Window {
        since: None,
        until: at("2026-11-02T03:00:00Z"),
        ended: true,
    };
    let cost = run_cost(&[master], None, &window, Ok(&book));
    assert_eq!(cost.usd, Some(0.3745));
}

#[test]
fn when_a_document_is_not_json_should_say_which_one_and_where() {
    let mut answer = ec2_answer();
    answer.insert(2, "{\"product\": ".to_string());
    assert_eq!(
        book(&answer, &[]).unwrap_err().to_string(),
        "EC2 price list, document 2: not a JSON product document (line 1, column 12)"
    );
}

#[test]
fn when_a_product_to_price_is_malformed_should_name_its_sku_and_the_field() {
    let no_terms = {
        let mut doc: Value = serde_json::from_str(EC2_M5_XLARGE).unwrap();
        doc.as_object_mut().unwrap().remove("terms");
        doc.to_string()
    };
    let no_hourly = EC2_M5_XLARGE.replace("\"unit\": \"Hrs\"", "\"unit\": \"Quantity\"");
    let no_type = variant(EMR_M5_XLARGE, "NT1", json!({"instanceType": null}), None);
    let no_attributes =
        r#"{"product": {"productFamily": "Compute Instance", "sku": "NA1"}, "terms": {}}"#;
    let cases = [
        (vec![no_terms], vec![], "EC2 price list, product 6ZJ9DKQWQ2KDEMCZ: terms.OnDemand is missing or not an object"),
        (
            vec![no_hourly],
            vec![],
            "EC2 price list, product 6ZJ9DKQWQ2KDEMCZ: terms.OnDemand.*.priceDimensions.*.unit has no price per hour (Hrs)",
        ),
        (vec![], vec![no_type], "EMR price list, product NT1: product.attributes.instanceType is missing"),
        (
            vec![no_attributes.to_string()],
            vec![],
            "EC2 price list, product NA1: product.attributes is missing or not an object",
        ),
        (vec!["[1, 2]".to_string()], vec![], "EC2 price list, product <no sku>: product is missing or not an object"),
    ];
    for (ec2, emr, message) in cases {
        assert_eq!(book(&ec2, &emr).unwrap_err().to_string(), message);
    }
}

#[test]
fn when_a_price_is_not_a_number_should_name_the_field_and_never_quote_the_value() {
    let secret = "AKIAIOSFODNN7EXAMPLE";
    let bad = variant(EC2_M5_XLARGE, "BAD1", json!({}), Some(secret));
    let message = book(&[bad], &[]).unwrap_err().to_string();
    assert_eq!(
        message,
        "EC2 price list, product BAD1: terms.OnDemand.*.priceDimensions.*.pricePerUnit.USD is not a decimal amount of USD"
    );
    // A SKU that is not one is not quoted either.
    let odd = variant(
        EC2_GP2,
        "x\" secret=AKIAIOSFODNN7EXAMPLE",
        json!({}),
        Some("-1"),
    );
    let message = book(&[odd], &[]).unwrap_err().to_string();
    assert!(
        message.starts_with("EC2 price list, product <unnamed>: "),
        "{message}"
    );
    assert!(!message.contains(secret));
}

#[test]
fn when_two_products_price_one_instance_type_differently_should_name_both() {
    let other = variant(
        EC2_M5_XLARGE,
        "7QPSK2ZJ3RGZ5U8Y",
        json!({}),
        Some("0.2000000000"),
    );
    assert_eq!(
        book(&[EC2_M5_XLARGE.to_string(), other], &[]).unwrap_err(),
        PriceListError::Conflict {
            list: "EC2",
            what: "m5.xlarge".to_string(),
            skus: vec![
                "6ZJ9DKQWQ2KDEMCZ".to_string(),
                "7QPSK2ZJ3RGZ5U8Y".to_string()
            ],
        }
    );
    let gp2_again = variant(EC2_GP2, "9GP2", json!({}), Some("0.1100000000"));
    assert_eq!(
        book(&[EC2_GP2.to_string(), gp2_again], &[])
            .unwrap_err()
            .to_string(),
        "EC2 price list: EBS gp2 has different prices in products HY3BZPP2B6K8MSJF, 9GP2"
    );
    // The same price twice is no conflict.
    let same = variant(EC2_M5_XLARGE, "SAME1", json!({}), None);
    assert!(book(&[EC2_M5_XLARGE.to_string(), same], &[]).is_ok());
}

fn point(
    instance_type: &str,
    zone: &str,
    description: &str,
    price: &str,
    time: &str,
) -> SpotPricePoint {
    SpotPricePoint {
        instance_type: instance_type.to_string(),
        availability_zone: zone.to_string(),
        product_description: description.to_string(),
        spot_price: price.to_string(),
        timestamp: at(time),
    }
}

#[test]
fn when_spot_history_has_many_points_should_take_the_newest_linux_price_per_type_in_the_cluster_zone(
) {
    let history = [
        point(
            "r5.2xlarge",
            "us-east-1a",
            "Linux/UNIX",
            "0.130100",
            "2026-10-31T20:02:11Z",
        ),
        point(
            "r5.2xlarge",
            "us-east-1a",
            "Linux/UNIX",
            "0.129800",
            "2026-10-31T22:14:03Z",
        ),
        point(
            "r5.2xlarge",
            "us-east-1a",
            "Linux/UNIX",
            "0.131000",
            "2026-10-31T18:00:00Z",
        ),
        point(
            "r5.2xlarge",
            "us-east-1b",
            "Linux/UNIX",
            "0.090000",
            "2026-10-31T23:00:00Z",
        ),
        point(
            "r5.2xlarge",
            "us-east-1a",
            "Windows",
            "0.300000",
            "2026-10-31T23:30:00Z",
        ),
        point(
            "m5.xlarge",
            "us-east-1a",
            "Linux/UNIX (Amazon VPC)",
            "0.040100",
            "2026-10-31T21:00:00Z",
        ),
    ];
    let spot = newest_spot_prices("us-east-1a", &history).unwrap();
    assert_eq!(spot.zone.as_deref(), Some("us-east-1a"));
    let prices: Vec<(&str, String, DateTime<Utc>)> = spot
        .prices
        .iter()
        .map(|(t, p)| (t.as_str(), p.usd_per_hour.to_string(), p.timestamp))
        .collect();
    assert_eq!(
        prices,
        [
            (
                "m5.xlarge",
                "0.0401".to_string(),
                at("2026-10-31T21:00:00Z")
            ),
            (
                "r5.2xlarge",
                "0.1298".to_string(),
                at("2026-10-31T22:14:03Z")
            ),
        ]
    );
    let book = price_book_from_price_list("us-east-1", &[], &[], spot, at("2026-11-01T06:00:00Z"))
        .unwrap();
    assert_eq!(book.spot_zone.as_deref(), Some("us-east-1a"));
    assert_eq!(book.spot.len(), 2);
}

#[test]
fn when_a_spot_price_is_not_a_number_should_name_the_type_and_zone() {
    let history = [point(
        "r5.2xlarge",
        "us-east-1a",
        "Linux/UNIX",
        "n/a",
        "2026-10-31T20:02:11Z",
    )];
    assert_eq!(
        newest_spot_prices("us-east-1a", &history)
            .unwrap_err()
            .to_string(),
        "spot price history, r5.2xlarge in us-east-1a: the price is not a decimal amount of USD"
    );
}

// ------------------------------------------------------------ EMR Serverless

/// An `ElasticMapReduce` answer's EMR Serverless product: x86_64 vCPU-hours in eu-west-1. Trimmed.
const SERVERLESS_VCPU_EU: &str = r#"{
  "product": {
    "productFamily": "EMR Serverless",
    "attributes": {
      "regionCode": "eu-west-1", "servicecode": "ElasticMapReduce", "usagetype": "EU-EMR-SERVERLESS-vCPUHours",
      "locationType": "AWS Region", "location": "EU (Ireland)", "servicename": "Amazon Elastic MapReduce",
      "operation": "", "meterunit": "CPUHours"
    },
    "sku": "N8V2QYJ4KX7WRB3D"
  },
  "serviceCode": "ElasticMapReduce",
  "terms": {
    "OnDemand": {
      "N8V2QYJ4KX7WRB3D.JRTCKXETXF": {
        "priceDimensions": {
          "N8V2QYJ4KX7WRB3D.JRTCKXETXF.6YS6EN2CT7": {
            "unit": "vCPU-Hours", "endRange": "Inf", "description": "$0.052624 per vCPU-hour for EMR Serverless",
            "appliesTo": [], "rateCode": "N8V2QYJ4KX7WRB3D.JRTCKXETXF.6YS6EN2CT7", "beginRange": "0",
            "pricePerUnit": {"USD": "0.0526240000"}
          }
        },
        "sku": "N8V2QYJ4KX7WRB3D", "effectiveDate": "2026-09-01T00:00:00Z", "offerTermCode": "JRTCKXETXF",
        "termAttributes": {}
      }
    }
  },
  "version": "20261015002233",
  "publicationDate": "2026-10-15T00:22:33Z"
}"#;

/// The eu-west-1 serverless product of `usagetype` metered in `meterunit`, at `usd`.
fn serverless(sku: &str, usagetype: &str, meterunit: &str, usd: &str) -> String {
    variant(
        SERVERLESS_VCPU_EU,
        sku,
        json!({"usagetype": usagetype, "meterunit": meterunit}),
        Some(usd),
    )
}

/// What GetProducts answers for EMR Serverless in eu-west-1, with the products that share its meter units or its
/// region but price something else: EMR on EKS's vCPU and GB-hours, EMR's uplift, and another region's vCPU-hours.
fn serverless_answer() -> Vec<String> {
    vec![
        serverless(
            "EKSCPU0000000001",
            "EU-EMR-EKS-EC2-vCPUHours",
            "CPUHours",
            "0.0101200000",
        ),
        SERVERLESS_VCPU_EU.to_string(),
        serverless(
            "MEMORY0000000001",
            "EU-EMR-SERVERLESS-MemoryGBHours",
            "GBHours",
            "0.0057785000",
        ),
        serverless(
            "ARMCPU0000000001",
            "EU-EMR-SERVERLESS-ARM-vCPUHours",
            "ARMCPUHours",
            "0.0420990000",
        ),
        serverless(
            "ARMMEM0000000001",
            "EU-EMR-SERVERLESS-ARM-MemoryGBHours",
            "ARMGBHours",
            "0.0046230000",
        ),
        serverless(
            "STORAG0000000001",
            "EU-EMR-SERVERLESS-StorageGBHours",
            "StorageGBHours",
            "0.0001220000",
        ),
        serverless(
            "EKSMEM0000000001",
            "EU-EMR-EKS-EC2-GBHours",
            "GBHours",
            "0.0011100000",
        ),
        variant(
            EMR_M5_XLARGE,
            "UPLIFT0000000001",
            json!({"regionCode": "eu-west-1"}),
            None,
        ),
        variant(
            SERVERLESS_VCPU_EU,
            "USEAST0000000001",
            json!({"regionCode": "us-east-1", "usagetype": "EMR-SERVERLESS-vCPUHours"}),
            Some("0.0600000000"),
        ),
    ]
}

fn serverless_prices(
    architecture: &str,
    answer: &[String],
) -> Result<ServerlessPrices, PriceListError> {
    serverless_prices_from_price_list(
        "eu-west-1",
        architecture,
        answer,
        at("2026-11-01T06:00:00Z"),
    )
}

#[test]
fn when_reading_emr_serverless_products_should_take_the_architectures_meter_units_and_pass_over_eks(
) {
    let usd = |p: &ServerlessPrices| {
        [p.per_vcpu_hour, p.per_memory_gb_hour, p.per_storage_gb_hour].map(|u| u.to_string())
    };
    let x86 = serverless_prices("X86_64", &serverless_answer()).unwrap();
    assert_eq!(usd(&x86), ["0.052624", "0.0057785", "0.000122"]);
    assert_eq!(
        (x86.region.as_str(), x86.architecture.as_str()),
        ("eu-west-1", "X86_64")
    );
    assert_eq!(x86.prices_as_of, at("2026-11-01T06:00:00Z"));
    let arm = serverless_prices("ARM64", &serverless_answer()).unwrap();
    assert_eq!(usd(&arm), ["0.042099", "0.004623", "0.000122"]);
    // The meter units a query filters on are the ones read.
    assert_eq!(
        serverless_meter_units("ARM64").unwrap(),
        ["ARMCPUHours", "ARMGBHours", "StorageGBHours"]
    );
}

#[test]
fn when_a_serverless_price_is_missing_should_say_which_and_where() {
    let without_memory: Vec<String> = serverless_answer()
        .into_iter()
        .filter(|d| !d.contains("MEMORY0000000001"))
        .collect();
    let err = serverless_prices("X86_64", &without_memory).unwrap_err();
    assert_eq!(
        err.to_string(),
        "EMR Serverless price list: no product prices the memory GB-hours of X86_64 (meterunit GBHours) in eu-west-1"
    );
    // EMR on EKS's GB-hours are not EMR Serverless's.
    assert!(matches!(err, PriceListError::Missing { .. }));
    let err = serverless_prices("ARM64", &[]).unwrap_err();
    assert!(err.to_string().contains("vCPU-hours of ARM64"), "{err}");
    let err = serverless_prices("RISCV $(id)", &serverless_answer()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "EMR Serverless has no architecture <unnamed>: X86_64 or ARM64"
    );
}

#[test]
fn when_two_serverless_products_price_one_meter_unit_differently_should_name_both() {
    let mut answer = serverless_answer();
    answer.push(serverless(
        "STORAG0000000002",
        "EU-EMR-SERVERLESS-StorageGBHours",
        "StorageGBHours",
        "0.0002000000",
    ));
    let err = serverless_prices("X86_64", &answer).unwrap_err();
    assert_eq!(
        err.to_string(),
        "EMR Serverless price list: meter unit StorageGBHours has different prices in products STORAG0000000001, STORAG0000000002"
    );
    let mut answer = serverless_answer();
    answer[1] = variant(
        SERVERLESS_VCPU_EU,
        "N8V2QYJ4KX7WRB3D",
        json!({}),
        Some("-1"),
    );
    let err = serverless_prices("X86_64", &answer).unwrap_err();
    assert!(
        err.to_string()
            .contains("N8V2QYJ4KX7WRB3D: terms.OnDemand.*.priceDimensions.*.pricePerUnit.USD is not a decimal"),
        "{err}"
    );
}
