//! The client handle and the one request pipeline every call goes through:
//! auth header, send, limit tracking, error mapping, retries.

use crate::auth::{
    AccessToken, AuthProvider, ClientCredentialsFlow, JwtBearerFlow, OAuthClient, RefreshTokenFlow,
    RotationHook, StaticTokenProvider, TokenManager, TokenSource,
};
use crate::config::Config;
use crate::config::Credentials;
use crate::error::{ApiError, Attempts, Error, Result, TransportErrorKind, TransportFailure};
use crate::limits::{ApiUsage, LimitsTracker};
use crate::resilience::{parse_retry_after, Idempotency, Outcome, RetryEvent, RetryHook};
use crate::sobjects::SObjects;
use crate::transport::{HttpRequest, HttpResponse, HttpTransport, StreamingResponse};
use bytes::Bytes;
use http::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderMap, Method};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use std::fmt;
use std::sync::Arc;
use url::Url;

/// A Salesforce client. Cheap to clone: clones share connections, tokens and usage tracking.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    /// Options this handle adds to each REST request ([`Client::with_options`]).
    options: Option<Arc<crate::options::CallOptions>>,
}

struct Inner {
    config: Config,
    transport: Arc<dyn HttpTransport>,
    auth: Arc<dyn AuthProvider>,
    limits: LimitsTracker,
    retry_hook: Option<RetryHook>,
    /// The Pub/Sub channel and schema cache, made on first use.
    #[cfg(feature = "grpc-transport")]
    events: crate::events::EventsState,
    breakers: crate::breaker::Breakers,
    throttle: crate::throttle::Throttle,
    /// The process the client was built in: its connections belong to that process's runtime.
    pid: u32,
    closed: std::sync::atomic::AtomicBool,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("instance_url", &self.inner.config.instance_url.as_str())
            .field("api_version", &self.inner.config.api_version)
            .finish_non_exhaustive()
    }
}

/// Assembles a [`Client`] from a config and, optionally, other parts.
pub struct ClientBuilder {
    config: Config,
    transport: Option<Arc<dyn HttpTransport>>,
    auth: Option<Arc<dyn AuthProvider>>,
    token_source: Option<Arc<dyn TokenSource>>,
    retry_hook: Option<RetryHook>,
    usage_hook: Option<crate::throttle::UsageHook>,
    rotation_hook: Option<RotationHook>,
    #[cfg(feature = "simulation")]
    recorder: Option<crate::simulation::SimulationRecorder>,
    #[cfg(feature = "simulation")]
    replayer: Option<crate::simulation::SimulationReplayer>,
}

impl ClientBuilder {
    /// Records every HTTP interaction into `recorder` (secrets redacted).
    #[cfg(feature = "simulation")]
    pub fn with_recorder(mut self, recorder: crate::simulation::SimulationRecorder) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// Answers every request from `replayer` instead of the network.
    #[cfg(feature = "simulation")]
    pub fn with_replayer(mut self, replayer: crate::simulation::SimulationReplayer) -> Self {
        self.replayer = Some(replayer);
        self
    }

    /// Takes tokens from `source` (a custom flow), cached and renewed by the token manager.
    pub fn token_source(mut self, source: Arc<dyn TokenSource>) -> Self {
        self.token_source = Some(source);
        self
    }

    /// Calls `hook` with the new refresh token whenever the server rotates it.
    pub fn on_refresh_token(mut self, hook: RotationHook) -> Self {
        self.rotation_hook = Some(hook);
        self
    }

