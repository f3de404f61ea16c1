//! The org's event bus: platform event and change event topics, each an ordered log of Avro
//! payloads with 8-byte replay ids from one counter, retention, managed subscriptions and the
//! fault hooks tests use. `grpc` serves it as the Pub/Sub API.

pub mod avro;
pub mod grpc;
pub mod rest;

pub use crate::model::changes::{PendingEvent, RecordChange};
use crate::model::record::RecordKey;
use crate::model::store::{ObjectStore, Store};
use crate::org::lock;
use avro::{ChangeSchema, EventType, Header, SlotCache};
use bytes::Bytes;
use serde_json::{Map, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::watch;

/// The prefix of every Pub/Sub error code.
pub const CODE_PREFIX: &str = "sfdc.platform.eventbus.grpc.";

/// One event as the bus stores it.
#[derive(Debug)]
pub struct BusEvent {
    pub replay: u64,
    pub id: EventId,
    pub schema_id: Arc<str>,
    pub payload: Payload,
}

/// An event's Avro payload: whole, or for the CREATE events of a bulk insert encoded on delivery
/// from the record as created, with a header from what the events of its commit share. A
/// million such events then keep neither bodies nor headers.
#[derive(Debug)]
pub enum Payload {
    Whole(Bytes),
    Created {
        commit: Arc<CommitHeader>,
        record: RecordKey,
        sequence: i32,
    },
}

/// What the change events of one commit to one object share in their headers.
#[derive(Debug)]
pub struct CommitHeader {
    object: Arc<str>,
    schema: Arc<ChangeSchema>,
    origin: String,
    transaction_key: String,
    commit_timestamp: i64,
    commit_number: i64,
    user: String,
}

impl CommitHeader {
    /// The header of one of the commit's changes.
    fn header<'a>(
        &'a self,
        record_ids: &'a [String],
        change_type: &'static str,
        sequence: i32,
        changed: &'a [String],
        nulled: &'a [String],
    ) -> Header<'a> {
        Header {
            record_ids,
            change_type,
            change_origin: &self.origin,
            transaction_key: &self.transaction_key,
            sequence_number: sequence,
            commit_timestamp: self.commit_timestamp,
            commit_number: self.commit_number,
            commit_user: &self.user,
            changed_fields: changed,
            nulled_fields: nulled,
        }
    }
}

impl BusEvent {
    /// Whether `payload` reads the store.
    pub fn reads_store(&self) -> bool {
        matches!(self.payload, Payload::Created { .. })
    }

    /// The payload as subscribers receive it. `store` is needed when `reads_store`; `cache` is
    /// kept across the events of one delivery.
    pub fn payload(&self, store: Option<&Store>, cache: &mut SlotCache) -> Vec<u8> {
        let (commit, record, sequence) = match &self.payload {
            Payload::Whole(bytes) => return bytes.to_vec(),
            Payload::Created {
                commit,
                record,
                sequence,
            } => (commit, record, sequence),
        };
        let id = [record.as_str().to_owned()];
        let header = commit.header(&id, "CREATE", *sequence, &[], &[]);
        let none = crate::model::record::Fields::default();
        let values = store
            .and_then(|store| store.object(&commit.object).ok())
            .and_then(|object| object.created_values(record))
            .unwrap_or(&none);
        // Written by this emulator from its own schema, so it does not fail.
        commit
            .schema
            .encode_with(&header, values, cache)
            .unwrap_or_default()
    }
}

/// An event's id: one the bus mints is kept as its random bits and written out as a UUID on
/// delivery (a bulk job mints a million); a publisher's is kept as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventId {
    Minted(u128),
    Given(String),
}

impl EventId {
    pub fn mint() -> Self {
        Self::Minted(rand::random())
    }
}

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Minted(bits) => f.write_str(&forcelink_wire::uuid_v4(*bits)),
            Self::Given(id) => f.write_str(id),
        }
    }
}

