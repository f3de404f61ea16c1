//! Processing an ingest job in the background: header checks that fail the whole job, then rows
//! applied in 10,000-record batches, each under one store lock, with results written as it goes.
//! A second thread reads and prepares the next batch meanwhile (`reading`: CSV, value checks,
//! for inserts the defaults and system fields, and each row quoted for the results), so the lock
//! covers only what reads other records: references, unique values, ids, storage, events.

use super::job::{write_quoted, Columns, Job, JobSpec, JobState, Operation};
use super::reading::{cells, insert_plan, read_ahead, Batch, QuotedRows};
use crate::http_kit::failure::ApiFailure;
use crate::model::datetime::format_datetime;
use crate::model::record::Fields;
use crate::model::schema::{FieldMeta, FieldType};
use crate::model::store::{Store, UpsertOutcome};
use crate::org::{lock, Org};
use bytes::Bytes;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Instant;

/// Runs a closed ingest job to its end; called on a blocking thread.
pub fn process(org: &Org, job: &Arc<Mutex<Job>>) {
    let _turn = org.bulk.ingest_turn();
    let started = Instant::now();
    let (spec, data) = {
        let mut j = lock(job);
        if j.state == JobState::Aborted && j.unprocessed.is_empty() {
            // Aborted before processing began: every row stays unprocessed.
            let data = j.uploads.first().cloned().unwrap_or_default();
            j.unprocessed.extend_from_slice(&data);
        }
        if j.state != JobState::UploadComplete {
            return;
        }
        j.state = JobState::InProgress;
        j.modstamp = format_datetime(chrono::Utc::now());
        let spec = JobSpec {
            operation: j.operation,
            object: j.object.clone(),
            external_id: j.external_id.clone(),
            delimiter: j.delimiter(),
            terminator: j.terminator(),
            crlf: j.line_ending == "CRLF",
        };
        (spec, j.uploads.first().cloned().unwrap_or_default())
    };
    let outcome = run(org, job, &spec, &data);
    let mut j = lock(job);
    j.processing_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    j.modstamp = format_datetime(chrono::Utc::now());
    if let Err(message) = outcome {
        if j.state != JobState::Aborted {
            j.state = JobState::Failed;
            j.error_message = Some(message);
        }
    } else if j.state == JobState::InProgress {
        j.state = JobState::JobComplete;
    }
}

fn fail_whole(job: &Arc<Mutex<Job>>, data: &Bytes, message: String) -> Result<(), String> {
    lock(job).unprocessed.extend_from_slice(data);
    Err(message)
}

fn run(org: &Org, job: &Arc<Mutex<Job>>, spec: &JobSpec, data: &Bytes) -> Result<(), String> {
    let body = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    if let Some(newline) = first_newline(body) {
        let has_cr = newline > 0 && body.get(newline - 1) == Some(&b'\r');
        if has_cr != spec.crlf {
            let setting = if spec.crlf { "CRLF" } else { "LF" };
            return fail_whole(
                job,
                data,
                format!("ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is {setting}"),
            );
        }
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(spec.delimiter)
        .has_headers(true)
        .from_reader(body);
    let header = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => return fail_whole(job, data, format!("ClientInputError : {e}")),
    };
    let columns = match check_header(&org.store(), spec, &header) {
        Ok(c) => c,
        Err(message) => return fail_whole(job, data, message),
    };
    write_result_headers(job, spec, &columns);
    // Successful rows repeat the input quoted, with an id and a flag in front: room for them up
    // front saves copying a file of a hundred megabytes as it doubles. Twice the input is more
    // than they take; room never written to costs no memory.
    lock(job).successful.reserve(body.len().saturating_mul(2));
    let duplicates = if spec.operation == Operation::Upsert {
        duplicate_keys(body, spec, &columns)
    } else {
        HashMap::new()
    };
    let origin = format!("com/salesforce/api/bulkapi/{}", lock(job).api_version);
    let insert = (spec.operation == Operation::Insert)
        .then(|| insert_plan(org, spec))
        .flatten();
    let fail_after = org.bulk.fail_after_batches();
    // Rows are read and their values checked one batch ahead, on a second thread, while the
    // batch before them is applied under the store lock.
    let (hand_over, ready) = mpsc::sync_channel::<Batch>(0);
    std::thread::scope(|scope| {
        let (columns, insert) = (&columns, insert.as_ref());
        let reading = scope.spawn(move || read_ahead(reader, spec, columns, insert, hand_over));
        let applier = Applier {
            org,
            job,
            spec,
            columns,
            duplicates: &duplicates,
            origin: &origin,
        };
        let outcome = applier.apply_batches(fail_after, ready);
        // The receiver is gone with `apply_batches`, so a reader waiting to hand a batch over
        // gets it back and returns its rows with those it had not read yet.
        match reading.join() {
            Ok(leftover) => {
                lock(job).unprocessed.extend_from_slice(&leftover);
                outcome
            }
            Err(_) => Err("InternalServerError : reading the job data failed".into()),
        }
    })
}

