//! Parent-to-child subqueries: `SELECT Name, (SELECT LastName FROM Contacts) FROM Account`.
//! Each parent row carries the relationship's records as a nested query result
//! (`totalSize`, `done`, `records`), or null when it has none, as Salesforce answers.

use super::eval::{compile, matches, order_keys, render, sort_ids, Compiled, OrderKey, Resolved};
use super::parse::{caret_error, Query, Select};
use crate::http_kit::failure::ApiFailure;
use crate::model::store::Store;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// A subquery resolved against the parent object.
#[derive(Debug, Clone)]
pub struct ChildPlan {
    /// The relationship's name, the key of the nested result (`Contacts`).
    relationship: String,
    /// The child object and its field holding the parent's id.
    object: String,
    reference: String,
    columns: Vec<Resolved>,
    filter: Option<Compiled>,
    order: Vec<OrderKey>,
    limit: Option<usize>,
    offset: Option<usize>,
    pub col: usize,
}

impl ChildPlan {
    pub fn new(
        store: &Store,
        soql: &str,
        parent: &str,
        query: &Query,
        col: usize,
    ) -> Result<Self, ApiFailure> {
        let (relationship, object, reference) = store
            .child_relationship(parent, &query.object)
            .ok_or_else(|| {
                caret_error(
                    "INVALID_TYPE",
                    soql,
                    query.object_col,
                    &format!(
                        "Didn't understand relationship '{}' in FROM part of query call. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.",
                        query.object
                    ),
                )
            })?;
        let mut columns = Vec::new();
        for item in &query.select {
            match item {
                Select::Field { path, col } => {
                    columns.push(super::eval::resolve(store, soql, &object, path, *col)?)
                }
                Select::Aggregate { col, .. }
                | Select::Children { col, .. }
                | Select::FieldsOf { col, .. } => {
                    return Err(caret_error(
                        "MALFORMED_QUERY",
                        soql,
                        *col,
                        "a subquery selects fields only",
                    ))
                }
            }
        }
        Ok(Self {
            filter: query
                .filter
                .as_ref()
                .map(|c| compile(store, soql, &object, c))
                .transpose()?,
            order: order_keys(store, soql, &object, query)?,
            limit: query.limit,
            offset: query.offset,
            relationship,
            object,
            reference,
            columns,
            col,
        })
    }

    /// The live children of each of `parents`, by parent id, in the subquery's order.
    pub fn children_of(&self, store: &Store, parents: &[&str]) -> HashMap<String, Vec<String>> {
        let wanted: std::collections::HashSet<&str> = parents.iter().copied().collect();
        let mut found: HashMap<String, Vec<String>> = HashMap::new();
        if let Ok(children) = store.object(&self.object) {
            for (id, record) in &children.records {
                if record.deleted {
                    continue;
                }
                let Some(parent) = record.fields.get(&self.reference).and_then(Value::as_str)
                else {
                    continue;
                };
                if !wanted.contains(parent) {
                    continue;
                }
                if let Some(filter) = &self.filter {
                    if !matches(store, &self.object, id, filter) {
                        continue;
                    }
                }
                found
                    .entry(parent.to_owned())
                    .or_default()
                    .push(id.to_string());
            }
        }
        for ids in found.values_mut() {
            if !self.order.is_empty() {
                *ids = sort_ids(store, &self.object, std::mem::take(ids), &self.order);
            }
            let kept: Vec<String> = ids
                .iter()
                .skip(self.offset.unwrap_or(0))
                .take(self.limit.unwrap_or(usize::MAX))
                .cloned()
                .collect();
            *ids = kept;
        }
        found
    }

    /// Adds this relationship's nested result to a parent `row`.
    pub fn insert(
        &self,
        store: &Store,
        row: &mut Map<String, Value>,
        children: Option<&Vec<String>>,
        version: &str,
    ) {
        let value = match children {
            Some(ids) if !ids.is_empty() => json!({
                "totalSize": ids.len(),
                "done": true,
                "records": ids
                    .iter()
                    .map(|id| render(store, &self.object, id, &self.columns, version))
                    .collect::<Vec<_>>(),
            }),
            _ => Value::Null,
        };
        row.insert(self.relationship.clone(), value);
    }
}
