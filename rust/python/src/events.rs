//! `sf.events` in Rust: subscriptions handing over batches of events, Avro payloads decoded
//! straight into Python objects (one decoding plan per schema id), publishing.

use crate::convert::from_python;
use crate::errors::to_pyerr;
use crate::pending::Pending;
use apache_avro::schema::Schema;
use forcelink as sf;
use forcelink::events::{
    Committer, EventSchema, ManagedSubscription, ReceivedEvent, Replay, SubscribeOptions,
    Subscription,
};
use forcelink_wire::ReplayId;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};
use pyo3::IntoPyObjectExt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex as StdMutex, OnceLock};
use tokio::sync::Mutex;

/// How a payload of one schema becomes Python objects; built once per schema id, with the
/// field names as Python strings.
enum Plan {
    Null,
    Boolean,
    Int,
    Float,
    Double,
    Bytes,
    Str,
    Record(Vec<(Py<PyString>, Plan)>),
    Enum(Vec<Py<PyString>>),
    Array(Box<Plan>),
    Map(Box<Plan>),
    Union(Vec<Plan>),
    Fixed(usize),
}

fn plan_of(py: Python<'_>, es: &EventSchema, schema: &Schema, depth: u32) -> PyResult<Plan> {
    if depth > 32 {
        return Err(PyValueError::new_err("the event schema nests too deeply"));
    }
    Ok(match es.resolve(schema) {
        Schema::Null => Plan::Null,
        Schema::Boolean => Plan::Boolean,
        Schema::Int
        | Schema::Long
        | Schema::Date
        | Schema::TimeMillis
        | Schema::TimeMicros
        | Schema::TimestampMillis
        | Schema::TimestampMicros
        | Schema::TimestampNanos
        | Schema::LocalTimestampMillis
        | Schema::LocalTimestampMicros
        | Schema::LocalTimestampNanos => Plan::Int,
        Schema::Float => Plan::Float,
        Schema::Double => Plan::Double,
        Schema::Bytes | Schema::Decimal(_) | Schema::BigDecimal => Plan::Bytes,
        Schema::String | Schema::Uuid => Plan::Str,
        Schema::Record(r) => Plan::Record(
            r.fields
                .iter()
                .map(|f| {
                    Ok((
                        PyString::intern(py, &f.name).unbind(),
                        plan_of(py, es, &f.schema, depth + 1)?,
                    ))
                })
                .collect::<PyResult<_>>()?,
        ),
        Schema::Enum(e) => Plan::Enum(
            e.symbols
                .iter()
                .map(|s| PyString::intern(py, s).unbind())
                .collect(),
        ),
        Schema::Array(a) => Plan::Array(Box::new(plan_of(py, es, &a.items, depth + 1)?)),
        Schema::Map(m) => Plan::Map(Box::new(plan_of(py, es, &m.types, depth + 1)?)),
        Schema::Union(u) => Plan::Union(
            u.variants()
                .iter()
                .map(|v| plan_of(py, es, v, depth + 1))
                .collect::<PyResult<_>>()?,
        ),
        Schema::Fixed(f) => Plan::Fixed(f.size),
        Schema::Duration => Plan::Fixed(12),
        other => {
            return Err(PyValueError::new_err(format!(
                "unsupported Avro type in event schema: {other:?}"
            )))
        }
    })
}

fn plans() -> &'static StdMutex<HashMap<String, Arc<Plan>>> {
    static PLANS: OnceLock<StdMutex<HashMap<String, Arc<Plan>>>> = OnceLock::new();
    PLANS.get_or_init(|| StdMutex::new(HashMap::new()))
}

fn plan_for(py: Python<'_>, schema: &EventSchema) -> PyResult<Arc<Plan>> {
    let mut cache = plans().lock().unwrap_or_else(|p| p.into_inner());
    if let Some(p) = cache.get(&schema.id) {
        return Ok(p.clone());
    }
    let plan = Arc::new(plan_of(py, schema, &schema.schema, 0)?);
    cache.insert(schema.id.clone(), plan.clone());
    Ok(plan)
}

/// Reads Avro binary encoding.
struct Reader<'a> {
    buf: &'a [u8],
}

fn truncated() -> PyErr {
    PyValueError::new_err("the event payload ends early or does not match its schema")
}

