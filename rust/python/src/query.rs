//! Queries for Python: pages as typed results, a record stream fed page by page, and
//! format_soql with Python values.

use crate::convert::scoped;
use crate::convert::{untrack_flat_records, Json, PausedCollector};
use crate::errors::to_pyerr;
use crate::pending::Pending;
use forcelink as sf;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{
    PyBool, PyDate, PyDateTime, PyDict, PyFloat, PyFrozenSet, PyInt, PyList, PySet, PyString,
    PyTuple,
};
use pyo3::IntoPyObjectExt;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Mutex;

/// `orjson.loads`, looked up once: it builds dicts from JSON about twice as fast as a serde
/// visitor calling the C API per value (measured on 2,000-record query pages).
static ORJSON_LOADS: GILOnceCell<Py<PyAny>> = GILOnceCell::new();

/// The records of a query page's JSON body, as Python dicts.
pub fn records_of_page<'py>(py: Python<'py>, body: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let loads = ORJSON_LOADS.get_or_try_init(py, || {
        py.import("orjson")?.getattr("loads").map(Bound::unbind)
    })?;
    let collector = PausedCollector::pause(py);
    let view = borrowed_view(py, body)?;
    let page = loads.bind(py).call1((&view,));
    // orjson keeps no reference to its input; released, the view can no longer reach `body`
    // even if something held on to it.
    view.call_method0("release")?;
    let page = page.map_err(|e| unexpected_page(format!("cannot read the query page: {e}")))?;
    let records = page
        .downcast::<PyDict>()
        .ok()
        .and_then(|page| page.get_item("records").ok().flatten())
        .ok_or_else(|| unexpected_page("the query page has no records".into()))?;
    let list = records.downcast::<PyList>().map_err(|_| {
        unexpected_page(format!(
            "the query page's records are not a list but {}",
            records
                .get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })?;
    untrack_flat_records(list);
    drop(collector);
    Ok(records)
}

/// `PyBUF_READ` of CPython's memoryobject.h (stable ABI; pyo3's ffi does not name it).
const PYBUF_READ: std::ffi::c_int = 0x100;

/// A read-only `memoryview` over `body`, without copying it (a page is ~700 kB: a copy costs an
/// allocation and a memcpy per page). The caller releases it before `body` is dropped.
fn borrowed_view<'py>(py: Python<'py>, body: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let len = ffi::Py_ssize_t::try_from(body.len())
        .map_err(|_| unexpected_page("the query page is too large".into()))?;
    // SAFETY: the GIL is held; the view is read-only (PyBUF_READ) and is released by the caller
    // while `body` is still borrowed, so it never outlives the memory it points at.
    unsafe {
        let view =
            ffi::PyMemoryView_FromMemory(body.as_ptr() as *mut std::ffi::c_char, len, PYBUF_READ);
        Bound::from_owned_ptr_or_err(py, view)
    }
}

#[cold]
fn unexpected_page(message: String) -> PyErr {
    to_pyerr(forcelink::Error::UnexpectedResponse {
        status: 200,
        message,
    })
}

/// One page of a query's answer.
#[pyclass(module = "forcelink", frozen, get_all)]
pub struct QueryPage {
    /// This page's records, as dicts.
    pub records: Py<PyList>,
    /// The number of records the whole query matches.
    pub total_size: u64,
    /// True when this is the last page.
    pub done: bool,
    /// The locator of the next page (None on the last), for `query_more`.
    pub next_records_url: Option<String>,
}

#[pymethods]
impl QueryPage {
    #[new]
    #[pyo3(signature = (records, total_size, done, next_records_url = None))]
    fn new(
        records: Py<PyList>,
        total_size: u64,
        done: bool,
        next_records_url: Option<String>,
    ) -> Self {
        Self {
            records,
            total_size,
            done,
            next_records_url,
        }
    }

