//! A stored record's values, kept small: a bulk job stores a million of them.
//!
//! A record is its shape (the names of its fields, in the order they were set, and where each
//! value is) and the values it holds alone. Records written alike, such as the rows of a bulk
//! batch, share one shape (`Fields::take`), so a row keeps no names and no pointers to the values
//! its batch shares (the creation time and user, defaults): only its own values. A shape is
//! copied when one of its records gains a field or changes a shared value. Field names are the
//! object's own (`FieldName` is an `Arc<str>` cloned from its metadata). A record has a few dozen
//! fields at most; a scan over their short names costs less than hashing the name.

use serde_json::Value;
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::sync::{Arc, LazyLock};

/// A record's id as the key of its object's records: its 18 characters held inline, so that
/// comparing keys (each of a million inserts compares dozens) reads no other memory, sixteen
/// bytes at a time. The order is `str`'s, which lookups by `&str` use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordKey([u8; 18]);

impl RecordKey {
    /// The key of an 18-character id; `None` for any other text.
    pub fn new(id: &str) -> Option<Self> {
        id.as_bytes().try_into().ok().map(Self)
    }

    pub fn as_str(&self) -> &str {
        // The bytes are a whole `str`'s (`new`), so this never falls back.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The id as two big-endian numbers, which order as its bytes do.
    fn packed(&self) -> (u128, u16) {
        let head = self.0.first_chunk::<16>().copied().unwrap_or_default();
        let tail = self.0.last_chunk::<2>().copied().unwrap_or_default();
        (u128::from_be_bytes(head), u16::from_be_bytes(tail))
    }
}

impl Ord for RecordKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.packed().cmp(&other.packed())
    }
}

impl PartialOrd for RecordKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Borrow<str> for RecordKey {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl std::ops::Deref for RecordKey {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

/// A field's canonical name, shared between the metadata and every record.
pub type FieldName = Arc<str>;

/// Field values by canonical name, in the order they were set.
#[derive(Debug, Clone)]
pub struct Fields {
    shape: Arc<Shape>,
    /// The values this record holds alone, where its shape's `Place::Own` points.
    own: Vec<Value>,
}

/// The names of a record's fields and where their values are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Shape {
    names: Vec<FieldName>,
    places: Vec<Place>,
    /// One bit per name (`filter_bit`): a clear bit proves a name absent without a scan, which
    /// is what most inserts into a new record find.
    filter: u64,
}

impl Shape {
    fn own_count(&self) -> usize {
        self.places
            .iter()
            .filter(|p| matches!(p, Place::Own(_)))
            .count()
    }

    /// Where a field's value is among the own values of a record of this shape, if the record
    /// holds it alone.
    pub fn own_index(&self, name: &str) -> Option<usize> {
        let at = self.names.iter().position(|key| &**key == name)?;
        match self.places.get(at)? {
            Place::Own(i) => Some(*i),
            Place::Shared(_) => None,
        }
    }
}

/// Where a field's value is: in the record's own values, or shared with other records.
#[derive(Debug, Clone)]
enum Place {
    Own(usize),
    Shared(Arc<Value>),
}

impl PartialEq for Place {
    /// Shared values are the same place only when they are the same allocation: that is what
    /// lets records share a shape.
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Own(a), Self::Own(b)) => a == b,
            (Self::Shared(a), Self::Shared(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// The shape every empty record starts from, so that an empty record allocates nothing.
static EMPTY: LazyLock<Arc<Shape>> = LazyLock::new(Arc::default);

/// The shape last given to a record by `Fields::take`, for the next records written alike.
#[derive(Debug, Default)]
pub struct Shapes {
    last: Option<Arc<Shape>>,
}

/// A bit chosen by a name's length and last byte: cheap, and distinct for most field names of
/// one object.
fn filter_bit(name: &str) -> u64 {
    let last = name.as_bytes().last().copied().unwrap_or(0);
    1 << ((name.len().wrapping_mul(7) ^ usize::from(last)) & 63)
}

impl Default for Fields {
    fn default() -> Self {
        Self {
            shape: EMPTY.clone(),
            own: Vec::new(),
        }
    }
}

impl PartialEq for Fields {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().zip(other.iter()).all(|(a, b)| a == b)
    }
}

impl Fields {
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            shape: Arc::new(Shape {
                names: Vec::with_capacity(capacity),
                places: Vec::with_capacity(capacity),
                filter: 0,
            }),
            own: Vec::with_capacity(capacity),
        }
    }

