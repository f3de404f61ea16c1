//! Bulk API 2.0: `/jobs/ingest` and `/jobs/query`, their state machine, uploads with Salesforce's
//! size limit, background processing and CSV results.

mod ingest;
mod job;
mod query;
mod reading;

use crate::http_kit::failure::method_not_allowed;
use crate::http_kit::failure::ApiFailure;
use crate::http_kit::request::query_params;
use crate::model::datetime::format_datetime;
use crate::org::{lock, Org};
use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use forcelink_wire::RecordId;
use job::{delimiter_byte, invalid_job, invalid_state, Job, JobKind, JobState, Operation};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub use job::BATCH_RECORDS;

/// Salesforce's upload limit: 150 MB of base64-encoded CSV per job.
pub const DEFAULT_UPLOAD_LIMIT: u64 = 150 * 1024 * 1024;

/// Every bulk job of the org.
pub struct BulkJobs {
    jobs: Mutex<BTreeMap<String, Arc<Mutex<Job>>>>,
    serial: AtomicU64,
    upload_limit: AtomicU64,
    fail_after_batches: Mutex<Option<usize>>,
    batch_delay: Mutex<std::time::Duration>,
    /// Held by the ingest job being processed. Jobs closed meanwhile wait their turn in
    /// UploadComplete, as Salesforce queues them: each job uses two threads, and on a small
    /// machine several at once take longer together than one after another.
    ingest_turn: Mutex<()>,
}

impl BulkJobs {
    pub fn new(upload_limit: u64) -> Self {
        Self {
            jobs: Mutex::new(BTreeMap::new()),
            serial: AtomicU64::new(1),
            upload_limit: AtomicU64::new(upload_limit),
            fail_after_batches: Mutex::new(None),
            batch_delay: Mutex::new(std::time::Duration::ZERO),
            ingest_turn: Mutex::new(()),
        }
    }

    /// Waits for the turn to process an ingest job.
    pub fn ingest_turn(&self) -> std::sync::MutexGuard<'_, ()> {
        lock(&self.ingest_turn)
    }

    /// The upload limit in base64-encoded bytes, as Salesforce counts it.
    pub fn upload_limit(&self) -> u64 {
        self.upload_limit.load(Ordering::Relaxed)
    }

    pub fn set_upload_limit(&self, limit: u64) {
        self.upload_limit.store(limit, Ordering::Relaxed);
    }

    /// Makes ingest jobs fail after `n` internal batches (the rest unprocessed); None to stop.
    pub fn set_fail_after_batches(&self, n: Option<usize>) {
        *lock(&self.fail_after_batches) = n;
    }

    /// Slows ingest processing: this long after each internal batch (for tests of waiting).
    pub fn set_batch_delay(&self, delay: std::time::Duration) {
        *lock(&self.batch_delay) = delay;
    }

    pub fn batch_delay(&self) -> std::time::Duration {
        *lock(&self.batch_delay)
    }

    pub fn fail_after_batches(&self) -> Option<usize> {
        *lock(&self.fail_after_batches)
    }

    /// How many jobs the org holds, by state name.
    pub fn states(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for job in lock(&self.jobs).values() {
            *out.entry(lock(job).state.name().to_owned()).or_insert(0) += 1;
        }
        out
    }

    fn get(&self, kind: JobKind, id: &str) -> Result<Arc<Mutex<Job>>, ApiFailure> {
        let canonical = RecordId::parse(id)
            .map(|i| i.to_string())
            .unwrap_or_default();
        lock(&self.jobs)
            .get(&canonical)
            .filter(|j| lock(j).kind == kind)
            .cloned()
            .ok_or_else(ApiFailure::not_found)
    }
}

/// The base64-encoded size of `raw` bytes: what the limit is compared with.
fn encoded_size(raw: u64) -> u64 {
    raw.div_ceil(3) * 4
}

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
        (&Method::POST, []) => create(org, kind, version, &json_body()?),
        (&Method::GET, []) => Ok(list(org, kind)),
        (_, []) => Err(method_not_allowed(method, "GET,POST")),
        (&Method::GET, [id]) => {
            let job = jobs.get(kind, id)?;
            let info = lock(&job).info(true);
            Ok(Json(info).into_response())
        }
        (&Method::PATCH, [id]) => change_state(org, &jobs.get(kind, id)?, &json_body()?),
        (&Method::DELETE, [id]) => delete(org, kind, id),
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

