//! Query results as Arrow record batches, each column typed from the object's describe:
//! numbers, booleans, dates and datetimes as such, the rest as text. REST query records (JSON)
//! and Bulk query pages (CSV) are read into the same column builders.

use crate::client::Client;
use crate::error::{Error, Result};
use crate::sobjects::SObjectDescribe;
use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, LargeStringBuilder,
    TimestampMillisecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use serde_json::Value;
use std::collections::HashMap;
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

/// What a SOQL query's SELECT list names, read without a full parser: the main object and,
/// for each item, a field path or an aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SelectList {
    pub object: String,
    pub items: Vec<SelectItem>,
    /// An aggregate query (an aggregate or GROUP BY): its rows are AggregateResults, which
    /// name a grouped parent field by the field alone (`Account.Name` comes back as `Name`).
    pub grouped: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SelectItem {
    /// `Name`, `Account.Owner.Name`.
    Path(String),
    /// `COUNT(Id) total`: the function, its argument and the column's name (the alias, or
    /// `exprN` in the order of unaliased aggregates).
    Aggregate {
        function: String,
        argument: String,
        name: String,
    },
    /// Anything else (`FIELDS(ALL)`, `TYPEOF`, a subquery): columns come from the records.
    Other,
}

/// The byte offsets of `text` outside quoted strings and parentheses, in order.
fn top_level(text: &str) -> impl Iterator<Item = usize> + '_ {
    let (mut depth, mut quoted, mut escaped) = (0i32, false, false);
    text.bytes().enumerate().filter_map(move |(i, c)| {
        match c {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'\'' => quoted = !quoted,
            b'(' if !quoted => depth += 1,
            b')' if !quoted => depth -= 1,
            _ if !quoted && depth == 0 => return Some(i),
            _ => {}
        }
        None
    })
}

/// Splits `text` at top-level commas.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    for i in top_level(text).filter(|&i| text.as_bytes()[i] == b',') {
        parts.push(&text[start..i]);
        start = i + 1;
    }
    parts.push(&text[start..]);
    parts
}

