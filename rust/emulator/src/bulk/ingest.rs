//! Processing an ingest job in the background: header checks that fail the whole job, then rows
//! applied in 10,000-record batches, each under one store lock, with results written as it goes.
//! A second thread reads and prepares the next batch meanwhile (CSV, value checks, and for
//! inserts the defaults, system fields and change-event body), so the lock covers only what
//! reads other records: references, unique values, ids, storage.

use super::job::{write_quoted, Job, JobState, Operation};
use crate::creation::{Completion, Creation, Stamp};
use crate::events::avro::{ChangeSchema, SlotCache};
use crate::failure::ApiFailure;
use crate::org::{lock, Org};
use crate::record::{FieldName, Fields, Shapes};
use crate::schema::{FieldMeta, FieldType};
use crate::store::{check_value, format_datetime, Store, UpsertOutcome, Write};
use bytes::Bytes;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Instant;

/// Records per internal batch, as Salesforce splits job data.
pub const BATCH_RECORDS: usize = 10_000;

/// What the header of the uploaded CSV says about each column.
struct Columns {
    /// The header as uploaded, for the result files.
    raw: Vec<String>,
    /// The field of each column.
    fields: Vec<FieldMeta>,
    id_column: Option<usize>,
    external_column: Option<usize>,
}

/// What an insert job needs to prepare its rows outside the store lock.
struct InsertPlan {
    creation: Creation,
    user_id: String,
    /// The object's change-event schema, to encode each new record's event body ahead.
    change_schema: Option<Arc<ChangeSchema>>,
}

/// A row's values, checked and (for inserts) completed outside the store lock.
struct Prepared {
    values: Fields,
    event_body: Option<Vec<u8>>,
}

struct JobSpec {
    operation: Operation,
    object: String,
    external_id: Option<String>,
    delimiter: u8,
    terminator: &'static [u8],
    crlf: bool,
}

/// Runs a closed ingest job to its end; called on a blocking thread.
pub fn process(org: &Org, job: &Arc<Mutex<Job>>) {
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
    // Successful rows repeat the input with an id and a flag in front: room for them up front
    // saves copying a file of a hundred megabytes as it doubles.
    lock(job)
        .successful
        .reserve(body.len().saturating_add(body.len() / 2));
    let duplicates = if spec.operation == Operation::Upsert {
        duplicate_keys(body, spec, &columns)
    } else {
        HashMap::new()
    };
    let insert = (spec.operation == Operation::Insert)
        .then(|| insert_plan(org, spec))
        .flatten();
    let fail_after = org.bulk.fail_after_batches();
    // Rows are read and their values checked one batch ahead, on a second thread, while the
    // batch before them is applied under the store lock.
    let (hand_over, ready) = mpsc::sync_channel::<Batch>(0);
    std::thread::scope(|scope| {
        let records = reader.into_records();
        let (columns, insert) = (&columns, insert.as_ref());
        let reading = scope.spawn(move || read_ahead(records, spec, columns, insert, hand_over));
        let applier = Applier {
            org,
            job,
            spec,
            columns,
            duplicates: &duplicates,
        };
        let outcome = applier.apply_batches(fail_after, ready);
        // The receiver is gone with `apply_batches`, so a reader waiting to hand a batch over
        // gets it back and returns its rows with those it had not read yet.
        match reading.join() {
            Ok(leftover) => {
                leave_unprocessed(job, spec, leftover.into_iter());
                outcome
            }
            Err(_) => Err("InternalServerError : reading the job data failed".into()),
        }
    })
}

/// Rows read together and applied under one store lock.
struct Batch {
    rows: Vec<csv::StringRecord>,
    /// Per row, its values prepared (for inserts and updates).
    prepared: Vec<Option<Result<Prepared, ApiFailure>>>,
    /// The CSV error that ended reading, and the rows after it.
    broken: Option<String>,
    rest: Vec<csv::StringRecord>,
}