    /// Pickling: the constructor's arguments.
    fn __getnewargs__(&self, py: Python<'_>) -> (Py<PyList>, u64, bool, Option<String>) {
        (
            self.records.clone_ref(py),
            self.total_size,
            self.done,
            self.next_records_url.clone(),
        )
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        crate::convert::py_repr(
            py,
            "QueryPage",
            vec![
                ("records", self.records.bind(py).len().into_bound_py_any(py)),
                ("total_size", self.total_size.into_bound_py_any(py)),
                ("done", self.done.into_bound_py_any(py)),
                (
                    "next_records_url",
                    self.next_records_url.clone().into_bound_py_any(py),
                ),
            ],
        )
    }

    fn __len__(&self, py: Python<'_>) -> usize {
        self.records.bind(py).len()
    }

    /// `page[i]`, a record; or `page["records"]`, `["totalSize"]`, `["done"]`,
    /// `["nextRecordsUrl"]`: the keys of Salesforce's JSON answer (and of simple-salesforce's
    /// dict), beside the attributes.
    fn __getitem__<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if let Ok(name) = key.extract::<&str>() {
            return match name {
                "records" => Ok(self.records.bind(py).clone().into_any()),
                "totalSize" => self.total_size.into_bound_py_any(py),
                "done" => self.done.into_bound_py_any(py),
                "nextRecordsUrl" => self.next_records_url.clone().into_bound_py_any(py),
                _ => Err(pyo3::exceptions::PyKeyError::new_err(format!(
                    "{name:?}: a QueryPage has records, totalSize, done and nextRecordsUrl \
                     (also as attributes: records, total_size, done, next_records_url)"
                ))),
            };
        }
        self.records.bind(py).as_any().get_item(key)
    }

    /// The page's records, in order.
    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.records
            .bind(py)
            .as_any()
            .try_iter()
            .map(Bound::into_any)
    }
}

/// Every page of a query as one: the records of all of them, done, no next URL.
pub struct AllPagesOut(Vec<sf::RawPage>);

impl<'py> IntoPyObject<'py> for AllPagesOut {
    type Target = QueryPage;
    type Output = Bound<'py, QueryPage>;
    type Error = PyErr;
    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        let records = PyList::empty(py);
        for page in &self.0 {
            for record in records_of_page(py, &page.body)?.try_iter()? {
                records.append(record?)?;
            }
        }
        let total_size = self.0.first().map_or(0, |p| p.total_size);
        Bound::new(
            py,
            QueryPage {
                records: records.unbind(),
                total_size,
                done: true,
                next_records_url: None,
            },
        )
    }
}

pub struct PageOut(sf::RawPage);

impl<'py> IntoPyObject<'py> for PageOut {
    type Target = QueryPage;
    type Output = Bound<'py, QueryPage>;
    type Error = PyErr;
    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        let p = self.0;
        let records = records_of_page(py, &p.body)?.downcast_into::<PyList>()?;
        Bound::new(
            py,
            QueryPage {
                records: records.unbind(),
                total_size: p.total_size,
                done: p.done,
                next_records_url: p.next_records_url,
            },
        )
    }
}

/// One page of a stream, its records still JSON: they become dicts when `records()` is called,
/// on the caller's thread, so runtime threads stay free for the network.
#[pyclass(module = "forcelink._core", frozen)]
pub struct StreamPage {
    page: sf::RawPage,
}

#[pymethods]
impl StreamPage {
    /// The page's records as dicts.
    fn records<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        records_of_page(py, &self.page.body)
    }

    #[getter]
    fn total_size(&self) -> u64 {
        self.page.total_size
    }
}

/// The next stream page, or None after the last.
pub struct StreamPageOut(Option<sf::RawPage>);

impl<'py> IntoPyObject<'py> for StreamPageOut {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;
    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        match self.0 {
            Some(page) => Ok(Bound::new(py, StreamPage { page })?.into_any()),
            None => Ok(py.None().into_bound(py)),
        }
    }
}

fn options(batch_size: Option<u32>, include_deleted: bool) -> sf::QueryOptions {
    sf::QueryOptions {
        batch_size,
        include_deleted,
    }
}

#[pyclass(module = "forcelink._core", frozen)]
pub struct QueryCore {
    client: sf::Client,
}