fn create(
    org: &Arc<Org>,
    kind: JobKind,
    version: &str,
    request: &Value,
) -> Result<Response, ApiFailure> {
    let text = |name: &str| request.get(name).and_then(Value::as_str);
    let operation_name = text("operation").ok_or_else(|| invalid_job("operation is required"))?;
    let operation = Operation::parse(operation_name)
        .filter(|op| op.is_query() == (kind == JobKind::Query))
        .ok_or_else(|| invalid_job(format!("Invalid operation: {operation_name}")))?;
    let delimiter = text("columnDelimiter").unwrap_or("COMMA");
    if delimiter_byte(delimiter).is_none() {
        return Err(invalid_job(format!("Invalid columnDelimiter: {delimiter}")));
    }
    let line_ending = text("lineEnding").unwrap_or("LF");
    if !matches!(line_ending, "LF" | "CRLF") {
        return Err(invalid_job(format!("Invalid lineEnding: {line_ending}")));
    }
    if text("contentType").is_some_and(|c| c != "CSV") {
        return Err(invalid_job("contentType must be CSV"));
    }
    let (object, external_id, snapshot) = if kind == JobKind::Query {
        let soql_text = text("query").ok_or_else(|| invalid_job("query is required"))?;
        org.log_query(soql_text);
        let snapshot = query::snapshot(&org.store(), soql_text, operation == Operation::QueryAll)?;
        (snapshot.object().to_owned(), None, Some(snapshot))
    } else {
        let name = text("object").ok_or_else(|| invalid_job("object is required"))?;
        let store = org.store();
        let meta = &store
            .object(name)
            .map_err(|_| invalid_job(format!("Unable to find object: {name}")))?
            .meta;
        let external_id = match (operation, text("externalIdFieldName")) {
            (Operation::Upsert, None) => {
                return Err(invalid_job("External ID was blank for upsert"));
            }
            (Operation::Upsert, Some(field)) => {
                let f = meta
                    .field(field)
                    .filter(|f| f.external_id || &*f.name == "Id")
                    .ok_or_else(|| {
                        invalid_job(format!(
                            "Field {field} is not an external id field of {name}"
                        ))
                    })?;
                Some(f.name.to_string())
            }
            _ => None,
        };
        (meta.name.clone(), external_id, None)
    };
    let serial = org.bulk.serial.fetch_add(1, Ordering::Relaxed);
    let id = RecordId::mint("750", &org.pod, serial)
        .map_err(|e| ApiFailure::internal(e.to_string()))?
        .to_string();
    let now = format_datetime(chrono::Utc::now());
    let job = Job {
        id: id.clone(),
        kind,
        operation,
        object,
        external_id,
        delimiter: delimiter.to_owned(),
        line_ending: line_ending.to_owned(),
        api_version: version.to_owned(),
        created_by: org.user_id.clone(),
        created_date: now.clone(),
        modstamp: now,
        state: if kind == JobKind::Query {
            JobState::UploadComplete
        } else {
            JobState::Open
        },
        error_message: None,
        processed: 0,
        failed: 0,
        processing_ms: 0,
        uploads: Vec::new(),
        successful: Vec::new(),
        failures: Vec::new(),
        unprocessed: Vec::new(),
        result_header: Vec::new(),
        result_rows: Vec::new(),
        result_offsets: Vec::new(),
    };
    let info = job.info(false);
    let job = Arc::new(Mutex::new(job));
    lock(&org.bulk.jobs).insert(id, job.clone());
    if let Some(snapshot) = snapshot {
        let org = org.clone();
        tokio::task::spawn_blocking(move || query::process(&org, &job, &snapshot));
    }
    Ok(Json(info).into_response())
}

fn list(org: &Org, kind: JobKind) -> Response {
    let records: Vec<Value> = lock(&org.bulk.jobs)
        .values()
        .map(|j| lock(j))
        .filter(|j| j.kind == kind)
        .map(|j| j.info(false))
        .collect();
    Json(json!({"done": true, "records": records, "nextRecordsUrl": null})).into_response()
}

