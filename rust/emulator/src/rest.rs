//! The router of `/services/data`: versions and resources here; every other path goes to its
//! feature (sObjects, SOQL, search, composite, bulk, events, tooling, files, limits). It reads the
//! path segments, so trailing slashes and any `vNN.N` work as they do on Salesforce, and applies
//! the org's injected faults and API usage before any feature runs.

use crate::http_kit::auth::authenticate;
use crate::http_kit::conditional::Conditions;
use crate::http_kit::failure::{method_not_allowed, ApiFailure};
use crate::http_kit::reply::Reply;
use crate::http_kit::request::{
    batch_size, change_origin, parse_body, parse_version, query_params, Call,
};
use crate::model::store::Store;
use crate::org::Org;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;

/// The largest JSON body a REST call takes (bulk uploads have their own limit).
const REST_BODY_LIMIT: usize = 64 * 1024 * 1024;

/// The oldest and newest versions offered; 21.0 to 30.0 are retired.
const OLDEST_VERSION: u32 = 31;
const NEWEST_VERSION: u32 = 67;

pub async fn versions() -> Json<Value> {
    let list: Vec<Value> = (OLDEST_VERSION..=NEWEST_VERSION)
        .map(|v| {
            let season = ["Winter", "Spring", "Summer"][((v - 20) % 3) as usize];
            let year = 11 + (v - 20) / 3;
            json!({"label": format!("{season} '{year:02}"), "url": format!("/services/data/v{v}.0"), "version": format!("{v}.0")})
        })
        .collect();
    Json(Value::Array(list))
}

/// Everything under `/services/data/{version}/`.
pub async fn data_api(
    State(org): State<Arc<Org>>,
    method: Method,
    uri: Uri,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    // Split the raw path before decoding, so an encoded '/' in an external id stays in its segment.
    let rest = uri
        .path()
        .strip_prefix("/services/data")
        .unwrap_or_default();
    let segments: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let mut response =
        match handle(&org, &method, &segments, query.as_deref(), &headers, body).await {
            Ok(r) => r,
            Err(failure) => failure.into_response(),
        };
    if let Ok(value) =
        HeaderValue::from_str(&format!("api-usage={}/{}", org.api_used(), org.api_limit))
    {
        response.headers_mut().insert("Sforce-Limit-Info", value);
    }
    response
}

async fn handle(
    org: &Arc<Org>,
    method: &Method,
    segments: &[String],
    query: Option<&str>,
    headers: &HeaderMap,
    body: axum::body::Body,
) -> Result<Response, ApiFailure> {
    let Some((version_segment, path)) = segments.split_first() else {
        return Err(ApiFailure::not_found());
    };
    let version = parse_version(version_segment).ok_or_else(ApiFailure::not_found)?;
    let route = route_name(method, path);
    org.count(&route);
    if org.is_down() {
        return Err(ApiFailure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVER_UNAVAILABLE",
            "The org is down (test fault)",
        ));
    }
    authenticate(org.as_ref(), headers)?;
    let Some(fault) = org.take_fault(method.as_str(), &format!("/{}", segments.join("/"))) else {
        return serve(org, method, path, &version, query, headers, body).await;
    };
    let body = match fault.delay {
        Some(delay) => {
            // The request arrives whole, then the answer is late, as over a slow link (an h2
            // stream answered before its body is read would be reset).
            let read = axum::body::to_bytes(body, usize::MAX)
                .await
                .map_err(|e| ApiFailure::bad_request("INVALID_INPUT", e.to_string()))?;
            tokio::time::sleep(delay).await;
            axum::body::Body::from(read)
        }
        None => body,
    };
    if fault.drop_connection && fault.after_commit {
        // Done and committed, then the answer is lost on the way.
        let _done = serve(org, method, path, &version, query, headers, body).await;
        return Ok(broken_response());
    }
    if fault.drop_connection {
        return Ok(broken_response());
    }
    if fault.status != 200 {
        let status =
            StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response =
            ApiFailure::new(status, &fault.error_code, fault.message).into_response();
        if let Some(secs) = fault.retry_after {
            response
                .headers_mut()
                .insert("Retry-After", HeaderValue::from(secs));
        }
        return Ok(response);
    }
    serve(org, method, path, &version, query, headers, body).await
}

/// An answer whose body breaks off: the connection drops before the reply is complete.
fn broken_response() -> Response {
    let broken = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "injected dropped connection",
        ))
    });
    Response::new(axum::body::Body::from_stream(broken))
}

