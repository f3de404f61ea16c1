//! Records in memory, with Salesforce's validation: unknown fields, types, required fields,
//! unique and external id values, deleted rows.

use crate::http_kit::failure::ApiFailure;
use crate::model::changes::{PendingEvent, RecordChange};
use crate::model::creation::{Creation, Stamp};
use crate::model::record::{FieldName, Fields, RecordKey};
use crate::model::schema::{self, FieldMeta, FieldType, ObjectMeta};
use crate::model::values::{check_value, coerce, required_missing, Write};
use axum::http::StatusCode;
use forcelink_wire::RecordId;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// A stored record: canonical field names to values.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    pub fields: Fields,
    pub deleted: bool,
    /// Its CREATE change event is encoded from these values on delivery (a bulk insert's): before
    /// they change, they are kept in `ObjectStore::created` for it.
    event_reads_record: bool,
}

/// One object's metadata and rows.
#[derive(Debug, Clone)]
pub struct ObjectStore {
    pub meta: ObjectMeta,
    /// Ids are minted in increasing order, so this map iterates in insertion order.
    pub records: BTreeMap<RecordKey, StoredRecord>,
    /// For unique and external id fields: field name to lower-cased value to ids.
    index: HashMap<String, HashMap<String, Vec<String>>>,
    /// The object's name, shared by its change records.
    name: Arc<str>,
    creation: Creation,
    /// The fields whose values must be unique, checked on every write.
    unique: Vec<FieldName>,
    /// The values of records as created, kept for their CREATE change events once the records
    /// changed (`StoredRecord::event_reads_record`).
    created: HashMap<RecordKey, Fields>,
}

impl ObjectStore {
    fn new(meta: ObjectMeta) -> Self {
        let index = meta
            .fields
            .iter()
            .filter(|f| f.unique || f.external_id)
            .map(|f| (f.name.to_string(), HashMap::new()))
            .collect();
        Self {
            name: Arc::from(meta.name.as_str()),
            creation: Creation::of(&meta),
            unique: meta
                .fields
                .iter()
                .filter(|f| f.unique)
                .map(|f| f.name.clone())
                .collect(),
            created: HashMap::new(),
            meta,
            records: BTreeMap::new(),
            index,
        }
    }

    pub fn creation(&self) -> &Creation {
        &self.creation
    }

    /// A unique field's value already held by another record is DUPLICATE_VALUE.
    fn check_unique(&self, values: &Fields, own_id: Option<&str>) -> Result<(), ApiFailure> {
        for name in &self.unique {
            let Some(value) = values.get(name) else {
                continue;
            };
            if let Some(other) = self
                .matches(name, value)
                .into_iter()
                .find(|id| Some(id.as_str()) != own_id)
            {
                return Err(ApiFailure::bad_request(
                    "DUPLICATE_VALUE",
                    format!(
                        "duplicate value found: {name} duplicates value on record with id: {other}",
                    ),
                )
                .with_fields(vec![name.to_string()]));
            }
        }
        Ok(())
    }

    /// Takes a record out to change or remove it, keeping its values as created first if its
    /// change event reads them.
    fn take_record(&mut self, id: &str) -> Option<(RecordKey, StoredRecord)> {
        let (key, mut record) = self.records.remove_entry(id)?;
        if record.event_reads_record {
            record.event_reads_record = false;
            self.created.insert(key, record.fields.clone());
        }
        Some((key, record))
    }

    /// A record's values as created, for a CREATE change event encoded on delivery.
    pub fn created_values(&self, key: &RecordKey) -> Option<&Fields> {
        self.created.get(key).or_else(|| {
            self.records
                .get(key.as_str())
                .filter(|r| r.event_reads_record)
                .map(|r| &r.fields)
        })
    }

    fn index_insert(&mut self, id: &str, fields: &Fields) {
        for (field, values) in &mut self.index {
            if let Some(key) = fields.get(field).and_then(index_key) {
                values.entry(key).or_default().push(id.to_owned());
            }
        }
    }

