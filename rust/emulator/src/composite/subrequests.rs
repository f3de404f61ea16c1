//! `POST /composite` (references, allOrNone) and `POST /composite/batch` (haltOnError): each
//! subrequest answered by the router passed in.

use super::references::{resolve_references, split_url, substitute, valid_reference_id};
use super::{flag, Route};
use crate::http_kit::failure::ApiFailure;
use crate::http_kit::reply::Reply;
use crate::http_kit::request::Call;
use crate::model::store::Store;
use crate::org::Org;
use axum::http::Method;
use serde_json::{json, Map, Value};

const MAX_SUBREQUESTS: usize = 25;

/// The subrequest list under `key`, at most 25 long.
fn subrequests<'a>(body: &'a Value, key: &str) -> Result<&'a Vec<Value>, ApiFailure> {
    let requests = body
        .get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| ApiFailure::json_parser(format!("{key} is required")))?;
    if requests.len() > MAX_SUBREQUESTS {
        return Err(ApiFailure::bad_request(
            "LIMIT_EXCEEDED",
            format!("Maximum number of subrequests is {MAX_SUBREQUESTS}"),
        ));
    }
    Ok(requests)
}

fn halted(message: &str) -> Value {
    json!([{"errorCode": "PROCESSING_HALTED", "message": message}])
}

const ROLLED_BACK: &str =
    "The transaction was rolled back since another operation in the same transaction failed.";

