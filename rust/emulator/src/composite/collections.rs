//! sObject collections: create, update and upsert up to 200 records (allOrNone or each on its
//! own), delete by ids, and retrieve by ids and fields.

use super::{flag, split_list};
use crate::http_kit::failure::ApiFailure;
use crate::http_kit::reply::Reply;
use crate::http_kit::request::query_params;
use crate::model::datetime::format_datetime;
use crate::model::store::{Store, UpsertOutcome};
use serde_json::{json, Value};

const MAX_COLLECTION: usize = 200;

pub(super) enum Write {
    Create,
    Update,
    Upsert(String, String),
}

fn record_error(e: &ApiFailure) -> Value {
    json!({"statusCode": e.code, "message": e.message, "fields": e.fields})
}

pub(super) fn collection_write(
    store: &mut Store,
    body: &Value,
    op: Write,
) -> Result<Reply, ApiFailure> {
    let all_or_none = flag(body, "allOrNone");
    let records = body
        .get("records")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiFailure::json_parser("records is required"))?;
    if records.len() > MAX_COLLECTION {
        return Err(ApiFailure::bad_request(
            "EXCEEDED_ID_LIMIT",
            format!("record limit exceeded: at most {MAX_COLLECTION} records"),
        ));
    }
    let snapshot = all_or_none.then(|| store.clone());
    let now = format_datetime(chrono::Utc::now());
    let mut results = Vec::with_capacity(records.len());
    let mut failed = false;
    for record in records {
        let outcome: Result<Value, ApiFailure> = (|| {
            let mut fields = record
                .as_object()
                .cloned()
                .ok_or_else(|| ApiFailure::json_parser("each record is a JSON object"))?;
            let attributes = fields.remove("attributes");
            let record_type = attributes
                .as_ref()
                .and_then(|a| a.get("type"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            match &op {
                Write::Create => {
                    let t = record_type.ok_or_else(|| {
                        ApiFailure::bad_request("INVALID_INPUT", "attributes.type is required")
                    })?;
                    if fields.keys().any(|k| k.eq_ignore_ascii_case("id")) {
                        return Err(ApiFailure::bad_request(
                            "INVALID_FIELD",
                            "cannot specify Id in an insert call",
                        )
                        .with_fields(vec!["Id".into()]));
                    }
                    let id = store.create(&t, &Value::Object(fields), &now)?;
                    Ok(json!({"id": id, "success": true, "errors": []}))
                }
                Write::Update => {
                    let t = record_type.ok_or_else(|| {
                        ApiFailure::bad_request("INVALID_INPUT", "attributes.type is required")
                    })?;
                    let id_key = fields
                        .keys()
                        .find(|k| k.eq_ignore_ascii_case("id"))
                        .cloned();
                    let id = id_key
                        .and_then(|k| fields.remove(&k))
                        .and_then(|v| v.as_str().map(str::to_owned));
                    let id = id.ok_or_else(|| {
                        ApiFailure::bad_request(
                            "MISSING_ARGUMENT",
                            "Id not specified in an update call",
                        )
                    })?;
                    store
                        .update(&t, &id, &Value::Object(fields), &now)
                        .map_err(|e| {
                            if e.code == "MALFORMED_ID" {
                                ApiFailure::bad_request(
                                    "MALFORMED_ID",
                                    format!("malformed id {id}"),
                                )
                            } else {
                                e
                            }
                        })?;
                    Ok(json!({"id": id, "success": true, "errors": []}))
                }
                Write::Upsert(object, field) => {
                    let ext = store
                        .object(object)?
                        .meta
                        .field(field)
                        .filter(|f| f.external_id || &*f.name == "Id")
                        .map(|f| f.name.clone())
                        .ok_or_else(ApiFailure::not_found)?;
                    let key_name = fields
                        .keys()
                        .find(|k| k.eq_ignore_ascii_case(&ext))
                        .cloned();
                    let value = key_name
                        .as_ref()
                        .and_then(|k| fields.get(k))
                        .map(|v| match v {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        });
                    let value = value.ok_or_else(|| {
                        ApiFailure::bad_request("MISSING_ARGUMENT", format!("{ext} not specified"))
                    })?;
                    if let Some(k) = key_name {
                        fields.remove(&k);
                    }
                    match store.upsert(object, &ext, &value, &Value::Object(fields), &now)? {
                        UpsertOutcome::Created(id) => {
                            Ok(json!({"id": id, "success": true, "errors": [], "created": true}))
                        }
                        UpsertOutcome::Updated(id) => {
                            Ok(json!({"id": id, "success": true, "errors": [], "created": false}))
                        }
                        UpsertOutcome::MultipleMatches(_) => Err(ApiFailure::bad_request(
                            "DUPLICATE_EXTERNAL_ID",
                            format!("{ext}: more than one record found for external id field"),
                        )),
                    }
                }
            }
        })();
        match outcome {
            Ok(v) => results.push(v),
            Err(e) => {
                failed = true;
                results.push(json!({"success": false, "errors": [record_error(&e)]}));
            }
        }
    }
    Ok(Reply::ok(Value::Array(finish_all_or_none(
        store, snapshot, failed, results,
    ))))
}

/// With allOrNone, a failure rolls everything back and the would-be successes say so.
fn finish_all_or_none(
    store: &mut Store,
    snapshot: Option<Store>,
    failed: bool,
    results: Vec<Value>,
) -> Vec<Value> {
    match (failed, snapshot) {
        (true, Some(snapshot)) => {
            *store = snapshot;
            results
                .into_iter()
                .map(|r| {
                    if r.get("success").and_then(Value::as_bool) == Some(true) {
                        json!({"success": false, "errors": [{"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "message": "Record rolled back because not all records were valid and the request was using AllOrNone header", "fields": []}]})
                    } else {
                        r
                    }
                })
                .collect()
        }
        _ => results,
    }
}

pub(super) fn collection_delete(
    store: &mut Store,
    query: Option<&str>,
) -> Result<Reply, ApiFailure> {
    let params = query_params(query);
    let ids = split_list(params.get("ids").map(String::as_str).unwrap_or_default());
    if ids.len() > MAX_COLLECTION {
        return Err(ApiFailure::bad_request(
            "EXCEEDED_ID_LIMIT",
            format!("record limit exceeded: at most {MAX_COLLECTION} ids"),
        ));
    }
    let all_or_none = params
        .get("allOrNone")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let snapshot = all_or_none.then(|| store.clone());
    let now = format_datetime(chrono::Utc::now());
    let mut failed = false;
    let results = ids
        .iter()
        .map(|id| {
            match store
                .object_of(id)
                .and_then(|object| store.delete(&object, id, &now))
            {
                Ok(()) => json!({"id": id, "success": true, "errors": []}),
                // As Salesforce documents it, a malformed id's entry carries no id.
                Err(e) if e.code == "MALFORMED_ID" => {
                    failed = true;
                    json!({"success": false, "errors": [{
                        "statusCode": "MALFORMED_ID",
                        "message": format!("malformed id {id}"),
                        "fields": [],
                    }]})
                }
                Err(e) => {
                    failed = true;
                    json!({"id": id, "success": false, "errors": [record_error(&e)]})
                }
            }
        })
        .collect();
    Ok(Reply::ok(Value::Array(finish_all_or_none(
        store, snapshot, failed, results,
    ))))
}

pub(super) fn retrieve(
    store: &Store,
    version: &str,
    object: &str,
    ids: &[String],
    fields: &[String],
) -> Result<Reply, ApiFailure> {
    if fields.is_empty() {
        return Err(ApiFailure::bad_request(
            "MISSING_ARGUMENT",
            "fields is required",
        ));
    }
    if ids.len() > 2000 {
        return Err(ApiFailure::bad_request(
            "EXCEEDED_ID_LIMIT",
            "at most 2000 ids",
        ));
    }
    let meta = &store.object(object)?.meta;
    for f in fields {
        if meta.field(f).is_none() {
            return Err(ApiFailure::bad_request(
                "INVALID_FIELD",
                format!("No such column '{f}' on sobject of type {}", meta.name),
            ));
        }
    }
    let records: Vec<Value> = ids
        .iter()
        .map(|id| {
            store
                .render(object, id, Some(fields), version)
                .unwrap_or(Value::Null)
        })
        .collect();
    Ok(Reply::ok(Value::Array(records)))
}