/// What applying a job's batches works with.
struct Applier<'a> {
    org: &'a Org,
    job: &'a Arc<Mutex<Job>>,
    spec: &'a JobSpec,
    columns: &'a Columns,
    /// External ids that appear on more than one row (upserts).
    duplicates: &'a HashMap<String, usize>,
    /// The change origin of the job's change events.
    origin: &'a str,
}

impl Applier<'_> {
    /// Applies batches in order until the data ends, the job is aborted or a fault stops it.
    fn apply_batches(
        &self,
        fail_after: Option<usize>,
        ready: mpsc::Receiver<Batch>,
    ) -> Result<(), String> {
        let Self { org, job, .. } = *self;
        for (applied, batch) in ready.into_iter().enumerate() {
            let aborted = lock(job).state == JobState::Aborted;
            if aborted || fail_after.is_some_and(|limit| applied >= limit) {
                let mut j = lock(job);
                j.unprocessed.extend_from_slice(&batch.lines.into_bytes());
                j.unprocessed.extend_from_slice(&batch.rest);
                return if aborted {
                    Ok(())
                } else {
                    Err("InternalServerError : the batch failed after 20 retries".into())
                };
            }
            self.apply_batch(&batch.rows, &batch.lines, batch.prepared);
            let delay = org.bulk.batch_delay();
            if !delay.is_zero() {
                std::thread::sleep(delay);
            }
            if let Some(message) = batch.broken {
                lock(job).unprocessed.extend_from_slice(&batch.rest);
                return Err(message);
            }
        }
        Ok(())
    }

    /// Applies one batch under one store lock and commits it; results go to the job.
    fn apply_batch(
        &self,
        rows: &[csv::StringRecord],
        lines: &QuotedRows,
        prepared: Vec<Option<Result<Fields, ApiFailure>>>,
    ) {
        let Self { org, job, spec, .. } = *self;
        let now = format_datetime(chrono::Utc::now());
        // A result line is the quoted row after an id and a flag: room for them up front.
        let mut successful = Vec::with_capacity(lines.len() * 40 + lines.bytes_len());
        let mut failures = Vec::new();
        let mut failed = 0u64;
        // The id and the flag or error in front of the quoted row, as two quoted values.
        let write = |out: &mut Vec<u8>, first: &str, second: &str, line: &[u8]| {
            let front = [first.as_bytes(), second.as_bytes()];
            write_quoted(out, front, spec.delimiter, &[spec.delimiter]);
            out.extend_from_slice(line);
        };
        {
            let mut store = org.store();
            store.reserve_changes(lines.len());
            for (i, prepared) in prepared.into_iter().enumerate() {
                let line = lines.get(i);
                match self.apply_row(&mut store, rows.get(i), prepared, &now) {
                    Ok((id, created)) => {
                        let flag = if created { "true" } else { "false" };
                        write(&mut successful, &id, flag, line);
                    }
                    Err((id, failure)) => {
                        failed += 1;
                        write(&mut failures, &id, &error_text(&failure), line);
                    }
                }
            }
            org.commit(&mut store, self.origin);
        }
        let mut j = lock(job);
        j.successful.extend_from_slice(&successful);
        j.failures.extend_from_slice(&failures);
        j.processed += lines.len() as u64;
        j.failed += failed;
        j.modstamp = now;
    }

    /// One row's write; the id it names and the failure, if it fails.
    fn apply_row(
        &self,
        store: &mut Store,
        row: Option<&csv::StringRecord>,
        prepared: Option<Result<Fields, ApiFailure>>,
        now: &str,
    ) -> Result<(String, bool), (String, ApiFailure)> {
        let Self {
            spec,
            columns,
            duplicates,
            ..
        } = *self;
        // The reader prepares every row of an insert or update.
        let prepared = move || {
            prepared.unwrap_or_else(|| Err(ApiFailure::internal("the row was not prepared")))
        };
        let id_of = |column: Option<usize>| {
            column
                .zip(row)
                .and_then(|(c, row)| row.get(c))
                .unwrap_or_default()
                .to_owned()
        };
        match spec.operation {
            Operation::Insert => prepared()
                .and_then(|values| {
                    check_references(store, columns, &values)?;
                    // Its change event is encoded from the record on delivery.
                    store.create_completed(&spec.object, values, true)
                })
                .map(|id| (id, true))
                .map_err(|e| (String::new(), e)),
            Operation::Update => {
                let id = id_of(columns.id_column);
                // An id that names no live record is answered before the row's values are looked at.
                let result = store.live_target(&spec.object, &id).and_then(|target| {
                    let values = prepared()?;
                    check_references(store, columns, &values)?;
                    store.update_live(target, values, now)
                });
                match result {
                    Ok(()) => Ok((canonical(&id), false)),
                    Err(e) => Err((id, e)),
                }
            }
            Operation::Delete | Operation::HardDelete => {
                let id = id_of(columns.id_column);
                let result = if spec.operation == Operation::Delete {
                    store.delete(&spec.object, &id, now)
                } else {
                    store.hard_delete(&spec.object, &id)
                };
                match result {
                    Ok(()) => Ok((canonical(&id), false)),
                    Err(e) => Err((id, e)),
                }
            }
            Operation::Upsert => {
                let field = spec.external_id.as_deref().unwrap_or_default();
                let key = id_of(columns.external_column);
                let by_id = field.eq_ignore_ascii_case("Id");
                if key.is_empty() && !by_id {
                    return Err((
                        String::new(),
                        ApiFailure::bad_request(
                            "MISSING_ARGUMENT",
                            format!("{field} not specified"),
                        ),
                    ));
                }
                if !key.is_empty() && duplicates.contains_key(&key.to_lowercase()) {
                    return Err((
                        String::new(),
                        ApiFailure::bad_request(
                            "DUPLICATE_VALUE",
                            format!("Duplicate external id specified: {key}"),
                        )
                        .with_fields(vec![field.to_owned()]),
                    ));
                }
                let body = row
                    .map(|row| row_body(columns, row, columns.external_column))
                    .unwrap_or_default();
                match store.upsert(&spec.object, field, &key, &body, now) {
                    Ok(UpsertOutcome::Created(id)) => Ok((id, true)),
                    Ok(UpsertOutcome::Updated(id)) => Ok((id, false)),
                    Ok(UpsertOutcome::MultipleMatches(ids)) => Err((
                        String::new(),
                        ApiFailure::bad_request(
                            "DUPLICATE_EXTERNAL_ID",
                            format!(
                                "{field}: more than one record found for external id field: [{}]",
                                ids.join(", ")
                            ),
                        )
                        .with_fields(vec![field.to_owned()]),
                    )),
                    Err(e) => Err((String::new(), e)),
                }
            }
            Operation::Query | Operation::QueryAll => Err((
                String::new(),
                ApiFailure::bad_request("INVALIDJOB", "not an ingest operation"),
            )),
        }
    }
}

