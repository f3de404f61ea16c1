//! A stored record's values, kept small: a bulk job stores a million of them.
//!
//! Field names are the object's own (`FieldName` is an `Arc<str>` cloned from its metadata), so
//! rows hold no copies of them, and values sit in one vector in the order they were set. A record
//! has a few dozen fields at most; a scan over their short names costs less than hashing the name
//! and, unlike a hash map per record, needs no index table. Values that many records hold alike
//! (the creation time and user of a batch) can be shared rather than copied.

use serde_json::Value;
use std::sync::Arc;

/// A field's canonical name, shared between the metadata and every record.
pub type FieldName = Arc<str>;

/// Field values by canonical name, in the order they were set.
#[derive(Debug, Clone, Default)]
pub struct Fields {
    entries: Vec<(FieldName, Slot)>,
    /// One bit per name set (`filter_bit`): a clear bit proves a name absent without a scan,
    /// which is what most inserts into a new record find.
    filter: u64,
}

/// A value held by this record alone, or shared with others.
#[derive(Debug, Clone)]
enum Slot {
    Own(Value),
    Shared(Arc<Value>),
}

impl Slot {
    fn value(&self) -> &Value {
        match self {
            Self::Own(v) => v,
            Self::Shared(v) => v,
        }
    }

    fn into_value(self) -> Value {
        match self {
            Self::Own(v) => v,
            Self::Shared(v) => Arc::unwrap_or_clone(v),
        }
    }
}

/// A bit chosen by a name's length and last byte: cheap, and distinct for most field names of
/// one object.
fn filter_bit(name: &str) -> u64 {
    let last = name.as_bytes().last().copied().unwrap_or(0);
    1 << ((name.len().wrapping_mul(7) ^ usize::from(last)) & 63)
}

impl PartialEq for Fields {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().zip(other.iter()).all(|(a, b)| a == b)
    }
}

impl Fields {
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            entries: Vec::with_capacity(capacity),
            filter: 0,
        }
    }

    fn position(&self, name: &str) -> Option<usize> {
        if self.filter & filter_bit(name) == 0 {
            return None;
        }
        self.entries.iter().position(|(key, _)| &**key == name)
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.position(name).and_then(|i| self.value_at(i))
    }

    /// The value at a position of `iter()`.
    pub fn value_at(&self, position: usize) -> Option<&Value> {
        self.entries.get(position).map(|(_, v)| v.value())
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    /// Sets a value, replacing the one already there (which keeps its place).
    pub fn insert(&mut self, name: FieldName, value: Value) {
        self.put(name, Slot::Own(value));
    }

    /// Sets a value shared with other records.
    pub fn insert_shared(&mut self, name: FieldName, value: &Arc<Value>) {
        self.put(name, Slot::Shared(value.clone()));
    }

    fn put(&mut self, name: FieldName, value: Slot) {
        match self.position(&name).and_then(|i| self.entries.get_mut(i)) {
            Some((_, slot)) => *slot = value,
            None => {
                self.filter |= filter_bit(&name);
                self.entries.push((name, value));
            }
        }
    }

    /// Sets a shared value only where none is set yet.
    pub fn insert_missing(&mut self, name: &FieldName, value: &Arc<Value>) {
        if !self.contains_key(name) {
            self.insert_shared(name.clone(), value);
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&FieldName, &Value)> {
        self.entries.iter().map(|(k, v)| (k, v.value()))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl FromIterator<(FieldName, Value)> for Fields {
    fn from_iter<I: IntoIterator<Item = (FieldName, Value)>>(items: I) -> Self {
        let mut fields = Self::default();
        for (name, value) in items {
            fields.insert(name, value);
        }
        fields
    }
}

/// The values of a record, owned, in the order they were set.
pub struct IntoIter(std::vec::IntoIter<(FieldName, Slot)>);

impl Iterator for IntoIter {
    type Item = (FieldName, Value);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(name, slot)| (name, slot.into_value()))
    }
}

impl IntoIterator for Fields {
    type Item = (FieldName, Value);
    type IntoIter = IntoIter;

    fn into_iter(self) -> IntoIter {
        IntoIter(self.entries.into_iter())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn values_are_found_by_name_and_replaced_in_place() {
        let name: FieldName = Arc::from("Name");
        let city: FieldName = Arc::from("BillingCity");
        let mut fields = Fields::with_capacity(2);
        fields.insert(name.clone(), Value::from("Acme"));
        fields.insert(city.clone(), Value::from("Paris"));
        fields.insert(Arc::from("Name"), Value::from("Acme 2"));
        assert_eq!(fields.len(), 2);
        assert_eq!(fields.get("Name"), Some(&Value::from("Acme 2")));
        assert_eq!(fields.get("BillingCity"), Some(&Value::from("Paris")));
        assert_eq!(fields.get("BillingState"), None);
        assert_eq!(fields.get("name"), None, "names are canonical: exact case");
        let shared = Arc::new(Value::from("Customer"));
        fields.insert_missing(&name, &Arc::new(Value::from("ignored")));
        fields.insert_missing(&Arc::from("Type"), &shared);
        let keys: Vec<&str> = fields.iter().map(|(k, _)| &**k).collect();
        assert_eq!(keys, ["Name", "BillingCity", "Type"]);
        assert_eq!(fields.get("Name"), Some(&Value::from("Acme 2")));
        assert_eq!(fields.get("Type"), Some(&Value::from("Customer")));
        assert_eq!(Arc::strong_count(&shared), 2, "shared, not copied");
        let owned: Vec<(FieldName, Value)> = fields.clone().into_iter().collect();
        assert_eq!(owned[2], (Arc::from("Type"), Value::from("Customer")));
        let mut same = Fields::default();
        for (k, v) in owned {
            same.insert(k, v);
        }
        assert_eq!(
            same, fields,
            "a shared value equals the same value held alone"
        );
    }

    #[test]
    fn names_sharing_a_filter_bit_are_told_apart() {
        // Same length and last byte: the same bit, so only the scan can tell them apart.
        assert_eq!(filter_bit("CreatedDate"), filter_bit("ClosingDate"));
        let mut fields = Fields::default();
        fields.insert(Arc::from("CreatedDate"), Value::from(1));
        assert_eq!(fields.get("ClosingDate"), None);
        fields.insert(Arc::from("ClosingDate"), Value::from(2));
        assert_eq!(fields.get("CreatedDate"), Some(&Value::from(1)));
        assert_eq!(fields.get("ClosingDate"), Some(&Value::from(2)));
        assert_eq!(fields.len(), 2);
    }
}
