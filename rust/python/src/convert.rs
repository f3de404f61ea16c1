//! JSON values to Python objects and back, built once at the edge.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDate, PyDateTime, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
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
            map.insert(key, from_python(&v)?);
        }
        return Ok(Value::Object(map));
    }
    if let Ok(l) = obj.downcast::<PyList>() {
        return l
            .iter()
            .map(|v| from_python(&v))
            .collect::<PyResult<Vec<_>>>()
            .map(Value::Array);
    }
    if let Ok(t) = obj.downcast::<PyTuple>() {
        return t
            .iter()
            .map(|v| from_python(&v))
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

/// Builds Python objects while parsing JSON: no intermediate `serde_json::Value`.
struct PySeed<'a, 'py> {
    py: Python<'py>,
    keys: &'a mut KeyCache<'py>,
}

impl<'de, 'py> serde::de::DeserializeSeed<'de> for PySeed<'_, 'py> {
    type Value = Bound<'py, PyAny>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

fn py_error<E: serde::de::Error>(err: PyErr) -> E {
    E::custom(err.to_string())
}

impl<'de, 'py> serde::de::Visitor<'de> for PySeed<'_, 'py> {
    type Value = Bound<'py, PyAny>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
        v.into_bound_py_any(self.py).map_err(py_error)
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
        v.into_bound_py_any(self.py).map_err(py_error)
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
        v.into_bound_py_any(self.py).map_err(py_error)
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
        v.into_bound_py_any(self.py).map_err(py_error)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(PyString::new(self.py, v).into_any())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(self.py.None().into_bound(self.py))
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        self.visit_unit()
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let (py, keys) = (self.py, self.keys);
        let list = PyList::empty(py);
        while let Some(item) = seq.next_element_seed(PySeed {
            py,
            keys: &mut *keys,
        })? {
            list.append(item).map_err(py_error)?;
        }
        Ok(list.into_any())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (py, keys) = (self.py, self.keys);
        let dict = PyDict::new(py);
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let key = keys.key(py, &key);
            let value = map.next_value_seed(PySeed {
                py,
                keys: &mut *keys,
            })?;
            dict.set_item(key, value).map_err(py_error)?;
        }
        Ok(dict.into_any())
    }
}

/// Reads the `records` of a query page straight into a list of dicts.
struct RecordsOfPage<'a, 'py> {
    py: Python<'py>,
    keys: &'a mut KeyCache<'py>,
}

impl<'de, 'py> serde::de::Visitor<'de> for RecordsOfPage<'_, 'py> {
    type Value = Option<Bound<'py, PyAny>>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a query page")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (py, keys) = (self.py, self.keys);
        let mut records = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "records" {
                records = Some(map.next_value_seed(PySeed {
                    py,
                    keys: &mut *keys,
                })?);
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(records)
    }
}

/// The records of a query page's JSON body, as Python dicts built while parsing.
pub fn records_of_page<'py>(py: Python<'py>, body: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    use serde::Deserializer as _;
    let mut keys = KeyCache::default();
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let records = deserializer
        .deserialize_map(RecordsOfPage {
            py,
            keys: &mut keys,
        })
        .map_err(|e| PyValueError::new_err(format!("cannot read the query page: {e}")))?;
    Ok(records.unwrap_or_else(|| PyList::empty(py).into_any()))
}