fn first_newline(body: &[u8]) -> Option<usize> {
    body.iter().position(|&b| b == b'\n')
}

fn check_header(
    store: &Store,
    spec: &JobSpec,
    header: &csv::StringRecord,
) -> Result<Columns, String> {
    let object = store
        .object(&spec.object)
        .map_err(|e| format!("InvalidJob : {}", e.message))?;
    let mut fields = Vec::with_capacity(header.len());
    for name in header.iter() {
        let field = object
            .meta
            .field(name)
            .ok_or_else(|| format!("InvalidBatch : Field name not found : {name}"))?;
        if fields.iter().any(|f: &FieldMeta| f.name == field.name) {
            return Err(format!("InvalidBatch : Duplicate field name : {name}"));
        }
        fields.push(field.clone());
    }
    let position = |name: &str| {
        fields
            .iter()
            .position(|f| f.name.eq_ignore_ascii_case(name))
    };
    let id_column = position("Id");
    let external_column = spec.external_id.as_deref().and_then(position);
    match spec.operation {
        Operation::Delete | Operation::HardDelete if fields.len() != 1 || id_column.is_none() => {
            return Err(format!(
                "InvalidBatch : The '{}' batch must contain only ids",
                spec.operation.name()
            ));
        }
        Operation::Update if id_column.is_none() => {
            return Err("InvalidBatch : Field name not found : Id".into());
        }
        Operation::Upsert if external_column.is_none() => {
            return Err(format!(
                "InvalidBatch : Field name not found : {}",
                spec.external_id.as_deref().unwrap_or_default()
            ));
        }
        _ => {}
    }
    Ok(Columns {
        raw: header.iter().map(str::to_owned).collect(),
        fields,
        id_column,
        external_column,
    })
}

