//! Record, replay and fake transports for Python.

use crate::convert::FsPath;
use crate::convert::{from_python, to_python};
use forcelink as sf;
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

/// Records every HTTP interaction of the clients built with it (secrets redacted).
#[pyclass(module = "forcelink._core", frozen)]
pub struct SimulationRecorder {
    pub inner: sf::SimulationRecorder,
}

#[pymethods]
impl SimulationRecorder {
    #[new]
    #[pyo3(signature = (*, replace_host = None))]
    fn new(replace_host: Option<String>) -> Self {
        let recorder = sf::SimulationRecorder::new();
        Self {
            inner: match replace_host {
                Some(h) => recorder.replace_host(h),
                None => recorder,
            },
        }
    }

    /// Writes the cassette (JSON lines with a format version).
    fn save(&self, py: Python<'_>, path: FsPath) -> PyResult<()> {
        let path = path.0;
        py.allow_threads(|| self.inner.save(&path))
            .map_err(|e| PyOSError::new_err(e.to_string()))
    }

    fn __len__(&self) -> usize {
        self.inner.interactions().len()
    }
}

/// Answers requests from a cassette with no network.
#[pyclass(module = "forcelink._core", frozen)]
pub struct SimulationReplayer {
    pub inner: sf::SimulationReplayer,
}

#[pymethods]
impl SimulationReplayer {
    #[staticmethod]
    #[pyo3(signature = (path, *, strict = true, ordered = false))]
    fn load(path: FsPath, strict: bool, ordered: bool) -> PyResult<Self> {
        let path = path.0;
        let replayer = sf::SimulationReplayer::load(&path)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(Self {
            inner: replayer.strict(strict).ordered(ordered),
        })
    }

    /// Recorded interactions not replayed yet.
    #[getter]
    fn remaining(&self) -> usize {
        self.inner.remaining()
    }

    #[getter]
    fn strict(&self) -> bool {
        self.inner.is_strict()
    }
}

/// A transport with queued answers, for unit tests without any server.
#[pyclass(module = "forcelink._core", frozen)]
pub struct FakeTransport {
    pub inner: sf::FakeTransport,
}

#[pymethods]
impl FakeTransport {
    #[new]
    fn new() -> Self {
        Self {
            inner: sf::FakeTransport::new(),
        }
    }

    /// Queues an answer for the next request whose path contains `path_contains` (and whose
    /// method is `method`, when given). `body` is JSON-encoded unless it is a str.
    #[pyo3(signature = (path_contains, body = None, *, status = 200, method = None, headers = None))]
    fn respond(
        &self,
        path_contains: &str,
        body: Option<&Bound<'_, PyAny>>,
        status: u16,
        method: Option<&str>,
        headers: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let text = match body {
            None => String::new(),
            Some(b) if b.is_instance_of::<PyString>() => b.extract()?,
            Some(b) => from_python(b)?.to_string(),
        };
        let pairs: Vec<(String, String)> = match headers {
            Some(h) => h
                .iter()
                .map(|(k, v)| Ok((k.extract()?, v.extract()?)))
                .collect::<PyResult<_>>()?,
            None => Vec::new(),
        };
        let refs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.inner
            .respond(method, path_contains, status, &text, &refs)
            .map_err(PyValueError::new_err)
    }

    /// The requests sent so far: dicts with method, path and body (JSON decoded when it is).
    fn requests<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for r in self.inner.requests() {
            let d = PyDict::new(py);
            d.set_item("method", &r.method)?;
            d.set_item("path", &r.path)?;
            match serde_json::from_str::<serde_json::Value>(&r.body) {
                Ok(json) => d.set_item("body", to_python(py, &json)?)?,
                Err(_) => d.set_item("body", &r.body)?,
            }
            list.append(d)?;
        }
        Ok(list)
    }

    /// Answers queued but not used yet.
    #[getter]
    fn pending(&self) -> usize {
        self.inner.pending()
    }
}