/// The byte offset of the first top-level occurrence of the keyword `word`.
fn find_keyword(text: &str, word: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let boundary = |j: usize| {
        bytes
            .get(j)
            .is_none_or(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
    };
    top_level(text).find(|&i| {
        let end = i + word.len();
        text.get(i..end)
            .is_some_and(|found| found.eq_ignore_ascii_case(word))
            && (i == 0 || boundary(i - 1))
            && boundary(end)
    })
}

fn is_path(text: &str) -> bool {
    !text.is_empty()
        && text
            .split('.')
            .all(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

impl SelectList {
    pub(crate) fn parse(soql: &str) -> Option<SelectList> {
        let soql = soql.trim();
        let select = find_keyword(soql, "SELECT")?;
        let from = find_keyword(soql, "FROM")?;
        let list = soql.get(select + 6..from)?;
        let object = soql
            .get(from + 4..)?
            .split(|c: char| c.is_whitespace() || c == ',')
            .find(|s| !s.is_empty())?
            .to_owned();
        let mut expr = 0;
        let items: Vec<SelectItem> = split_top_level(list)
            .into_iter()
            .map(|item| {
                let item = item.trim();
                if is_path(item) {
                    return SelectItem::Path(item.to_owned());
                }
                let Some(open) = item.find('(') else {
                    return SelectItem::Other;
                };
                let Some(close) = item.rfind(')') else {
                    return SelectItem::Other;
                };
                let function = item[..open].trim().to_ascii_uppercase();
                let known = ["COUNT", "COUNT_DISTINCT", "SUM", "AVG", "MIN", "MAX"];
                if !known.contains(&function.as_str()) {
                    return SelectItem::Other;
                }
                let argument = item[open + 1..close].trim().to_owned();
                let alias = item[close + 1..].trim();
                let name = if alias.is_empty() {
                    expr += 1;
                    format!("expr{}", expr - 1)
                } else if is_path(alias) && !alias.contains('.') {
                    alias.to_owned()
                } else {
                    return SelectItem::Other;
                };
                SelectItem::Aggregate {
                    function,
                    argument,
                    name,
                }
            })
            .collect();
        let grouped = find_keyword(soql, "GROUP").is_some()
            || items
                .iter()
                .any(|i| matches!(i, SelectItem::Aggregate { .. }));
        Some(SelectList {
            object,
            items,
            grouped,
        })
    }
}

/// The main (FROM) object of a SOQL query, if it can be read.
pub fn query_object(soql: &str) -> Option<String> {
    SelectList::parse(soql).map(|l| l.object)
}

/// Reads describes once per object, following relationships to type a path's last field.
pub(crate) struct Describer<'a> {
    client: &'a Client,
    cache: HashMap<String, Arc<SObjectDescribe>>,
    /// Refuse a path that names no field, instead of typing it as text (and leaving the
    /// refusal to the server).
    strict: bool,
}

impl<'a> Describer<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self {
            client,
            cache: HashMap::new(),
            strict: false,
        }
    }

    async fn describe(&mut self, object: &str) -> Result<Arc<SObjectDescribe>> {
        let key = object.to_ascii_lowercase();
        if let Some(found) = self.cache.get(&key) {
            return Ok(found.clone());
        }
        let describe = Arc::new(self.client.sobjects().describe(object).await?);
        self.cache.insert(key, describe.clone());
        Ok(describe)
    }

    /// The path as the API names it (`account.name` becomes `Account.Name`) and its kind;
    /// a path describe cannot follow (a polymorphic parent's field) is text under its own
    /// name.
    pub(crate) async fn resolve(&mut self, object: &str, path: &str) -> Result<Column> {
        let segments: Vec<&str> = path.split('.').collect();
        // A path may start with the object's name (`Account.Name` in `FROM Account`).
        let segments = match segments.as_slice() {
            [first, rest @ ..] if !rest.is_empty() && first.eq_ignore_ascii_case(object) => {
                rest.to_vec()
            }
            _ => segments,
        };
        let mut describe = self.describe(object).await?;
        let mut names = Vec::with_capacity(segments.len());
        for (i, segment) in segments.iter().enumerate() {
            if i + 1 == segments.len() {
                let Some(field) = describe.field(segment) else {
                    break;
                };
                names.push(field.name.clone());
                return Ok(Column {
                    name: names.join("."),
                    kind: ColumnKind::of_field_type(&field.field_type),
                });
            }
            let parent = describe.fields.iter().find(|f| {
                f.relationship_name
                    .as_deref()
                    .is_some_and(|r| r.eq_ignore_ascii_case(segment))
            });
            let Some((relationship, target)) = parent.and_then(|f| {
                Some((
                    f.relationship_name.clone()?,
                    f.reference_to.first()?.clone(),
                ))
            }) else {
                break;
            };
            names.push(relationship);
            describe = self.describe(&target).await?;
        }
        if self.strict {
            return Err(Error::invalid_argument(
                "soql",
                format!("No such column '{path}' on entity '{object}'"),
            ));
        }
        Ok(Column {
            name: segments.join("."),
            kind: ColumnKind::Text,
        })
    }

    /// The columns of `soql`'s SELECT list; None when it holds an item whose column cannot be
    /// known before the records are read.
    pub(crate) async fn columns_of(&mut self, soql: &str) -> Result<Option<Vec<Column>>> {
        let Some(list) = SelectList::parse(soql) else {
            return Ok(None);
        };
        let mut columns = Vec::with_capacity(list.items.len());
        for item in &list.items {
            columns.push(match item {
                SelectItem::Path(path) => {
                    let mut column = self.resolve(&list.object, path).await?;
                    if list.grouped {
                        if let Some((_, field)) = column.name.rsplit_once('.') {
                            column.name = field.to_owned();
                        }
                    }
                    column
                }
                SelectItem::Aggregate {
                    function,
                    argument,
                    name,
                } => {
                    let kind = match function.as_str() {
                        "COUNT" | "COUNT_DISTINCT" => ColumnKind::Integer,
                        "SUM" | "AVG" => ColumnKind::Float,
                        _ => self.resolve(&list.object, argument).await?.kind,
                    };
                    Column {
                        name: name.clone(),
                        kind,
                    }
                }
                SelectItem::Other => return Ok(None),
            });
        }
        Ok(Some(columns))
    }

    /// Columns named by a Bulk result's header, typed through `object`'s describe.
    pub(crate) async fn columns_of_header(
        &mut self,
        object: &str,
        header: &[String],
    ) -> Result<Vec<Column>> {
        let mut columns = Vec::with_capacity(header.len());
        for name in header {
            let kind = self.resolve(object, name).await?.kind;
            columns.push(Column {
                name: name.clone(),
                kind,
            });
        }
        Ok(columns)
    }
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