#[derive(Debug, Default)]
struct Log {
    events: VecDeque<Arc<BusEvent>>,
    /// Replay ids below this are out of retention.
    retained_from: u64,
    /// The newest replay id of each append and when it was made, for a retention window.
    marks: VecDeque<(u64, std::time::Instant)>,
}

/// A channel: `/event/Name__e`, `/data/AccountChangeEvent` or `/data/ChangeEvents`.
#[derive(Debug)]
pub struct Topic {
    pub name: String,
    /// Empty for `/data/ChangeEvents`, whose events carry their entity's schema.
    pub schema_id: String,
    pub can_publish: bool,
    log: RwLock<Log>,
    latest: watch::Sender<u64>,
}

impl Topic {
    fn new(name: String, schema_id: String, can_publish: bool) -> Self {
        Self {
            name,
            schema_id,
            can_publish,
            log: RwLock::new(Log {
                events: VecDeque::new(),
                retained_from: 1,
                marks: VecDeque::new(),
            }),
            latest: watch::channel(0).0,
        }
    }

    /// Up to `max` events after replay id `after`.
    pub fn events_after(&self, after: u64, max: usize) -> Vec<Arc<BusEvent>> {
        let log = self.log.read().unwrap_or_else(|p| p.into_inner());
        let start = log.events.partition_point(|e| e.replay <= after);
        log.events.range(start..).take(max).cloned().collect()
    }

    /// The newest replay id on this topic (0 before any event).
    pub fn latest(&self) -> u64 {
        *self.latest.borrow()
    }

    /// Notified whenever an event is appended; the value is the newest replay id.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.latest.subscribe()
    }

    /// The first replay id still retained.
    pub fn retained_from(&self) -> u64 {
        self.log
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .retained_from
    }

    pub fn len(&self) -> usize {
        self.log
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .events
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends events in replay order, under one lock and with one wake-up for subscribers.
    fn append(&self, events: impl IntoIterator<Item = Arc<BusEvent>>, retention: usize) {
        let replay = {
            let mut log = self.log.write().unwrap_or_else(|p| p.into_inner());
            let before = log.events.len();
            log.events.extend(events);
            let added = log.events.len() > before;
            let Some(replay) = log.events.back().map(|e| e.replay).filter(|_| added) else {
                return;
            };
            log.marks.push_back((replay, std::time::Instant::now()));
            if log.events.len() > retention {
                // Trim in chunks so appends stay cheap.
                let len = log.events.len();
                let drop = (len - retention + retention / 10).min(len);
                log.events.drain(..drop);
                log.retained_from = log.events.front().map_or(replay + 1, |e| e.replay);
            }
            replay
        };
        self.latest.send_replace(replay);
    }

    fn expire_before(&self, replay: u64) {
        let mut log = self.log.write().unwrap_or_else(|p| p.into_inner());
        let keep = log.events.partition_point(|e| e.replay < replay);
        log.events.drain(..keep);
        log.retained_from = log.retained_from.max(replay);
        let marks = log.marks.partition_point(|(r, _)| *r < replay);
        log.marks.drain(..marks);
    }

    /// Drops the events appended longer than `window` ago.
    fn expire_older_than(&self, window: Duration) {
        let Some(cutoff) = std::time::Instant::now().checked_sub(window) else {
            return;
        };
        let newest_expired = {
            let log = self.log.read().unwrap_or_else(|p| p.into_inner());
            let expired = log.marks.partition_point(|(_, at)| *at < cutoff);
            match expired.checked_sub(1).and_then(|i| log.marks.get(i)) {
                Some((replay, _)) => *replay,
                None => return,
            }
        };
        self.expire_before(newest_expired + 1);
    }
}

/// Why a subscription cannot start where it was asked to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayProblem {
    /// Never issued, or out of retention.
    Corrupted,
}

/// A managed subscription (ManagedEventSubscription) and its committed position.
#[derive(Debug, Clone)]
pub struct ManagedSubscription {
    pub id: String,
    pub developer_name: String,
    pub topic: String,
    pub earliest: bool,
    pub committed: Option<u64>,
}

