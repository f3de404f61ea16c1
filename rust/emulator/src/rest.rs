//! `/services/data`: versions, resources, sObjects, describe, limits. One dispatcher reads the
//! path segments, so trailing slashes and any `vNN.N` work as they do on Salesforce.

use crate::failure::ApiFailure;
use crate::org::Org;
use crate::store::{format_datetime, Store, UpsertOutcome};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;

/// The largest JSON body a REST call takes (bulk uploads have their own limit).
const REST_BODY_LIMIT: usize = 64 * 1024 * 1024;

/// The oldest and newest versions offered; 21.0 to 30.0 are retired.
const OLDEST_VERSION: u32 = 31;
const NEWEST_VERSION: u32 = 67;

pub async fn versions() -> Json<Value> {
    let list: Vec<Value> = (OLDEST_VERSION..=NEWEST_VERSION)
        .map(|v| {
            let season = ["Winter", "Spring", "Summer"][((v - 20) % 3) as usize];
            let year = 11 + (v - 20) / 3;
            json!({"label": format!("{season} '{year:02}"), "url": format!("/services/data/v{v}.0"), "version": format!("{v}.0")})
        })
        .collect();
    Json(Value::Array(list))
}

/// Everything under `/services/data/{version}/`.
pub async fn data_api(
    State(org): State<Arc<Org>>,
    method: Method,
    uri: Uri,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    // Split the raw path before decoding, so an encoded '/' in an external id stays in its segment.
    let rest = uri
        .path()
        .strip_prefix("/services/data")
        .unwrap_or_default();
    let segments: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let mut response =
        match handle(&org, &method, &segments, query.as_deref(), &headers, body).await {
            Ok(r) => r,
            Err(failure) => failure.into_response(),
        };
    if let Ok(value) =
        HeaderValue::from_str(&format!("api-usage={}/{}", org.api_used(), org.api_limit))
    {
        response.headers_mut().insert("Sforce-Limit-Info", value);
    }
    response
}

async fn handle(
    org: &Arc<Org>,
    method: &Method,
    segments: &[String],
    query: Option<&str>,
    headers: &HeaderMap,
    body: axum::body::Body,
) -> Result<Response, ApiFailure> {
    let Some((version_segment, path)) = segments.split_first() else {
        return Err(ApiFailure::not_found());
    };
    let version = parse_version(version_segment).ok_or_else(ApiFailure::not_found)?;
    let route = route_name(method, path);
    org.count(&route);
    if org.is_down() {
        return Err(ApiFailure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVER_UNAVAILABLE",
            "The org is down (test fault)",
        ));
    }
    authenticate(org, headers)?;
    let Some(fault) = org.take_fault(method.as_str(), &format!("/{}", segments.join("/"))) else {
        return serve(org, method, path, &version, query, headers, body).await;
    };
    let body = match fault.delay {
        Some(delay) => {
            // The request arrives whole, then the answer is late, as over a slow link (an h2
            // stream answered before its body is read would be reset).
            let read = axum::body::to_bytes(body, usize::MAX)
                .await
                .map_err(|e| ApiFailure::bad_request("INVALID_INPUT", e.to_string()))?;
            tokio::time::sleep(delay).await;
            axum::body::Body::from(read)
        }
        None => body,
    };
    if fault.drop_connection && fault.after_commit {
        // Done and committed, then the answer is lost on the way.
        let _done = serve(org, method, path, &version, query, headers, body).await;
        return Ok(broken_response());
    }
    if fault.drop_connection {
        return Ok(broken_response());
    }
    if fault.status != 200 {
        let status =
            StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response =
            ApiFailure::new(status, &fault.error_code, fault.message).into_response();
        if let Some(secs) = fault.retry_after {
            response
                .headers_mut()
                .insert("Retry-After", HeaderValue::from(secs));
        }
        return Ok(response);
    }
    serve(org, method, path, &version, query, headers, body).await
}

/// An answer whose body breaks off: the connection drops before the reply is complete.
fn broken_response() -> Response {
    let broken = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "injected dropped connection",
        ))
    });
    Response::new(axum::body::Body::from_stream(broken))
}