impl QueryCore {
    pub fn new(client: sf::Client) -> Self {
        Self { client }
    }
}

#[pymethods]
impl QueryCore {
    /// This service on a handle that sends `timeout` and `headers` with each request.
    #[pyo3(signature = (timeout = None, headers = Vec::new()))]
    fn with_options(&self, timeout: Option<f64>, headers: Vec<(String, String)>) -> PyResult<Self> {
        scoped(&self.client, timeout, &headers)
            .map(Self::new)
            .map_err(to_pyerr)
    }

    /// Every record of every page, in one page.
    #[pyo3(signature = (soql, *, batch_size = None, include_deleted = false))]
    fn query_all(&self, soql: String, batch_size: Option<u32>, include_deleted: bool) -> Pending {
        let client = self.client.clone();
        Pending::new(async move {
            client
                .query()
                .query_all_raw(&soql, options(batch_size, include_deleted))
                .await
                .map(AllPagesOut)
        })
    }

    #[pyo3(signature = (soql, *, batch_size = None, include_deleted = false))]
    fn query(&self, soql: String, batch_size: Option<u32>, include_deleted: bool) -> Pending {
        let c = self.client.clone();
        Pending::new(async move {
            c.query()
                .query_raw(&soql, options(batch_size, include_deleted))
                .await
                .map(PageOut)
        })
    }

    /// Every record as Arrow record batches, typed from describe.
    #[pyo3(signature = (soql, *, batch_size = None, include_deleted = false))]
    fn to_arrow(&self, soql: String, batch_size: Option<u32>, include_deleted: bool) -> Pending {
        let c = self.client.clone();
        Pending::new(async move {
            c.query()
                .to_arrow(&soql, options(batch_size, include_deleted))
                .await
                .map(crate::frames::ArrowFrame::new)
        })
    }

    fn query_more(&self, next_records_url: String) -> Pending {
        let c = self.client.clone();
        Pending::new(async move {
            c.query()
                .query_more_raw(&next_records_url)
                .await
                .map(PageOut)
        })
    }

    fn explain(&self, soql: String) -> Pending {
        let c = self.client.clone();
        Pending::new(async move {
            c.query()
                .explain(&soql)
                .await
                .map(|m| Json(serde_json::Value::Object(m)))
        })
    }

    #[pyo3(signature = (soql, *, batch_size = None, include_deleted = false))]
    fn stream(&self, soql: String, batch_size: Option<u32>, include_deleted: bool) -> RecordStream {
        let pager = self
            .client
            .query()
            .pages(&soql, options(batch_size, include_deleted));
        RecordStream {
            pager: Arc::new(Mutex::new(pager)),
        }
    }
}

/// Every record of a query, page by page; the next page is fetched while one is consumed.
#[pyclass(module = "forcelink._core", frozen)]
pub struct RecordStream {
    pager: Arc<Mutex<sf::QueryPager>>,
}

#[pymethods]
impl RecordStream {
    /// The next page's records, or None after the last.
    fn next_page(&self) -> Pending {
        let pager = self.pager.clone();
        Pending::new(async move {
            let mut pager = pager.lock().await;
            pager.next_raw_page().await.map(StreamPageOut)
        })
    }
}

/// A Python value as a SOQL literal.
fn soql_value(obj: &Bound<'_, PyAny>) -> PyResult<sf::SoqlValue> {
    soql_value_in(obj, false)
}