impl<'a> Reader<'a> {
    fn long(&mut self) -> PyResult<i64> {
        let mut value: u64 = 0;
        let mut shift = 0;
        loop {
            let (&byte, rest) = self.buf.split_first().ok_or_else(truncated)?;
            self.buf = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift > 63 {
                return Err(truncated());
            }
        }
        Ok((value >> 1) as i64 ^ -((value & 1) as i64))
    }

    fn take(&mut self, n: usize) -> PyResult<&'a [u8]> {
        if self.buf.len() < n {
            return Err(truncated());
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn len(&mut self) -> PyResult<usize> {
        usize::try_from(self.long()?).map_err(|_| truncated())
    }

    /// Arrays and maps come in blocks: a count (negative: followed by the block's byte size),
    /// the items, and a zero count at the end.
    fn blocks(&mut self, mut item: impl FnMut(&mut Self) -> PyResult<()>) -> PyResult<()> {
        loop {
            let count = self.long()?;
            if count == 0 {
                return Ok(());
            }
            if count < 0 {
                self.long()?;
            }
            // Every item takes at least a byte but for null-like ones: a count past the bytes
            // left is a corrupt payload, not a reason to build billions of Nones.
            if count.unsigned_abs() > self.buf.len() as u64 {
                return Err(truncated());
            }
            for _ in 0..count.unsigned_abs() {
                item(self)?;
            }
        }
    }

    fn value<'py>(&mut self, py: Python<'py>, plan: &Plan) -> PyResult<Bound<'py, PyAny>> {
        Ok(match plan {
            Plan::Null => py.None().into_bound(py),
            Plan::Boolean => {
                let b = self.take(1)?;
                pyo3::types::PyBool::new(py, b[0] != 0)
                    .to_owned()
                    .into_any()
            }
            Plan::Int => self.long()?.into_pyobject(py)?.into_any(),
            Plan::Float => {
                let b: [u8; 4] = self.take(4)?.try_into().map_err(|_| truncated())?;
                f64::from(f32::from_le_bytes(b))
                    .into_pyobject(py)?
                    .into_any()
            }
            Plan::Double => {
                let b: [u8; 8] = self.take(8)?.try_into().map_err(|_| truncated())?;
                f64::from_le_bytes(b).into_pyobject(py)?.into_any()
            }
            Plan::Bytes => {
                let n = self.len()?;
                PyBytes::new(py, self.take(n)?).into_any()
            }
            Plan::Str => {
                let n = self.len()?;
                let text = std::str::from_utf8(self.take(n)?).map_err(|_| truncated())?;
                PyString::new(py, text).into_any()
            }
            Plan::Record(fields) => {
                let dict = PyDict::new(py);
                for (name, field) in fields {
                    dict.set_item(name.bind(py), self.value(py, field)?)?;
                }
                dict.into_any()
            }
            Plan::Enum(symbols) => {
                let i = self.len()?;
                symbols
                    .get(i)
                    .ok_or_else(truncated)?
                    .bind(py)
                    .clone()
                    .into_any()
            }
            Plan::Array(items) => {
                let list = PyList::empty(py);
                self.blocks(|r| list.append(r.value(py, items)?))?;
                list.into_any()
            }
            Plan::Map(values) => {
                let dict = PyDict::new(py);
                self.blocks(|r| {
                    let n = r.len()?;
                    let key = std::str::from_utf8(r.take(n)?).map_err(|_| truncated())?;
                    dict.set_item(PyString::new(py, key), r.value(py, values)?)
                })?;
                dict.into_any()
            }
            Plan::Union(variants) => {
                let i = self.len()?;
                let variant = variants.get(i).ok_or_else(truncated)?;
                self.value(py, variant)?
            }
            Plan::Fixed(n) => PyBytes::new(py, self.take(*n)?).into_any(),
        })
    }
}

/// Decodes a payload with its writer schema.
fn decode<'py>(
    py: Python<'py>,
    schema: &EventSchema,
    payload: &[u8],
) -> PyResult<Bound<'py, PyAny>> {
    let plan = plan_for(py, schema)?;
    let mut reader = Reader { buf: payload };
    let value = reader.value(py, &plan)?;
    if !reader.buf.is_empty() {
        return Err(truncated());
    }
    Ok(value)
}

/// A delivered event.
#[pyclass(module = "forcelink._core", subclass, frozen)]
pub struct Event {
    replay: u64,
    event_id: String,
    schema_id: String,
    /// The decoded payload, or the `EventDecodeError` saying why it could not be decoded.
    payload: Result<PyObject, PyObject>,
    raw: Vec<u8>,
}

