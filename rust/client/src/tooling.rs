//! The Tooling API (`/services/data/vXX.X/tooling/`): queries and sObject calls on metadata
//! objects such as ApexClass, and anonymous Apex. Calls go through the client's pipeline.

use crate::client::Client;
use crate::error::{Error, Result};
use crate::query::QueryPage;
use crate::raw::RawRequest;
use crate::sobjects::{check_name, check_record, parse_id, SaveResult};
use http::Method;
use serde::Deserialize;
use serde_json::{Map, Value};

/// What `executeAnonymous` answers: whether the Apex compiled and ran, and where it failed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecuteAnonymousResult {
    pub compiled: bool,
    pub success: bool,
    /// The line and column of the problem; -1 when there is none.
    pub line: i64,
    pub column: i64,
    pub compile_problem: Option<String>,
    pub exception_message: Option<String>,
    pub exception_stack_trace: Option<String>,
}

/// The Tooling API of a [`Client`].
pub struct Tooling<'a> {
    client: &'a Client,
}

fn decode<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| Error::UnexpectedResponse {
        status: 200,
        message: format!("cannot read the {what} answer: {e}"),
    })
}

impl Client {
    /// The Tooling API.
    pub fn tooling(&self) -> Tooling<'_> {
        Tooling { client: self }
    }
}

impl Tooling<'_> {
    async fn call(
        &self,
        method: Method,
        path: String,
        json: Option<Value>,
        params: Vec<(String, String)>,
    ) -> Result<crate::raw::RawResponse> {
        self.client
            .request(RawRequest {
                method,
                path: format!("tooling/{path}"),
                json,
                params,
                ..RawRequest::default()
            })
            .await
    }

    /// The first page of a Tooling query (`ApexClass`, `ApexTrigger`, ...).
    pub async fn query(&self, soql: &str) -> Result<QueryPage> {
        if soql.trim().is_empty() {
            return Err(Error::invalid_argument("soql", "the query is empty"));
        }
        let answer = self
            .call(
                Method::GET,
                "query".into(),
                None,
                vec![("q".into(), soql.into())],
            )
            .await?;
        decode(&answer.body, "query")
    }

    /// Every record of a Tooling query, all pages read.
    pub async fn query_all(&self, soql: &str) -> Result<QueryPage> {
        let mut all = self.query(soql).await?;
        while let Some(next) = all.next_records_url.take().filter(|_| !all.done) {
            let page = self.client.query().query_more(&next).await?;
            all.records.extend(page.records);
            all.done = page.done;
            all.next_records_url = page.next_records_url;
        }
        all.done = true;
        Ok(all)
    }

    /// Creates a Tooling record (such as an ApexClass with its `Name` and `Body`).
    pub async fn create(&self, object: &str, record: &Value) -> Result<SaveResult> {
        check_name("object", object)?;
        check_record(record)?;
        let answer = self
            .call(
                Method::POST,
                format!("sobjects/{object}"),
                Some(record.clone()),
                Vec::new(),
            )
            .await?;
        decode(&answer.body, "create")
    }

    /// A Tooling record by id.
    pub async fn get(&self, object: &str, id: &str) -> Result<Map<String, Value>> {
        check_name("object", object)?;
        let id = parse_id("id", id)?;
        let answer = self
            .call(
                Method::GET,
                format!("sobjects/{object}/{id}"),
                None,
                Vec::new(),
            )
            .await?;
        decode(&answer.body, "record")
    }

    /// Updates a Tooling record by id.
    pub async fn update(&self, object: &str, id: &str, record: &Value) -> Result<()> {
        check_name("object", object)?;
        let id = parse_id("id", id)?;
        check_record(record)?;
        self.call(
            Method::PATCH,
            format!("sobjects/{object}/{id}"),
            Some(record.clone()),
            Vec::new(),
        )
        .await
        .map(|_| ())
    }

    /// Deletes a Tooling record by id.
    pub async fn delete(&self, object: &str, id: &str) -> Result<()> {
        check_name("object", object)?;
        let id = parse_id("id", id)?;
        self.call(
            Method::DELETE,
            format!("sobjects/{object}/{id}"),
            None,
            Vec::new(),
        )
        .await
        .map(|_| ())
    }

    /// A Tooling object's describe, as Salesforce sends it.
    pub async fn describe(&self, object: &str) -> Result<Map<String, Value>> {
        check_name("object", object)?;
        let answer = self
            .call(
                Method::GET,
                format!("sobjects/{object}/describe"),
                None,
                Vec::new(),
            )
            .await?;
        decode(&answer.body, "describe")
    }

    /// Compiles and runs anonymous Apex (`executeAnonymous`). A compile error or an exception
    /// is reported in the result, not raised; blank Apex is refused before sending.
    pub async fn execute_anonymous(&self, apex: &str) -> Result<ExecuteAnonymousResult> {
        if apex.trim().is_empty() {
            return Err(Error::invalid_argument("apex", "the Apex to run is empty"));
        }
        let answer = self
            .call(
                Method::GET,
                "executeAnonymous".into(),
                None,
                vec![("anonymousBody".into(), apex.into())],
            )
            .await?;
        decode(&answer.body, "executeAnonymous")
    }
}
