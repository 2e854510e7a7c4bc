//! HTTP/1.1 server: the EMR JSON 1.1 endpoint on `POST /` (with the tagging API's GetResources, the Price List's
//! GetProducts and EC2's DescribeSpotPriceHistory beside it), the admin API under `/_emulator/`.

use std::fmt;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::admin;
use crate::authz::{self, Caller};
use crate::ec2;
use crate::faults::{RecordedRequest, Verdict};
use crate::ops::{self, ApiError};
use crate::serverless;
use crate::state::{lock, Shared, State};

const JSON_11: &str = "application/x-amz-json-1.1";
const TARGET_PREFIX: &str = "ElasticMapReduce.";
/// Other services' JSON operations served beside EMR: `X-Amz-Target` → operation.
const OTHER_TARGETS: [(&str, &str); 2] = [
    // The Resource Groups Tagging API, for its view of EMR's clusters.
    (
        "ResourceGroupsTaggingAPI_20170126.GetResources",
        "GetResources",
    ),
    // The Price List Query API.
    ("AWSPriceListService.GetProducts", "GetProducts"),
];
/// EC2's operations served (Query protocol: `Action=` in a form-encoded body).
const EC2_ACTIONS: [&str; 1] = ["DescribeSpotPriceHistory"];

/// Returned by the service to make hyper close the connection without answering.
#[derive(Debug)]
pub struct LostResponse;

impl fmt::Display for LostResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("response deliberately lost by the emulator")
    }
}

impl std::error::Error for LostResponse {}

