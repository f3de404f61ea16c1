//! Aggregate queries: COUNT, COUNT_DISTINCT, SUM, AVG, MIN and MAX over groups (GROUP BY),
//! filtered by HAVING and ordered by grouped fields or aggregates, answered as AggregateResult
//! rows (`expr0`, `expr1`, ... for aggregates without an alias).

use super::eval::{
    compare, compare_literal, like, order_values, resolve, same_path, usable, value_of, Resolved,
};
use super::parse::{caret_error, AggFn, Cond, Query};
use crate::http_kit::failure::ApiFailure;
use crate::model::schema::FieldType;
use crate::model::store::Store;
use serde_json::{json, Map, Value};
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

/// One aggregate of the select list: the function, its field (none for `COUNT()`), and the
/// name of its column.
#[derive(Debug, Clone)]
pub struct AggregateItem {
    function: AggFn,
    path: Option<Resolved>,
    name: String,
}

impl AggregateItem {
    pub fn new(
        store: &Store,
        soql: &str,
        object: &str,
        function: AggFn,
        field: &[String],
        name: String,
        col: usize,
    ) -> Result<Self, ApiFailure> {
        Ok(Self {
            path: checked_path(store, soql, object, function, field, col)?,
            function,
            name,
        })
    }
}

/// The field an aggregate reads, refused where the function does not apply to its type, as
/// Salesforce refuses `SUM(Name)`.
fn checked_path(
    store: &Store,
    soql: &str,
    object: &str,
    function: AggFn,
    field: &[String],
    col: usize,
) -> Result<Option<Resolved>, ApiFailure> {
    if field.is_empty() {
        return Ok(None);
    }
    let path = resolve(store, soql, object, field, col)?;
    let kind = path.field.field_type;
    let numeric = matches!(
        kind,
        FieldType::Int | FieldType::Double | FieldType::Currency | FieldType::Percent
    );
    let fits = match function {
        AggFn::Sum | AggFn::Avg => numeric,
        AggFn::Min | AggFn::Max => !matches!(kind, FieldType::Boolean | FieldType::TextArea),
        AggFn::Count | AggFn::CountDistinct => kind != FieldType::TextArea,
    };
    if !fits {
        return Err(caret_error(
            "INVALID_FIELD",
            soql,
            col,
            &format!(
                "field {} does not support aggregate operator {}",
                path.field.name,
                function.name()
            ),
        ));
    }
    Ok(Some(path))
}

/// The aggregate of `ids` (one group). Nulls are skipped; an aggregate of nothing but nulls is
/// null, except counts, which are 0.
fn compute(
    store: &Store,
    object: &str,
    ids: &[String],
    function: AggFn,
    path: Option<&Resolved>,
) -> Value {
    let Some(path) = path else {
        return Value::from(ids.len());
    };
    let values = ids
        .iter()
        .map(|id| value_of(store, object, id, path))
        .filter(|v| !v.is_null());
    match function {
        AggFn::Count => Value::from(values.count()),
        AggFn::CountDistinct => {
            let distinct: HashSet<String> = values.map(|v| v.to_string().to_lowercase()).collect();
            Value::from(distinct.len())
        }
        AggFn::Sum | AggFn::Avg => {
            let numbers: Vec<f64> = values.filter_map(|v| v.as_f64()).collect();
            if numbers.is_empty() {
                return Value::Null;
            }
            let sum: f64 = numbers.iter().sum();
            let result = if function == AggFn::Sum {
                sum
            } else {
                sum / numbers.len() as f64
            };
            json!(result)
        }
        AggFn::Min => values.min_by(compare).unwrap_or(Value::Null),
        AggFn::Max => values.max_by(compare).unwrap_or(Value::Null),
    }
}

/// A group: its GROUP BY values and its rows.
struct Group {
    key: Vec<Value>,
    ids: Vec<String>,
}

