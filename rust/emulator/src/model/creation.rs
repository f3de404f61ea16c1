//! What creating a record adds to the values it is given: defaults, the system fields and
//! the check of required fields. None of it reads another record, so a bulk job does it for
//! its rows outside the store lock; the id is minted under the lock (`Store::create_completed`).

use crate::http_kit::failure::ApiFailure;
use crate::model::record::{FieldName, Fields, Shape};
use crate::model::schema::ObjectMeta;
use crate::model::values::required_missing;
use serde_json::Value;
use std::sync::Arc;

/// What a create adds to the given values and requires of them, none of which reads another
/// record: a bulk job takes a copy and completes its rows outside the store lock.
#[derive(Debug, Clone)]
pub struct Creation {
    pub(crate) system: SystemNames,
    defaults: Vec<(FieldName, Arc<Value>)>,
    required: Vec<FieldName>,
    /// `IsDeleted` of every new record, shared.
    not_deleted: Arc<Value>,
}

/// Who makes a write and when, as values the records of one batch share.
#[derive(Debug, Clone)]
pub struct Stamp {
    user: Arc<Value>,
    now: Arc<Value>,
}

impl Stamp {
    pub fn new(user_id: &str, now: &str) -> Self {
        Self {
            user: Arc::new(Value::String(user_id.to_owned())),
            now: Arc::new(Value::String(now.to_owned())),
        }
    }
}

impl Creation {
    pub(crate) fn of(meta: &ObjectMeta) -> Self {
        Self {
            system: SystemNames::of(meta),
            defaults: meta
                .fields
                .iter()
                .filter_map(|f| Some((f.name.clone(), Arc::new(f.default_value.clone()?))))
                .collect(),
            required: meta
                .fields
                .iter()
                .filter(|f| f.required_on_create())
                .map(|f| f.name.clone())
                .collect(),
            not_deleted: Arc::new(Value::Bool(false)),
        }
    }

    /// How many values a create adds at most. Sizing a new record's values for them saves
    /// growing the vector per row.
    pub fn added(&self) -> usize {
        SystemNames::COUNT + self.defaults.len()
    }

    /// Fills in defaults, checks required fields and sets the system fields. The id, which
    /// `Store::create_completed` mints, is null until then: setting it in place keeps the
    /// record's shape, which the rows of a bulk batch share.
    pub fn complete(&self, values: &mut Fields, stamp: &Stamp) -> Result<(), ApiFailure> {
        for (name, default) in &self.defaults {
            values.insert_missing(name, default);
        }
        let missing: Vec<String> = self
            .required
            .iter()
            .filter(|name| values.get(name).is_none_or(Value::is_null))
            .map(|name| name.to_string())
            .collect();
        if !missing.is_empty() {
            return Err(required_missing(missing));
        }
        let system = &self.system;
        values.insert_missing(&system.owner_id, &stamp.user);
        values.insert_shared(&system.is_deleted, &self.not_deleted);
        for f in [
            &system.created_date,
            &system.last_modified_date,
            &system.system_modstamp,
        ] {
            values.insert_shared(f, &stamp.now);
        }
        values.insert_shared(&system.created_by_id, &stamp.user);
        values.insert_shared(&system.last_modified_by_id, &stamp.user);
        values.insert(&system.id, Value::Null);
        Ok(())
    }
}

/// How `Creation::complete` finished one row, to finish rows given the same fields alike without
/// going through it again: it adds only values the batch shares and the null id, so such rows
/// differ only in the values they were given, and share the first row's shape.
#[derive(Debug)]
pub struct Completion {
    shape: Arc<Shape>,
    /// The own values `complete` added after the given ones.
    added: Vec<Value>,
    /// Where the given values of required fields are, which must not be null.
    required: Vec<usize>,
}

impl Creation {
    /// How `complete` finished `completed`, which was given values for `given`, in order; `None`
    /// when its own values do not start with the given ones, so that rows cannot be finished
    /// alike.
    pub fn completion(&self, completed: &Fields, given: &[&FieldName]) -> Option<Completion> {
        let shape = completed.shape();
        let in_order = given
            .iter()
            .enumerate()
            .all(|(i, name)| shape.own_index(name) == Some(i));
        if !in_order {
            return None;
        }
        Some(Completion {
            shape: shape.clone(),
            added: completed.own_values().get(given.len()..)?.to_vec(),
            required: self
                .required
                .iter()
                .filter_map(|name| shape.own_index(name))
                .filter(|&i| i < given.len())
                .collect(),
        })
    }
}