    fn index_remove(&mut self, id: &str, fields: &Fields) {
        for (field, values) in &mut self.index {
            if let Some(key) = fields.get(field).and_then(index_key) {
                if let Some(ids) = values.get_mut(&key) {
                    ids.retain(|i| i != id);
                    if ids.is_empty() {
                        values.remove(&key);
                    }
                }
            }
        }
    }

    fn matches(&self, field: &str, value: &Value) -> Vec<String> {
        let key = index_key(value);
        match (self.index.get(field), key) {
            (Some(values), Some(key)) => values.get(&key).cloned().unwrap_or_default(),
            _ => Vec::new(),
        }
    }
}

/// Unique values compare case-insensitively, as Salesforce's unique text fields do.
fn index_key(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.to_lowercase()),
        other => Some(other.to_string()),
    }
}

/// A record found live by `Store::live_target`.
#[derive(Debug)]
pub struct LiveTarget {
    object: String,
    id: String,
}

/// What an upsert did.
#[derive(Debug, PartialEq, Eq)]
pub enum UpsertOutcome {
    Created(String),
    Updated(String),
    MultipleMatches(Vec<String>),
}

/// Every object and record of the org. Cloning it is how all-or-nothing requests roll back.
#[derive(Debug, Clone)]
pub struct Store {
    objects: HashMap<String, ObjectStore>,
    by_prefix: HashMap<String, String>,
    next_serial: u64,
    next_custom_prefix: u32,
    pod: String,
    pub user_id: String,
    /// Changes since the last commit, for change events; a rollback (restoring a clone)
    /// drops them with the rows.
    changes: Vec<RecordChange>,
    /// Platform events published in the open transaction.
    events: Vec<PendingEvent>,
}

impl Store {
    pub fn new(pod: &str, user_id: &str) -> Self {
        let mut store = Self {
            objects: HashMap::new(),
            by_prefix: HashMap::new(),
            next_serial: 1,
            next_custom_prefix: 0,
            pod: pod.to_owned(),
            user_id: user_id.to_owned(),
            changes: Vec::new(),
            events: Vec::new(),
        };
        for meta in schema::standard_objects() {
            store.add_object(meta);
        }
        store
    }

    /// Takes what the open transaction changed and published.
    pub fn take_committed(&mut self) -> (Vec<RecordChange>, Vec<PendingEvent>) {
        (
            std::mem::take(&mut self.changes),
            std::mem::take(&mut self.events),
        )
    }

    /// Room for the changes of a transaction about to write this many more records.
    pub fn reserve_changes(&mut self, additional: usize) {
        self.changes.reserve(additional);
    }

    /// Queues a platform event until the transaction commits.
    pub fn queue_event(&mut self, event: PendingEvent) {
        self.events.push(event);
    }

    fn record_change(
        &mut self,
        object: Arc<str>,
        id: &str,
        change_type: &'static str,
        values: Fields,
        changed: Vec<String>,
    ) {
        let nulled = changed
            .iter()
            .filter(|f| values.get(f).is_some_and(Value::is_null))
            .cloned()
            .collect();
        self.changes.push(RecordChange {
            object,
            id: id.to_owned(),
            change_type,
            values,
            changed,
            nulled,
            on_delivery: false,
        });
    }

    fn add_object(&mut self, meta: ObjectMeta) {
        self.by_prefix
            .insert(meta.key_prefix.clone(), meta.name.clone());
        self.objects
            .insert(meta.name.to_ascii_lowercase(), ObjectStore::new(meta));
    }

    /// Defines a custom object at run time; its key prefix is the next free `a0N`.
    pub fn define_object(&mut self, name: &str, definition: &Value) -> Result<(), String> {
        if self.objects.contains_key(&name.to_ascii_lowercase()) {
            return Err(format!("object {name} already exists"));
        }
        let prefix = loop {
            let candidate = format!("a{:02}", self.next_custom_prefix);
            self.next_custom_prefix += 1;
            if !self.by_prefix.contains_key(&candidate) {
                break candidate;
            }
        };
        let meta = schema::custom_object(name, &prefix, definition)?;
        for f in &meta.fields {
            if let Some(target) = f.reference_to.first() {
                if target != "User" && !self.objects.contains_key(&target.to_ascii_lowercase()) {
                    return Err(format!("field {}: no object {target} to refer to", f.name));
                }
            }
        }
        self.add_object(meta);
        Ok(())
    }