/// Accept connections until the task is aborted; aborting also drops every open connection.
pub async fn serve(listener: TcpListener, shared: Shared) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let shared = shared.clone();
                    connections.spawn(async move {
                        let service = service_fn(move |req| handle(shared.clone(), req));
                        // An Err here is a lost response (or a client gone): the socket is dropped.
                        let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                    });
                }
                Err(e) => {
                    eprintln!("emr-emulator: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

fn request_id_of(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

fn response(
    status: u16,
    content_type: &str,
    bytes: Vec<u8>,
    request_id: u64,
) -> Response<Full<Bytes>> {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", content_type)
        .header("x-amzn-requestid", request_id_of(request_id))
        .body(Full::new(Bytes::from(bytes)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

fn json_response(status: u16, body: &Value, request_id: u64) -> Response<Full<Bytes>> {
    response(
        status,
        JSON_11,
        serde_json::to_vec(body).unwrap_or_default(),
        request_id,
    )
}

/// An operation's answer in its service's protocol: JSON, or EC2's XML.
fn answer(op: &str, result: Result<Value, ApiError>, request_id: u64) -> Response<Full<Bytes>> {
    if ops::service(op) == ops::Service::Ec2 {
        let id = request_id_of(request_id);
        let (status, xml) = match result {
            Ok(v) => (200, ec2::response(op, &v, &id)),
            Err(e) => (e.status, ec2::error(&e.kind, &e.message, &id)),
        };
        return response(
            status,
            "text/xml;charset=UTF-8",
            xml.into_bytes(),
            request_id,
        );
    }
    if ops::service(op) == ops::Service::EmrServerless {
        return rest_json(result, request_id);
    }
    match result {
        Ok(v) => json_response(200, &v, request_id),
        Err(e) => json_response(e.status, &e.body(), request_id),
    }
}

/// A REST-JSON answer (EMR Serverless): `application/json`, an error named in `x-amzn-errortype` too.
fn rest_json(result: Result<Value, ApiError>, request_id: u64) -> Response<Full<Bytes>> {
    let (status, body) = match &result {
        Ok(v) => (200, v.clone()),
        Err(e) => (e.status, e.body()),
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let mut r = response(status, "application/json", bytes, request_id);
    if let Some(kind) = result
        .err()
        .and_then(|e| hyper::header::HeaderValue::from_str(&e.kind).ok())
    {
        r.headers_mut().insert("x-amzn-errortype", kind);
    }
    r
}

/// The caller named by the SigV4 credential scope (`Credential=AKID/date/region/service/...`).
/// What a load balancer in front of the service answers when the service is down: a page, no error code.
fn html_error(status: u16, request_id: u64) -> Response<Full<Bytes>> {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let page = format!("<html><body><h1>{code}</h1></body></html>");
    Response::builder()
        .status(code)
        .header("content-type", "text/html")
        .header(
            "x-amzn-requestid",
            format!("00000000-0000-4000-8000-{request_id:012x}"),
        )
        .body(Full::new(Bytes::from(page)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

fn caller_of(req: &Request<Incoming>) -> Caller {
    let scope: Vec<&str> = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|auth| auth.split("Credential=").nth(1))
        .and_then(|cred| cred.split([',', ' ']).next())
        .map(|cred| cred.split('/').collect())
        .unwrap_or_default();
    let part = |i: usize| {
        scope
            .get(i)
            .filter(|p| !p.is_empty())
            .map(|p| p.to_string())
    };
    Caller {
        access_key_id: part(0),
        region: part(2).unwrap_or_else(|| "us-east-1".to_string()),
    }
}

async fn handle(
    shared: Shared,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, LostResponse> {
    let path = req.uri().path().to_string();
    if path.starts_with(admin::PREFIX) {
        let method = req.method().clone();
        let body = read_body(req).await;
        let (status, value) = admin::handle(&shared, &method, &path, &body);
        let bytes = serde_json::to_vec_pretty(&value).unwrap_or_default();
        let response = Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(bytes)))
            .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())));
        return Ok(response);
    }
    if serverless::ops::is_serverless_path(&path) {
        let method = req.method().to_string();
        let query = req.uri().query().unwrap_or_default().to_string();
        let caller = caller_of(&req);
        let body = read_body(req).await;
        let Some((op, params)) = serverless::ops::route(&method, &path) else {
            let err = ApiError::new(
                404,
                "UnknownOperationException",
                format!("No EMR Serverless operation is {method} {path}"),
            );
            let label = format!("{method} {path}");
            record(&mut lock(&shared), &label, &caller, &body, Some(&err));
            return Ok(json_response(err.status, &err.body(), 0));
        };
        let merged = serverless::ops::merged_body(&body, &params, &query);
        return api_call(&shared, op, &merged, &caller).await;
    }
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let target = header("x-amz-target");
    let form_encoded = header("content-type").starts_with("application/x-www-form-urlencoded");
    let caller = caller_of(&req);
    let body = read_body(req).await;
    if target.is_empty() && form_encoded {
        let form = ec2::form(&body);
        let action = ec2::param(&form, "Action").unwrap_or_default().to_string();
        if let Some(op) = EC2_ACTIONS.iter().find(|a| **a == action) {
            return api_call(&shared, op, &body, &caller).await;
        }
        let err = ApiError::new(
            400,
            "InvalidAction",
            format!("The action {action} is not valid for this web service."),
        );
        record(&mut lock(&shared), &action, &caller, &body, Some(&err));
        let xml = ec2::error(&err.kind, &err.message, &request_id_of(0));
        return Ok(response(
            err.status,
            "text/xml;charset=UTF-8",
            xml.into_bytes(),
            0,
        ));
    }
    let Some(op) = target
        .strip_prefix(TARGET_PREFIX)
        .or_else(|| {
            OTHER_TARGETS
                .iter()
                .find(|(t, _)| *t == target)
                .map(|(_, op)| *op)
        })
        .filter(|op| !op.is_empty())
    else {
        let err = ApiError::new(
            400,
            "UnknownOperationException",
            format!("Missing or unknown X-Amz-Target: '{target}'"),
        );
        record(&mut lock(&shared), &target, &caller, &body, Some(&err));
        return Ok(json_response(err.status, &err.body(), 0));
    };
    api_call(&shared, op, &body, &caller).await
}

/// Keeps a request in the record: status 200 when `error` is `None`.
fn record(st: &mut State, op: &str, caller: &Caller, body: &[u8], error: Option<&ApiError>) {
    st.requests.push(RecordedRequest {
        operation: op.to_string(),
        access_key_id: caller.access_key_id.clone(),
        region: caller.region.clone(),
        body: String::from_utf8_lossy(body).into_owned(),
        status: Some(error.map_or(200, |e| e.status)),
        error_type: error.map(|e| e.kind.clone()),
        at: st.clock.now(),
    });
}

async fn read_body(req: Request<Incoming>) -> Bytes {
    match req.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    }
}

async fn api_call(
    shared: &Shared,
    op: &str,
    body: &[u8],
    caller: &Caller,
) -> Result<Response<Full<Bytes>>, LostResponse> {
    let latency = {
        let mut st = lock(shared);
        st.calls.total += 1;
        let latency = st.faults.latency_ms(op);
        let entry = st.calls.entry(op);
        entry.calls += 1;
        entry.delayed_ms += latency;
        latency
    };
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let mut st = lock(shared);
    let request_id = st.calls.total;
    let mut denied = false;
    let (result, lost) = match st.faults.verdict(op, Instant::now()) {
        Verdict::Throttle => {
            st.calls.throttled += 1;
            st.calls.entry(op).throttled += 1;
            (Err(ApiError::throttling(op)), false)
        }
        Verdict::ServerError(status) => {
            st.calls.entry(op).server_errors += 1;
            if st.faults.server_error_without_code() {
                let id = st.calls.total;
                let error = ApiError::new(status, "", "an HTML error page without an error code");
                record(&mut st, op, caller, body, Some(&error));
                drop(st);
                return Ok(html_error(status, id));
            }
            (Err(ApiError::server(op, status)), false)
        }
        // Authorized where the operation would execute: after throttling and injected faults,
        // before any effect (a denied call consumes no lost-response budget).
        Verdict::Proceed => match authz::authorize(&mut st, op, body, caller) {
            Err(e) => {
                denied = true;
                st.calls.denied += 1;
                st.calls.entry(op).denied += 1;
                (Err(e), false)
            }
            Ok(()) => {
                st.caller_arn = authz::caller_arn(&st, caller);
                let result = ops::execute(&mut st, op, body, &caller.region);
                let lost = st.faults.take_lost_response(op);
                let counters = st.calls.entry(op);
                match (&result, lost) {
                    (_, true) => counters.lost_responses += 1,
                    (Ok(_), false) => counters.succeeded += 1,
                    (Err(_), false) => counters.client_errors += 1,
                }
                (result, lost)
            }
        },
    };
    record(&mut st, op, caller, body, result.as_ref().err());
    if lost {
        if let Some(r) = st.requests.last_mut() {
            r.status = None;
        }
    }
    let log = st.log_requests;
    drop(st);
    if log {
        let fate = match &result {
            _ if lost => "response lost".to_string(),
            Ok(_) => "200".to_string(),
            Err(e) if denied => format!("{} {}: {}", e.status, e.kind, e.message),
            Err(e) => format!("{} {}", e.status, e.kind),
        };
        eprintln!("emr-emulator: {op} -> {fate}");
    }
    if lost {
        return Err(LostResponse);
    }
    Ok(answer(op, result, request_id))
}