#[pymethods]
impl Event {
    /// The 8-byte replay id, to store and resume from.
    #[getter]
    fn replay_id<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.replay.to_be_bytes())
    }

    /// The replay id as an integer (its big-endian value).
    #[getter]
    fn replay_id_int(&self) -> u64 {
        self.replay
    }

    #[getter]
    fn event_id(&self) -> &str {
        &self.event_id
    }

    #[getter]
    fn schema_id(&self) -> &str {
        &self.schema_id
    }

    /// The decoded payload; raises the event's `EventDecodeError` when it could not be decoded.
    #[getter]
    fn payload(&self, py: Python<'_>) -> PyResult<PyObject> {
        match &self.payload {
            Ok(payload) => Ok(payload.clone_ref(py)),
            Err(error) => Err(PyErr::from_value(error.bind(py).clone())),
        }
    }

    /// Why the payload could not be decoded (an `EventDecodeError`), or None.
    #[getter]
    fn decode_error(&self, py: Python<'_>) -> Option<PyObject> {
        self.payload.as_ref().err().map(|e| e.clone_ref(py))
    }

    /// The Avro-encoded payload as received.
    #[getter]
    fn raw<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.raw)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        crate::convert::py_repr(
            py,
            "Event",
            vec![
                ("replay_id", self.replay.into_bound_py_any(py)),
                ("schema_id", self.schema_id.clone().into_bound_py_any(py)),
                ("event_id", self.event_id.clone().into_bound_py_any(py)),
            ],
        )
    }
}

/// A change event's header; bitmap fields expanded to names (`BillingAddress.City`).
#[pyclass(module = "forcelink._core", frozen, get_all)]
pub struct ChangeEventHeader {
    entity_name: String,
    record_ids: Vec<String>,
    change_type: String,
    change_origin: String,
    transaction_key: String,
    sequence_number: i64,
    commit_timestamp: i64,
    commit_number: i64,
    commit_user: String,
    changed_fields: Vec<String>,
    nulled_fields: Vec<String>,
    diff_fields: Vec<String>,
}

#[pymethods]
impl ChangeEventHeader {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        header_repr(py, "ChangeEventHeader", self)
    }
}

/// A Change Data Capture event.
#[pyclass(module = "forcelink._core", extends = Event, frozen)]
pub struct ChangeEvent {
    header: Py<ChangeEventHeader>,
}

#[pymethods]
impl ChangeEvent {
    #[getter]
    fn header(&self, py: Python<'_>) -> Py<ChangeEventHeader> {
        self.header.clone_ref(py)
    }

    #[getter]
    fn changed_fields(&self) -> Vec<String> {
        self.header.get().changed_fields.clone()
    }

    #[getter]
    fn nulled_fields(&self) -> Vec<String> {
        self.header.get().nulled_fields.clone()
    }

    #[getter]
    fn diff_fields(&self) -> Vec<String> {
        self.header.get().diff_fields.clone()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        header_repr(py, "ChangeEvent", self.header.get())
    }
}

fn header_repr(py: Python<'_>, name: &str, h: &ChangeEventHeader) -> PyResult<String> {
    crate::convert::py_repr(
        py,
        name,
        vec![
            ("entity_name", h.entity_name.clone().into_bound_py_any(py)),
            ("change_type", h.change_type.clone().into_bound_py_any(py)),
            ("record_ids", h.record_ids.clone().into_bound_py_any(py)),
            (
                "changed_fields",
                h.changed_fields.clone().into_bound_py_any(py),
            ),
        ],
    )
}

impl From<sf::events::ChangeEventHeader> for ChangeEventHeader {
    fn from(h: sf::events::ChangeEventHeader) -> Self {
        Self {
            entity_name: h.entity_name,
            record_ids: h.record_ids,
            change_type: h.change_type,
            change_origin: h.change_origin,
            transaction_key: h.transaction_key,
            sequence_number: h.sequence_number,
            commit_timestamp: h.commit_timestamp,
            commit_number: h.commit_number,
            commit_user: h.commit_user,
            changed_fields: h.changed_fields,
            nulled_fields: h.nulled_fields,
            diff_fields: h.diff_fields,
        }
    }
}

