//! The org's bulk jobs and the rules of their life: creation from a job request, uploads within
//! Salesforce's size limit, closing and aborting, deletion, and when results may be read. No
//! HTTP here: responses.rs reads requests into these calls and writes their answers.

use super::ingest;
use super::job::{delimiter_byte, invalid_job, invalid_state, Job, JobKind, JobState, Operation};
use super::query;
use crate::http_kit::failure::ApiFailure;
use crate::model::datetime::format_datetime;
use crate::org::{lock, Org};
use axum::http::StatusCode;
use bytes::Bytes;
use forcelink_wire::RecordId;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

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

/// What a job-creation request asked for, as read from its JSON body.
pub struct NewJob<'a> {
    pub operation: Option<&'a str>,
    pub query: Option<&'a str>,
    pub object: Option<&'a str>,
    pub external_id_field: Option<&'a str>,
    pub column_delimiter: Option<&'a str>,
    pub line_ending: Option<&'a str>,
    pub content_type: Option<&'a str>,
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

    /// The job of this kind with this id (15 or 18 characters).
    pub fn get(&self, kind: JobKind, id: &str) -> Result<Arc<Mutex<Job>>, ApiFailure> {
        let canonical = RecordId::parse(id)
            .map(|i| i.to_string())
            .unwrap_or_default();
        lock(&self.jobs)
            .get(&canonical)
            .filter(|j| lock(j).kind == kind)
            .cloned()
            .ok_or_else(ApiFailure::not_found)
    }

    /// The jobs of one kind, as the list call describes them.
    pub fn list(&self, kind: JobKind) -> Vec<Value> {
        lock(&self.jobs)
            .values()
            .map(|j| lock(j))
            .filter(|j| j.kind == kind)
            .map(|j| j.info(false))
            .collect()
    }

    /// The ingest job `id`, while it still takes uploads.
    pub fn open_ingest_job(&self, id: &str) -> Result<Arc<Mutex<Job>>, ApiFailure> {
        let job = self.get(JobKind::Ingest, id)?;
        if lock(&job).state != JobState::Open {
            return Err(invalid_state(
                "The job is not open for uploads; create a new job",
            ));
        }
        Ok(job)
    }

    /// The largest raw upload whose base64 form stays within the limit.
    pub fn raw_upload_limit(&self) -> usize {
        usize::try_from(self.upload_limit() / 4 * 3).unwrap_or(usize::MAX)
    }

    /// Salesforce's answer to an upload over the limit.
    pub fn upload_too_large(&self) -> ApiFailure {
        ApiFailure::bad_request(
            "ClientInputError",
            format!(
                "Exceeded max file size of {} bytes of base64-encoded data for a job",
                self.upload_limit()
            ),
        )
    }

    /// Keeps an upload's CSV for the job, when it is within the limit and the job still open.
    pub fn add_upload(&self, job: &Arc<Mutex<Job>>, data: Bytes) -> Result<(), ApiFailure> {
        if encoded_size(data.len() as u64) > self.upload_limit() {
            return Err(self.upload_too_large());
        }
        let mut job = lock(job);
        if job.state != JobState::Open {
            return Err(invalid_state("The job is not open for uploads"));
        }
        job.uploads.push(data);
        Ok(())
    }

    /// Removes a job that has ended (or an ingest job waiting its turn).
    pub fn delete(&self, kind: JobKind, id: &str) -> Result<(), ApiFailure> {
        let job = self.get(kind, id)?;
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
        lock(&self.jobs).remove(&job_id);
        Ok(())
    }
}

/// The base64-encoded size of `raw` bytes: what the limit is compared with.
fn encoded_size(raw: u64) -> u64 {
    raw.div_ceil(3) * 4
}

/// Creates a job from its request and answers its description; a query job starts at once.
pub fn create(
    org: &Arc<Org>,
    kind: JobKind,
    version: &str,
    request: &NewJob<'_>,
) -> Result<Value, ApiFailure> {
    let operation_name = request
        .operation
        .ok_or_else(|| invalid_job("operation is required"))?;
    let operation = Operation::parse(operation_name)
        .filter(|op| op.is_query() == (kind == JobKind::Query))
        .ok_or_else(|| invalid_job(format!("Invalid operation: {operation_name}")))?;
    let delimiter = request.column_delimiter.unwrap_or("COMMA");
    if delimiter_byte(delimiter).is_none() {
        return Err(invalid_job(format!("Invalid columnDelimiter: {delimiter}")));
    }
    let line_ending = request.line_ending.unwrap_or("LF");
    if !matches!(line_ending, "LF" | "CRLF") {
        return Err(invalid_job(format!("Invalid lineEnding: {line_ending}")));
    }
    if request.content_type.is_some_and(|c| c != "CSV") {
        return Err(invalid_job("contentType must be CSV"));
    }
    let (object, external_id, snapshot) = if kind == JobKind::Query {
        let soql_text = request
            .query
            .ok_or_else(|| invalid_job("query is required"))?;
        org.log_query(soql_text);
        let snapshot = query::snapshot(&org.store(), soql_text, operation == Operation::QueryAll)?;
        (snapshot.object().to_owned(), None, Some(snapshot))
    } else {
        let name = request
            .object
            .ok_or_else(|| invalid_job("object is required"))?;
        let store = org.store();
        let meta = &store
            .object(name)
            .map_err(|_| invalid_job(format!("Unable to find object: {name}")))?
            .meta;
        let external_id = match (operation, request.external_id_field) {
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
    Ok(info)
}

/// Moves a job to the state asked for (`UploadComplete` starts an ingest job's processing,
/// `Aborted` stops any job that has not ended) and answers its description.
pub fn change_state(
    org: &Arc<Org>,
    job: &Arc<Mutex<Job>>,
    wanted: &str,
) -> Result<Value, ApiFailure> {
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
            Ok(info)
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
            Ok(j.info(false))
        }
        other => Err(invalid_job(format!("Invalid state: {other}"))),
    }
}

/// An ingest job's result CSV, once the job has ended.
pub fn ingest_results<'a>(job: &Job, csv: &'a [u8]) -> Result<&'a [u8], ApiFailure> {
    if !job.state.is_terminal() {
        return Err(invalid_state(format!(
            "Results are available once the job is complete; it is {}",
            job.state.name()
        )));
    }
    Ok(csv)
}

/// Query results are read with the job's API version, once the job is complete.
pub fn readable_results(job: &Job, version: &str) -> Result<(), ApiFailure> {
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