    pub fn objects(&self) -> impl Iterator<Item = &ObjectMeta> {
        let mut metas: Vec<&ObjectMeta> = self.objects.values().map(|o| &o.meta).collect();
        metas.sort_by(|a, b| a.name.cmp(&b.name));
        metas.into_iter()
    }

    /// The object a record id belongs to, by its key prefix.
    pub fn object_of(&self, raw_id: &str) -> Result<String, ApiFailure> {
        let id = RecordId::parse(raw_id).map_err(|_| {
            ApiFailure::bad_request("MALFORMED_ID", format!("malformed id {raw_id}"))
        })?;
        self.by_prefix.get(id.key_prefix()).cloned().ok_or_else(|| {
            ApiFailure::bad_request("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
        })
    }

    /// Child relationships of `parent`: (relationship name, child object, field), as describe
    /// lists them and sObject tree requests nest them.
    pub fn child_relationships(&self, parent: &str) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        for child in self.objects() {
            for f in &child.fields {
                if f.field_type != FieldType::Reference
                    || !f
                        .reference_to
                        .iter()
                        .any(|t| t.eq_ignore_ascii_case(parent))
                {
                    continue;
                }
                let plural: String = child
                    .label_plural
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect();
                let name = if &*f.name == "ParentId" && child.name == parent {
                    format!("Child{plural}")
                } else if f.custom {
                    format!("{plural}__r")
                } else {
                    plural
                };
                out.push((name, child.name.clone(), f.name.to_string()));
            }
        }
        out
    }

    /// The relationship as named in the org (`Contacts` for `contacts`), its child object and
    /// the child's reference field, for a relationship name of `parent` in any case.
    pub fn child_relationship(
        &self,
        parent: &str,
        relationship: &str,
    ) -> Option<(String, String, String)> {
        self.child_relationships(parent)
            .into_iter()
            .find(|(name, _, _)| name.eq_ignore_ascii_case(relationship))
    }

    /// Describe with child relationships filled in.
    pub fn describe(&self, object: &str, version: &str) -> Result<Value, ApiFailure> {
        let meta = &self.object(object)?.meta;
        let mut body = meta.describe(version);
        let children: Vec<Value> = self
            .child_relationships(&meta.name)
            .into_iter()
            .map(|(name, child, field)| serde_json::json!({"childSObject": child, "field": field, "relationshipName": name, "cascadeDelete": false, "deprecatedAndHidden": false}))
            .collect();
        if let Value::Object(map) = &mut body {
            map.insert("childRelationships".into(), Value::Array(children));
        }
        Ok(body)
    }

    /// An object by name, in any case. A scan of the dozen objects comparing names without
    /// regard to case: this runs several times for every row a bulk job writes, and
    /// lower-casing the name for the map's key would allocate each time.
    pub fn object(&self, name: &str) -> Result<&ObjectStore, ApiFailure> {
        self.objects
            .values()
            .find(|o| o.meta.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| unsupported_type(name))
    }

    fn object_mut(&mut self, name: &str) -> Result<&mut ObjectStore, ApiFailure> {
        self.objects
            .values_mut()
            .find(|o| o.meta.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| unsupported_type(name))
    }

    /// Resolves a record id of `object`: malformed ids are MALFORMED_ID, ids of another object
    /// or of no record are NOT_FOUND, deleted rows ENTITY_IS_DELETED.
    pub fn live_record(
        &self,
        object: &str,
        raw_id: &str,
    ) -> Result<(&ObjectStore, String), ApiFailure> {
        let store = self.object(object)?;
        let id = RecordId::parse(raw_id)
            .map_err(|_| ApiFailure::malformed_id(&store.meta.label, raw_id))?;
        if id.key_prefix() != store.meta.key_prefix {
            return Err(ApiFailure::not_found());
        }
        let id = id.to_string();
        match store.records.get(id.as_str()) {
            None => Err(ApiFailure::not_found()),
            Some(r) if r.deleted => Err(ApiFailure::entity_deleted()),
            Some(_) => Ok((store, id)),
        }
    }