/// Does an authenticated request past the fault checks: API usage, then bulk or REST.
async fn serve(
    org: &Arc<Org>,
    method: &Method,
    path: &[String],
    version: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: axum::body::Body,
) -> Result<Response, ApiFailure> {
    if !org.take_api_call() {
        return Err(ApiFailure::new(
            StatusCode::FORBIDDEN,
            "REQUEST_LIMIT_EXCEEDED",
            "TotalRequests Limit exceeded.",
        ));
    }
    if let ["jobs", ..] = path
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        return crate::bulk::dispatch(org, method, version, path, query, headers, body).await;
    }
    match (
        method,
        path.iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice(),
    ) {
        (&Method::POST, ["sobjects", "ContentVersion"])
            if headers
                .get(axum::http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|t| t.starts_with("multipart/")) =>
        {
            return crate::files::upload(org, version, headers, body).await;
        }
        (&Method::GET, ["sobjects", "ContentVersion", id, "VersionData"]) => {
            return crate::files::download(org, id).await;
        }
        _ => {}
    }
    let body = axum::body::to_bytes(body, REST_BODY_LIMIT)
        .await
        .map_err(|_| {
            ApiFailure::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "JSON_PARSER_ERROR",
                "The request body is too large",
            )
        })?;
    let parsed = if body.is_empty() {
        None
    } else {
        Some(parse_body(&body)?)
    };
    let parts: Vec<&str> = path.iter().map(String::as_str).collect();
    let call = Call {
        method: method.clone(),
        version,
        parts: &parts,
        query,
        batch: batch_size(headers),
        body: parsed.as_ref(),
        conditions: Conditions::read(|name| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        }),
    };
    // One lock for the whole request: composite requests run as one transaction.
    let mut store = org.store();
    let reply = dispatch(org, &mut store, &call);
    org.commit(&mut store, &change_origin("rest", version, headers));
    reply.map(IntoResponse::into_response)
}

/// `com/salesforce/api/rest/62.0`, with `;client=X` when `Sforce-Call-Options` names a client.
pub fn change_origin(api: &str, version: &str, headers: &HeaderMap) -> String {
    let client = headers
        .get("sforce-call-options")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .find_map(|opt| opt.trim().strip_prefix("client="))
                .map(str::to_owned)
        });
    match client {
        Some(c) => format!("com/salesforce/api/{api}/{version};client={c}"),
        None => format!("com/salesforce/api/{api}/{version}"),
    }
}

