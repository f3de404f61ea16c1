//! The SOQL engine: parse, run over the store, and keep query cursors for `nextRecordsUrl`.

mod eval;
mod parse;

pub use eval::{render, run, Outcome, Resolved};
pub use parse::{parse, Query};

use crate::failure::ApiFailure;
use crate::org::lock;
use crate::store::{Store, StoredRecord};
use serde_json::{json, Value};
use std::collections::{btree_map, BTreeMap, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::Mutex;

/// How many open cursors are kept; the oldest is dropped beyond it, as Salesforce expires them.
const MAX_CURSORS: usize = 2_000;

struct Cursor {
    object: String,
    ids: Vec<String>,
    columns: Vec<Resolved>,
    batch: usize,
}

/// Open query cursors.
#[derive(Default)]
pub struct Cursors {
    open: Mutex<(HashMap<String, Cursor>, VecDeque<String>, u64)>,
}

impl Cursors {
    /// Runs a query and answers its first page.
    pub fn start(
        &self,
        store: &Store,
        soql: &str,
        all_rows: bool,
        batch: usize,
        version: &str,
    ) -> Result<Vec<u8>, ApiFailure> {
        let query = parse(soql)?;
        match run(store, soql, &query, all_rows)? {
            Outcome::Count(n) => Ok(json!({"totalSize": n, "done": true, "records": []})
                .to_string()
                .into_bytes()),
            Outcome::Aggregate(rows) => Ok(
                json!({"totalSize": rows.len(), "done": true, "records": rows})
                    .to_string()
                    .into_bytes(),
            ),
            Outcome::Rows {
                object,
                ids,
                columns,
            } => {
                let cursor = Cursor {
                    object,
                    ids,
                    columns,
                    batch,
                };
                if cursor.ids.len() > batch {
                    let id = self.next_id();
                    let body = page(
                        store,
                        &cursor,
                        0,
                        version,
                        Some(next_url(&id, batch, version)),
                    );
                    self.keep(id, cursor);
                    body
                } else {
                    page(store, &cursor, 0, version, None)
                }
            }
        }
    }

    /// The page at a locator (`{cursor}-{offset}`).
    pub fn next(&self, store: &Store, locator: &str, version: &str) -> Result<Vec<u8>, ApiFailure> {
        let invalid = || ApiFailure::bad_request("INVALID_QUERY_LOCATOR", "invalid query locator");
        let (id, offset) = locator.rsplit_once('-').ok_or_else(invalid)?;
        let offset: usize = offset.parse().map_err(|_| invalid())?;
        let open = lock(&self.open);
        let cursor = open.0.get(id).ok_or_else(invalid)?;
        if offset >= cursor.ids.len() {
            return Err(invalid());
        }
        let next = (offset + cursor.batch < cursor.ids.len())
            .then(|| next_url(id, offset + cursor.batch, version));
        page(store, cursor, offset, version, next)
    }

    fn next_id(&self) -> String {
        let mut open = lock(&self.open);
        open.2 += 1;
        format!("01g5e{:010}", open.2)
    }

    fn keep(&self, id: String, cursor: Cursor) {
        let mut open = lock(&self.open);
        open.0.insert(id.clone(), cursor);
        open.1.push_back(id.clone());
        while open.1.len() > MAX_CURSORS {
            if let Some(old) = open.1.pop_front() {
                open.0.remove(&old);
            }
        }
    }
}

fn next_url(cursor: &str, offset: usize, version: &str) -> String {
    format!("/services/data/v{version}/query/{cursor}-{offset}")
}

/// A page written straight from the store: no copy of the records is built first.
fn page(
    store: &Store,
    cursor: &Cursor,
    offset: usize,
    version: &str,
    next: Option<String>,
) -> Result<Vec<u8>, ApiFailure> {
    // About 400 bytes a row of ten fields: sized once rather than grown by copying.
    let mut out = Vec::with_capacity(4096 + 400 * cursor.batch.min(cursor.ids.len()));
    write_page(&mut out, store, cursor, offset, version, next.as_deref()).map_err(|e| {
        ApiFailure::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "UNKNOWN_EXCEPTION",
            e.to_string(),
        )
    })?;
    Ok(out)
}

