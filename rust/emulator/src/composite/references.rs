//! Composite references: `@{ref.path}` resolved from earlier subresponses, reference ids,
//! and subrequest URLs split into version, path and query.

use serde_json::{Map, Value};

pub(super) fn valid_reference_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Splits `/services/data/vNN.N/rest?query` into the version, path segments and query.
pub(super) fn split_url(url: &str) -> Option<(String, Vec<String>, Option<String>)> {
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
pub(super) fn resolve_references(
    value: &Value,
    results: &Map<String, Value>,
) -> Result<Value, String> {
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

pub(super) fn substitute(text: &str, results: &Map<String, Value>) -> Result<String, String> {
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