/// An event schema over REST: COMPACT is the Avro schema with its id as `uuid`; EXPANDED (the
/// default) wraps the payload record with the schema id, replay id and channel.
fn event_schema(org: &Org, schema_id: &str, query: Option<&str>) -> Result<Reply, ApiFailure> {
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
fn publish_event(
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
    if payload.len() > crate::events::MAX_EVENT_BYTES {
        return Err(ApiFailure::bad_request(
            "PAYLOAD_SIZE_EXCEEDED",
            crate::events::oversize_message(payload.len()),
        ));
    }
    let uuid = crate::events::uuid();
    store.queue_event(crate::events::PendingEvent {
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

/// An answer before it becomes HTTP: composite subrequests read it as JSON.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Option<Value>,
    /// A body already serialized (large query pages), sent as JSON.
    pub raw: Option<Vec<u8>>,
    /// Headers (a create's Location, a record's ETag and Last-Modified), sent over HTTP and in
    /// a composite subresponse's `httpHeaders`.
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    fn new(status: StatusCode, body: Option<Value>) -> Self {
        Self {
            status,
            body,
            raw: None,
            headers: Vec::new(),
        }
    }

    /// The headers a composite subresponse reports.
    pub fn http_headers(&self) -> Value {
        let map = self
            .headers
            .iter()
            .map(|(name, value)| ((*name).to_owned(), json!(value)))
            .collect();
        Value::Object(map)
    }

    pub fn ok(body: Value) -> Self {
        Self::new(StatusCode::OK, Some(body))
    }

    /// A body already serialized to JSON.
    pub fn raw(json: Vec<u8>) -> Self {
        Self {
            raw: Some(json),
            ..Self::new(StatusCode::OK, None)
        }
    }

    pub fn with_status(status: StatusCode, body: Value) -> Self {
        Self::new(status, Some(body))
    }

    pub fn no_content() -> Self {
        Self::new(StatusCode::NO_CONTENT, None)
    }

    fn created(body: Value, location: String) -> Self {
        let mut reply = Self::new(StatusCode::CREATED, Some(body));
        reply.headers.push(("Location", location));
        reply
    }

    /// The body as JSON, whichever form it is in.
    pub fn json(self) -> Value {
        match (self.body, self.raw) {
            (Some(v), _) => v,
            (None, Some(raw)) => serde_json::from_slice(&raw).unwrap_or(Value::Null),
            (None, None) => Value::Null,
        }
    }
}

impl From<ApiFailure> for Reply {
    fn from(f: ApiFailure) -> Self {
        let body = if f.fields.is_empty() && f.code != "ENTITY_IS_DELETED" {
            json!([{"message": f.message, "errorCode": f.code}])
        } else {
            json!([{"message": f.message, "errorCode": f.code, "fields": f.fields}])
        };
        Self::new(f.status, Some(body))
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = match (self.body, self.raw) {
            (Some(body), _) => (self.status, Json(body)).into_response(),
            (None, Some(raw)) => (
                self.status,
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                raw,
            )
                .into_response(),
            (None, None) => self.status.into_response(),
        };
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }
}

/// A record GET's answer with its `ETag` (a hash of the body) and `Last-Modified` (the record's
/// SystemModstamp); 304 Not Modified, without a body, when the caller's copy is current.
fn conditional(body: Value, conditions: &Conditions) -> Reply {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(body.to_string().as_bytes());
    let etag = format!(
        "\"{}\"",
        digest
            .iter()
            .take(12)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let modified = ["SystemModstamp", "LastModifiedDate", "CreatedDate"]
        .iter()
        .find_map(|f| body.get(f).and_then(Value::as_str))
        .and_then(|t| chrono::DateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.3f%z").ok())
        .map(|t| t.with_timezone(&chrono::Utc));
    let unchanged_tag = conditions.if_none_match.as_deref().is_some_and(|tags| {
        tags.split(',')
            .any(|t| t.trim() == "*" || t.trim().trim_start_matches("W/") == etag)
    });
    let unchanged_since = conditions.if_none_match.is_none()
        && conditions
            .if_modified_since
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc2822(t).ok())
            .zip(modified)
            .is_some_and(|(since, modified)| modified.timestamp() <= since.timestamp());
    let mut reply = if unchanged_tag || unchanged_since {
        Reply::new(StatusCode::NOT_MODIFIED, None)
    } else {
        Reply::ok(body)
    };
    reply.headers.push(("ETag", etag));
    if let Some(modified) = modified {
        reply.headers.push((
            "Last-Modified",
            modified.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
        ));
    }
    reply
}

/// One call to dispatch: from HTTP, or a composite subrequest.
pub struct Call<'a> {
    pub method: Method,
    pub version: &'a str,
    pub parts: &'a [&'a str],
    pub query: Option<&'a str>,
    pub batch: usize,
    pub body: Option<&'a Value>,
    /// `If-None-Match` and `If-Modified-Since` of a record GET.
    pub conditions: Conditions,
}

/// A conditional request's preconditions.
#[derive(Debug, Clone, Default)]
pub struct Conditions {
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<String>,
}

impl Conditions {
    /// Reads the two headers from a header lookup (HTTP headers or a subrequest's
    /// `httpHeaders`), by name in any case.
    pub fn read(get: impl Fn(&str) -> Option<String>) -> Self {
        Self {
            if_none_match: get("if-none-match"),
            if_modified_since: get("if-modified-since"),
        }
    }
}

fn need_body<'a>(call: &Call<'a>) -> Result<&'a Value, ApiFailure> {
    call.body
        .ok_or_else(|| ApiFailure::json_parser("The request body is missing"))
}

