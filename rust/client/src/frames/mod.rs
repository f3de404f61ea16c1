//! Query results as Arrow record batches, each column typed from the object's describe:
//! numbers, booleans, dates and datetimes as such, the rest as text. REST query records (JSON)
//! and Bulk query pages (CSV) are read into the same column builders. `describe` types a
//! query's columns through describe calls; `reads` runs queries into frames.

mod describe;
mod reads;

pub use crate::select_list::query_object;
pub use describe::query_columns;
pub use reads::QueryPlan;

use crate::error::{Error, Result};
use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, LargeStringBuilder,
    TimestampMillisecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use serde_json::Value;
use std::sync::Arc;

/// Rows per record batch: big enough that per-batch costs vanish, small enough that a batch
/// is freed soon after a consumer has copied it.
pub const BATCH_ROWS: usize = 65_536;

/// What a column holds, read from a field's describe type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Text,
    Integer,
    Float,
    Boolean,
    Date,
    /// Milliseconds since the epoch, UTC.
    DateTime,
}

impl ColumnKind {
    /// The kind of a describe `type` (`int`, `double`, `currency`, `percent`, `boolean`,
    /// `date`, `datetime`; everything else is text).
    pub fn of_field_type(field_type: &str) -> Self {
        match field_type {
            "int" | "long" => Self::Integer,
            "double" | "currency" | "percent" => Self::Float,
            "boolean" => Self::Boolean,
            "date" => Self::Date,
            "datetime" => Self::DateTime,
            _ => Self::Text,
        }
    }

    /// The kind's name: `text`, `integer`, `float`, `boolean`, `date`, `datetime`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Integer => "integer",
            Self::Float => "float",
            Self::Boolean => "boolean",
            Self::Date => "date",
            Self::DateTime => "datetime",
        }
    }

    /// The kind of a [`ColumnKind::name`].
    pub fn parse(name: &str) -> Result<Self> {
        Ok(match name {
            "text" => Self::Text,
            "integer" => Self::Integer,
            "float" => Self::Float,
            "boolean" => Self::Boolean,
            "date" => Self::Date,
            "datetime" => Self::DateTime,
            other => {
                return Err(Error::invalid_argument(
                    "columns",
                    format!("{other:?} is not a column kind"),
                ))
            }
        })
    }

    fn data_type(self) -> DataType {
        match self {
            // 64-bit offsets: what pandas' Arrow-backed strings hold, so they are shared, not
            // copied, by to_pandas().
            Self::Text => DataType::LargeUtf8,
            Self::Integer => DataType::Int64,
            Self::Float => DataType::Float64,
            Self::Boolean => DataType::Boolean,
            Self::Date => DataType::Date32,
            Self::DateTime => DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
        }
    }
}

/// One column: its name as the API writes it (`Name`, `Account.Name`, `expr0`) and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub kind: ColumnKind,
}

/// A whole result: its schema and its batches, in order.
#[derive(Debug, Clone)]
pub struct Frame {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

impl Frame {
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

enum ColumnBuilder {
    Text(LargeStringBuilder),
    Integer(Int64Builder),
    Float(Float64Builder),
    Boolean(BooleanBuilder),
    Date(Date32Builder),
    DateTime(TimestampMillisecondBuilder),
}

impl ColumnBuilder {
    /// A builder for `rows` values; a text column's for `text_bytes` bytes of text. Sized up
    /// front because a batch keeps its buffers' capacity: a builder left to double its way up
    /// would leave the table holding up to twice the bytes it uses.
    fn with_capacity(kind: ColumnKind, rows: usize, text_bytes: usize) -> Self {
        match kind {
            ColumnKind::Text => Self::Text(LargeStringBuilder::with_capacity(rows, text_bytes)),
            ColumnKind::Integer => Self::Integer(Int64Builder::with_capacity(rows)),
            ColumnKind::Float => Self::Float(Float64Builder::with_capacity(rows)),
            ColumnKind::Boolean => Self::Boolean(BooleanBuilder::with_capacity(rows)),
            ColumnKind::Date => Self::Date(Date32Builder::with_capacity(rows)),
            ColumnKind::DateTime => Self::DateTime(
                TimestampMillisecondBuilder::with_capacity(rows).with_timezone("UTC"),
            ),
        }
    }