async fn upload(
    org: &Arc<Org>,
    id: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiFailure> {
    let job = org.bulk.get(JobKind::Ingest, id)?;
    if lock(&job).state != JobState::Open {
        return Err(invalid_state(
            "The job is not open for uploads; create a new job",
        ));
    }
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
    let limit = org.bulk.upload_limit();
    let too_large = || {
        ApiFailure::bad_request(
            "ClientInputError",
            format!("Exceeded max file size of {limit} bytes of base64-encoded data for a job"),
        )
    };
    // The largest raw body whose base64 form stays within the limit.
    let raw_limit = usize::try_from(limit / 4 * 3).unwrap_or(usize::MAX);
    let data = axum::body::to_bytes(body, raw_limit.saturating_add(1))
        .await
        .map_err(|_| too_large())?;
    if encoded_size(data.len() as u64) > limit {
        return Err(too_large());
    }
    let mut job = lock(&job);
    if job.state != JobState::Open {
        return Err(invalid_state("The job is not open for uploads"));
    }
    job.uploads.push(data);
    Ok(StatusCode::CREATED.into_response())
}

fn change_state(
    org: &Arc<Org>,
    job: &Arc<Mutex<Job>>,
    request: &Value,
) -> Result<Response, ApiFailure> {
    let wanted = request
        .get("state")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid_job("state is required"))?;
    let mut j = lock(job);
    match wanted {
        "UploadComplete" if j.kind == JobKind::Ingest => {
            if j.state != JobState::Open {
                return Err(invalid_state(format!(
                    "Closing a job in state {} is not allowed",
                    j.state.name()
                )));
            }
            if j.uploads.len() > 1 {
                return Err(invalid_job(format!("Found multiple contents for job: <{}>, please 'Close' / 'Abort' / 'Delete' the current Job then create a new Job and make sure you only do 'PUT' once on a given Job.", j.id)));
            }
            j.state = JobState::UploadComplete;
            j.modstamp = format_datetime(chrono::Utc::now());
            let info = j.info(false);
            drop(j);
            let org = org.clone();
            let job = job.clone();
            tokio::task::spawn_blocking(move || ingest::process(&org, &job));
            Ok(Json(info).into_response())
        }
        "Aborted" => {
            if j.state.is_terminal() {
                let word = if j.state == JobState::JobComplete {
                    "Completed"
                } else {
                    j.state.name()
                };
                return Err(invalid_state(format!(
                    "Aborting already {word} Job not allowed"
                )));
            }
            j.state = JobState::Aborted;
            j.modstamp = format_datetime(chrono::Utc::now());
            Ok(Json(j.info(false)).into_response())
        }
        other => Err(invalid_job(format!("Invalid state: {other}"))),
    }
}

fn delete(org: &Org, kind: JobKind, id: &str) -> Result<Response, ApiFailure> {
    let job = org.bulk.get(kind, id)?;
    let (state, job_id) = {
        let j = lock(&job);
        (j.state, j.id.clone())
    };
    let deletable =
        state.is_terminal() || (kind == JobKind::Ingest && state == JobState::UploadComplete);
    if !deletable {
        return Err(ApiFailure::bad_request(
            "API_ERROR",
            "Error encountered when deleting the job because the job is not terminated",
        ));
    }
    lock(&org.bulk.jobs).remove(&job_id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn csv_response(body: Vec<u8>) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv"));
    response
}

fn ingest_results(job: &Job, csv: &[u8]) -> Result<Response, ApiFailure> {
    if !job.state.is_terminal() {
        return Err(invalid_state(format!(
            "Results are available once the job is complete; it is {}",
            job.state.name()
        )));
    }
    Ok(csv_response(csv.to_vec()))
}

/// `GET /jobs/query/{id}/resultPages` (API 58.0+): up to five links, each reading one page on
/// its own, and the link to the next five.
fn result_pages(job: &Job, version: &str, query: Option<&str>) -> Result<Response, ApiFailure> {
    readable_results(job, version)?;
    let params = query_params(query);
    let answer = query::result_pages(
        job,
        version,
        params.get("locator").map(String::as_str),
        params.get("maxRecords").map(String::as_str),
    )?;
    Ok(Json(answer).into_response())
}

/// Results are read with the job's API version, once the job is complete.
fn readable_results(job: &Job, version: &str) -> Result<(), ApiFailure> {
    if version != job.api_version {
        return Err(ApiFailure::new(
            StatusCode::CONFLICT,
            "INVALIDVERSION",
            format!(
                "Results must be read with the API version that created the job ({})",
                job.api_version
            ),
        ));
    }
    if job.state != JobState::JobComplete {
        return Err(invalid_state(format!(
            "Results are available once the job is complete; it is {}",
            job.state.name()
        )));
    }
    Ok(())
}

fn query_results(job: &Job, version: &str, query: Option<&str>) -> Result<Response, ApiFailure> {
    readable_results(job, version)?;
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
