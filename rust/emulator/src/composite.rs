//! `/composite`: composite (references, allOrNone), batch (haltOnError), sObject tree
//! (all or nothing), and sObject collections (create, update, upsert, delete, retrieve).

use crate::http_kit::failure::ApiFailure;
use crate::http_kit::reply::Reply;
use crate::http_kit::request::{query_params, Call};
use crate::model::datetime::format_datetime;
use crate::model::store::{Store, UpsertOutcome};
use crate::org::Org;
use axum::http::{Method, StatusCode};
use serde_json::{json, Map, Value};

const MAX_SUBREQUESTS: usize = 25;
const MAX_COLLECTION: usize = 200;
const MAX_TREE_RECORDS: usize = 200;

/// Answers one subrequest: the router, passed in so that composite sits beside the other
/// features instead of importing the router that imports it.
pub type Route = fn(&Org, &mut Store, &Call<'_>) -> Result<Reply, ApiFailure>;

pub fn dispatch(
    org: &Org,
    store: &mut Store,
    call: &Call<'_>,
    route: Route,
) -> Result<Reply, ApiFailure> {
    let body = || {
        call.body
            .ok_or_else(|| ApiFailure::json_parser("The request body is missing"))
    };
    match (call.method.clone(), call.parts) {
        (Method::GET, ["composite"]) => {
            let base = format!("/services/data/v{}/composite", call.version);
            Ok(Reply::ok(
                json!({"batch": format!("{base}/batch"), "tree": format!("{base}/tree"), "sobjects": format!("{base}/sobjects")}),
            ))
        }
        (Method::POST, ["composite"]) => composite(org, store, call, route, body()?),
        (Method::POST, ["composite", "batch"]) => batch(org, store, call, route, body()?),
        (Method::POST, ["composite", "tree", object]) => tree(store, call.version, object, body()?),
        (Method::POST, ["composite", "sobjects"]) => {
            collection_write(store, body()?, Write::Create)
        }
        (Method::PATCH, ["composite", "sobjects"]) => {
            collection_write(store, body()?, Write::Update)
        }
        (Method::PATCH, ["composite", "sobjects", object, field]) => collection_write(
            store,
            body()?,
            Write::Upsert((*object).to_owned(), (*field).to_owned()),
        ),
        (Method::DELETE, ["composite", "sobjects"]) => collection_delete(store, call.query),
        (Method::GET, ["composite", "sobjects", object]) => {
            let params = query_params(call.query);
            let ids = split_list(params.get("ids").map(String::as_str).unwrap_or_default());
            let fields = split_list(params.get("fields").map(String::as_str).unwrap_or_default());
            retrieve(store, call.version, object, &ids, &fields)
        }
        (Method::POST, ["composite", "sobjects", object]) => {
            let b = body()?;
            let list = |key: &str| -> Vec<String> {
                b.get(key)
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default()
            };
            retrieve(store, call.version, object, &list("ids"), &list("fields"))
        }
        _ => Err(ApiFailure::not_found()),
    }
}

fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn valid_reference_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Splits `/services/data/vNN.N/rest?query` into the version, path segments and query.
fn split_url(url: &str) -> Option<(String, Vec<String>, Option<String>)> {
    let (path, query) = match url.split_once('?') {
        Some((p, q)) => (p, Some(q.to_owned())),
        None => (url, None),
    };
    let rest = path
        .strip_prefix("/services/data/v")
        .or_else(|| path.strip_prefix("v"))?;
    let mut segments = rest.split('/').filter(|s| !s.is_empty());
    let version = segments.next()?.to_owned();
    let parts = segments
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    Some((version, parts, query))
}

/// Replaces `@{ref.path}` in strings with values from earlier results.
fn resolve_references(value: &Value, results: &Map<String, Value>) -> Result<Value, String> {
    Ok(match value {
        Value::String(s) if s.contains("@{") => Value::String(substitute(s, results)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| resolve_references(v, results))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                out.insert(k.clone(), resolve_references(v, results)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

fn substitute(text: &str, results: &Map<String, Value>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("@{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unterminated reference in {text}"))?;
        let expression = &after[..end];
        out.push_str(&lookup(expression, results)?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `ref.a.b[0].c` in the results.
fn lookup(expression: &str, results: &Map<String, Value>) -> Result<String, String> {
    let missing = || {
        format!(
            "Invalid reference specified. No value for {expression} found in {}.",
            expression.split('.').next().unwrap_or_default()
        )
    };
    let mut parts = expression.split('.');
    let head = parts.next().unwrap_or_default();
    let (name, first_index) = split_index(head);
    let mut current = results.get(name).ok_or_else(missing)?;
    if let Some(i) = first_index {
        current = current.get(i).ok_or_else(missing)?;
    }
    for part in parts {
        let (key, index) = split_index(part);
        current = current.get(key).ok_or_else(missing)?;
        if let Some(i) = index {
            current = current.get(i).ok_or_else(missing)?;
        }
    }
    Ok(match current {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return Err(missing()),
    })
}

fn split_index(part: &str) -> (&str, Option<usize>) {
    match part.split_once('[') {
        Some((key, rest)) => (key, rest.trim_end_matches(']').parse().ok()),
        None => (part, None),
    }
}

/// The subrequest list under `key`, at most 25 long.
fn subrequests<'a>(body: &'a Value, key: &str) -> Result<&'a Vec<Value>, ApiFailure> {
    let requests = body
        .get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| ApiFailure::json_parser(format!("{key} is required")))?;
    if requests.len() > MAX_SUBREQUESTS {
        return Err(ApiFailure::bad_request(
            "LIMIT_EXCEEDED",
            format!("Maximum number of subrequests is {MAX_SUBREQUESTS}"),
        ));
    }
    Ok(requests)
}

fn halted(message: &str) -> Value {
    json!([{"errorCode": "PROCESSING_HALTED", "message": message}])
}

const ROLLED_BACK: &str =
    "The transaction was rolled back since another operation in the same transaction failed.";

fn composite(
    org: &Org,
    store: &mut Store,
    call: &Call<'_>,
    route: Route,
    body: &Value,
) -> Result<Reply, ApiFailure> {
    let all_or_none = body
        .get("allOrNone")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let requests = subrequests(body, "compositeRequest")?;
    let mut seen = std::collections::HashSet::new();
    for r in requests {
        let reference = r
            .get("referenceId")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !valid_reference_id(reference) {
            return Err(ApiFailure::bad_request("INVALID_INPUT", format!("Provided referenceId ('{reference}') must start with a letter or a number, and it can contain only letters, numbers and underscores ('_').")));
        }
        if !seen.insert(reference.to_owned()) {
            return Err(ApiFailure::bad_request(
                "INVALID_INPUT",
                format!("Duplicate referenceId provided in the request: {reference}"),
            ));
        }
        if let Some(headers) = r.get("httpHeaders").and_then(Value::as_object) {
            if headers.keys().any(|k| {
                ["accept", "authorization", "content-type"]
                    .contains(&k.to_ascii_lowercase().as_str())
            }) {
                return Err(ApiFailure::bad_request("INVALID_INPUT", "Accept, Authorization and Content-Type headers are inherited and cannot be set in a subrequest"));
            }
        }
    }
    let snapshot = all_or_none.then(|| store.clone());
    let mut results = Map::new();
    let mut out: Vec<Value> = Vec::with_capacity(requests.len());
    let mut failed = false;
    for r in requests {
        let reference = r
            .get("referenceId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let entry = |status: u16, body: Value, headers: Value| json!({"body": body, "httpHeaders": headers, "httpStatusCode": status, "referenceId": reference});
        if failed && all_or_none {
            out.push(entry(400, halted(ROLLED_BACK), json!({})));
            continue;
        }
        let url = r.get("url").and_then(Value::as_str).unwrap_or_default();
        let resolved_url = substitute(url, &results);
        let resolved_body = r.get("body").map(|b| resolve_references(b, &results));
        let (url, sub_body) = match (resolved_url, resolved_body.transpose()) {
            (Ok(u), Ok(b)) => (u, b),
            (Err(message), _) | (_, Err(message)) => {
                failed = true;
                out.push(entry(400, halted(&message), json!({})));
                continue;
            }
        };
        let method = r
            .get("method")
            .and_then(Value::as_str)
            .and_then(|m| Method::from_bytes(m.as_bytes()).ok())
            .unwrap_or(Method::GET);
        let Some((version, parts, query)) = split_url(&url) else {
            failed = true;
            out.push(entry(400, json!([{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]), json!({})));
            continue;
        };
        let parts_ref: Vec<&str> = parts.iter().map(String::as_str).collect();
        let sub = Call {
            method,
            version: &version,
            parts: &parts_ref,
            query: query.as_deref(),
            batch: call.batch,
            body: sub_body.as_ref(),
            conditions: crate::http_kit::conditional::Conditions::read(|name| {
                r.get("httpHeaders")
                    .and_then(Value::as_object)
                    .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
                    .and_then(|(_, v)| v.as_str())
                    .map(str::to_owned)
            }),
        };
        let supported = matches!(
            parts_ref.as_slice(),
            ["sobjects", ..] | ["query" | "queryAll", ..] | ["composite", "sobjects", ..]
        );
        let reply = if supported {
            route(org, store, &sub).unwrap_or_else(Reply::from)
        } else {
            Reply::from(ApiFailure::bad_request(
                "INVALID_INPUT",
                "This resource is not supported in a composite request",
            ))
        };
        let status = reply.status.as_u16();
        let headers = reply.http_headers();
        let body = reply.json();
        if status >= 400 {
            failed = true;
        } else {
            results.insert(reference.clone(), body.clone());
        }
        out.push(entry(status, body, headers));
    }
    if failed && all_or_none {
        if let Some(snapshot) = snapshot {
            *store = snapshot;
        }
        // Every subrequest that had succeeded is reported as rolled back.
        for item in &mut out {
            let ok = item
                .get("httpStatusCode")
                .and_then(Value::as_u64)
                .is_some_and(|s| s < 400);
            if ok {
                if let Value::Object(m) = item {
                    m.insert("httpStatusCode".into(), json!(400));
                    m.insert("body".into(), halted(ROLLED_BACK));
                    m.insert("httpHeaders".into(), json!({}));
                }
            }
        }
    }
    Ok(Reply::ok(json!({"compositeResponse": out})))
}

fn batch(
    org: &Org,
    store: &mut Store,
    call: &Call<'_>,
    route: Route,
    body: &Value,
) -> Result<Reply, ApiFailure> {
    let halt = body
        .get("haltOnError")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let requests = subrequests(body, "batchRequests")?;
    let mut parsed = Vec::with_capacity(requests.len());
    for r in requests {
        let method = r
            .get("method")
            .and_then(Value::as_str)
            .and_then(|m| Method::from_bytes(m.as_bytes()).ok());
        let url = r.get("url").and_then(Value::as_str).and_then(split_url);
        match (method, url) {
            (Some(m), Some(u)) => parsed.push((m, u, r.get("richInput").cloned())),
            _ => {
                return Err(ApiFailure::bad_request(
                    "INVALID_BATCH_REQUEST",
                    "Each batch request needs a method and a url like v62.0/sobjects/Account",
                ))
            }
        }
    }
    let mut has_errors = false;
    let mut results = Vec::with_capacity(parsed.len());
    for (method, (version, parts, query), rich_input) in parsed {
        if halt && has_errors {
            results.push(json!({"statusCode": 412, "result": [{"errorCode": "BATCH_PROCESSING_HALTED", "message": "Batch processing halted per request"}]}));
            continue;
        }
        // Each subrequest counts against the API limit.
        if !org.take_api_call() {
            has_errors = true;
            results.push(json!({"statusCode": 403, "result": [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded."}]}));
            continue;
        }
        let parts_ref: Vec<&str> = parts.iter().map(String::as_str).collect();
        let sub = Call {
            method,
            version: &version,
            parts: &parts_ref,
            query: query.as_deref(),
            batch: call.batch,
            body: rich_input.as_ref(),
            conditions: crate::http_kit::conditional::Conditions::default(),
        };
        let reply = if parts_ref.first() == Some(&"composite") {
            Reply::from(ApiFailure::bad_request(
                "INVALID_BATCH_REQUEST",
                "composite resources cannot be batched",
            ))
        } else {
            route(org, store, &sub).unwrap_or_else(Reply::from)
        };
        if reply.status.as_u16() >= 400 {
            has_errors = true;
        }
        let status = reply.status.as_u16();
        results.push(json!({"statusCode": status, "result": reply.json()}));
    }
    Ok(Reply::ok(
        json!({"hasErrors": has_errors, "results": results}),
    ))
}

fn tree(store: &mut Store, version: &str, object: &str, body: &Value) -> Result<Reply, ApiFailure> {
    let roots = body
        .get("records")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiFailure::json_parser("records is required"))?;
    let total = count_tree(roots);
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

fn count_tree(records: &[Value]) -> usize {
    records
        .iter()
        .map(|r| {
            1 + r.as_object().map_or(0, |m| {
                m.values()
                    .filter_map(|v| v.get("records").and_then(Value::as_array))
                    .map(|kids| count_tree(kids))
                    .sum()
            })
        })
        .sum()
}

enum Write {
    Create,
    Update,
    Upsert(String, String),
}

fn record_error(e: &ApiFailure) -> Value {
    json!({"statusCode": e.code, "message": e.message, "fields": e.fields})
}

fn collection_write(store: &mut Store, body: &Value, op: Write) -> Result<Reply, ApiFailure> {
    let all_or_none = body
        .get("allOrNone")
        .and_then(Value::as_bool)
        .unwrap_or(false);
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

fn collection_delete(store: &mut Store, query: Option<&str>) -> Result<Reply, ApiFailure> {
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

fn retrieve(
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
