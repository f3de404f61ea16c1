//! The one request pipeline every REST call goes through: the URL checked, the circuit breaker
//! and throttle consulted, the auth header added, the call sent and timed, usage read from the
//! answer, errors mapped, and retries by idempotency.

use super::{Client, Inner};
use crate::error::{ApiError, Attempts, Error, Result, TransportErrorKind, TransportFailure};
use crate::resilience::{parse_retry_after, Idempotency, Outcome, RetryEvent};
use crate::transport::{HttpRequest, HttpResponse, StreamingResponse};
use bytes::Bytes;
use http::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderMap, Method};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use url::Url;

/// One REST call before auth and retries are applied.
pub(crate) struct RestCall {
    pub method: Method,
    pub url: Url,
    pub body: Option<Bytes>,
    pub idempotency: Idempotency,
    /// Statuses outside 2xx that the caller reads itself (e.g. 300 for upserts).
    pub accept_status: &'static [u16],
    /// Headers beside auth and content type (e.g. `Sforce-Query-Options`).
    pub extra_headers: Vec<(http::HeaderName, HeaderValue)>,
    /// The body's media type (JSON unless a bulk upload says otherwise).
    pub content_type: &'static str,
    /// The media type asked for.
    pub accept: &'static str,
    /// A file sent as the body, streamed from disk.
    pub upload: Option<crate::transport::UploadFile>,
    /// Hand the answer's body over as it arrives instead of reading it whole.
    pub stream_response: bool,
    /// This call's timeout, in place of the client's.
    pub timeout: Option<std::time::Duration>,
}

impl RestCall {
    /// Whether the call can change data: a POST that is not a read sent as POST (those are
    /// marked idempotent), or a PATCH, PUT or DELETE. When such a call's answer is lost, the
    /// change may have happened.
    fn may_write(&self) -> bool {
        self.idempotency == Idempotency::NonIdempotent
            || matches!(self.method, Method::PATCH | Method::PUT | Method::DELETE)
    }

    pub(crate) fn new(
        method: Method,
        url: Url,
        body: Option<Bytes>,
        idempotency: Idempotency,
    ) -> Self {
        Self {
            method,
            url,
            body,
            idempotency,
            accept_status: &[],
            extra_headers: Vec::new(),
            content_type: "application/json",
            accept: "application/json",
            upload: None,
            stream_response: false,
            timeout: None,
        }
    }
}

impl Client {
    pub(crate) async fn get_json<T: DeserializeOwned>(&self, url: Url) -> Result<T> {
        let response = self
            .execute(RestCall::new(
                Method::GET,
                url,
                None,
                Idempotency::Idempotent,
            ))
            .await?;
        decode_json(&response)
    }

    /// Sends a call with auth, retries and limit tracking; returns 2xx answers (and any status
    /// in `accept_status`), or the mapped error.
    pub(crate) async fn execute(&self, call: RestCall) -> Result<HttpResponse> {
        let write = call.may_write();
        let response = self.execute_streaming(call).await?;
        // The answer's status came, its body did not: the server acted on the request.
        response.collect().await.map_err(|sent| {
            Error::Transport(TransportFailure {
                kind: sent.kind,
                message: sent.message,
                attempts: Attempts::default(),
                outcome_unknown: write,
            })
        })
    }