/// Test hooks and timings of the Pub/Sub server.
#[derive(Debug, Clone)]
pub struct BusSettings {
    /// Every subscription stream ends with UNAVAILABLE after delivering this many events.
    pub drop_streams_after: Option<u64>,
    /// Keepalive period while credit is outstanding and no event arrives.
    pub keepalive: Duration,
    /// A stream with no credit for this long is closed.
    pub idle_timeout: Duration,
    /// Events kept per topic.
    pub retention: usize,
    /// Events older than this are dropped (Salesforce keeps them 72 hours); None keeps them
    /// until `retention` is reached.
    pub retention_window: Option<Duration>,
}

impl Default for BusSettings {
    fn default() -> Self {
        Self {
            drop_streams_after: None,
            keepalive: Duration::from_secs(270),
            idle_timeout: Duration::from_secs(60),
            retention: 2_000_000,
            retention_window: None,
        }
    }
}

/// Where an object's change events go: its schema, its topic and its schema id.
type ChangeTarget = (Arc<ChangeSchema>, Arc<Topic>, Arc<str>);

/// An object a commit changed, where its events go, where its values go in them, and what the
/// headers of its events share.
type ObjectTarget<'s> = (&'s ObjectStore, ChangeTarget, SlotCache, Arc<CommitHeader>);

/// All topics, schemas and event types of the org.
#[derive(Debug)]
pub struct EventBus {
    topics: RwLock<HashMap<String, Arc<Topic>>>,
    schemas: RwLock<HashMap<String, String>>,
    event_types: RwLock<HashMap<String, Arc<EventType>>>,
    change_schemas: RwLock<HashMap<String, Arc<ChangeSchema>>>,
    /// Held while appending, so replay ids grow in every topic's log.
    next_replay: Mutex<u64>,
    commit_number: AtomicU64,
    managed: Mutex<Vec<ManagedSubscription>>,
    settings: RwLock<BusSettings>,
    /// Subscription streams opened, and ended by the drop fault.
    pub streams_opened: AtomicU64,
    pub streams_dropped: AtomicU64,
    /// Events sent to subscribers, all streams together.
    pub events_delivered: AtomicU64,
    /// gRPC Publish calls and PublishStream requests answered.
    pub publish_requests: AtomicU64,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

pub const ALL_CHANGES: &str = "/data/ChangeEvents";

/// The largest event payload Salesforce accepts, over REST and gRPC alike.
pub const MAX_EVENT_BYTES: usize = 1_048_576;

/// Salesforce's words for an event over [`MAX_EVENT_BYTES`].
pub fn oversize_message(size: usize) -> String {
    format!(
        "The event payload size of {size} bytes exceeds the maximum allowed size of {MAX_EVENT_BYTES} bytes"
    )
}

impl EventBus {
    pub fn new() -> Self {
        let bus = Self {
            topics: RwLock::new(HashMap::new()),
            schemas: RwLock::new(HashMap::new()),
            event_types: RwLock::new(HashMap::new()),
            change_schemas: RwLock::new(HashMap::new()),
            next_replay: Mutex::new(1),
            commit_number: AtomicU64::new(10_000_000),
            managed: Mutex::new(Vec::new()),
            settings: RwLock::new(BusSettings::default()),
            streams_opened: AtomicU64::new(0),
            streams_dropped: AtomicU64::new(0),
            events_delivered: AtomicU64::new(0),
            publish_requests: AtomicU64::new(0),
        };
        bus.write_topics().insert(
            ALL_CHANGES.to_owned(),
            Arc::new(Topic::new(ALL_CHANGES.to_owned(), String::new(), false)),
        );
        bus
    }

