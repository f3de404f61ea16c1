//! sObject CRUD, upsert by external id, describe and describe global.

use crate::client::{decode_json, Client, RestCall};
use crate::error::{ApiErrorItem, Attempts, Error, Result};
use crate::resilience::Idempotency;
use bytes::Bytes;
use forcelink_wire::RecordId;
use http::Method;
use serde::Deserialize;
use serde_json::{Map, Value};

/// A record as Salesforce sends it: field name to JSON value, `attributes` included.
pub type Record = Map<String, Value>;

/// The answer to a create.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SaveResult {
    pub id: String,
    pub success: bool,
    #[serde(default)]
    pub errors: Vec<ApiErrorItem>,
}

/// The answer to an upsert: whether the record was created or an existing one updated.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UpsertResult {
    /// The record id; None only on API versions before 46.0, which answer an update with 204.
    pub id: Option<String>,
    pub created: bool,
    #[serde(default = "yes")]
    pub success: bool,
    #[serde(default)]
    pub errors: Vec<ApiErrorItem>,
}

fn yes() -> bool {
    true
}

/// One field of a describe answer (the commonly used subset; the rest is in `raw`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldDescribe {
    pub name: String,
    #[serde(default)]
    pub label: String,
    #[serde(rename = "type")]
    pub field_type: String,
    #[serde(default)]
    pub length: u64,
    #[serde(default)]
    pub nillable: bool,
    #[serde(default)]
    pub createable: bool,
    #[serde(default)]
    pub updateable: bool,
    #[serde(default)]
    pub unique: bool,
    #[serde(default)]
    pub external_id: bool,
    #[serde(default)]
    pub custom: bool,
    #[serde(default)]
    pub defaulted_on_create: bool,
    #[serde(default)]
    pub reference_to: Vec<String>,
    #[serde(default)]
    pub relationship_name: Option<String>,
    #[serde(default)]
    pub picklist_values: Vec<PicklistValue>,
    /// The compound field this one is a part of (`BillingAddress` for `BillingCity`).
    #[serde(default)]
    pub compound_field_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PicklistValue {
    pub value: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub active: bool,
    #[serde(default)]
    pub default_value: bool,
}

/// `GET /sobjects/{name}/describe`.
#[derive(Debug, Clone, PartialEq)]
pub struct SObjectDescribe {
    pub name: String,
    pub label: String,
    pub label_plural: String,
    pub key_prefix: Option<String>,
    pub custom: bool,
    pub createable: bool,
    pub updateable: bool,
    pub deletable: bool,
    pub queryable: bool,
    pub fields: Vec<FieldDescribe>,
    /// The whole answer, for what the typed fields leave out.
    pub raw: Record,
}

impl SObjectDescribe {
    /// Reads a describe answer (`GET /sobjects/{name}/describe`) as Salesforce sent it.
    pub fn from_raw(raw: Record) -> Result<Self> {
        let head: DescribeHead =
            serde_json::from_value(Value::Object(raw.clone())).map_err(|e| {
                Error::UnexpectedResponse {
                    status: 200,
                    message: format!("cannot read the describe answer: {e}"),
                }
            })?;
        Ok(SObjectDescribe {
            name: head.name,
            label: head.label,
            label_plural: head.label_plural,
            key_prefix: head.key_prefix,
            custom: head.custom,
            createable: head.createable,
            updateable: head.updateable,
            deletable: head.deletable,
            queryable: head.queryable,
            fields: head.fields,
            raw,
        })
    }

    /// The field called `name` (case-insensitive, as Salesforce names are).
    pub fn field(&self, name: &str) -> Option<&FieldDescribe> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeHead {
    name: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    label_plural: String,
    #[serde(default)]
    key_prefix: Option<String>,
    #[serde(default)]
    custom: bool,
    #[serde(default)]
    createable: bool,
    #[serde(default)]
    updateable: bool,
    #[serde(default)]
    deletable: bool,
    #[serde(default)]
    queryable: bool,
    #[serde(default)]
    fields: Vec<FieldDescribe>,
}

/// One object in a describe-global answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SObjectSummary {
    pub name: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub label_plural: String,
    #[serde(default)]
    pub key_prefix: Option<String>,
    #[serde(default)]
    pub custom: bool,
    #[serde(default)]
    pub createable: bool,
    #[serde(default)]
    pub updateable: bool,
    #[serde(default)]
    pub deletable: bool,
    #[serde(default)]
    pub queryable: bool,
}

/// `GET /sobjects`: every object of the org.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeGlobal {
    #[serde(default)]
    pub encoding: String,
    #[serde(default)]
    pub max_batch_size: u32,
    pub sobjects: Vec<SObjectSummary>,
}

/// The sObject service of a [`Client`].
pub struct SObjects<'a> {
    client: &'a Client,
}

