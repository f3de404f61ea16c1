//! JSON values to Python objects and back, built once at the edge.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyBytes, PyDate, PyDateTime, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple,
};
use pyo3::IntoPyObjectExt;
use serde_json::{Map, Number, Value};

/// A JSON value handed to Python as dicts, lists, str, int, float, bool and None.
pub struct Json(pub Value);

impl<'py> IntoPyObject<'py> for Json {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        to_python(py, &self.0)
    }
}

/// Python strings for keys seen before: records of one page repeat the same field names, so
/// each name becomes a Python string once per page instead of once per record.
#[derive(Default)]
pub struct KeyCache<'py> {
    keys: std::collections::HashMap<String, Bound<'py, PyString>>,
}

impl<'py> KeyCache<'py> {
    pub fn key(&mut self, py: Python<'py>, name: &str) -> Bound<'py, PyString> {
        if let Some(k) = self.keys.get(name) {
            return k.clone();
        }
        let k = PyString::new(py, name);
        if self.keys.len() < 4096 {
            self.keys.insert(name.to_owned(), k.clone());
        }
        k
    }
}

/// Like [`to_python`], reusing key strings through `cache`.
pub fn to_python_cached<'py>(
    py: Python<'py>,
    value: &Value,
    cache: &mut KeyCache<'py>,
) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(cache.key(py, k), to_python_cached(py, v, cache)?)?;
            }
            dict.into_any()
        }
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_python_cached(py, item, cache)?)?;
            }
            list.into_any()
        }
        scalar => scalar_to_python(py, scalar)?,
    })
}

pub fn to_python<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    to_python_cached(py, value, &mut KeyCache::default())
}

fn scalar_to_python<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Bool(b) => b.into_bound_py_any(py)?,
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_bound_py_any(py)?
            } else if let Some(u) = n.as_u64() {
                u.into_bound_py_any(py)?
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_bound_py_any(py)?
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Null | Value::Array(_) | Value::Object(_) => py.None().into_bound(py),
    })
}

pub fn map_to_dict<'py>(py: Python<'py>, map: &Map<String, Value>) -> PyResult<Bound<'py, PyDict>> {
    let mut keys = KeyCache::default();
    let dict = PyDict::new(py);
    for (k, v) in map {
        dict.set_item(keys.key(py, k), to_python_cached(py, v, &mut keys)?)?;
    }
    Ok(dict)
}

/// Python values to JSON: dict (str keys), list, tuple, str, int, float, bool, None,
/// datetime (ISO 8601; naive ones are taken as UTC), date, and Decimal.
pub fn from_python(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    from_python_at(obj, 0)
}

/// How deep a value sent to Salesforce may nest. Real records nest a few levels (an sObject
/// tree five); the limit keeps a value that contains itself, or a hostile one, from
/// overflowing the stack.
pub const MAX_DEPTH: usize = 200;

fn too_deep() -> PyErr {
    PyValueError::new_err(format!(
        "the value nests more than {MAX_DEPTH} levels deep, or contains itself (circular reference)"
    ))
}