fn write_page(
    out: &mut Vec<u8>,
    store: &Store,
    cursor: &Cursor,
    offset: usize,
    version: &str,
    next: Option<&str>,
) -> serde_json::Result<()> {
    out.extend_from_slice(b"{\"totalSize\":");
    serde_json::to_writer(&mut *out, &cursor.ids.len())?;
    out.extend_from_slice(if next.is_some() {
        b",\"done\":false"
    } else {
        b",\"done\":true"
    });
    if let Some(next) = next {
        out.extend_from_slice(b",\"nextRecordsUrl\":");
        serde_json::to_writer(&mut *out, next)?;
    }
    out.extend_from_slice(b",\"records\":[");
    let ids = cursor.ids.iter().skip(offset).take(cursor.batch);
    if cursor.columns.iter().all(Resolved::is_own_field) {
        let mut records = store
            .object(&cursor.object)
            .ok()
            .map(|o| InOrderLookup::new(&o.records));
        let mut positions = FieldPositions::new(cursor.columns.len());
        let mut values = Vec::with_capacity(cursor.columns.len());
        let row = FlatRow::new(&cursor.object, &cursor.columns, version)?;
        for (n, id) in ids.enumerate() {
            if n > 0 {
                out.push(b',');
            }
            let record = records.as_mut().and_then(|r| r.get(id));
            positions.read(record, &cursor.columns, &mut values);
            row.write(out, id, &values)?;
        }
    } else {
        for (n, id) in ids.enumerate() {
            if n > 0 {
                out.push(b',');
            }
            let row = render(store, &cursor.object, id, &cursor.columns, version);
            serde_json::to_writer(&mut *out, &row)?;
        }
    }
    out.extend_from_slice(b"]}");
    Ok(())
}

/// A row whose columns are all the object's own fields, its fixed parts (the attributes up to
/// the id, each `,"Field":`) escaped once per page instead of once per row.
struct FlatRow {
    /// `{"attributes":{"type":"Account","url":"/services/data/v62.0/sobjects/Account/`
    head: Vec<u8>,
    /// `"Account"`, for a row whose id needs escaping.
    object: Vec<u8>,
    url_base: String,
    keys: Vec<Vec<u8>>,
}

impl FlatRow {
    fn new(object: &str, columns: &[Resolved], version: &str) -> serde_json::Result<Self> {
        let url_base = format!("/services/data/v{version}/sobjects/{object}/");
        let object = serde_json::to_vec(object)?;
        let mut head = b"{\"attributes\":{\"type\":".to_vec();
        head.extend_from_slice(&object);
        head.extend_from_slice(b",\"url\":");
        serde_json::to_writer(&mut head, &url_base)?;
        head.pop(); // the closing quote: the id follows
        let keys = columns
            .iter()
            .map(|column| {
                let mut key = vec![b','];
                serde_json::to_writer(&mut key, column.field_name())?;
                key.push(b':');
                Ok(key)
            })
            .collect::<serde_json::Result<_>>()?;
        Ok(Self {
            head,
            object,
            url_base,
            keys,
        })
    }

    fn write(&self, out: &mut Vec<u8>, id: &str, values: &[&Value]) -> serde_json::Result<()> {
        if id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            out.extend_from_slice(&self.head);
            out.extend_from_slice(id.as_bytes());
            out.push(b'"');
        } else {
            out.extend_from_slice(b"{\"attributes\":{\"type\":");
            out.extend_from_slice(&self.object);
            out.extend_from_slice(b",\"url\":");
            serde_json::to_writer(&mut *out, &format!("{}{id}", self.url_base))?;
        }
        out.push(b'}');
        for (key, value) in self.keys.iter().zip(values) {
            out.extend_from_slice(key);
            serde_json::to_writer(&mut *out, value)?;
        }
        out.push(b'}');
        Ok(())
    }
}

/// Where each column sat in the last record's fields. Records written the same way keep their
/// fields in the same order, so most rows are read by position (checked by name) instead of
/// hashing every column's name into every record's map.
struct FieldPositions<'a> {
    at: Vec<Option<usize>>,
    entries: Vec<(&'a String, &'a Value)>,
}

impl<'a> FieldPositions<'a> {
    fn new(columns: usize) -> Self {
        Self {
            at: vec![None; columns],
            entries: Vec::new(),
        }
    }

