//! Query pages written straight from the store as JSON bytes: no copy of the records is built
//! first, and the parts every row shares are escaped once per page.

use super::{Cursor, Resolved};
use crate::http_kit::failure::ApiFailure;
use crate::model::record::{FieldName, RecordKey};
use crate::model::store::{Store, StoredRecord};
use crate::soql::render;
use serde_json::Value;
use std::collections::{btree_map, BTreeMap};
use std::ops::Bound;

/// One page of a cursor, as the JSON body of the answer.
pub(super) fn page(
    store: &Store,
    cursor: &Cursor,
    offset: usize,
    version: &str,
    next: Option<String>,
) -> Result<Vec<u8>, ApiFailure> {
    // About 400 bytes a row of ten fields: sized once rather than grown by copying.
    let mut out = Vec::with_capacity(4096 + 400 * cursor.batch.min(cursor.ids.len()));
    write_page(&mut out, store, cursor, offset, version, next.as_deref())
        .map_err(|e| ApiFailure::internal(e.to_string()))?;
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
    if !cursor.children.is_empty() {
        let page_ids: Vec<&str> = ids.clone().map(String::as_str).collect();
        let children: Vec<_> = cursor
            .children
            .iter()
            .map(|plan| plan.children_of(store, &page_ids))
            .collect();
        for (n, id) in page_ids.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            let mut row = render(store, &cursor.object, id, &cursor.columns, version);
            if let Value::Object(map) = &mut row {
                for (plan, found) in cursor.children.iter().zip(&children) {
                    plan.insert(store, map, found.get(*id), version);
                }
            }
            serde_json::to_writer(&mut *out, &row)?;
        }
    } else if cursor
        .columns
        .iter()
        .all(|c| c.is_own_field() && !c.field_type().is_derived())
    {
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
            write_value(out, value)?;
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
    entries: Vec<(&'a FieldName, &'a Value)>,
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
                .filter(|(key, _)| &***key == name);
            let value = match by_position {
                Some((_, value)) => *value,
                None => match self.entries.iter().position(|(key, _)| &***key == name) {
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
    records: &'a BTreeMap<RecordKey, StoredRecord>,
    walk: Option<std::iter::Peekable<btree_map::Range<'a, RecordKey, StoredRecord>>>,
}

impl<'a> InOrderLookup<'a> {
    fn new(records: &'a BTreeMap<RecordKey, StoredRecord>) -> Self {
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

/// A field value as JSON. Most text needs no escaping, which one pass over its bytes tells;
/// that text is copied as it is, anything else goes through serde_json.
fn write_value(out: &mut Vec<u8>, value: &Value) -> serde_json::Result<()> {
    match value {
        Value::String(text) if !needs_escape(text.as_bytes()) => {
            out.reserve(text.len() + 2);
            out.push(b'"');
            out.extend_from_slice(text.as_bytes());
            out.push(b'"');
            Ok(())
        }
        Value::Null => {
            out.extend_from_slice(b"null");
            Ok(())
        }
        other => serde_json::to_writer(&mut *out, other),
    }
}

/// What JSON requires escaped in a string: quote, backslash and control characters.
fn needs_escape(bytes: &[u8]) -> bool {
    bytes.iter().fold(false, |seen, &b| {
        seen | (b < 0x20) | (b == b'"') | (b == b'\\')
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::write_value;
    use serde_json::{json, Value};

    #[test]
    fn values_are_written_as_serde_json_writes_them() {
        let values = [
            json!("plain text, ünïcode 😀 and a / slash"),
            json!("quote \" backslash \\ newline \n tab \t bell \u{7} del \u{7f}"),
            json!(""),
            Value::Null,
            json!(true),
            json!(0.0),
            json!(-12.5),
            json!(1234567890123_i64),
        ];
        for value in &values {
            let mut ours = Vec::new();
            write_value(&mut ours, value).unwrap();
            assert_eq!(ours, serde_json::to_vec(value).unwrap(), "{value}");
        }
    }
}