fn from_python_at(obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.downcast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(i) = obj.downcast::<PyInt>() {
        if let Ok(v) = i.extract::<i64>() {
            return Ok(Value::from(v));
        }
        if let Ok(v) = i.extract::<u64>() {
            return Ok(Value::from(v));
        }
        return Err(PyValueError::new_err(
            "integer too large for a Salesforce number",
        ));
    }
    if let Ok(f) = obj.downcast::<PyFloat>() {
        return Number::from_f64(f.value())
            .map(Value::Number)
            .ok_or_else(|| PyValueError::new_err("NaN and infinity cannot be sent to Salesforce"));
    }
    if let Ok(s) = obj.downcast::<PyString>() {
        return Ok(Value::String(s.to_str()?.to_owned()));
    }
    let inner = depth + 1;
    if inner > MAX_DEPTH {
        let is_container = obj.downcast::<PyDict>().is_ok()
            || obj.downcast::<PyList>().is_ok()
            || obj.downcast::<PyTuple>().is_ok();
        if is_container {
            return Err(too_deep());
        }
    }
    if let Ok(d) = obj.downcast::<PyDict>() {
        let mut map = Map::with_capacity(d.len());
        for (k, v) in d.iter() {
            let key = k
                .downcast::<PyString>()
                .map_err(|_| {
                    PyTypeError::new_err(format!(
                        "record keys must be str, got {}",
                        k.get_type()
                            .name()
                            .map(|n| n.to_string())
                            .unwrap_or_default()
                    ))
                })?
                .to_str()?
                .to_owned();
            map.insert(key, from_python_at(&v, inner)?);
        }
        return Ok(Value::Object(map));
    }
    if let Ok(l) = obj.downcast::<PyList>() {
        return l
            .iter()
            .map(|v| from_python_at(&v, inner))
            .collect::<PyResult<Vec<_>>>()
            .map(Value::Array);
    }
    if let Ok(t) = obj.downcast::<PyTuple>() {
        return t
            .iter()
            .map(|v| from_python_at(&v, inner))
            .collect::<PyResult<Vec<_>>>()
            .map(Value::Array);
    }
    if obj.downcast::<PyDateTime>().is_ok() {
        let aware = if obj.getattr("tzinfo")?.is_none() {
            let utc = obj
                .py()
                .import("datetime")?
                .getattr("timezone")?
                .getattr("utc")?;
            let kwargs = PyDict::new(obj.py());
            kwargs.set_item("tzinfo", utc)?;
            obj.call_method("replace", (), Some(&kwargs))?
        } else {
            obj.clone()
        };
        let text: String = aware
            .call_method1("isoformat", ("T", "milliseconds"))?
            .extract()?;
        return Ok(Value::String(text));
    }
    if obj.downcast::<PyDate>().is_ok() {
        return Ok(Value::String(obj.call_method0("isoformat")?.extract()?));
    }
    let type_name = obj
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_default();
    if type_name == "Decimal" {
        let text: String = obj.str()?.extract()?;
        let n: Number = serde_json::from_str(&text)
            .map_err(|_| PyValueError::new_err(format!("Decimal {text} is not a finite number")))?;
        return Ok(Value::Number(n));
    }
    Err(PyTypeError::new_err(format!("cannot send a {type_name} to Salesforce; use str, int, float, bool, None, date, datetime, Decimal, list or dict")))
}

/// A filesystem path from `str`, `bytes` or `os.PathLike`, through `os.fsencode`: a str that
/// no file name can hold (a lone surrogate) is a ValueError rather than a panic.
pub struct FsPath(pub std::path::PathBuf);

impl<'py> FromPyObject<'py> for FsPath {
    fn extract_bound(obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        let encoded = obj.py().import("os")?.call_method1("fsencode", (obj,))?;
        let bytes = encoded.downcast::<PyBytes>()?.as_bytes();
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            Ok(Self(std::ffi::OsStr::from_bytes(bytes).into()))
        }
        #[cfg(not(unix))]
        {
            std::str::from_utf8(bytes)
                .map(|text| Self(text.into()))
                .map_err(|_| PyValueError::new_err("the path is not valid Unicode"))
        }
    }
}

/// The cyclic garbage collector, off while a page's thousands of dicts are built (the GIL is
/// held throughout, so no other Python code runs meanwhile) and back on when dropped, if it was
/// on before.
pub struct PausedCollector {
    was_enabled: bool,
}

impl PausedCollector {
    pub fn pause(_gil: Python<'_>) -> Self {
        // SAFETY: the GIL is held, as the token proves.
        let was_enabled = unsafe { ffi::PyGC_Disable() } == 1;
        Self { was_enabled }
    }
}

impl Drop for PausedCollector {
    fn drop(&mut self) {
        if self.was_enabled {
            // SAFETY: dropped with the GIL still held, in the function that paused it.
            unsafe { ffi::PyGC_Enable() };
        }
    }
}

