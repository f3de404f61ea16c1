//! A request as the features read it: the call (method, version, path, parameters, body and
//! preconditions), and the readers of its parts (the version segment, query parameters, the
//! `fields` list, the query batch size, the JSON body, the caller's client name).

use crate::http_kit::conditional::Conditions;
use crate::http_kit::failure::ApiFailure;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method};
use serde_json::Value;

/// One call to dispatch: from HTTP, or a composite subrequest.
pub struct Call<'a> {
    pub method: Method,
    pub version: &'a str,
    pub parts: &'a [&'a str],
    pub query: Option<&'a str>,
    pub batch: usize,
    pub body: Option<&'a Value>,
    /// `If-None-Match` and `If-Modified-Since` of a record GET.
    pub conditions: Conditions,
}

pub fn need_body<'a>(call: &Call<'a>) -> Result<&'a Value, ApiFailure> {
    call.body
        .ok_or_else(|| ApiFailure::json_parser("The request body is missing"))
}

/// `v62.0` -> `62.0`.
pub fn parse_version(segment: &str) -> Option<String> {
    let v = segment.strip_prefix('v')?;
    let (major, minor) = v.split_once('.')?;
    let ok = !major.is_empty()
        && major.len() <= 3
        && major.bytes().all(|b| b.is_ascii_digit())
        && !minor.is_empty()
        && minor.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| v.to_owned())
}

pub fn version_number(version: &str) -> u32 {
    version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0)
}

pub fn parse_body(body: &Bytes) -> Result<Value, ApiFailure> {
    serde_json::from_slice::<Value>(body).map_err(|e| {
        ApiFailure::json_parser(format!("Unexpected character in the request body: {e}"))
    })
}

pub fn fields_param(query: Option<&str>) -> Option<Vec<String>> {
    let query = query?;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "fields")
        .map(|(_, v)| {
            v.split(',')
                .map(|f| f.trim().to_owned())
                .filter(|f| !f.is_empty())
                .collect()
        })
}

pub fn query_params(query: Option<&str>) -> std::collections::HashMap<String, String> {
    query
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

/// `Sforce-Query-Options: batchSize=N`, clamped to 200..=2000; 2000 by default.
pub fn batch_size(headers: &HeaderMap) -> usize {
    headers
        .get("sforce-query-options")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .find_map(|part| part.trim().strip_prefix("batchSize="))
        })
        .and_then(|n| n.trim().parse::<usize>().ok())
        .map_or(2000, |n| n.clamp(200, 2000))
}

/// `com/salesforce/api/rest/62.0`, with `;client=X` when `Sforce-Call-Options` names a client.
pub fn change_origin(api: &str, version: &str, headers: &HeaderMap) -> String {
    let client = headers
        .get("sforce-call-options")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .find_map(|opt| opt.trim().strip_prefix("client="))
                .map(str::to_owned)
        });
    match client {
        Some(c) => format!("com/salesforce/api/{api}/{version};client={c}"),
        None => format!("com/salesforce/api/{api}/{version}"),
    }
}