impl crate::query::Query<'_> {
    /// Every record of `soql` (all pages) as Arrow record batches, each column typed from
    /// describe. Columns follow the SELECT list (`Account.Name` for a parent's field,
    /// `expr0` or the alias for an aggregate); a list with items such as `FIELDS(ALL)` or a
    /// subquery takes its columns from the first record, as text.
    pub async fn to_arrow(&self, soql: &str, options: crate::query::QueryOptions) -> Result<Frame> {
        let client = self.client();
        let mut describer = Describer::new(client);
        let known = describer.columns_of(soql).await?;
        let mut builder = known.map(FrameBuilder::new);
        let mut pager = self.pages(soql, options);
        let mut total_size = None;
        let mut rows = 0usize;
        while let Some(page) = pager.next_raw_page().await? {
            total_size.get_or_insert(page.total_size);
            let records = page.decode()?.records;
            for record in &records {
                let builder =
                    builder.get_or_insert_with(|| FrameBuilder::new(columns_of_record(record)));
                builder.push_record(record)?;
                rows += 1;
            }
        }
        // `SELECT COUNT() FROM ...` answers with its count as totalSize and no records: the
        // frame is that count, one row.
        if let (Some(column), Some(count), Some(builder), 0) =
            (count_only_column(soql), total_size, builder.as_mut(), rows)
        {
            let mut record = serde_json::Map::new();
            record.insert(column, Value::from(count));
            builder.push_record(&record)?;
        }
        builder
            .unwrap_or_else(|| FrameBuilder::new(Vec::new()))
            .finish()
    }
}

/// The column of a query whose whole select list is `COUNT()` (`expr0`, or its alias).
fn count_only_column(soql: &str) -> Option<String> {
    let list = SelectList::parse(soql)?;
    match list.items.as_slice() {
        [SelectItem::Aggregate {
            function,
            argument,
            name,
        }] if function == "COUNT" && argument.is_empty() => Some(name.clone()),
        _ => None,
    }
}

impl crate::bulk::BulkQueryPager {
    /// Every remaining page of the job as Arrow record batches, each column typed through
    /// `object`'s describe (the query's FROM object; read from the SOQL by
    /// [`crate::bulk::Bulk::query_to_arrow`]).
    pub async fn to_arrow(&mut self, object: &str) -> Result<Frame> {
        let delimiter = self.delimiter();
        let client = self.client().clone();
        let mut describer = Describer::new(&client);
        let Some(first) = self.next_page().await? else {
            return FrameBuilder::new(Vec::new()).finish();
        };
        let header: Vec<String> = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .from_reader(first.csv.as_ref())
            .headers()
            .map_err(unreadable_page)?
            .iter()
            .map(str::to_owned)
            .collect();
        let mut builder = FrameBuilder::new(describer.columns_of_header(object, &header).await?);
        let mut page = Some(first);
        // Each page is read into the columns on a blocking thread while the next one downloads.
        while let Some(current) = page.take() {
            let reading = tokio::task::spawn_blocking(move || {
                read_csv_page(&mut builder, &current.csv, delimiter).map(|()| builder)
            });
            let (read, next) = tokio::join!(reading, self.next_page());
            builder = read.map_err(|e| Error::UnexpectedResponse {
                status: 200,
                message: format!("reading a results page stopped: {e}"),
            })??;
            page = next?;
        }
        builder.finish()
    }
}

/// The typed columns of a query's SELECT list, read through describe (`Account.Name` typed
/// by Account's `Name`); None when the list names items that cannot be typed ahead
/// (`FIELDS(ALL)`, a subquery).
/// A path that names no field is refused.
pub async fn query_columns(client: &Client, soql: &str) -> Result<Option<Vec<Column>>> {
    let mut describer = Describer::new(client);
    describer.strict = true;
    describer.columns_of(soql).await
}

/// A parallel read planned: one completed query job, its result pages (each readable on its
/// own, by any client of the org) and the typed columns every page has.
#[derive(Debug, Clone)]
pub struct QueryPlan {
    pub job_id: String,
    pub total_records: u64,
    pub result_urls: Vec<String>,
    pub columns: Vec<Column>,
}