impl<'a> SObjects<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Creates a record (`POST /sobjects/{object}`).
    pub async fn create(&self, object: &str, record: &Value) -> Result<SaveResult> {
        check_name("object", object)?;
        let body = record_body(record)?;
        let url = self.client.data_url(&["sobjects", object])?;
        let response = self
            .client
            .execute(call(
                Method::POST,
                url,
                Some(body),
                Idempotency::NonIdempotent,
            ))
            .await?;
        decode_json(&response)
    }

    /// Reads a record; with `fields`, only those (plus `Id` and `attributes`).
    pub async fn get(&self, object: &str, id: &str, fields: Option<&[String]>) -> Result<Record> {
        check_name("object", object)?;
        let id = check_id(id)?;
        let mut url = self.client.data_url(&["sobjects", object, id.as_str()])?;
        set_fields(&mut url, fields)?;
        self.client.get_json(url).await
    }

    /// Reads a record by an external id field's value.
    pub async fn get_by_external_id(
        &self,
        object: &str,
        field: &str,
        value: &str,
        fields: Option<&[String]>,
    ) -> Result<Record> {
        check_name("object", object)?;
        check_name("external_id_field", field)?;
        check_external_value(value)?;
        let mut url = self.client.data_url(&["sobjects", object, field, value])?;
        set_fields(&mut url, fields)?;
        self.client.get_json(url).await
    }

    /// Updates the given fields of a record (`PATCH`); a JSON null clears a field.
    pub async fn update(&self, object: &str, id: &str, record: &Value) -> Result<()> {
        check_name("object", object)?;
        let id = check_id(id)?;
        let body = record_body(record)?;
        let url = self.client.data_url(&["sobjects", object, id.as_str()])?;
        self.client
            .execute(call(
                Method::PATCH,
                url,
                Some(body),
                Idempotency::Idempotent,
            ))
            .await?;
        Ok(())
    }

    /// Inserts or updates the record whose `field` equals `value`. More than one match is
    /// [`Error::MultipleMatches`], listing the matching records; nothing is written then.
    pub async fn upsert(
        &self,
        object: &str,
        field: &str,
        value: &str,
        record: &Value,
    ) -> Result<UpsertResult> {
        check_name("object", object)?;
        check_name("external_id_field", field)?;
        check_external_value(value)?;
        let body = record_body(record)?;
        let url = self.client.data_url(&["sobjects", object, field, value])?;
        let mut upsert = call(Method::PATCH, url, Some(body), Idempotency::NonIdempotent);
        upsert.accept_status = &[300];
        let response = self.client.execute(upsert).await?;
        match response.status.as_u16() {
            300 => Err(Error::MultipleMatches {
                matches: multiple_choices(&response.body),
                attempts: Attempts::default(),
            }),
            204 => Ok(UpsertResult {
                id: None,
                created: false,
                success: true,
                errors: Vec::new(),
            }),
            _ => decode_json(&response),
        }
    }

    /// Deletes a record; deleting it again answers ENTITY_IS_DELETED.
    pub async fn delete(&self, object: &str, id: &str) -> Result<()> {
        check_name("object", object)?;
        let id = check_id(id)?;
        let url = self.client.data_url(&["sobjects", object, id.as_str()])?;
        self.client
            .execute(call(Method::DELETE, url, None, Idempotency::Idempotent))
            .await?;
        Ok(())
    }

    /// Describes an object: its fields, their types and properties.
    /// The ids of `object` records created or changed from `start` to `end` (ISO 8601
    /// datetimes; `GET /sobjects/{type}/updated`): `{"ids": [...], "latestDateCovered": ...}`.
    pub async fn get_updated(&self, object: &str, start: &str, end: &str) -> Result<Record> {
        self.changed(object, "updated", start, end).await
    }

    /// The `object` records deleted from `start` to `end` (`GET /sobjects/{type}/deleted`):
    /// `{"deletedRecords": [{"id", "deletedDate"}], "earliestDateAvailable", "latestDateCovered"}`.
    pub async fn get_deleted(&self, object: &str, start: &str, end: &str) -> Result<Record> {
        self.changed(object, "deleted", start, end).await
    }

    async fn changed(&self, object: &str, which: &str, start: &str, end: &str) -> Result<Record> {
        check_name("object", object)?;
        for (name, value) in [("start", start), ("end", end)] {
            if chrono::DateTime::parse_from_rfc3339(value).is_err() {
                return Err(Error::invalid_argument(
                    name,
                    format!("expected an ISO 8601 datetime with an offset, got {value:?}"),
                ));
            }
        }
        let mut url = self.client.data_url(&["sobjects", object, which])?;
        url.query_pairs_mut()
            .append_pair("start", start)
            .append_pair("end", end);
        self.client.get_json(url).await
    }

    pub async fn describe(&self, object: &str) -> Result<SObjectDescribe> {
        check_name("object", object)?;
        let url = self.client.data_url(&["sobjects", object, "describe"])?;
        let raw: Record = self.client.get_json(url).await?;
        SObjectDescribe::from_raw(raw)
    }

    /// Lists every object of the org.
    pub async fn describe_global(&self) -> Result<DescribeGlobal> {
        let url = self.client.data_url(&["sobjects"])?;
        self.client.get_json(url).await
    }
}