    fn write_topics(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<Topic>>> {
        self.topics.write().unwrap_or_else(|p| p.into_inner())
    }

    pub fn settings(&self) -> BusSettings {
        self.settings
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn update_settings(&self, f: impl FnOnce(&mut BusSettings)) {
        f(&mut self.settings.write().unwrap_or_else(|p| p.into_inner()));
    }

    /// The newest replay id issued, 0 before any event.
    pub fn latest_replay(&self) -> u64 {
        *lock(&self.next_replay) - 1
    }

    pub fn topic(&self, name: &str) -> Option<Arc<Topic>> {
        self.topics
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    pub fn schema_json(&self, schema_id: &str) -> Option<String> {
        self.schemas
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(schema_id)
            .cloned()
    }

    fn register_schema(&self, id: &str, json: &str) {
        self.schemas
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.to_owned(), json.to_owned());
    }

    /// Defines a platform event type and its topic `/event/Name__e`.
    pub fn define_event(&self, event: EventType) -> Result<(), String> {
        let key = event.name.to_ascii_lowercase();
        let mut types = self.event_types.write().unwrap_or_else(|p| p.into_inner());
        if types.contains_key(&key) {
            return Err(format!("event {} already exists", event.name));
        }
        self.register_schema(&event.schema_id, &event.schema_json);
        let topic = format!("/event/{}", event.name);
        self.write_topics().insert(
            topic.clone(),
            Arc::new(Topic::new(topic, event.schema_id.clone(), true)),
        );
        types.insert(key, Arc::new(event));
        Ok(())
    }

    pub fn event_type(&self, name: &str) -> Option<Arc<EventType>> {
        self.event_types
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&name.to_ascii_lowercase())
            .cloned()
    }

    /// The change-event schema of an object, made (and its topic opened) on first use.
    pub fn change_schema(
        &self,
        meta: &crate::model::schema::ObjectMeta,
    ) -> Result<Arc<ChangeSchema>, String> {
        let key = meta.name.to_ascii_lowercase();
        if let Some(s) = self
            .change_schemas
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return Ok(s.clone());
        }
        let schema = Arc::new(ChangeSchema::new(meta)?);
        self.register_schema(&schema.schema_id, &schema.schema_json);
        let topic = change_topic(&meta.name);
        self.write_topics()
            .entry(topic.clone())
            .or_insert_with(|| Arc::new(Topic::new(topic, schema.schema_id.clone(), false)));
        self.change_schemas
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, schema.clone());
        Ok(schema)
    }

    /// Appends one event to topics in order, under one replay id.
    fn append(
        &self,
        topics: &[&Arc<Topic>],
        id: EventId,
        schema_id: &str,
        payload: Vec<u8>,
    ) -> u64 {
        let retention = self.settings().retention.max(1);
        self.append_with(topics, id, Arc::from(schema_id), payload, retention)
    }

    fn append_with(
        &self,
        topics: &[&Arc<Topic>],
        id: EventId,
        schema_id: Arc<str>,
        payload: Vec<u8>,
        retention: usize,
    ) -> u64 {
        let mut next = lock(&self.next_replay);
        let replay = *next;
        *next += 1;
        let event = Arc::new(BusEvent {
            replay,
            id,
            schema_id,
            payload: Payload::Whole(Bytes::from(payload)),
        });
        let window = self.settings().retention_window;
        for topic in topics {
            topic.append([event.clone()], retention);
            if let Some(window) = window {
                topic.expire_older_than(window);
            }
        }
        replay
    }

    /// Publishes one platform event payload on a topic; returns its replay id.
    pub fn publish(&self, topic: &Arc<Topic>, id: String, payload: Vec<u8>) -> u64 {
        self.append(&[topic], EventId::Given(id), &topic.schema_id, payload)
    }