    fn position(&self, name: &str) -> Option<usize> {
        if self.shape.filter & filter_bit(name) == 0 {
            return None;
        }
        self.shape.names.iter().position(|key| &**key == name)
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.position(name).and_then(|i| self.value_at(i))
    }

    /// The value at a position of `iter()`.
    pub fn value_at(&self, position: usize) -> Option<&Value> {
        self.shape
            .places
            .get(position)
            .and_then(|place| self.value_in(place))
    }

    fn value_in<'a>(&'a self, place: &'a Place) -> Option<&'a Value> {
        match place {
            Place::Own(i) => self.own.get(*i),
            Place::Shared(value) => Some(value),
        }
    }

    /// Whether the value at a position of `iter()` is one the record's shape holds, the same for
    /// every record of that shape.
    pub fn shared_at(&self, position: usize) -> bool {
        matches!(self.shape.places.get(position), Some(Place::Shared(_)))
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    /// Sets a value, replacing the one already there (which keeps its place).
    pub fn insert(&mut self, name: &FieldName, value: Value) {
        let Some(at) = self.position(name) else {
            let own = Place::Own(self.own.len());
            self.own.push(value);
            self.add(name, own);
            return;
        };
        match self.shape.places.get(at) {
            Some(Place::Own(i)) => {
                if let Some(slot) = self.own.get_mut(*i) {
                    *slot = value;
                }
            }
            _ => {
                let own = Place::Own(self.own.len());
                self.own.push(value);
                self.set_place(at, own);
            }
        }
    }

    /// Sets a value shared with other records.
    pub fn insert_shared(&mut self, name: &FieldName, value: &Arc<Value>) {
        let Some(at) = self.position(name) else {
            self.add(name, Place::Shared(value.clone()));
            return;
        };
        match self.shape.places.get(at) {
            // The own slot keeps a copy rather than leaving a hole in the own values.
            Some(Place::Own(i)) => {
                if let Some(slot) = self.own.get_mut(*i) {
                    *slot = Value::clone(value);
                }
            }
            _ => self.set_place(at, Place::Shared(value.clone())),
        }
    }

    /// Sets a shared value only where none is set yet.
    pub fn insert_missing(&mut self, name: &FieldName, value: &Arc<Value>) {
        if !self.contains_key(name) {
            self.add(name, Place::Shared(value.clone()));
        }
    }

    /// A new name at the end of the shape, copied first if other records share it.
    fn add(&mut self, name: &FieldName, place: Place) {
        let shape = Arc::make_mut(&mut self.shape);
        shape.filter |= filter_bit(name);
        shape.names.push(name.clone());
        shape.places.push(place);
    }

    fn set_place(&mut self, at: usize, place: Place) {
        if let Some(slot) = Arc::make_mut(&mut self.shape).places.get_mut(at) {
            *slot = place;
        }
    }

    /// Empties the record, keeping its shape's room when no other record shares it.
    pub fn clear(&mut self) {
        self.own.clear();
        match Arc::get_mut(&mut self.shape) {
            Some(shape) => {
                shape.names.clear();
                shape.places.clear();
                shape.filter = 0;
            }
            None => self.shape = EMPTY.clone(),
        }
    }

    /// Moves the values out into a record of their own, sized to fit, whose shape is the one
    /// `shapes` gave last when it is the same; this record is left empty, to be filled again.
    /// Rows built one after another in one record share their shapes this way.
    pub fn take(&mut self, shapes: &mut Shapes) -> Fields {
        let shape = match &shapes.last {
            Some(last) if **last == *self.shape => last.clone(),
            _ => {
                let copy = Arc::new(Shape::clone(&self.shape));
                shapes.last = Some(copy.clone());
                copy
            }
        };
        let mut own = Vec::with_capacity(self.own.len());
        own.append(&mut self.own);
        self.clear();
        Fields { shape, own }
    }

    /// The record's shape; records that share one hold the same fields in the same order.
    pub fn shape(&self) -> &Arc<Shape> {
        &self.shape
    }

    /// The values this record holds alone, in the order `of_shape` takes them.
    pub fn own_values(&self) -> &[Value] {
        &self.own
    }

    /// A record of another record's shape holding `own` in place of that record's own values;
    /// the values back when their number does not fit the shape.
    pub fn of_shape(shape: &Arc<Shape>, own: Vec<Value>) -> Result<Self, Vec<Value>> {
        if own.len() != shape.own_count() {
            return Err(own);
        }
        Ok(Self {
            shape: shape.clone(),
            own,
        })
    }

    pub fn iter(&self) -> impl Iterator<Item = (&FieldName, &Value)> {
        self.shape
            .names
            .iter()
            .zip(&self.shape.places)
            .filter_map(|(name, place)| Some((name, self.value_in(place)?)))
    }

    pub fn len(&self) -> usize {
        self.shape.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.shape.names.is_empty()
    }
}

impl FromIterator<(FieldName, Value)> for Fields {
    fn from_iter<I: IntoIterator<Item = (FieldName, Value)>>(items: I) -> Self {
        let mut fields = Self::default();
        for (name, value) in items {
            fields.insert(&name, value);
        }
        fields
    }
}

/// The values of a record, owned, in the order they were set.
pub struct IntoIter {
    names: std::vec::IntoIter<FieldName>,
    places: std::vec::IntoIter<Place>,
    own: Vec<Value>,
}

impl Iterator for IntoIter {
    type Item = (FieldName, Value);