/// Reads batches and checks their rows, handing each over when the applier takes it. Returns
/// the rows it could not hand over (the applier stopped) followed by those it had not read.
fn read_ahead(
    mut records: csv::StringRecordsIntoIter<&[u8]>,
    spec: &JobSpec,
    columns: &Columns,
    insert: Option<&InsertPlan>,
    hand_over: mpsc::SyncSender<Batch>,
) -> Vec<csv::StringRecord> {
    let mut scratch = RowScratch::default();
    loop {
        let mut rows = Vec::with_capacity(BATCH_RECORDS);
        let mut broken = None;
        for record in records.by_ref() {
            match record {
                Ok(r) => rows.push(r),
                Err(e) => {
                    broken = Some(format!("ClientInputError : {e}"));
                    break;
                }
            }
            if rows.len() == BATCH_RECORDS {
                break;
            }
        }
        let rest = match broken {
            Some(_) => records.by_ref().flatten().collect(),
            None => Vec::new(),
        };
        let last = rows.is_empty() || broken.is_some();
        // One stamp per batch: its new records share the values.
        let now = format_datetime(chrono::Utc::now());
        let stamp = insert.map(|plan| Stamp::new(&plan.user_id, &now));
        let create = insert.zip(stamp.as_ref());
        scratch.completions.clear();
        let prepared = rows
            .iter()
            .map(|row| prepare_row(spec, columns, create, row, &mut scratch))
            .collect();
        let batch = Batch {
            rows,
            prepared,
            broken,
            rest,
        };
        if let Err(mpsc::SendError(unsent)) = hand_over.send(batch) {
            let mut leftover = unsent.rows;
            leftover.extend(unsent.rest);
            leftover.extend(records.flatten());
            return leftover;
        }
        if last {
            return Vec::new();
        }
    }
}

/// What applying a job's batches works with.
struct Applier<'a> {
    org: &'a Org,
    job: &'a Arc<Mutex<Job>>,
    spec: &'a JobSpec,
    columns: &'a Columns,
    /// External ids that appear on more than one row (upserts).
    duplicates: &'a HashMap<String, usize>,
}

