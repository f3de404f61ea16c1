//! Composite requests: composite (with references), batch, sObject tree, and sObject collections
//! split into calls of 200 records, the input order kept.

use crate::client::{decode_json, Client, RestCall};
pub use crate::error::RecordResult;
use crate::error::{ApiErrorItem, Error, Result};
use crate::resilience::Idempotency;
use crate::sobjects::{check_name, parse_id, Record};
use bytes::Bytes;
use forcelink_wire::RecordId;
use futures::stream::{self, StreamExt, TryStreamExt};
use http::Method;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::HashSet;

/// Subrequests per composite or batch request.
pub const MAX_SUBREQUESTS: usize = 25;
/// Records per sObject collection or tree call.
pub const MAX_RECORDS_PER_CALL: usize = 200;
/// Collection calls in flight at once.
const PARALLEL_CALLS: usize = 4;

/// One subrequest of a composite request.
#[derive(Debug, Clone, PartialEq)]
pub struct Subrequest {
    pub method: String,
    /// `/services/data/vNN.N/...`, or a path relative to it (`sobjects/Account`).
    pub url: String,
    pub reference_id: String,
    pub body: Option<Value>,
    pub http_headers: Option<Map<String, Value>>,
}

/// One subrequest's answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubrequestResult {
    pub reference_id: String,
    pub http_status_code: u16,
    #[serde(default)]
    pub body: Value,
    #[serde(default)]
    pub http_headers: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CompositeBody {
    composite_response: Vec<SubrequestResult>,
}

/// One subrequest of a batch request.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchSubrequest {
    pub method: String,
    /// `vNN.N/sobjects/...` or a path relative to the version (`sobjects/Account/001...`).
    pub url: String,
    pub rich_input: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResultItem {
    pub status_code: u16,
    #[serde(default)]
    pub result: Value,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResult {
    pub has_errors: bool,
    pub results: Vec<BatchResultItem>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TreeResultItem {
    pub reference_id: String,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub errors: Vec<ApiErrorItem>,
}

/// An sObject tree answer: every record's id, or (nothing created) the errors.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TreeResult {
    pub has_errors: bool,
    pub results: Vec<TreeResultItem>,
}

fn valid_reference_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn check_count_of_subrequests(what: &str, count: usize) -> Result<()> {
    if count == 0 || count > MAX_SUBREQUESTS {
        return Err(Error::invalid_argument(
            "requests",
            format!("{what} has 1 to {MAX_SUBREQUESTS} subrequests, got {count}"),
        ));
    }
    Ok(())
}

fn check_method(method: &str) -> Result<()> {
    if ["GET", "POST", "PATCH", "PUT", "DELETE"].contains(&method) {
        Ok(())
    } else {
        Err(Error::invalid_argument(
            "method",
            format!("{method:?} is not GET, POST, PATCH, PUT or DELETE (upper case)"),
        ))
    }
}

/// The composite service of a [`Client`].
pub struct Composite<'a> {
    client: &'a Client,
}