    /// A record as GET answers it: `attributes` first, then all fields or the asked ones.
    pub fn render(
        &self,
        object: &str,
        id: &str,
        fields: Option<&[String]>,
        version: &str,
    ) -> Result<Value, ApiFailure> {
        let (store, id) = self.live_record(object, id)?;
        let record = store
            .records
            .get(id.as_str())
            .ok_or_else(ApiFailure::not_found)?;
        let mut out = Map::new();
        out.insert(
            "attributes".into(),
            attributes(&store.meta.name, &id, version),
        );
        match fields {
            None => {
                for f in &store.meta.fields {
                    out.insert(
                        f.name.to_string(),
                        read_value(&store.meta, f, record, &id, version),
                    );
                }
            }
            Some(names) => {
                for name in names {
                    let f = store
                        .meta
                        .field(name)
                        .ok_or_else(|| no_such_column(name, &store.meta.name))?;
                    out.insert(
                        f.name.to_string(),
                        read_value(&store.meta, f, record, &id, version),
                    );
                }
                out.insert("Id".into(), Value::String(id.clone()));
            }
        }
        Ok(Value::Object(out))
    }

    /// Adds a user of the org (the identity service minted its id) as a `User` record, so
    /// `Owner.Name`, `CreatedBy.Name` and queries of `User` read it. No change event: users
    /// are not change-tracked here.
    pub fn add_user(&mut self, id: &str, username: &str, now: &str) -> Result<(), ApiFailure> {
        let local = username.split('@').next().unwrap_or(username);
        let alias: String = local.chars().take(8).collect();
        let body = serde_json::json!({
            "Username": username, "LastName": local, "Email": username, "Alias": alias,
            "IsActive": true,
        });
        let mut values = self.validate("User", &body, Write::Create)?;
        let stamp = Stamp::new(&self.user_id, now);
        let store = self.object_mut("User")?;
        store.creation.complete(&mut values, &stamp)?;
        compose_name(&store.meta, &mut values);
        let key =
            RecordKey::new(id).ok_or_else(|| ApiFailure::internal("a user id is 18 characters"))?;
        values.insert(&store.creation.system.id, Value::String(id.to_owned()));
        store.index_insert(id, &values);
        store.records.insert(
            key,
            StoredRecord {
                fields: values,
                deleted: false,
                event_reads_record: false,
            },
        );
        Ok(())
    }

    pub fn create(&mut self, object: &str, body: &Value, now: &str) -> Result<String, ApiFailure> {
        let mut values = self.validate(object, body, Write::Create)?;
        self.object(object)?
            .creation
            .complete(&mut values, &Stamp::new(&self.user_id, now))?;
        self.create_completed(object, values, false)
    }

    /// Stores a record `Creation::complete` filled in: checks unique values, mints the id and
    /// queues the change event, which is encoded from the stored record at commit, or with
    /// `event_reads_record` on delivery (a bulk insert's million events then keep no payloads).
    pub fn create_completed(
        &mut self,
        object: &str,
        mut values: Fields,
        event_reads_record: bool,
    ) -> Result<String, ApiFailure> {
        // Borrowed field by field: the object's store, the serial and the change list at once.
        let Self {
            objects,
            next_serial,
            pod,
            changes,
            ..
        } = self;
        let store = objects
            .values_mut()
            .find(|o| o.meta.name.eq_ignore_ascii_case(object))
            .ok_or_else(|| unsupported_type(object))?;
        store.check_unique(&values, None)?;
        compose_name(&store.meta, &mut values);
        let id = mint_id(next_serial, &store.meta.key_prefix, pod)?;
        let key = RecordKey::new(&id)
            .ok_or_else(|| ApiFailure::internal("a minted id is 18 characters"))?;
        values.insert(&store.creation.system.id, Value::String(id.clone()));
        store.index_insert(&id, &values);
        store.records.insert(
            key,
            StoredRecord {
                fields: values,
                deleted: false,
                event_reads_record,
            },
        );
        // The event's body is read from the stored record: at commit, or on delivery.
        changes.push(RecordChange {
            object: store.name.clone(),
            id: id.clone(),
            change_type: "CREATE",
            values: Fields::default(),
            changed: Vec::new(),
            nulled: Vec::new(),
            on_delivery: event_reads_record,
        });
        Ok(id)
    }

