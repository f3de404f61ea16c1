//! Event schemas as the Pub/Sub API serves them: parsed once per schema id, with the field
//! layout change-event bitmaps refer to, and JSON ↔ Avro for payloads.

use crate::error::{Error, Result};
use apache_avro::schema::{Name, RecordSchema, Schema, UnionSchema};
use apache_avro::types::Value as Avro;
use forcelink_wire::FieldLayout;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};

/// One writer schema: its id, JSON, parsed form, named types and (for change events) layout.
#[derive(Debug)]
pub struct EventSchema {
    pub id: String,
    pub json: String,
    pub schema: Schema,
    /// Named types (records, enums) by full name, for references such as
    /// `com.sforce.eventbus.Address`.
    pub names: HashMap<Name, Schema>,
    /// Set for change events (first field `ChangeEventHeader`).
    pub layout: Option<FieldLayout>,
    /// For change events, the `ChangeEventHeader` record: encoded first, so a header can be
    /// read from the front of a payload without decoding the rest.
    pub header: Option<Schema>,
    /// How to reach the event's creation time from the front of a payload (the fields before
    /// it), when the schema has one there: `CreatedDate`, or a change's `commitTimestamp`.
    created_at: Option<Vec<Skip>>,
}

/// A field read past on the way to the creation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    /// int, long, boolean-free enums: one varint.
    Varint,
    /// string or bytes: a length, then that many bytes.
    Bytes,
    /// array of strings: blocks of strings.
    StringArray,
}

impl EventSchema {
    pub fn parse(id: &str, json: &str) -> Result<Self> {
        let schema = Schema::parse_str(json).map_err(|e| Error::Avro {
            schema_id: id.to_owned(),
            message: format!("the schema does not parse: {e}"),
        })?;
        let mut names = HashMap::new();
        collect_names(&schema, None, &mut names);
        let layout = change_layout(&schema, &names);
        let header = layout.as_ref().and_then(|_| match &schema {
            Schema::Record(r) => r
                .fields
                .first()
                .and_then(|f| record_of(&f.schema, &names))
                .cloned(),
            _ => None,
        });
        let created_at = match (&header, &schema) {
            (Some(h), _) => creation_plan(h, "commitTimestamp", &names),
            (None, Schema::Record(r)) => creation_plan(r, "CreatedDate", &names),
            _ => None,
        };
        Ok(Self {
            id: id.to_owned(),
            json: json.to_owned(),
            schema,
            names,
            layout,
            header: header.map(Schema::Record),
            created_at,
        })
    }

    /// When the event was created (milliseconds since 1970), read from the front of its payload
    /// without decoding it; None when the schema does not say or the payload is short.
    pub fn created_at_ms(&self, payload: &[u8]) -> Option<i64> {
        let plan = self.created_at.as_ref()?;
        let mut at = 0usize;
        for skip in plan {
            match skip {
                Skip::Varint => {
                    read_long(payload, &mut at)?;
                }
                Skip::Bytes => {
                    let len = usize::try_from(read_long(payload, &mut at)?).ok()?;
                    at = at.checked_add(len)?;
                }
                Skip::StringArray => loop {
                    let mut count = read_long(payload, &mut at)?;
                    if count == 0 {
                        break;
                    }
                    if count < 0 {
                        read_long(payload, &mut at)?; // the block's size in bytes
                        count = count.checked_neg()?;
                    }
                    for _ in 0..count {
                        let len = usize::try_from(read_long(payload, &mut at)?).ok()?;
                        at = at.checked_add(len)?;
                    }
                },
            }
        }
        read_long(payload, &mut at)
    }

    /// A named type by reference.
    pub fn resolve<'a>(&'a self, schema: &'a Schema) -> &'a Schema {
        match schema {
            Schema::Ref { name } => self.names.get(name).unwrap_or(schema),
            other => other,
        }
    }

    /// Decodes a payload to JSON (records as objects, unions unwrapped, enums as symbols).
    pub fn decode_json(&self, payload: &[u8]) -> Result<Value> {
        let value = apache_avro::from_avro_datum(&self.schema, &mut &payload[..], None)
            .map_err(|e| self.avro_error(e))?;
        Ok(to_json(value))
    }

