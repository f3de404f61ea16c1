//! sObject calls: arguments converted here, the work done by `forcelink::SObjects`.

use crate::convert::scoped;
use crate::convert::string_list;
use crate::convert::{from_python, Json};
use crate::errors::to_pyerr;
use crate::pending::Pending;
use crate::results::{DescribeGlobalOut, DescribeOut, SaveOut, UpsertOut};
use forcelink as sf;
use pyo3::prelude::*;
use serde_json::Value;

#[pyclass(module = "forcelink._core", frozen)]
pub struct SObjectsCore {
    client: sf::Client,
}

impl SObjectsCore {
    pub fn new(client: sf::Client) -> Self {
        Self { client }
    }
}

#[pymethods]
impl SObjectsCore {
    /// This service on a handle that sends `timeout` and `headers` with each request.
    #[pyo3(signature = (timeout = None, headers = Vec::new()))]
    fn with_options(&self, timeout: Option<f64>, headers: Vec<(String, String)>) -> PyResult<Self> {
        scoped(&self.client, timeout, &headers)
            .map(Self::new)
            .map_err(to_pyerr)
    }

    fn create(&self, object: String, record: &Bound<'_, PyAny>) -> PyResult<Pending> {
        let record = from_python(record)?;
        let c = self.client.clone();
        Ok(Pending::new(async move {
            c.sobjects().create(&object, &record).await.map(SaveOut)
        }))
    }

    #[pyo3(signature = (object, id, fields = None))]
    fn get(
        &self,
        object: String,
        id: String,
        fields: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Pending> {
        let fields = string_list(fields)?;
        let c = self.client.clone();
        Ok(Pending::new(async move {
            c.sobjects()
                .get(&object, &id, fields.as_deref())
                .await
                .map(|r| Json(Value::Object(r)))
        }))
    }

    #[pyo3(signature = (object, field, value, fields = None))]
    fn get_by_external_id(
        &self,
        object: String,
        field: String,
        value: String,
        fields: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Pending> {
        let fields = string_list(fields)?;
        let c = self.client.clone();
        Ok(Pending::new(async move {
            c.sobjects()
                .get_by_external_id(&object, &field, &value, fields.as_deref())
                .await
                .map(|r| Json(Value::Object(r)))
        }))
    }

    fn update(&self, object: String, id: String, record: &Bound<'_, PyAny>) -> PyResult<Pending> {
        let record = from_python(record)?;
        let c = self.client.clone();
        Ok(Pending::new(async move {
            c.sobjects().update(&object, &id, &record).await
        }))
    }

    fn upsert(
        &self,
        object: String,
        field: String,
        value: String,
        record: &Bound<'_, PyAny>,
    ) -> PyResult<Pending> {
        let record = from_python(record)?;
        let c = self.client.clone();
        Ok(Pending::new(async move {
            c.sobjects()
                .upsert(&object, &field, &value, &record)
                .await
                .map(UpsertOut)
        }))
    }

    fn delete(&self, object: String, id: String) -> Pending {
        let c = self.client.clone();
        Pending::new(async move { c.sobjects().delete(&object, &id).await })
    }

    fn describe(&self, object: String) -> Pending {
        let c = self.client.clone();
        Pending::new(async move { c.sobjects().describe(&object).await.map(DescribeOut) })
    }

    fn get_updated(&self, object: String, start: String, end: String) -> Pending {
        let c = self.client.clone();
        Pending::new(async move {
            let found = c.sobjects().get_updated(&object, &start, &end).await?;
            Ok(crate::convert::Json(serde_json::Value::Object(found)))
        })
    }

    fn get_deleted(&self, object: String, start: String, end: String) -> Pending {
        let c = self.client.clone();
        Pending::new(async move {
            let found = c.sobjects().get_deleted(&object, &start, &end).await?;
            Ok(crate::convert::Json(serde_json::Value::Object(found)))
        })
    }

    fn describe_global(&self) -> Pending {
        let c = self.client.clone();
        Pending::new(async move { c.sobjects().describe_global().await.map(DescribeGlobalOut) })
    }
}