/// Does an authenticated request past the fault checks: API usage, then bulk or REST.
async fn serve(
    org: &Arc<Org>,
    method: &Method,
    path: &[String],
    version: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: axum::body::Body,
) -> Result<Response, ApiFailure> {
    if !org.take_api_call() {
        return Err(ApiFailure::new(
            StatusCode::FORBIDDEN,
            "REQUEST_LIMIT_EXCEEDED",
            "TotalRequests Limit exceeded.",
        ));
    }
    if let ["jobs", ..] = path
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        return crate::bulk::dispatch(org, method, version, path, query, headers, body).await;
    }
    match (
        method,
        path.iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice(),
    ) {
        (&Method::POST, ["sobjects", "ContentVersion"])
            if headers
                .get(axum::http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|t| t.starts_with("multipart/")) =>
        {
            return crate::files::upload(org, version, headers, body).await;
        }
        (&Method::GET, ["sobjects", "ContentVersion", id, "VersionData"]) => {
            return crate::files::download(org, id).await;
        }
        _ => {}
    }
    let body = axum::body::to_bytes(body, REST_BODY_LIMIT)
        .await
        .map_err(|_| {
            ApiFailure::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "JSON_PARSER_ERROR",
                "The request body is too large",
            )
        })?;
    let parsed = if body.is_empty() {
        None
    } else {
        Some(parse_body(&body)?)
    };
    let parts: Vec<&str> = path.iter().map(String::as_str).collect();
    let call = Call {
        method: method.clone(),
        version,
        parts: &parts,
        query,
        batch: batch_size(headers),
        body: parsed.as_ref(),
        conditions: Conditions::read(|name| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        }),
    };
    // One lock for the whole request: composite requests run as one transaction.
    let mut store = org.store();
    let reply = dispatch(org, &mut store, &call);
    org.commit(&mut store, &change_origin("rest", version, headers));
    reply.map(IntoResponse::into_response)
}

/// Answers a call against the store; used by the HTTP handler and by composite requests.
pub fn dispatch(org: &Org, store: &mut Store, call: &Call<'_>) -> Result<Reply, ApiFailure> {
    let version = call.version;
    match (call.method.clone(), call.parts) {
        (Method::GET, []) => Ok(Reply::ok(resources(version))),
        (Method::GET, ["limits"]) => Ok(Reply::ok(crate::limits::limits(org))),
        (Method::GET, [resource @ ("query" | "queryAll")]) => {
            let params = query_params(call.query);
            if let Some(soql) = params.get("explain") {
                return Ok(Reply::ok(crate::soql::explain(store, soql)?));
            }
            let soql = params.get("q").ok_or_else(|| {
                ApiFailure::bad_request("MALFORMED_QUERY", "A query string is required: q")
            })?;
            org.log_query(soql);
            Ok(Reply::raw(org.cursors.start(
                store,
                soql,
                *resource == "queryAll",
                call.batch,
                version,
            )?))
        }
        (Method::GET, ["tooling", "executeAnonymous"]) => {
            let params = query_params(call.query);
            Ok(Reply::ok(crate::tooling::execute_anonymous(
                params.get("anonymousBody").map(String::as_str),
            )))
        }
        (_, ["tooling", rest @ ..]) if !rest.is_empty() => {
            // Tooling queries and sObject calls run through the REST handlers.
            let inner = Call {
                method: call.method.clone(),
                version: call.version,
                parts: rest,
                query: call.query,
                batch: call.batch,
                body: call.body,
                conditions: call.conditions.clone(),
            };
            dispatch(org, store, &inner)
        }
        (Method::GET, ["search"]) => {
            let params = query_params(call.query);
            let sosl = params.get("q").ok_or_else(|| {
                ApiFailure::bad_request("MALFORMED_SEARCH", "A search string is required: q")
            })?;
            Ok(Reply::ok(crate::search::search(store, sosl, version)?))
        }
        (Method::GET, ["query" | "queryAll", locator]) => {
            Ok(Reply::raw(org.cursors.next(store, locator, version)?))
        }
        (_, ["composite", ..]) => crate::composite::dispatch(org, store, call, dispatch),
        (Method::GET, ["event", "eventSchema", schema_id]) => {
            crate::events::rest::event_schema(org, schema_id, call.query)
        }
        (_, ["sobjects", ..]) => crate::sobjects::dispatch(org, store, call),
        (_, ["limits"] | []) => Err(method_not_allowed(&call.method, "GET,HEAD")),
        _ => Err(ApiFailure::not_found()),
    }
}

/// A stable name per route for the request counters, e.g. `GET sobjects/{object}/{id}`.
fn route_name(method: &Method, path: &[String]) -> String {
    let template = match path
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => "".to_owned(),
        ["sobjects"] => "sobjects".to_owned(),
        ["sobjects", _] => "sobjects/{object}".to_owned(),
        ["sobjects", _, "describe"] => "sobjects/{object}/describe".to_owned(),
        ["sobjects", _, _] => "sobjects/{object}/{id}".to_owned(),
        ["sobjects", _, _, _] => "sobjects/{object}/{field}/{value}".to_owned(),
        ["query" | "queryAll", _] => "query/{locator}".to_owned(),
        ["jobs", kind] => format!("jobs/{kind}"),
        ["jobs", kind, _] => format!("jobs/{kind}/{{id}}"),
        ["jobs", kind, _, resource, ..] => format!("jobs/{kind}/{{id}}/{resource}"),
        [first, ..] => (*first).to_owned(),
    };
    format!("{method} {template}")
}

fn resources(version: &str) -> Value {
    let base = format!("/services/data/v{version}");
    let mut map = serde_json::Map::new();
    for name in [
        "sobjects",
        "query",
        "queryAll",
        "composite",
        "limits",
        "jobs",
        "search",
        "tooling",
        "recent",
    ] {
        map.insert(name.to_owned(), Value::String(format!("{base}/{name}")));
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_route_names_are_templates() {
        assert_eq!(parse_version("v62.0").as_deref(), Some("62.0"));
        assert_eq!(parse_version("62.0"), None);
        assert_eq!(parse_version("vX"), None);
        let path: Vec<String> = ["sobjects", "Account", "001"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert_eq!(
            route_name(&Method::GET, &path),
            "GET sobjects/{object}/{id}"
        );
    }
}