/// Answers a call against the store; used by the HTTP handler and by composite requests.
pub fn dispatch(org: &Org, store: &mut Store, call: &Call<'_>) -> Result<Reply, ApiFailure> {
    let now = format_datetime(chrono::Utc::now());
    let version = call.version;
    let sobject_url =
        |object: &str, id: &str| format!("/services/data/v{version}/sobjects/{object}/{id}");
    match (call.method.clone(), call.parts) {
        (Method::GET, []) => Ok(Reply::ok(resources(version))),
        (Method::GET, ["limits"]) => Ok(Reply::ok(limits(org))),
        (Method::GET, [resource @ ("query" | "queryAll")]) => {
            let params = query_params(call.query);
            if let Some(soql) = params.get("explain") {
                return Ok(Reply::ok(crate::soql::explain(store, soql)?));
            }
            let soql = params.get("q").ok_or_else(|| {
                ApiFailure::bad_request("MALFORMED_QUERY", "A query string is required: q")
            })?;
            org.log_query(soql);
            Ok(Reply::raw(org.cursors.start(
                store,
                soql,
                *resource == "queryAll",
                call.batch,
                version,
            )?))
        }
        (Method::GET, ["tooling", "executeAnonymous"]) => {
            let params = query_params(call.query);
            Ok(Reply::ok(crate::tooling::execute_anonymous(
                params.get("anonymousBody").map(String::as_str),
            )))
        }
        (_, ["tooling", rest @ ..]) if !rest.is_empty() => {
            // Tooling queries and sObject calls run through the REST handlers.
            let inner = Call {
                method: call.method.clone(),
                version: call.version,
                parts: rest,
                query: call.query,
                batch: call.batch,
                body: call.body,
                conditions: call.conditions.clone(),
            };
            dispatch(org, store, &inner)
        }
        (Method::GET, ["search"]) => {
            let params = query_params(call.query);
            let sosl = params.get("q").ok_or_else(|| {
                ApiFailure::bad_request("MALFORMED_SEARCH", "A search string is required: q")
            })?;
            Ok(Reply::ok(crate::search::search(store, sosl, version)?))
        }
        (Method::GET, ["query" | "queryAll", locator]) => {
            Ok(Reply::raw(org.cursors.next(store, locator, version)?))
        }
        (_, ["composite", ..]) => crate::composite::dispatch(org, store, call),
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
            publish_event(org, store, object, need_body(call)?)
        }
        (Method::POST, ["sobjects", object]) => {
            let id = store.create(object, need_body(call)?, &now)?;
            let name = store.object(object)?.meta.name.clone();
            Ok(Reply::created(
                json!({"id": id, "success": true, "errors": []}),
                sobject_url(&name, &id),
            ))
        }
        (Method::GET, ["event", "eventSchema", schema_id]) => {
            event_schema(org, schema_id, call.query)
        }
        (Method::GET, ["sobjects", object, "eventSchema"]) if object.ends_with("__e") => {
            let event = org
                .events
                .event_type(object)
                .ok_or_else(ApiFailure::not_found)?;
            event_schema(org, &event.schema_id, call.query)
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
        (_, ["sobjects", _, ..] | ["sobjects"] | ["limits"] | []) => Err(method_not_allowed(
            &call.method,
            allowed_methods(call.parts),
        )),
        _ => Err(ApiFailure::not_found()),
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
    let key = crate::store::coerce(f, Value::String(value.to_owned()))?;
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

pub(crate) fn authenticate(org: &Org, headers: &HeaderMap) -> Result<String, ApiFailure> {
    let header = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("OAuth "))
        .map(str::trim)
        .ok_or_else(ApiFailure::invalid_session)?;
    org.session_user(token)
        .ok_or_else(ApiFailure::invalid_session)
}

/// `v62.0` -> `62.0`.
fn parse_version(segment: &str) -> Option<String> {
    let v = segment.strip_prefix('v')?;
    let (major, minor) = v.split_once('.')?;
    let ok = !major.is_empty()
        && major.len() <= 3
        && major.bytes().all(|b| b.is_ascii_digit())
        && !minor.is_empty()
        && minor.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| v.to_owned())
}