/// Takes each record of `records` out of the cyclic collector's sight when it cannot be part of
/// a cycle: its values are scalars or dicts the collector does not track (`attributes`).
/// CPython leaves such dicts tracked only because one value is a dict; each collection would
/// then walk every record of the page again. Should the caller later put a list or dict into a
/// record, CPython tracks it again on that insert.
///
/// Runs once per record of every page, so it compares type pointers instead of calling
/// `PyType_GetFlags` (which the stable ABI's type checks do) twice for each value: with those
/// calls the walk over 100,000 records of ten fields took ~17 ms of CPU, a tenth of a stream's.
pub fn untrack_flat_records(records: &Bound<'_, PyList>) {
    let types = JsonTypes::get();
    // SAFETY: the GIL is held (the bound list proves it) and nothing runs Python code while the
    // list and its dicts are walked, so borrowed items, keys and values stay valid each step.
    unsafe {
        for index in 0..records.len() {
            let Ok(index) = ffi::Py_ssize_t::try_from(index) else {
                return;
            };
            let record = ffi::PyList_GetItem(records.as_ptr(), index);
            if record.is_null() {
                ffi::PyErr_Clear();
                return;
            }
            if ffi::Py_TYPE(record) == types.dict && flat(record, &types) {
                // A dict we built and hold; untracking a container that cannot reach itself
                // only spares the collector work.
                ffi::PyObject_GC_UnTrack(record.cast());
            }
        }
    }
}

/// The types orjson builds: JSON's scalars, which the collector never tracks, and dict.
struct JsonTypes {
    scalars: [*mut ffi::PyTypeObject; 5],
    dict: *mut ffi::PyTypeObject,
}

impl JsonTypes {
    fn get() -> Self {
        // SAFETY: only the addresses of CPython's static type objects and of None are read.
        unsafe {
            Self {
                scalars: [
                    std::ptr::addr_of_mut!(ffi::PyUnicode_Type),
                    std::ptr::addr_of_mut!(ffi::PyLong_Type),
                    std::ptr::addr_of_mut!(ffi::PyFloat_Type),
                    std::ptr::addr_of_mut!(ffi::PyBool_Type),
                    ffi::Py_TYPE(ffi::Py_None()),
                ],
                dict: std::ptr::addr_of_mut!(ffi::PyDict_Type),
            }
        }
    }
}

/// Whether every value of `dict` is a scalar or an untracked dict.
///
/// # Safety
/// The GIL is held and `dict` is a live dict.
unsafe fn flat(dict: *mut ffi::PyObject, types: &JsonTypes) -> bool {
    let mut position: ffi::Py_ssize_t = 0;
    let mut key = std::ptr::null_mut();
    let mut value = std::ptr::null_mut();
    while ffi::PyDict_Next(dict, &mut position, &mut key, &mut value) != 0 {
        let kind = ffi::Py_TYPE(value);
        if types.scalars.contains(&kind) {
            continue;
        }
        if kind == types.dict && ffi::PyObject_GC_IsTracked(value) == 0 {
            continue;
        }
        return false;
    }
    true
}

/// `Name(field=value, ...)` with each value written as Python's `repr` writes it (`'text'`,
/// `None`, `True`, `['a']`), never Rust's debug form (`"text"`, `Some(..)`).
pub fn py_repr<'py>(
    py: Python<'py>,
    name: &str,
    fields: Vec<(&str, PyResult<Bound<'py, PyAny>>)>,
) -> PyResult<String> {
    let mut parts = Vec::with_capacity(fields.len());
    for (field, value) in fields {
        parts.push(format!("{field}={}", value?.repr()?.to_str()?));
    }
    let _ = py;
    Ok(format!("{name}({})", parts.join(", ")))
}

/// `client` with a timeout and headers added to each REST request; both are checked here,
/// before anything is sent. Every `with_options` of the bindings is this.
pub fn scoped(
    client: &forcelink::Client,
    timeout: Option<f64>,
    headers: &[(String, String)],
) -> forcelink::Result<forcelink::Client> {
    let options = forcelink::CallOptions::from_seconds(timeout, headers)?;
    Ok(client.with_options(options))
}

/// Lists as Python lists of str; used by services taking field lists.
pub fn string_list(value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<String>>> {
    match value {
        None => Ok(None),
        Some(v) if v.is_none() => Ok(None),
        Some(v) if v.is_instance_of::<pyo3::types::PyString>() => {
            Err(pyo3::exceptions::PyTypeError::new_err(
                "fields must be a list of field names, not one string",
            ))
        }
        Some(v) => {
            let list: Vec<String> = v.extract()?;
            Ok(Some(list))
        }
    }
}
