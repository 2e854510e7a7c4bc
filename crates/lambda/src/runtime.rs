//! The process around a handler: AWS clients built once, per-region EMR clients, JSON logs, the template
//! environment a Lambda offers, and decoding/encoding of events.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use aws_credential_types::provider::{error::CredentialsError, future, ProvideCredentials};
use aws_credential_types::Credentials;
use aws_sdk_emr::config::BehaviorVersion;
use aws_types::region::Region;
use aws_types::sdk_config::{SdkConfig, SharedCredentialsProvider};
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use dfr_locks::LockTable;

use crate::aws::{
    SdkCallbacks, SdkEmr, SdkEmrServerless, SdkExecutions, SdkPrices, SdkS3, SdkSpotPrices,
    SdkTagging, ThrottleCounter, WaitTable,
};
use crate::error::Error;
use crate::prices::{FunctionPrices, ListPrices};
use crate::source::S3Scope;

/// SDK configuration loaded once per process; EMR clients are made once per region on first use. Every client is
/// made here, from `base`, so all of them share its HTTP client, credentials, endpoints and retries.
pub struct Aws {
    base: SdkConfig,
    emr: Mutex<HashMap<String, SdkEmr>>,
    emr_serverless: Mutex<HashMap<String, SdkEmrServerless>>,
    /// The attempts EMR (or EMR Serverless) answered with throttling, over every region's client
    /// ([`Aws::take_emr_throttled`]).
    emr_throttled: ThrottleCounter,
    /// Made on first use, so the functions that never read S3 do not carry its client.
    s3: OnceLock<SdkS3>,
    locks: OnceLock<Result<LockTable, Error>>,
    waits: OnceLock<Result<WaitTable, Error>>,
    callbacks: OnceLock<SdkCallbacks>,
    prices: OnceLock<SdkPrices>,
}

impl Aws {
    /// The configuration a Lambda gives its process (see [`lambda_sdk_config`]).
    pub async fn load() -> Self {
        Self::from_config(lambda_sdk_config(&|name| std::env::var(name).ok()))
    }

    pub fn from_config(base: SdkConfig) -> Self {
        Self {
            base,
            emr: Mutex::new(HashMap::new()),
            emr_serverless: Mutex::new(HashMap::new()),
            emr_throttled: ThrottleCounter::default(),
            s3: OnceLock::new(),
            locks: OnceLock::new(),
            waits: OnceLock::new(),
            callbacks: OnceLock::new(),
            prices: OnceLock::new(),
        }
    }

    /// The EMR port for a region (the ambient region when `None`).
    pub fn emr(&self, region: Option<&str>) -> SdkEmr {
        per_region(&self.emr, region, || {
            let mut conf = aws_sdk_emr::config::Builder::from(&self.base)
                .interceptor(self.emr_throttled.clone());
            if let Some(r) = region {
                conf = conf.region(Region::new(r.to_string()));
            }
            SdkEmr::new(aws_sdk_emr::Client::from_conf(conf.build()))
        })
    }

    /// The EMR Serverless port for a region (the ambient region when `None`), made like EMR's: the same retries,
    /// and its throttled attempts counted with EMR's (`EmrThrottled`). `AWS_ENDPOINT_URL_EMR_SERVERLESS` points it
    /// elsewhere.
    pub fn emr_serverless(&self, region: Option<&str>) -> SdkEmrServerless {
        per_region(&self.emr_serverless, region, || {
            let mut conf = aws_sdk_emrserverless::config::Builder::from(&self.base)
                .interceptor(self.emr_throttled.clone());
            if let Some(r) = region {
                conf = conf.region(Region::new(r.to_string()));
            }
            SdkEmrServerless::new(aws_sdk_emrserverless::Client::from_conf(conf.build()))
        })
    }

    /// The attempts of this process's EMR calls that EMR answered with throttling since the last take (retried
    /// ones included), and a fresh count.
    pub fn take_emr_throttled(&self) -> u64 {
        self.emr_throttled.take()
    }

    pub fn s3(&self) -> &SdkS3 {
        self.s3.get_or_init(|| {
            let conf = aws_sdk_s3::config::Builder::from(&self.base)
                .force_path_style(true)
                .build();
            SdkS3 {
                client: aws_sdk_s3::Client::from_conf(conf),
                scope: S3Scope::from_process_env(),
            }
        })
    }
}

