//! The `/jobs/...` HTTP surface: it reads each request (path, method, JSON or CSV body, query
//! parameters), calls models.rs, and writes Salesforce's answer (JSON, CSV with the
//! `Sforce-NumberOfRecords` and `Sforce-Locator` headers, or a bare status).

use super::job::{invalid_job, Job, JobKind};
use super::models::{self, NewJob};
use super::query;
use crate::http_kit::failure::{method_not_allowed, ApiFailure};
use crate::http_kit::request::query_params;
use crate::org::{lock, Org};
use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;

/// Answers a `/jobs/...` request; the caller has authenticated and counted it.
pub async fn dispatch(
    org: &Arc<Org>,
    method: &Method,
    version: &str,
    path: &[String],
    query: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiFailure> {
    let parts: Vec<&str> = path.iter().map(String::as_str).collect();
    let kind = match parts.get(1) {
        Some(&"ingest") => JobKind::Ingest,
        Some(&"query") => JobKind::Query,
        _ => return Err(ApiFailure::not_found()),
    };
    if let (&Method::PUT, [_, _, id, "batches"]) = (method, parts.as_slice()) {
        if kind == JobKind::Ingest {
            return upload(org, id, headers, body).await;
        }
    }
    let body = axum::body::to_bytes(body, 1024 * 1024)
        .await
        .map_err(|_| ApiFailure::json_parser("The request body is too large"))?;
    let json_body = || -> Result<Value, ApiFailure> {
        serde_json::from_slice(&body)
            .map_err(|e| ApiFailure::json_parser(format!("Unexpected request body: {e}")))
    };
    let jobs = &org.bulk;
    match (method, &parts[2..]) {
        (&Method::POST, []) => {
            let request = json_body()?;
            let text = |name: &str| request.get(name).and_then(Value::as_str);
            let new_job = NewJob {
                operation: text("operation"),
                query: text("query"),
                object: text("object"),
                external_id_field: text("externalIdFieldName"),
                column_delimiter: text("columnDelimiter"),
                line_ending: text("lineEnding"),
                content_type: text("contentType"),
            };
            Ok(Json(models::create(org, kind, version, &new_job)?).into_response())
        }
        (&Method::GET, []) => {
            let records = jobs.list(kind);
            Ok(
                Json(json!({"done": true, "records": records, "nextRecordsUrl": null}))
                    .into_response(),
            )
        }
        (_, []) => Err(method_not_allowed(method, "GET,POST")),
        (&Method::GET, [id]) => {
            let job = jobs.get(kind, id)?;
            let info = lock(&job).info(true);
            Ok(Json(info).into_response())
        }
        (&Method::PATCH, [id]) => {
            let job = jobs.get(kind, id)?;
            let request = json_body()?;
            let wanted = request
                .get("state")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid_job("state is required"))?;
            Ok(Json(models::change_state(org, &job, wanted)?).into_response())
        }
        (&Method::DELETE, [id]) => {
            jobs.delete(kind, id)?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        (_, [_]) => Err(method_not_allowed(method, "GET,PATCH,DELETE")),
        (&Method::GET, [id, resource]) => {
            let job = jobs.get(kind, id)?;
            let job = lock(&job);
            match (kind, *resource) {
                (JobKind::Ingest, "successfulResults") => ingest_results(&job, &job.successful),
                (JobKind::Ingest, "failedResults") => ingest_results(&job, &job.failures),
                (JobKind::Ingest, "unprocessedrecords") => ingest_results(&job, &job.unprocessed),
                (JobKind::Query, "results") => query_results(&job, version, query),
                (JobKind::Query, "resultPages" | "resultpages") => {
                    result_pages(&job, version, query)
                }
                _ => Err(ApiFailure::not_found()),
            }
        }
        _ => Err(ApiFailure::not_found()),
    }
}

/// `PUT /jobs/ingest/{id}/batches`: the job's CSV, read no further than the upload limit.
async fn upload(
    org: &Arc<Org>,
    id: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiFailure> {
    let job = org.bulk.open_ingest_job(id)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type.starts_with("text/csv") {
        return Err(ApiFailure::bad_request(
            "INVALIDCONTENTTYPE",
            format!("Unsupported content type for job data: {content_type}; expected text/csv"),
        ));
    }
    let data = axum::body::to_bytes(body, org.bulk.raw_upload_limit().saturating_add(1))
        .await
        .map_err(|_| org.bulk.upload_too_large())?;
    org.bulk.add_upload(&job, data)?;
    Ok(StatusCode::CREATED.into_response())
}

fn csv_response(body: Vec<u8>) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv"));
    response
}

fn ingest_results(job: &Job, csv: &[u8]) -> Result<Response, ApiFailure> {
    Ok(csv_response(models::ingest_results(job, csv)?.to_vec()))
}

/// `GET /jobs/query/{id}/resultPages` (API 58.0+): up to five links, each reading one page on
/// its own, and the link to the next five.
fn result_pages(job: &Job, version: &str, query: Option<&str>) -> Result<Response, ApiFailure> {
    models::readable_results(job, version)?;
    let params = query_params(query);
    let answer = query::result_pages(
        job,
        version,
        params.get("locator").map(String::as_str),
        params.get("maxRecords").map(String::as_str),
    )?;
    Ok(Json(answer).into_response())
}

fn query_results(job: &Job, version: &str, query: Option<&str>) -> Result<Response, ApiFailure> {
    models::readable_results(job, version)?;
    let params = query_params(query);
    let (body, count, locator) = query::page(
        job,
        params.get("locator").map(String::as_str),
        params.get("maxRecords").map(String::as_str),
    )?;
    let mut response = csv_response(body);
    let headers = response.headers_mut();
    headers.insert("Sforce-NumberOfRecords", HeaderValue::from(count));
    if let Ok(value) = HeaderValue::from_str(&locator) {
        headers.insert("Sforce-Locator", value);
    }
    Ok(response)
}
