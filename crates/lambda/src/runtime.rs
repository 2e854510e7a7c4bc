//! The process around a handler: AWS clients built once, per-region EMR clients, JSON logs, the template
//! environment a Lambda offers, and decoding/encoding of events.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use dfr_locks::LockTable;

use crate::emr::SdkEmr;
use crate::error::Error;
use crate::source::{S3Scope, SdkS3};
use crate::wait::{SdkCallbacks, WaitTable};

/// SDK configuration loaded once per process; EMR clients are made once per region on first use.
pub struct Aws {
    base: SdkConfig,
    emr: Mutex<HashMap<String, SdkEmr>>,
    /// Made on first use, so the functions that never read S3 do not carry its client.
    s3: OnceLock<SdkS3>,
    locks: OnceLock<Result<LockTable, Error>>,
    waits: OnceLock<Result<WaitTable, Error>>,
    callbacks: OnceLock<SdkCallbacks>,
}

impl Aws {
    pub async fn load() -> Self {
        let base = aws_config::defaults(BehaviorVersion::latest()).load().await;
        Self::from_config(base)
    }

    pub fn from_config(base: SdkConfig) -> Self {
        Self {
            base,
            emr: Mutex::new(HashMap::new()),
            s3: OnceLock::new(),
            locks: OnceLock::new(),
            waits: OnceLock::new(),
            callbacks: OnceLock::new(),
        }
    }

    /// The EMR port for a region (the ambient region when `None`).
    pub fn emr(&self, region: Option<&str>) -> SdkEmr {
        let key = region.unwrap_or("").to_string();
        let mut clients = self.emr.lock().expect("client cache lock");
        clients
            .entry(key)
            .or_insert_with(|| {
                let mut conf = aws_sdk_emr::config::Builder::from(&self.base);
                if let Some(r) = region {
                    conf = conf.region(Region::new(r.to_string()));
                }
                SdkEmr::new(aws_sdk_emr::Client::from_conf(conf.build()))
            })
            .clone()
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
                table_name("DFR_WAIT_TABLE", "check-status and event-router")
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

/// JSON log lines, as CloudWatch Logs and Lambda's JSON log format expect.
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_current_span(false)
        .without_time()
        .init();
}

/// Runs a function: tracing, then `handler` for every event, its errors and panics reported under their documented
/// names. This is all a function's `main` does besides building its clients.
pub async fn serve<F, Fut>(handler: F) -> Result<(), lambda_runtime::Error>
where
    F: Fn(Value) -> Fut,
    Fut: std::future::Future<Output = Result<Value, Error>>,
{
    init_tracing();
    lambda_runtime::run(lambda_runtime::service_fn(
        // Boxed: the handler's future nested in the runtime's is too deep a type for the compiler otherwise.
        |event: lambda_runtime::LambdaEvent<Value>| guarded(Box::pin(handler(event.payload))),
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

/// A jitter value in [-1, 1] from the clock's nanoseconds: enough to spread pollers, no RNG dependency.
pub fn jitter() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    (nanos % 2001) as f64 / 1000.0 - 1.0
}

#[cfg(test)]
mod tests {
    use super::*;

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
