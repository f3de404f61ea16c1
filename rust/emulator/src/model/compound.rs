//! The values of fields the store does not keep: compound addresses and geolocations, made from
//! their parts when read, and file contents, read through a URL as Salesforce gives them.

use crate::model::record::Fields;
use crate::model::schema::{FieldMeta, FieldType, ObjectMeta};
use serde_json::{Map, Value};

/// What a read shows for `field` of the record `id`; None for a field whose value is stored.
pub fn derived_value(
    meta: &ObjectMeta,
    field: &FieldMeta,
    fields: &Fields,
    id: &str,
    version: &str,
) -> Option<Value> {
    match field.field_type {
        FieldType::Address | FieldType::Location => Some(compound_value(meta, field, fields)),
        FieldType::Base64 => Some(Value::String(format!(
            "/services/data/v{version}/sobjects/{}/{id}/{}",
            meta.name, &*field.name
        ))),
        _ => None,
    }
}

/// `{"city": ..., "street": ...}` from the parts, or null when every part is.
pub fn compound_value(meta: &ObjectMeta, compound: &FieldMeta, fields: &Fields) -> Value {
    let mut parts: Vec<(String, Value)> = meta
        .fields
        .iter()
        .filter(|f| f.compound_field_name.as_deref() == Some(&*compound.name))
        .map(|part| {
            let value = fields.get(&part.name).cloned().unwrap_or(Value::Null);
            (key_of(&compound.name, &part.name), value)
        })
        .collect();
    if parts.iter().all(|(_, value)| value.is_null()) {
        return Value::Null;
    }
    // Salesforce writes the keys in alphabetical order.
    parts.sort_by(|a, b| a.0.cmp(&b.0));
    Value::Object(parts.into_iter().collect::<Map<_, _>>())
}

/// A part's key in its compound's JSON: `BillingPostalCode` of `BillingAddress` is `postalCode`;
/// `Spot__Latitude__s` of `Spot__c` is `latitude`.
fn key_of(compound: &str, part: &str) -> String {
    let stem = compound
        .strip_suffix("Address")
        .or_else(|| compound.strip_suffix("__c"))
        .unwrap_or(compound);
    let bare = part.strip_prefix(stem).unwrap_or(part);
    let bare = bare.trim_start_matches("__").trim_end_matches("__s");
    let mut chars = bare.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::key_of;

    #[test]
    fn parts_are_keyed_as_salesforce_keys_them() {
        assert_eq!(key_of("BillingAddress", "BillingPostalCode"), "postalCode");
        assert_eq!(key_of("Address", "GeocodeAccuracy"), "geocodeAccuracy");
        assert_eq!(key_of("Spot__c", "Spot__Latitude__s"), "latitude");
    }
}
