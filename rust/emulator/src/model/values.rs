//! Field values: each checked and normalized for its field's type and length, and the failures
//! a bad one answers with, as Salesforce words them.

use crate::http_kit::failure::ApiFailure;
use crate::model::datetime::format_datetime;
use crate::model::schema::{FieldMeta, FieldType};
use forcelink_wire::RecordId;
use serde_json::Value;

/// Which permission a write needs on each field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write {
    Create,
    Update,
}

pub(crate) fn required_missing(fields: Vec<String>) -> ApiFailure {
    ApiFailure::bad_request(
        "REQUIRED_FIELD_MISSING",
        format!("Required fields are missing: [{}]", fields.join(", ")),
    )
    .with_fields(fields)
}

fn cannot_deserialize(field: &FieldMeta, value: &Value) -> ApiFailure {
    let kind = match value {
        Value::String(_) => "VALUE_STRING",
        Value::Number(_) => "VALUE_NUMBER",
        Value::Bool(true) => "VALUE_TRUE",
        Value::Bool(false) => "VALUE_FALSE",
        Value::Array(_) => "START_ARRAY",
        Value::Object(_) => "START_OBJECT",
        Value::Null => "VALUE_NULL",
    };
    let shown = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    ApiFailure::json_parser(format!(
        "Cannot deserialize instance of {} from {kind} value {shown} or request may be missing a required field",
        field.field_type.name()
    ))
}

/// Checks one value for its field without looking at other records (so outside the store
/// lock): writable by this kind of write, and of the field's type, normalized.
pub fn check_value(field: &FieldMeta, value: Value, mode: Write) -> Result<Value, ApiFailure> {
    let writable = match mode {
        Write::Create => field.createable,
        Write::Update => field.updateable,
    };
    if !writable {
        return Err(ApiFailure::bad_request(
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            format!("Unable to create/update fields: {}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", field.name),
        )
        .with_fields(vec![field.name.to_string()]));
    }
    coerce(field, value)
}

/// Checks and normalizes one value for a field of the given type.
pub fn coerce(field: &FieldMeta, value: Value) -> Result<Value, ApiFailure> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    if field.field_type.is_text() {
        // Moved, not copied: a bulk job sets millions of text values.
        let text = match value {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            other => return Err(cannot_deserialize(field, &other)),
        };
        return checked_text(field, text);
    }
    let value = &value;
    let bad = || cannot_deserialize(field, value);
    match field.field_type {
        FieldType::Boolean => match value {
            Value::Bool(b) => Ok(Value::Bool(*b)),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            _ => Err(bad()),
        },
        FieldType::Int => {
            let n = number_of(value).ok_or_else(bad)?;
            if n.fract() != 0.0 || n.abs() > 2_147_483_647.0 {
                return Err(bad());
            }
            Ok(Value::from(n as i64))
        }
        FieldType::Double | FieldType::Currency | FieldType::Percent => {
            let n = number_of(value).ok_or_else(bad)?;
            serde_json::Number::from_f64(n)
                .map(Value::Number)
                .ok_or_else(bad)
        }
        FieldType::Date => {
            let s = value.as_str().ok_or_else(bad)?;
            let date_part = s.get(..10).ok_or_else(bad)?;
            chrono::NaiveDate::parse_from_str(date_part, "%Y-%m-%d").map_err(|_| bad())?;
            Ok(Value::String(date_part.to_owned()))
        }
        FieldType::DateTime => {
            let s = value.as_str().ok_or_else(bad)?;
            let parsed = chrono::DateTime::parse_from_rfc3339(s)
                .or_else(|_| chrono::DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z"))
                .map_err(|_| bad())?;
            Ok(Value::String(format_datetime(
                parsed.with_timezone(&chrono::Utc),
            )))
        }
        FieldType::Id | FieldType::Reference => {
            let s = value.as_str().ok_or_else(bad)?;
            let id = RecordId::parse(s).map_err(|_| {
                ApiFailure::malformed_id(&field.label, s).with_fields(vec![field.name.to_string()])
            })?;
            Ok(Value::String(id.to_string()))
        }
        _ => Err(bad()),
    }
}

/// A text value within the field's length and, for an email field, shaped like an address.
fn checked_text(field: &FieldMeta, s: String) -> Result<Value, ApiFailure> {
    let length = field.length as usize;
    // Bytes bound characters from above, so most values need no count.
    if length > 0 && s.len() > length && s.chars().count() > length {
        return Err(ApiFailure::bad_request(
            "STRING_TOO_LONG",
            format!(
                "{}: data value too large: {s} (max length={})",
                field.label, field.length
            ),
        )
        .with_fields(vec![field.name.to_string()]));
    }
    if field.field_type == FieldType::Email && !looks_like_email(&s) {
        return Err(ApiFailure::bad_request(
            "INVALID_EMAIL_ADDRESS",
            format!("{}: invalid email address: {s}", field.label),
        )
        .with_fields(vec![field.name.to_string()]));
    }
    Ok(Value::String(s))
}

fn number_of(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
        _ => None,
    }
}

fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s.contains(' ')
        }
        None => false,
    }
}