    pub fn update(
        &mut self,
        object: &str,
        raw_id: &str,
        body: &Value,
        now: &str,
    ) -> Result<(), ApiFailure> {
        // An id that names no live record is answered before the body is looked at.
        let target = self.live_target(object, raw_id)?;
        let changes = self.validate(object, body, Write::Update)?;
        self.update_live(target, changes, now)
    }

    /// The object and canonical id of a live record (`live_record`), for `update_live`.
    pub fn live_target(&self, object: &str, raw_id: &str) -> Result<LiveTarget, ApiFailure> {
        let (store, id) = self.live_record(object, raw_id)?;
        Ok(LiveTarget {
            object: store.meta.name.clone(),
            id,
        })
    }

    /// Applies checked changes (values checked as `validate` does) to a live record.
    pub fn update_live(
        &mut self,
        target: LiveTarget,
        changes: Fields,
        now: &str,
    ) -> Result<(), ApiFailure> {
        let LiveTarget { object: name, id } = target;
        let store = self.object(&name)?;
        let nulled_required: Vec<String> = changes
            .iter()
            .filter(|(k, v)| v.is_null() && store.meta.field(k).is_some_and(|f| !f.nillable))
            .map(|(k, _)| k.to_string())
            .collect();
        if !nulled_required.is_empty() {
            return Err(required_missing(nulled_required));
        }
        self.object(&name)?.check_unique(&changes, Some(&id))?;
        let user = self.user_id.clone();
        let store = self.object_mut(&name)?;
        let Some((key, mut record)) = store.take_record(&id) else {
            return Err(ApiFailure::not_found());
        };
        store.index_remove(&id, &record.fields);
        let mut changed = Vec::new();
        let mut values = Fields::default();
        for (k, v) in changes {
            if record.fields.get(&k).unwrap_or(&Value::Null) != &v {
                changed.push(k.to_string());
                values.insert(&k, v.clone());
            }
            record.fields.insert(&k, v);
        }
        let system = &store.creation.system;
        let stamp = Value::String(now.to_owned());
        changed.push(system.last_modified_date.to_string());
        values.insert(&system.last_modified_date, stamp.clone());
        let fields = &mut record.fields;
        fields.insert(&system.last_modified_date, stamp.clone());
        fields.insert(&system.system_modstamp, stamp);
        fields.insert(&system.last_modified_by_id, Value::String(user));
        compose_name(&store.meta, fields);
        store.index_insert(&id, &record.fields);
        store.records.insert(key, record);
        let object = store.name.clone();
        self.record_change(object, &id, "UPDATE", values, changed);
        Ok(())
    }