/// Runs an aggregate query over the matching `ids`.
pub fn run(
    store: &Store,
    soql: &str,
    query: &Query,
    object: &str,
    ids: &[String],
    columns: &[Resolved],
    aggregates: &[AggregateItem],
) -> Result<Vec<Value>, ApiFailure> {
    let grouped: Vec<Resolved> = query
        .group_by
        .iter()
        .map(|(path, col)| {
            usable(
                resolve(store, soql, object, path, *col)?,
                soql,
                *col,
                "grouped",
            )
        })
        .collect::<Result<_, _>>()?;
    for column in columns {
        if !grouped.iter().any(|g| same_path(g, column)) {
            return Err(caret_error(
                "MALFORMED_QUERY",
                soql,
                1,
                &format!("Field must be grouped or aggregated: {}", column.label()),
            ));
        }
    }
    let mut groups: Vec<Group> = Vec::new();
    if grouped.is_empty() {
        // Without GROUP BY the whole result is one group, even when it is empty.
        groups.push(Group {
            key: Vec::new(),
            ids: ids.to_vec(),
        });
    } else {
        let mut index: HashMap<String, usize> = HashMap::new();
        for id in ids {
            let key: Vec<Value> = grouped
                .iter()
                .map(|g| value_of(store, object, id, g))
                .collect();
            let text = serde_json::to_string(&key)
                .unwrap_or_default()
                .to_lowercase();
            let at = *index.entry(text).or_insert_with(|| {
                groups.push(Group {
                    key,
                    ids: Vec::new(),
                });
                groups.len() - 1
            });
            groups[at].ids.push(id.clone());
        }
        groups.sort_by(|a, b| {
            a.key
                .iter()
                .zip(&b.key)
                .map(|(x, y)| order_values(x, y, false, false))
                .find(|o| *o != Ordering::Equal)
                .unwrap_or(Ordering::Equal)
        });
    }
    if let Some(having) = &query.having {
        let mut kept = Vec::with_capacity(groups.len());
        for group in groups {
            if having_holds(store, soql, object, &grouped, &group, having)? {
                kept.push(group);
            }
        }
        groups = kept;
    }
    if !query.order.is_empty() {
        let mut keyed = Vec::with_capacity(groups.len());
        for group in groups {
            let mut values = Vec::with_capacity(query.order.len());
            for order in &query.order {
                values.push(match order.aggregate {
                    Some(function) => {
                        let path =
                            checked_path(store, soql, object, function, &order.path, order.col)?;
                        compute(store, object, &group.ids, function, path.as_ref())
                    }
                    None => group_value(
                        store,
                        soql,
                        object,
                        &grouped,
                        &group,
                        &order.path,
                        order.col,
                    )?,
                });
            }
            keyed.push((values, group));
        }
        keyed.sort_by(|(a, _), (b, _)| {
            query
                .order
                .iter()
                .enumerate()
                .map(|(i, o)| order_values(&a[i], &b[i], o.descending, o.nulls_last))
                .find(|o| *o != Ordering::Equal)
                .unwrap_or(Ordering::Equal)
        });
        groups = keyed.into_iter().map(|(_, g)| g).collect();
    }
    let offset = query.offset.unwrap_or(0);
    let limit = query.limit.unwrap_or(usize::MAX);
    Ok(groups
        .iter()
        .skip(offset)
        .take(limit)
        .map(|group| {
            let mut row = Map::new();
            row.insert("attributes".into(), json!({"type": "AggregateResult"}));
            for column in columns {
                let at = grouped.iter().position(|g| same_path(g, column));
                let value = at
                    .and_then(|i| group.key.get(i).cloned())
                    .unwrap_or(Value::Null);
                row.insert(column.field_name().to_owned(), value);
            }
            for item in aggregates {
                row.insert(
                    item.name.clone(),
                    compute(store, object, &group.ids, item.function, item.path.as_ref()),
                );
            }
            Value::Object(row)
        })
        .collect())
}

/// The value of a grouped field for `group`; a field that is not grouped is refused.
fn group_value(
    store: &Store,
    soql: &str,
    object: &str,
    grouped: &[Resolved],
    group: &Group,
    path: &[String],
    col: usize,
) -> Result<Value, ApiFailure> {
    let resolved = resolve(store, soql, object, path, col)?;
    grouped
        .iter()
        .position(|g| same_path(g, &resolved))
        .and_then(|i| group.key.get(i).cloned())
        .ok_or_else(|| {
            caret_error(
                "MALFORMED_QUERY",
                soql,
                col,
                &format!("Field must be grouped or aggregated: {}", resolved.label()),
            )
        })
}

fn having_holds(
    store: &Store,
    soql: &str,
    object: &str,
    grouped: &[Resolved],
    group: &Group,
    cond: &Cond,
) -> Result<bool, ApiFailure> {
    Ok(match cond {
        Cond::And(parts) => {
            for part in parts {
                if !having_holds(store, soql, object, grouped, group, part)? {
                    return Ok(false);
                }
            }
            true
        }
        Cond::Or(parts) => {
            for part in parts {
                if having_holds(store, soql, object, grouped, group, part)? {
                    return Ok(true);
                }
            }
            false
        }
        Cond::Not(inner) => !having_holds(store, soql, object, grouped, group, inner)?,
        Cond::Aggregate {
            function,
            field,
            op,
            value,
            col,
        } => {
            let path = checked_path(store, soql, object, *function, field, *col)?;
            let result = compute(store, object, &group.ids, *function, path.as_ref());
            compare_literal(&result, op, value)
        }
        Cond::Cmp {
            field,
            op,
            value,
            col,
        } => compare_literal(
            &group_value(store, soql, object, grouped, group, field, *col)?,
            op,
            value,
        ),
        Cond::In {
            field,
            negated,
            values,
            col,
        } => {
            let v = group_value(store, soql, object, grouped, group, field, *col)?;
            values.iter().any(|l| compare_literal(&v, "=", l)) != *negated
        }
        Cond::Like {
            field,
            pattern,
            col,
        } => match group_value(store, soql, object, grouped, group, field, *col)? {
            Value::String(s) => like(&s.to_lowercase(), &pattern.to_lowercase()),
            _ => false,
        },
    })
}
