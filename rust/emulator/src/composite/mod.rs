//! `/composite`: composite (references, allOrNone), batch (haltOnError), sObject tree
//! (all or nothing), and sObject collections (create, update, upsert, delete, retrieve). This
//! file reads the route; each kind of request has its own file.

mod collections;
mod references;
mod subrequests;
mod tree;

use crate::http_kit::failure::ApiFailure;
use crate::http_kit::reply::Reply;
use crate::http_kit::request::{query_params, Call};
use crate::model::store::Store;
use crate::org::Org;
use axum::http::Method;
use collections::{collection_delete, collection_write, retrieve, Write};
use serde_json::{json, Value};
use subrequests::{batch, composite};
use tree::tree;

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

/// A request's boolean option (`allOrNone`, `haltOnError`); false when absent, as Salesforce
/// reads it.
pub(super) fn flag(body: &Value, name: &str) -> bool {
    body.get(name).and_then(Value::as_bool).unwrap_or(false)
}

pub(super) fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}