    fn next(&mut self) -> Option<Self::Item> {
        let name = self.names.next()?;
        let value = match self.places.next()? {
            // Each own slot is read once, so it is taken rather than copied.
            Place::Own(i) => self.own.get_mut(i).map(std::mem::take).unwrap_or_default(),
            Place::Shared(value) => Arc::unwrap_or_clone(value),
        };
        Some((name, value))
    }
}

impl IntoIterator for Fields {
    type Item = (FieldName, Value);
    type IntoIter = IntoIter;

    fn into_iter(self) -> IntoIter {
        let shape = Arc::unwrap_or_clone(self.shape);
        IntoIter {
            names: shape.names.into_iter(),
            places: shape.places.into_iter(),
            own: self.own,
        }
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
        fields.insert(&name, Value::from("Acme"));
        fields.insert(&city, Value::from("Paris"));
        fields.insert(&Arc::from("Name"), Value::from("Acme 2"));
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
            same.insert(&k, v);
        }
        assert_eq!(
            same, fields,
            "a shared value equals the same value held alone"
        );
    }

    #[test]
    fn record_keys_order_as_their_text() {
        let ids = [
            "001xx000003DGb2AAG",
            "001xx000003DGb1AAG",
            "001xx000003DGb1AAH",
            "a00xx000003DGb1AAG",
            "001xx000003DGb1AAg",
        ];
        for a in ids {
            for b in ids {
                let (ka, kb) = (RecordKey::new(a).unwrap(), RecordKey::new(b).unwrap());
                assert_eq!(ka.cmp(&kb), a.cmp(b), "{a} against {b}");
            }
        }
        let key = RecordKey::new("001xx000003DGb2AAG").unwrap();
        assert_eq!(key.as_str(), "001xx000003DGb2AAG");
        assert_eq!(RecordKey::new("001xx000003DGb2"), None, "15 characters");
        assert_eq!(RecordKey::new(""), None);
    }

    #[test]
    fn names_sharing_a_filter_bit_are_told_apart() {
        // Same length and last byte: the same bit, so only the scan can tell them apart.
        assert_eq!(filter_bit("CreatedDate"), filter_bit("ClosingDate"));
        let mut fields = Fields::default();
        fields.insert(&Arc::from("CreatedDate"), Value::from(1));
        assert_eq!(fields.get("ClosingDate"), None);
        fields.insert(&Arc::from("ClosingDate"), Value::from(2));
        assert_eq!(fields.get("CreatedDate"), Some(&Value::from(1)));
        assert_eq!(fields.get("ClosingDate"), Some(&Value::from(2)));
        assert_eq!(fields.len(), 2);
    }
}