impl<'a> Composite<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    async fn post(
        &self,
        path: &[&str],
        body: &Value,
        idempotency: Idempotency,
        accept: &'static [u16],
    ) -> Result<crate::transport::HttpResponse> {
        let url = self.client.data_url(path)?;
        let bytes =
            serde_json::to_vec(body).map_err(|e| Error::invalid_argument("body", e.to_string()))?;
        let mut call = RestCall::new(Method::POST, url, Some(Bytes::from(bytes)), idempotency);
        call.accept_status = accept;
        self.client.execute(call).await
    }

    /// Runs up to 25 subrequests as one call; later ones may refer to earlier results with
    /// `@{referenceId.field}`. With `all_or_none`, one failure rolls all of them back.
    pub async fn execute(
        &self,
        requests: &[Subrequest],
        all_or_none: bool,
        collate: bool,
    ) -> Result<Vec<SubrequestResult>> {
        check_count_of_subrequests("a composite request", requests.len())?;
        let version = &self.client.config().api_version;
        let mut seen = HashSet::new();
        let mut items = Vec::with_capacity(requests.len());
        for r in requests {
            check_method(&r.method)?;
            if !valid_reference_id(&r.reference_id) {
                return Err(Error::invalid_argument("reference_id", format!("{:?} must start with a letter or digit and hold only letters, digits and underscores", r.reference_id)));
            }
            if !seen.insert(r.reference_id.as_str()) {
                return Err(Error::invalid_argument(
                    "reference_id",
                    format!("{:?} is used twice", r.reference_id),
                ));
            }
            let url = if r.url.starts_with("/services/data/") {
                r.url.clone()
            } else {
                format!(
                    "/services/data/v{version}/{}",
                    r.url.trim_start_matches('/')
                )
            };
            let mut item = json!({"method": r.method, "url": url, "referenceId": r.reference_id});
            if let (Some(body), Value::Object(map)) = (&r.body, &mut item) {
                map.insert("body".into(), body.clone());
            }
            if let (Some(headers), Value::Object(map)) = (&r.http_headers, &mut item) {
                map.insert("httpHeaders".into(), Value::Object(headers.clone()));
            }
            items.push(item);
        }
        let body = json!({"allOrNone": all_or_none, "collateSubrequests": collate, "compositeRequest": items});
        let response = self
            .post(&["composite"], &body, Idempotency::NonIdempotent, &[])
            .await?;
        decode_json::<CompositeBody>(&response).map(|b| b.composite_response)
    }

    /// Runs up to 25 independent subrequests in order; with `halt_on_error`, the rest after a
    /// failure are not run (412 BATCH_PROCESSING_HALTED).
    pub async fn batch(
        &self,
        requests: &[BatchSubrequest],
        halt_on_error: bool,
    ) -> Result<BatchResult> {
        check_count_of_subrequests("a batch", requests.len())?;
        let version = &self.client.config().api_version;
        let mut items = Vec::with_capacity(requests.len());
        for r in requests {
            check_method(&r.method)?;
            let relative = r
                .url
                .trim_start_matches("/services/data/")
                .trim_start_matches('/');
            let url = if relative.starts_with('v')
                && relative.split('/').next().is_some_and(|v| v.contains('.'))
            {
                relative.to_owned()
            } else {
                format!("v{version}/{relative}")
            };
            let mut item = json!({"method": r.method, "url": url});
            if let (Some(input), Value::Object(map)) = (&r.rich_input, &mut item) {
                map.insert("richInput".into(), input.clone());
            }
            items.push(item);
        }
        let body = json!({"haltOnError": halt_on_error, "batchRequests": items});
        decode_json(
            &self
                .post(
                    &["composite", "batch"],
                    &body,
                    Idempotency::NonIdempotent,
                    &[],
                )
                .await?,
        )
    }

    /// Creates trees of records (up to 200 in all) in one all-or-nothing call. Each record
    /// carries `attributes: {type, referenceId}`; children nest under their relationship name
    /// as `{"records": [...]}`.
    pub async fn tree(&self, object: &str, records: &[Value]) -> Result<TreeResult> {
        check_name("object", object)?;
        let total = forcelink_wire::tree_size(records);
        if total == 0 || total > MAX_RECORDS_PER_CALL {
            return Err(Error::invalid_argument(
                "records",
                format!("a tree holds 1 to {MAX_RECORDS_PER_CALL} records, got {total}"),
            ));
        }
        check_tree(records)?;
        let response = self
            .post(
                &["composite", "tree", object],
                &json!({"records": records}),
                Idempotency::NonIdempotent,
                &[400],
            )
            .await?;
        decode_json(&response)
    }

    /// sObject collections: many records per call.
    pub fn collections(&self) -> Collections<'a> {
        Collections {
            client: self.client,
        }
    }
}

fn check_tree(records: &[Value]) -> Result<()> {
    for r in records {
        let has = |key: &str| {
            r.pointer(&format!("/attributes/{key}"))
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty())
        };
        if !has("type") || !has("referenceId") {
            return Err(Error::invalid_argument(
                "records",
                "every tree record needs attributes.type and attributes.referenceId",
            ));
        }
        if let Some(map) = r.as_object() {
            for kids in map
                .values()
                .filter_map(|v| v.get("records").and_then(Value::as_array))
            {
                check_tree(kids)?;
            }
        }
    }
    Ok(())
}

/// sObject collections of a [`Client`]: any number of records, sent 200 to a call.
pub struct Collections<'a> {
    client: &'a Client,
}

