//! Conditional record reads: `ETag` and `Last-Modified` on the answer, 304 when the caller's
//! copy is current.

use crate::http_kit::reply::Reply;
use axum::http::StatusCode;
use serde_json::Value;

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

/// A record GET's answer with its `ETag` (a hash of the body) and `Last-Modified` (the record's
/// SystemModstamp); 304 Not Modified, without a body, when the caller's copy is current.
pub fn conditional(body: Value, conditions: &Conditions) -> Reply {
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
