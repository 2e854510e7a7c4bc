//! How often EMR throttled a function: an SDK interceptor on every EMR (and EMR Serverless) client counts each
//! attempt EMR answered with throttling (`ThrottlingException`, "Rate exceeded"), the ones the SDK retried
//! included, which a function's result alone never shows (a retried throttle ends in success). The function's
//! process writes the count after each invocation as the `EmrThrottled` metric (`crate::runtime::serve`,
//! `crate::metrics::emr_throttled`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use aws_sdk_emr::config::interceptors::FinalizerInterceptorContextRef;
use aws_sdk_emr::config::{ConfigBag, Intercept, RuntimeComponents};

use crate::error::Error;

/// The throttled attempts of every EMR client made with it (one per process: all regions' clients share it).
#[derive(Debug, Clone, Default)]
pub struct ThrottleCounter(Arc<AtomicU64>);

impl ThrottleCounter {
    /// The attempts counted since the last take, and a fresh start.
    pub fn take(&self) -> u64 {
        self.0.swap(0, Ordering::Relaxed)
    }
}

impl Intercept for ThrottleCounter {
    fn name(&self) -> &'static str {
        "ThrottleCounter"
    }

    /// After every attempt, retried or not: an answer that names throttling is counted. An attempt without an answer
    /// (a connection failure, a timeout) is not a throttle.
    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if let Some(response) = context.response() {
            let status = response.status().as_u16();
            let code = error_code(
                status,
                response.headers().get("x-amzn-errortype"),
                response.body().bytes(),
            );
            if throttled(status, code.as_deref()) {
                self.0.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(())
    }
}

/// The error code of an answer in EMR's protocol (JSON 1.1) or EMR Serverless's (REST-JSON): the
/// `x-amzn-errortype` header, else the body's `__type` (or `code`), without a namespace
/// (`com.amazonaws.elasticmapreduce#`) or a trailing `:…` (as the SDK reads it). `None` for a success or an answer
/// without a code.
fn error_code(status: u16, header: Option<&str>, body: Option<&[u8]>) -> Option<String> {
    if status < 400 {
        return None;
    }
    let raw = match header {
        Some(h) => h.to_string(),
        None => {
            let json: serde_json::Value = serde_json::from_slice(body?).ok()?;
            json.get("__type")
                .or_else(|| json.get("code"))?
                .as_str()?
                .to_string()
        }
    };
    let code = raw.rsplit('#').next().unwrap_or_default();
    let code = code.split(':').next().unwrap_or_default().trim();
    (!code.is_empty()).then(|| code.to_string())
}

/// Whether an answer is a throttle: what the functions name `EmrThrottled` when it ends a call (one rule,
/// [`Error::of_service_answer`]).
fn throttled(status: u16, code: Option<&str>) -> bool {
    status >= 400
        && matches!(
            Error::of_service_answer(code, status, String::new()),
            Error::EmrThrottled(_)
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_a_throttle_by_its_code_or_a_429() {
        let body = br#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;
        let code = error_code(400, None, Some(body));
        assert_eq!(code.as_deref(), Some("ThrottlingException"));
        assert!(throttled(400, code.as_deref()));
        let namespaced = error_code(
            400,
            None,
            Some(br#"{"__type":"com.amazonaws.elasticmapreduce#ThrottlingException"}"#),
        );
        assert_eq!(namespaced.as_deref(), Some("ThrottlingException"));
        let header = error_code(
            400,
            Some("ThrottlingException:http://internal.amazon.com/coral/"),
            Some(b"{}"),
        );
        assert_eq!(header.as_deref(), Some("ThrottlingException"));
        assert!(throttled(429, None));
        let rejected = error_code(400, None, Some(br#"{"__type":"ValidationException"}"#));
        assert!(!throttled(400, rejected.as_deref()));
        assert!(!throttled(500, Some("InternalServerError")));
        assert!(!throttled(
            502,
            error_code(502, None, Some(b"<html>")).as_deref()
        ));
        assert_eq!(error_code(200, None, Some(body)), None, "a success");
    }

    #[test]
    fn a_take_starts_the_count_over() {
        let counter = ThrottleCounter::default();
        let clone = counter.clone();
        clone.0.fetch_add(2, Ordering::Relaxed);
        assert_eq!(counter.take(), 2, "the clients' clones share the count");
        assert_eq!(counter.take(), 0);
    }
}