    /// Publishes the events of a committed transaction: platform events, then one change
    /// event per record change, numbered within the transaction.
    pub fn commit(
        &self,
        store: &Store,
        changes: Vec<RecordChange>,
        events: Vec<PendingEvent>,
        origin: &str,
    ) {
        for e in events {
            if let Some(topic) = self.topic(&e.topic) {
                self.append(&[&topic], EventId::Given(e.uuid), &e.schema_id, e.payload);
            }
        }
        if changes.is_empty() {
            return;
        }
        let transaction_key = uuid();
        let commit_number = self.commit_number.fetch_add(1, Ordering::Relaxed) as i64;
        let commit_timestamp = chrono::Utc::now().timestamp_millis();
        let Some(all) = self.topic(ALL_CHANGES) else {
            return;
        };
        let retention = self.settings().retention.max(1);
        // A bulk batch changes thousands of records of one object: look it and its schema up
        // once, and keep one slot cache per object. A commit touches a few objects, so they are
        // found by a scan, mostly by pointer.
        let mut targets: Vec<(Arc<str>, Option<ObjectTarget<'_>>)> = Vec::new();
        // Numbered under one lock and appended per topic in one go, so a commit's events stay
        // together and in order on every topic.
        let mut next = lock(&self.next_replay);
        let mut per_topic: Vec<(Arc<Topic>, Vec<Arc<BusEvent>>)> = Vec::new();
        let mut everything = Vec::with_capacity(changes.len());
        for (i, change) in changes.into_iter().enumerate() {
            let known = targets
                .iter()
                .position(|(name, _)| Arc::ptr_eq(name, &change.object) || *name == change.object);
            let at = known.unwrap_or_else(|| {
                let target = self
                    .change_target(store, &change.object)
                    .map(|(object, target)| {
                        let commit = Arc::new(CommitHeader {
                            object: change.object.clone(),
                            schema: target.0.clone(),
                            origin: origin.to_owned(),
                            transaction_key: transaction_key.clone(),
                            commit_timestamp,
                            commit_number,
                            user: store.user_id.clone(),
                        });
                        (object, target, SlotCache::default(), commit)
                    });
                targets.push((change.object.clone(), target));
                targets.len() - 1
            });
            let Some((_, Some((object, (schema, topic, schema_id), cache, commit)))) =
                targets.get_mut(at)
            else {
                continue;
            };
            let sequence = i32::try_from(i + 1).unwrap_or(i32::MAX);
            let on_delivery = change
                .on_delivery
                .then(|| RecordKey::new(&change.id))
                .flatten();
            let payload = match on_delivery {
                Some(record) => Payload::Created {
                    commit: commit.clone(),
                    record,
                    sequence,
                },
                None => {
                    let header = commit.header(
                        std::slice::from_ref(&change.id),
                        change.change_type,
                        sequence,
                        &change.changed,
                        &change.nulled,
                    );
                    // A CREATE carries every field of the record as stored.
                    let stored = (change.change_type == "CREATE")
                        .then(|| object.records.get(change.id.as_str()))
                        .flatten()
                        .map(|r| &r.fields);
                    let values = stored.unwrap_or(&change.values);
                    match schema.encode_with(&header, values, cache) {
                        Ok(payload) => Payload::Whole(Bytes::from(payload)),
                        Err(_) => continue,
                    }
                }
            };
            let event = Arc::new(BusEvent {
                replay: *next,
                id: EventId::mint(),
                schema_id: schema_id.clone(),
                payload,
            });
            *next += 1;
            match per_topic.iter_mut().find(|(t, _)| Arc::ptr_eq(t, topic)) {
                Some((_, events)) => events.push(event.clone()),
                None => per_topic.push((topic.clone(), vec![event.clone()])),
            }
            everything.push(event);
        }
        let window = self.settings().retention_window;
        for (topic, events) in per_topic {
            topic.append(events, retention);
            if let Some(window) = window {
                topic.expire_older_than(window);
            }
        }
        all.append(everything, retention);
        if let Some(window) = window {
            all.expire_older_than(window);
        }
    }

    /// An object's store, change-event schema, topic and schema id, for its changes.
    fn change_target<'s>(
        &self,
        store: &'s Store,
        object: &str,
    ) -> Option<(&'s ObjectStore, ChangeTarget)> {
        let object = store.object(object).ok()?;
        let schema = self.change_schema(&object.meta).ok()?;
        let topic = self.topic(&change_topic(&object.meta.name))?;
        let id: Arc<str> = Arc::from(schema.schema_id.as_str());
        Some((object, (schema, topic, id)))
    }