    /// Encodes a JSON object as this schema's Avro datum; `CreatedDate` and `CreatedById` are
    /// filled in when the schema has them and the object does not.
    pub fn encode_json(&self, payload: &Value, user_id: &str, now_ms: i64) -> Result<Vec<u8>> {
        let Value::Object(given) = payload else {
            return Err(Error::invalid_argument(
                "payload",
                "an event payload is a JSON object",
            ));
        };
        let Schema::Record(record) = &self.schema else {
            return Err(self.avro_error("the schema is not a record"));
        };
        for key in given.keys() {
            if !record.lookup.contains_key(key) {
                return Err(Error::invalid_argument(
                    "payload",
                    format!("{key} is not a field of the event (schema {})", self.id),
                ));
            }
        }
        let mut fields = Vec::with_capacity(record.fields.len());
        for field in &record.fields {
            let value = match given.get(&field.name) {
                Some(v) => v.clone(),
                None if field.name == "CreatedDate" => Value::from(now_ms),
                None if field.name == "CreatedById" => Value::from(user_id),
                None => Value::Null,
            };
            let avro = self.avro_of(&field.schema, &value).ok_or_else(|| {
                Error::invalid_argument(
                    "payload",
                    format!("{} does not fit its type in schema {}", field.name, self.id),
                )
            })?;
            fields.push((field.name.clone(), avro));
        }
        apache_avro::to_avro_datum(&self.schema, Avro::Record(fields))
            .map_err(|e| self.avro_error(e))
    }

    fn avro_of(&self, schema: &Schema, value: &Value) -> Option<Avro> {
        Some(match (self.resolve(schema), value) {
            (Schema::Null, Value::Null) => Avro::Null,
            (Schema::Boolean, Value::Bool(b)) => Avro::Boolean(*b),
            (Schema::Int, v) => Avro::Int(i32::try_from(v.as_i64()?).ok()?),
            (Schema::Long, v) => Avro::Long(v.as_i64()?),
            (Schema::Float, v) => Avro::Float(v.as_f64()? as f32),
            (Schema::Double, v) => Avro::Double(v.as_f64()?),
            (Schema::String, Value::String(s)) => Avro::String(s.clone()),
            (Schema::Bytes, Value::String(s)) => Avro::Bytes(s.as_bytes().to_vec()),
            (Schema::Enum(e), Value::String(s)) => {
                Avro::Enum(e.symbols.iter().position(|x| x == s)? as u32, s.clone())
            }
            (Schema::Array(a), Value::Array(items)) => Avro::Array(
                items
                    .iter()
                    .map(|i| self.avro_of(&a.items, i))
                    .collect::<Option<_>>()?,
            ),
            (Schema::Map(m), Value::Object(o)) => Avro::Map(
                o.iter()
                    .map(|(k, v)| Some((k.clone(), self.avro_of(&m.types, v)?)))
                    .collect::<Option<_>>()?,
            ),
            (Schema::Record(r), Value::Object(o)) => Avro::Record(
                r.fields
                    .iter()
                    .map(|f| {
                        let v = o.get(&f.name).unwrap_or(&Value::Null);
                        Some((f.name.clone(), self.avro_of(&f.schema, v)?))
                    })
                    .collect::<Option<_>>()?,
            ),
            (Schema::Union(u), v) => self.union_from_json(u, v)?,
            _ => return None,
        })
    }

    fn union_from_json(&self, union: &UnionSchema, value: &Value) -> Option<Avro> {
        union
            .variants()
            .iter()
            .enumerate()
            .find_map(|(i, variant)| {
                self.avro_of(variant, value)
                    .map(|v| Avro::Union(i as u32, Box::new(v)))
            })
    }

    fn avro_error(&self, e: impl std::fmt::Display) -> Error {
        Error::Avro {
            schema_id: self.id.clone(),
            message: e.to_string(),
        }
    }
}

fn collect_names(schema: &Schema, _parent: Option<&Name>, names: &mut HashMap<Name, Schema>) {
    match schema {
        Schema::Record(RecordSchema { name, fields, .. }) => {
            names.insert(name.clone(), schema.clone());
            for f in fields {
                collect_names(&f.schema, Some(name), names);
            }
        }
        Schema::Enum(e) => {
            names.insert(e.name.clone(), schema.clone());
        }
        Schema::Fixed(f) => {
            names.insert(f.name.clone(), schema.clone());
        }
        Schema::Array(a) => collect_names(&a.items, None, names),
        Schema::Map(m) => collect_names(&m.types, None, names),
        Schema::Union(u) => {
            for v in u.variants() {
                collect_names(v, None, names);
            }
        }
        _ => {}
    }
}

