//! Calls to REST resources the library does not wrap, through the same pipeline as the rest:
//! the token, retries by idempotency, limits tracking, circuit breakers and typed errors. The
//! path stays on the org's instance, so the token never goes to another host.

use crate::client::{Client, RestCall};
use crate::error::{Error, Result};
use crate::resilience::Idempotency;
use bytes::Bytes;
use http::Method;
use std::time::Duration;
use url::Url;

/// A request to any REST resource of the org.
#[derive(Debug, Clone, Default)]
pub struct RawRequest {
    pub method: Method,
    /// `sobjects/Account/describe` (under `/services/data/vXX.X/`), an absolute
    /// `/services/...` path, or a full URL on the org's own instance.
    pub path: String,
    /// A JSON body.
    pub json: Option<serde_json::Value>,
    /// Query parameters, appended in order.
    pub params: Vec<(String, String)>,
    /// Extra headers (such as `Sforce-Call-Options`); `Authorization` is the client's own.
    pub headers: Vec<(String, String)>,
    /// This call's timeout, in place of the client's.
    pub timeout: Option<Duration>,
}

/// The answer: its status, headers and body as sent.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl RawResponse {
    /// The body as JSON; None when it is empty.
    pub fn json(&self) -> Result<Option<serde_json::Value>> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(&self.body)
            .map(Some)
            .map_err(|e| Error::UnexpectedResponse {
                status: self.status,
                message: format!("the body is not JSON: {e}"),
            })
    }
}

fn invalid(message: impl Into<String>) -> Error {
    Error::invalid_argument("path", message)
}

impl Client {
    /// The URL of `path` on the org's instance; another host, a scheme change or a path outside
    /// `/services/` is refused before anything is sent.
    pub(crate) fn resolve_path(&self, path: &str) -> Result<Url> {
        let instance = &self.config().instance_url;
        if path.contains("://") {
            let url = Url::parse(path).map_err(|e| invalid(format!("not a URL: {e}")))?;
            let same = url.scheme() == instance.scheme()
                && url.host_str() == instance.host_str()
                && url.port_or_known_default() == instance.port_or_known_default();
            if !same {
                return Err(invalid(format!(
                    "{} is not this org's instance ({}): the token is only sent there",
                    url.origin().ascii_serialization(),
                    instance.origin().ascii_serialization()
                )));
            }
            return Ok(url);
        }
        if path.split(['/', '?']).any(|segment| segment == "..") {
            return Err(invalid("a path may not climb with .."));
        }
        if path.starts_with('/') {
            if !path.starts_with("/services/") {
                return Err(invalid(format!(
                    "an absolute path must start with /services/, got {path:?}"
                )));
            }
            return instance
                .join(path)
                .map_err(|e| invalid(format!("{path:?}: {e}")));
        }
        self.config()
            .data_url(path.trim_start_matches("./"))
            .map_err(|e| invalid(format!("{path:?}: {e}")))
    }

    /// Sends `request` through the client's pipeline. GET, HEAD, PUT and DELETE are retried
    /// after failures that allow it; POST and PATCH only when the request never left. An answer
    /// outside 2xx raises the typed error Salesforce's error body maps to.
    pub async fn request(&self, request: RawRequest) -> Result<RawResponse> {
        let mut url = self.resolve_path(&request.path)?;
        if !request.params.is_empty() {
            url.query_pairs_mut().extend_pairs(&request.params);
        }
        // A raw call may set a content type; the rest of the client's own headers are refused.
        let extra_headers = crate::options::checked_headers(
            &request.headers,
            &[http::header::AUTHORIZATION, http::header::HOST],
        )?;
        if let Some(t) = request.timeout {
            crate::options::checked_timeout(t.as_secs_f64())?;
        }
        let body = request
            .json
            .as_ref()
            .map(|v| serde_json::to_vec(v).map(Bytes::from))
            .transpose()
            .map_err(|e| Error::invalid_argument("json", e.to_string()))?;
        let idempotency = if matches!(request.method, Method::POST | Method::PATCH) {
            Idempotency::NonIdempotent
        } else {
            Idempotency::Idempotent
        };
        let mut call = RestCall::new(request.method, url, body, idempotency);
        // A conditional GET's "your copy is current" is an answer, not an error.
        call.accept_status = &[304];
        call.extra_headers = extra_headers;
        call.timeout = request.timeout;
        let response = self.execute(call).await?;
        Ok(RawResponse {
            status: response.status.as_u16(),
            headers: response
                .headers
                .iter()
                .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
                .collect(),
            body: response.body,
        })
    }
}

impl Client {
    /// Calls an Apex REST class: `request.path` is under `/services/apexrest/`
    /// (`orders/42` calls `/services/apexrest/orders/42`).
    pub async fn apex(&self, mut request: RawRequest) -> Result<RawResponse> {
        let path = request.path.trim_start_matches('/');
        if path.contains("://") {
            return Err(invalid(format!(
                "an Apex path is relative to /services/apexrest/, got {path:?}"
            )));
        }
        request.path = format!("/services/apexrest/{path}");
        self.request(request).await
    }
}

impl Client {
    /// Runs a SOSL search (`GET /search?q=...`): the matching records of every RETURNING
    /// object, in order, each with its `attributes`. Build the search with
    /// [`crate::soql::format_sosl`] when it holds user input.
    pub async fn search(&self, sosl: &str) -> Result<Vec<serde_json::Value>> {
        if sosl.trim().is_empty() {
            return Err(Error::invalid_argument("sosl", "the search is empty"));
        }
        #[derive(serde::Deserialize)]
        struct Answer {
            #[serde(rename = "searchRecords", default)]
            search_records: Vec<serde_json::Value>,
        }
        let mut url = self.config().data_url("search")?;
        url.query_pairs_mut().append_pair("q", sosl);
        let answer: Answer = self.get_json(url).await?;
        Ok(answer.search_records)
    }
}
