//! The Tooling API for Python: each call's answer as JSON, made typed in the facade.

use crate::convert::scoped;
use crate::convert::{from_python, Json};
use crate::errors::to_pyerr;
use crate::pending::Pending;
use crate::results::SaveOut;
use forcelink as sf;
use pyo3::prelude::*;

fn page_json(page: sf::QueryPage) -> Json {
    Json(serde_json::json!({
        "totalSize": page.total_size,
        "done": page.done,
        "nextRecordsUrl": page.next_records_url,
        "records": page.records,
    }))
}

#[pyclass(module = "forcelink._core", frozen)]
pub struct ToolingCore {
    client: sf::Client,
}

impl ToolingCore {
    pub fn new(client: sf::Client) -> Self {
        Self { client }
    }
}

#[pymethods]
impl ToolingCore {
    /// This service on a handle that sends `timeout` and `headers` with each request.
    #[pyo3(signature = (timeout = None, headers = Vec::new()))]
    fn with_options(&self, timeout: Option<f64>, headers: Vec<(String, String)>) -> PyResult<Self> {
        scoped(&self.client, timeout, &headers)
            .map(Self::new)
            .map_err(to_pyerr)
    }

    fn query(&self, soql: String) -> Pending {
        let c = self.client.clone();
        Pending::new(async move { c.tooling().query(&soql).await.map(page_json) })
    }

    fn query_all(&self, soql: String) -> Pending {
        let c = self.client.clone();
        Pending::new(async move { c.tooling().query_all(&soql).await.map(page_json) })
    }

    fn create(&self, object: String, record: &Bound<'_, PyAny>) -> PyResult<Pending> {
        let record = from_python(record)?;
        let c = self.client.clone();
        Ok(Pending::new(async move {
            c.tooling().create(&object, &record).await.map(SaveOut)
        }))
    }

    fn get(&self, object: String, id: String) -> Pending {
        let c = self.client.clone();
        Pending::new(async move {
            c.tooling()
                .get(&object, &id)
                .await
                .map(|r| Json(serde_json::Value::Object(r)))
        })
    }

    fn update(&self, object: String, id: String, record: &Bound<'_, PyAny>) -> PyResult<Pending> {
        let record = from_python(record)?;
        let c = self.client.clone();
        Ok(Pending::new(async move {
            c.tooling().update(&object, &id, &record).await
        }))
    }

    fn delete(&self, object: String, id: String) -> Pending {
        let c = self.client.clone();
        Pending::new(async move { c.tooling().delete(&object, &id).await })
    }

    fn describe(&self, object: String) -> Pending {
        let c = self.client.clone();
        Pending::new(async move {
            c.tooling()
                .describe(&object)
                .await
                .map(|r| Json(serde_json::Value::Object(r)))
        })
    }

    fn execute_anonymous(&self, apex: String) -> Pending {
        let c = self.client.clone();
        Pending::new(async move {
            c.tooling().execute_anonymous(&apex).await.map(|r| {
                Json(serde_json::json!({
                    "compiled": r.compiled,
                    "success": r.success,
                    "line": r.line,
                    "column": r.column,
                    "compile_problem": r.compile_problem,
                    "exception_message": r.exception_message,
                    "exception_stack_trace": r.exception_stack_trace,
                }))
            })
        })
    }
}
