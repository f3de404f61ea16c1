//! The ingest orchestrator: one job per split file, several at once (bounded), each created,
//! uploaded from disk, closed and waited for. A failed upload aborts only its own still-open job
//! (nothing of it was processed) and loads the file again with a new job, so no record is lost or
//! loaded twice. Waiting never aborts or deletes a job: on timeout the ids are handed back.
//!
//! A load can be interrupted (Ctrl-C) through its cancellation token: no job is started after,
//! a job still open (being uploaded, so nothing of it is processed) is aborted and its rows are
//! reported unsent, and a job already closed keeps running at Salesforce and is named for
//! `resume`. Loading the unsent rows and resuming those jobs then loads each row exactly once.

use super::split::{Chunk, SplitCsv};
use super::{Bulk, JobInfo, JobKind, Operation, PollOptions};
use crate::client::Client;
use crate::error::{Error, Result};
use futures::StreamExt;
use std::sync::Arc;
use std::time::Instant;
pub use tokio_util::sync::CancellationToken;

/// What happens during a load, for progress bars and logs.
#[derive(Debug, Clone, PartialEq)]
pub enum BulkProgress {
    /// The input was checked and split.
    Split {
        records: u64,
        bytes: u64,
        jobs: usize,
    },
    JobCreated {
        job_id: String,
        records: u64,
    },
    Uploaded {
        job_id: String,
        bytes: u64,
    },
    JobState {
        job_id: String,
        state: String,
        processed: u64,
        failed: u64,
    },
}

pub type ProgressHook = Arc<dyn Fn(&BulkProgress) + Send + Sync>;

/// How to load.
#[derive(Clone)]
pub struct IngestOptions {
    pub external_id_field: Option<String>,
    /// Jobs in flight at once.
    pub parallelism: usize,
    pub poll: PollOptions,
    pub progress: Option<ProgressHook>,
    /// Cancelled to interrupt the load: it then ends with [`Error::BulkIncomplete`] whose
    /// cause is [`Error::Interrupted`].
    pub cancel: Option<CancellationToken>,
}

impl Default for IngestOptions {
    fn default() -> Self {
        Self {
            external_id_field: None,
            parallelism: 4,
            poll: PollOptions::default(),
            progress: None,
            cancel: None,
        }
    }
}

impl std::fmt::Debug for IngestOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestOptions")
            .field("external_id_field", &self.external_id_field)
            .field("parallelism", &self.parallelism)
            .field("poll", &self.poll)
            .finish_non_exhaustive()
    }
}

/// One job of a load and how many records were sent with it (unknown for resumed jobs).
#[derive(Debug, Clone, PartialEq)]
pub struct JobOutcome {
    pub info: JobInfo,
    pub records_sent: Option<u64>,
}

/// The result of a load: its jobs, in input order, and their counts.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkResult {
    pub jobs: Vec<JobOutcome>,
}

impl BulkResult {
    pub fn job_ids(&self) -> Vec<String> {
        self.jobs.iter().map(|j| j.info.id.clone()).collect()
    }

    /// Rows Salesforce processed, failed ones included (its `numberRecordsProcessed`).
    pub fn records_processed(&self) -> u64 {
        self.jobs
            .iter()
            .map(|j| j.info.number_records_processed)
            .sum()
    }

    pub fn records_failed(&self) -> u64 {
        self.jobs.iter().map(|j| j.info.number_records_failed).sum()
    }

    pub fn records_successful(&self) -> u64 {
        self.records_processed()
            .saturating_sub(self.records_failed())
    }

    /// Rows sent but never attempted (the job failed or was aborted), where the count sent is
    /// known.
    pub fn records_unprocessed(&self) -> u64 {
        self.jobs
            .iter()
            .filter_map(|j| {
                j.records_sent
                    .map(|sent| sent.saturating_sub(j.info.number_records_processed))
            })
            .sum()
    }
}

/// A chunk whose load did not finish. With `job_id`, its job held the data and was (or may have
/// been) closed, so it may run to the end without us: its rows are not unsent, and the job is
/// named so the caller can resume it. Without, nothing of the chunk can run.
struct ChunkFailed {
    job_id: Option<String>,
    /// The job's state as last seen.
    state: String,
    error: Error,
}

impl From<Error> for ChunkFailed {
    fn from(error: Error) -> Self {
        Self {
            job_id: None,
            state: String::new(),
            error,
        }
    }
}

impl ChunkFailed {
    fn in_flight(job_id: &str, state: &str, error: Error) -> Self {
        Self {
            job_id: Some(job_id.to_owned()),
            state: state.to_owned(),
            error,
        }
    }
}