    /// The record's values for `columns`, in their order; null where a field is not set.
    fn read(
        &mut self,
        record: Option<&'a StoredRecord>,
        columns: &[Resolved],
        out: &mut Vec<&'a Value>,
    ) {
        out.clear();
        self.entries.clear();
        if let Some(record) = record {
            self.entries.extend(record.fields.iter());
        }
        for (column, at) in columns.iter().zip(self.at.iter_mut()) {
            let name = column.field_name();
            let by_position = at
                .and_then(|i| self.entries.get(i))
                .filter(|(key, _)| key.as_str() == name);
            let value = match by_position {
                Some((_, value)) => *value,
                None => match self
                    .entries
                    .iter()
                    .position(|(key, _)| key.as_str() == name)
                {
                    Some(i) => {
                        *at = Some(i);
                        self.entries[i].1
                    }
                    None => &Value::Null,
                },
            };
            out.push(value);
        }
    }
}

/// Looks records up by id, walking the map instead of searching it while the ids come in the
/// map's order (a query without ORDER BY), and searching when they jump.
struct InOrderLookup<'a> {
    records: &'a BTreeMap<String, StoredRecord>,
    walk: Option<std::iter::Peekable<btree_map::Range<'a, String, StoredRecord>>>,
}

impl<'a> InOrderLookup<'a> {
    fn new(records: &'a BTreeMap<String, StoredRecord>) -> Self {
        Self {
            records,
            walk: None,
        }
    }

    fn get(&mut self, id: &str) -> Option<&'a StoredRecord> {
        if let Some(walk) = self.walk.as_mut() {
            if let Some((_, record)) = walk.next_if(|(key, _)| key.as_str() == id) {
                return Some(record);
            }
        }
        let mut walk = self
            .records
            .range::<str, _>((Bound::Included(id), Bound::Unbounded))
            .peekable();
        let found = walk
            .next_if(|(key, _)| key.as_str() == id)
            .map(|(_, record)| record);
        self.walk = Some(walk);
        found
    }
}

/// `?explain=`: the plans Salesforce would consider, best first, without running the query.
pub fn explain(store: &Store, soql: &str) -> Result<Value, ApiFailure> {
    let query = parse(soql)?;
    let outcome = run(store, soql, &query, false)?;
    let object = store.object(&query.object)?;
    let cardinality = object.records.values().filter(|r| !r.deleted).count();
    let matched = match &outcome {
        Outcome::Count(n) => *n,
        Outcome::Aggregate(_) => cardinality,
        Outcome::Rows { ids, .. } => ids.len(),
    };
    let indexed: Vec<String> = indexed_filter_fields(&query, object);
    let scan = json!({
        "cardinality": matched, "fields": [], "leadingOperationType": "TableScan", "notes": [],
        "relativeCost": if cardinality == 0 { 0.0 } else { 0.65 + (cardinality as f64 / 100_000.0) },
        "sobjectCardinality": cardinality, "sobjectType": object.meta.name,
    });
    let plans = if indexed.is_empty() {
        vec![scan]
    } else {
        vec![
            json!({"cardinality": matched, "fields": indexed, "leadingOperationType": "Index", "notes": [],
                   "relativeCost": 0.0, "sobjectCardinality": cardinality, "sobjectType": object.meta.name}),
            scan,
        ]
    };
    Ok(json!({"plans": plans}))
}

fn indexed_filter_fields(query: &Query, object: &crate::store::ObjectStore) -> Vec<String> {
    use parse::Cond;
    fn walk(cond: &Cond, out: &mut Vec<String>, object: &crate::store::ObjectStore) {
        match cond {
            Cond::And(parts) => parts.iter().for_each(|c| walk(c, out, object)),
            Cond::Cmp { field, op: "=", .. }
            | Cond::In {
                field,
                negated: false,
                ..
            } if field.len() == 1 => {
                if let Some(f) = field.first().and_then(|name| object.meta.field(name)) {
                    if f.name == "Id"
                        || f.external_id
                        || f.unique
                        || f.field_type == crate::schema::FieldType::Reference
                    {
                        out.push(f.name.clone());
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Some(filter) = &query.filter {
        walk(filter, &mut out, object);
    }
    out
}