impl crate::bulk::Bulk<'_> {
    /// The typed columns of `soql`, refused unless every SELECT item can be typed ahead (a
    /// field that does not exist, `FIELDS(...)`, a subquery), before any job.
    pub async fn planned_columns(&self, soql: &str) -> Result<Vec<Column>> {
        query_columns(self.client(), soql).await?.ok_or_else(|| {
            Error::invalid_argument(
                "soql",
                "name each field in the SELECT list (FIELDS(...) and subqueries cannot be typed ahead)",
            )
        })
    }

    /// Plans a parallel read of `soql`: types its columns (so a bad field fails before any
    /// job), runs one query job and lists its result pages, of at most `max_records` rows, or
    /// of the total split into `partitions` when that is given (Salesforce may choose its own
    /// size; see [`crate::bulk::Bulk::result_pages`]).
    pub async fn plan_query(
        &self,
        soql: &str,
        all_rows: bool,
        max_records: Option<u64>,
        partitions: Option<u64>,
        poll: &crate::bulk::PollOptions,
    ) -> Result<QueryPlan> {
        if partitions == Some(0) {
            return Err(Error::invalid_argument("partitions", "must be positive"));
        }
        let columns = self.planned_columns(soql).await?;
        let pager = self.query(soql, all_rows, None, poll).await?;
        let total = pager.total_records();
        let share = partitions.map(|n| total.div_ceil(n).max(1));
        let page_rows = match (max_records, share) {
            (Some(max), Some(share)) => Some(max.min(share)),
            (one, other) => one.or(other),
        };
        let result_urls = self.result_pages(pager.job_id(), page_rows).await?;
        Ok(QueryPlan {
            job_id: pager.job_id().to_owned(),
            total_records: total,
            result_urls,
            columns,
        })
    }

    /// One result page of a completed query job (a `resultUrl` of
    /// [`crate::bulk::Bulk::result_pages`]) as Arrow record batches with `columns`, which
    /// must be the page's header in order (as [`query_columns`] gives them for the job's
    /// query).
    pub async fn result_page_to_arrow(
        &self,
        job_id: &str,
        result_url: &str,
        columns: Vec<Column>,
    ) -> Result<Frame> {
        let page = self.result_page(job_id, result_url).await?;
        tokio::task::spawn_blocking(move || {
            let mut reader = csv::ReaderBuilder::new().from_reader(page.csv.as_ref());
            let header = reader.byte_headers().map_err(unreadable_page)?;
            let same = header.len() == columns.len()
                && header
                    .iter()
                    .zip(&columns)
                    .all(|(cell, column)| cell.eq_ignore_ascii_case(column.name.as_bytes()));
            if !same {
                return Err(Error::UnexpectedResponse {
                    status: 200,
                    message: format!(
                        "the results page has columns {:?}, not the planned {:?}",
                        String::from_utf8_lossy(header.as_slice()),
                        columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>()
                    ),
                });
            }
            let mut builder = FrameBuilder::new(columns);
            read_csv_page(&mut builder, &page.csv, b',')?;
            builder.finish()
        })
        .await
        .map_err(|e| Error::UnexpectedResponse {
            status: 200,
            message: format!("reading a results page stopped: {e}"),
        })?
    }
}

fn unreadable_page(e: csv::Error) -> Error {
    Error::UnexpectedResponse {
        status: 200,
        message: format!("cannot read a query results page: {e}"),
    }
}

/// Appends the rows of one CSV page (its header row skipped) to `builder`.
fn read_csv_page(builder: &mut FrameBuilder, csv: &[u8], delimiter: u8) -> Result<()> {
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

impl crate::bulk::Bulk<'_> {
    /// Runs a bulk query and reads every page into Arrow record batches (see
    /// [`crate::bulk::BulkQueryPager::to_arrow`]).
    pub async fn query_to_arrow(
        &self,
        soql: &str,
        all_rows: bool,
        max_records: Option<u64>,
        poll: &crate::bulk::PollOptions,
    ) -> Result<Frame> {
        let object = SelectList::parse(soql)
            .map(|l| l.object)
            .ok_or_else(|| Error::invalid_argument("soql", "no FROM object in the query"))?;
        let mut pager = self.query(soql, all_rows, max_records, poll).await?;
        pager.to_arrow(&object).await
    }
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
    fn select_lists_are_read_into_paths_and_aggregates() {
        let list = SelectList::parse(
            "SELECT Id, Account.Name, COUNT(Id), MAX(Amount) top, (SELECT Id FROM Contacts) \
             FROM Opportunity WHERE Name = 'a, FROM b' GROUP BY Id",
        )
        .unwrap();
        assert_eq!(list.object, "Opportunity");
        assert_eq!(list.items[0], SelectItem::Path("Id".into()));
        assert_eq!(list.items[1], SelectItem::Path("Account.Name".into()));
        assert_eq!(
            list.items[2],
            SelectItem::Aggregate {
                function: "COUNT".into(),
                argument: "Id".into(),
                name: "expr0".into()
            }
        );
        assert_eq!(
            list.items[3],
            SelectItem::Aggregate {
                function: "MAX".into(),
                argument: "Amount".into(),
                name: "top".into()
            }
        );
        assert_eq!(list.items[4], SelectItem::Other);
        assert_eq!(
            SelectList::parse("select name from contact")
                .unwrap()
                .object,
            "contact"
        );
        assert!(SelectList::parse("not a query").is_none());
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