/// Data rows of the input, as (first, last) pairs counted from 1.
type RowRanges = Vec<(u64, u64)>;
type ChunkOutcome = std::result::Result<JobOutcome, ChunkFailed>;

fn emit(options: &IngestOptions, event: BulkProgress) {
    if let Some(hook) = &options.progress {
        hook(&event);
    }
}

pub(super) async fn run(
    client: &Client,
    object: &str,
    operation: Operation,
    split: SplitCsv,
    options: &IngestOptions,
) -> Result<BulkResult> {
    if options.parallelism == 0 {
        return Err(Error::invalid_argument("parallelism", "must be at least 1"));
    }
    if split.records == 0 {
        return Err(Error::invalid_argument(
            "data",
            "there are no records to load",
        ));
    }
    emit(
        options,
        BulkProgress::Split {
            records: split.records,
            bytes: split.bytes,
            jobs: split.chunks.len(),
        },
    );
    let deadline = Instant::now() + options.poll.timeout;
    let cancel = options.cancel.clone().unwrap_or_default();
    let load = |chunk: Chunk| {
        let split = &split;
        let rows = chunk.rows.clone();
        let cancel = &cancel;
        async move {
            let outcome = load_chunk(
                client, object, operation, split, chunk, options, deadline, cancel,
            );
            (rows, outcome.await)
        }
    };
    let mut chunks = split.chunks.clone().into_iter();
    // The first job alone: a wrong object, field or permission shows there, before more jobs.
    let Some(first) = chunks.next() else {
        return Err(Error::invalid_argument(
            "data",
            "there are no records to load",
        ));
    };
    let mut outcomes = vec![load(first).await];
    // A first job refused before it held data stops the load; one that may be running does
    // not, and an interrupt lets the rest be counted unsent.
    if matches!(
        outcomes.first(),
        Some((_, Err(ChunkFailed { job_id: None, error, .. }))) if !matches!(error, Error::Interrupted)
    ) {
        if let Some((_, Err(failed))) = outcomes.pop() {
            return Err(failed.error);
        }
    }
    let rest: Vec<_> = futures::stream::iter(chunks.map(load))
        .buffered(options.parallelism)
        .collect()
        .await;
    outcomes.extend(rest);
    gather(outcomes, cancel.is_cancelled())
}

/// Turns per-job outcomes (with each job's row count, in input order) into a result. When a
/// job could not be loaded while others ran, the error says which jobs ran and which rows were
/// not loaded, so a re-run of just those duplicates nothing; a job that holds its data but whose
/// end was not seen is named among the jobs (to resume), and its rows are not called unsent.
/// When waiting timed out, it names every job created (so the whole load can be resumed).
/// An interrupted load always ends so, naming what ran and what was not sent, with
/// [`Error::Interrupted`] as the cause.
fn gather(outcomes: Vec<(RowRanges, ChunkOutcome)>, interrupted: bool) -> Result<BulkResult> {
    let mut jobs = Vec::with_capacity(outcomes.len());
    let mut timed_out: Vec<(String, String)> = Vec::new();
    let mut in_flight: Vec<(String, String)> = Vec::new();
    let mut waited = 0.0f64;
    let mut first_error = None;
    let mut unsent_rows: Vec<(u64, u64)> = Vec::new();
    for (rows, outcome) in outcomes {
        match outcome {
            Ok(job) => jobs.push(job),
            Err(ChunkFailed {
                error:
                    Error::BulkTimeout {
                        job_ids,
                        waited_secs,
                    },
                state,
                ..
            }) => {
                timed_out.extend(job_ids.into_iter().map(|id| (id, state.clone())));
                waited = waited.max(waited_secs);
            }
            Err(ChunkFailed {
                job_id: Some(id),
                state,
                error,
            }) => {
                first_error.get_or_insert(error);
                in_flight.push((id, state));
            }
            Err(ChunkFailed {
                job_id: None,
                error,
                ..
            }) => {
                first_error.get_or_insert(error);
                for (first, last) in rows {
                    // Neighbouring chunks' rows read as one range.
                    match unsent_rows.last_mut() {
                        Some((_, end)) if *end + 1 == first => *end = last,
                        _ => unsent_rows.push((first, last)),
                    }
                }
            }
        }
    }
    if interrupted {
        first_error = Some(Error::Interrupted);
    }
    if let Some(cause) = first_error {
        let nothing_ran = jobs.is_empty() && timed_out.is_empty() && in_flight.is_empty();
        if nothing_ran && !interrupted {
            return Err(cause);
        }
        let mut named: Vec<(String, String)> = jobs
            .iter()
            .map(|j| (j.info.id.clone(), j.info.state.clone()))
            .collect();
        named.extend(timed_out);
        named.extend(in_flight);
        let (job_ids, job_states): (Vec<String>, Vec<String>) = named.into_iter().unzip();
        if interrupted {
            // An async caller that cancelled never sees the error: the log keeps what to resume.
            tracing::warn!(
                target: "forcelink::bulk",
                job_ids = ?job_ids,
                unsent_rows = ?unsent_rows,
                "bulk load interrupted: resume the jobs and load the unsent rows"
            );
        }
        return Err(Error::BulkIncomplete {
            job_ids,
            job_states,
            records_processed: jobs.iter().map(|j| j.info.number_records_processed).sum(),
            records_failed: jobs.iter().map(|j| j.info.number_records_failed).sum(),
            unsent_rows,
            cause: Box::new(cause),
        });
    }
    if !timed_out.is_empty() {
        let mut all: Vec<String> = jobs.iter().map(|j| j.info.id.clone()).collect();
        all.extend(timed_out.into_iter().map(|(id, _)| id));
        return Err(Error::BulkTimeout {
            job_ids: all,
            waited_secs: waited,
        });
    }
    Ok(BulkResult { jobs })
}

