//! The Price List Query API's GetProducts and EC2's DescribeSpotPriceHistory over raw HTTP (their SDKs talk to them
//! in crates/lambda's adapter tests), their rate buckets and their IAM.

mod common;

use common::*;
use emr_emulator::iam::Iam;
use emr_emulator::{default_rate_limits, Faults, RateLimit, ALL_CALLS};
use serde_json::{json, Value};

fn term(field: &str, value: &str) -> Value {
    json!({"Type": "TERM_MATCH", "Field": field, "Value": value})
}

/// The filters of one Linux on-demand instance price, as a cost estimate asks.
fn linux(instance_type: &str, region: &str) -> Vec<Value> {
    vec![
        term("instanceType", instance_type),
        term("regionCode", region),
        term("operatingSystem", "Linux"),
        term("tenancy", "Shared"),
        term("preInstalledSw", "NA"),
        term("capacitystatus", "Used"),
    ]
}

/// The documents of a GetProducts answer, each parsed from the JSON string it comes as.
fn documents(answer: &Value) -> Vec<Value> {
    answer["PriceList"]
        .as_array()
        .expect("PriceList")
        .iter()
        .map(|d| serde_json::from_str(d.as_str().expect("a JSON string")).expect("a JSON document"))
        .collect()
}

/// The one price dimension of a product's On-Demand term.
fn dimension(doc: &Value) -> &Value {
    let term = doc["terms"]["OnDemand"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap();
    term["priceDimensions"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
}

fn usd(doc: &Value) -> String {
    dimension(doc)["pricePerUnit"]["USD"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn when_asked_for_one_linux_price_should_answer_one_product_document_as_a_string() {
    let (emr, _) = start(frozen()).await;
    let ask = |service: &str, filters: Vec<Value>| json!({"ServiceCode": service, "Filters": filters, "FormatVersion": "aws_v1"});
    let (status, answer) = pricing_raw(
        &emr,
        "AKID",
        &ask("AmazonEC2", linux("m5.xlarge", "us-east-1")),
    )
    .await;
    assert_eq!(status, Some(200));
    assert_eq!(answer["FormatVersion"], "aws_v1");
    assert!(answer.get("NextToken").is_none());
    let docs = documents(&answer);
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0]["serviceCode"], "AmazonEC2");
    assert_eq!(
        docs[0]["product"]["attributes"]["instanceType"],
        "m5.xlarge"
    );
    assert_eq!(
        docs[0]["product"]["attributes"]["location"],
        "US East (N. Virginia)"
    );
    assert_eq!(usd(&docs[0]), "0.1920000000");

    // Each filter left out lets a product the query did not want through.
    let mut loose = linux("m5.xlarge", "us-east-1");
    loose.pop();
    let (_, answer) = pricing_raw(&emr, "AKID", &ask("AmazonEC2", loose)).await;
    let prices: Vec<String> = documents(&answer).iter().map(usd).collect();
    assert_eq!(prices.len(), 2, "{prices:?}");

    let emr_filters = vec![
        term("instanceType", "m5.xlarge"),
        term("regionCode", "eu-west-1"),
    ];
    let (_, answer) = pricing_raw(&emr, "AKID", &ask("ElasticMapReduce", emr_filters)).await;
    let docs = documents(&answer);
    assert_eq!(docs.len(), 1);
    assert_eq!(
        docs[0]["product"]["productFamily"],
        "Elastic Map Reduce Instance"
    );
    assert_eq!(usd(&docs[0]), "0.0480000000");

    let storage = vec![
        term("productFamily", "Storage"),
        term("volumeApiName", "gp3"),
        term("regionCode", "eu-west-1"),
    ];
    let (_, answer) = pricing_raw(&emr, "AKID", &ask("AmazonEC2", storage)).await;
    let docs = documents(&answer);
    assert_eq!(docs.len(), 1);
    assert_eq!(dimension(&docs[0])["unit"], "GB-Mo");
    assert_eq!(usd(&docs[0]), "0.0880000000");

    let any_of = vec![
        json!({"Type": "ANY_OF", "Field": "instanceType", "Value": "m5.xlarge, r5.2xlarge"}),
        term("regionCode", "us-east-1"),
    ];
    let (_, answer) = pricing_raw(&emr, "AKID", &ask("ElasticMapReduce", any_of)).await;
    assert_eq!(documents(&answer).len(), 2);
}

#[tokio::test]
async fn when_more_products_match_than_max_results_should_page_with_next_token() {
    let (emr, _) = start(frozen()).await;
    let filters = vec![term("instanceType", "m5.xlarge")];
    let mut token: Option<String> = None;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let mut ask = json!({"ServiceCode": "AmazonEC2", "Filters": filters, "MaxResults": 4});
        if let Some(t) = &token {
            ask["NextToken"] = json!(t);
        }
        let (status, answer) = pricing_raw(&emr, "AKID", &ask).await;
        assert_eq!(status, Some(200), "{answer}");
        pages += 1;
        seen.extend(
            documents(&answer)
                .into_iter()
                .map(|d| d["product"]["sku"].clone()),
        );
        token = answer["NextToken"].as_str().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    // Three regions, five variants each.
    assert_eq!((seen.len(), pages), (15, 4));
    seen.sort_by_key(|s| s.to_string());
    seen.dedup();
    assert_eq!(seen.len(), 15, "each product once");

    for (ask, error) in [
        (json!({"ServiceCode": "AmazonS3"}), "NotFoundException"),
        (
            json!({"ServiceCode": "AmazonEC2", "FormatVersion": "aws_v2"}),
            "InvalidParameterException",
        ),
        (
            json!({"ServiceCode": "AmazonEC2", "MaxResults": 101}),
            "InvalidParameterException",
        ),
        (
            json!({"ServiceCode": "AmazonEC2", "NextToken": "forged"}),
            "InvalidNextTokenException",
        ),
        (
            json!({"ServiceCode": "AmazonEC2", "Filters": [{"Type": "FUZZY", "Field": "a", "Value": "b"}]}),
            "InvalidParameterException",
        ),
        (json!({}), "InvalidParameterException"),
    ] {
        let (status, answer) = pricing_raw(&emr, "AKID", &ask).await;
        assert_ne!(status, Some(200), "{ask}");
        assert_eq!(answer["__type"], error, "{ask}: {answer}");
    }
}

fn spot_form(extra: &str) -> String {
    format!("Action=DescribeSpotPriceHistory&Version=2016-11-15&ProductDescription.1=Linux%2FUNIX{extra}")
}

#[tokio::test]
async fn when_asked_for_spot_prices_should_answer_the_history_newest_first_in_xml() {
    let (emr, _) = start(frozen()).await;
    emr.advance(3600.0);
    let form = spot_form(
        "&AvailabilityZone=eu-west-1a&InstanceType.1=m5.xlarge&InstanceType.2=r5.2xlarge",
    );
    let (status, xml) = ec2_raw(&emr, "AKID", "eu-west-1", &form).await;
    assert_eq!(status, Some(200), "{xml}");
    assert!(xml.contains(
        "<DescribeSpotPriceHistoryResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
    ));
    let stamps = xml_all(&xml, "timestamp");
    // Three changes per type, newest first; the newest at the emulator's start.
    assert_eq!(stamps.len(), 6);
    assert_eq!(stamps[0], "2023-11-14T22:13:20.000Z");
    assert_eq!(stamps[2], "2023-11-14T16:13:20.000Z");
    assert_eq!(xml_all(&xml, "spotPrice")[0], "0.075500");
    assert_eq!(xml_all(&xml, "availabilityZone"), ["eu-west-1a"; 6]);
    assert!(xml_all(&xml, "nextToken").is_empty());

    // With a start time: the price in effect then, and the changes after it.
    let at = spot_form("&AvailabilityZone=eu-west-1a&InstanceType.1=m5.xlarge&StartTime=2023-11-14T20%3A00%3A00Z&EndTime=2023-11-14T20%3A00%3A00Z");
    let (_, xml) = ec2_raw(&emr, "AKID", "eu-west-1", &at).await;
    assert_eq!(xml_all(&xml, "timestamp"), ["2023-11-14T16:13:20.000Z"]);
    let after = spot_form(
        "&AvailabilityZone=eu-west-1a&InstanceType.1=m5.xlarge&StartTime=2023-11-14T20%3A00%3A00Z",
    );
    let (_, xml) = ec2_raw(&emr, "AKID", "eu-west-1", &after).await;
    assert_eq!(xml_all(&xml, "timestamp").len(), 2);

    // Paging: every type of both eu-west-1 zones, five at a time.
    let mut token = String::new();
    let mut items = 0;
    let mut pages = 0;
    loop {
        let page = spot_form(&format!("&MaxResults=5&NextToken={token}"));
        let (status, xml) = ec2_raw(&emr, "AKID", "eu-west-1", &page).await;
        assert_eq!(status, Some(200), "{xml}");
        items += xml_all(&xml, "item").len();
        pages += 1;
        match xml_all(&xml, "nextToken").pop() {
            Some(t) => token = t,
            None => break,
        }
    }
    assert_eq!((items, pages), (2 * 10 * 3, 12));

    // A type it holds no history of (on EC2, one not offered in the zone, or no spot market for it): no item for
    // it, and no error, beside a type it prices or alone.
    let mixed =
        spot_form("&AvailabilityZone=eu-west-1a&InstanceType.1=m5.xlarge&InstanceType.2=c7g.large");
    let (status, xml) = ec2_raw(&emr, "AKID", "eu-west-1", &mixed).await;
    assert_eq!(status, Some(200), "{xml}");
    assert_eq!(xml_all(&xml, "instanceType"), ["m5.xlarge"; 3]);
    let alone = spot_form("&Filter.1.Name=instance-type&Filter.1.Value.1=c7g.large");
    let (status, xml) = ec2_raw(&emr, "AKID", "eu-west-1", &alone).await;
    assert_eq!(status, Some(200), "{xml}");
    assert!(xml_all(&xml, "item").is_empty(), "{xml}");

    for (form, code) in [
        (
            spot_form("&AvailabilityZone=us-east-1a"),
            "InvalidParameterValue",
        ),
        (spot_form("&InstanceType.1=big"), "InvalidParameterValue"),
        (spot_form("&MaxResults=2"), "InvalidParameterValue"),
        (spot_form("&StartTime=yesterday"), "InvalidParameterValue"),
        (
            spot_form("&Filter.1.Name=spot-price&Filter.1.Value.1=1"),
            "InvalidParameterValue",
        ),
        (
            "Action=RunInstances&Version=2016-11-15".to_string(),
            "InvalidAction",
        ),
    ] {
        let (status, xml) = ec2_raw(&emr, "AKID", "eu-west-1", &form).await;
        assert_eq!(status, Some(400), "{form}: {xml}");
        assert_eq!(xml_all(&xml, "Code"), [code], "{form}: {xml}");
    }
}

#[tokio::test]
async fn when_rate_limits_are_on_should_throttle_prices_in_their_own_buckets_and_words() {
    let (emr, client) = start(frozen()).await;
    // The default bursts, refilled never (so that no test depends on how fast it runs); EMR's all-calls bucket of 1.
    let mut faults = Faults::none().with_rate_limits();
    for (op, limit) in default_rate_limits() {
        let burst = if op == ALL_CALLS { 1.0 } else { limit.burst };
        let frozen = RateLimit {
            burst,
            per_second: 0.0,
        };
        faults.rate_limit_overrides.insert(op, frozen);
    }
    emr.set_faults(faults).unwrap();
    client.list_clusters().send().await.unwrap();
    assert!(
        client.list_clusters().send().await.is_err(),
        "EMR's all-calls bucket is empty"
    );
    let ask = json!({"ServiceCode": "ElasticMapReduce", "MaxResults": 1});
    for _ in 0..10 {
        assert_eq!(
            pricing_raw(&emr, "AKID", &ask).await.0,
            Some(200),
            "not in EMR's bucket"
        );
    }
    let (status, answer) = pricing_raw(&emr, "AKID", &ask).await;
    assert_eq!(
        (status, answer["__type"].as_str()),
        (Some(400), Some("ThrottlingException"))
    );
    for _ in 0..100 {
        assert_eq!(
            ec2_raw(&emr, "AKID", "eu-west-1", &spot_form("&MaxResults=5"))
                .await
                .0,
            Some(200)
        );
    }
    let (status, xml) = ec2_raw(&emr, "AKID", "eu-west-1", &spot_form("")).await;
    assert_eq!(status, Some(503));
    assert_eq!(xml_all(&xml, "Code"), ["RequestLimitExceeded"]);
    assert_eq!(emr.calls().get("GetProducts").throttled, 1);
    assert_eq!(emr.calls().get("DescribeSpotPriceHistory").throttled, 1);
}

#[tokio::test]
async fn when_a_role_lacks_the_price_permissions_should_deny_them_as_each_service_does() {
    let allow = |actions: Value| {
        vec![
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}),
        ]
    };
    let iam = Iam::new()
        .principal(
            "AKIDPRICER",
            "pricer",
            allow(json!([
                "pricing:GetProducts",
                "ec2:DescribeSpotPriceHistory"
            ])),
        )
        .unwrap()
        .principal("AKIDOTHER", "other", allow(json!("elasticmapreduce:*")))
        .unwrap();
    let (emr, _) = start(frozen().iam(iam)).await;
    let ask = json!({"ServiceCode": "AmazonEC2", "MaxResults": 1});
    assert_eq!(pricing_raw(&emr, "AKIDPRICER", &ask).await.0, Some(200));
    assert_eq!(
        ec2_raw(&emr, "AKIDPRICER", "eu-west-1", &spot_form(""))
            .await
            .0,
        Some(200)
    );

    let (status, answer) = pricing_raw(&emr, "AKIDOTHER", &ask).await;
    assert_eq!(
        (status, answer["__type"].as_str()),
        (Some(400), Some("AccessDeniedException"))
    );
    let message = answer["message"].as_str().unwrap();
    assert!(message.contains("assumed-role/other/AKIDOTHER is not authorized to perform: pricing:GetProducts on resource: *"), "{message}");
    let (status, xml) = ec2_raw(&emr, "AKIDOTHER", "eu-west-1", &spot_form("")).await;
    assert_eq!(status, Some(403));
    assert_eq!(xml_all(&xml, "Code"), ["UnauthorizedOperation"]);
    assert!(
        xml_all(&xml, "Message")[0].contains("ec2:DescribeSpotPriceHistory"),
        "{xml}"
    );
    let (status, xml) = ec2_raw(&emr, "AKIDNOBODY", "eu-west-1", &spot_form("")).await;
    assert_eq!(
        (status, xml_all(&xml, "Code")),
        (Some(401), vec!["AuthFailure".to_string()])
    );
    assert_eq!(emr.calls().get("DescribeSpotPriceHistory").denied, 2);
    assert_eq!(emr.calls().get("GetProducts").denied, 1);
}