/// The record inside a field's type (`["null", Record]` or a reference to one).
/// The fields to skip before `target` (a long) in `record`; None when one of them is not a
/// plain string, number, enum or string array, or `target` is not a long.
fn creation_plan(
    record: &RecordSchema,
    target: &str,
    names: &HashMap<Name, Schema>,
) -> Option<Vec<Skip>> {
    let mut plan = Vec::new();
    for field in &record.fields {
        let schema = match &field.schema {
            Schema::Ref { name } => names.get(name)?,
            other => other,
        };
        if field.name == target {
            return matches!(schema, Schema::Long | Schema::TimestampMillis).then_some(plan);
        }
        plan.push(match schema {
            Schema::String | Schema::Bytes => Skip::Bytes,
            Schema::Int | Schema::Long | Schema::Enum(_) | Schema::TimestampMillis => Skip::Varint,
            Schema::Array(items) if matches!(*items.items, Schema::String) => Skip::StringArray,
            _ => return None,
        });
    }
    None
}

/// An Avro long (zigzag varint) at `*at`, advancing past it.
fn read_long(bytes: &[u8], at: &mut usize) -> Option<i64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some((value >> 1) as i64 ^ -((value & 1) as i64));
        }
    }
    None
}

fn record_of<'a>(schema: &'a Schema, names: &'a HashMap<Name, Schema>) -> Option<&'a RecordSchema> {
    match schema {
        Schema::Record(r) => Some(r),
        Schema::Ref { name } => names.get(name).and_then(|s| record_of(s, names)),
        Schema::Union(u) => u.variants().iter().find_map(|v| record_of(v, names)),
        _ => None,
    }
}

fn change_layout(schema: &Schema, names: &HashMap<Name, Schema>) -> Option<FieldLayout> {
    let Schema::Record(record) = schema else {
        return None;
    };
    if record.fields.first()?.name != "ChangeEventHeader" {
        return None;
    }
    let mut nested = BTreeMap::new();
    for (i, f) in record.fields.iter().enumerate().skip(1) {
        if let Some(inner) = record_of(&f.schema, names) {
            nested.insert(i, inner.fields.iter().map(|c| c.name.clone()).collect());
        }
    }
    Some(FieldLayout {
        fields: record.fields.iter().map(|f| f.name.clone()).collect(),
        nested,
    })
}