fn to_event(py: Python<'_>, e: ReceivedEvent) -> PyResult<PyObject> {
    let decoded = decode(py, &e.schema, &e.payload)
        .and_then(|payload| Ok((payload, e.change_header().map_err(to_pyerr)?)));
    let (payload, header) = match decoded {
        Ok((payload, header)) => (Ok(payload.unbind()), header),
        // One event that cannot be decoded does not cost the others of its batch: it is handed
        // over with its error, replay id and raw bytes.
        Err(cause) => (Err(decode_error(py, &e, &cause)?), None),
    };
    let base = Event {
        replay: e.replay_id.0,
        event_id: e.event_id,
        schema_id: e.schema.id.clone(),
        payload,
        raw: e.payload,
    };
    Ok(match header {
        None => Py::new(py, base)?.into_any(),
        Some(h) => {
            let init = PyClassInitializer::from(base).add_subclass(ChangeEvent {
                header: Py::new(py, ChangeEventHeader::from(h))?,
            });
            Py::new(py, init)?.into_any()
        }
    })
}

/// A `forcelink.errors.EventDecodeError` for an event whose payload could not be decoded.
#[cold]
fn decode_error(py: Python<'_>, e: &ReceivedEvent, cause: &PyErr) -> PyResult<PyObject> {
    let message = format!(
        "event {} (schema {}) cannot be decoded: {}",
        e.replay_id.0,
        e.schema.id,
        cause.value(py)
    );
    let kwargs = PyDict::new(py);
    kwargs.set_item("schema_id", &e.schema.id)?;
    kwargs.set_item("replay_id", PyBytes::new(py, &e.replay_id.to_bytes()))?;
    kwargs.set_item("event_id", &e.event_id)?;
    kwargs.set_item("raw", PyBytes::new(py, &e.payload))?;
    let class = py.import("forcelink.errors")?.getattr("EventDecodeError")?;
    Ok(class.call((message,), Some(&kwargs))?.unbind())
}

/// Events of one delivery, turned into Python objects on the caller's thread.
#[pyclass(module = "forcelink._core", frozen)]
pub struct EventBatch {
    events: StdMutex<Vec<ReceivedEvent>>,
}