impl Aws {
    /// The stack's wait table (`DFR_WAIT_TABLE`, which the template sets to its `WaitTable`).
    pub fn waits(&self) -> Result<&WaitTable, Error> {
        self.waits
            .get_or_init(|| {
                table_name(
                    "DFR_WAIT_TABLE",
                    "check-status, event-router, terminate-cluster and the reconciler",
                )
                .map(|t| WaitTable::new(aws_sdk_dynamodb::Client::new(&self.base), t))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Step Functions' callback API (SendTaskSuccess), for answering the tokens of waiting runs.
    pub fn callbacks(&self) -> &SdkCallbacks {
        self.callbacks.get_or_init(|| SdkCallbacks {
            client: aws_sdk_sfn::Client::new(&self.base),
        })
    }

    /// What answering waits needs (check-status's registration, event-router, the reconciler): the wait table,
    /// Step Functions' callbacks, `prices`, the time now and a fresh jitter.
    pub fn answering<'a, P>(
        &'a self,
        prices: &'a P,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<crate::wait::Answering<'a, WaitTable, SdkCallbacks, P>, Error> {
        Ok(crate::wait::Answering {
            waits: self.waits()?,
            callbacks: self.callbacks(),
            prices,
            now,
            jitter: jitter(),
        })
    }

    /// Step Functions' DescribeExecution, for the reconciler.
    pub fn executions(&self) -> SdkExecutions {
        SdkExecutions {
            client: aws_sdk_sfn::Client::new(&self.base),
        }
    }

    /// The tagging API of a region, for the reconciler's discovery of this stack's clusters.
    pub fn tagging(&self, region: &str) -> SdkTagging {
        let conf = aws_sdk_resourcegroupstagging::config::Builder::from(&self.base)
            .region(Region::new(region.to_string()))
            .build();
        SdkTagging {
            client: aws_sdk_resourcegroupstagging::Client::from_conf(conf),
        }
    }

    /// The AWS Price List, whatever the region priced: its endpoint is in us-east-1 (`AWS_ENDPOINT_URL_PRICING`
    /// points it elsewhere).
    pub fn prices(&self) -> &SdkPrices {
        self.prices.get_or_init(|| SdkPrices::new(&self.base))
    }

    /// The prices a run's cost is read with: the Price List, and EC2's spot prices of the run's region.
    pub fn list_prices(
        &self,
    ) -> FunctionPrices<'_, SdkPrices, impl Fn(&str) -> SdkSpotPrices + '_> {
        FunctionPrices {
            home_region: self
                .base
                .region()
                .map(|r| r.to_string())
                .unwrap_or_default(),
            list: ListPrices {
                prices: self.prices(),
                spot: move |region: &str| self.spot_prices(region),
            },
        }
    }

    /// EC2's spot prices in a region (the cluster's).
    pub fn spot_prices(&self, region: &str) -> SdkSpotPrices {
        SdkSpotPrices::new(&self.base, region)
    }

    /// The stack's lock table (`DFR_LOCK_TABLE`, which the template sets to its `LockTable`).
    pub fn locks(&self) -> Result<&LockTable, Error> {
        self.locks
            .get_or_init(|| {
                table_name("DFR_LOCK_TABLE", "the lock function")
                    .map(|t| LockTable::new(aws_sdk_dynamodb::Client::new(&self.base), t))
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// The client of `region` (the ambient region: `None`, kept under `""`), made by `make` on first use.
fn per_region<T: Clone>(
    clients: &Mutex<HashMap<String, T>>,
    region: Option<&str>,
    make: impl FnOnce() -> T,
) -> T {
    let mut clients = clients.lock().expect("client cache lock");
    clients
        .entry(region.unwrap_or("").to_string())
        .or_insert_with(make)
        .clone()
}

/// A table's name from the environment the stack gives `whom`.
fn table_name(variable: &str, whom: &str) -> Result<String, Error> {
    std::env::var(variable)
        .ok()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            Error::Internal(format!(
                "{variable} is not set: the stack gives {whom} its table's name"
            ))
        })
}

/// The SDK configuration of a Lambda, from what Lambda puts in its environment, without aws-config's provider
/// chains (profiles, SSO, STS, IMDS: a Lambda uses none of them; leaving them out saves about 0.4 MiB a function):
/// - credentials: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` (the function's role), read at
///   each signing so a missing one is the call's error, not a crash at start;
/// - region: `AWS_REGION` (else `AWS_DEFAULT_REGION`);
/// - endpoints: `AWS_ENDPOINT_URL_<SERVICE>` (`AWS_ENDPOINT_URL_EMR`, `…_EMR_SERVERLESS`, `…_S3`, `…_DYNAMODB`, `…_SFN`,
///   `…_RESOURCE_GROUPS_TAGGING_API`, `…_PRICING`, `…_EC2`), else
///   `AWS_ENDPOINT_URL`, as the SDK's own environment loader names them;
/// - retries: standard mode, `AWS_MAX_ATTEMPTS` attempts (default 3);
/// - HTTPS: rustls on ring, the process's only TLS and crypto stack.
pub fn lambda_sdk_config(env: &dyn Fn(&str) -> Option<String>) -> SdkConfig {
    let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let attempts = var("AWS_MAX_ATTEMPTS")
        .and_then(|v| v.trim().parse::<u32>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(3);
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(
            var("AWS_REGION")
                .or_else(|| var("AWS_DEFAULT_REGION"))
                .map(|r| Region::new(r.trim().to_string())),
        )
        .credentials_provider(SharedCredentialsProvider::new(EnvCredentials))
        .http_client(http)
        .sleep_impl(aws_smithy_async::rt::sleep::default_async_sleep().expect("tokio sleep"))
        .time_source(aws_smithy_async::time::SystemTimeSource::new())
        .retry_config(aws_smithy_types::retry::RetryConfig::standard().with_max_attempts(attempts))
        .timeout_config(
            aws_smithy_types::timeout::TimeoutConfig::builder()
                .connect_timeout(std::time::Duration::from_millis(3100))
                .build(),
        )
        .service_config(EnvEndpoints {
            endpoints: ENDPOINT_SERVICES
                .iter()
                .filter_map(|service| var(&endpoint_variable(service)).map(|url| (*service, url)))
                .collect(),
            global: var("AWS_ENDPOINT_URL"),
        })
        .build()
}

/// The services whose endpoint a Lambda may be pointed elsewhere for (the SDK's service ids).
const ENDPOINT_SERVICES: &[&str] = &[
    "EMR",
    "EMR Serverless",
    "S3",
    "DynamoDB",
    "SFN",
    "Resource Groups Tagging API",
    "Pricing",
    "EC2",
];

/// `AWS_ENDPOINT_URL_DYNAMODB` for `DynamoDB`: the SDK's rule (upper case, spaces as `_`).
fn endpoint_variable(service_id: &str) -> String {
    format!(
        "AWS_ENDPOINT_URL_{}",
        service_id.to_uppercase().replace(' ', "_")
    )
}

/// Endpoint overrides read once from the environment, answered to each SDK client as it is built.
#[derive(Debug)]
struct EnvEndpoints {
    endpoints: Vec<(&'static str, String)>,
    global: Option<String>,
}

impl LoadServiceConfig for EnvEndpoints {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        if key.env() != "AWS_ENDPOINT_URL" {
            return None;
        }
        self.endpoints
            .iter()
            .find(|(service, _)| service.eq_ignore_ascii_case(key.service_id()))
            .map(|(_, url)| url.clone())
            .or_else(|| self.global.clone())
    }
}

/// The function's role credentials, as Lambda sets them in its environment.
#[derive(Debug)]
struct EnvCredentials;

impl ProvideCredentials for EnvCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        future::ProvideCredentials::ready(
            match (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
                (Some(id), Some(secret)) => Ok(Credentials::new(
                    id.trim(),
                    secret.trim(),
                    var("AWS_SESSION_TOKEN").map(|t| t.trim().to_string()),
                    None,
                    "Environment",
                )),
                _ => Err(CredentialsError::not_loaded(
                    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (Lambda sets them from the function's role)",
                )),
            },
        )
    }
}

/// JSON log lines, as CloudWatch Logs and Lambda's JSON log format expect.
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .json()
        .with_max_level(log_level(std::env::var("RUST_LOG").ok().as_deref()))
        .with_current_span(false)
        .without_time()
        .init();
}

/// The level `RUST_LOG` names (`error`, `warn`, `info`, `debug`, `trace`, `off`); `info` otherwise. A plain level
/// is all the stack sets (`FunctionLogLevel`); per-module directives are not read (they need a regex engine).
pub fn log_level(rust_log: Option<&str>) -> tracing_subscriber::filter::LevelFilter {
    rust_log
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(tracing_subscriber::filter::LevelFilter::INFO)
}

/// Runs a function: tracing, then `handler` for every event, its errors and panics reported under their documented
/// names, and after each invocation the `EmrThrottled` metric when EMR throttled any of its calls (`aws`'s EMR
/// clients count them). This is all a function's `main` does besides building its clients.
pub async fn serve<F, Fut>(aws: &Aws, handler: F) -> Result<(), lambda_runtime::Error>
where
    F: Fn(Value) -> Fut,
    Fut: std::future::Future<Output = Result<Value, Error>>,
{
    init_tracing();
    let stack = crate::metrics::stack_from_process_env();
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default();
    let (stack, function, handler) = (&stack, &function, &handler);
    lambda_runtime::run(lambda_runtime::service_fn(
        |event: lambda_runtime::LambdaEvent<Value>| async move {
            // Boxed: the handler's future nested in the runtime's is too deep a type for the compiler otherwise.
            let result = guarded(Box::pin(handler(event.payload))).await;
            let throttled = aws.take_emr_throttled();
            if throttled > 0 {
                let line =
                    crate::metrics::emr_throttled(stack, function, throttled, chrono::Utc::now());
                println!("{line}");
            }
            result
        },
    ))
    .await
}

/// `work`'s result, or `Internal` with the panic's message if it panicked: lambda_runtime would otherwise report
/// a Rust type name, which no Retry or Catch can match.
pub async fn guarded(
    work: impl std::future::Future<Output = Result<Value, Error>>,
) -> Result<Value, Error> {
    use futures_util::FutureExt;
    match std::panic::AssertUnwindSafe(work).catch_unwind().await {
        Ok(result) => result,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into());
            tracing::error!(%message, "the function panicked");
            Err(Error::Internal(format!("the function panicked: {message}")))
        }
    }
}

/// Decodes an event, turning any mismatch into `InvalidConfig` that names the field (`$.run.key`) before anything
/// is spent.
pub fn decode<T: DeserializeOwned>(function: &str, event: Value) -> Result<T, Error> {
    serde_path_to_error::deserialize(event).map_err(|e| {
        let at = json_path(e.path());
        let at = if at == "$" {
            String::new()
        } else {
            format!("{at}: ")
        };
        Error::InvalidConfig(format!(
            "{function}: malformed event: {at}{}",
            e.into_inner()
        ))
    })
}

/// `$.files["/etc/x.json"]`, `$.stepIds[3]`: the JSON path of a field of an event.
fn json_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::from("$");
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key }
                if !key.is_empty()
                    && key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') =>
            {
                out.push('.');
                out.push_str(key);
            }
            Segment::Map { key } | Segment::Enum { variant: key } => {
                out.push_str(&format!("[{}]", Value::String(key.clone())));
            }
            Segment::Unknown => out.push_str(".?"),
        }
    }
    out
}