    /// [`Client::execute`], handing over the successful answer's body as it arrives when the
    /// call asks for a streamed response.
    pub(crate) async fn execute_streaming(&self, call: RestCall) -> Result<StreamingResponse> {
        check_url_length(&call.url)?;
        self.check_open()?;
        self.check_process()?;
        let inner = &*self.inner;
        let family = crate::breaker::Family::of_path(call.url.path());
        let route = crate::routes::route_of(call.url.path());
        let policy = &inner.config.retry;
        let mut attempts = Attempts::default();
        let mut replayed_after_401 = false;
        // An earlier try of this call was sent and its answer lost.
        let mut answer_lost = false;
        loop {
            attempts.count += 1;
            inner
                .breakers
                .admit(family)
                .map_err(|e| with_attempts(e, attempts.clone()))?;
            let usage = inner
                .config
                .throttle
                .reserve_percent
                .and_then(|_| inner.limits.usage());
            inner
                .throttle
                .before_sending(usage.as_ref())
                .await
                .map_err(|e| with_attempts(e, attempts.clone()))?;
            let token = inner.auth.token().await?;
            let request = HttpRequest {
                method: call.method.clone(),
                url: rebase(&call.url, token.instance_url.as_ref())?,
                headers: request_headers(
                    token.token.expose_secret(),
                    &call,
                    self.options.as_deref(),
                )?,
                body: call.body.clone().unwrap_or_default(),
                upload: call.upload.clone(),
                timeout: call
                    .timeout
                    .or_else(|| self.options.as_ref().and_then(|o| o.timeout)),
            };
            let started = std::time::Instant::now();
            let sent = if call.stream_response {
                inner.transport.send_streaming(request).await
            } else {
                inner
                    .transport
                    .send(request)
                    .await
                    .map(StreamingResponse::from)
            };
            observe_request(
                &call.method,
                route,
                attempts.count,
                &sent,
                started.elapsed(),
            );
            inner.breakers.record(family, is_outage(&sent));
            let sent = match sent {
                Ok(response)
                    if response.status.is_success()
                        || call.accept_status.contains(&response.status.as_u16()) =>
                {
                    if inner.config.track_limits {
                        observe_limits(inner, &response.headers);
                    }
                    return Ok(response);
                }
                // An error answer is small: read it whole to map it.
                Ok(response) => response.collect().await,
                Err(e) => Err(e),
            };
            let (outcome_cause, retry_after, failure) = match sent {
                Err(sent) => {
                    let cause =
                        policy.retry_cause(call.idempotency, &Outcome::Transport(sent.kind));
                    // A write that left and lost its answer may have been done.
                    let outcome_unknown = call.may_write()
                        && matches!(
                            sent.kind,
                            TransportErrorKind::Io | TransportErrorKind::Timeout
                        );
                    answer_lost |= matches!(
                        sent.kind,
                        TransportErrorKind::Io | TransportErrorKind::Timeout
                    );
                    crate::metrics::record_error(family.name(), transport_code(sent.kind));
                    let failure = Error::Transport(TransportFailure {
                        kind: sent.kind,
                        message: sent.message,
                        attempts: Attempts::default(),
                        outcome_unknown,
                    });
                    (cause, None, failure)
                }
                Ok(response) if response.status.is_redirection() => {
                    return Err(refused_redirect(&response));
                }
                Ok(response) => {
                    if inner.config.track_limits {
                        observe_limits(inner, &response.headers);
                    }
                    let status = response.status.as_u16();
                    let api = ApiError::from_response(status, &response.body, Attempts::default());
                    crate::metrics::record_error(family.name(), &api.error_code);
                    if call.method == Method::DELETE
                        && answer_lost
                        && api.kind == crate::error::ErrorKind::EntityDeleted
                    {
                        // The try whose answer was lost did the delete: that is success.
                        return Ok(StreamingResponse::from(HttpResponse {
                            status: http::StatusCode::NO_CONTENT,
                            headers: HeaderMap::new(),
                            body: Bytes::new(),
                        }));
                    }
                    if status == 401 && !replayed_after_401 && inner.auth.invalidate(&token).await?
                    {
                        replayed_after_401 = true;
                        attempts.retried_causes.push(api.error_code);
                        continue;
                    }
                    let known_code =
                        (api.error_code != "UNKNOWN_ERROR").then_some(api.error_code.as_str());
                    let cause = policy.retry_cause(
                        call.idempotency,
                        &Outcome::Status {
                            status,
                            error_code: known_code,
                        },
                    );
                    let retry_after = response
                        .headers
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(parse_retry_after);
                    (cause, retry_after, Error::Api(Box::new(api)))
                }
            };
            let delay = match outcome_cause {
                Some(_) if attempts.count < policy.max_attempts => {
                    policy.delay(attempts.count, retry_after)
                }
                _ => None,
            };
            let (Some(cause), Some(delay)) = (outcome_cause, delay) else {
                let failure = if answer_lost && call.may_write() {
                    lost_then_failed(failure)
                } else {
                    failure
                };
                return Err(with_attempts(failure, attempts));
            };
            tracing::info!(
                target: "forcelink::http",
                method = %call.method,
                route = crate::routes::ROUTES[route],
                attempt = attempts.count,
                cause = %cause,
                wait_ms = delay.as_millis() as u64,
                "retrying"
            );
            if let Some(hook) = &inner.retry_hook {
                hook(&RetryEvent {
                    method: call.method.to_string(),
                    url: call.url.to_string(),
                    attempt: attempts.count,
                    cause: cause.clone(),
                    delay,
                });
            }
            attempts.retried_causes.push(cause);
            tokio::time::sleep(delay).await;
        }
    }
}

/// Points a URL built on the configured instance at the instance the token was issued for.
fn rebase(url: &Url, instance: Option<&Url>) -> Result<Url> {
    let Some(instance) = instance else {
        return Ok(url.clone());
    };
    if instance.origin() == url.origin() {
        return Ok(url.clone());
    }
    let mut rebased = instance.clone();
    rebased.set_path(url.path());
    rebased.set_query(url.query());
    Ok(rebased)
}

fn with_attempts(mut error: Error, attempts: Attempts) -> Error {
    if let Some(slot) = error.attempts_mut() {
        *slot = attempts;
    }
    error
}

fn observe_limits(inner: &Inner, headers: &HeaderMap) {
    if let Some(text) = headers
        .get("sforce-limit-info")
        .and_then(|v| v.to_str().ok())
    {
        if let Some(usage) = inner.limits.observe(text) {
            crate::metrics::record_rate_limit(usage.percent());
            inner.throttle.observe(&usage);
        }
    }
}

/// The error code of a failed try that got no answer.
fn transport_code(kind: TransportErrorKind) -> &'static str {
    match kind {
        TransportErrorKind::Connect => "CONNECT",
        TransportErrorKind::Timeout => "TIMEOUT",
        TransportErrorKind::Io => "CONNECTION_LOST",
        TransportErrorKind::Unmatched => "UNMATCHED",
        TransportErrorKind::Certificate => "CERTIFICATE",
    }
}

