//! Salesforce Files for Python: uploads streamed from disk, downloads streamed to disk.

use crate::convert::scoped;
use crate::convert::{from_python, FsPath};
use crate::errors::to_pyerr;
use crate::pending::Pending;
use crate::results::SaveOut;
use forcelink as sf;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

#[pyclass(module = "forcelink._core", frozen)]
pub struct FilesCore {
    client: sf::Client,
}

impl FilesCore {
    pub fn new(client: sf::Client) -> Self {
        Self { client }
    }
}

#[pymethods]
impl FilesCore {
    /// This service on a handle that sends `timeout` and `headers` with each request.
    #[pyo3(signature = (timeout = None, headers = Vec::new()))]
    fn with_options(&self, timeout: Option<f64>, headers: Vec<(String, String)>) -> PyResult<Self> {
        scoped(&self.client, timeout, &headers)
            .map(Self::new)
            .map_err(to_pyerr)
    }

    fn upload(&self, path: FsPath, fields: &Bound<'_, PyAny>) -> PyResult<Pending> {
        let serde_json::Value::Object(fields) = from_python(fields)? else {
            return Err(PyTypeError::new_err("fields must be a mapping"));
        };
        let c = self.client.clone();
        Ok(Pending::new(async move {
            c.files().upload(&path.0, &fields).await.map(SaveOut)
        }))
    }

    fn download(&self, content_version_id: String, dest: FsPath) -> Pending {
        let c = self.client.clone();
        Pending::new(async move { c.files().download(&content_version_id, &dest.0).await })
    }
}
