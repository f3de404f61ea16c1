//! Avro schemas of the org's events and their payloads: platform events from their fields,
//! change events from their object's fields (compound address fields as nested records).

use crate::model::record::{FieldName, Fields, Shape};
use crate::model::schema::{FieldType, ObjectMeta};
use apache_avro::types::Value as Avro;
use apache_avro::Schema;
use base64::Engine;
use forcelink_wire::FieldLayout;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

const NAMESPACE: &str = "com.sforce.eventbus";

/// Avro type of a Salesforce field in an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Boolean,
    Int,
    Double,
    /// Epoch milliseconds.
    DateTime,
    /// Days since the epoch.
    Date,
}

impl Kind {
    pub fn of(ty: FieldType) -> Self {
        match ty {
            FieldType::Boolean => Kind::Boolean,
            FieldType::Int => Kind::Int,
            FieldType::Double | FieldType::Currency | FieldType::Percent => Kind::Double,
            FieldType::DateTime => Kind::DateTime,
            FieldType::Date => Kind::Date,
            _ => Kind::String,
        }
    }

    fn avro_name(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Boolean => "boolean",
            Kind::Int | Kind::Date => "int",
            Kind::Double => "double",
            Kind::DateTime => "long",
        }
    }

    /// A JSON value (as REST stores or sends it) as this Avro type; None when it does not fit.
    pub fn to_avro(self, value: &Value) -> Option<Avro> {
        Some(match (self, value) {
            (Kind::String, Value::String(s)) => Avro::String(s.clone()),
            (Kind::String, Value::Number(n)) => Avro::String(n.to_string()),
            (Kind::String, Value::Bool(b)) => Avro::String(b.to_string()),
            (Kind::Boolean, Value::Bool(b)) => Avro::Boolean(*b),
            (Kind::Int, v) => Avro::Int(i32::try_from(v.as_i64()?).ok()?),
            (Kind::Double, v) => Avro::Double(v.as_f64()?),
            (Kind::DateTime, Value::Number(n)) => Avro::Long(n.as_i64()?),
            (Kind::DateTime, Value::String(s)) => Avro::Long(epoch_millis(s)?),
            (Kind::Date, Value::String(s)) => {
                let day = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
                let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?;
                Avro::Int(i32::try_from((day - epoch).num_days()).ok()?)
            }
            (Kind::Date, Value::Number(n)) => Avro::Int(i32::try_from(n.as_i64()?).ok()?),
            _ => return None,
        })
    }
}

/// `2026-11-26T10:50:00.000+0000` (or RFC 3339) as epoch milliseconds.
pub fn epoch_millis(text: &str) -> Option<i64> {
    // The records of one transaction share their timestamps: remember the last one parsed.
    thread_local! {
        static LAST: std::cell::RefCell<Option<(String, i64)>> = const { std::cell::RefCell::new(None) };
    }
    if let Some(ms) = LAST.with(|last| {
        last.borrow()
            .as_ref()
            .filter(|(t, _)| t == text)
            .map(|(_, ms)| *ms)
    }) {
        return Some(ms);
    }
    let ms = chrono::DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| chrono::DateTime::parse_from_rfc3339(text))
        .ok()
        .map(|t| t.timestamp_millis())?;
    LAST.with(|last| *last.borrow_mut() = Some((text.to_owned(), ms)));
    Some(ms)
}

fn nullable(ty: Value) -> Value {
    json!(["null", ty])
}

fn optional(value: Option<Avro>) -> Avro {
    match value {
        Some(v) => Avro::Union(1, Box::new(v)),
        None => Avro::Union(0, Box::new(Avro::Null)),
    }
}

