//! Composite requests for Python: subrequests in as dicts, answers out as JSON or typed results.

use crate::convert::scoped;
use crate::convert::{from_python, map_to_dict, Json};
use crate::errors::to_pyerr;
use crate::pending::Pending;
use crate::results::ResultsOut;
use forcelink as sf;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyList;
use serde_json::Value;

struct RecordsOut(Vec<Option<sf::Record>>);

impl<'py> IntoPyObject<'py> for RecordsOut {
    type Target = PyList;
    type Output = Bound<'py, PyList>;
    type Error = PyErr;
    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        let list = PyList::empty(py);
        for r in &self.0 {
            match r {
                Some(record) => list.append(map_to_dict(py, record)?)?,
                None => list.append(py.None())?,
            }
        }
        Ok(list)
    }
}

fn json_list(records: &Bound<'_, PyAny>) -> PyResult<Vec<Value>> {
    records.try_iter()?.map(|r| from_python(&r?)).collect()
}

fn text(item: &Value, key: &str) -> PyResult<String> {
    item.get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| PyTypeError::new_err(format!("each subrequest needs a string {key:?}")))
}

#[pyclass(module = "forcelink._core", frozen)]
pub struct CompositeCore {
    client: sf::Client,
}

impl CompositeCore {
    pub fn new(client: sf::Client) -> Self {
        Self { client }
    }
}

#[pymethods]
impl CompositeCore {
    /// This service on a handle that sends `timeout` and `headers` with each request.
    #[pyo3(signature = (timeout = None, headers = Vec::new()))]
    fn with_options(&self, timeout: Option<f64>, headers: Vec<(String, String)>) -> PyResult<Self> {
        scoped(&self.client, timeout, &headers)
            .map(Self::new)
            .map_err(to_pyerr)
    }

    /// `requests`: dicts with method, url, referenceId and optional body and httpHeaders.
    fn execute(
        &self,
        requests: &Bound<'_, PyAny>,
        all_or_none: bool,
        collate: bool,
    ) -> PyResult<Pending> {
        let subrequests = json_list(requests)?
            .into_iter()
            .map(|item| {
                Ok(sf::Subrequest {
                    method: text(&item, "method")?,
                    url: text(&item, "url")?,
                    reference_id: text(&item, "referenceId")?,
                    body: item.get("body").cloned(),
                    http_headers: item.get("httpHeaders").and_then(Value::as_object).cloned(),
                })
            })
            .collect::<PyResult<Vec<_>>>()?;
        let c = self.client.clone();
        Ok(Pending::new(async move {
            let results = c
                .composite()
                .execute(&subrequests, all_or_none, collate)
                .await?;
            let items = results
                .into_iter()
                .map(|r| serde_json::json!({"referenceId": r.reference_id, "httpStatusCode": r.http_status_code, "body": r.body, "httpHeaders": r.http_headers}))
                .collect();
            Ok(Json(Value::Array(items)))
        }))
    }

    /// `requests`: dicts with method, url and optional richInput.
    fn batch(&self, requests: &Bound<'_, PyAny>, halt_on_error: bool) -> PyResult<Pending> {
        let subrequests = json_list(requests)?
            .into_iter()
            .map(|item| {
                Ok(sf::BatchSubrequest {
                    method: text(&item, "method")?,
                    url: text(&item, "url")?,
                    rich_input: item.get("richInput").cloned(),
                })
            })
            .collect::<PyResult<Vec<_>>>()?;
        let c = self.client.clone();
        Ok(Pending::new(async move {
            let answer = c.composite().batch(&subrequests, halt_on_error).await?;
            let results: Vec<Value> = answer
                .results
                .into_iter()
                .map(|r| serde_json::json!({"statusCode": r.status_code, "result": r.result}))
                .collect();
            Ok(Json(
                serde_json::json!({"hasErrors": answer.has_errors, "results": results}),
            ))
        }))
    }

    fn tree(&self, object: String, records: &Bound<'_, PyAny>) -> PyResult<Pending> {
        let records = json_list(records)?;
        let c = self.client.clone();
        Ok(Pending::new(async move {
            let answer = c.composite().tree(&object, &records).await?;
            let results: Vec<Value> = answer
                .results
                .into_iter()
                .map(|r| {
                    let errors: Vec<Value> = r.errors.iter().map(|e| serde_json::json!({"statusCode": e.error_code, "message": e.message, "fields": e.fields})).collect();
                    serde_json::json!({"referenceId": r.reference_id, "id": r.id, "errors": errors})
                })
                .collect();
            Ok(Json(
                serde_json::json!({"hasErrors": answer.has_errors, "results": results}),
            ))
        }))
    }

    fn create(&self, records: &Bound<'_, PyAny>, all_or_none: bool) -> PyResult<Pending> {
        let records = json_list(records)?;
        let c = self.client.clone();
        Ok(Pending::new(async move {
            c.composite()
                .collections()
                .create(&records, all_or_none)
                .await
                .map(ResultsOut)
        }))
    }

    fn update(&self, records: &Bound<'_, PyAny>, all_or_none: bool) -> PyResult<Pending> {
        let records = json_list(records)?;
        let c = self.client.clone();
        Ok(Pending::new(async move {
            c.composite()
                .collections()
                .update(&records, all_or_none)
                .await
                .map(ResultsOut)
        }))
    }

    fn upsert(
        &self,
        object: String,
        external_id_field: String,
        records: &Bound<'_, PyAny>,
        all_or_none: bool,
    ) -> PyResult<Pending> {
        let records = json_list(records)?;
        let c = self.client.clone();
        Ok(Pending::new(async move {
            c.composite()
                .collections()
                .upsert(&object, &external_id_field, &records, all_or_none)
                .await
                .map(ResultsOut)
        }))
    }

    fn delete(&self, ids: Vec<String>, all_or_none: bool) -> Pending {
        let c = self.client.clone();
        Pending::new(async move {
            c.composite()
                .collections()
                .delete(&ids, all_or_none)
                .await
                .map(ResultsOut)
        })
    }

    fn retrieve(&self, object: String, ids: Vec<String>, fields: Vec<String>) -> Pending {
        let c = self.client.clone();
        Pending::new(async move {
            c.composite()
                .collections()
                .retrieve(&object, &ids, &fields)
                .await
                .map(RecordsOut)
        })
    }
}