fn retryable(error: &Error) -> bool {
    match error {
        Error::Transport(_) => true,
        Error::Api(api) => api.status >= 500,
        _ => false,
    }
}

#[allow(clippy::too_many_arguments)]
async fn load_chunk(
    client: &Client,
    object: &str,
    operation: Operation,
    split: &SplitCsv,
    chunk: Chunk,
    options: &IngestOptions,
    deadline: Instant,
    cancel: &CancellationToken,
) -> std::result::Result<JobOutcome, ChunkFailed> {
    let bulk = Bulk::new(client);
    let attempts = client.config().retry.max_attempts.max(1);
    let mut attempt = 0;
    let job = loop {
        attempt += 1;
        // A job whose creation is cut short holds no data: open, it never runs.
        let job = tokio::select! {
            biased;
            () = cancel.cancelled() => return Err(Error::Interrupted.into()),
            job = bulk.create_ingest_job(
                object,
                operation,
                options.external_id_field.as_deref(),
                split.delimiter,
                split.line_ending,
            ) => job?,
        };
        emit(
            options,
            BulkProgress::JobCreated {
                job_id: job.id.clone(),
                records: chunk.records,
            },
        );
        let path: &std::path::Path = chunk.path.as_ref();
        let uploaded = tokio::select! {
            biased;
            () = cancel.cancelled() => Err(Error::Interrupted),
            uploaded = bulk.upload_file(&job.id, path) => uploaded,
        };
        if uploaded.is_ok() && !cancel.is_cancelled() {
            break job;
        }
        // The job is still Open, so nothing of it was processed: abort it and, where the
        // failure was the network's or the server's and no interrupt came, load the same file
        // with a new job.
        let _ = bulk.abort_job(JobKind::Ingest, &job.id).await;
        let error = uploaded.err().unwrap_or(Error::Interrupted);
        if cancel.is_cancelled() || !retryable(&error) || attempt >= attempts {
            return Err(error.into());
        }
    };
    emit(
        options,
        BulkProgress::Uploaded {
            job_id: job.id.clone(),
            bytes: chunk.bytes,
        },
    );
    // A close whose answer was lost may have gone through: from here the job may run. The close
    // itself is not cut short by an interrupt, so that the job's fate is known.
    let mut state = "UploadComplete".to_owned();
    bulk.close_job(&job.id)
        .await
        .map_err(|e| ChunkFailed::in_flight(&job.id, &state, e))?;
    if cancel.is_cancelled() {
        return Err(ChunkFailed::in_flight(&job.id, &state, Error::Interrupted));
    }
    let poll = PollOptions {
        timeout: deadline.saturating_duration_since(Instant::now()),
        ..options.poll.clone()
    };
    let waited = tokio::select! {
        biased;
        () = cancel.cancelled() => Err(Error::Interrupted),
        info = bulk.wait(
            JobKind::Ingest,
            &job.id,
            &poll,
            Some(chunk.records),
            |info| {
                state.clone_from(&info.state);
                emit(
                    options,
                    BulkProgress::JobState {
                        job_id: info.id.clone(),
                        state: info.state.clone(),
                        processed: info.number_records_processed,
                        failed: info.number_records_failed,
                    },
                );
            },
        ) => info,
    };
    let info = waited.map_err(|e| ChunkFailed::in_flight(&job.id, &state, e))?;
    Ok(JobOutcome {
        info,
        records_sent: Some(chunk.records),
    })
}

