//! Query jobs: the SOQL runs (and is checked) when the job is created; rows are rendered to CSV in
//! the background and read back in pages by locator.

use super::job::{write_quoted, Job, JobState};
use crate::http_kit::failure::ApiFailure;
use crate::model::datetime::format_datetime;
use crate::model::schema::FieldType;
use crate::model::store::Store;
use crate::org::{lock, Org};
use crate::soql::{self, Outcome, Resolved};
use axum::http::StatusCode;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Rows per results page when the caller gives no `maxRecords`.
pub const DEFAULT_PAGE_RECORDS: usize = 50_000;

/// What a query job reads: its object, the matching ids at creation, and the columns.
pub struct Snapshot {
    object: String,
    ids: Vec<String>,
    columns: Vec<Resolved>,
}

impl Snapshot {
    pub fn object(&self) -> &str {
        &self.object
    }
}

/// Parses and runs the SOQL, so a bad query is refused when the job is created.
pub fn snapshot(store: &Store, soql_text: &str, all_rows: bool) -> Result<Snapshot, ApiFailure> {
    let query = soql::parse(soql_text)?;
    match soql::run(store, soql_text, &query, all_rows)? {
        Outcome::Rows { children, .. } if !children.is_empty() => Err(ApiFailure::bad_request(
            "API_ERROR",
            "Nested (parent-to-child) queries are not supported by Bulk API 2.0 query jobs",
        )),
        Outcome::Rows { columns, .. } if columns.iter().any(|c| c.field_type().is_derived()) => {
            // Bulk cannot write an address, a geolocation or a file into a CSV cell.
            let kind = if columns.iter().any(|c| c.field_type() == FieldType::Base64) {
                "base64"
            } else {
                "compound"
            };
            Err(ApiFailure::bad_request(
                "FUNCTIONALITY_NOT_ENABLED",
                format!("Selecting {kind} data not supported in Bulk Query"),
            ))
        }
        Outcome::Rows {
            object,
            ids,
            columns,
            ..
        } => Ok(Snapshot {
            object,
            ids,
            columns,
        }),
        Outcome::Count(_) | Outcome::Aggregate(_) => Err(ApiFailure::bad_request(
            "API_ERROR",
            "Aggregate queries are not supported by Bulk API 2.0 query jobs",
        )),
    }
}

/// Renders every row to CSV on a blocking thread, then completes the job.
pub fn process(org: &Org, job: &Arc<Mutex<Job>>, snapshot: &Snapshot) {
    let started = Instant::now();
    let (delimiter, terminator, version) = {
        let mut j = lock(job);
        if j.state != JobState::UploadComplete {
            return;
        }
        j.state = JobState::InProgress;
        (j.delimiter(), j.terminator(), j.api_version.clone())
    };
    let mut header = Vec::new();
    let labels: Vec<String> = snapshot.columns.iter().map(Resolved::label).collect();
    write_quoted(
        &mut header,
        labels.iter().map(String::as_bytes),
        delimiter,
        terminator,
    );
    let mut rows = Vec::new();
    let mut offsets = Vec::with_capacity(snapshot.ids.len() + 1);
    {
        let store = org.store();
        let records = store.object(&snapshot.object).ok();
        let mut values: Vec<String> = Vec::with_capacity(labels.len());
        for id in &snapshot.ids {
            values.clear();
            let own = records.and_then(|o| o.records.get(id.as_str()));
            let nested = if snapshot.columns.iter().all(Resolved::is_own_field) {
                None
            } else {
                Some(soql::render(
                    &store,
                    &snapshot.object,
                    id,
                    &snapshot.columns,
                    &version,
                ))
            };
            for (column, label) in snapshot.columns.iter().zip(&labels) {
                let value = match &nested {
                    None => own.and_then(|r| r.fields.get(column.field_name())),
                    Some(row) => label.split('.').try_fold(row, |v, key| v.get(key)),
                };
                values.push(cell(value, column.field_type()));
            }
            offsets.push(rows.len());
            write_quoted(
                &mut rows,
                values.iter().map(String::as_bytes),
                delimiter,
                terminator,
            );
        }
    }
    offsets.push(rows.len());
    let mut j = lock(job);
    if j.state != JobState::InProgress {
        return;
    }
    j.processed = snapshot.ids.len() as u64;
    j.result_header = header;
    j.result_rows = rows;
    j.result_offsets = offsets;
    j.state = JobState::JobComplete;
    j.processing_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    j.modstamp = format_datetime(chrono::Utc::now());
}

