//! `plan --estimate` and `validate --estimate`: what the cluster a config launches costs per hour, from AWS's prices
//! read now, through `dfr_prices` as the Lambdas read them (the Price List's GetProducts in us-east-1, EC2's
//! DescribeSpotPriceHistory in the cluster's region). Advisory: when prices cannot be read, the reason is the
//! estimate, and the command's exit code stays its own.

use chrono::Utc;
use dfr_core::cost::{hourly_estimate, HourlyEstimate, PriceNeeds};
use dfr_core::plan::RunJobFlowRequest;
use dfr_prices::aws::{SdkPrices, SdkSpotPrices};
use dfr_prices::ListPrices;

/// The price per hour of the cluster `request` launches in `region` (the config's; else the AWS configuration's),
/// or why it could not be read, in one line.
pub async fn hourly(
    request: &RunJobFlowRequest,
    region: Option<&str>,
) -> Result<HourlyEstimate, String> {
    read(request, region).await.map_err(|why| one_line(&why))
}

async fn read(request: &RunJobFlowRequest, region: Option<&str>) -> Result<HourlyEstimate, String> {
    let config = crate::aws::signed_in_config().await?;
    let region = match region {
        Some(r) => r.to_string(),
        None => config.region().map(|r| r.to_string()).ok_or(
            "no region: the ClusterConfig names none, and neither AWS_REGION nor the profile gives one",
        )?,
    };
    let prices = SdkPrices::new(&config);
    let list = ListPrices {
        prices: &prices,
        spot: |r: &str| SdkSpotPrices::new(&config, r),
    };
    let needs = PriceNeeds::of_request(request);
    let books = list
        .zone_books(&region, &needs, PriceNeeds::zone_of(request), Utc::now())
        .await
        .map_err(|e| e.to_string())?;
    hourly_estimate(request, &books).ok_or_else(|| "no price book".to_string())
}

/// A reason on one line: the credential chain, for one, lists what it tried a line each.
fn one_line(text: &str) -> String {
    let mut out = String::new();
    for part in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !out.is_empty() {
            out.push_str(if out.ends_with(':') { " " } else { "; " });
        }
        out.push_str(part);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_reason_over_several_lines_is_said_in_one() {
        let chain = "no AWS credentials: no credentials found in chain. Attempted:\n  Environment: not set\n  \
                     Profile: not enabled. The CLI signs in as the AWS CLI does";
        assert_eq!(
            super::one_line(chain),
            "no AWS credentials: no credentials found in chain. Attempted: Environment: not set; Profile: not \
             enabled. The CLI signs in as the AWS CLI does"
        );
    }
}
