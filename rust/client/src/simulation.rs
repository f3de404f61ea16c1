//! Record and replay at the transport boundary: every HTTP interaction written to a cassette
//! (JSON lines, secrets redacted), and answered from it later with no network. Also a fake
//! transport with queued answers for unit tests.

use crate::error::TransportErrorKind;
use crate::transport::{HttpRequest, HttpResponse, HttpTransport, SendError};
use bytes::Bytes;
use futures::future::BoxFuture;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::sync::{Arc, Mutex};

/// The cassette format this build writes and reads.
pub const CASSETTE_VERSION: u32 = 1;
const REDACTED: &str = "[REDACTED]";
/// Form fields and JSON keys whose values are secrets.
const SECRET_KEYS: &[&str] = &[
    "access_token",
    "refresh_token",
    "client_secret",
    "assertion",
    "signature",
    "token",
    "password",
    "private_key",
];
/// Headers whose values are secrets or vary from run to run.
const SECRET_HEADERS: &[&str] = &["authorization", "cookie", "set-cookie"];

/// One recorded HTTP exchange.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interaction {
    pub method: String,
    /// Path and query, without scheme and host (which `host` keeps, unless replaced).
    pub path: String,
    pub host: String,
    pub request_headers: BTreeMap<String, String>,
    pub request_body: String,
    pub status: u16,
    pub response_headers: BTreeMap<String, String>,
    pub response_body: String,
}

#[derive(Serialize, Deserialize)]
struct CassetteHeader {
    format: String,
    version: u32,
}

/// Why a cassette could not be written or read, or a request had no recording.
#[derive(Debug, thiserror::Error)]
pub enum SimulationError {
    #[error("cannot use cassette {path}: {message}")]
    Cassette { path: String, message: String },
}

fn is_secret_key(key: &str) -> bool {
    SECRET_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key))
}

