//! `/services/apexrest/...`: Apex REST classes, played by handlers that a test registers for a
//! URL mapping (`/orders` or `/orders/*`, as `@RestResource(urlMapping=...)` names them).

use crate::http_kit::failure::ApiFailure;
use crate::org::{lock, Org};
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::sync::Arc;

/// One call to an Apex REST class.
#[derive(Debug, Clone, PartialEq)]
pub struct ApexCall {
    pub method: String,
    /// The path under `/services/apexrest`, starting with `/`.
    pub path: String,
    pub params: Vec<(String, String)>,
    /// The JSON body, when one was sent.
    pub body: Option<Value>,
}

/// A handler's answer: a status and a JSON body (None: empty).
#[derive(Debug, Clone, PartialEq)]
pub struct ApexAnswer {
    pub status: u16,
    pub body: Option<Value>,
}

/// Plays an Apex REST class. It runs on a blocking thread, so it may wait (or call Python).
pub type ApexHandler = Arc<dyn Fn(ApexCall) -> ApexAnswer + Send + Sync>;

/// The registered classes, by URL mapping.
#[derive(Default)]
pub struct ApexClasses {
    handlers: std::sync::Mutex<Vec<(String, ApexHandler)>>,
}

impl ApexClasses {
    /// Registers `handler` for `url_mapping`; a later registration of the same mapping replaces
    /// the earlier one.
    pub fn register(&self, url_mapping: &str, handler: ApexHandler) {
        let mapping = format!("/{}", url_mapping.trim_start_matches('/'));
        let mut handlers = lock(&self.handlers);
        handlers.retain(|(m, _)| *m != mapping);
        handlers.push((mapping, handler));
    }

    /// The handler whose mapping matches `path`: an exact mapping first, then the longest
    /// `/prefix/*`.
    fn find(&self, path: &str) -> Option<ApexHandler> {
        let handlers = lock(&self.handlers);
        if let Some((_, h)) = handlers.iter().find(|(m, _)| m == path) {
            return Some(Arc::clone(h));
        }
        handlers
            .iter()
            .filter_map(|(m, h)| {
                let prefix = m.strip_suffix('*')?;
                let base = prefix.trim_end_matches('/');
                (path.starts_with(prefix) || path == base).then_some((prefix.len(), h))
            })
            .max_by_key(|(len, _)| *len)
            .map(|(_, h)| Arc::clone(h))
    }
}

pub async fn serve(
    State(org): State<Arc<Org>>,
    method: Method,
    uri: Uri,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match answer(&org, method, &uri, query.as_deref(), &headers, body).await {
        Ok(response) => response,
        Err(failure) => failure.into_response(),
    }
}

async fn answer(
    org: &Arc<Org>,
    method: Method,
    uri: &Uri,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiFailure> {
    let path = uri
        .path()
        .strip_prefix("/services/apexrest")
        .unwrap_or_default()
        .to_owned();
    org.count(&format!("{method} apexrest"));
    crate::http_kit::auth::authenticate(org.as_ref(), headers)?;
    if !org.take_api_call() {
        return Err(ApiFailure::new(
            StatusCode::FORBIDDEN,
            "REQUEST_LIMIT_EXCEEDED",
            "TotalRequests Limit exceeded.",
        ));
    }
    let Some(handler) = org.apex.find(&path) else {
        return Err(ApiFailure::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("Could not find a match for URL {path}"),
        ));
    };
    let bytes = axum::body::to_bytes(body, 64 * 1024 * 1024)
        .await
        .map_err(|e| {
            ApiFailure::new(StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR", e.to_string())
        })?;
    let body = if bytes.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(serde_json::from_slice(&bytes).map_err(|e| {
            ApiFailure::new(StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR", e.to_string())
        })?)
    };
    let params = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    let call = ApexCall {
        method: method.to_string(),
        path,
        params,
        body,
    };
    let answered = tokio::task::spawn_blocking(move || handler(call))
        .await
        .map_err(|_| {
            ApiFailure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "APEX_ERROR",
                "the Apex class failed",
            )
        })?;
    let status = StatusCode::from_u16(answered.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match answered.body {
        Some(value) => (status, axum::Json(value)).into_response(),
        None => status.into_response(),
    };
    if let Ok(value) =
        HeaderValue::from_str(&format!("api-usage={}/{}", org.api_used(), org.api_limit))
    {
        response.headers_mut().insert("Sforce-Limit-Info", value);
    }
    Ok(response)
}