    /// Drops events with replay ids below `replay` from every topic, as retention would.
    pub fn expire_before(&self, replay: u64) {
        let topics: Vec<Arc<Topic>> = self
            .topics
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        for t in topics {
            t.expire_before(replay);
        }
    }

    /// Applies the retention window, if one is set, to a topic about to be read.
    pub fn apply_retention(&self, topic: &Topic) {
        if let Some(window) = self.settings().retention_window {
            topic.expire_older_than(window);
        }
    }

    /// Checks a CUSTOM start position: issued, and its successor still retained.
    pub fn check_replay(&self, topic: &Topic, replay: u64) -> Result<(), ReplayProblem> {
        self.apply_retention(topic);
        if replay > self.latest_replay() || replay + 1 < topic.retained_from() {
            return Err(ReplayProblem::Corrupted);
        }
        Ok(())
    }

    pub fn define_managed(
        &self,
        developer_name: &str,
        topic: &str,
        earliest: bool,
        pod: &str,
    ) -> Result<ManagedSubscription, String> {
        let mut managed = lock(&self.managed);
        if managed.iter().any(|m| m.developer_name == developer_name) {
            return Err(format!(
                "managed subscription {developer_name} already exists"
            ));
        }
        // ManagedEventSubscription ids, numbered in order of definition.
        let id = forcelink_wire::RecordId::mint("18x", pod, managed.len() as u64 + 1)
            .map_err(|e| e.to_string())?
            .to_string();
        let m = ManagedSubscription {
            id,
            developer_name: developer_name.to_owned(),
            topic: topic.to_owned(),
            earliest,
            committed: None,
        };
        managed.push(m.clone());
        Ok(m)
    }

    pub fn managed(&self, id: &str, developer_name: &str) -> Option<ManagedSubscription> {
        lock(&self.managed)
            .iter()
            .find(|m| {
                (!id.is_empty() && m.id.eq_ignore_ascii_case(id))
                    || (!developer_name.is_empty() && m.developer_name == developer_name)
            })
            .cloned()
    }

    pub fn commit_managed(&self, id: &str, replay: u64) {
        if let Some(m) = lock(&self.managed).iter_mut().find(|m| m.id == id) {
            m.committed = Some(replay);
        }
    }

    /// The `e01` id REST answers for a published event (not unique on Salesforce either).
    pub fn next_event_record_id(&self, pod: &str) -> String {
        let serial = self.commit_number.fetch_add(1, Ordering::Relaxed);
        forcelink_wire::RecordId::mint("e01", pod, serial)
            .map(|id| id.to_string())
            .unwrap_or_default()
    }

    /// Event counts per topic, for stats.
    pub fn stats(&self) -> Value {
        let topics = self.topics.read().unwrap_or_else(|p| p.into_inner());
        let mut counts = Map::new();
        for (name, t) in topics.iter() {
            counts.insert(name.clone(), Value::from(t.len()));
        }
        serde_json::json!({
            "topics": counts,
            "latest_replay_id": self.latest_replay(),
            "streams_opened": self.streams_opened.load(Ordering::Relaxed),
            "streams_dropped": self.streams_dropped.load(Ordering::Relaxed),
            "events_delivered": self.events_delivered.load(Ordering::Relaxed),
            "publish_requests": self.publish_requests.load(Ordering::Relaxed),
        })
    }
}

/// `/data/AccountChangeEvent`, `/data/Employee__ChangeEvent`.
pub fn change_topic(object: &str) -> String {
    format!("/data/{}", avro::change_event_name(object))
}

/// A random (version 4) UUID.
pub fn uuid() -> String {
    forcelink_wire::uuid_v4(rand::random())
}