pub fn encode<T: Serialize>(output: &T) -> Result<Value, Error> {
    serde_json::to_value(output).map_err(|e| Error::Internal(e.to_string()))
}

/// A jitter value in [-1, 1], uniform: enough to spread pollers, no RNG dependency. The standard library's
/// `RandomState` is seeded from the operating system's randomness (and each one differs), so its hash of nothing is a
/// fresh random number. (The clock's nanoseconds are not: a clock with whole seconds, as some hosts and a faked clock
/// give, made every delay the shortest.)
pub fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    (random % 2001) as f64 / 1000.0 - 1.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_spreads_over_its_whole_range() {
        let draws: Vec<f64> = (0..2000).map(|_| jitter()).collect();
        assert!(draws.iter().all(|j| (-1.0..=1.0).contains(j)));
        // Every tenth of the range is drawn (a degenerate source, such as a clock without nanoseconds, fails this).
        for tenth in 0..20 {
            let low = -1.0 + f64::from(tenth) * 0.1;
            assert!(
                draws.iter().any(|j| (low..low + 0.1).contains(j)),
                "nothing in [{low}, {})",
                low + 0.1
            );
        }
    }

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    fn endpoint_of(config: &SdkConfig, service_id: &str) -> Option<String> {
        let key = ServiceConfigKey::builder()
            .service_id(service_id)
            .env("AWS_ENDPOINT_URL")
            .profile("endpoint_url")
            .build()
            .unwrap();
        config.service_config().unwrap().load_config(key)
    }

    #[test]
    fn the_lambda_environment_configures_region_endpoints_and_retries() {
        let config = lambda_sdk_config(&env_of(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ENDPOINT_URL_EMR", "http://127.0.0.1:1"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:2"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:3"),
            ("AWS_MAX_ATTEMPTS", "1"),
        ]));
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(
            endpoint_of(&config, "EMR").as_deref(),
            Some("http://127.0.0.1:1")
        );
        assert_eq!(
            endpoint_of(&config, "DynamoDB").as_deref(),
            Some("http://127.0.0.1:2")
        );
        assert_eq!(
            endpoint_of(&config, "SFN").as_deref(),
            Some("http://127.0.0.1:3")
        );
        assert_eq!(config.retry_config().unwrap().max_attempts(), 1);
        // the per-service variables the SDK's own loader reads
        assert_eq!(endpoint_variable("DynamoDB"), "AWS_ENDPOINT_URL_DYNAMODB");
        assert_eq!(endpoint_variable("SFN"), "AWS_ENDPOINT_URL_SFN");
        assert_eq!(
            endpoint_variable("EMR Serverless"),
            "AWS_ENDPOINT_URL_EMR_SERVERLESS"
        );
        // the price adapters' services (the SDKs' ids "Pricing" and "EC2")
        let config = lambda_sdk_config(&env_of(&[
            ("AWS_ENDPOINT_URL_EMR_SERVERLESS", "http://127.0.0.1:6"),
            ("AWS_ENDPOINT_URL_PRICING", "http://127.0.0.1:4"),
            ("AWS_ENDPOINT_URL_EC2", "http://127.0.0.1:5"),
        ]));
        assert_eq!(
            endpoint_of(&config, "Pricing").as_deref(),
            Some("http://127.0.0.1:4")
        );
        assert_eq!(
            endpoint_of(&config, "EC2").as_deref(),
            Some("http://127.0.0.1:5")
        );
        assert_eq!(
            endpoint_of(&config, "EMR Serverless").as_deref(),
            Some("http://127.0.0.1:6")
        );
        assert_eq!(
            endpoint_of(&config, "EMR"),
            None,
            "EMR's own is not EMR Serverless's"
        );
    }

    #[test]
    fn without_overrides_the_sdk_resolves_endpoints_and_retries_three_times() {
        let config = lambda_sdk_config(&env_of(&[("AWS_DEFAULT_REGION", "us-east-1")]));
        assert_eq!(config.region().map(|r| r.as_ref()), Some("us-east-1"));
        assert_eq!(endpoint_of(&config, "EMR"), None);
        assert_eq!(config.retry_config().unwrap().max_attempts(), 3);
    }

    #[test]
    fn rust_log_is_a_plain_level() {
        use tracing_subscriber::filter::LevelFilter;
        assert_eq!(log_level(Some("warn")), LevelFilter::WARN);
        assert_eq!(log_level(Some(" DEBUG ")), LevelFilter::DEBUG);
        assert_eq!(log_level(Some("off")), LevelFilter::OFF);
        assert_eq!(log_level(None), LevelFilter::INFO);
        assert_eq!(log_level(Some("info,aws_smithy=debug")), LevelFilter::INFO);
    }

    #[tokio::test]
    async fn a_panic_becomes_internal_with_its_message() {
        let err = guarded(async { panic!("index out of bounds: the len is 0") })
            .await
            .unwrap_err();
        assert_eq!(err.name(), "Internal");
        assert!(err.to_string().contains("index out of bounds"), "{err}");
        let formatted = guarded(async { panic!("{} steps", 3) }).await.unwrap_err();
        assert!(formatted.to_string().contains("3 steps"), "{formatted}");
        assert_eq!(guarded(async { Ok(Value::Null) }).await, Ok(Value::Null));
    }
}