pub(super) fn composite(
    org: &Org,
    store: &mut Store,
    call: &Call<'_>,
    route: Route,
    body: &Value,
) -> Result<Reply, ApiFailure> {
    let all_or_none = flag(body, "allOrNone");
    let requests = subrequests(body, "compositeRequest")?;
    let mut seen = std::collections::HashSet::new();
    for r in requests {
        let reference = r
            .get("referenceId")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !valid_reference_id(reference) {
            return Err(ApiFailure::bad_request("INVALID_INPUT", format!("Provided referenceId ('{reference}') must start with a letter or a number, and it can contain only letters, numbers and underscores ('_').")));
        }
        if !seen.insert(reference.to_owned()) {
            return Err(ApiFailure::bad_request(
                "INVALID_INPUT",
                format!("Duplicate referenceId provided in the request: {reference}"),
            ));
        }
        if let Some(headers) = r.get("httpHeaders").and_then(Value::as_object) {
            if headers.keys().any(|k| {
                ["accept", "authorization", "content-type"]
                    .contains(&k.to_ascii_lowercase().as_str())
            }) {
                return Err(ApiFailure::bad_request("INVALID_INPUT", "Accept, Authorization and Content-Type headers are inherited and cannot be set in a subrequest"));
            }
        }
    }
    let snapshot = all_or_none.then(|| store.clone());
    let mut results = Map::new();
    let mut out: Vec<Value> = Vec::with_capacity(requests.len());
    let mut failed = false;
    for r in requests {
        let reference = r
            .get("referenceId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let entry = |status: u16, body: Value, headers: Value| json!({"body": body, "httpHeaders": headers, "httpStatusCode": status, "referenceId": reference});
        if failed && all_or_none {
            out.push(entry(400, halted(ROLLED_BACK), json!({})));
            continue;
        }
        let url = r.get("url").and_then(Value::as_str).unwrap_or_default();
        let resolved_url = substitute(url, &results);
        let resolved_body = r.get("body").map(|b| resolve_references(b, &results));
        let (url, sub_body) = match (resolved_url, resolved_body.transpose()) {
            (Ok(u), Ok(b)) => (u, b),
            (Err(message), _) | (_, Err(message)) => {
                failed = true;
                out.push(entry(400, halted(&message), json!({})));
                continue;
            }
        };
        let method = r
            .get("method")
            .and_then(Value::as_str)
            .and_then(|m| Method::from_bytes(m.as_bytes()).ok())
            .unwrap_or(Method::GET);
        let Some((version, parts, query)) = split_url(&url) else {
            failed = true;
            out.push(entry(400, json!([{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]), json!({})));
            continue;
        };
        let parts_ref: Vec<&str> = parts.iter().map(String::as_str).collect();
        let sub = Call {
            method,
            version: &version,
            parts: &parts_ref,
            query: query.as_deref(),
            batch: call.batch,
            body: sub_body.as_ref(),
            conditions: crate::http_kit::conditional::Conditions::read(|name| {
                r.get("httpHeaders")
                    .and_then(Value::as_object)
                    .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
                    .and_then(|(_, v)| v.as_str())
                    .map(str::to_owned)
            }),
        };
        let supported = matches!(
            parts_ref.as_slice(),
            ["sobjects", ..] | ["query" | "queryAll", ..] | ["composite", "sobjects", ..]
        );
        let reply = if supported {
            route(org, store, &sub).unwrap_or_else(Reply::from)
        } else {
            Reply::from(ApiFailure::bad_request(
                "INVALID_INPUT",
                "This resource is not supported in a composite request",
            ))
        };
        let status = reply.status.as_u16();
        let headers = reply.http_headers();
        let body = reply.json();
        if status >= 400 {
            failed = true;
        } else {
            results.insert(reference.clone(), body.clone());
        }
        out.push(entry(status, body, headers));
    }
    if failed && all_or_none {
        if let Some(snapshot) = snapshot {
            *store = snapshot;
        }
        // Every subrequest that had succeeded is reported as rolled back.
        for item in &mut out {
            let ok = item
                .get("httpStatusCode")
                .and_then(Value::as_u64)
                .is_some_and(|s| s < 400);
            if ok {
                if let Value::Object(m) = item {
                    m.insert("httpStatusCode".into(), json!(400));
                    m.insert("body".into(), halted(ROLLED_BACK));
                    m.insert("httpHeaders".into(), json!({}));
                }
            }
        }
    }
    Ok(Reply::ok(json!({"compositeResponse": out})))
}

pub(super) fn batch(
    org: &Org,
    store: &mut Store,
    call: &Call<'_>,
    route: Route,
    body: &Value,
) -> Result<Reply, ApiFailure> {
    let halt = flag(body, "haltOnError");
    let requests = subrequests(body, "batchRequests")?;
    let mut parsed = Vec::with_capacity(requests.len());
    for r in requests {
        let method = r
            .get("method")
            .and_then(Value::as_str)
            .and_then(|m| Method::from_bytes(m.as_bytes()).ok());
        let url = r.get("url").and_then(Value::as_str).and_then(split_url);
        match (method, url) {
            (Some(m), Some(u)) => parsed.push((m, u, r.get("richInput").cloned())),
            _ => {
                return Err(ApiFailure::bad_request(
                    "INVALID_BATCH_REQUEST",
                    "Each batch request needs a method and a url like v62.0/sobjects/Account",
                ))
            }
        }
    }
    let mut has_errors = false;
    let mut results = Vec::with_capacity(parsed.len());
    for (method, (version, parts, query), rich_input) in parsed {
        if halt && has_errors {
            results.push(json!({"statusCode": 412, "result": [{"errorCode": "BATCH_PROCESSING_HALTED", "message": "Batch processing halted per request"}]}));
            continue;
        }
        // Each subrequest counts against the API limit.
        if !org.take_api_call() {
            has_errors = true;
            results.push(json!({"statusCode": 403, "result": [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded."}]}));
            continue;
        }
        let parts_ref: Vec<&str> = parts.iter().map(String::as_str).collect();
        let sub = Call {
            method,
            version: &version,
            parts: &parts_ref,
            query: query.as_deref(),
            batch: call.batch,
            body: rich_input.as_ref(),
            conditions: crate::http_kit::conditional::Conditions::default(),
        };
        let reply = if parts_ref.first() == Some(&"composite") {
            Reply::from(ApiFailure::bad_request(
                "INVALID_BATCH_REQUEST",
                "composite resources cannot be batched",
            ))
        } else {
            route(org, store, &sub).unwrap_or_else(Reply::from)
        };
        if reply.status.as_u16() >= 400 {
            has_errors = true;
        }
        let status = reply.status.as_u16();
        results.push(json!({"statusCode": status, "result": reply.json()}));
    }
    Ok(Reply::ok(
        json!({"hasErrors": has_errors, "results": results}),
    ))
}