#[pymethods]
impl EventBatch {
    /// The events as `Event` / `ChangeEvent` objects (once: the batch is emptied).
    fn events<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let events = std::mem::take(&mut *self.events.lock().unwrap_or_else(|p| p.into_inner()));
        let list = PyList::empty(py);
        for e in events {
            list.append(to_event(py, e)?)?;
        }
        Ok(list)
    }

    /// The batch's replay ids alone (8 bytes each), its events not decoded: for a consumer
    /// that only tracks positions. Takes the events, as `events()` does.
    fn replay_ids<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let events = std::mem::take(&mut *self.events.lock().unwrap_or_else(|p| p.into_inner()));
        let list = PyList::empty(py);
        for e in events {
            list.append(PyBytes::new(py, &e.replay_id.to_bytes()))?;
        }
        Ok(list)
    }

    fn __len__(&self) -> usize {
        self.events.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

enum Stream {
    Plain(Subscription),
    Managed(ManagedSubscription),
}

impl Stream {
    fn get(&mut self) -> &mut Subscription {
        match self {
            Stream::Plain(s) => s,
            Stream::Managed(m) => m,
        }
    }
}

/// A running subscription (plain or managed).
#[pyclass(module = "forcelink._core", frozen)]
pub struct SubscriptionCore {
    stream: Arc<Mutex<Stream>>,
    committer: Option<Committer>,
    /// Stops the subscription's task even while a reader holds the stream.
    abort: tokio::task::AbortHandle,
}

#[pymethods]
impl SubscriptionCore {
    /// The next events, or None once the subscription is closed; with `timeout` (seconds), an
    /// empty batch when none came in that time (the subscription goes on).
    #[pyo3(signature = (timeout = None))]
    fn next_batch(&self, timeout: Option<f64>) -> PyResult<Pending> {
        let limit = timeout
            .map(|secs| {
                std::time::Duration::try_from_secs_f64(secs).map_err(|_| {
                    pyo3::exceptions::PyValueError::new_err(format!(
                        "timeout must be a non-negative number of seconds, got {secs}"
                    ))
                })
            })
            .transpose()?;
        let stream = self.stream.clone();
        Ok(Pending::new(async move {
            let mut stream = stream.lock().await;
            let next = stream.get().next_batch();
            // Receiving is cancel-safe: a batch that comes after the limit waits for the next call.
            let batch = match limit {
                Some(limit) => match tokio::time::timeout(limit, next).await {
                    Ok(batch) => batch,
                    Err(_idle) => Some(Ok(Vec::new())),
                },
                None => next.await,
            };
            match batch {
                None => Ok(None),
                Some(Ok(events)) => Ok(Some(EventBatch {
                    events: StdMutex::new(events),
                })),
                Some(Err(e)) => Err(e),
            }
        }))
    }

    /// Stores a managed subscription's position (after the events up to it were handled).
    fn commit(&self, replay_id: &Bound<'_, PyAny>) -> PyResult<Pending> {
        let replay = replay_of(replay_id)?;
        let committer = self
            .committer
            .clone()
            .ok_or_else(|| PyTypeError::new_err("only a managed subscription commits"))?;
        Ok(Pending::new(async move { committer.commit(replay).await }))
    }

    /// Ends the subscription; a waiting `next_batch` (in any thread) returns None.
    fn close(&self) {
        self.abort.abort();
    }
}

fn replay_of(value: &Bound<'_, PyAny>) -> PyResult<ReplayId> {
    if let Ok(bytes) = value.downcast::<PyBytes>() {
        return ReplayId::from_bytes(bytes.as_bytes()).map_err(|e| {
            to_pyerr(sf::Error::ReplayId {
                error_code: "client.replayid.length".into(),
                message: e.to_string(),
            })
        });
    }
    if let Ok(n) = value.extract::<u64>() {
        return Ok(ReplayId(n));
    }
    Err(PyTypeError::new_err(
        "a replay id is the event's 8 bytes (event.replay_id) or an int",
    ))
}

fn replay_arg(value: &Bound<'_, PyAny>) -> PyResult<Replay> {
    if let Ok(text) = value.extract::<String>() {
        return match text.to_ascii_lowercase().as_str() {
            "latest" => Ok(Replay::Latest),
            "earliest" => Ok(Replay::Earliest),
            other => Err(PyValueError::new_err(format!(
                "replay must be 'latest', 'earliest' or a replay id, not {other:?}"
            ))),
        };
    }
    replay_of(value).map(Replay::After)
}

fn topic_dict(py: Python<'_>, t: &sf::events::Topic) -> PyResult<PyObject> {
    let d = PyDict::new(py);
    d.set_item("topic_name", &t.name)?;
    d.set_item("tenant_guid", &t.tenant_guid)?;
    d.set_item("can_publish", t.can_publish)?;
    d.set_item("can_subscribe", t.can_subscribe)?;
    d.set_item("schema_id", &t.schema_id)?;
    Ok(d.into_any().unbind())
}

/// Publish outcomes as dicts.
struct Outcomes(Vec<sf::events::PublishOutcome>);

impl<'py> IntoPyObject<'py> for Outcomes {
    type Target = PyList;
    type Output = Bound<'py, PyList>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        let list = PyList::empty(py);
        for o in self.0 {
            let d = PyDict::new(py);
            d.set_item(
                "replay_id",
                o.replay_id.map(|r| PyBytes::new(py, &r.0.to_be_bytes())),
            )?;
            d.set_item("error", o.error)?;
            d.set_item("correlation_key", o.correlation_key)?;
            list.append(d)?;
        }
        Ok(list)
    }
}

/// A PublishStream.
#[pyclass(module = "forcelink._core", frozen)]
pub struct PublishStreamCore {
    stream: Arc<Mutex<sf::events::PublishStream>>,
}

#[pymethods]
impl PublishStreamCore {
    fn publish(&self, payloads: &Bound<'_, PyAny>) -> PyResult<Pending> {
        let payloads = payload_list(payloads)?;
        let stream = self.stream.clone();
        Ok(Pending::new(async move {
            stream.lock().await.publish(&payloads).await.map(Outcomes)
        }))
    }
}

fn payload_list(payloads: &Bound<'_, PyAny>) -> PyResult<Vec<serde_json::Value>> {
    payloads.try_iter()?.map(|p| from_python(&p?)).collect()
}

/// `sf.events` in Rust.
#[pyclass(module = "forcelink._core", frozen)]
pub struct EventsCore {
    client: sf::Client,
}

impl EventsCore {
    pub fn new(client: sf::Client) -> Self {
        Self { client }
    }
}