/// Schema ids are 22-character base64url fingerprints of the schema JSON.
pub fn schema_id(schema_json: &str) -> String {
    let digest = Sha256::digest(schema_json.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
}

fn parse(schema_json: &str) -> Result<Schema, String> {
    Schema::parse_str(schema_json).map_err(|e| format!("invalid Avro schema: {e}"))
}

/// `AccountChangeEvent`, `Employee__ChangeEvent`: the change event type of an object.
pub fn change_event_name(object: &str) -> String {
    match object.strip_suffix("__c") {
        Some(base) => format!("{base}__ChangeEvent"),
        None => format!("{object}ChangeEvent"),
    }
}

/// A custom platform event type (`Name__e`) and its Avro schema.
#[derive(Debug, Clone)]
pub struct EventType {
    pub name: String,
    /// Custom fields in schema order.
    pub fields: Vec<(String, Kind)>,
    pub schema: Schema,
    pub schema_json: String,
    pub schema_id: String,
}

impl EventType {
    pub fn new(name: &str, fields: &[(String, FieldType)]) -> Result<Self, String> {
        if !name.ends_with("__e") || name.len() <= 3 {
            return Err(format!("a platform event name ends with __e: {name}"));
        }
        let fields: Vec<(String, Kind)> = fields
            .iter()
            .map(|(n, t)| (n.clone(), Kind::of(*t)))
            .collect();
        let mut avro_fields = vec![
            json!({"name": "CreatedDate", "type": "long", "doc": "CreatedDate:DateTime"}),
            json!({"name": "CreatedById", "type": "string", "doc": "CreatedBy:EntityId"}),
        ];
        for (field, kind) in &fields {
            if field == "CreatedDate" || field == "CreatedById" {
                return Err(format!("{field} is a system field of every event"));
            }
            avro_fields.push(json!({
                "name": field, "type": nullable(json!(kind.avro_name())), "default": null
            }));
        }
        let schema_json =
            json!({"name": name, "namespace": NAMESPACE, "type": "record", "fields": avro_fields})
                .to_string();
        Ok(Self {
            name: name.to_owned(),
            schema: parse(&schema_json)?,
            schema_id: schema_id(&schema_json),
            schema_json,
            fields,
        })
    }

    /// A REST body as this event's Avro payload; the error names the first field that is
    /// unknown or of the wrong type.
    pub fn encode_json(
        &self,
        body: &Map<String, Value>,
        user_id: &str,
        now_ms: i64,
    ) -> Result<Vec<u8>, (String, &'static str)> {
        for key in body.keys() {
            if !self.fields.iter().any(|(f, _)| f.eq_ignore_ascii_case(key)) {
                return Err((key.clone(), "INVALID_FIELD"));
            }
        }
        let mut record = vec![
            ("CreatedDate".to_owned(), Avro::Long(now_ms)),
            ("CreatedById".to_owned(), Avro::String(user_id.to_owned())),
        ];
        for (field, kind) in &self.fields {
            let given = body
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(field))
                .map(|(_, v)| v)
                .filter(|v| !v.is_null());
            let value = match given {
                None => None,
                Some(v) => Some(
                    kind.to_avro(v)
                        .ok_or_else(|| (field.clone(), "JSON_PARSER_ERROR"))?,
                ),
            };
            record.push((field.clone(), optional(value)));
        }
        apache_avro::to_avro_datum(&self.schema, Avro::Record(record))
            .map_err(|_| ("payload".to_owned(), "JSON_PARSER_ERROR"))
    }
}

/// One column of a change event body.
#[derive(Debug, Clone)]
enum Column {
    Plain {
        field: FieldName,
        kind: Kind,
    },
    /// A compound field: (component name, stored field, kind).
    Compound {
        parts: Vec<(String, FieldName, Kind)>,
    },
}

const ADDRESS_PARTS: [&str; 8] = [
    "Street",
    "City",
    "State",
    "PostalCode",
    "Country",
    "Latitude",
    "Longitude",
    "GeocodeAccuracy",
];

/// The change-event schema of one object (`AccountChangeEvent`).
#[derive(Debug, Clone)]
pub struct ChangeSchema {
    pub entity: String,
    pub schema: Schema,
    pub schema_json: String,
    pub schema_id: String,
    pub layout: FieldLayout,
    columns: Vec<(String, Column)>,
    /// The stored fields in the order the body is written: each plain column's field, each
    /// compound column's parts.
    stored: Vec<FieldName>,
    /// Stored field name to its name in the event (`BillingCity` → `BillingAddress.City`).
    event_names: HashMap<String, String>,
}