fn write_result_headers(job: &Arc<Mutex<Job>>, spec: &JobSpec, columns: &Columns) {
    let mut j = lock(job);
    let original = || columns.raw.iter().map(String::as_bytes);
    let ok: [&[u8]; 2] = [b"sf__Id", b"sf__Created"];
    let failed: [&[u8]; 2] = [b"sf__Id", b"sf__Error"];
    write_quoted(
        &mut j.successful,
        ok.into_iter().chain(original()),
        spec.delimiter,
        spec.terminator,
    );
    write_quoted(
        &mut j.failures,
        failed.into_iter().chain(original()),
        spec.delimiter,
        spec.terminator,
    );
    write_quoted(
        &mut j.unprocessed,
        original(),
        spec.delimiter,
        spec.terminator,
    );
}

/// External id values that appear on more than one row; those rows all fail.
fn duplicate_keys(body: &[u8], spec: &JobSpec, columns: &Columns) -> HashMap<String, usize> {
    let Some(column) = columns.external_column else {
        return HashMap::new();
    };
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(spec.delimiter)
        .from_reader(body);
    for record in reader.records().flatten() {
        if let Some(value) = record.get(column).filter(|v| !v.is_empty()) {
            *counts.entry(value.to_lowercase()).or_default() += 1;
        }
    }
    counts.retain(|_, n| *n > 1);
    counts
}

/// `CODE:message:field,field --`, or `CODE:message:--` without fields.
fn error_text(failure: &ApiFailure) -> String {
    if failure.fields.is_empty() {
        format!("{}:{}:--", failure.code, failure.message)
    } else {
        format!(
            "{}:{}:{} --",
            failure.code,
            failure.message,
            failure.fields.join(",")
        )
    }
}

/// Checks the row's references to other records: under the store lock, as they may be
/// written by the same job.
fn check_references(store: &Store, columns: &Columns, values: &Fields) -> Result<(), ApiFailure> {
    store.check_references(
        columns
            .fields
            .iter()
            .filter(|f| f.field_type == FieldType::Reference)
            .filter_map(|f| values.get(&f.name).map(|v| (f, v))),
    )
}

/// A row as a JSON body, for writes that check it themselves.
fn row_body(columns: &Columns, row: &csv::StringRecord, skip: Option<usize>) -> Value {
    let mut body = Map::with_capacity(row.len());
    for (_, field, value) in cells(columns, row, skip) {
        body.insert(field.name.to_string(), value);
    }
    Value::Object(body)
}

/// The 18-character form of an id the caller gave (15 or 18 characters).
fn canonical(id: &str) -> String {
    forcelink_wire::RecordId::parse(id)
        .map(|i| i.to_string())
        .unwrap_or_else(|_| id.to_owned())
}