fn version_number(version: &str) -> u32 {
    version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0)
}

/// A stable name per route for the request counters, e.g. `GET sobjects/{object}/{id}`.
fn route_name(method: &Method, path: &[String]) -> String {
    let template = match path
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => "".to_owned(),
        ["sobjects"] => "sobjects".to_owned(),
        ["sobjects", _] => "sobjects/{object}".to_owned(),
        ["sobjects", _, "describe"] => "sobjects/{object}/describe".to_owned(),
        ["sobjects", _, _] => "sobjects/{object}/{id}".to_owned(),
        ["sobjects", _, _, _] => "sobjects/{object}/{field}/{value}".to_owned(),
        ["query" | "queryAll", _] => "query/{locator}".to_owned(),
        ["jobs", kind] => format!("jobs/{kind}"),
        ["jobs", kind, _] => format!("jobs/{kind}/{{id}}"),
        ["jobs", kind, _, resource, ..] => format!("jobs/{kind}/{{id}}/{resource}"),
        [first, ..] => (*first).to_owned(),
    };
    format!("{method} {template}")
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

pub(crate) fn method_not_allowed(method: &Method, allowed: &str) -> ApiFailure {
    ApiFailure::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        format!("HTTP Method '{method}' not allowed. Allowed are {allowed}"),
    )
}

fn parse_body(body: &Bytes) -> Result<Value, ApiFailure> {
    serde_json::from_slice::<Value>(body).map_err(|e| {
        ApiFailure::json_parser(format!("Unexpected character in the request body: {e}"))
    })
}

fn fields_param(query: Option<&str>) -> Option<Vec<String>> {
    let query = query?;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "fields")
        .map(|(_, v)| {
            v.split(',')
                .map(|f| f.trim().to_owned())
                .filter(|f| !f.is_empty())
                .collect()
        })
}

pub(crate) fn query_params(query: Option<&str>) -> std::collections::HashMap<String, String> {
    query
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

/// `Sforce-Query-Options: batchSize=N`, clamped to 200..=2000; 2000 by default.
fn batch_size(headers: &HeaderMap) -> usize {
    headers
        .get("sforce-query-options")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .find_map(|part| part.trim().strip_prefix("batchSize="))
        })
        .and_then(|n| n.trim().parse::<usize>().ok())
        .map_or(2000, |n| n.clamp(200, 2000))
}

fn resources(version: &str) -> Value {
    let base = format!("/services/data/v{version}");
    let mut map = serde_json::Map::new();
    for name in [
        "sobjects",
        "query",
        "queryAll",
        "composite",
        "limits",
        "jobs",
        "search",
        "tooling",
        "recent",
    ] {
        map.insert(name.to_owned(), Value::String(format!("{base}/{name}")));
    }
    Value::Object(map)
}

fn limits(org: &Org) -> Value {
    let max = org.api_limit;
    let remaining = max.saturating_sub(org.api_used());
    json!({
        "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
        "DailyApiRequests": {"Max": max, "Remaining": remaining},
        "DailyAsyncApexExecutions": {"Max": 250000, "Remaining": 250000},
        "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
        "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
        "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
        "DailyDeliveredPlatformEvents": {"Max": 10000, "Remaining": 10000},
        "DataStorageMB": {"Max": 1024, "Remaining": 1024},
        "FileStorageMB": {"Max": 1024, "Remaining": 1024},
        "HourlyPublishedPlatformEvents": {"Max": 50000, "Remaining": 50000},
        "SingleEmail": {"Max": 5000, "Remaining": 5000},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_route_names_are_templates() {
        assert_eq!(parse_version("v62.0").as_deref(), Some("62.0"));
        assert_eq!(parse_version("62.0"), None);
        assert_eq!(parse_version("vX"), None);
        let path: Vec<String> = ["sobjects", "Account", "001"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert_eq!(
            route_name(&Method::GET, &path),
            "GET sobjects/{object}/{id}"
        );
    }
}