/// Which stored fields a change names, by their event names (`BillingCity` →
/// `BillingAddress.City`).
impl ChangeSchema {
    pub fn new(meta: &ObjectMeta) -> Result<Self, String> {
        let skip = ["Id", "IsDeleted", "SystemModstamp"];
        let has = |name: &str| meta.fields.iter().any(|f| &*f.name == name);
        let mut columns: Vec<(String, Column)> = Vec::new();
        for f in &meta.fields {
            // A compound field's event column is made from its parts below; file contents are
            // not sent in change events.
            if skip.contains(&&*f.name) || f.field_type.is_derived() {
                continue;
            }
            let prefix = ADDRESS_PARTS
                .iter()
                .find_map(|part| f.name.strip_suffix(part).map(|p| (p, *part)));
            if let Some((prefix, part)) = prefix {
                if !prefix.is_empty()
                    && has(&format!("{prefix}Street"))
                    && has(&format!("{prefix}City"))
                {
                    if part == "Street" {
                        let parts = ADDRESS_PARTS
                            .iter()
                            .filter_map(|p| {
                                let stored = format!("{prefix}{p}");
                                meta.field(&stored).map(|m| {
                                    (p.to_string(), m.name.clone(), Kind::of(m.field_type))
                                })
                            })
                            .collect();
                        columns.push((format!("{prefix}Address"), Column::Compound { parts }));
                    }
                    continue;
                }
            }
            columns.push((
                f.name.to_string(),
                Column::Plain {
                    field: f.name.clone(),
                    kind: Kind::of(f.field_type),
                },
            ));
        }
        let header = json!({
            "type": "record", "name": "ChangeEventHeader", "namespace": NAMESPACE,
            "fields": [
                {"name": "entityName", "type": "string"},
                {"name": "recordIds", "type": {"type": "array", "items": "string"}},
                {"name": "changeType", "type": {"type": "enum", "name": "ChangeType", "namespace": NAMESPACE,
                    "symbols": CHANGE_TYPES}},
                {"name": "changeOrigin", "type": "string"},
                {"name": "transactionKey", "type": "string"},
                {"name": "sequenceNumber", "type": "int"},
                {"name": "commitTimestamp", "type": "long"},
                {"name": "commitNumber", "type": "long"},
                {"name": "commitUser", "type": "string"},
                {"name": "nulledFields", "type": {"type": "array", "items": "string"}},
                {"name": "diffFields", "type": {"type": "array", "items": "string"}},
                {"name": "changedFields", "type": {"type": "array", "items": "string"}}
            ]
        });
        let mut fields = vec![json!({"name": "ChangeEventHeader", "type": header})];
        let mut layout = FieldLayout {
            fields: vec!["ChangeEventHeader".to_owned()],
            nested: BTreeMap::new(),
        };
        let mut address_defined = false;
        for (name, column) in &columns {
            match column {
                Column::Plain { kind, .. } => {
                    fields.push(json!({"name": name, "type": nullable(json!(kind.avro_name())), "default": null}));
                }
                Column::Compound { parts } => {
                    let all = ADDRESS_PARTS
                        .iter()
                        .all(|p| parts.iter().any(|(n, _, _)| n == p));
                    // Avro names a record once; later address columns refer to it.
                    let ty = if all && address_defined {
                        json!(format!("{NAMESPACE}.Address"))
                    } else {
                        let record_name = if all {
                            address_defined = true;
                            "Address".to_owned()
                        } else {
                            format!("{name}Value")
                        };
                        json!({"type": "record", "name": record_name, "namespace": NAMESPACE,
                            "fields": parts.iter().map(|(n, _, k)| json!({
                                "name": n, "type": nullable(json!(k.avro_name())), "default": null
                            })).collect::<Vec<_>>()})
                    };
                    fields.push(json!({"name": name, "type": nullable(ty), "default": null}));
                    layout.nested.insert(
                        layout.fields.len(),
                        parts.iter().map(|(n, _, _)| n.clone()).collect(),
                    );
                }
            }
            layout.fields.push(name.clone());
        }
        let entity = meta.name.clone();
        let event_name = change_event_name(&entity);
        let event_names = columns
            .iter()
            .flat_map(|(name, column)| match column {
                Column::Plain { field, .. } => vec![(field.to_string(), name.clone())],
                Column::Compound { parts } => parts
                    .iter()
                    .map(|(part, field, _)| (field.to_string(), format!("{name}.{part}")))
                    .collect(),
            })
            .collect();
        let schema_json =
            json!({"name": event_name, "namespace": NAMESPACE, "type": "record", "fields": fields})
                .to_string();
        let stored = columns
            .iter()
            .flat_map(|(_, column)| match column {
                Column::Plain { field, .. } => vec![field.clone()],
                Column::Compound { parts } => parts.iter().map(|(_, f, _)| f.clone()).collect(),
            })
            .collect();
        Ok(Self {
            entity,
            schema: parse(&schema_json)?,
            schema_id: schema_id(&schema_json),
            schema_json,
            layout,
            columns,
            stored,
            event_names,
        })
    }

