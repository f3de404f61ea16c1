//! Bulk API 2.0: ingest jobs of any size (split before anything is sent, uploaded from disk,
//! several jobs at once), results streamed as CSV records, and query jobs paged by locator.

mod ingest;
mod query;
mod records;
pub mod split;

pub use ingest::{
    BulkProgress, BulkResult, CancellationToken, IngestOptions, JobOutcome, ProgressHook,
    StagedData, StagedJob,
};
pub use query::{BulkQueryPage, BulkQueryPager};
pub use records::CsvRecordStream;
pub use split::{Chunk, CsvSplitter, LineEnding, SplitCsv, SplitOptions};

use crate::client::{decode_json, Client, RestCall};
use crate::error::{Error, Result};
use crate::resilience::Idempotency;
use crate::transport::UploadFile;
use bytes::Bytes;
use http::Method;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// What an ingest job does with each row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    Insert,
    Update,
    Upsert,
    Delete,
    HardDelete,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Insert => "insert",
            Self::Update => "update",
            Self::Upsert => "upsert",
            Self::Delete => "delete",
            Self::HardDelete => "hardDelete",
        }
    }

    /// `insert`, `update`, `upsert`, `delete`, `hard_delete` / `hardDelete` / `hard-delete`.
    pub fn parse(name: &str) -> Result<Self> {
        Ok(match name {
            "insert" => Self::Insert,
            "update" => Self::Update,
            "upsert" => Self::Upsert,
            "delete" => Self::Delete,
            "hardDelete" | "hard_delete" | "hard-delete" => Self::HardDelete,
            other => {
                return Err(Error::invalid_argument(
                    "operation",
                    format!("{other:?} is not one of insert, update, upsert, delete, hard_delete"),
                ))
            }
        })
    }
}

/// Ingest or query jobs: their paths differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    Ingest,
    Query,
}

impl JobKind {
    fn segment(self) -> &'static str {
        match self {
            Self::Ingest => "ingest",
            Self::Query => "query",
        }
    }
}

/// A job as Salesforce describes it (JobInfo). Counters are present once the job is read back.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobInfo {
    pub id: String,
    pub operation: String,
    #[serde(default)]
    pub object: String,
    pub state: String,
    #[serde(default)]
    pub external_id_field_name: Option<String>,
    #[serde(default)]
    pub line_ending: Option<String>,
    #[serde(default)]
    pub column_delimiter: Option<String>,
    #[serde(default)]
    pub api_version: Option<f64>,
    #[serde(default)]
    pub created_date: Option<String>,
    #[serde(default)]
    pub system_modstamp: Option<String>,
    #[serde(default)]
    pub number_records_processed: u64,
    #[serde(default)]
    pub number_records_failed: u64,
    #[serde(default)]
    pub error_message: Option<String>,
    #[serde(default)]
    pub total_processing_time: Option<u64>,
    #[serde(default)]
    pub created_by_id: Option<String>,
}

impl JobInfo {
    /// JobComplete, Failed or Aborted.
    pub fn is_terminal(&self) -> bool {
        matches!(self.state.as_str(), "JobComplete" | "Failed" | "Aborted")
    }
}

/// Which result file of an ingest job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultKind {
    Successful,
    Failed,
    Unprocessed,
}

impl ResultKind {
    fn segment(self) -> &'static str {
        match self {
            Self::Successful => "successfulResults",
            Self::Failed => "failedResults",
            Self::Unprocessed => "unprocessedrecords",
        }
    }
}

/// How to wait for a job: adaptive polling under a total timeout.
#[derive(Debug, Clone)]
pub struct PollOptions {
    /// The first wait, and the shortest.
    pub initial: Duration,
    /// The longest wait between two polls.
    pub max: Duration,
    /// Give up waiting (the job goes on) after this long.
    pub timeout: Duration,
}

impl Default for PollOptions {
    fn default() -> Self {
        Self {
            // Short, so that a job that finishes within seconds is seen to finish soon after;
            // the waits grow from here (or follow the job's pace), so a long job is not polled
            // this often.
            initial: Duration::from_millis(100),
            max: Duration::from_secs(10),
            timeout: Duration::from_secs(2 * 3600),
        }
    }
}

/// Bulk API 2.0 calls (`client.bulk()`).
pub struct Bulk<'a> {
    client: &'a Client,
}

/// Bulk API answers an unknown object with `INVALIDJOB` ("Unable to find object: X"); it is
/// the same mistake REST calls `INVALID_TYPE`, so it gets that kind (the code stays verbatim).
fn unknown_object_is_invalid_type(mut error: Error) -> Error {
    if let Error::Api(api) = &mut error {
        if api.error_code == "INVALIDJOB" && api.message.contains("Unable to find object") {
            api.kind = crate::error::ErrorKind::InvalidType;
        }
    }
    error
}