    pub fn upsert(
        &mut self,
        object: &str,
        field: &str,
        raw_value: &str,
        body: &Value,
        now: &str,
    ) -> Result<UpsertOutcome, ApiFailure> {
        let store = self.object(object)?;
        let name = store.meta.name.clone();
        if field.eq_ignore_ascii_case("Id") {
            // Keyed by the record id, as Salesforce allows: a blank id creates, a known one
            // updates, an unknown one is NOT_FOUND.
            if raw_value.is_empty() {
                return self.create(&name, body, now).map(UpsertOutcome::Created);
            }
            let (_, id) = self.live_record(&name, raw_value)?;
            self.update(&name, &id, body, now)?;
            return Ok(UpsertOutcome::Updated(id));
        }
        let ext = store
            .meta
            .field(field)
            .filter(|f| f.external_id)
            .cloned()
            .ok_or_else(|| {
                ApiFailure::new(
                    StatusCode::NOT_FOUND,
                    "NOT_FOUND",
                    format!(
                        "Provided external ID field does not exist or is not accessible: {field}"
                    ),
                )
            })?;
        let key = coerce(&ext, Value::String(raw_value.to_owned()))?;
        let live: Vec<String> = store
            .matches(&ext.name, &key)
            .into_iter()
            .filter(|id| store.records.get(id.as_str()).is_some_and(|r| !r.deleted))
            .collect();
        match live.as_slice() {
            [] => {
                let mut with_key = match body {
                    Value::Object(map) => map.clone(),
                    _ => {
                        return Err(ApiFailure::json_parser(
                            "The request body must be a JSON object",
                        ))
                    }
                };
                with_key.insert(ext.name.to_string(), key);
                self.create(&name, &Value::Object(with_key), now)
                    .map(UpsertOutcome::Created)
            }
            [one] => {
                let id = one.clone();
                self.update(&name, &id, body, now)?;
                Ok(UpsertOutcome::Updated(id))
            }
            many => Ok(UpsertOutcome::MultipleMatches(many.to_vec())),
        }
    }

    pub fn delete(&mut self, object: &str, raw_id: &str, now: &str) -> Result<(), ApiFailure> {
        let (name, id) = {
            let (store, id) = self.live_record(object, raw_id)?;
            (store.meta.name.clone(), id)
        };
        let store = self.object_mut(&name)?;
        let Some((key, mut record)) = store.take_record(&id) else {
            return Err(ApiFailure::not_found());
        };
        store.index_remove(&id, &record.fields);
        record.deleted = true;
        let system = &store.creation.system;
        let fields = &mut record.fields;
        fields.insert(&system.is_deleted, Value::Bool(true));
        fields.insert(&system.system_modstamp, Value::String(now.to_owned()));
        store.records.insert(key, record);
        let object = store.name.clone();
        self.record_change(object, &id, "DELETE", Fields::default(), Vec::new());
        Ok(())
    }

    /// Removes a record for good (Bulk API hardDelete): no recycle bin, queryAll no longer sees it.
    pub fn hard_delete(&mut self, object: &str, raw_id: &str) -> Result<(), ApiFailure> {
        let (name, id) = {
            let (store, id) = self.live_record(object, raw_id)?;
            (store.meta.name.clone(), id)
        };
        let store = self.object_mut(&name)?;
        if let Some((_, record)) = store.take_record(&id) {
            store.index_remove(&id, &record.fields);
        }
        let object = store.name.clone();
        self.record_change(object, &id, "DELETE", Fields::default(), Vec::new());
        Ok(())
    }

    /// Checks a JSON body against the object's fields and returns canonical names to coerced
    /// values.
    fn validate(&self, object: &str, body: &Value, mode: Write) -> Result<Fields, ApiFailure> {
        let Value::Object(input) = body else {
            return Err(ApiFailure::json_parser(
                "The request body must be a JSON object of field values",
            ));
        };
        let store = self.object(object)?;
        let meta = &store.meta;
        let capacity = input.len()
            + match mode {
                Write::Create => store.creation.added(),
                Write::Update => 0,
            };
        // Field by field, in order: known, writable by this kind of write, of the field's type,
        // a reference to a live record.
        let mut out = Fields::with_capacity(capacity);
        for (name, value) in input.iter().filter(|(name, _)| *name != "attributes") {
            let field = meta
                .field(name)
                .ok_or_else(|| no_such_column(name, &meta.name))?;
            let checked = check_value(field, value.clone(), mode)?;
            self.check_references([(field, &checked)])?;
            out.insert(&field.name, checked);
        }
        Ok(out)
    }