#[pymethods]
impl EventsCore {
    /// Unset options keep the engine's defaults (`events_defaults()`).
    #[pyo3(signature = (topic, *, replay, batch_size = None, max_retries = None, backoff = None))]
    fn subscribe(
        &self,
        topic: String,
        replay: &Bound<'_, PyAny>,
        batch_size: Option<u32>,
        max_retries: Option<u32>,
        backoff: Option<f64>,
    ) -> PyResult<Pending> {
        let mut options = SubscribeOptions::new(replay_arg(replay)?);
        options.batch_size = batch_size.unwrap_or(options.batch_size);
        options.max_retries = max_retries.unwrap_or(options.max_retries);
        if let Some(backoff) = backoff {
            options.backoff = forcelink::config::checked_seconds("backoff", backoff, true)
                .map_err(PyValueError::new_err)?;
        }
        // Bad input fails here, before anything is sent.
        sf::events::check_topic(&topic).map_err(to_pyerr)?;
        options.check().map_err(to_pyerr)?;
        let events = self.client.events();
        Ok(Pending::new(async move {
            let sub = events.subscribe(&topic, options).await?;
            Ok(SubscriptionCore {
                abort: sub.abort_handle(),
                stream: Arc::new(Mutex::new(Stream::Plain(sub))),
                committer: None,
            })
        }))
    }

    #[pyo3(signature = (subscription, *, batch_size = None))]
    fn managed_subscribe(&self, subscription: String, batch_size: Option<u32>) -> Pending {
        let batch_size =
            batch_size.unwrap_or(SubscribeOptions::new(sf::events::Replay::Latest).batch_size);
        let events = self.client.events();
        Pending::new(async move {
            let sub = events.managed_subscribe(&subscription, batch_size).await?;
            let committer = Some(sub.committer());
            Ok(SubscriptionCore {
                abort: sub.abort_handle(),
                stream: Arc::new(Mutex::new(Stream::Managed(sub))),
                committer,
            })
        })
    }

    fn publish(&self, event: String, payload: &Bound<'_, PyAny>) -> PyResult<Pending> {
        let payload = from_python(payload)?;
        let events = self.client.events();
        Ok(Pending::new(async move {
            let published = events.publish(&event, &payload).await?;
            Ok((published.id, published.event_uuid))
        }))
    }

    fn publish_batch(&self, event: String, payloads: &Bound<'_, PyAny>) -> PyResult<Pending> {
        let payloads = payload_list(payloads)?;
        let events = self.client.events();
        Ok(Pending::new(async move {
            events.publish_batch(&event, &payloads).await.map(Outcomes)
        }))
    }

    fn publish_stream(&self, event: String) -> Pending {
        let events = self.client.events();
        Pending::new(async move {
            let stream = events.publish_stream(&event).await?;
            Ok(PublishStreamCore {
                stream: Arc::new(Mutex::new(stream)),
            })
        })
    }

    fn get_topic(&self, topic: String) -> Pending {
        let events = self.client.events();
        Pending::new(async move { events.get_topic(&topic).await.map(TopicOut) })
    }

    #[pyo3(signature = (event_or_schema_id, *, compact = false))]
    fn event_schema(&self, event_or_schema_id: String, compact: bool) -> Pending {
        let events = self.client.events();
        Pending::new(async move {
            events
                .event_schema(&event_or_schema_id, compact)
                .await
                .map(crate::convert::Json)
        })
    }

    fn get_schema(&self, schema_id: String) -> Pending {
        let events = self.client.events();
        Pending::new(async move {
            let s = events.get_schema(&schema_id).await?;
            Ok((s.id.clone(), s.json.clone()))
        })
    }
}

struct TopicOut(sf::events::Topic);

impl<'py> IntoPyObject<'py> for TopicOut {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        topic_dict(py, &self.0).map(|o| o.into_bound(py))
    }
}

/// Decodes `payload` with a schema the way subscriptions do: for the fuzz tests, which feed it
/// hostile payloads without a Pub/Sub round trip.
#[pyfunction]
pub fn _decode_event_payload<'py>(
    py: Python<'py>,
    schema_id: &str,
    schema_json: &str,
    payload: &[u8],
) -> PyResult<Bound<'py, PyAny>> {
    let schema = EventSchema::parse(schema_id, schema_json).map_err(to_pyerr)?;
    decode(py, &schema, payload)
}

/// The engine's subscription defaults and limit, for the Python signatures to read rather than
/// repeat.
#[pyfunction]
pub fn events_defaults() -> std::collections::HashMap<&'static str, f64> {
    let options = SubscribeOptions::new(sf::events::Replay::Latest);
    std::collections::HashMap::from([
        ("batch_size", f64::from(options.batch_size)),
        ("max_batch_size", f64::from(sf::events::MAX_BATCH_SIZE)),
        ("max_retries", f64::from(options.max_retries)),
        ("backoff", options.backoff.as_secs_f64()),
    ])
}