    /// The event name of a stored field: `BillingCity` → `BillingAddress.City`.
    pub fn event_name_of(&self, stored: &str) -> Option<String> {
        self.event_names.get(stored).cloned()
    }

    /// Encodes one change straight to Avro binary (this runs for every record a bulk job
    /// writes, so it builds no value tree). `values` holds the fields the event carries (all
    /// for CREATE and UNDELETE, the changed ones for UPDATE, none for DELETE); `cache` finds
    /// their places and is kept across the records of a commit.
    pub fn encode_with(
        &self,
        header: &Header<'_>,
        values: &Fields,
        cache: &mut SlotCache,
    ) -> Result<Vec<u8>, String> {
        // Written into the cache's buffer, reused from record to record, and copied out at its
        // exact size.
        let mut out = std::mem::take(&mut cache.buffer);
        out.clear();
        let outcome = self.write_header(header, &mut out).map(|()| {
            self.write_body(values, cache, &mut out);
            out.clone()
        });
        cache.buffer = out;
        outcome
    }

    fn write_header(&self, header: &Header<'_>, w: &mut Vec<u8>) -> Result<(), String> {
        let names = |stored: &[String]| -> Vec<String> {
            let mut names: Vec<String> = stored
                .iter()
                .filter_map(|s| self.event_name_of(s))
                .collect();
            names.dedup();
            self.layout.encode(&names)
        };
        let change_index = CHANGE_TYPES
            .iter()
            .position(|t| *t == header.change_type)
            .ok_or_else(|| format!("unknown change type {}", header.change_type))?;
        write_str(w, &self.entity);
        write_strings(w, header.record_ids);
        write_long(w, change_index as i64);
        write_str(w, header.change_origin);
        write_str(w, header.transaction_key);
        write_long(w, i64::from(header.sequence_number));
        write_long(w, header.commit_timestamp);
        write_long(w, header.commit_number);
        write_str(w, header.commit_user);
        write_strings(w, &names(header.nulled_fields));
        write_strings(w, &[]);
        write_strings(w, &names(header.changed_fields));
        Ok(())
    }

    fn write_body(&self, values: &Fields, cache: &mut SlotCache, w: &mut Vec<u8>) {
        let same_shape = cache.locate(&self.stored, values);
        if !same_shape {
            cache.plan = None;
            self.write_columns(values, &cache.entries, w);
            return;
        }
        // A second record of one shape: from now on only its own values are written per record.
        if cache.plan.is_none() {
            cache.plan = Some(self.plan_body(values, &cache.entries));
        }
        if let Some(plan) = &cache.plan {
            for piece in &plan.pieces {
                match piece {
                    Piece::Constant(range) => {
                        w.extend_from_slice(plan.constant.get(range.clone()).unwrap_or_default());
                    }
                    Piece::Value { position, kind } => {
                        let value = values.value_at(*position).filter(|v| !v.is_null());
                        write_optional(w, *kind, value);
                    }
                    Piece::Compound { column, first_slot } => {
                        if let Some(Column::Compound { parts }) =
                            self.columns.get(*column).map(|c| &c.1)
                        {
                            let slots = cache.entries.get(*first_slot..).unwrap_or_default();
                            write_compound(w, parts, slots, values);
                        }
                    }
                }
            }
        }
    }

