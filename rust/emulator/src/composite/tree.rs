//! `POST /composite/tree/{object}`: a record tree saved all or nothing, children under their
//! parents' relationship names.

use crate::http_kit::failure::ApiFailure;
use crate::http_kit::reply::Reply;
use crate::model::datetime::format_datetime;
use crate::model::store::Store;
use axum::http::StatusCode;
use serde_json::{json, Map, Value};

const MAX_TREE_RECORDS: usize = 200;

pub(super) fn tree(
    store: &mut Store,
    version: &str,
    object: &str,
    body: &Value,
) -> Result<Reply, ApiFailure> {
    let roots = body
        .get("records")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiFailure::json_parser("records is required"))?;
    let total = forcelink_wire::tree_size(roots);
    if total > MAX_TREE_RECORDS {
        return Err(ApiFailure::bad_request(
            "LIMIT_EXCEEDED",
            format!("Too many records: {total}; the limit is {MAX_TREE_RECORDS}"),
        ));
    }
    let root_type = store.object(object)?.meta.name.clone();
    let snapshot = store.clone();
    let now = format_datetime(chrono::Utc::now());
    let mut created = Vec::new();
    let mut errors = Vec::new();
    let mut level: Vec<(Value, Option<(String, String)>)> =
        roots.iter().map(|r| (r.clone(), None)).collect();
    let mut first = true;
    while !level.is_empty() {
        let mut next = Vec::new();
        for (record, parent) in level {
            let reference = record
                .pointer("/attributes/referenceId")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let record_type = record
                .pointer("/attributes/type")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            if reference.is_empty()
                || record_type.is_empty()
                || (first && !record_type.eq_ignore_ascii_case(&root_type))
            {
                errors.push(json!({"referenceId": reference, "errors": [{"statusCode": "INVALID_INPUT", "message": "Each record needs attributes.type (the URL's object for roots) and attributes.referenceId", "fields": []}]}));
                continue;
            }
            let Value::Object(map) = &record else {
                continue;
            };
            let mut fields = Map::new();
            let mut children = Vec::new();
            for (k, v) in map {
                if k == "attributes" {
                    continue;
                }
                match v.get("records").and_then(Value::as_array) {
                    Some(kids) if v.is_object() => children.push((k.clone(), kids.clone())),
                    _ => {
                        fields.insert(k.clone(), v.clone());
                    }
                }
            }
            if let Some((field, parent_id)) = &parent {
                fields.insert(field.clone(), Value::String(parent_id.clone()));
            }
            match store.create(&record_type, &Value::Object(fields), &now) {
                Ok(id) => {
                    created.push(json!({"referenceId": reference, "id": id}));
                    for (relationship, kids) in children {
                        match store.child_relationship(&record_type, &relationship) {
                            Some((_, _, field)) => next.extend(kids.into_iter().map(|k| (k, Some((field.clone(), id.clone()))))),
                            None => errors.push(json!({"referenceId": reference, "errors": [{"statusCode": "INVALID_FIELD", "message": format!("No such relationship '{relationship}' on {record_type}"), "fields": []}]})),
                        }
                    }
                }
                Err(e) => errors.push(json!({"referenceId": reference, "errors": [{"statusCode": e.code, "message": e.message, "fields": e.fields}]})),
            }
        }
        level = next;
        first = false;
    }
    let _ = version;
    if errors.is_empty() {
        Ok(Reply::with_status(
            StatusCode::CREATED,
            json!({"hasErrors": false, "results": created}),
        ))
    } else {
        *store = snapshot;
        Ok(Reply::with_status(
            StatusCode::BAD_REQUEST,
            json!({"hasErrors": true, "results": errors}),
        ))
    }
}