    /// Bytes of text appended so far (0 for other kinds).
    fn text_bytes(&self) -> usize {
        match self {
            Self::Text(b) => b.values_slice().len(),
            _ => 0,
        }
    }

    /// Appends a value written as text (a CSV cell, a JSON string); empty is null, as in Bulk
    /// API results. Returns false when the text is not of the column's kind.
    fn push_text(&mut self, text: &str) -> bool {
        if text.is_empty() {
            self.push_null();
            return true;
        }
        match self {
            Self::Text(b) => b.append_value(text),
            Self::Integer(b) => match text.parse::<i64>() {
                Ok(v) => b.append_value(v),
                // Salesforce writes some whole numbers with a decimal point ("12.0").
                Err(_) => match text.parse::<f64>() {
                    Ok(v) if v.fract() == 0.0 && v.abs() < 9.0e15 => b.append_value(v as i64),
                    _ => return false,
                },
            },
            Self::Float(b) => match text.parse::<f64>() {
                Ok(v) => b.append_value(v),
                Err(_) => return false,
            },
            Self::Boolean(b) => {
                if text.eq_ignore_ascii_case("true") {
                    b.append_value(true)
                } else if text.eq_ignore_ascii_case("false") {
                    b.append_value(false)
                } else {
                    return false;
                }
            }
            Self::Date(b) => match parse_date(text) {
                Some(days) => b.append_value(days),
                None => return false,
            },
            Self::DateTime(b) => match parse_datetime(text) {
                Some(ms) => b.append_value(ms),
                None => return false,
            },
        }
        true
    }

    /// Appends a JSON value; returns false when it is not of the column's kind.
    fn push_json(&mut self, value: &Value) -> bool {
        match value {
            Value::Null => {
                self.push_null();
                true
            }
            Value::String(s) => match self {
                // An empty text value is a value in JSON, unlike in CSV.
                Self::Text(b) => {
                    b.append_value(s);
                    true
                }
                _ => self.push_text(s),
            },
            Value::Bool(v) => match self {
                Self::Boolean(b) => {
                    b.append_value(*v);
                    true
                }
                Self::Text(b) => {
                    b.append_value(if *v { "true" } else { "false" });
                    true
                }
                _ => false,
            },
            Value::Number(n) => match self {
                Self::Integer(b) => match n.as_i64() {
                    Some(v) => {
                        b.append_value(v);
                        true
                    }
                    None => self.push_text(&n.to_string()),
                },
                Self::Float(b) => match n.as_f64() {
                    Some(v) => {
                        b.append_value(v);
                        true
                    }
                    None => false,
                },
                Self::Text(b) => {
                    b.append_value(n.to_string());
                    true
                }
                _ => false,
            },
            // Compound fields (addresses, locations) and child records: their JSON, as text.
            Value::Object(_) | Value::Array(_) => match self {
                Self::Text(b) => {
                    b.append_value(value.to_string());
                    true
                }
                _ => false,
            },
        }
    }

