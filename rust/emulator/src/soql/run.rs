//! Runs a parsed query: the select list resolved (with `FIELDS(...)` expanded, aggregates and
//! subqueries planned), the filter applied, then counts, groups, or the ordered, offset and
//! limited rows to render.

use super::aggregate::{self, AggregateItem};
use super::children::ChildPlan;
use super::eval::{compile, matches, order_keys, resolve, same_path, sort_ids, Resolved};
use super::parse::{caret_error, Query, Select};
use crate::http_kit::failure::ApiFailure;
use crate::model::store::Store;
use serde_json::Value;

/// What a query selects: the rows' ids and how to render them, or counts.
#[derive(Debug, Clone)]
pub enum Outcome {
    Count(usize),
    Aggregate(Vec<Value>),
    Rows {
        object: String,
        ids: Vec<String>,
        columns: Vec<Resolved>,
        /// Parent-to-child subqueries, rendered after the row's fields.
        children: Vec<ChildPlan>,
    },
}

/// Runs `query`; `all_rows` includes deleted records (queryAll).
pub fn run(
    store: &Store,
    soql: &str,
    query: &Query,
    all_rows: bool,
) -> Result<Outcome, ApiFailure> {
    let source = store.object(&query.object).map_err(|_| {
        caret_error(
            "INVALID_TYPE",
            soql,
            query.object_col,
            &format!("sObject type '{}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.", query.object),
        )
    })?;
    let object = source.meta.name.clone();
    let mut columns = Vec::new();
    let mut aggregates = Vec::new();
    let mut children = Vec::new();
    let mut unaliased = 0;
    for item in &expand_fields(store, soql, query, &object)? {
        match item {
            Select::Field { path, col } => {
                let resolved = resolve(store, soql, &object, path, *col)?;
                if columns.iter().any(|c: &Resolved| same_path(c, &resolved)) {
                    return Err(caret_error(
                        "INVALID_FIELD",
                        soql,
                        *col,
                        &format!("duplicate field selected: {}", path.join(".")),
                    ));
                }
                columns.push(resolved);
            }
            Select::Aggregate {
                function,
                field,
                alias,
                col,
            } => {
                let name = alias.clone().unwrap_or_else(|| {
                    unaliased += 1;
                    format!("expr{}", unaliased - 1)
                });
                aggregates.push(AggregateItem::new(
                    store, soql, &object, *function, field, name, *col,
                )?);
            }
            Select::Children { query: inner, col } => {
                children.push(ChildPlan::new(store, soql, &object, inner, *col)?);
            }
            Select::FieldsOf { .. } => {}
        }
    }
    let filter = match &query.filter {
        Some(cond) => Some(compile(store, soql, &object, cond)?),
        None => None,
    };
    let mut ids: Vec<String> = Vec::new();
    for (id, record) in &source.records {
        if record.deleted && !all_rows {
            continue;
        }
        if let Some(f) = &filter {
            if !matches(store, &object, id, f) {
                continue;
            }
        }
        ids.push(id.to_string());
    }
    if query.count_only {
        return Ok(Outcome::Count(ids.len()));
    }
    if !aggregates.is_empty() || !query.group_by.is_empty() {
        if let Some(child) = children.first() {
            return Err(caret_error(
                "MALFORMED_QUERY",
                soql,
                child.col,
                "a subquery may not be used in an aggregate query",
            ));
        }
        let rows = aggregate::run(store, soql, query, &object, &ids, &columns, &aggregates)?;
        return Ok(Outcome::Aggregate(rows));
    }
    if query.having.is_some() {
        return Err(caret_error(
            "MALFORMED_QUERY",
            soql,
            1,
            "HAVING needs GROUP BY or an aggregate",
        ));
    }
    if !query.order.is_empty() {
        let keys = order_keys(store, soql, &object, query)?;
        ids = sort_ids(store, &object, ids, &keys);
    }
    let offset = query.offset.unwrap_or(0);
    let limit = query.limit.unwrap_or(usize::MAX);
    let ids = ids.into_iter().skip(offset).take(limit).collect();
    Ok(Outcome::Rows {
        object,
        ids,
        columns,
        children,
    })
}

/// The select list with `FIELDS(STANDARD|CUSTOM|ALL)` expanded to the object's fields.
fn expand_fields(
    store: &Store,
    soql: &str,
    query: &Query,
    object: &str,
) -> Result<Vec<Select>, ApiFailure> {
    let mut out = Vec::with_capacity(query.select.len());
    for item in &query.select {
        let Select::FieldsOf { which, col } = item else {
            out.push(item.clone());
            continue;
        };
        let which = which.to_ascii_uppercase();
        if which != "STANDARD" && query.limit.is_none_or(|l| l > 200) {
            return Err(caret_error(
                "MALFORMED_QUERY",
                soql,
                *col,
                "The SOQL FIELDS function must have a LIMIT of at most 200",
            ));
        }
        let meta = &store.object(object)?.meta;
        for field in &meta.fields {
            let wanted = match which.as_str() {
                "STANDARD" => !field.custom,
                "CUSTOM" => field.custom,
                _ => true,
            };
            if wanted && !out.iter().any(|s| matches!(s, Select::Field { path, .. } if path.len() == 1 && path[0].eq_ignore_ascii_case(&field.name))) {
                out.push(Select::Field {
                    path: vec![field.name.to_string()],
                    col: *col,
                });
            }
        }
    }
    Ok(out)
}
