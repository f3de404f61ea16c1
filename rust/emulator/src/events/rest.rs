//! The event bus over REST: publishing a platform event (`POST /sobjects/Name__e`) and reading an
//! event schema (`/event/eventSchema/{id}`, `/sobjects/Name__e/eventSchema`).

use super::{oversize_message, uuid, MAX_EVENT_BYTES};
use crate::http_kit::failure::ApiFailure;
use crate::http_kit::reply::Reply;
use crate::http_kit::request::query_params;
use crate::model::changes::PendingEvent;
use crate::model::store::Store;
use crate::org::Org;
use axum::http::StatusCode;
use serde_json::{json, Value};

/// An event schema over REST: COMPACT is the Avro schema with its id as `uuid`; EXPANDED (the
/// default) wraps the payload record with the schema id, replay id and channel.
pub fn event_schema(org: &Org, schema_id: &str, query: Option<&str>) -> Result<Reply, ApiFailure> {
    let params = query_params(query);
    let format = params
        .get("payloadFormat")
        .map(String::as_str)
        .unwrap_or("EXPANDED");
    let json = org
        .events
        .schema_json(schema_id)
        .ok_or_else(ApiFailure::not_found)?;
    let mut schema: Value =
        serde_json::from_str(&json).map_err(|e| ApiFailure::internal(e.to_string()))?;
    match format {
        "COMPACT" => {
            if let Value::Object(map) = &mut schema {
                map.insert("uuid".into(), Value::String(schema_id.to_owned()));
            }
            Ok(Reply::ok(schema))
        }
        "EXPANDED" => {
            let name = schema["name"].clone();
            let mut payload = schema;
            if let Value::Object(map) = &mut payload {
                map.insert("name".into(), json!("Payload"));
                map.remove("namespace");
            }
            Ok(Reply::ok(json!({
                "name": name,
                "namespace": "com.sforce.eventbus",
                "type": "expanded-record",
                "fields": [
                    {"name": "data", "type": {"type": "record", "name": "Data", "namespace": "", "fields": [
                        {"name": "schema", "type": "string"},
                        {"name": "payload", "type": payload},
                        {"name": "event", "type": {"type": "record", "name": "Event",
                            "fields": [{"name": "replayId", "type": "long"}]}}
                    ]}},
                    {"name": "channel", "type": "string"}
                ]
            })))
        }
        other => Err(ApiFailure::bad_request(
            "INVALID_PARAMETER_VALUE",
            format!("Invalid payloadFormat: {other}. Use EXPANDED or COMPACT."),
        )),
    }
}

/// POST /sobjects/Name__e: the event is queued for the transaction's commit and answered 201
/// with OPERATION_ENQUEUED and the event's UUID.
pub fn publish_event(
    org: &Org,
    store: &mut Store,
    name: &str,
    body: &Value,
) -> Result<Reply, ApiFailure> {
    let event = org.events.event_type(name).ok_or_else(|| {
        ApiFailure::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("The requested resource does not exist: sobject type '{name}'"),
        )
    })?;
    let Value::Object(fields) = body else {
        return Err(ApiFailure::json_parser(
            "The request body must be a JSON object",
        ));
    };
    let now = chrono::Utc::now().timestamp_millis();
    let payload = event
        .encode_json(fields, &store.user_id, now)
        .map_err(|(field, code)| {
            let message = if code == "INVALID_FIELD" {
                format!("No such column '{field}' on sobject of type {}", event.name)
            } else {
                format!(
                    "Cannot deserialize value of field {field} of {}",
                    event.name
                )
            };
            let mut failure = ApiFailure::bad_request(code, message);
            failure.fields = vec![field];
            failure
        })?;
    if payload.len() > MAX_EVENT_BYTES {
        return Err(ApiFailure::bad_request(
            "PAYLOAD_SIZE_EXCEEDED",
            oversize_message(payload.len()),
        ));
    }
    let uuid = uuid();
    store.queue_event(PendingEvent {
        topic: format!("/event/{}", event.name),
        uuid: uuid.clone(),
        payload,
        schema_id: event.schema_id.clone(),
    });
    let id = org.events.next_event_record_id(&org.pod);
    Ok(Reply::with_status(
        StatusCode::CREATED,
        json!({"id": id, "success": true,
               "errors": [{"statusCode": "OPERATION_ENQUEUED", "message": uuid, "fields": []}]}),
    ))
}