/// One CSV cell. Datetimes take Bulk's form, `2023-10-22T06:25:12.000Z`, where REST writes
/// `+0000`.
fn cell(value: Option<&Value>, field_type: FieldType) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) if field_type == FieldType::DateTime => bulk_datetime(s),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// A stored (REST-form, UTC) datetime in Bulk's form.
fn bulk_datetime(stored: &str) -> String {
    match stored.strip_suffix("+0000") {
        Some(utc) => format!("{utc}Z"),
        None => stored.to_owned(),
    }
}

/// Links per `resultPages` answer, as Salesforce gives them.
const LINKS_PER_ANSWER: usize = 5;

/// One answer of `resultPages`: links to the pages from the one at `locator` (a row offset;
/// the first page without), each of `max_records` rows (default [`DEFAULT_PAGE_RECORDS`]).
/// `maxRecords` is this emulator's addition, so that tests can ask for many small pages.
pub fn result_pages(
    job: &Job,
    version: &str,
    locator: Option<&str>,
    max_records: Option<&str>,
) -> Result<Value, ApiFailure> {
    let total = job.result_offsets.len().saturating_sub(1);
    let start = start_of(locator)?;
    let size = page_size(max_records)?;
    let base = format!("/services/data/v{version}/jobs/query/{}", job.id);
    let mut links = Vec::new();
    let mut at = start;
    // An empty result still has its one (empty) page.
    while links.len() < LINKS_PER_ANSWER
        && (at < total || (at == 0 && total == 0 && links.is_empty()))
    {
        links.push(json!({
            "resultUrl": format!("{base}/results?locator={}&maxRecords={size}", encode_locator(at)),
        }));
        at = at.saturating_add(size);
    }
    let done = at >= total;
    let next = (!done).then(|| {
        format!(
            "{base}/resultPages?locator={}&maxRecords={size}",
            encode_locator(at)
        )
    });
    Ok(json!({"resultPages": links, "nextRecordsUrl": next, "done": done}))
}

fn encode_locator(row: usize) -> String {
    STANDARD_NO_PAD.encode(row.to_string())
}

fn start_of(locator: Option<&str>) -> Result<usize, ApiFailure> {
    match locator.filter(|l| !l.is_empty()) {
        None => Ok(0),
        Some(l) => decode_locator(l).ok_or_else(|| {
            ApiFailure::bad_request("INVALIDLOCATOR", format!("Invalid locator: {l}"))
        }),
    }
}

fn page_size(max_records: Option<&str>) -> Result<usize, ApiFailure> {
    match max_records {
        None => Ok(DEFAULT_PAGE_RECORDS),
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                ApiFailure::new(
                    StatusCode::BAD_REQUEST,
                    "INVALIDPARAMETER",
                    format!("maxRecords must be a positive integer: {text}"),
                )
            }),
    }
}

/// One page of results: the CSV body, the row count and the next locator (`null` at the end).
pub fn page(
    job: &Job,
    locator: Option<&str>,
    max_records: Option<&str>,
) -> Result<(Vec<u8>, usize, String), ApiFailure> {
    let total = job.result_offsets.len().saturating_sub(1);
    let start = start_of(locator)?;
    let size = page_size(max_records)?;
    let start = start.min(total);
    let end = start.saturating_add(size).min(total);
    let from = job.result_offsets.get(start).copied().unwrap_or(0);
    let to = job.result_offsets.get(end).copied().unwrap_or(from);
    let mut body = Vec::with_capacity(job.result_header.len() + (to - from));
    body.extend_from_slice(&job.result_header);
    body.extend_from_slice(job.result_rows.get(from..to).unwrap_or_default());
    let next = if end < total {
        encode_locator(end)
    } else {
        "null".to_owned()
    };
    Ok((body, end - start, next))
}

fn decode_locator(locator: &str) -> Option<usize> {
    let bytes = STANDARD_NO_PAD.decode(locator).ok()?;
    std::str::from_utf8(&bytes).ok()?.parse().ok()
}