/// `nested`: the value is an item of a list.
fn soql_value_in(obj: &Bound<'_, PyAny>, nested: bool) -> PyResult<sf::SoqlValue> {
    if obj.is_none() {
        return Ok(sf::SoqlValue::Null);
    }
    if let Ok(b) = obj.downcast::<PyBool>() {
        return Ok(sf::SoqlValue::Bool(b.is_true()));
    }
    if let Ok(i) = obj.downcast::<PyInt>() {
        return Ok(sf::SoqlValue::Int(i.extract().map_err(|_| {
            PyValueError::new_err("integer out of range for SOQL")
        })?));
    }
    if let Ok(f) = obj.downcast::<PyFloat>() {
        return Ok(sf::SoqlValue::Float(f.value()));
    }
    if let Ok(s) = obj.downcast::<PyString>() {
        return Ok(sf::SoqlValue::Str(s.to_str()?.to_owned()));
    }
    if obj.downcast::<PyDateTime>().is_ok() {
        let py = obj.py();
        let utc = py.import("datetime")?.getattr("timezone")?.getattr("utc")?;
        let aware = if obj.getattr("tzinfo")?.is_none() {
            let kwargs = PyDict::new(py);
            kwargs.set_item("tzinfo", &utc)?;
            obj.call_method("replace", (), Some(&kwargs))?
        } else {
            obj.call_method1("astimezone", (&utc,))?
        };
        let text: String = aware
            .call_method1("strftime", ("%Y-%m-%dT%H:%M:%SZ",))?
            .extract()?;
        return Ok(sf::SoqlValue::DateTime(text));
    }
    if obj.downcast::<PyDate>().is_ok() {
        return Ok(sf::SoqlValue::Date(
            obj.call_method0("isoformat")?.extract()?,
        ));
    }
    if obj
        .get_type()
        .name()
        .map(|n| n == "Decimal")
        .unwrap_or(false)
    {
        let text: String = obj.str()?.extract()?;
        if text.parse::<f64>().map(f64::is_finite).unwrap_or(false) {
            return Ok(sf::SoqlValue::Decimal(text));
        }
        return Err(PyValueError::new_err(format!(
            "Decimal {text} has no SOQL form"
        )));
    }
    let is_collection = obj.downcast::<PyList>().is_ok()
        || obj.downcast::<PyTuple>().is_ok()
        || obj.downcast::<PySet>().is_ok()
        || obj.downcast::<PyFrozenSet>().is_ok();
    if is_collection {
        if nested {
            // SOQL has no list of lists; refusing one here also stops a list that contains
            // itself from recursing forever.
            return Err(PyValueError::new_err(
                "a list inside a list has no SOQL form (IN takes one list of values)",
            ));
        }
        let items = obj
            .try_iter()?
            .map(|item| soql_value_in(&item?, true))
            .collect::<PyResult<Vec<_>>>()?;
        return Ok(sf::SoqlValue::List(items));
    }
    let name = obj
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_default();
    Err(PyTypeError::new_err(format!("cannot put a {name} into SOQL; use str, int, float, bool, None, date, datetime, Decimal or a list of those")))
}

/// Fills `{}` and `{name}` in `template` with quoted, escaped values.
#[pyfunction]
#[pyo3(signature = (template, args, kwargs))]
pub fn format_soql(
    template: &str,
    args: &Bound<'_, PyTuple>,
    kwargs: &Bound<'_, PyDict>,
) -> PyResult<String> {
    let (positional, named) = template_values(args, kwargs)?;
    sf::format_soql(template, &positional, &named).map_err(to_pyerr)
}

/// A SOSL search with each placeholder an escaped search term.
#[pyfunction]
pub fn format_sosl(
    template: &str,
    args: &Bound<'_, PyTuple>,
    kwargs: &Bound<'_, PyDict>,
) -> PyResult<String> {
    let (positional, named) = template_values(args, kwargs)?;
    sf::format_sosl(template, &positional, &named).map_err(to_pyerr)
}

type TemplateValues = (Vec<sf::SoqlValue>, HashMap<String, sf::SoqlValue>);

fn template_values(
    args: &Bound<'_, PyTuple>,
    kwargs: &Bound<'_, PyDict>,
) -> PyResult<TemplateValues> {
    let positional = args
        .iter()
        .map(|a| soql_value(&a))
        .collect::<PyResult<Vec<_>>>()?;
    let mut named = HashMap::with_capacity(kwargs.len());
    for (k, v) in kwargs.iter() {
        named.insert(k.extract::<String>()?, soql_value(&v)?);
    }
    Ok((positional, named))
}