    /// The body of records of one shape as constant bytes (nulls, and values the shape shares)
    /// between the values each record holds alone.
    fn plan_body(&self, values: &Fields, entries: &[Option<usize>]) -> BodyPlan {
        let mut plan = BodyPlan::default();
        let mut pieces: Vec<Piece> = Vec::new();
        let own = |i: &Option<usize>| i.is_some_and(|i| !values.shared_at(i));
        let mut slots = entries.iter();
        for (c, (_, column)) in self.columns.iter().enumerate() {
            let start = plan.constant.len();
            let first_slot = entries.len() - slots.len();
            match column {
                Column::Plain { kind, .. } => match slots.next() {
                    Some(Some(i)) if own(&Some(*i)) => {
                        pieces.push(Piece::Value {
                            position: *i,
                            kind: *kind,
                        });
                        continue;
                    }
                    entry => write_optional(&mut plan.constant, *kind, slot_value(values, entry)),
                },
                Column::Compound { parts } => {
                    let mine: Vec<Option<usize>> =
                        slots.by_ref().take(parts.len()).copied().collect();
                    if mine.iter().any(own) {
                        pieces.push(Piece::Compound {
                            column: c,
                            first_slot,
                        });
                        continue;
                    }
                    write_compound(&mut plan.constant, parts, &mine, values);
                }
            }
            let end = plan.constant.len();
            match pieces.last_mut() {
                Some(Piece::Constant(range)) if range.end == start => range.end = end,
                _ => pieces.push(Piece::Constant(start..end)),
            }
        }
        plan.pieces = pieces;
        plan
    }

    /// Writes every column of the body; `entries` holds, per stored field in body order, the
    /// position of its value in `values`.
    fn write_columns(&self, values: &Fields, entries: &[Option<usize>], w: &mut Vec<u8>) {
        let mut at = 0;
        for (_, column) in &self.columns {
            let slots = entries.get(at..).unwrap_or_default();
            match column {
                Column::Plain { kind, .. } => {
                    write_optional(w, *kind, slot_value(values, slots.first()));
                    at += 1;
                }
                Column::Compound { parts } => {
                    write_compound(w, parts, slots, values);
                    at += parts.len();
                }
            }
        }
    }
}

/// The value a slot points at, unless null.
fn slot_value<'v>(values: &'v Fields, slot: Option<&Option<usize>>) -> Option<&'v Value> {
    slot.copied()
        .flatten()
        .and_then(|i| values.value_at(i))
        .filter(|v| !v.is_null())
}

/// A compound field (an address) from the slots of its parts: null when no part has a value.
fn write_compound(
    w: &mut Vec<u8>,
    parts: &[(String, FieldName, Kind)],
    slots: &[Option<usize>],
    values: &Fields,
) {
    let mut present = [None; ADDRESS_PARTS.len()];
    for (i, value) in present.iter_mut().enumerate().take(parts.len()) {
        *value = slot_value(values, slots.get(i));
    }
    if present.iter().any(Option::is_some) {
        write_long(w, 1);
        for (value, (_, _, kind)) in present.iter().zip(parts) {
            write_optional(w, *kind, *value);
        }
    } else {
        write_long(w, 0);
    }
}

/// A body written for the records of one shape: constant bytes, and where each record's own
/// values go.
#[derive(Debug, Default)]
struct BodyPlan {
    constant: Vec<u8>,
    pieces: Vec<Piece>,
}

#[derive(Debug)]
enum Piece {
    Constant(std::ops::Range<usize>),
    /// A plain column's value, held by each record alone.
    Value {
        position: usize,
        kind: Kind,
    },
    /// A compound column with a part held by each record alone, written whole from the slots
    /// of its parts.
    Compound {
        column: usize,
        first_slot: usize,
    },
}

/// Where a record's values go in a change event, remembered from one record to the next: the
/// rows of a bulk batch set the same fields in the same order, so finding a value's place is
/// mostly one pointer comparison.
#[derive(Debug, Default)]
pub struct SlotCache {
    /// Per position in the last record: the field there and the slot it filled.
    seen: Vec<(FieldName, Option<usize>)>,
    /// Per slot: the position of its value in the record at hand.
    entries: Vec<Option<usize>>,
    /// The shape and schema `entries` were found for: a record of the same shape needs no
    /// search at all. Holding the shape keeps it from changing (records copy shared shapes).
    located: Option<(Arc<Shape>, usize)>,
    /// How records of the located shape are written, made for its second record.
    plan: Option<BodyPlan>,
    buffer: Vec<u8>,
}

