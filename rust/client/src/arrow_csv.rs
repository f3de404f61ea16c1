//! Arrow record batches written as Bulk API 2.0 CSV: the header from the batch's column names,
//! each cell in the form Bulk reads (dates `yyyy-MM-dd`, datetimes `...T...Z` in UTC, numbers
//! without exponents, `true`/`false`), nulls as the caller chooses (`#N/A` clears a field).

use crate::error::{Error, Result};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type,
    Int64Type, Int8Type, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, SchemaRef, TimeUnit};
use bytes::Bytes;
use std::fmt::Write as _;

/// Whether a column of this type can be written as Bulk CSV.
pub fn is_writable(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Null
            | DataType::Boolean
            | DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
            | DataType::Float32
            | DataType::Float64
            | DataType::Decimal128(_, _)
            | DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Utf8View
            | DataType::Date32
            | DataType::Date64
            | DataType::Timestamp(_, _)
    )
}

/// Batches of one schema written one after another into CSV held in memory.
pub struct BulkCsvWriter {
    schema: Option<SchemaRef>,
    out: csv::Writer<Vec<u8>>,
    null_text: String,
    rows: u64,
    header_written: bool,
    cell: String,
}

impl BulkCsvWriter {
    /// `null_text` is what a null becomes: `#N/A` sets the field to null, an empty cell leaves
    /// it as it is on update (and takes the default on insert).
    pub fn new(null_text: &str) -> Self {
        Self {
            schema: None,
            out: csv_writer(),
            null_text: null_text.to_owned(),
            rows: 0,
            header_written: false,
            cell: String::new(),
        }
    }

    /// Rows written since the last [`BulkCsvWriter::take`].
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Bytes written since the last take, the header row included (counted after each batch).
    pub fn len(&self) -> usize {
        self.out.get_ref().len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Appends a batch's rows; the first batch fixes the columns, later ones must match.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let schema = batch.schema();
        match &self.schema {
            Some(known) if known.fields() != schema.fields() => {
                return Err(Error::invalid_argument(
                    "data",
                    "a batch's columns differ from the first batch's",
                ))
            }
            Some(_) => {}
            None => {
                for field in schema.fields() {
                    if !is_writable(field.data_type()) {
                        return Err(Error::invalid_argument(
                            "data",
                            format!(
                                "column {:?} is of type {}, which Bulk API CSV cannot carry",
                                field.name(),
                                field.data_type()
                            ),
                        ));
                    }
                }
                self.schema = Some(schema.clone());
            }
        }
        if !self.header_written {
            self.write_header()?;
            self.header_written = true;
        }
        let columns = batch.columns();
        for row in 0..batch.num_rows() {
            for (index, column) in columns.iter().enumerate() {
                self.cell.clear();
                if column.is_null(row) {
                    self.cell.push_str(&self.null_text);
                } else {
                    format_cell(column, row, &mut self.cell).map_err(|message| {
                        let name = schema
                            .fields()
                            .get(index)
                            .map(|f| f.name().as_str())
                            .unwrap_or_default();
                        Error::invalid_argument(
                            "data",
                            format!("row {row} of the batch, column {name:?}: {message}"),
                        )
                    })?;
                }
                self.out.write_field(&self.cell).map_err(csv_error)?;
            }
            self.out.write_record(None::<&[u8]>).map_err(csv_error)?;
            self.rows += 1;
        }
        // Flushed per batch, so that len() counts every byte written.
        self.out.flush().map_err(|e| csv_error(e.into()))
    }

    fn write_header(&mut self) -> Result<()> {
        let Some(schema) = &self.schema else {
            return Ok(());
        };
        self.out
            .write_record(schema.fields().iter().map(|f| f.name().as_str()))
            .map_err(csv_error)
    }

    /// The CSV written so far (header and rows) and its row count; the writer starts again
    /// with a header on the next batch.
    pub fn take(&mut self) -> Result<(Bytes, u64)> {
        let bytes = std::mem::replace(&mut self.out, csv_writer())
            .into_inner()
            .map_err(|e| csv_error(e.into_error().into()))?;
        let rows = std::mem::take(&mut self.rows);
        self.header_written = false;
        Ok((Bytes::from(bytes), rows))
    }
}

fn csv_writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new())
}

fn csv_error(e: csv::Error) -> Error {
    Error::invalid_argument("data", format!("cannot write CSV: {e}"))
}