fn redact_json(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if is_secret_key(k) && !v.is_null() {
                    *v = Value::String(REDACTED.to_owned());
                } else {
                    redact_json(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        _ => {}
    }
}

/// A body as the cassette keeps it: JSON with secret keys redacted, forms with secret fields
/// redacted, anything else verbatim.
fn redact_body(body: &[u8], content_type: Option<&str>) -> String {
    if body.is_empty() {
        return String::new();
    }
    if let Ok(mut json) = serde_json::from_slice::<Value>(body) {
        redact_json(&mut json);
        return json.to_string();
    }
    let text = String::from_utf8_lossy(body);
    if content_type.is_some_and(|c| c.contains("x-www-form-urlencoded")) {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(text.as_bytes())
            .map(|(k, v)| {
                let v = if is_secret_key(&k) {
                    REDACTED.to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        return url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
    }
    text.into_owned()
}

fn headers_map(headers: &HeaderMap) -> BTreeMap<String, String> {
    headers
        .iter()
        .map(|(k, v)| {
            let name = k.as_str().to_ascii_lowercase();
            let value = if SECRET_HEADERS.contains(&name.as_str()) {
                REDACTED.to_owned()
            } else {
                v.to_str().unwrap_or_default().to_owned()
            };
            (name, value)
        })
        .collect()
}

fn path_of(url: &url::Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

fn interaction(
    request: &HttpRequest,
    response: &HttpResponse,
    replace_host: Option<&str>,
) -> Interaction {
    let content_type = request
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let host = match replace_host {
        Some(h) => h.to_owned(),
        None => request.url.origin().ascii_serialization(),
    };
    let mut response_body = redact_body(&response.body, None);
    let mut response_headers = headers_map(&response.headers);
    if let Some(replacement) = replace_host {
        let origin = request.url.origin().ascii_serialization();
        response_body = response_body.replace(&origin, replacement);
        for v in response_headers.values_mut() {
            *v = v.replace(&origin, replacement);
        }
    }
    Interaction {
        method: request.method.to_string(),
        path: path_of(&request.url),
        host,
        request_headers: headers_map(&request.headers),
        request_body: redact_body(&request.body, content_type),
        status: response.status.as_u16(),
        response_headers,
        response_body,
    }
}

/// Collects the interactions of a client; `save` writes them as a cassette.
#[derive(Debug, Clone, Default)]
pub struct SimulationRecorder {
    interactions: Arc<Mutex<Vec<Interaction>>>,
    replace_host: Option<String>,
}

impl SimulationRecorder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes `replacement` (e.g. `https://instance.example`) instead of the org's origin.
    pub fn replace_host(mut self, replacement: impl Into<String>) -> Self {
        self.replace_host = Some(replacement.into());
        self
    }

    pub fn interactions(&self) -> Vec<Interaction> {
        self.interactions
            .lock()
            .map(|i| i.clone())
            .unwrap_or_default()
    }

    /// Writes the cassette: a header line, then one interaction per line.
    pub fn save(&self, path: &std::path::Path) -> Result<(), SimulationError> {
        let fail = |e: std::io::Error| SimulationError::Cassette {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        let mut out = std::io::BufWriter::new(std::fs::File::create(path).map_err(fail)?);
        let header = CassetteHeader {
            format: "forcelink-cassette".into(),
            version: CASSETTE_VERSION,
        };
        let line = |v: &dyn erased::Json| v.json();
        writeln!(out, "{}", line(&header)).map_err(fail)?;
        for i in self.interactions() {
            writeln!(out, "{}", line(&i)).map_err(fail)?;
        }
        out.flush().map_err(fail)
    }

    /// Wraps `inner` so every exchange through it is recorded.
    pub fn wrap(&self, inner: Arc<dyn HttpTransport>) -> Arc<dyn HttpTransport> {
        Arc::new(RecordingTransport {
            inner,
            recorder: self.clone(),
        })
    }
}

mod erased {
    /// Serializes without failing: the cassette types are plain data.
    pub trait Json {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap_or_default()
        }
    }
}

struct RecordingTransport {
    inner: Arc<dyn HttpTransport>,
    recorder: SimulationRecorder,
}

impl HttpTransport for RecordingTransport {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, SendError>> {
        Box::pin(async move {
            let response = self.inner.send(request.clone()).await?;
            let recorded = interaction(&request, &response, self.recorder.replace_host.as_deref());
            if let Ok(mut all) = self.recorder.interactions.lock() {
                all.push(recorded);
            }
            Ok(response)
        })
    }
}

/// The comparable part of a request body: JSON compared as values (key order ignored),
/// forms as sorted pairs, secrets redacted on both sides.
fn normalized_body(body: &str) -> Value {
    if body.is_empty() {
        return Value::Null;
    }
    if let Ok(json) = serde_json::from_str::<Value>(body) {
        return json;
    }
    let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    pairs.sort();
    // A JWT assertion changes every time (exp); it is redacted, so forms compare equal.
    Value::String(
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish(),
    )
}

/// Answers requests from a cassette, with no network.
#[derive(Debug, Clone)]
pub struct SimulationReplayer {
    interactions: Arc<Vec<Interaction>>,
    used: Arc<Mutex<Vec<bool>>>,
    strict: bool,
    ordered: bool,
}

impl SimulationReplayer {
    /// Reads a cassette; strict and any-order by default.
    pub fn load(path: &std::path::Path) -> Result<Self, SimulationError> {
        let fail = |message: String| SimulationError::Cassette {
            path: path.display().to_string(),
            message,
        };
        let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
        let mut lines = std::io::BufReader::new(file).lines();
        let header: CassetteHeader = match lines.next() {
            Some(Ok(line)) => {
                serde_json::from_str(&line).map_err(|e| fail(format!("not a cassette: {e}")))?
            }
            _ => return Err(fail("empty file".into())),
        };
        if header.format != "forcelink-cassette" || header.version != CASSETTE_VERSION {
            return Err(fail(format!(
                "format {} version {} is not readable by this version (expects {CASSETTE_VERSION})",
                header.format, header.version
            )));
        }
        let mut interactions = Vec::new();
        for (n, line) in lines.enumerate() {
            let line = line.map_err(|e| fail(e.to_string()))?;
            if line.trim().is_empty() {
                continue;
            }
            interactions.push(
                serde_json::from_str(&line).map_err(|e| fail(format!("line {}: {e}", n + 2)))?,
            );
        }
        Ok(Self::from_interactions(interactions))
    }

    pub fn from_interactions(interactions: Vec<Interaction>) -> Self {
        let used = vec![false; interactions.len()];
        Self {
            interactions: Arc::new(interactions),
            used: Arc::new(Mutex::new(used)),
            strict: true,
            ordered: false,
        }
    }

    /// Strict (the default): an unmatched request is an error naming it.
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    pub fn is_strict(&self) -> bool {
        self.strict
    }

    /// Ordered: requests must come in the recorded order.
    pub fn ordered(mut self, ordered: bool) -> Self {
        self.ordered = ordered;
        self
    }

    /// Recorded interactions not replayed yet.
    pub fn remaining(&self) -> usize {
        self.used
            .lock()
            .map(|u| u.iter().filter(|x| !**x).count())
            .unwrap_or(0)
    }

    fn find(&self, request: &HttpRequest) -> Option<Interaction> {
        let method = request.method.as_str();
        let path = path_of(&request.url);
        let content_type = request
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        let body = normalized_body(&redact_body(&request.body, content_type));
        let mut used = self.used.lock().ok()?;
        let matches = |i: &Interaction| {
            i.method == method && i.path == path && normalized_body(&i.request_body) == body
        };
        let index = if self.ordered {
            let next = used.iter().position(|u| !u)?;
            self.interactions
                .get(next)
                .filter(|i| matches(i))
                .map(|_| next)
        } else {
            self.interactions
                .iter()
                .enumerate()
                .position(|(n, i)| !used.get(n).copied().unwrap_or(true) && matches(i))
        }?;
        if let Some(slot) = used.get_mut(index) {
            *slot = true;
        }
        self.interactions.get(index).cloned()
    }

    /// Serves as a transport; unmatched requests fail (strict) or go to `fallback`.
    pub fn transport(&self, fallback: Option<Arc<dyn HttpTransport>>) -> Arc<dyn HttpTransport> {
        Arc::new(ReplayTransport {
            replayer: self.clone(),
            fallback,
        })
    }
}

fn to_response(i: &Interaction) -> HttpResponse {
    let mut headers = HeaderMap::new();
    for (k, v) in &i.response_headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            headers.insert(name, value);
        }
    }
    HttpResponse {
        status: StatusCode::from_u16(i.status).unwrap_or(StatusCode::OK),
        headers,
        body: Bytes::from(i.response_body.clone()),
    }
}

struct ReplayTransport {
    replayer: SimulationReplayer,
    fallback: Option<Arc<dyn HttpTransport>>,
}

impl HttpTransport for ReplayTransport {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, SendError>> {
        Box::pin(async move {
            if let Some(found) = self.replayer.find(&request) {
                return Ok(to_response(&found));
            }
            match (&self.fallback, self.replayer.strict) {
                (Some(fallback), false) => fallback.send(request).await,
                _ => Err(SendError {
                    kind: TransportErrorKind::Unmatched,
                    message: format!(
                        "no recorded interaction matches {} {}",
                        request.method,
                        path_of(&request.url)
                    ),
                }),
            }
        })
    }
}

/// A request a [`FakeTransport`] saw.
#[derive(Debug, Clone, PartialEq)]
pub struct SeenRequest {
    pub method: String,
    pub path: String,
    pub body: String,
}

#[derive(Debug, Clone)]
struct QueuedAnswer {
    method: Option<Method>,
    path_contains: String,
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

/// A programmable transport for unit tests: queue answers, then assert the requests made.
/// Answers are used once, in the order queued, by the first whose method and path match.
#[derive(Debug, Clone, Default)]
pub struct FakeTransport {
    queue: Arc<Mutex<Vec<QueuedAnswer>>>,
    seen: Arc<Mutex<Vec<SeenRequest>>>,
}

impl FakeTransport {
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues an answer for the next request with `method` (any when None) whose path contains
    /// `path_contains`.
    pub fn respond(
        &self,
        method: Option<&str>,
        path_contains: &str,
        status: u16,
        body: &str,
        headers: &[(&str, &str)],
    ) -> Result<(), String> {
        let method = match method {
            Some(m) => Some(Method::from_bytes(m.as_bytes()).map_err(|e| e.to_string())?),
            None => None,
        };
        let answer = QueuedAnswer {
            method,
            path_contains: path_contains.to_owned(),
            status,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body: body.to_owned(),
        };
        self.queue.lock().map_err(|e| e.to_string())?.push(answer);
        Ok(())
    }

    /// Every request sent so far, oldest first.
    pub fn requests(&self) -> Vec<SeenRequest> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Answers queued but not used.
    pub fn pending(&self) -> usize {
        self.queue.lock().map(|q| q.len()).unwrap_or(0)
    }
}

impl HttpTransport for FakeTransport {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, SendError>> {
        Box::pin(async move {
            let path = path_of(&request.url);
            let content_type = request
                .headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok());
            if let Ok(mut seen) = self.seen.lock() {
                seen.push(SeenRequest {
                    method: request.method.to_string(),
                    path: path.clone(),
                    body: redact_body(&request.body, content_type),
                });
            }
            let answer = self.queue.lock().ok().and_then(|mut queue| {
                let index = queue.iter().position(|a| {
                    a.method.as_ref().is_none_or(|m| *m == request.method)
                        && path.contains(&a.path_contains)
                })?;
                Some(queue.remove(index))
            });
            let Some(answer) = answer else {
                return Err(SendError {
                    kind: TransportErrorKind::Unmatched,
                    message: format!("no answer queued for {} {path}", request.method),
                });
            };
            let mut headers = HeaderMap::new();
            for (k, v) in &answer.headers {
                if let (Ok(name), Ok(value)) = (
                    HeaderName::from_bytes(k.as_bytes()),
                    HeaderValue::from_str(v),
                ) {
                    headers.insert(name, value);
                }
            }
            if !headers.contains_key(http::header::CONTENT_TYPE) {
                headers.insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
            }
            Ok(HttpResponse {
                status: StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK),
                headers,
                body: Bytes::from(answer.body),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_in_json_and_forms() {
        let json = redact_body(br#"{"access_token":"00D!abc","instance_url":"https://x","nested":{"refresh_token":"r"}}"#, None);
        assert!(!json.contains("00D!abc") && !json.contains("\"r\""));
        assert!(json.contains("https://x"));
        let form = redact_body(
            b"grant_type=refresh_token&refresh_token=5Aep&client_secret=s3",
            Some("application/x-www-form-urlencoded"),
        );
        assert_eq!(
            form,
            "grant_type=refresh_token&refresh_token=%5BREDACTED%5D&client_secret=%5BREDACTED%5D"
        );
    }

    #[test]
    fn json_bodies_match_whatever_the_key_order() {
        assert_eq!(
            normalized_body(r#"{"a":1,"b":2}"#),
            normalized_body(r#"{"b":2,"a":1}"#)
        );
        assert_ne!(normalized_body(r#"{"a":1}"#), normalized_body(r#"{"a":2}"#));
    }
}
