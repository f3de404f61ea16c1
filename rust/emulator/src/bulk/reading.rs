//! The reading side of an ingest job: a thread that parses the next batch of rows and does all
//! the work on them that needs no other record while the batch before is applied under the store
//! lock (`ingest`). It checks values, completes inserts (defaults, system fields) and quotes each
//! row as the result files repeat it, so the applier only writes the id and flag in front.

use super::job::{write_quoted, Columns, JobSpec, Operation, BATCH_RECORDS};
use crate::http_kit::failure::ApiFailure;
use crate::model::creation::{Completion, Creation, Stamp};
use crate::model::datetime::format_datetime;
use crate::model::record::{FieldName, Fields, Shapes};
use crate::model::schema::FieldMeta;
use crate::model::values::{check_value, Write};
use crate::org::Org;
use serde_json::Value;
use std::sync::mpsc;

/// What an insert job needs to prepare its rows outside the store lock.
pub(super) struct InsertPlan {
    creation: Creation,
    user_id: String,
}

/// What an insert job takes from the org once: how to complete a new record.
pub(super) fn insert_plan(org: &Org, spec: &JobSpec) -> Option<InsertPlan> {
    let store = org.store();
    let object = store.object(&spec.object).ok()?;
    Some(InsertPlan {
        creation: object.creation().clone(),
        user_id: store.user_id.clone(),
    })
}

/// Rows read together and applied under one store lock.
pub(super) struct Batch {
    /// The rows as parsed, for the writes that read them under the lock (all but inserts).
    pub rows: Vec<csv::StringRecord>,
    /// Every row quoted, as the result files repeat it.
    pub lines: QuotedRows,
    /// Per row, its values prepared (for inserts and updates).
    pub prepared: Vec<Option<Result<Fields, ApiFailure>>>,
    /// The CSV error that ended reading, and the rows after it, quoted.
    pub broken: Option<String>,
    pub rest: Vec<u8>,
}

/// Rows quoted as result files write them, each ending with the line terminator.
pub(super) struct QuotedRows {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl QuotedRows {
    fn with_capacity(rows: usize, bytes: usize) -> Self {
        Self {
            bytes: Vec::with_capacity(bytes),
            ends: Vec::with_capacity(rows),
        }
    }

    fn push(&mut self, row: &csv::StringRecord, spec: &JobSpec) {
        quote_row(&mut self.bytes, row, spec);
        self.ends.push(self.bytes.len());
    }

    /// The quoted row at a position.
    pub fn get(&self, row: usize) -> &[u8] {
        let start = row
            .checked_sub(1)
            .and_then(|before| self.ends.get(before))
            .copied()
            .unwrap_or(0);
        let end = self.ends.get(row).copied().unwrap_or(start);
        self.bytes.get(start..end).unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// The bytes of all the rows together.
    pub fn bytes_len(&self) -> usize {
        self.bytes.len()
    }

    /// All the rows, one after another.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

fn quote_row(out: &mut Vec<u8>, row: &csv::StringRecord, spec: &JobSpec) {
    write_quoted(
        out,
        row.iter().map(str::as_bytes),
        spec.delimiter,
        spec.terminator,
    );
}

/// Rows quoted one after another, for `unprocessedrecords`.
fn quote_rows(rows: impl Iterator<Item = csv::StringRecord>, spec: &JobSpec) -> Vec<u8> {
    let mut out = Vec::new();
    for row in rows {
        quote_row(&mut out, &row, spec);
    }
    out
}

/// Reads batches and prepares their rows, handing each over when the applier takes it. Returns
/// the rows it could not hand over (the applier stopped) followed by those it had not read,
/// quoted for `unprocessedrecords`.
pub(super) fn read_ahead(
    mut reader: csv::Reader<&[u8]>,
    spec: &JobSpec,
    columns: &Columns,
    insert: Option<&InsertPlan>,
    hand_over: mpsc::SyncSender<Batch>,
) -> Vec<u8> {
    let mut scratch = RowScratch::default();
    // Rows are read into one record; only the writes that read them under the lock keep them.
    let mut record = csv::StringRecord::new();
    let keep_rows = spec.operation != Operation::Insert;
    let mut line_bytes = 0;
    loop {
        // One stamp per batch: its new records share the values.
        let now = format_datetime(chrono::Utc::now());
        let stamp = insert.map(|plan| Stamp::new(&plan.user_id, &now));
        let create = insert.zip(stamp.as_ref());
        scratch.completions.clear();
        let mut rows = Vec::new();
        let mut lines = QuotedRows::with_capacity(BATCH_RECORDS, line_bytes);
        let mut prepared = Vec::with_capacity(BATCH_RECORDS);
        let (mut ended, mut broken) = (false, None);
        while prepared.len() < BATCH_RECORDS {
            match reader.read_record(&mut record) {
                Ok(true) => {
                    lines.push(&record, spec);
                    prepared.push(prepare_row(spec, columns, create, &record, &mut scratch));
                    if keep_rows {
                        rows.push(record.clone());
                    }
                }
                Ok(false) => {
                    ended = true;
                    break;
                }
                Err(e) => {
                    broken = Some(format!("ClientInputError : {e}"));
                    break;
                }
            }
        }
        let rest = match broken {
            Some(_) => quote_rows(reader.records().flatten(), spec),
            None => Vec::new(),
        };
        let last = ended || broken.is_some();
        if prepared.is_empty() && broken.is_none() {
            return Vec::new();
        }
        line_bytes = lines.bytes_len();
        let batch = Batch {
            rows,
            lines,
            prepared,
            broken,
            rest,
        };
        if let Err(mpsc::SendError(unsent)) = hand_over.send(batch) {
            let mut leftover = unsent.lines.into_bytes();
            leftover.extend_from_slice(&unsent.rest);
            leftover.extend(quote_rows(reader.records().flatten(), spec));
            return leftover;
        }
        if last {
            return Vec::new();
        }
    }
}

/// The cells of a row that set a value, with their columns and fields: an empty cell leaves the
/// field as is, `#N/A` sets it to null.
pub(super) fn cells<'r>(
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

/// What the reader keeps from row to row: the record rows are built in, the shapes they share,
/// and how the rows of the batch that were given the same fields were completed.
#[derive(Default)]
struct RowScratch {
    draft: Fields,
    shapes: Shapes,
    /// Per set of columns with a value, how the first row was completed (inserts only; cleared
    /// per batch, as the batch's stamp is part of it).
    completions: Vec<(Vec<usize>, Option<Completion>)>,
    /// The columns with a value in the row at hand.
    set: Vec<usize>,
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
/// and system fields.
fn prepare_row(
    spec: &JobSpec,
    columns: &Columns,
    create: Option<(&InsertPlan, &Stamp)>,
    row: &csv::StringRecord,
    scratch: &mut RowScratch,
) -> Option<Result<Fields, ApiFailure>> {
    let (skip, mode, create) = match (spec.operation, create) {
        (Operation::Insert, Some(create)) => (None, Write::Create, Some(create)),
        (Operation::Update, _) => (columns.id_column, Write::Update, None),
        _ => return None,
    };
    let creation = create.map(|(plan, stamp)| (&plan.creation, stamp));
    Some(scratch.values(columns, row, skip, mode, creation))
}