impl SlotCache {
    /// Finds where the record's values go; true when it is of the shape located last.
    fn locate(&mut self, stored: &[FieldName], values: &Fields) -> bool {
        // The schema by address: a cache serves one schema, and this guards against misuse.
        let schema = stored.as_ptr() as usize;
        if let Some((shape, located)) = &self.located {
            if Arc::ptr_eq(shape, values.shape()) && *located == schema {
                return true;
            }
        }
        self.located = Some((values.shape().clone(), schema));
        self.entries.clear();
        self.entries.resize(stored.len(), None);
        for (i, (name, _)) in values.iter().enumerate() {
            let slot = match self.seen.get_mut(i) {
                Some((seen, slot)) if std::sync::Arc::ptr_eq(seen, name) => *slot,
                known => {
                    let slot = stored.iter().position(|s| s == name);
                    match known {
                        Some(entry) => *entry = (name.clone(), slot),
                        None => self.seen.push((name.clone(), slot)),
                    }
                    slot
                }
            };
            if let Some(entry) = slot.and_then(|s| self.entries.get_mut(s)) {
                *entry = Some(i);
            }
        }
        false
    }
}

/// Avro `long`/`int`: zigzag, then base-128 varint.
fn write_long(out: &mut Vec<u8>, n: i64) {
    let mut v = ((n << 1) ^ (n >> 63)) as u64;
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    write_long(out, s.len() as i64);
    out.extend_from_slice(s.as_bytes());
}

fn write_strings(out: &mut Vec<u8>, items: &[String]) {
    if !items.is_empty() {
        write_long(out, items.len() as i64);
        for s in items {
            write_str(out, s);
        }
    }
    write_long(out, 0);
}

/// A `["null", kind]` union: branch 1 and the value when it fits the kind, else null.
fn write_optional(out: &mut Vec<u8>, kind: Kind, value: Option<&Value>) {
    let start = out.len();
    write_long(out, 1);
    let written = match (kind, value) {
        (_, None) => false,
        (Kind::String, Some(Value::String(s))) => {
            write_str(out, s);
            true
        }
        (Kind::String, Some(v @ (Value::Number(_) | Value::Bool(_)))) => {
            write_str(out, &v.to_string());
            true
        }
        (Kind::Boolean, Some(Value::Bool(b))) => {
            out.push(u8::from(*b));
            true
        }
        (Kind::Double, Some(v)) => match v.as_f64() {
            Some(f) => {
                out.extend_from_slice(&f.to_le_bytes());
                true
            }
            None => false,
        },
        (Kind::Int | Kind::Date | Kind::DateTime, Some(v)) => match kind.to_avro(v) {
            Some(Avro::Int(i)) => {
                write_long(out, i64::from(i));
                true
            }
            Some(Avro::Long(l)) => {
                write_long(out, l);
                true
            }
            _ => false,
        },
        _ => false,
    };
    if !written {
        out.truncate(start);
        write_long(out, 0);
    }
}

pub const CHANGE_TYPES: [&str; 10] = [
    "CREATE",
    "UPDATE",
    "DELETE",
    "UNDELETE",
    "GAP_CREATE",
    "GAP_UPDATE",
    "GAP_DELETE",
    "GAP_UNDELETE",
    "GAP_OVERFLOW",
    "SNAPSHOT",
];

