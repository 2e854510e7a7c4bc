//! Admin API (plain JSON) under `/_emulator/`. Admin requests are never counted as EMR calls.

use std::collections::BTreeMap;
use std::sync::Arc;

use hyper::Method;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::faults::{FaultState, Faults};
use crate::iam::{Iam, StackContext};
use crate::scenario::{DurationOverrides, Scenario, ScenarioRuntime};
use crate::state::{lock, Shared, State};
use crate::view;

pub const PREFIX: &str = "/_emulator";

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ConfigPatch {
    time_scale: Option<f64>,
    defaults: Option<DurationOverrides>,
}

/// `POST /_emulator/clock`: one of a relative jump or a jump to an exact virtual time (`advanceTo`,
/// e.g. the `at` of `/next-change`, which `advanceSeconds` could miss by a rounding error).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClockPatch {
    advance_seconds: Option<f64>,
    advance_to: Option<f64>,
}

/// `PUT /_emulator/iam`: principals given by policy documents, or by logical id in `template`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct IamBody {
    template: Option<String>,
    #[serde(default)]
    stack: StackBody,
    /// Access key id → a logical id of `template`, or `{"name", "policies"}`.
    principals: BTreeMap<String, Value>,
}

/// A request of another service to authorize against the principals in force.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AuthorizeBody {
    access_key_id: Option<String>,
    region: Option<String>,
    action: String,
    resource: String,
}

