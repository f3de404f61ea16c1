//! Relationship traversal: `GET /sobjects/{object}/{id}/{relationship}` answers the parent
//! record a lookup points to (`Contact/{id}/Account`), or the child records of a child
//! relationship as a query result (`Account/{id}/Contacts`).

use crate::http_kit::failure::ApiFailure;
use crate::http_kit::reply::Reply;
use crate::model::store::Store;
use serde_json::{json, Value};

/// The most child records one traversal answers, as a query page would.
const MAX_CHILDREN: usize = 2_000;

pub fn follow(
    store: &Store,
    object: &str,
    id: &str,
    relationship: &str,
    version: &str,
) -> Result<Reply, ApiFailure> {
    let (records, id) = store.live_record(object, id)?;
    let parent_field = records.meta.fields.iter().find(|f| {
        f.relationship_name
            .as_deref()
            .is_some_and(|r| r.eq_ignore_ascii_case(relationship))
    });
    if let Some(field) = parent_field {
        let target = records
            .records
            .get(id.as_str())
            .and_then(|r| r.fields.get(&field.name))
            .and_then(Value::as_str)
            .ok_or_else(ApiFailure::not_found)?;
        let object = field.reference_to.first().cloned().unwrap_or_default();
        return Ok(Reply::ok(store.render(&object, target, None, version)?));
    }
    let (_, child, reference) = store
        .child_relationship(&records.meta.name, relationship)
        .ok_or_else(ApiFailure::not_found)?;
    let children = store.object(&child)?;
    let ids: Vec<&str> = children
        .records
        .iter()
        .filter(|(_, r)| {
            !r.deleted && r.fields.get(&reference).and_then(Value::as_str) == Some(id.as_str())
        })
        .map(|(child_id, _)| &**child_id)
        .take(MAX_CHILDREN)
        .collect();
    let rendered = ids
        .iter()
        .map(|child_id| store.render(&child, child_id, None, version))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Reply::ok(json!({
        "totalSize": rendered.len(),
        "done": true,
        "records": rendered,
    })))
}