impl<'a> Bulk<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    #[cfg(feature = "arrow")]
    pub(crate) fn client(&self) -> &'a Client {
        self.client
    }

    fn job_url(&self, kind: JobKind, id: Option<&str>, tail: &[&str]) -> Result<url::Url> {
        let mut segments = vec!["jobs", kind.segment()];
        if let Some(id) = id {
            check_job_id(id)?;
            segments.push(id);
        }
        segments.extend_from_slice(tail);
        self.client.data_url(&segments)
    }

    async fn json_call(
        &self,
        method: Method,
        url: url::Url,
        body: Option<serde_json::Value>,
        idempotency: Idempotency,
    ) -> Result<JobInfo> {
        let body = body.map(|b| Bytes::from(b.to_string()));
        let response = self
            .client
            .execute(RestCall::new(method, url, body, idempotency))
            .await?;
        decode_json(&response)
    }

    /// Creates an ingest job (state Open).
    pub async fn create_ingest_job(
        &self,
        object: &str,
        operation: Operation,
        external_id_field: Option<&str>,
        delimiter: u8,
        line_ending: LineEnding,
    ) -> Result<JobInfo> {
        crate::sobjects::check_name("object", object)?;
        let mut body = serde_json::json!({
            "object": object,
            "operation": operation.as_str(),
            "contentType": "CSV",
            "columnDelimiter": delimiter_name(delimiter)?,
            "lineEnding": line_ending.as_str(),
        });
        match (operation, external_id_field) {
            (Operation::Upsert, Some(field)) => {
                crate::sobjects::check_name("external_id_field", field)?;
                body["externalIdFieldName"] = serde_json::Value::String(field.to_owned());
            }
            (Operation::Upsert, None) => {
                return Err(Error::invalid_argument(
                    "external_id_field",
                    "an upsert needs the external id field",
                ))
            }
            _ => {}
        }
        let url = self.job_url(JobKind::Ingest, None, &[])?;
        // Creating a job twice is harmless only while nothing is uploaded: the orchestrator
        // never reuses a job it did not see created, so a POST is retried only unsent.
        self.json_call(Method::POST, url, Some(body), Idempotency::NonIdempotent)
            .await
            .map_err(unknown_object_is_invalid_type)
    }

    /// Uploads a job's CSV from a file, streamed from disk.
    pub async fn upload_file(&self, job_id: &str, path: &std::path::Path) -> Result<()> {
        let len = std::fs::metadata(path)
            .map_err(|e| Error::invalid_argument("data", format!("{}: {e}", path.display())))?
            .len();
        let url = self.job_url(JobKind::Ingest, Some(job_id), &["batches"])?;
        let mut call = RestCall::new(Method::PUT, url, None, Idempotency::NonIdempotent);
        call.content_type = "text/csv";
        call.upload = Some(UploadFile {
            path: std::sync::Arc::new(path.to_path_buf()),
            len,
            prefix: Bytes::new(),
            suffix: Bytes::new(),
        });
        self.client.execute(call).await?;
        Ok(())
    }

    /// Uploads a job's CSV held in memory.
    pub async fn upload_bytes(&self, job_id: &str, csv: Bytes) -> Result<()> {
        let url = self.job_url(JobKind::Ingest, Some(job_id), &["batches"])?;
        let mut call = RestCall::new(Method::PUT, url, Some(csv), Idempotency::NonIdempotent);
        call.content_type = "text/csv";
        self.client.execute(call).await?;
        Ok(())
    }

    async fn set_state(&self, kind: JobKind, job_id: &str, state: &str) -> Result<JobInfo> {
        let url = self.job_url(kind, Some(job_id), &[])?;
        // Setting the same state twice is a no-op or a clear error, so the PATCH may be retried.
        self.json_call(
            Method::PATCH,
            url,
            Some(serde_json::json!({ "state": state })),
            Idempotency::Idempotent,
        )
        .await
    }

    /// Marks the upload complete: Salesforce starts processing.
    pub async fn close_job(&self, job_id: &str) -> Result<JobInfo> {
        self.set_state(JobKind::Ingest, job_id, "UploadComplete")
            .await
    }

    /// Aborts a job; rows not yet processed stay unprocessed.
    pub async fn abort_job(&self, kind: JobKind, job_id: &str) -> Result<JobInfo> {
        self.set_state(kind, job_id, "Aborted").await
    }

    /// Deletes a finished job and its results.
    pub async fn delete_job(&self, kind: JobKind, job_id: &str) -> Result<()> {
        let url = self.job_url(kind, Some(job_id), &[])?;
        self.client
            .execute(RestCall::new(
                Method::DELETE,
                url,
                None,
                Idempotency::Idempotent,
            ))
            .await?;
        Ok(())
    }

    /// A job's current JobInfo.
    pub async fn job_info(&self, kind: JobKind, job_id: &str) -> Result<JobInfo> {
        let url = self.job_url(kind, Some(job_id), &[])?;
        self.json_call(Method::GET, url, None, Idempotency::Idempotent)
            .await
    }

    /// Every job of the org of this kind (`GET /jobs/ingest` or `/jobs/query`, every page).
    pub async fn list_jobs(&self, kind: JobKind) -> Result<Vec<JobInfo>> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Listing {
            #[serde(default)]
            records: Vec<JobInfo>,
            #[serde(default)]
            next_records_url: Option<String>,
        }
        let mut url = self.job_url(kind, None, &[])?;
        let mut jobs = Vec::new();
        // Pages of up to 1,000 jobs; a bound keeps a looping answer from running forever.
        for _ in 0..10_000 {
            let page: Listing = self.client.get_json(url).await?;
            jobs.extend(page.records);
            match page.next_records_url {
                Some(next) => url = self.client.resolve_path(&next)?,
                None => return Ok(jobs),
            }
        }
        Ok(jobs)
    }

    /// Polls until the job is JobComplete, Failed or Aborted. `expected_records` (when known)
    /// lets the wait follow the job's own pace: the next poll comes after half the time the rest
    /// should take, never sooner than `initial` nor later than `max`. On timeout the job is left
    /// running.
    pub async fn wait(
        &self,
        kind: JobKind,
        job_id: &str,
        poll: &PollOptions,
        expected_records: Option<u64>,
        mut on_state: impl FnMut(&JobInfo),
    ) -> Result<JobInfo> {
        let started = Instant::now();
        let mut backoff = poll.initial;
        let mut last_state = String::new();
        loop {
            let info = self.job_info(kind, job_id).await?;
            on_state(&info);
            observe_job(&info, &mut last_state, expected_records);
            if info.is_terminal() {
                return Ok(info);
            }
            let elapsed = started.elapsed();
            if elapsed >= poll.timeout {
                return Err(Error::BulkTimeout {
                    job_ids: vec![job_id.to_owned()],
                    waited_secs: elapsed.as_secs_f64(),
                });
            }
            let paced = match expected_records {
                Some(total) if info.number_records_processed > 0 && elapsed.as_secs_f64() > 0.0 => {
                    let rate = info.number_records_processed as f64 / elapsed.as_secs_f64();
                    let left = total.saturating_sub(info.number_records_processed) as f64;
                    // Half the predicted remainder: counters move in 10k-record steps, so the
                    // rate is a rough guess; halving closes in on the end without oversleeping it.
                    Some(Duration::from_secs_f64(
                        (left / rate / 2.0).min(poll.max.as_secs_f64()),
                    ))
                }
                _ => None,
            };
            let delay = paced
                .unwrap_or(backoff)
                .clamp(poll.initial, poll.max)
                .min(poll.timeout.saturating_sub(elapsed));
            backoff = (backoff * 3 / 2).min(poll.max);
            tokio::time::sleep(delay).await;
        }
    }

    /// An ingest job's result file as CSV records, read as they arrive.
    pub async fn ingest_results(&self, job_id: &str, which: ResultKind) -> Result<CsvRecordStream> {
        let info = self.job_info(JobKind::Ingest, job_id).await?;
        self.ingest_results_of(&info, which).await
    }

    /// [`Bulk::ingest_results`] for a job whose JobInfo is at hand (no request to read it).
    pub async fn ingest_results_of(
        &self,
        job: &JobInfo,
        which: ResultKind,
    ) -> Result<CsvRecordStream> {
        let url = self.job_url(JobKind::Ingest, Some(&job.id), &[which.segment()])?;
        let delimiter = job
            .column_delimiter
            .as_deref()
            .and_then(delimiter_byte)
            .unwrap_or(b',');
        let mut call = RestCall::new(Method::GET, url, None, Idempotency::Idempotent);
        call.accept = "text/csv";
        call.stream_response = true;
        let response = self.client.execute_streaming(call).await?;
        Ok(CsvRecordStream::new(response.body, delimiter))
    }

    /// Splits `source` and loads it with as many jobs as it takes (see [`IngestOptions`]).
    pub async fn ingest(
        &self,
        object: &str,
        operation: Operation,
        split: SplitCsv,
        options: &IngestOptions,
    ) -> Result<BulkResult> {
        ingest::run(self.client, object, operation, split, options).await
    }

    /// Waits for jobs created earlier (by id) and gathers their result.
    pub async fn resume(&self, job_ids: &[String], options: &IngestOptions) -> Result<BulkResult> {
        ingest::resume(self.client, job_ids, options).await
    }

    /// Creates an ingest job, uploads `csv` (a header and `records` rows, within the upload
    /// limit; in memory or a file) and leaves the job open: nothing of it is processed until
    /// [`Bulk::commit_staged`] closes it, and [`Bulk::abort_staged`] can drop it whole. A job
    /// whose upload fails is aborted before the error is returned.
    pub async fn stage(
        &self,
        object: &str,
        operation: Operation,
        external_id_field: Option<&str>,
        csv: StagedData,
        records: u64,
    ) -> Result<StagedJob> {
        ingest::stage(
            self.client,
            object,
            operation,
            external_id_field,
            csv,
            records,
        )
        .await
    }

    /// Closes staged jobs (those still open) and waits for them all; the result counts what
    /// each job processed, failed and left unprocessed.
    pub async fn commit_staged(
        &self,
        jobs: &[StagedJob],
        options: &IngestOptions,
    ) -> Result<BulkResult> {
        ingest::commit_staged(self.client, jobs, options).await
    }

    /// Aborts the jobs that have not ended (open ones never ran); returns the ids aborted.
    pub async fn abort_staged(&self, job_ids: &[String]) -> Result<Vec<String>> {
        ingest::abort_staged(self.client, job_ids).await
    }

    /// Creates a query job (`queryAll` includes deleted rows) and waits for it to complete;
    /// returns a pager over its results.
    pub async fn query(
        &self,
        soql: &str,
        all_rows: bool,
        max_records: Option<u64>,
        poll: &PollOptions,
    ) -> Result<BulkQueryPager> {
        query::start(self.client, soql, all_rows, max_records, poll).await
    }
}