/// `POST /_emulator/template/resource`: a resource of a template, resolved.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ResourceBody {
    template: String,
    #[serde(default)]
    stack: StackBody,
    logical_id: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StackBody {
    stack_name: Option<String>,
    account_id: Option<String>,
    region: Option<String>,
    #[serde(default)]
    parameters: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExplicitPrincipal {
    name: String,
    policies: Vec<Value>,
}

impl StackBody {
    fn context(self) -> StackContext {
        let d = StackContext::default();
        StackContext {
            stack_name: self.stack_name.unwrap_or(d.stack_name),
            account_id: self.account_id.unwrap_or(d.account_id),
            region: self.region.unwrap_or(d.region),
            parameters: self.parameters,
        }
    }
}

impl IamBody {
    fn build(self) -> Result<Iam, String> {
        let ctx = self.stack.context();
        let mut iam = Iam::new();
        for (key, principal) in self.principals {
            iam = match principal {
                Value::String(id) => {
                    let template = self.template.as_deref().ok_or_else(|| {
                        format!("principal {key} names {id}, but no template was given")
                    })?;
                    iam.principal_from_template(&key, template, &ctx, &id)?
                }
                explicit => {
                    let p: ExplicitPrincipal = serde_json::from_value(explicit).map_err(|e| {
                        format!("principal {key}: a logical id, or {{\"name\", \"policies\"}}: {e}")
                    })?;
                    iam.principal(&key, &p.name, p.policies)?
                }
            };
        }
        Ok(iam)
    }
}

pub fn iam_view(iam: Option<&Iam>) -> Value {
    match iam {
        Some(iam) => json!({ "enforced": true, "principals": iam.to_json() }),
        None => json!({ "enforced": false, "principals": {} }),
    }
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, (u16, Value)> {
    let text = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(text)
        .map_err(|e| (400, json!({ "error": format!("invalid body: {e}") })))
}

pub fn state_dump(st: &mut State) -> Value {
    let now = st.clock.now();
    st.advance_all(now);
    let clusters: Vec<_> = st.clusters.iter().map(|c| view::dump(c, now)).collect();
    json!({
        "now": now,
        "timeScale": st.clock.scale(),
        "defaults": st.scenario.durations(st.base),
        "clusters": clusters,
        "serverless": crate::serverless::ops::dump(st),
        "calls": st.calls,
    })
}

/// The events in `deliveries`, as the event routes answer them.
fn events_view<T: serde::Serialize>(deliveries: &[T]) -> Value {
    json!({ "events": deliveries })
}

pub fn config(st: &State) -> Value {
    json!({ "timeScale": st.clock.scale(), "defaults": st.base, "now": st.clock.now() })
}

/// Route one admin request; returns the HTTP status and a JSON body.
pub fn handle(shared: &Shared, method: &Method, path: &str, body: &[u8]) -> (u16, Value) {
    let route = path.trim_start_matches(PREFIX).trim_end_matches('/');
    let mut st = lock(shared);
    let result: Result<Value, (u16, Value)> = match (method.as_str(), route) {
        ("GET", "/health") => Ok(json!({ "ok": true })),
        ("GET", "/state") => Ok(state_dump(&mut st)),
        ("GET", "/calls") => Ok(json!(st.calls)),
        ("POST", "/calls/reset") => {
            st.calls = Default::default();
            Ok(json!(st.calls))
        }
        ("GET", "/scenario") => Ok(json!(st.scenario.scenario)),
        ("POST", "/scenario") => parse::<Scenario>(body).map(|scenario| {
            st.scenario = ScenarioRuntime::new(scenario);
            json!(st.scenario.scenario)
        }),
        ("GET", "/faults") => Ok(json!(st.faults.current())),
        ("POST", "/faults") => parse::<Faults>(body).and_then(|faults| {
            faults
                .validate()
                .map_err(|e| (400, json!({ "error": e })))?;
            st.faults = FaultState::new(faults);
            Ok(json!(st.faults.current()))
        }),
        ("GET", "/iam") => Ok(iam_view(st.iam.as_deref())),
        ("PUT" | "POST", "/iam") => parse::<IamBody>(body).and_then(|b| {
            let iam = b.build().map_err(|e| (400, json!({ "error": e })))?;
            st.iam = Some(Arc::new(iam));
            Ok(iam_view(st.iam.as_deref()))
        }),
        ("POST", "/iam/authorize") => parse::<AuthorizeBody>(body).map(|b| {
            let caller = crate::authz::Caller {
                access_key_id: b.access_key_id,
                region: b.region.unwrap_or_else(|| "us-east-1".to_string()),
            };
            let request = crate::iam::AccessRequest::new(&b.action, &b.resource);
            match crate::authz::authorize_other(&st, &caller, request) {
                Ok(()) => json!({ "allowed": true }),
                Err(e) => json!({ "allowed": false, "error": e.kind, "message": e.message }),
            }
        }),
        ("POST", "/template/resource") => parse::<ResourceBody>(body).and_then(|b| {
            let ctx = b.stack.context();
            Iam::resource_from_template(&b.template, &ctx, &b.logical_id)
                .map_err(|e| (400, json!({ "error": e })))
        }),
        ("DELETE", "/iam") => {
            st.iam = None;
            Ok(iam_view(None))
        }
        ("GET", "/step-logs") => {
            let now = st.clock.now();
            st.advance_all(now);
            let mut logs: Vec<_> = st
                .clusters
                .iter()
                .flat_map(|c| crate::logs::step_logs(c, now))
                .collect();
            logs.extend(crate::logs::job_run_logs(&st.serverless, now));
            Ok(json!({ "logs": logs }))
        }
        ("GET", "/requests") => Ok(json!({ "requests": st.requests })),
        ("POST", "/requests/reset") => {
            st.requests.clear();
            Ok(json!({ "requests": [] }))
        }
        ("POST", "/reset") => {
            st.reset();
            Ok(json!({ "ok": true }))
        }
        ("GET", "/config") => Ok(config(&st)),
        ("POST", "/config") => parse::<ConfigPatch>(body).and_then(|patch| {
            if let Some(scale) = patch.time_scale {
                if !(scale >= 0.0 && scale.is_finite()) {
                    return Err((
                        400,
                        json!({ "error": "timeScale must be a finite number >= 0" }),
                    ));
                }
                let now = st.clock.now();
                st.advance_all(now);
                st.clock.set_scale(scale);
            }
            if let Some(defaults) = patch.defaults {
                st.base = st.base.with(&defaults);
            }
            Ok(config(&st))
        }),
        ("POST", "/clock") => parse::<ClockPatch>(body).and_then(|patch| {
            match (patch.advance_seconds, patch.advance_to) {
                (Some(seconds), None) => st.clock.advance(seconds),
                (None, Some(t)) => st.clock.advance_to(t),
                _ => {
                    return Err((
                        400,
                        json!({ "error": "give one of advanceSeconds and advanceTo" }),
                    ))
                }
            }
            st.settle();
            Ok(config(&st))
        }),
        ("GET", "/next-change") => {
            let now = st.settle();
            Ok(json!({ "at": st.next_change_after(now), "now": now }))
        }
        ("POST", "/events/take") => {
            let now = st.settle();
            Ok(events_view(&st.events.take(now)))
        }
        ("GET", "/events/pending") => {
            let now = st.settle();
            Ok(events_view(&st.events.not_yet_due(now)))
        }
        ("GET", "/events/log") => {
            st.settle();
            Ok(events_view(st.events.log()))
        }
        _ => Err((
            404,
            json!({ "error": format!("no admin route {method} {path}") }),
        )),
    };
    match result {
        Ok(v) => (200, v),
        Err(e) => e,
    }
}