/// Counts a try in the metrics and logs it at DEBUG, by route template (never the URL: ids
/// and query text stay out of logs).
fn observe_request(
    method: &Method,
    route: usize,
    attempt: u32,
    sent: &std::result::Result<StreamingResponse, crate::transport::SendError>,
    elapsed: std::time::Duration,
) {
    let status = sent.as_ref().ok().map(|r| r.status.as_u16());
    crate::metrics::record_request(route, method, status, elapsed);
    let template = crate::routes::ROUTES[route];
    match sent {
        Ok(response) => tracing::debug!(
            target: "forcelink::http",
            %method,
            route = template,
            status = response.status.as_u16(),
            elapsed_ms = elapsed.as_millis() as u64,
            attempt,
            "request"
        ),
        Err(e) => tracing::debug!(
            target: "forcelink::http",
            %method,
            route = template,
            error = %e.kind,
            elapsed_ms = elapsed.as_millis() as u64,
            attempt,
            "request got no answer"
        ),
    }
}

fn request_headers(
    token: &str,
    call: &RestCall,
    options: Option<&crate::options::CallOptions>,
) -> Result<HeaderMap> {
    let mut headers = HeaderMap::with_capacity(3 + call.extra_headers.len());
    for (name, value) in &call.extra_headers {
        headers.insert(name.clone(), value.clone());
    }
    // The caller's headers replace the library's of the same name (a batch size, say).
    for (name, value) in options.map(|o| o.headers.as_slice()).unwrap_or_default() {
        headers.insert(name.clone(), value.clone());
    }
    let mut auth = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
        Error::config(
            "access_token",
            "contains characters not allowed in a header",
        )
    })?;
    auth.set_sensitive(true);
    headers.insert(AUTHORIZATION, auth);
    headers.insert(ACCEPT, HeaderValue::from_static(call.accept));
    // A content type among the call's own headers (a multipart boundary) wins.
    if (call.body.is_some() || call.upload.is_some()) && !headers.contains_key(CONTENT_TYPE) {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(call.content_type));
    }
    Ok(headers)
}

/// Decodes a JSON answer; a body that does not fit `T` is an unexpected response.
pub(crate) fn decode_json<T: DeserializeOwned>(response: &HttpResponse) -> Result<T> {
    serde_json::from_slice(&response.body).map_err(|e| Error::UnexpectedResponse {
        status: response.status.as_u16(),
        message: format!("cannot decode the JSON body: {e}"),
    })
}

/// The longest URL a request can carry: HTTP's request target is limited to 65,534 bytes by
/// the HTTP stack, and a longer one fails every attempt.
pub const MAX_URL_BYTES: usize = 65_534;

/// Refuses, before anything is sent, a URL no request can carry (a SOQL string or id of tens of
/// kilobytes), naming its size rather than echoing it.
fn check_url_length(url: &url::Url) -> Result<()> {
    let length = url.as_str().len();
    if length <= MAX_URL_BYTES {
        return Ok(());
    }
    let path = url.path();
    let shown: String = path.chars().take(80).collect();
    Err(Error::invalid_argument(
        "url",
        format!(
            "the request URL would be {length} bytes, more than the {MAX_URL_BYTES} a request can \
             carry (path {shown}...): shorten the query or the id, or split the work"
        ),
    ))
}

/// A redirect the transport did not follow (to another host): an error naming where it
/// pointed, never a body to take for the answer.
#[cold]
fn refused_redirect(response: &HttpResponse) -> Error {
    let location = response
        .headers
        .get(http::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|l| url::Url::parse(l).ok())
        .and_then(|l| l.host_str().map(str::to_owned))
        .unwrap_or_else(|| "an unknown place".to_owned());
    Error::UnexpectedResponse {
        status: response.status.as_u16(),
        message: format!(
            "redirected to {location}, another host: not followed, so the request and its token \
             stay with the instance"
        ),
    }
}

/// Whether a try's outcome says the service is unavailable (what the circuit breakers count):
/// no connection, a timeout, a broken answer, or a 5xx. A 4xx is the service answering.
fn is_outage(sent: &std::result::Result<StreamingResponse, crate::transport::SendError>) -> bool {
    match sent {
        Ok(response) => response.status.is_server_error(),
        Err(e) => matches!(
            e.kind,
            TransportErrorKind::Connect | TransportErrorKind::Timeout | TransportErrorKind::Io
        ),
    }
}

/// The error for a write whose answer was lost on an earlier try and whose last try failed:
/// the earlier try may have done the write, whatever the last one says.
#[cold]
fn lost_then_failed(failure: Error) -> Error {
    match failure {
        Error::Transport(mut t) => {
            t.outcome_unknown = true;
            Error::Transport(t)
        }
        other => Error::Transport(TransportFailure {
            kind: TransportErrorKind::Io,
            message: format!("an earlier try's answer was lost, then: {other}"),
            attempts: Attempts::default(),
            outcome_unknown: true,
        }),
    }
}