fn delimiter_name(delimiter: u8) -> Result<&'static str> {
    split::delimiter_name(delimiter).ok_or_else(|| {
        Error::invalid_argument("column_delimiter", "must be one of , ` ^ | ; and tab")
    })
}

pub(crate) use forcelink_wire::delimiter_byte;

/// Job ids are record ids (prefix 750); anything else would change the URL's shape.
fn check_job_id(id: &str) -> Result<()> {
    forcelink_wire::RecordId::parse(id)
        .map(|_| ())
        .map_err(|e| Error::invalid_argument("job_id", format!("{id:?} is not a job id: {e}")))
}

/// Logs a job's state changes (INFO) and progress (DEBUG), and counts an ingest job's records by
/// result when it ends.
fn observe_job(info: &JobInfo, last_state: &mut String, expected_records: Option<u64>) {
    let processed = info.number_records_processed;
    let failed = info.number_records_failed;
    if *last_state != info.state {
        tracing::info!(
            target: "forcelink::bulk",
            job_id = %info.id,
            operation = %info.operation,
            object = %info.object,
            state = %info.state,
            processed,
            failed,
            "bulk job state"
        );
        last_state.clone_from(&info.state);
    } else {
        tracing::debug!(
            target: "forcelink::bulk",
            job_id = %info.id,
            state = %info.state,
            processed,
            failed,
            "bulk job progress"
        );
    }
    if info.is_terminal() && !info.operation.starts_with("query") {
        let operation = info.operation.as_str();
        crate::metrics::record_bulk_records(operation, "success", processed.saturating_sub(failed));
        crate::metrics::record_bulk_records(operation, "failed", failed);
        if let Some(sent) = expected_records {
            crate::metrics::record_bulk_records(
                operation,
                "unprocessed",
                sent.saturating_sub(processed),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn operations_read_every_spelling_and_write_salesforce_s() {
        for (names, op) in [
            (&["insert"][..], Operation::Insert),
            (&["update"], Operation::Update),
            (&["upsert"], Operation::Upsert),
            (&["delete"], Operation::Delete),
            (
                &["hardDelete", "hard_delete", "hard-delete"],
                Operation::HardDelete,
            ),
        ] {
            for name in names {
                assert_eq!(Operation::parse(name).unwrap(), op);
            }
            assert_eq!(Operation::parse(op.as_str()).unwrap(), op);
        }
        assert_eq!(Operation::HardDelete.as_str(), "hardDelete");
        assert!(matches!(
            Operation::parse("merge"),
            Err(Error::InvalidArgument { .. })
        ));
    }
}