/// The ChangeEventHeader of one change, with field lists by stored field name.
#[derive(Debug, Clone, Copy)]
pub struct Header<'a> {
    pub record_ids: &'a [String],
    pub change_type: &'static str,
    pub change_origin: &'a str,
    pub transaction_key: &'a str,
    pub sequence_number: i32,
    pub commit_timestamp: i64,
    pub commit_number: i64,
    pub commit_user: &'a str,
    pub changed_fields: &'a [String],
    pub nulled_fields: &'a [String],
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// One change encoded on its own, with a fresh cache.
    fn encode(schema: &ChangeSchema, header: &Header<'_>, values: &Fields) -> Vec<u8> {
        schema
            .encode_with(header, values, &mut SlotCache::default())
            .unwrap()
    }

    fn fields_of(body: Value) -> Fields {
        body.as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (FieldName::from(k.as_str()), v.clone()))
            .collect()
    }

    fn account_schema() -> ChangeSchema {
        let account = crate::model::schema::standard_objects()
            .into_iter()
            .find(|o| o.name == "Account")
            .unwrap();
        ChangeSchema::new(&account).unwrap()
    }

    #[test]
    fn account_change_schema_groups_addresses_and_encodes_bitmaps() {
        let schema = account_schema();
        assert_eq!(schema.schema_id.len(), 22);
        assert_eq!(
            schema.event_name_of("BillingCity").as_deref(),
            Some("BillingAddress.City")
        );
        let billing = schema
            .layout
            .fields
            .iter()
            .position(|f| f == "BillingAddress")
            .unwrap();
        assert_eq!(
            schema.layout.nested[&billing],
            ADDRESS_PARTS.map(String::from).to_vec()
        );
        assert!(schema
            .schema_json
            .contains("\"com.sforce.eventbus.Address\""));
        let ids = ["001000000000001AAA".to_owned()];
        let changed = ["Name".to_owned(), "BillingCity".to_owned()];
        let header = Header {
            record_ids: &ids,
            change_type: "UPDATE",
            change_origin: "com/salesforce/api/rest/62.0",
            transaction_key: "t",
            sequence_number: 1,
            commit_timestamp: 1,
            commit_number: 1,
            commit_user: "005",
            changed_fields: &changed,
            nulled_fields: &[],
        };
        let values = fields_of(json!({"Name": "Acme", "BillingCity": "Paris"}));
        let bytes = encode(&schema, &header, &values);
        let decoded =
            apache_avro::from_avro_datum(&schema.schema, &mut bytes.as_slice(), None).unwrap();
        let Avro::Record(fields) = decoded else {
            panic!()
        };
        let Avro::Record(head) = &fields[0].1 else {
            panic!()
        };
        let Avro::Array(changed) = &head[11].1 else {
            panic!()
        };
        assert_eq!(changed.len(), 2, "{changed:?}");
        assert_eq!(changed[1], Avro::String(format!("{billing}-0x02")));

        let create = Header {
            change_type: "CREATE",
            changed_fields: &[],
            ..header
        };
        let values = fields_of(json!({
            "Name": "Acme", "NumberOfEmployees": 7, "AnnualRevenue": 1.5,
            "CreatedDate": "2026-11-26T10:50:00.000+0000", "ShippingCity": "Oslo"
        }));
        let bytes = encode(&schema, &create, &values);
        let decoded =
            apache_avro::from_avro_datum(&schema.schema, &mut bytes.as_slice(), None).unwrap();
        let json = crate::events::avro::tests::plain(decoded);
        assert_eq!(json["Name"], "Acme");
        assert_eq!(json["NumberOfEmployees"], 7);
        assert_eq!(json["AnnualRevenue"], 1.5);
        assert_eq!(json["CreatedDate"], 1_795_690_200_000_i64);
        assert_eq!(json["ShippingAddress"]["City"], "Oslo");
        assert_eq!(json["BillingAddress"], Value::Null);
        assert_eq!(json["ChangeEventHeader"]["changeType"], "CREATE");

        // One cache across records that set different fields, in different orders, under
        // names shared or not: each encodes as it does on its own.
        let mut cache = SlotCache::default();
        let records = [
            values.clone(),
            fields_of(json!({"ShippingCity": "Rome", "Name": "B", "BillingStreet": "1 Way"})),
            fields_of(json!({"Name": "C"})),
            values,
        ];
        for record in &records {
            let whole = encode(&schema, &create, record);
            assert_eq!(
                schema.encode_with(&create, record, &mut cache).unwrap(),
                whole
            );
        }
        let bytes = schema
            .encode_with(&create, &records[1], &mut cache)
            .unwrap();
        let decoded =
            apache_avro::from_avro_datum(&schema.schema, &mut bytes.as_slice(), None).unwrap();
        let json = crate::events::avro::tests::plain(decoded);
        assert_eq!(json["Name"], "B");
        assert_eq!(json["ShippingAddress"]["City"], "Rome");
        assert_eq!(json["BillingAddress"]["Street"], "1 Way");
        assert_eq!(json["BillingAddress"]["City"], Value::Null);
        assert_eq!(json["NumberOfEmployees"], Value::Null);
    }

    #[test]
    fn records_sharing_a_shape_encode_as_each_does_alone() {
        let schema = account_schema();
        let ids = ["001000000000001AAA".to_owned()];
        let header = Header {
            record_ids: &ids,
            change_type: "CREATE",
            change_origin: "com/salesforce/api/bulkapi/62.0",
            transaction_key: "t",
            sequence_number: 1,
            commit_timestamp: 1,
            commit_number: 1,
            commit_user: "005",
            changed_fields: &[],
            nulled_fields: &[],
        };
        let name = |n: &str| FieldName::from(n);
        let (account_name, employees, billing_city, shipping_city, created, billing_country) = (
            name("Name"),
            name("NumberOfEmployees"),
            name("BillingCity"),
            name("ShippingCity"),
            name("CreatedDate"),
            name("BillingCountry"),
        );
        // Shared: a date, a part of an address with no part of its own, and a part of an
        // address whose other part each record holds. Own: plain values, some null.
        let now = Arc::new(json!("2026-11-26T10:50:00.000+0000"));
        let rome = Arc::new(json!("Rome"));
        let norway = Arc::new(json!("Norway"));
        let rows = [
            (json!("A"), json!(7), json!("Oslo")),
            (json!("B"), Value::Null, json!("Bergen")),
            (json!("C"), json!(9), Value::Null),
            (Value::Null, json!(0), json!("Oslo")),
        ];
        let (mut draft, mut shapes) = (Fields::default(), crate::model::record::Shapes::default());
        let mut records = Vec::new();
        for (n, e, city) in rows {
            draft.insert(&account_name, n);
            draft.insert(&employees, e);
            draft.insert(&billing_city, city);
            draft.insert_shared(&shipping_city, &rome);
            draft.insert_shared(&created, &now);
            draft.insert_shared(&billing_country, &norway);
            records.push(draft.take(&mut shapes));
        }
        assert!(Arc::ptr_eq(records[0].shape(), records[3].shape()));
        let mut cache = SlotCache::default();
        for (i, record) in records.iter().enumerate() {
            let whole = encode(&schema, &header, record);
            let event = schema.encode_with(&header, record, &mut cache).unwrap();
            assert_eq!(event, whole, "record {i}");
        }
        let decoded = apache_avro::from_avro_datum(
            &schema.schema,
            &mut schema
                .encode_with(&header, &records[2], &mut cache)
                .unwrap()
                .as_slice(),
            None,
        )
        .unwrap();
        let json = plain(decoded);
        assert_eq!(json["Name"], "C");
        assert_eq!(json["NumberOfEmployees"], 9);
        assert_eq!(json["BillingAddress"]["City"], Value::Null);
        assert_eq!(json["BillingAddress"]["Country"], "Norway");
        assert_eq!(json["ShippingAddress"]["City"], "Rome");
        assert_eq!(json["CreatedDate"], 1_795_690_200_000_i64);
    }

    /// A decoded value as JSON, unions unwrapped.
    fn plain(v: Avro) -> Value {
        match v {
            Avro::Null => Value::Null,
            Avro::Boolean(b) => json!(b),
            Avro::Int(i) => json!(i),
            Avro::Long(l) => json!(l),
            Avro::Double(d) => json!(d),
            Avro::String(s) | Avro::Enum(_, s) => json!(s),
            Avro::Union(_, inner) => plain(*inner),
            Avro::Array(items) => Value::Array(items.into_iter().map(plain).collect()),
            Avro::Record(fields) => {
                Value::Object(fields.into_iter().map(|(k, v)| (k, plain(v))).collect())
            }
            other => json!(format!("{other:?}")),
        }
    }
}