/// Writes the (non-null) value at `row` as Bulk CSV text.
fn format_cell(column: &ArrayRef, row: usize, out: &mut String) -> std::result::Result<(), String> {
    macro_rules! number {
        ($t:ty) => {{
            let _ = write!(out, "{}", column.as_primitive::<$t>().value(row));
        }};
    }
    match column.data_type() {
        DataType::Null => {}
        DataType::Boolean => out.push_str(if column.as_boolean().value(row) {
            "true"
        } else {
            "false"
        }),
        DataType::Int8 => number!(Int8Type),
        DataType::Int16 => number!(Int16Type),
        DataType::Int32 => number!(Int32Type),
        DataType::Int64 => number!(Int64Type),
        DataType::UInt8 => number!(UInt8Type),
        DataType::UInt16 => number!(UInt16Type),
        DataType::UInt32 => number!(UInt32Type),
        DataType::UInt64 => number!(UInt64Type),
        DataType::Float32 => float(
            f64::from(column.as_primitive::<Float32Type>().value(row)),
            out,
        )?,
        DataType::Float64 => float(column.as_primitive::<Float64Type>().value(row), out)?,
        DataType::Decimal128(precision, scale) => {
            let value = column.as_primitive::<Decimal128Type>().value(row);
            out.push_str(
                &<Decimal128Type as arrow_array::types::DecimalType>::format_decimal(
                    value, *precision, *scale,
                ),
            );
        }
        DataType::Utf8 => out.push_str(column.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => out.push_str(column.as_string::<i64>().value(row)),
        DataType::Utf8View => out.push_str(column.as_string_view().value(row)),
        DataType::Date32 => {
            let days = column.as_primitive::<Date32Type>().value(row);
            date(i64::from(days) * 86_400_000, out)?;
        }
        DataType::Date64 => date(column.as_primitive::<Date64Type>().value(row), out)?,
        DataType::Timestamp(unit, _) => {
            // A zone only changes how the instant is shown; the value is UTC either way.
            let micros = match unit {
                TimeUnit::Second => column
                    .as_primitive::<TimestampSecondType>()
                    .value(row)
                    .checked_mul(1_000_000),
                TimeUnit::Millisecond => column
                    .as_primitive::<TimestampMillisecondType>()
                    .value(row)
                    .checked_mul(1_000),
                TimeUnit::Microsecond => {
                    Some(column.as_primitive::<TimestampMicrosecondType>().value(row))
                }
                TimeUnit::Nanosecond => {
                    Some(column.as_primitive::<TimestampNanosecondType>().value(row) / 1_000)
                }
            }
            .ok_or("the time is out of range")?;
            let time = chrono::DateTime::from_timestamp_micros(micros)
                .ok_or("the time is out of range")?;
            let _ = write!(out, "{}", time.format("%Y-%m-%dT%H:%M:%S%.3fZ"));
        }
        other => return Err(format!("type {other} cannot be written")),
    }
    Ok(())
}

fn float(value: f64, out: &mut String) -> std::result::Result<(), String> {
    if !value.is_finite() {
        return Err(format!("{value} is not a number Salesforce can store"));
    }
    // Rust's shortest round-trip form, never with an exponent.
    let _ = write!(out, "{value}");
    Ok(())
}

fn date(millis: i64, out: &mut String) -> std::result::Result<(), String> {
    let time = chrono::DateTime::from_timestamp_millis(millis).ok_or("the date is out of range")?;
    let _ = write!(out, "{}", time.format("%Y-%m-%d"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::builder::{Decimal128Builder, StringBuilder};
    use arrow_array::{
        BooleanArray, Date32Array, Float64Array, Int64Array, TimestampMicrosecondArray,
    };
    use arrow_schema::{Field, Schema};
    use std::sync::Arc;

    fn batch() -> RecordBatch {
        let mut names = StringBuilder::new();
        names.append_value("Acme, \"Inc\"");
        names.append_null();
        let mut money = Decimal128Builder::new()
            .with_precision_and_scale(10, 2)
            .unwrap();
        money.append_value(123_456);
        money.append_null();
        let schema = Schema::new(vec![
            Field::new("Name", DataType::Utf8, true),
            Field::new("NumberOfEmployees", DataType::Int64, true),
            Field::new("AnnualRevenue", DataType::Float64, true),
            Field::new("IsActive__c", DataType::Boolean, true),
            Field::new("Since__c", DataType::Date32, true),
            Field::new(
                "Seen__c",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Field::new("Price__c", DataType::Decimal128(10, 2), true),
        ]);
        RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(names.finish()),
                Arc::new(Int64Array::from(vec![Some(42), None])),
                Arc::new(Float64Array::from(vec![Some(1.5e9), None])),
                Arc::new(BooleanArray::from(vec![Some(true), None])),
                Arc::new(Date32Array::from(vec![Some(19_723), None])),
                Arc::new(
                    TimestampMicrosecondArray::from(vec![Some(1_704_067_200_123_456), None])
                        .with_timezone("UTC"),
                ),
                Arc::new(money.finish()),
            ],
        )
        .unwrap()
    }

    #[test]
    fn cells_are_written_as_bulk_reads_them() {
        let mut writer = BulkCsvWriter::new("#N/A");
        writer.write(&batch()).unwrap();
        writer.write(&batch()).unwrap();
        let (csv, rows) = writer.take().unwrap();
        assert_eq!(rows, 4);
        let text = String::from_utf8(csv.to_vec()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "Name,NumberOfEmployees,AnnualRevenue,IsActive__c,Since__c,Seen__c,Price__c"
        );
        assert_eq!(
            lines[1],
            "\"Acme, \"\"Inc\"\"\",42,1500000000,true,2024-01-01,2024-01-01T00:00:00.123Z,1234.56"
        );
        assert_eq!(lines[2], "#N/A,#N/A,#N/A,#N/A,#N/A,#N/A,#N/A");
        assert_eq!(lines.len(), 5, "one header per take");
        assert!(writer.is_empty());
        writer.write(&batch()).unwrap();
        let (again, _) = writer.take().unwrap();
        assert!(
            again.starts_with(b"Name,"),
            "a new take starts with the header"
        );
    }

    #[test]
    fn unwritable_types_and_values_are_refused() {
        let schema = Schema::new(vec![Field::new("X", DataType::Float64, false)]);
        let bad = RecordBatch::try_new(
            Arc::new(schema),
            vec![Arc::new(Float64Array::from(vec![f64::NAN]))],
        )
        .unwrap();
        let err = BulkCsvWriter::new("").write(&bad).unwrap_err();
        assert!(err.to_string().contains("\"X\""), "{err}");
        assert!(!is_writable(&DataType::Binary));
    }
}
