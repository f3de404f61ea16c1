//! sObjects over REST: the object list, an object's summary and describe, a record's create,
//! read (conditional), update and delete by id or external id, upsert, relationship traversal,
//! and the replication calls under `/sobjects/{object}/updated|deleted`. Platform events posted
//! here go to the event bus.

use crate::http_kit::conditional::conditional;
use crate::http_kit::failure::{method_not_allowed, ApiFailure};
use crate::http_kit::reply::Reply;
use crate::http_kit::request::{fields_param, need_body, query_params, version_number, Call};
use crate::model::datetime::format_datetime;
use crate::model::store::{Store, UpsertOutcome};
use crate::org::Org;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

/// Answers a call under `/sobjects`.
pub fn dispatch(org: &Org, store: &mut Store, call: &Call<'_>) -> Result<Reply, ApiFailure> {
    let now = format_datetime(chrono::Utc::now());
    let version = call.version;
    let sobject_url =
        |object: &str, id: &str| format!("/services/data/v{version}/sobjects/{object}/{id}");
    match (call.method.clone(), call.parts) {
        (Method::GET, ["sobjects"]) => {
            let sobjects: Vec<Value> = store.objects().map(|o| o.summary(version)).collect();
            Ok(Reply::ok(
                json!({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects}),
            ))
        }
        (Method::GET, ["sobjects", object]) => {
            let o = store.object(object)?;
            Ok(Reply::ok(
                json!({"objectDescribe": o.meta.summary(version), "recentItems": []}),
            ))
        }
        (Method::POST, ["sobjects", object]) if object.ends_with("__e") => {
            crate::events::rest::publish_event(org, store, object, need_body(call)?)
        }
        (Method::POST, ["sobjects", object]) => {
            let id = store.create(object, need_body(call)?, &now)?;
            let name = store.object(object)?.meta.name.clone();
            Ok(Reply::created(
                json!({"id": id, "success": true, "errors": []}),
                sobject_url(&name, &id),
            ))
        }
        (Method::GET, ["sobjects", object, "eventSchema"]) if object.ends_with("__e") => {
            let event = org
                .events
                .event_type(object)
                .ok_or_else(ApiFailure::not_found)?;
            crate::events::rest::event_schema(org, &event.schema_id, call.query)
        }
        (Method::GET, ["sobjects", object, which @ ("updated" | "deleted")]) => {
            let params = query_params(call.query);
            Ok(Reply::ok(crate::replication::changed(
                store,
                object,
                *which == "deleted",
                &params,
            )?))
        }
        (Method::GET, ["sobjects", object, "describe"]) => {
            Ok(Reply::ok(store.describe(object, version)?))
        }
        (_, ["sobjects", _, "describe"]) => Err(method_not_allowed(&call.method, "GET,HEAD")),
        (Method::GET, ["sobjects", object, id]) => {
            let fields = fields_param(call.query);
            let body = store.render(object, id, fields.as_deref(), version)?;
            Ok(conditional(body, &call.conditions))
        }
        (Method::PATCH, ["sobjects", object, id]) => {
            store.update(object, id, need_body(call)?, &now)?;
            Ok(Reply::no_content())
        }
        (Method::DELETE, ["sobjects", object, id]) => {
            store.delete(object, id, &now)?;
            Ok(Reply::no_content())
        }
        (Method::GET, ["sobjects", object, id, relationship])
            if store.object(object)?.meta.field(id).is_none()
                && forcelink_wire::RecordId::parse(id).is_ok() =>
        {
            crate::traversal::follow(store, object, id, relationship, version)
        }
        (Method::GET, ["sobjects", object, field, value]) => {
            let id = external_match(store, object, field, value)?;
            let fields = fields_param(call.query);
            Ok(Reply::ok(store.render(
                object,
                &id,
                fields.as_deref(),
                version,
            )?))
        }
        (Method::DELETE, ["sobjects", object, field, value]) => {
            let id = external_match(store, object, field, value)?;
            store.delete(object, &id, &now)?;
            Ok(Reply::no_content())
        }
        (Method::PATCH, ["sobjects", object, field, value]) => {
            let outcome = store.upsert(object, field, value, need_body(call)?, &now)?;
            let name = store.object(object)?.meta.name.clone();
            Ok(upsert_reply(outcome, version, &name))
        }
        _ => Err(method_not_allowed(
            &call.method,
            allowed_methods(call.parts),
        )),
    }
}

fn upsert_reply(outcome: UpsertOutcome, version: &str, object: &str) -> Reply {
    match outcome {
        UpsertOutcome::Created(id) => Reply::created(
            json!({"id": id, "success": true, "errors": [], "created": true}),
            format!("/services/data/v{version}/sobjects/{object}/{id}"),
        ),
        UpsertOutcome::Updated(_) if version_number(version) < 46 => Reply::no_content(),
        UpsertOutcome::Updated(id) => {
            Reply::ok(json!({"id": id, "success": true, "errors": [], "created": false}))
        }
        UpsertOutcome::MultipleMatches(ids) => {
            let urls: Vec<Value> = ids
                .iter()
                .map(|id| {
                    Value::String(format!("/services/data/v{version}/sobjects/{object}/{id}"))
                })
                .collect();
            Reply::with_status(StatusCode::MULTIPLE_CHOICES, Value::Array(urls))
        }
    }
}

fn external_match(
    store: &Store,
    object: &str,
    field: &str,
    value: &str,
) -> Result<String, ApiFailure> {
    let o = store.object(object)?;
    let f = o
        .meta
        .field(field)
        .filter(|f| f.external_id || &*f.name == "Id")
        .ok_or_else(|| {
            ApiFailure::new(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                format!("Provided external ID field does not exist or is not accessible: {field}"),
            )
        })?;
    let key = crate::model::values::coerce(f, Value::String(value.to_owned()))?;
    let key_text = key
        .as_str()
        .map(str::to_lowercase)
        .unwrap_or_else(|| key.to_string());
    let ids: Vec<String> = o
        .records
        .iter()
        .filter(|(_, r)| !r.deleted)
        .filter(|(_, r)| {
            r.fields.get(&f.name).is_some_and(|v| {
                v.as_str()
                    .map(str::to_lowercase)
                    .unwrap_or_else(|| v.to_string())
                    == key_text
            })
        })
        .map(|(id, _)| id.to_string())
        .collect();
    match ids.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(ApiFailure::not_found()),
        _ => Err(ApiFailure::new(
            StatusCode::MULTIPLE_CHOICES,
            "MULTIPLE_CHOICES",
            "more than one record matches",
        )),
    }
}

fn allowed_methods(parts: &[&str]) -> &'static str {
    match parts {
        ["sobjects", _] => "GET,HEAD,POST",
        ["sobjects", _, "describe"] => "GET,HEAD",
        ["sobjects", _, _] => "GET,PATCH,DELETE,HEAD",
        ["sobjects", _, _, _] => "GET,PATCH,DELETE,HEAD",
        _ => "GET,HEAD",
    }
}
