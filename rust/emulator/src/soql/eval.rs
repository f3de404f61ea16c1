//! Runs a parsed query over the store: field resolution (parent relationships included),
//! filters with SOQL's comparison rules, ordering, offsets and limits, and row rendering.

use super::parse::{caret_error, Cond, Literal, Query};
use crate::http_kit::failure::ApiFailure;
use crate::model::schema::{FieldMeta, FieldType};
use crate::model::store::{attributes, read_value, Store};
use chrono::{Datelike, Duration as Days, NaiveDate, NaiveDateTime, Utc};
use serde_json::{Map, Value};
use std::cmp::Ordering;

/// A field path resolved to canonical names: relationship hops, then the field.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// (reference field, relationship name, target object) per hop.
    hops: Vec<(String, String, String)>,
    pub(super) field: FieldMeta,
}

impl Resolved {
    /// A field of the queried object itself (no parent relationship).
    pub fn is_own_field(&self) -> bool {
        self.hops.is_empty()
    }

    pub fn field_name(&self) -> &str {
        &self.field.name
    }

    pub fn field_type(&self) -> FieldType {
        self.field.field_type
    }

    /// The dotted path as a column header names it, e.g. `Account.Owner.Name`.
    pub fn label(&self) -> String {
        let mut label = String::new();
        for (_, relationship, _) in &self.hops {
            label.push_str(relationship);
            label.push('.');
        }
        label.push_str(&self.field.name);
        label
    }
}

fn no_such_column(soql: &str, col: usize, name: &str, object: &str) -> ApiFailure {
    caret_error(
        "INVALID_FIELD",
        soql,
        col,
        &format!("No such column '{name}' on entity '{object}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."),
    )
}

pub(super) fn resolve(
    store: &Store,
    soql: &str,
    object: &str,
    path: &[String],
    col: usize,
) -> Result<Resolved, ApiFailure> {
    let mut current = object.to_owned();
    let mut hops = Vec::new();
    let Some((last, relationships)) = path.split_last() else {
        return Err(no_such_column(soql, col, "", object));
    };
    for rel in relationships {
        let meta = &store.object(&current)?.meta;
        let field = meta
            .fields
            .iter()
            .find(|f| {
                f.relationship_name
                    .as_deref()
                    .is_some_and(|r| r.eq_ignore_ascii_case(rel))
            })
            .ok_or_else(|| no_such_column(soql, col, rel, &meta.name))?;
        let target = field.reference_to.first().cloned().unwrap_or_default();
        let target_name = store
            .object(&target)
            .map_err(|_| no_such_column(soql, col, rel, &meta.name))?
            .meta
            .name
            .clone();
        hops.push((
            field.name.to_string(),
            field.relationship_name.clone().unwrap_or_default(),
            target_name.clone(),
        ));
        current = target_name;
    }
    let meta = &store.object(&current)?.meta;
    let field = meta
        .field(last)
        .cloned()
        .ok_or_else(|| no_such_column(soql, col, last, &meta.name))?;
    Ok(Resolved { hops, field })
}

/// `resolved`, unless it is a compound or file field, which no query may filter, sort or group by.
pub(super) fn usable(
    resolved: Resolved,
    soql: &str,
    col: usize,
    verb: &str,
) -> Result<Resolved, ApiFailure> {
    if resolved.field.field_type.is_derived() {
        return Err(caret_error(
            "INVALID_FIELD",
            soql,
            col,
            &format!(
                "field '{}' can not be {verb} in a query call",
                resolved.field.name
            ),
        ));
    }
    Ok(resolved)
}