impl Completion {
    /// A row given these values, for the same fields in the same order as the row this was made
    /// from, completed alike. The values come back when a required one is null, for `complete`
    /// to say which.
    pub fn complete(&self, mut given: Vec<Value>) -> Result<Fields, Vec<Value>> {
        let required_null = self
            .required
            .iter()
            .any(|&i| given.get(i).is_none_or(Value::is_null));
        if required_null {
            return Err(given);
        }
        let count = given.len();
        given.extend(self.added.iter().cloned());
        Fields::of_shape(&self.shape, given).map_err(|mut back| {
            back.truncate(count);
            back
        })
    }
}

/// The names of the fields every create and update sets, taken from the metadata once so that
/// each row shares them.
#[derive(Debug, Clone)]
pub(crate) struct SystemNames {
    pub id: FieldName,
    pub owner_id: FieldName,
    pub is_deleted: FieldName,
    pub created_date: FieldName,
    pub created_by_id: FieldName,
    pub last_modified_date: FieldName,
    pub last_modified_by_id: FieldName,
    pub system_modstamp: FieldName,
}

impl SystemNames {
    /// How many fields a create sets besides the given ones.
    const COUNT: usize = 8;

    fn of(meta: &ObjectMeta) -> Self {
        let name = |n: &str| {
            meta.field(n)
                .map_or_else(|| FieldName::from(n), |f| f.name.clone())
        };
        Self {
            id: name("Id"),
            owner_id: name("OwnerId"),
            is_deleted: name("IsDeleted"),
            created_date: name("CreatedDate"),
            created_by_id: name("CreatedById"),
            last_modified_date: name("LastModifiedDate"),
            last_modified_by_id: name("LastModifiedById"),
            system_modstamp: name("SystemModstamp"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::record::Shapes;

    fn account() -> Creation {
        let meta = crate::model::schema::standard_objects()
            .into_iter()
            .find(|o| o.name == "Account")
            .unwrap();
        Creation::of(&meta)
    }

    /// A row given these values for these fields, completed the full way.
    fn completed(
        creation: &Creation,
        stamp: &Stamp,
        given: &[(&FieldName, Value)],
        shapes: &mut Shapes,
    ) -> Result<Fields, ApiFailure> {
        let mut draft = Fields::default();
        for (name, value) in given {
            draft.insert(name, value.clone());
        }
        creation.complete(&mut draft, stamp)?;
        Ok(draft.take(shapes))
    }

    #[test]
    fn rows_given_the_same_fields_complete_as_the_full_way_does() {
        let creation = account();
        let stamp = Stamp::new("005000000000001AAA", "2026-11-26T10:00:00.000+0000");
        let (name, phone): (FieldName, FieldName) = ("Name".into(), "Phone".into());
        let mut shapes = Shapes::default();
        let first = completed(
            &creation,
            &stamp,
            &[(&name, Value::from("A")), (&phone, Value::from("1"))],
            &mut shapes,
        )
        .unwrap();
        let completion = creation.completion(&first, &[&name, &phone]).unwrap();
        for given in [
            vec![Value::from("B"), Value::from("2")],
            vec![Value::from("C"), Value::Null],
        ] {
            let alike = completion.complete(given.clone()).unwrap();
            let pairs = [(&name, given[0].clone()), (&phone, given[1].clone())];
            let full = completed(&creation, &stamp, &pairs, &mut Shapes::default()).unwrap();
            assert_eq!(alike, full);
            assert!(
                Arc::ptr_eq(alike.shape(), first.shape()),
                "the first row's shape"
            );
            assert_eq!(
                alike.get("OwnerId"),
                Some(&Value::from("005000000000001AAA"))
            );
            assert_eq!(alike.get("Id"), Some(&Value::Null), "minted when stored");
        }
        // A null required field goes back, for the full way to name it.
        let back = completion
            .complete(vec![Value::Null, Value::from("3")])
            .unwrap_err();
        assert_eq!(back, vec![Value::Null, Value::from("3")]);
        let pairs = [(&name, Value::Null), (&phone, Value::from("3"))];
        let failure = completed(&creation, &stamp, &pairs, &mut shapes).unwrap_err();
        assert_eq!(failure.code, "REQUIRED_FIELD_MISSING");
        // Given fields in another order than the shape holds them: no completion.
        assert!(creation.completion(&first, &[&phone, &name]).is_none());
    }
}