    fn push_null(&mut self) {
        match self {
            Self::Text(b) => b.append_null(),
            Self::Integer(b) => b.append_null(),
            Self::Float(b) => b.append_null(),
            Self::Boolean(b) => b.append_null(),
            Self::Date(b) => b.append_null(),
            Self::DateTime(b) => b.append_null(),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Self::Text(b) => Arc::new(b.finish()),
            Self::Integer(b) => Arc::new(b.finish()),
            Self::Float(b) => Arc::new(b.finish()),
            Self::Boolean(b) => Arc::new(b.finish()),
            Self::Date(b) => Arc::new(b.finish()),
            Self::DateTime(b) => Arc::new(b.finish()),
        }
    }
}

/// Days since 1970-01-01 of `YYYY-MM-DD`.
fn parse_date(text: &str) -> Option<i32> {
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?;
    i32::try_from((date - epoch).num_days()).ok()
}

/// Milliseconds since the epoch of a Salesforce datetime: `2024-05-01T10:00:00.000+0000`
/// (REST), `2024-05-01T10:00:00.000Z` (Bulk) or any RFC 3339 time.
fn parse_datetime(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text)
        .or_else(|_| chrono::DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .map(|t| t.timestamp_millis())
}

/// Builds a [`Frame`] row by row, closing a batch every [`BATCH_ROWS`] rows.
pub struct FrameBuilder {
    schema: SchemaRef,
    columns: Vec<Column>,
    builders: Vec<ColumnBuilder>,
    rows_in_batch: usize,
    rows: usize,
    batches: Vec<RecordBatch>,
    /// A row failed part way: the columns no longer line up.
    broken: bool,
}

impl FrameBuilder {
    pub fn new(columns: Vec<Column>) -> Self {
        let schema = Arc::new(Schema::new(
            columns
                .iter()
                .map(|c| Field::new(&c.name, c.kind.data_type(), true))
                .collect::<Vec<_>>(),
        ));
        Self {
            schema,
            // The first batch's text size is unknown: a modest guess, then each batch is sized
            // from the one before.
            builders: columns
                .iter()
                .map(|c| ColumnBuilder::with_capacity(c.kind, 1024, 16 * 1024))
                .collect(),
            columns,
            rows_in_batch: 0,
            rows: 0,
            batches: Vec::new(),
            broken: false,
        }
    }

    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    fn mismatch(&self, column: usize, value: &dyn std::fmt::Display) -> Error {
        let c = &self.columns[column];
        Error::UnexpectedResponse {
            status: 200,
            message: format!(
                "row {} of column {} holds {value:.40}, which is not {:?} as the field's describe \
                 says",
                self.rows + 1,
                c.name,
                c.kind
            ),
        }
    }

    /// Appends a row of cells (a CSV record), one per column in order. After an error the
    /// builder holds part of a row and refuses to finish.
    pub fn push_csv_record(&mut self, cells: &csv::ByteRecord) -> Result<()> {
        if cells.len() != self.columns.len() {
            return Err(self.width_error(cells.len()));
        }
        let failed = self
            .builders
            .iter_mut()
            .zip(cells.iter())
            // Each cell is checked as UTF-8 on its own: cheaper than a whole record's check,
            // and a cell that is not text fails like one that does not parse.
            .position(|(builder, cell)| {
                !std::str::from_utf8(cell).is_ok_and(|text| builder.push_text(text))
            });
        if let Some(i) = failed {
            self.broken = true;
            let cell = String::from_utf8_lossy(cells.get(i).unwrap_or_default()).into_owned();
            return Err(self.mismatch(i, &cell));
        }
        self.row_done()
    }

    fn width_error(&self, got: usize) -> Error {
        Error::UnexpectedResponse {
            status: 200,
            message: format!(
                "row {} has {got} cells, the header {}",
                self.rows + 1,
                self.columns.len()
            ),
        }
    }

    /// Appends a REST record, reading each column's path (`Account.Name`) through nested
    /// relationship objects; a missing or null parent gives null.
    pub fn push_record(&mut self, record: &serde_json::Map<String, Value>) -> Result<()> {
        for i in 0..self.columns.len() {
            let value = lookup(record, &self.columns[i].name);
            if !self.builders[i].push_json(value.unwrap_or(&Value::Null)) {
                self.broken = true;
                let shown = value.map(Value::to_string).unwrap_or_default();
                return Err(self.mismatch(i, &shown));
            }
        }
        self.row_done()
    }

    fn row_done(&mut self) -> Result<()> {
        self.rows += 1;
        self.rows_in_batch += 1;
        if self.rows_in_batch >= BATCH_ROWS {
            self.close_batch()?;
        }
        Ok(())
    }