/// The id in a record's reference field, where the record and the reference exist.
fn parent_id(store: &Store, object: &str, id: &str, reference: &str) -> Option<String> {
    store
        .object(object)
        .ok()
        .and_then(|o| o.records.get(id))
        .and_then(|r| r.fields.get(reference))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The value of a resolved path on a record (null where a parent is missing).
pub(super) fn value_of(store: &Store, object: &str, id: &str, path: &Resolved) -> Value {
    let mut object = object.to_owned();
    let mut id = id.to_owned();
    for (reference, _, target) in &path.hops {
        match parent_id(store, &object, &id, reference) {
            Some(parent) => {
                id = parent;
                object = target.clone();
            }
            None => return Value::Null,
        }
    }
    let Ok(records) = store.object(&object) else {
        return Value::Null;
    };
    match records
        .records
        .get(id.as_str())
        .filter(|r| !r.deleted || path.hops.is_empty())
    {
        Some(record)
            if matches!(
                path.field.field_type,
                FieldType::Address | FieldType::Location
            ) =>
        {
            crate::model::compound::compound_value(&records.meta, &path.field, &record.fields)
        }
        Some(record) => record
            .fields
            .get(&path.field.name)
            .cloned()
            .unwrap_or(Value::Null),
        None => Value::Null,
    }
}

/// Each ORDER BY item resolved: (path, descending, nulls last).
pub(super) type OrderKey = (Resolved, bool, bool);

pub(super) fn order_keys(
    store: &Store,
    soql: &str,
    object: &str,
    query: &Query,
) -> Result<Vec<OrderKey>, ApiFailure> {
    query
        .order
        .iter()
        .map(|o| {
            if o.aggregate.is_some() {
                return Err(caret_error(
                    "MALFORMED_QUERY",
                    soql,
                    o.col,
                    "ORDER BY an aggregate needs GROUP BY",
                ));
            }
            let r = usable(
                resolve(store, soql, object, &o.path, o.col)?,
                soql,
                o.col,
                "sorted",
            )?;
            Ok((r, o.descending, o.nulls_last))
        })
        .collect()
}

/// Compares two values as ORDER BY does: nulls first or last, then in SOQL's order.
pub(super) fn order_values(x: &Value, y: &Value, descending: bool, nulls_last: bool) -> Ordering {
    match (x.is_null(), y.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) => {
            if nulls_last {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (false, true) => {
            if nulls_last {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        }
        (false, false) => {
            let o = compare(x, y);
            if descending {
                o.reverse()
            } else {
                o
            }
        }
    }
}

pub(super) fn sort_ids(
    store: &Store,
    object: &str,
    ids: Vec<String>,
    keys: &[OrderKey],
) -> Vec<String> {
    let mut keyed: Vec<(Vec<Value>, String)> = ids
        .into_iter()
        .map(|id| {
            (
                keys.iter()
                    .map(|(r, _, _)| value_of(store, object, &id, r))
                    .collect(),
                id,
            )
        })
        .collect();
    keyed.sort_by(|(a, _), (b, _)| {
        for (i, (_, descending, nulls_last)) in keys.iter().enumerate() {
            let ord = order_values(&a[i], &b[i], *descending, *nulls_last);
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    });
    keyed.into_iter().map(|(_, id)| id).collect()
}

pub(super) fn same_path(a: &Resolved, b: &Resolved) -> bool {
    a.field.name == b.field.name && a.hops.iter().map(|h| &h.0).eq(b.hops.iter().map(|h| &h.0))
}

/// A row as the query API returns it: `attributes`, then the selected fields in order, parent
/// fields nested under their relationship.
pub fn render(store: &Store, object: &str, id: &str, columns: &[Resolved], version: &str) -> Value {
    let mut row = Map::new();
    row.insert("attributes".into(), attributes(object, id, version));
    // Own fields come straight from the record: one lookup per row, not per field.
    let records = store.object(object).ok();
    let own = records.and_then(|o| o.records.get(id));
    for column in columns {
        if column.hops.is_empty() {
            let value = match (records, own) {
                (Some(records), Some(record)) => {
                    read_value(&records.meta, &column.field, record, id, version)
                }
                _ => Value::Null,
            };
            row.insert(column.field.name.to_string(), value);
            continue;
        }
        let value = value_of(store, object, id, column);
        // The chain of parents; a missing one ends it with a null relationship.
        let mut chain = Vec::new();
        let mut parent_object = object.to_owned();
        let mut current_id = id.to_owned();
        let mut complete = true;
        for (reference, relationship, target) in &column.hops {
            match parent_id(store, &parent_object, &current_id, reference) {
                Some(next) => {
                    chain.push((relationship.clone(), target.clone(), next.clone()));
                    parent_object = target.clone();
                    current_id = next;
                }
                None => {
                    chain.push((relationship.clone(), String::new(), String::new()));
                    complete = false;
                    break;
                }
            }
        }
        insert_nested(
            &mut row,
            &chain,
            complete.then_some((&*column.field.name, value)),
            version,
        );
    }
    Value::Object(row)
}

/// Puts a parent field under its relationship objects, creating them on the way.
fn insert_nested(
    map: &mut Map<String, Value>,
    chain: &[(String, String, String)],
    leaf: Option<(&str, Value)>,
    version: &str,
) {
    match chain.split_first() {
        None => {
            if let Some((name, value)) = leaf {
                map.insert(name.to_owned(), value);
            }
        }
        Some(((relationship, _, _), _)) if chain.len() == 1 && leaf.is_none() => {
            map.entry(relationship.clone()).or_insert(Value::Null);
        }
        Some(((relationship, target, id), rest)) => {
            let entry = map.entry(relationship.clone()).or_insert_with(|| {
                let mut m = Map::new();
                m.insert("attributes".into(), attributes(target, id, version));
                Value::Object(m)
            });
            if let Value::Object(inner) = entry {
                insert_nested(inner, rest, leaf, version);
            }
        }
    }
}

/// A filter with its paths resolved and its literals checked against the field types.
#[derive(Debug, Clone)]
pub(super) enum Compiled {
    And(Vec<Compiled>),
    Or(Vec<Compiled>),
    Not(Box<Compiled>),
    Cmp(Resolved, &'static str, Literal),
    In(Resolved, bool, Vec<Literal>),
    Like(Resolved, String),
}

pub(super) fn compile(
    store: &Store,
    soql: &str,
    object: &str,
    cond: &Cond,
) -> Result<Compiled, ApiFailure> {
    // A field a WHERE clause reads: resolved, and one that can be filtered on.
    let filtered = |field: &_, col: usize| {
        usable(
            resolve(store, soql, object, field, col)?,
            soql,
            col,
            "filtered",
        )
    };
    Ok(match cond {
        Cond::And(parts) => Compiled::And(
            parts
                .iter()
                .map(|c| compile(store, soql, object, c))
                .collect::<Result<_, _>>()?,
        ),
        Cond::Or(parts) => Compiled::Or(
            parts
                .iter()
                .map(|c| compile(store, soql, object, c))
                .collect::<Result<_, _>>()?,
        ),
        Cond::Not(inner) => Compiled::Not(Box::new(compile(store, soql, object, inner)?)),
        Cond::Cmp {
            field,
            op,
            value,
            col,
        } => {
            let r = filtered(field, *col)?;
            check_literal(soql, *col, &r.field, value)?;
            Compiled::Cmp(r, op, value.clone())
        }
        Cond::In {
            field,
            negated,
            values,
            col,
        } => {
            let r = filtered(field, *col)?;
            for v in values {
                check_literal(soql, *col, &r.field, v)?;
            }
            Compiled::In(r, *negated, values.clone())
        }
        Cond::Like {
            field,
            pattern,
            col,
        } => Compiled::Like(filtered(field, *col)?, pattern.to_lowercase()),
        Cond::Aggregate { col, .. } => {
            return Err(caret_error(
                "MALFORMED_QUERY",
                soql,
                *col,
                "Aggregate functions are only allowed in HAVING",
            ))
        }
    })
}

pub(super) fn check_literal(
    soql: &str,
    col: usize,
    field: &FieldMeta,
    value: &Literal,
) -> Result<(), ApiFailure> {
    let numeric = matches!(
        field.field_type,
        FieldType::Int | FieldType::Double | FieldType::Currency | FieldType::Percent
    );
    let dated = matches!(field.field_type, FieldType::Date | FieldType::DateTime);
    let ok = match value {
        Literal::Null => true,
        Literal::Str(_) => !numeric && !dated && field.field_type != FieldType::Boolean,
        Literal::Num(_) => numeric,
        Literal::Bool(_) => field.field_type == FieldType::Boolean,
        Literal::Date(d) => dated && resolve_date(d).is_some(),
    };
    if ok {
        return Ok(());
    }
    let expected = match field.field_type {
        FieldType::Int => "integer",
        FieldType::Date => "date",
        FieldType::DateTime => "dateTime",
        FieldType::Boolean => "boolean",
        t if numeric => t.name(),
        _ => "string",
    };
    let quoted = if matches!(value, Literal::Str(_)) {
        " and should not be enclosed in quotes"
    } else {
        ""
    };
    Err(caret_error(
        "INVALID_FIELD",
        soql,
        col,
        &format!(
            "value of filter criterion for field '{}' must be of type {expected}{quoted}",
            field.name
        ),
    ))
}

pub(super) fn matches(store: &Store, object: &str, id: &str, cond: &Compiled) -> bool {
    match cond {
        Compiled::And(parts) => parts.iter().all(|c| matches(store, object, id, c)),
        Compiled::Or(parts) => parts.iter().any(|c| matches(store, object, id, c)),
        Compiled::Not(inner) => !matches(store, object, id, inner),
        Compiled::Cmp(path, op, literal) => {
            compare_literal(&value_of(store, object, id, path), op, literal)
        }
        Compiled::In(path, negated, values) => {
            let v = value_of(store, object, id, path);
            values.iter().any(|l| compare_literal(&v, "=", l)) != *negated
        }
        Compiled::Like(path, pattern) => match value_of(store, object, id, path) {
            Value::String(s) => like(&s.to_lowercase(), pattern),
            _ => false,
        },
    }
}

pub(super) fn compare_literal(value: &Value, op: &str, literal: &Literal) -> bool {
    if let Literal::Date(text) = literal {
        let (Some((start, end)), Some(at)) = (resolve_date(text), instant_of(value)) else {
            return op == "!=" && value.is_null();
        };
        return match op {
            "=" => at >= start && at < end,
            "!=" => !(at >= start && at < end),
            "<" => at < start,
            "<=" => at < end,
            ">" => at >= end,
            ">=" => at >= start,
            _ => false,
        };
    }
    let ordering = match (value, literal) {
        (Value::Null, Literal::Null) => Some(Ordering::Equal),
        (Value::Null, _) | (_, Literal::Null) => None,
        (Value::String(s), Literal::Str(l)) => Some(s.to_lowercase().cmp(&l.to_lowercase())),
        (Value::Number(n), Literal::Num(l)) => n.as_f64().and_then(|n| n.partial_cmp(l)),
        (Value::Bool(b), Literal::Bool(l)) => Some(b.cmp(l)),
        _ => None,
    };
    match (op, ordering) {
        ("=", Some(o)) => o == Ordering::Equal,
        ("!=", Some(o)) => o != Ordering::Equal,
        ("!=", None) => true,
        ("<", Some(o)) => o == Ordering::Less && !value.is_null(),
        ("<=", Some(o)) => o != Ordering::Greater && !value.is_null(),
        (">", Some(o)) => o == Ordering::Greater,
        (">=", Some(o)) => o != Ordering::Less && !value.is_null(),
        _ => false,
    }
}

/// Orders two non-null field values of the same field.
pub(super) fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::String(x), Value::String(y)) => x
            .to_lowercase()
            .cmp(&y.to_lowercase())
            .then_with(|| x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => Ordering::Equal,
    }
}

/// `%` matches any run, `_` one character; both sides already lower-cased.
pub(super) fn like(text: &str, pattern: &str) -> bool {
    let t: Vec<char> = text.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    let (mut ti, mut pi, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '_' || p[pi] == t[ti]) {
            ti += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == '%' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '%')
}

fn instant_of(value: &Value) -> Option<NaiveDateTime> {
    let text = value.as_str()?;
    if text.len() == 10 {
        return NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()?
            .and_hms_opt(0, 0, 0);
    }
    chrono::DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| chrono::DateTime::parse_from_rfc3339(text))
        .ok()
        .map(|t| t.with_timezone(&Utc).naive_utc())
}

/// A date literal or function as a half-open UTC range.
fn resolve_date(text: &str) -> Option<(NaiveDateTime, NaiveDateTime)> {
    let today = Utc::now().date_naive();
    let day = |d: NaiveDate| d.and_hms_opt(0, 0, 0);
    let month_start = |d: NaiveDate| NaiveDate::from_ymd_opt(d.year(), d.month(), 1);
    let next_month = |d: NaiveDate| {
        if d.month() == 12 {
            NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1)
        }
    };
    let range = |a: NaiveDate, b: NaiveDate| Some((day(a)?, day(b)?));
    // LAST_N_DAYS:7 and the like; a datetime literal's colons are not a parameter.
    if let Some((name, n)) = text
        .split_once(':')
        .filter(|(name, _)| name.starts_with(|c: char| c.is_ascii_alphabetic()))
    {
        let n: i64 = n.parse().ok()?;
        return match name {
            "LAST_N_DAYS" => range(today - Days::days(n), today + Days::days(1)),
            "NEXT_N_DAYS" => range(today + Days::days(1), today + Days::days(n + 1)),
            _ => None,
        };
    }
    match text {
        "TODAY" => range(today, today + Days::days(1)),
        "YESTERDAY" => range(today - Days::days(1), today),
        "TOMORROW" => range(today + Days::days(1), today + Days::days(2)),
        "THIS_WEEK" | "LAST_WEEK" => {
            let start = today - Days::days(i64::from(today.weekday().num_days_from_sunday()));
            let start = if text == "LAST_WEEK" {
                start - Days::days(7)
            } else {
                start
            };
            range(start, start + Days::days(7))
        }
        "THIS_MONTH" => range(month_start(today)?, next_month(today)?),
        "LAST_MONTH" => {
            let this = month_start(today)?;
            let last = month_start(this - Days::days(1))?;
            range(last, this)
        }
        "NEXT_MONTH" => {
            let next = next_month(today)?;
            range(next, next_month(next)?)
        }
        "THIS_YEAR" => range(
            NaiveDate::from_ymd_opt(today.year(), 1, 1)?,
            NaiveDate::from_ymd_opt(today.year() + 1, 1, 1)?,
        ),
        "LAST_YEAR" => range(
            NaiveDate::from_ymd_opt(today.year() - 1, 1, 1)?,
            NaiveDate::from_ymd_opt(today.year(), 1, 1)?,
        ),
        literal if literal.len() == 10 => {
            let d = NaiveDate::parse_from_str(literal, "%Y-%m-%d").ok()?;
            range(d, d + Days::days(1))
        }
        literal => {
            let t = chrono::DateTime::parse_from_rfc3339(literal)
                .or_else(|_| chrono::DateTime::parse_from_str(literal, "%Y-%m-%dT%H:%M:%S%.f%z"))
                .ok()?
                .with_timezone(&Utc)
                .naive_utc();
            Some((t, t + Days::milliseconds(1)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns() {
        assert!(like("acme corp", "acme%"));
        assert!(like("acme", "a_me"));
        assert!(like("acme", "%"));
        assert!(!like("acme", "b%"));
        assert!(like("a%b", "a%b"));
    }

    #[test]
    fn date_functions_are_ranges() {
        let (s, e) = resolve_date("TODAY").unwrap();
        assert_eq!(e - s, Days::days(1));
        let (s, e) = resolve_date("LAST_N_DAYS:7").unwrap();
        assert_eq!(e - s, Days::days(8));
        assert!(resolve_date("2024-02-29").is_some());
        assert!(resolve_date("2024-02-30").is_none());
    }
}