    /// Sends through `transport` instead of the network (a recorder, a replayer, a fake).
    pub fn transport(mut self, transport: Arc<dyn HttpTransport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// Takes tokens from `auth` instead of the config's credentials.
    pub fn auth(mut self, auth: Arc<dyn AuthProvider>) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Calls `hook` before every retry with the cause and the wait.
    pub fn on_retry(mut self, hook: RetryHook) -> Self {
        self.retry_hook = Some(hook);
        self
    }

    /// Calls `hook` when daily API usage climbs past a warning threshold.
    pub fn on_usage_warning(mut self, hook: crate::throttle::UsageHook) -> Self {
        self.usage_hook = Some(hook);
        self
    }

    fn oauth_manager(
        &self,
        transport: &Arc<dyn HttpTransport>,
        source: Arc<dyn TokenSource>,
    ) -> TokenManager {
        let oauth = OAuthClient::new(
            transport.clone(),
            self.config.retry.clone(),
            self.config.login_url.clone(),
        );
        TokenManager::new(source, oauth, self.config.token_lifetime)
    }

    fn provider_for_credentials(
        &self,
        transport: &Arc<dyn HttpTransport>,
    ) -> Result<Arc<dyn AuthProvider>> {
        let source: Arc<dyn TokenSource> = match self.config.credentials()? {
            Credentials::AccessToken(token) => {
                let oauth = OAuthClient::new(
                    transport.clone(),
                    self.config.retry.clone(),
                    self.config.login_url.clone(),
                );
                let provider = StaticTokenProvider::new(token)?
                    .revocable(oauth, self.config.instance_url.clone());
                return Ok(Arc::new(provider));
            }
            Credentials::JwtBearer {
                client_id,
                username,
                private_key,
            } => Arc::new(JwtBearerFlow::new(
                client_id,
                username,
                &private_key,
                &self.config.login_url,
            )?),
            Credentials::RefreshToken {
                client_id,
                client_secret,
                refresh_token,
            } => Arc::new(RefreshTokenFlow::new(
                client_id,
                client_secret,
                refresh_token,
                self.rotation_hook.clone(),
            )),
            Credentials::ClientCredentials {
                client_id,
                client_secret,
            } => Arc::new(ClientCredentialsFlow::new(
                client_id,
                client_secret,
                self.config.instance_url.clone(),
            )),
        };
        Ok(Arc::new(self.oauth_manager(transport, source)))
    }

    pub fn build(self) -> Result<Client> {
        let network = || -> Result<Arc<dyn HttpTransport>> {
            match self.transport.clone() {
                Some(t) => Ok(t),
                #[cfg(feature = "reqwest-transport")]
                None => Ok(Arc::new(crate::transport::ReqwestTransport::new(
                    &self.config,
                )?)),
                #[cfg(not(feature = "reqwest-transport"))]
                None => Err(Error::config(
                    "transport",
                    "built without the reqwest-transport feature: give a transport with ClientBuilder::transport",
                )),
            }
        };
        #[cfg(feature = "simulation")]
        let transport: Arc<dyn HttpTransport> = {
            let mut transport = match &self.replayer {
                // A strict replay never touches the network.
                Some(replayer) => replayer.transport(if replayer.is_strict() {
                    None
                } else {
                    Some(network()?)
                }),
                None => network()?,
            };
            if let Some(recorder) = &self.recorder {
                transport = recorder.wrap(transport);
            }
            transport
        };
        #[cfg(not(feature = "simulation"))]
        let transport: Arc<dyn HttpTransport> = network()?;
        let auth: Arc<dyn AuthProvider> = match (self.auth.clone(), self.token_source.clone()) {
            (Some(auth), _) => auth,
            (None, Some(source)) => {
                // A custom provider's tokens are revoked at the configured instance, never at
                // a login host they did not come from.
                let instance = self
                    .config
                    .instance_url_given
                    .then(|| self.config.instance_url.clone());
                Arc::new(self.oauth_manager(&transport, source).revoke_at(instance))
            }
            (None, None) => self.provider_for_credentials(&transport)?,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                breakers: crate::breaker::Breakers::new(self.config.breaker),
                throttle: crate::throttle::Throttle::new(
                    self.config.throttle.clone(),
                    self.usage_hook,
                ),
                pid: std::process::id(),
                closed: std::sync::atomic::AtomicBool::new(false),
                config: self.config,
                transport,
                auth,
                limits: LimitsTracker::default(),
                retry_hook: self.retry_hook,
                #[cfg(feature = "grpc-transport")]
                events: crate::events::EventsState::default(),
            }),
            options: None,
        })
    }
}

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
    /// A client from a validated config, sending over the network.
    pub fn new(config: Config) -> Result<Self> {
        Self::builder(config).build()
    }

    /// A client configured from the `SF_*` environment variables.
    pub fn from_env() -> Result<Self> {
        Self::new(Config::from_env()?)
    }

    pub fn builder(config: Config) -> ClientBuilder {
        ClientBuilder {
            config,
            transport: None,
            auth: None,
            token_source: None,
            retry_hook: None,
            usage_hook: None,
            rotation_hook: None,
            #[cfg(feature = "simulation")]
            recorder: None,
            #[cfg(feature = "simulation")]
            replayer: None,
        }
    }

    /// Where the circuit breaker of `family` stands.
    pub fn breaker_state(&self, family: crate::breaker::Family) -> crate::breaker::BreakerState {
        self.inner.breakers.state(family)
    }

    /// For the Pub/Sub channel, which keeps its own breaker accounts.
    #[cfg(feature = "grpc-transport")]
    pub(crate) fn breakers(&self) -> &crate::breaker::Breakers {
        &self.inner.breakers
    }

    /// Closes the client: subscriptions end, pooled connections and the Pub/Sub channel are
    /// let go, and every later call fails with [`Error::Closed`]. Clones share the closing.
    pub fn close(&self) {
        self.inner
            .closed
            .store(true, std::sync::atomic::Ordering::SeqCst);
        #[cfg(feature = "grpc-transport")]
        self.inner.events.close();
        self.inner.transport.close();
    }

    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub(crate) fn check_open(&self) -> Result<()> {
        if self.is_closed() {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    /// Refuses use in a process forked after the client was built: its pooled connections and
    /// streams belong to the parent (and are shared with it), so the child needs its own.
    pub(crate) fn check_process(&self) -> Result<()> {
        if self.inner.pid == std::process::id() {
            return Ok(());
        }
        Err(Error::config(
            "client",
            format!(
                "this client was built in process {} and cannot be used after fork(): build a \
                 new client in this process (for example in a post-fork hook or the worker's \
                 initializer)",
                self.inner.pid
            ),
        ))
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The options this handle adds to each REST request, if any.
    pub fn call_options(&self) -> Option<&crate::options::CallOptions> {
        self.options.as_deref()
    }

    /// A handle whose calls send `options` with each REST request (Pub/Sub streams are not
    /// affected). It shares everything else with this client; options given to a handle made
    /// from another handle are added to that one's.
    pub fn with_options(&self, options: crate::options::CallOptions) -> Client {
        let options = match self.call_options() {
            Some(current) => current.merged(&options),
            None => options,
        };
        Client {
            inner: self.inner.clone(),
            options: (!options.is_empty()).then(|| Arc::new(options)),
        }
    }

    /// Bulk API 2.0 ingest and query jobs.
    pub fn bulk(&self) -> crate::bulk::Bulk<'_> {
        crate::bulk::Bulk::new(self)
    }

    /// Composite, batch, tree and collection requests.
    pub fn composite(&self) -> crate::composite::Composite<'_> {
        crate::composite::Composite::new(self)
    }

    /// SOQL queries.
    pub fn query(&self) -> crate::query::Query<'_> {
        crate::query::Query::new(self)
    }

    /// Create, read, update, upsert, delete and describe records.
    pub fn sobjects(&self) -> SObjects<'_> {
        SObjects::new(self)
    }

    /// Platform events, change events and the Pub/Sub API.
    #[cfg(feature = "grpc-transport")]
    pub fn events(&self) -> crate::events::Events {
        crate::events::Events::new(self.clone())
    }

    #[cfg(feature = "grpc-transport")]
    pub(crate) fn events_state(&self) -> &crate::events::EventsState {
        &self.inner.events
    }

    /// Tells the auth provider the server rejected `token`; true when a new one is ready.
    #[cfg(feature = "grpc-transport")]
    pub(crate) async fn token_rejected(&self, token: &AccessToken) -> Result<bool> {
        self.inner.auth.invalidate(token).await
    }

    /// The current access token, obtaining one first where needed.
    pub async fn access_token(&self) -> Result<Arc<AccessToken>> {
        self.inner.auth.token().await
    }

    /// Revokes the current token at the server (logs out); the next call obtains a new one
    /// where the flow can.
    pub async fn revoke(&self) -> Result<()> {
        self.inner.auth.revoke().await
    }

    /// API usage from the latest response's `Sforce-Limit-Info`, if any response carried it.
    pub fn api_usage(&self) -> Option<ApiUsage> {
        self.inner.limits.usage()
    }

    /// The org's limits (`GET /limits`): limit name to `{"Max": n, "Remaining": n, ...}`.
    /// Each limit's use is recorded as `sf_rate_limit_percent_used{limit_type=...}`.
    pub async fn limits(&self) -> Result<serde_json::Map<String, serde_json::Value>> {
        let url = self.data_url(&["limits"])?;
        let limits: serde_json::Map<String, serde_json::Value> = self.get_json(url).await?;
        for (name, limit) in &limits {
            if let Some(percent) = crate::limits::percent_used(limit) {
                crate::metrics::record_limit(name, percent);
            }
        }
        Ok(limits)
    }

    /// The API versions the instance offers (`GET /services/data/`).
    pub async fn versions(&self) -> Result<Vec<serde_json::Value>> {
        let url = self
            .inner
            .config
            .instance_url
            .join("/services/data/")
            .map_err(|e| Error::invalid_argument("url", e.to_string()))?;
        self.get_json(url).await
    }

    /// `{instance}/services/data/vNN.N/` followed by `segments`, each percent-encoded.
    pub(crate) fn data_url(&self, segments: &[&str]) -> Result<Url> {
        let mut url = self.inner.config.data_url("")?;
        url.path_segments_mut()
            .map_err(|_| Error::invalid_argument("url", "instance URL cannot take a path"))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

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
    match &mut error {
        Error::Api(e) => e.attempts = attempts,
        Error::Transport(e) => e.attempts = attempts,
        Error::OAuth(e) => e.attempts = attempts,
        Error::MultipleMatches { attempts: a, .. } => *a = attempts,
        Error::Config { .. }
        | Error::InvalidArgument { .. }
        | Error::Csv { .. }
        | Error::BulkTimeout { .. }
        | Error::BulkIncomplete { .. }
        | Error::RecordsIncomplete { .. }
        | Error::BulkJob { .. }
        | Error::UnexpectedResponse { .. }
        | Error::PubSub { .. }
        | Error::ReplayId { .. }
        | Error::Avro { .. }
        | Error::CircuitOpen { .. }
        | Error::Closed
        | Error::Interrupted
        | Error::AuthProvider(_) => {}
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