    fn close_batch(&mut self) -> Result<()> {
        let rows = self.rows_in_batch;
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.builders.len());
        for (builder, column) in self.builders.iter_mut().zip(&self.columns) {
            let text_bytes = builder.text_bytes();
            arrays.push(builder.finish());
            // The next batch is sized like this one, with an eighth to spare.
            *builder = ColumnBuilder::with_capacity(
                column.kind,
                BATCH_ROWS,
                (text_bytes + text_bytes / 8) * BATCH_ROWS / rows.max(1),
            );
        }
        let batch = RecordBatch::try_new(self.schema.clone(), arrays).map_err(|e| {
            Error::UnexpectedResponse {
                status: 200,
                message: format!("cannot assemble a record batch: {e}"),
            }
        })?;
        self.batches.push(batch);
        self.rows_in_batch = 0;
        Ok(())
    }

    pub fn finish(mut self) -> Result<Frame> {
        if self.broken {
            return Err(Error::UnexpectedResponse {
                status: 200,
                message: "a row could not be read; the frame is incomplete".into(),
            });
        }
        if self.rows_in_batch > 0 || self.batches.is_empty() {
            self.close_batch()?;
        }
        Ok(Frame {
            schema: self.schema,
            batches: self.batches,
        })
    }
}

/// The value at a dotted path, matching keys exactly first and then ignoring case.
fn lookup<'a>(record: &'a serde_json::Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut current = record;
    let mut segments = path.split('.').peekable();
    while let Some(segment) = segments.next() {
        let value = current.get(segment).or_else(|| {
            current
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(segment))
                .map(|(_, v)| v)
        })?;
        if segments.peek().is_none() {
            return Some(value);
        }
        current = value.as_object()?;
    }
    None
}

/// Columns read off the first record when the SELECT list did not tell them: its keys, with
/// relationship objects flattened to dotted paths; each typed as text.
pub(crate) fn columns_of_record(record: &serde_json::Map<String, Value>) -> Vec<Column> {
    fn walk(prefix: &str, record: &serde_json::Map<String, Value>, out: &mut Vec<Column>) {
        for (key, value) in record {
            if key == "attributes" {
                continue;
            }
            let name = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            match value {
                // A parent record (it has attributes); child records (totalSize) stay JSON.
                Value::Object(inner) if inner.contains_key("attributes") => walk(&name, inner, out),
                _ => out.push(Column {
                    name,
                    kind: ColumnKind::Text,
                }),
            }
        }
    }
    let mut out = Vec::new();
    walk("", record, &mut out);
    out
}

pub(super) fn unreadable_page(e: csv::Error) -> Error {
    Error::UnexpectedResponse {
        status: 200,
        message: format!("cannot read a query results page: {e}"),
    }
}