    /// Checks that the values of reference fields name live records of the right object.
    pub fn check_references<'v>(
        &self,
        values: impl IntoIterator<Item = (&'v FieldMeta, &'v Value)>,
    ) -> Result<(), ApiFailure> {
        for (field, value) in values {
            if field.field_type == FieldType::Reference {
                if let Value::String(target) = value {
                    self.check_reference(field, target)?;
                }
            }
        }
        Ok(())
    }

    fn check_reference(&self, field: &FieldMeta, target: &str) -> Result<(), ApiFailure> {
        let Some(object) = field.reference_to.first() else {
            return Ok(());
        };
        if object == "User" {
            let known = target == self.user_id || self.live_record("User", target).is_ok();
            return if known {
                Ok(())
            } else {
                Err(ApiFailure::bad_request(
                    "INVALID_CROSS_REFERENCE_KEY",
                    format!("{}: id value of incorrect type: {target}", field.label),
                )
                .with_fields(vec![field.name.to_string()]))
            };
        }
        match self.live_record(object, target) {
            Ok(_) => Ok(()),
            Err(e)
                if e.code == "MALFORMED_ID"
                    || e.code == "NOT_FOUND" && !target_has_prefix(self, object, target) =>
            {
                Err(ApiFailure::bad_request(
                    "FIELD_INTEGRITY_EXCEPTION",
                    format!("{} ID: id value of incorrect type: {target}", field.label),
                )
                .with_fields(vec![field.name.to_string()]))
            }
            Err(_) => Err(ApiFailure::bad_request(
                "INVALID_CROSS_REFERENCE_KEY",
                "invalid cross reference id",
            )
            .with_fields(vec![field.name.to_string()])),
        }
    }
}

/// The next record id: serials count up across the org.
fn mint_id(next_serial: &mut u64, key_prefix: &str, pod: &str) -> Result<String, ApiFailure> {
    let serial = *next_serial;
    *next_serial += 1;
    RecordId::mint(key_prefix, pod, serial)
        .map(RecordId::into_string)
        .map_err(|e| ApiFailure::internal(e.to_string()))
}

fn target_has_prefix(store: &Store, object: &str, target: &str) -> bool {
    store
        .object(object)
        .is_ok_and(|o| target.len() >= 3 && target.get(..3) == Some(o.meta.key_prefix.as_str()))
}

pub fn attributes(object: &str, id: &str, version: &str) -> Value {
    serde_json::json!({"type": object, "url": format!("/services/data/v{version}/sobjects/{object}/{id}")})
}

fn unsupported_type(name: &str) -> ApiFailure {
    ApiFailure::bad_request(
        "INVALID_TYPE",
        format!("sObject type '{name}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names."),
    )
}

fn no_such_column(field: &str, object: &str) -> ApiFailure {
    ApiFailure::bad_request(
        "INVALID_FIELD",
        format!("No such column '{field}' on sobject of type {object}"),
    )
    .with_fields(vec![field.to_owned()])
}

/// A field's value as reads show it: stored, or made (compound and file fields).
pub fn read_value(
    meta: &crate::model::schema::ObjectMeta,
    field: &crate::model::schema::FieldMeta,
    record: &StoredRecord,
    id: &str,
    version: &str,
) -> Value {
    crate::model::compound::derived_value(meta, field, &record.fields, id, version)
        .or_else(|| record.fields.get(&field.name).cloned())
        .unwrap_or(Value::Null)
}