pub(super) async fn resume(
    client: &Client,
    job_ids: &[String],
    options: &IngestOptions,
) -> Result<BulkResult> {
    let bulk = Bulk::new(client);
    let deadline = Instant::now() + options.poll.timeout;
    let mut outcomes = Vec::with_capacity(job_ids.len());
    for id in job_ids {
        let poll = PollOptions {
            timeout: deadline.saturating_duration_since(Instant::now()),
            ..options.poll.clone()
        };
        let mut state = String::new();
        let outcome = bulk
            .wait(JobKind::Ingest, id, &poll, None, |info| {
                state.clone_from(&info.state);
            })
            .await
            .map(|info| JobOutcome {
                info,
                records_sent: None,
            })
            .map_err(|e| ChunkFailed::in_flight(id, &state, e));
        // A job resumed by id has no rows of this caller's input to name.
        outcomes.push((Vec::new(), outcome));
    }
    gather(outcomes, false)
}

/// A job uploaded and left open by [`Bulk::stage`]: nothing of it is processed until it is
/// closed, so it can still be abandoned whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedJob {
    pub job_id: String,
    /// Rows uploaded to it.
    pub records: u64,
}

/// What a staged job uploads: CSV in memory, or a file of it (streamed from disk).
#[derive(Debug, Clone)]
pub enum StagedData {
    Bytes(bytes::Bytes),
    File(std::path::PathBuf),
}

pub(super) async fn stage(
    client: &Client,
    object: &str,
    operation: Operation,
    external_id_field: Option<&str>,
    csv: StagedData,
    records: u64,
) -> Result<StagedJob> {
    let bulk = Bulk::new(client);
    let job = bulk
        .create_ingest_job(
            object,
            operation,
            external_id_field,
            b',',
            super::LineEnding::Lf,
        )
        .await?;
    let uploaded = match csv {
        StagedData::Bytes(bytes) => bulk.upload_bytes(&job.id, bytes).await,
        StagedData::File(path) => bulk.upload_file(&job.id, &path).await,
    };
    if let Err(error) = uploaded {
        // Open, so nothing of it ran: aborting it leaves no trace of the rows.
        if let Err(abort) = bulk.abort_job(JobKind::Ingest, &job.id).await {
            tracing::warn!(target: "forcelink::bulk", job_id = %job.id, error = %abort, "could not abort a job whose upload failed");
        }
        return Err(error);
    }
    Ok(StagedJob {
        job_id: job.id,
        records,
    })
}

/// Closes every staged job still open, then waits for each; a job already closed (a commit
/// tried again) is waited for as it is.
pub(super) async fn commit_staged(
    client: &Client,
    jobs: &[StagedJob],
    options: &IngestOptions,
) -> Result<BulkResult> {
    let bulk = Bulk::new(client);
    for job in jobs {
        let info = bulk.job_info(JobKind::Ingest, &job.job_id).await?;
        if info.state == "Open" {
            bulk.close_job(&job.job_id).await?;
        }
    }
    let deadline = Instant::now() + options.poll.timeout;
    let mut outcomes = Vec::with_capacity(jobs.len());
    for job in jobs {
        let poll = PollOptions {
            timeout: deadline.saturating_duration_since(Instant::now()),
            ..options.poll.clone()
        };
        let mut state = "UploadComplete".to_owned();
        let outcome = bulk
            .wait(
                JobKind::Ingest,
                &job.job_id,
                &poll,
                Some(job.records),
                |info| state.clone_from(&info.state),
            )
            .await
            .map(|info| JobOutcome {
                info,
                records_sent: Some(job.records),
            })
            .map_err(|e| ChunkFailed::in_flight(&job.job_id, &state, e));
        // Every staged job holds its data: none has rows to call unsent.
        outcomes.push((Vec::new(), outcome));
    }
    gather(outcomes, false)
}

/// Aborts each job that has not ended; returns the ids it aborted. A job that ended already
/// (or is gone) is left as it is.
pub(super) async fn abort_staged(client: &Client, job_ids: &[String]) -> Result<Vec<String>> {
    let bulk = Bulk::new(client);
    let mut aborted = Vec::new();
    for id in job_ids {
        let info = match bulk.job_info(JobKind::Ingest, id).await {
            Ok(info) => info,
            Err(Error::Api(e)) if e.status == 404 => continue,
            Err(e) => return Err(e),
        };
        if info.is_terminal() {
            continue;
        }
        bulk.abort_job(JobKind::Ingest, id).await?;
        aborted.push(id.clone());
    }
    Ok(aborted)
}