/// Appends the rows of one CSV page (its header row skipped) to `builder`.
pub(super) fn read_csv_page(builder: &mut FrameBuilder, csv: &[u8], delimiter: u8) -> Result<()> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_reader(csv);
    let mut record = csv::ByteRecord::new();
    while reader
        .read_byte_record(&mut record)
        .map_err(unreadable_page)?
    {
        builder.push_csv_record(&record)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int64Type, TimestampMillisecondType};
    use arrow_array::Array;

    fn row(cells: &[&str]) -> csv::ByteRecord {
        csv::ByteRecord::from(cells.to_vec())
    }

    #[test]
    fn cells_are_typed_and_empty_cells_are_null() {
        let columns = vec![
            Column {
                name: "N".into(),
                kind: ColumnKind::Integer,
            },
            Column {
                name: "F".into(),
                kind: ColumnKind::Float,
            },
            Column {
                name: "B".into(),
                kind: ColumnKind::Boolean,
            },
            Column {
                name: "D".into(),
                kind: ColumnKind::Date,
            },
            Column {
                name: "T".into(),
                kind: ColumnKind::DateTime,
            },
            Column {
                name: "S".into(),
                kind: ColumnKind::Text,
            },
        ];
        let mut b = FrameBuilder::new(columns);
        b.push_csv_record(&row(&[
            "12",
            "1.5",
            "true",
            "1970-01-02",
            "1970-01-01T00:00:01.000Z",
            "x",
        ]))
        .unwrap();
        b.push_csv_record(&row(&["", "", "", "", "", ""])).unwrap();
        assert!(
            b.push_csv_record(&row(&["1"])).is_err(),
            "a short row is refused whole"
        );
        let frame = b.finish().unwrap();
        assert_eq!(frame.num_rows(), 2);
        let batch = &frame.batches[0];
        assert_eq!(batch.column(0).as_primitive::<Int64Type>().value(0), 12);
        assert_eq!(batch.column(1).as_primitive::<Float64Type>().value(0), 1.5);
        assert!(batch.column(2).as_boolean().value(0));
        assert_eq!(
            batch
                .column(4)
                .as_primitive::<TimestampMillisecondType>()
                .value(0),
            1000
        );
        for column in batch.columns() {
            assert!(column.is_null(1));
        }
    }

    #[test]
    fn a_cell_that_is_not_utf8_fails_the_frame() {
        let mut b = FrameBuilder::new(vec![Column {
            name: "S".into(),
            kind: ColumnKind::Text,
        }]);
        let err = b
            .push_csv_record(&csv::ByteRecord::from(vec![&b"caf\xe9"[..]]))
            .unwrap_err();
        assert!(err.to_string().contains("column S"), "{err}");
        assert!(b.finish().is_err());
    }

    #[test]
    fn a_cell_not_of_its_columns_kind_fails_the_frame() {
        let mut b = FrameBuilder::new(vec![
            Column {
                name: "S".into(),
                kind: ColumnKind::Text,
            },
            Column {
                name: "N".into(),
                kind: ColumnKind::Integer,
            },
        ]);
        let err = b.push_csv_record(&row(&["a", "x"])).unwrap_err();
        assert!(err.to_string().contains("column N"), "{err}");
        assert!(b.finish().is_err());
    }

    #[test]
    fn rest_records_are_read_through_relationships_and_rest_datetimes() {
        let columns = vec![
            Column {
                name: "Account.Name".into(),
                kind: ColumnKind::Text,
            },
            Column {
                name: "CreatedDate".into(),
                kind: ColumnKind::DateTime,
            },
            Column {
                name: "Amount".into(),
                kind: ColumnKind::Float,
            },
        ];
        let mut b = FrameBuilder::new(columns);
        let record = serde_json::json!({
            "attributes": {"type": "Opportunity"},
            "Account": {"attributes": {"type": "Account"}, "Name": "Acme"},
            "CreatedDate": "1970-01-01T00:00:02.000+0000",
            "Amount": 3
        });
        b.push_record(record.as_object().unwrap()).unwrap();
        let orphan = serde_json::json!({"Account": null, "CreatedDate": null, "Amount": null});
        b.push_record(orphan.as_object().unwrap()).unwrap();
        let frame = b.finish().unwrap();
        let batch = &frame.batches[0];
        assert_eq!(batch.column(0).as_string::<i64>().value(0), "Acme");
        assert!(batch.column(0).is_null(1));
        assert_eq!(
            batch
                .column(1)
                .as_primitive::<TimestampMillisecondType>()
                .value(0),
            2000
        );
        assert_eq!(batch.column(2).as_primitive::<Float64Type>().value(0), 3.0);
    }

    #[test]
    fn batches_close_every_batch_rows() {
        let mut b = FrameBuilder::new(vec![Column {
            name: "N".into(),
            kind: ColumnKind::Integer,
        }]);
        for i in 0..(BATCH_ROWS + 5) {
            b.push_csv_record(&row(&[i.to_string().as_str()])).unwrap();
        }
        let frame = b.finish().unwrap();
        assert_eq!(frame.batches.len(), 2);
        assert_eq!(frame.num_rows(), BATCH_ROWS + 5);
    }
}