fn call(method: Method, url: url::Url, body: Option<Bytes>, idempotency: Idempotency) -> RestCall {
    RestCall::new(method, url, body, idempotency)
}

/// The 300 answer lists the matching records, as URL strings or as record objects.
fn multiple_choices(body: &[u8]) -> Vec<String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(items)) => items
            .into_iter()
            .map(|item| match item {
                Value::String(s) => s,
                other => other
                    .pointer("/attributes/url")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or_else(|| other.to_string()),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Object and field names are API names: a letter, then letters, digits and underscores.
/// Checking them keeps user input from changing the request path.
pub(crate) fn check_name(argument: &str, name: &str) -> Result<()> {
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 255;
    if valid {
        Ok(())
    } else {
        Err(Error::invalid_argument(
            argument,
            format!("{name:?} is not a Salesforce API name"),
        ))
    }
}

fn check_id(id: &str) -> Result<RecordId> {
    parse_id("id", id)
}

/// Parses a record id given as `argument`; the error quotes only the start of a long one (a
/// hostile id can be megabytes).
pub(crate) fn parse_id(argument: &str, id: &str) -> Result<RecordId> {
    RecordId::parse(id).map_err(|e| {
        let shown: String = id.chars().take(40).collect();
        let more = if shown.len() < id.len() { "..." } else { "" };
        Error::invalid_argument(argument, format!("{shown:?}{more}: {e}"))
    })
}

fn check_external_value(value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid_argument(
            "external_id_value",
            "must not be empty",
        ));
    }
    Ok(())
}

fn set_fields(url: &mut url::Url, fields: Option<&[String]>) -> Result<()> {
    if let Some(fields) = fields {
        if fields.is_empty() {
            return Err(Error::invalid_argument(
                "fields",
                "give at least one field, or none at all",
            ));
        }
        for f in fields {
            check_name("fields", f)?;
        }
        url.query_pairs_mut()
            .append_pair("fields", &fields.join(","));
    }
    Ok(())
}

/// A record body must be a JSON object; `attributes` is Salesforce's own and is dropped.
/// A record to send: a JSON object whose keys are field names (`attributes` aside).
pub(crate) fn check_record(record: &Value) -> Result<&Map<String, Value>> {
    let Value::Object(map) = record else {
        return Err(Error::invalid_argument(
            "record",
            "must be a JSON object of field values",
        ));
    };
    for key in map.keys() {
        if key != "attributes" {
            check_name("record", key)?;
        }
    }
    Ok(map)
}

fn record_body(record: &Value) -> Result<Bytes> {
    let map = check_record(record)?;
    let bytes = if map.contains_key("attributes") {
        let mut copy = map.clone();
        copy.remove("attributes");
        serde_json::to_vec(&copy)
    } else {
        serde_json::to_vec(map)
    };
    bytes
        .map(Bytes::from)
        .map_err(|e| Error::invalid_argument("record", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_change_the_path_are_refused() {
        for bad in [
            "",
            "Account/../x",
            "Acc ount",
            "1Account",
            "Account?x=1",
            "Ac%2F",
        ] {
            assert!(check_name("object", bad).is_err(), "{bad}");
        }
        for good in ["Account", "Invoice__c", "ns__Thing__c", "X1"] {
            assert!(check_name("object", good).is_ok(), "{good}");
        }
    }

    #[test]
    fn record_bodies_drop_attributes_and_refuse_non_objects() {
        let body =
            record_body(&serde_json::json!({"attributes": {"type": "Account"}, "Name": "A"}))
                .unwrap();
        assert_eq!(&body[..], br#"{"Name":"A"}"#);
        assert!(record_body(&serde_json::json!(["Name"])).is_err());
        assert!(record_body(&serde_json::json!({"Bad Name": 1})).is_err());
    }

    #[test]
    fn multiple_choice_bodies_become_record_urls() {
        let urls = multiple_choices(br#"["/services/data/v62.0/sobjects/Account/001","/x/002"]"#);
        assert_eq!(urls.len(), 2);
        let objs = multiple_choices(br#"[{"attributes":{"url":"/a/1"}}]"#);
        assert_eq!(objs, vec!["/a/1".to_owned()]);
    }
}