/// Contact, Lead and User carry a compound `Name`: Salutation, FirstName and LastName, as
/// Salesforce composes it; every write keeps it up to date.
fn compose_name(meta: &crate::model::schema::ObjectMeta, fields: &mut Fields) {
    if !matches!(&*meta.name, "Contact" | "Lead" | "User") {
        return;
    }
    let Some(name) = meta.field("Name").map(|f| f.name.clone()) else {
        return;
    };
    let composed = ["Salutation", "FirstName", "LastName"]
        .iter()
        .filter_map(|part| fields.get(part).and_then(Value::as_str))
        .filter(|text| !text.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    fields.insert(&name, Value::String(composed));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: &str = "2026-01-01T00:00:00.000+0000";

    fn store() -> Store {
        Store::new("5e", "005000000000001AAA")
    }

    #[test]
    fn create_validates_then_stores() {
        let mut s = store();
        let e = s.create("Account", &json!({}), NOW).unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.fields.clone()),
            ("REQUIRED_FIELD_MISSING", vec!["Name".to_owned()])
        );
        assert_eq!(
            s.create("Account", &json!({"Name": "A", "Nope": 1}), NOW)
                .unwrap_err()
                .code,
            "INVALID_FIELD"
        );
        assert_eq!(
            s.create(
                "Account",
                &json!({"Name": "A", "NumberOfEmployees": "many"}),
                NOW
            )
            .unwrap_err()
            .code,
            "JSON_PARSER_ERROR"
        );
        assert_eq!(
            s.create(
                "Account",
                &json!({"Name": "A", "Id": "001000000000001AAA"}),
                NOW
            )
            .unwrap_err()
            .code,
            "INVALID_FIELD_FOR_INSERT_UPDATE"
        );
        assert_eq!(
            s.create("Contact", &json!({"LastName": "A", "Email": "nope"}), NOW)
                .unwrap_err()
                .code,
            "INVALID_EMAIL_ADDRESS"
        );
        assert_eq!(
            s.create("Widget__c", &json!({}), NOW).unwrap_err().code,
            "INVALID_TYPE"
        );
        let id = s
            .create(
                "account",
                &json!({"name": "Acme", "NumberOfEmployees": 12}),
                NOW,
            )
            .unwrap();
        let rendered = s.render("Account", &id, None, "62.0").unwrap();
        assert_eq!(rendered["Name"], "Acme");
        assert_eq!(rendered["NumberOfEmployees"], 12);
        assert_eq!(rendered["IsDeleted"], false);
        assert_eq!(rendered["attributes"]["type"], "Account");
    }

    #[test]
    fn unique_values_and_upserts() {
        let mut s = store();
        s.define_object("Invoice__c", &json!({"Number__c": {"type": "string", "external_id": true, "unique": true}, "Code__c": {"type": "string", "external_id": true}})).unwrap();
        let first = s
            .upsert(
                "Invoice__c",
                "Number__c",
                "N-1",
                &json!({"Name": "one"}),
                NOW,
            )
            .unwrap();
        let UpsertOutcome::Created(id) = first else {
            panic!("expected a create")
        };
        assert_eq!(
            s.upsert(
                "Invoice__c",
                "Number__c",
                "n-1",
                &json!({"Name": "uno"}),
                NOW
            )
            .unwrap(),
            UpsertOutcome::Updated(id.clone())
        );
        let dup = s
            .create("Invoice__c", &json!({"Name": "x", "Number__c": "N-1"}), NOW)
            .unwrap_err();
        assert_eq!(dup.code, "DUPLICATE_VALUE");
        s.create("Invoice__c", &json!({"Name": "a", "Code__c": "C"}), NOW)
            .unwrap();
        s.create("Invoice__c", &json!({"Name": "b", "Code__c": "C"}), NOW)
            .unwrap();
        assert!(
            matches!(s.upsert("Invoice__c", "Code__c", "C", &json!({}), NOW).unwrap(), UpsertOutcome::MultipleMatches(ids) if ids.len() == 2)
        );
        assert_eq!(
            s.upsert("Invoice__c", "Name", "x", &json!({}), NOW)
                .unwrap_err()
                .code,
            "NOT_FOUND"
        );
    }

    #[test]
    fn deleted_rows_answer_entity_is_deleted() {
        let mut s = store();
        let id = s.create("Account", &json!({"Name": "A"}), NOW).unwrap();
        s.delete("Account", &id, NOW).unwrap();
        assert_eq!(
            s.render("Account", &id, None, "62.0").unwrap_err().code,
            "ENTITY_IS_DELETED"
        );
        assert_eq!(
            s.delete("Account", &id, NOW).unwrap_err().code,
            "ENTITY_IS_DELETED"
        );
        assert_eq!(
            s.render("Account", "nonsense", None, "62.0")
                .unwrap_err()
                .code,
            "MALFORMED_ID"
        );
        let contact_id = s.create("Contact", &json!({"LastName": "B"}), NOW).unwrap();
        assert_eq!(
            s.render("Account", &contact_id, None, "62.0")
                .unwrap_err()
                .code,
            "NOT_FOUND"
        );
    }
}