impl Collections<'_> {
    fn check_atomic(count: usize, all_or_none: bool) -> Result<()> {
        if all_or_none && count > MAX_RECORDS_PER_CALL {
            return Err(Error::invalid_argument(
                "all_or_none",
                format!("Salesforce makes at most {MAX_RECORDS_PER_CALL} records atomic in one call; got {count} (split them, or pass all_or_none=False)"),
            ));
        }
        Ok(())
    }

    /// Sends `chunks` through `send`, a few at once, and joins the answers in input order.
    async fn chunked<T, F, Fut>(&self, count: usize, send: F) -> Result<Vec<T>>
    where
        F: Fn(std::ops::Range<usize>) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<T>>>,
    {
        let answers: Vec<Vec<T>> = stream::iter(chunk_ranges(count).into_iter().map(send))
            .buffered(PARALLEL_CALLS)
            .try_collect()
            .await?;
        Ok(answers.into_iter().flatten().collect())
    }

    /// Like [`chunked`](Self::chunked) for writes, where a failed call must not hide the calls
    /// that went through: every call is made, and when some fail after others succeeded, the
    /// error carries a result for every record, those of the failed calls marked as not
    /// processed (or, when their answer was lost, as of unknown outcome).
    async fn chunked_writes<F, Fut>(&self, count: usize, send: F) -> Result<Vec<RecordResult>>
    where
        F: Fn(std::ops::Range<usize>) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<RecordResult>>>,
    {
        let ranges = chunk_ranges(count);
        let outcomes: Vec<Result<Vec<RecordResult>>> =
            stream::iter(ranges.iter().cloned().map(send))
                .buffered(PARALLEL_CALLS)
                .collect()
                .await;
        if outcomes.iter().all(Result::is_ok) {
            return Ok(outcomes.into_iter().flatten().flatten().collect());
        }
        if outcomes.iter().all(Result::is_err) {
            if let Some(Err(first)) = outcomes.into_iter().next() {
                return Err(first);
            }
            return Ok(Vec::new());
        }
        let mut results = Vec::with_capacity(count);
        let mut cause = None;
        for (range, outcome) in ranges.into_iter().zip(outcomes) {
            match outcome {
                Ok(answer) => results.extend(answer),
                Err(e) => {
                    let unknown = matches!(&e, Error::Transport(t) if t.outcome_unknown);
                    let item = ApiErrorItem {
                        message: format!("not processed: the call carrying it failed: {e}"),
                        error_code: if unknown {
                            "OUTCOME_UNKNOWN"
                        } else {
                            "NOT_PROCESSED"
                        }
                        .to_owned(),
                        fields: Vec::new(),
                    };
                    results.extend(range.map(|_| RecordResult {
                        id: None,
                        success: false,
                        errors: vec![item.clone()],
                        created: None,
                    }));
                    cause.get_or_insert(e);
                }
            }
        }
        match cause {
            Some(cause) => Err(Error::RecordsIncomplete {
                results,
                cause: Box::new(cause),
            }),
            None => Ok(results),
        }
    }

    async fn write(
        &self,
        method: Method,
        path: &[&str],
        records: &[Value],
        all_or_none: bool,
        idempotency: Idempotency,
    ) -> Result<Vec<RecordResult>> {
        Self::check_atomic(records.len(), all_or_none)?;
        let client = self.client;
        self.chunked_writes(records.len(), |range| {
            let method = method.clone();
            let chunk = records.get(range.clone()).unwrap_or_default();
            async move {
                let url = client.data_url(path)?;
                let body = serde_json::to_vec(&json!({"allOrNone": all_or_none, "records": chunk}))
                    .map_err(|e| Error::invalid_argument("records", e.to_string()))?;
                let answer: Vec<RecordResult> = decode_json(
                    &client
                        .execute(RestCall::new(
                            method,
                            url,
                            Some(Bytes::from(body)),
                            idempotency,
                        ))
                        .await?,
                )?;
                check_count(answer, chunk.len())
            }
        })
        .await
    }

    /// Creates records of any types; each carries `attributes: {"type": ...}`.
    pub async fn create(&self, records: &[Value], all_or_none: bool) -> Result<Vec<RecordResult>> {
        for r in records {
            typed(r)?;
            if r.as_object()
                .is_some_and(|m| m.keys().any(|k| k.eq_ignore_ascii_case("id")))
            {
                return Err(Error::invalid_argument(
                    "records",
                    "records to create must not carry an Id",
                ));
            }
        }
        self.write(
            Method::POST,
            &["composite", "sobjects"],
            records,
            all_or_none,
            Idempotency::NonIdempotent,
        )
        .await
    }

    /// Updates records; each carries `attributes: {"type": ...}` and its `Id`.
    pub async fn update(&self, records: &[Value], all_or_none: bool) -> Result<Vec<RecordResult>> {
        for r in records {
            typed(r)?;
            let id = r
                .as_object()
                .and_then(|m| m.iter().find(|(k, _)| k.eq_ignore_ascii_case("id")))
                .and_then(|(_, v)| v.as_str());
            let id = id.ok_or_else(|| {
                Error::invalid_argument("records", "records to update must carry their Id")
            })?;
            RecordId::parse(id)
                .map_err(|e| Error::invalid_argument("records", format!("Id {id:?}: {e}")))?;
        }
        self.write(
            Method::PATCH,
            &["composite", "sobjects"],
            records,
            all_or_none,
            Idempotency::Idempotent,
        )
        .await
    }

    /// Upserts records of one object by an external id field that each record carries.
    pub async fn upsert(
        &self,
        object: &str,
        external_id_field: &str,
        records: &[Value],
        all_or_none: bool,
    ) -> Result<Vec<RecordResult>> {
        check_name("object", object)?;
        check_name("external_id_field", external_id_field)?;
        let with_type: Vec<Value> = records
            .iter()
            .map(|r| {
                let mut map = r.as_object().cloned().ok_or_else(|| {
                    Error::invalid_argument("records", "each record is a JSON object")
                })?;
                if !map
                    .keys()
                    .any(|k| k.eq_ignore_ascii_case(external_id_field))
                {
                    return Err(Error::invalid_argument(
                        "records",
                        format!("every record needs its {external_id_field}"),
                    ));
                }
                map.insert("attributes".into(), json!({"type": object}));
                Ok(Value::Object(map))
            })
            .collect::<Result<_>>()?;
        self.write(
            Method::PATCH,
            &["composite", "sobjects", object, external_id_field],
            &with_type,
            all_or_none,
            Idempotency::NonIdempotent,
        )
        .await
    }

    /// Deletes records by id.
    pub async fn delete(&self, ids: &[String], all_or_none: bool) -> Result<Vec<RecordResult>> {
        Self::check_atomic(ids.len(), all_or_none)?;
        for id in ids {
            parse_id("ids", id)?;
        }
        let client = self.client;
        self.chunked_writes(ids.len(), |range| {
            let chunk = ids.get(range).unwrap_or_default();
            async move {
                let mut url = client.data_url(&["composite", "sobjects"])?;
                url.query_pairs_mut()
                    .append_pair("ids", &chunk.join(","))
                    .append_pair("allOrNone", if all_or_none { "true" } else { "false" });
                let answer: Vec<RecordResult> = decode_json(
                    &client
                        .execute(RestCall::new(
                            Method::DELETE,
                            url,
                            None,
                            Idempotency::Idempotent,
                        ))
                        .await?,
                )?;
                check_count(answer, chunk.len())
            }
        })
        .await
    }

    /// Reads records of one object by id; None where an id matches no record.
    pub async fn retrieve(
        &self,
        object: &str,
        ids: &[String],
        fields: &[String],
    ) -> Result<Vec<Option<Record>>> {
        check_name("object", object)?;
        if fields.is_empty() {
            return Err(Error::invalid_argument("fields", "name at least one field"));
        }
        for f in fields {
            check_name("fields", f)?;
        }
        for id in ids {
            parse_id("ids", id)?;
        }
        let client = self.client;
        self.chunked(ids.len(), |range| {
            let chunk = ids.get(range).unwrap_or_default();
            async move {
                let url = client.data_url(&["composite", "sobjects", object])?;
                let body = serde_json::to_vec(&json!({"ids": chunk, "fields": fields}))
                    .map_err(|e| Error::invalid_argument("ids", e.to_string()))?;
                // A read, though sent as POST: safe to replay.
                let answer: Vec<Option<Record>> = decode_json(
                    &client
                        .execute(RestCall::new(
                            Method::POST,
                            url,
                            Some(Bytes::from(body)),
                            Idempotency::Idempotent,
                        ))
                        .await?,
                )?;
                check_count(answer, chunk.len())
            }
        })
        .await
    }
}

fn typed(record: &Value) -> Result<()> {
    match record.pointer("/attributes/type").and_then(Value::as_str) {
        Some(t) => check_name("attributes.type", t),
        None => Err(Error::invalid_argument(
            "records",
            "every record needs attributes.type, as Salesforce does",
        )),
    }
}

/// One answer per record sent, or the call went wrong.
fn check_count<T>(answer: Vec<T>, sent: usize) -> Result<Vec<T>> {
    if answer.len() == sent {
        Ok(answer)
    } else {
        Err(Error::UnexpectedResponse {
            status: 200,
            message: format!("{} results for {sent} records", answer.len()),
        })
    }
}

/// The index ranges of the calls a collection of `count` records takes.
fn chunk_ranges(count: usize) -> Vec<std::ops::Range<usize>> {
    (0..count)
        .step_by(MAX_RECORDS_PER_CALL)
        .map(|start| start..(start + MAX_RECORDS_PER_CALL).min(count))
        .collect()
}