/// An Avro value as JSON: unions unwrapped, enums as their symbol, bytes as text.
pub fn to_json(value: Avro) -> Value {
    match value {
        Avro::Null => Value::Null,
        Avro::Boolean(b) => Value::Bool(b),
        Avro::Int(i) | Avro::Date(i) | Avro::TimeMillis(i) => Value::from(i),
        Avro::Long(l)
        | Avro::TimeMicros(l)
        | Avro::TimestampMillis(l)
        | Avro::TimestampMicros(l)
        | Avro::LocalTimestampMillis(l)
        | Avro::LocalTimestampMicros(l) => Value::from(l),
        Avro::Float(f) => Value::from(f64::from(f)),
        Avro::Double(d) => Value::from(d),
        Avro::String(s) | Avro::Enum(_, s) => Value::String(s),
        Avro::Bytes(b) | Avro::Fixed(_, b) => {
            Value::String(String::from_utf8_lossy(&b).into_owned())
        }
        Avro::Union(_, inner) => to_json(*inner),
        Avro::Array(items) => Value::Array(items.into_iter().map(to_json).collect()),
        Avro::Map(m) => Value::Object(m.into_iter().map(|(k, v)| (k, to_json(v))).collect()),
        Avro::Record(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(k, v)| (k, to_json(v)))
                .collect::<Map<_, _>>(),
        ),
        other => Value::String(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    /// A platform event with a field of every Avro type a payload can carry, a named record
    /// and enum used again by reference, and `CreatedDate` after fields of each kind a reader
    /// skips.
    const WIDE: &str = r#"{
      "type": "record", "name": "Wide__e", "namespace": "com.sforce.eventbus",
      "fields": [
        {"name": "Label__c", "type": "string"},
        {"name": "Count__c", "type": "int"},
        {"name": "Tags__c", "type": {"type": "array", "items": "string"}},
        {"name": "Kind__c", "type": {"type": "enum", "name": "Kind", "symbols": ["A", "B"]}},
        {"name": "CreatedDate", "type": "long"},
        {"name": "CreatedById", "type": "string"},
        {"name": "Big__c", "type": "long"},
        {"name": "Ratio__c", "type": "float"},
        {"name": "Amount__c", "type": ["null", "double"], "default": null},
        {"name": "Flag__c", "type": "boolean"},
        {"name": "Blob__c", "type": "bytes"},
        {"name": "Scores__c", "type": {"type": "map", "values": "long"}},
        {"name": "Where__c", "type": ["null", {"type": "record", "name": "Place",
          "fields": [{"name": "City", "type": ["null", "string"], "default": null},
                     {"name": "Zip", "type": "int"}]}], "default": null},
        {"name": "Again__c", "type": ["null", "Place"], "default": null},
        {"name": "Other__c", "type": "Kind"},
        {"name": "Nothing__c", "type": "null"}
      ]}"#;

    fn wide() -> EventSchema {
        EventSchema::parse("schema-wide", WIDE).unwrap()
    }

    fn full_payload() -> Value {
        json!({
            "Label__c": "hello", "Count__c": 7, "Tags__c": ["x", "y"], "Kind__c": "B",
            "Big__c": 9_007_199_254_740_993_i64, "Ratio__c": 0.5, "Amount__c": 12.25,
            "Flag__c": true, "Blob__c": "raw", "Scores__c": {"a": 1, "b": 2},
            "Where__c": {"City": "Paris", "Zip": 75001}, "Again__c": {"Zip": 1},
            "Other__c": "A", "Nothing__c": null
        })
    }

    #[test]
    fn every_type_goes_to_avro_and_back_and_the_creation_time_is_read_from_the_front() {
        let schema = wide();
        assert!(schema.layout.is_none() && schema.header.is_none());
        let payload = full_payload();
        let bytes = schema
            .encode_json(&payload, "005000000000001AAA", 1_700_000_000_123)
            .unwrap();
        assert_eq!(schema.created_at_ms(&bytes), Some(1_700_000_000_123));
        assert_eq!(schema.created_at_ms(&bytes[..3]), None, "a short payload");
        let back = schema.decode_json(&bytes).unwrap();
        let mut expected = payload.clone();
        expected["CreatedDate"] = json!(1_700_000_000_123_i64);
        expected["CreatedById"] = json!("005000000000001AAA");
        expected["Again__c"] = json!({"City": null, "Zip": 1});
        assert_eq!(back, expected);
    }

    #[test]
    fn a_payload_that_does_not_fit_is_refused_before_sending() {
        let schema = wide();
        let refused = |payload: Value| match schema.encode_json(&payload, "005", 0) {
            Err(Error::InvalidArgument { message, .. }) => message,
            other => panic!("expected a refusal of {payload}, got {other:?}"),
        };
        assert!(refused(json!(["not", "an object"])).contains("JSON object"));
        assert!(refused(json!({"Nope__c": 1})).contains("Nope__c is not a field"));
        for (field, value) in [
            ("Count__c", json!(1_i64 << 40)),
            ("Count__c", json!("seven")),
            ("Kind__c", json!("C")),
            ("Tags__c", json!([1])),
            ("Scores__c", json!({"a": "b"})),
            ("Where__c", json!({"Zip": "x"})),
            ("Flag__c", json!(1)),
        ] {
            let mut payload = full_payload();
            payload[field] = value;
            assert!(
                refused(payload).contains(&format!("{field} does not fit")),
                "{field}"
            );
        }
    }

    #[test]
    fn schemas_that_do_not_parse_or_are_not_records_are_avro_errors() {
        match EventSchema::parse("s1", "{not json") {
            Err(Error::Avro { schema_id, message }) => {
                assert_eq!(schema_id, "s1");
                assert!(message.contains("does not parse"));
            }
            other => panic!("{other:?}"),
        }
        let bare = EventSchema::parse("s2", r#""string""#).unwrap();
        assert!(bare.created_at_ms(&[2, 0]).is_none());
        assert!(matches!(
            bare.encode_json(&json!({}), "005", 0),
            Err(Error::Avro { .. })
        ));
        assert!(matches!(bare.decode_json(&[9]), Err(Error::Avro { .. })));
    }

    #[test]
    fn avro_values_without_a_json_twin_are_written_as_text() {
        assert_eq!(to_json(Avro::Date(3)), json!(3));
        assert_eq!(to_json(Avro::TimestampMicros(5)), json!(5));
        assert_eq!(to_json(Avro::Fixed(2, b"ok".to_vec())), json!("ok"));
        assert_eq!(
            to_json(Avro::Uuid(uuid_of("00000000-0000-0000-0000-000000000000"))),
            json!("Uuid(00000000-0000-0000-0000-000000000000)")
        );
    }

    fn uuid_of(text: &str) -> apache_avro::Uuid {
        text.parse().unwrap()
    }
}