impl Applier<'_> {
    /// Applies batches in order until the data ends, the job is aborted or a fault stops it.
    fn apply_batches(
        &self,
        fail_after: Option<usize>,
        ready: mpsc::Receiver<Batch>,
    ) -> Result<(), String> {
        let Self { org, job, spec, .. } = *self;
        for (applied, batch) in ready.into_iter().enumerate() {
            let aborted = lock(job).state == JobState::Aborted;
            if aborted || fail_after.is_some_and(|limit| applied >= limit) {
                leave_unprocessed(job, spec, batch.rows.into_iter().chain(batch.rest));
                return if aborted {
                    Ok(())
                } else {
                    Err("InternalServerError : the batch failed after 20 retries".into())
                };
            }
            if batch.rows.is_empty() && batch.broken.is_none() {
                return Ok(());
            }
            self.apply_batch(&batch.rows, batch.prepared);
            let delay = org.bulk.batch_delay();
            if !delay.is_zero() {
                std::thread::sleep(delay);
            }
            if let Some(message) = batch.broken {
                leave_unprocessed(job, spec, batch.rest.into_iter());
                return Err(message);
            }
        }
        Ok(())
    }

    /// Applies one batch under one store lock and commits it; results go to the job.
    fn apply_batch(
        &self,
        batch: &[csv::StringRecord],
        prepared: Vec<Option<Result<Prepared, ApiFailure>>>,
    ) {
        let Self { org, job, spec, .. } = *self;
        let now = format_datetime(chrono::Utc::now());
        let origin = format!("com/salesforce/api/bulkapi/{}", lock(job).api_version);
        // Each result line is the row quoted, after an id and a flag: room for them up front.
        let room = batch
            .iter()
            .map(|row| row.as_slice().len() + 3 * row.len() + 32)
            .sum();
        let mut successful = Vec::with_capacity(room);
        let mut failures = Vec::new();
        let mut failed = 0u64;
        {
            let mut store = org.store();
            store.reserve_changes(batch.len());
            for (row, prepared) in batch.iter().zip(prepared) {
                match self.apply_row(&mut store, row, prepared, &now) {
                    Ok((id, created)) => {
                        let flag: &[u8] = if created { b"true" } else { b"false" };
                        write_quoted(
                            &mut successful,
                            [id.as_bytes(), flag]
                                .into_iter()
                                .chain(row.iter().map(str::as_bytes)),
                            spec.delimiter,
                            spec.terminator,
                        );
                    }
                    Err((id, failure)) => {
                        failed += 1;
                        let error = error_text(&failure);
                        write_quoted(
                            &mut failures,
                            [id.as_bytes(), error.as_bytes()]
                                .into_iter()
                                .chain(row.iter().map(str::as_bytes)),
                            spec.delimiter,
                            spec.terminator,
                        );
                    }
                }
            }
            org.commit(&mut store, &origin);
        }
        let mut j = lock(job);
        j.successful.extend_from_slice(&successful);
        j.failures.extend_from_slice(&failures);
        j.processed += batch.len() as u64;
        j.failed += failed;
        j.modstamp = now;
    }

    /// One row's write; the id it names and the failure, if it fails.
    fn apply_row(
        &self,
        store: &mut Store,
        row: &csv::StringRecord,
        prepared: Option<Result<Prepared, ApiFailure>>,
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
            prepared.unwrap_or_else(|| {
                Err(ApiFailure::new(
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    "UNKNOWN_EXCEPTION",
                    "the row was not prepared",
                ))
            })
        };
        let id_of = |column: Option<usize>| {
            column
                .and_then(|c| row.get(c))
                .unwrap_or_default()
                .to_owned()
        };
        match spec.operation {
            Operation::Insert => prepared()
                .and_then(|row| {
                    check_references(store, columns, &row.values)?;
                    store.create_completed(&spec.object, row.values, row.event_body)
                })
                .map(|id| (id, true))
                .map_err(|e| (String::new(), e)),
            Operation::Update => {
                let id = id_of(columns.id_column);
                // An id that names no live record is answered before the row's values are looked at.
                let result = store.live_target(&spec.object, &id).and_then(|target| {
                    let row = prepared()?;
                    check_references(store, columns, &row.values)?;
                    store.update_live(target, row.values, now)
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
                if key.is_empty() {
                    return Err((
                        String::new(),
                        ApiFailure::bad_request(
                            "MISSING_ARGUMENT",
                            format!("{field} not specified"),
                        ),
                    ));
                }
                if duplicates.contains_key(&key.to_lowercase()) {
                    return Err((
                        String::new(),
                        ApiFailure::bad_request(
                            "DUPLICATE_VALUE",
                            format!("Duplicate external id specified: {key}"),
                        )
                        .with_fields(vec![field.to_owned()]),
                    ));
                }
                let body = row_body(columns, row, columns.external_column);
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

/// Writes rows that were never attempted to the job's `unprocessedrecords`.
fn leave_unprocessed(
    job: &Arc<Mutex<Job>>,
    spec: &JobSpec,
    rows: impl Iterator<Item = csv::StringRecord>,
) {
    let mut j = lock(job);
    for row in rows {
        write_quoted(
            &mut j.unprocessed,
            row.iter().map(str::as_bytes),
            spec.delimiter,
            spec.terminator,
        );
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

/// The cells of a row that set a value, with their fields: an empty cell leaves the field as
/// is, `#N/A` sets it to null.
fn cells<'r>(
    columns: &'r Columns,
    row: &'r csv::StringRecord,
    skip: Option<usize>,
) -> impl Iterator<Item = (usize, &'r FieldMeta, Value)> {
    row.iter()
        .zip(&columns.fields)
        .enumerate()
        .filter(move |(i, (text, _))| Some(*i) != skip && !text.is_empty())
        .map(|(i, (text, field))| {
            let value = if text == "#N/A" {
                Value::Null
            } else {
                Value::String(text.to_owned())
            };
            (i, field, value)
        })
}

/// What an insert job takes from the org once: how to complete a new record, and its event
/// schema.
fn insert_plan(org: &Org, spec: &JobSpec) -> Option<InsertPlan> {
    let store = org.store();
    let object = store.object(&spec.object).ok()?;
    Some(InsertPlan {
        creation: object.creation().clone(),
        user_id: store.user_id.clone(),
        change_schema: org.events.change_schema(&object.meta).ok(),
    })
}

/// What the reader keeps from row to row: the record rows are built in, the shapes they share,
/// how the rows of the batch that were given the same fields were completed, and where values
/// go in a change event.
#[derive(Default)]
struct RowScratch {
    draft: Fields,
    shapes: Shapes,
    /// Per set of columns with a value, how the first row was completed (inserts only; cleared
    /// per batch, as the batch's stamp is part of it).
    completions: Vec<(Vec<usize>, Option<Completion>)>,
    /// The columns with a value in the row at hand.
    set: Vec<usize>,
    slots: SlotCache,
}

impl RowScratch {
    /// The row's values checked against their fields, and for a create completed: like an
    /// earlier row given the same fields when there is one, else the full way.
    fn values(
        &mut self,
        columns: &Columns,
        row: &csv::StringRecord,
        skip: Option<usize>,
        mode: Write,
        creation: Option<(&Creation, &Stamp)>,
    ) -> Result<Fields, ApiFailure> {
        self.set.clear();
        let mut given = Vec::with_capacity(row.len() + 1);
        for (i, field, value) in cells(columns, row, skip) {
            given.push(check_value(field, value, mode)?);
            self.set.push(i);
        }
        let Some((creation, stamp)) = creation else {
            self.fill_draft(columns, given);
            return Ok(self.draft.take(&mut self.shapes));
        };
        let known = self.completions.iter().find(|(set, _)| *set == self.set);
        if let Some((_, Some(completion))) = known {
            match completion.complete(given) {
                Ok(values) => return Ok(values),
                Err(back) => given = back,
            }
        }
        let fill = known.is_none();
        self.fill_draft(columns, given);
        creation.complete(&mut self.draft, stamp)?;
        let values = self.draft.take(&mut self.shapes);
        if fill {
            let names: Vec<&FieldName> = self
                .set
                .iter()
                .filter_map(|&i| columns.fields.get(i))
                .map(|f| &f.name)
                .collect();
            let completion = creation.completion(&values, &names);
            self.completions.push((self.set.clone(), completion));
        }
        Ok(values)
    }

    /// Empties the draft record and gives it the values of the columns in `set`.
    fn fill_draft(&mut self, columns: &Columns, given: Vec<Value>) {
        self.draft.clear();
        for (&i, value) in self.set.iter().zip(given) {
            if let Some(field) = columns.fields.get(i) {
                self.draft.insert(&field.name, value);
            }
        }
    }
}

/// A row prepared as far as that needs no other record, for the writes that take prepared
/// values: its values checked against their fields, and for an insert completed with defaults
/// and system fields, with its change event's body encoded.
fn prepare_row(
    spec: &JobSpec,
    columns: &Columns,
    create: Option<(&InsertPlan, &Stamp)>,
    row: &csv::StringRecord,
    scratch: &mut RowScratch,
) -> Option<Result<Prepared, ApiFailure>> {
    let (skip, mode, create) = match (spec.operation, create) {
        (Operation::Insert, Some(create)) => (None, Write::Create, Some(create)),
        (Operation::Update, _) => (columns.id_column, Write::Update, None),
        _ => return None,
    };
    let creation = create.map(|(plan, stamp)| (&plan.creation, stamp));
    let prepared = scratch
        .values(columns, row, skip, mode, creation)
        .map(|values| {
            let event_body = create
                .and_then(|(plan, _)| plan.change_schema.as_ref())
                .map(|schema| schema.encode_body(&values, &mut scratch.slots));
            Prepared { values, event_body }
        });
    Some(prepared)
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
    salesforce_wire::RecordId::parse(id)
        .map(|i| i.to_string())
        .unwrap_or_else(|_| id.to_owned())
}
