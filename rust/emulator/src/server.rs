//! Binds the emulator to 127.0.0.1, serves HTTP/1.1 and HTTP/2 (over TLS when asked), and stops.

use crate::header_names::SalesforceHeaderNames;
use crate::identity::ConnectedApp;
use crate::org::{Fault, Org, OrgSettings};
use crate::{oauth, rest, tls};
use axum::routing::{any, get, post};
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower_http::compression::CompressionLayer;

/// Why the emulator could not start or take an order.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("cannot start the emulator: {0}")]
    Start(String),
    #[error("{0}")]
    Invalid(String),
}

/// Settings of an emulator run; `Emulator::builder().start()` runs it.
#[derive(Debug, Clone, Default)]
pub struct EmulatorBuilder {
    tls: bool,
    port: u16,
    settings: OrgSettings,
}

impl EmulatorBuilder {
    /// Serve HTTPS with a certificate made at start (see [`Emulator::ca_cert_pem`]).
    pub fn tls(mut self, on: bool) -> Self {
        self.tls = on;
        self
    }

    /// A fixed port; 0 (the default) picks a free one.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// The daily API request limit.
    pub fn api_limit(mut self, limit: u64) -> Self {
        self.settings.api_limit = limit;
        self
    }

    /// How long access tokens work before the org answers 401 INVALID_SESSION_ID.
    pub fn token_lifetime(mut self, lifetime: Option<Duration>) -> Self {
        self.settings.token_lifetime = lifetime;
        self
    }

    /// The Bulk API upload limit per job, in base64-encoded bytes (Salesforce: 150 MB).
    pub fn bulk_upload_limit(mut self, bytes: u64) -> Self {
        self.settings.bulk_upload_limit = bytes;
        self
    }

    /// The seed of everything random in the org (tokens, fault choices).
    pub fn seed(mut self, seed: u64) -> Self {
        self.settings.seed = seed;
        self
    }

    /// Binds and starts serving on the current tokio runtime.
    pub async fn start(self) -> Result<Emulator, EmulatorError> {
        let org = Arc::new(Org::new(&self.settings).map_err(EmulatorError::Start)?);
        let default_token = org.issue_session();
        let listener = TcpListener::bind(("127.0.0.1", self.port))
            .await
            .map_err(|e| {
                EmulatorError::Start(format!("cannot bind 127.0.0.1:{}: {e}", self.port))
            })?;
        let addr = listener
            .local_addr()
            .map_err(|e| EmulatorError::Start(e.to_string()))?;
        let material = if self.tls {
            Some(tls::generate().map_err(EmulatorError::Start)?)
        } else {
            None
        };
        let ca_cert_pem = material.as_ref().map(|m| m.ca_pem.clone());
        let acceptor = material.map(|m| m.acceptor);
        let router = router(org.clone());
        let (stop_tx, stop_rx) = watch::channel(false);
        // Pub/Sub has its own port, as api.pubsub.salesforce.com is its own host.
        let pubsub_listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| EmulatorError::Start(format!("cannot bind the Pub/Sub port: {e}")))?;
        let pubsub_addr = pubsub_listener
            .local_addr()
            .map_err(|e| EmulatorError::Start(e.to_string()))?;
        let pubsub = tokio::spawn(serve(
            pubsub_listener,
            crate::events::grpc::router(org.clone()),
            acceptor.clone(),
            stop_rx.clone(),
        ));
        let rest = tokio::spawn(serve(listener, router, acceptor, stop_rx));
        let task = tokio::spawn(async move {
            let _ = rest.await;
            let _ = pubsub.await;
        });
        let scheme = if self.tls { "https" } else { "http" };
        let base_url = format!("{scheme}://127.0.0.1:{}", addr.port());
        org.set_base_url(base_url.clone());
        Ok(Emulator {
            base_url,
            addr,
            pubsub_addr,
            ca_cert_pem,
            org,
            default_token,
            stop: stop_tx,
            task: Some(task),
        })
    }
}

fn router(org: Arc<Org>) -> Router {
    Router::new()
        .route("/services/data", get(rest::versions))
        .route("/services/data/", get(rest::versions))
        .route("/services/data/{*rest}", any(rest::data_api))
        .route("/services/apexrest/{*rest}", any(crate::apex::serve))
        .route("/services/oauth2/token", post(oauth::token))
        .route(
            "/services/oauth2/revoke",
            post(oauth::revoke).get(oauth::revoke),
        )
        .route("/services/oauth2/userinfo", get(oauth::userinfo))
        .route("/id/{org_id}/{user_id}", get(oauth::identity))
        // Salesforce compresses answers for clients that send `Accept-Encoding: gzip`.
        .layer(CompressionLayer::new())
        .layer(axum::middleware::map_response_with_state(
            org.clone(),
            count_gzip_answer,
        ))
        .with_state(org)
}

/// Counts the answers the compression layer compressed, for `stats()["gzip_answers"]`.
async fn count_gzip_answer(
    axum::extract::State(org): axum::extract::State<Arc<Org>>,
    response: axum::response::Response,
) -> axum::response::Response {
    if response.headers().get(http::header::CONTENT_ENCODING)
        == Some(&http::HeaderValue::from_static("gzip"))
    {
        org.count_gzip_answer();
    }
    response
}

async fn serve(
    listener: TcpListener,
    router: Router,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    mut stop: watch::Receiver<bool>,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.changed() => break,
        };
        let Ok((tcp, _peer)) = accepted else { continue };
        let _ = tcp.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let acceptor = acceptor.clone();
        connections.spawn(async move {
            let mut builder = auto::Builder::new(TokioExecutor::new());
            // Large frames and windows for HTTP/2: a bulk upload of a hundred megabytes then
            // arrives in 1 MB frames without stopping for window updates every megabyte.
            builder
                .http2()
                .max_frame_size(1 << 20)
                .initial_stream_window_size(8 << 20)
                .initial_connection_window_size(16 << 20);
            // HTTP/1.1 header names in Salesforce's spelling: clients that keep headers in a
            // plain dict look them up that way.
            builder.http1().title_case_headers(true);
            match acceptor {
                Some(acceptor) => {
                    if let Ok(stream) = acceptor.accept(tcp).await {
                        let io = TokioIo::new(SalesforceHeaderNames::new(stream));
                        let _ = builder.serve_connection(io, service).await;
                    }
                }
                None => {
                    let io = TokioIo::new(SalesforceHeaderNames::new(tcp));
                    let _ = builder.serve_connection(io, service).await;
                }
            }
        });
        // Reap finished connections so the set does not grow without bound.
        while connections.try_join_next().is_some() {}
    }
    connections.abort_all();
}

/// What [`Emulator::create_connected_app`] needs.
#[derive(Debug, Clone, Default)]
pub struct ConnectedAppSpec {
    pub client_id: String,
    pub certificate_pem: Option<String>,
    pub client_secret: Option<String>,
    pub rotate_refresh_tokens: bool,
    pub run_as: Option<String>,
}

/// A running local org. Dropping it stops the server.
pub struct Emulator {
    base_url: String,
    addr: SocketAddr,
    pubsub_addr: SocketAddr,
    ca_cert_pem: Option<String>,
    org: Arc<Org>,
    default_token: String,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Emulator {
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// `http://127.0.0.1:PORT` or `https://...`: the instance URL clients use.
    pub fn instance_url(&self) -> &str {
        &self.base_url
    }

    /// Where the OAuth endpoints are served: the same server.
    pub fn login_url(&self) -> &str {
        &self.base_url
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `127.0.0.1:PORT` of the Pub/Sub gRPC API (TLS when the emulator runs with TLS).
    pub fn pubsub_endpoint(&self) -> String {
        self.pubsub_addr.to_string()
    }

    /// Defines a platform event `Name__e` with custom fields (name, type as in
    /// [`Emulator::define_object`]: text, number, int, boolean, date, datetime) and opens its
    /// topic `/event/Name__e`.
    pub fn define_event(
        &self,
        name: &str,
        fields: &[(String, String)],
    ) -> Result<(), EmulatorError> {
        let typed = fields
            .iter()
            .map(|(field, ty)| {
                crate::model::schema::FieldType::parse(ty)
                    .map(|t| (field.clone(), t))
                    .ok_or_else(|| {
                        EmulatorError::Invalid(format!("unknown field type {ty} of {field}"))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let event =
            crate::events::avro::EventType::new(name, &typed).map_err(EmulatorError::Invalid)?;
        self.org
            .events
            .define_event(event)
            .map_err(EmulatorError::Invalid)
    }

    /// Defines a managed event subscription on a topic; it starts at the earliest retained
    /// event or the latest. Returns its id.
    pub fn define_managed_subscription(
        &self,
        developer_name: &str,
        topic: &str,
        earliest: bool,
    ) -> Result<String, EmulatorError> {
        if self.org.topic(topic).is_none() {
            return Err(EmulatorError::Invalid(format!("no topic {topic}")));
        }
        self.org
            .events
            .define_managed(developer_name, topic, earliest, &self.org.pod)
            .map(|m| m.id)
            .map_err(EmulatorError::Invalid)
    }

    /// Every Subscribe and ManagedSubscribe stream ends with UNAVAILABLE after delivering
    /// `events` events (None: never).
    pub fn drop_streams_after(&self, events: Option<u64>) {
        self.org
            .events
            .update_settings(|s| s.drop_streams_after = events);
    }

    /// Drops events older than `replay_id` from every topic, as retention would: replay ids
    /// before them become invalid.
    pub fn expire_events_before(&self, replay_id: u64) {
        self.org.events.expire_before(replay_id);
    }

    /// Events older than `window` are dropped from every topic, as Salesforce's 72-hour
    /// retention drops them (None: kept until the per-topic count is reached).
    pub fn set_event_retention(&self, window: Option<Duration>) {
        self.org
            .events
            .update_settings(|s| s.retention_window = window);
    }

    /// The keepalive period and the no-credit idle timeout of subscription streams.
    pub fn set_stream_timings(&self, keepalive: Duration, idle_timeout: Duration) {
        self.org.events.update_settings(|s| {
            s.keepalive = keepalive;
            s.idle_timeout = idle_timeout;
        });
    }

    /// The newest replay id issued on the bus (0 before any event).
    pub fn latest_replay_id(&self) -> u64 {
        self.org.events.latest_replay()
    }

    /// The PEM of the CA that signed the server certificate; None without TLS.
    pub fn ca_cert_pem(&self) -> Option<&str> {
        self.ca_cert_pem.as_deref()
    }

    pub fn org_id(&self) -> &str {
        &self.org.org_id
    }

    pub fn user_id(&self) -> &str {
        &self.org.user_id
    }

    pub fn username(&self) -> &str {
        &self.org.username
    }

    /// A valid access token of the org's user, issued at start.
    pub fn access_token(&self) -> &str {
        &self.default_token
    }

    /// Issues another session token.
    pub fn issue_session(&self) -> String {
        self.org.issue_session()
    }

    /// Every issued token stops working (the next request answers 401 INVALID_SESSION_ID).
    pub fn expire_sessions(&self) {
        self.org.expire_sessions();
    }

    /// Defines a custom object; see [`crate::model::schema::custom_object`] for the definition's form.
    pub fn define_object(&self, name: &str, fields: &Value) -> Result<(), EmulatorError> {
        self.org
            .store()
            .define_object(name, fields)
            .map_err(EmulatorError::Invalid)
    }

    /// Creates a user who can be named in JWT assertions; returns the user id.
    pub fn create_user(&self, username: &str) -> Result<String, EmulatorError> {
        let user = self
            .org
            .identity
            .create_user(username, &self.org.pod)
            .map_err(EmulatorError::Invalid)?;
        let now = crate::model::datetime::format_datetime(chrono::Utc::now());
        self.org
            .store()
            .add_user(&user.id, &user.username, &now)
            .map_err(|e| EmulatorError::Invalid(e.message))?;
        Ok(user.id)
    }

    /// Creates a connected app. `certificate_pem` (an X.509 certificate) verifies JWT
    /// assertions; `client_secret` enables client credentials; `run_as` is the username
    /// client-credentials tokens act as (the admin by default).
    pub fn create_connected_app(&self, app: ConnectedAppSpec) -> Result<(), EmulatorError> {
        let certificate = match &app.certificate_pem {
            Some(pem) => Some(
                jsonwebtoken::DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| {
                    EmulatorError::Invalid(format!(
                        "certificate_pem is not an RSA certificate: {e}"
                    ))
                })?,
            ),
            None => None,
        };
        let run_as = match &app.run_as {
            Some(name) => {
                self.org
                    .identity
                    .user_by_name(name)
                    .ok_or_else(|| EmulatorError::Invalid(format!("no user {name}")))?
                    .id
            }
            None => self.org.user_id.clone(),
        };
        self.org
            .identity
            .create_app(ConnectedApp {
                client_id: app.client_id,
                client_secret: app.client_secret,
                certificate,
                rotate_refresh_tokens: app.rotate_refresh_tokens,
                run_as,
            })
            .map_err(EmulatorError::Invalid)
    }

    /// Issues a refresh token for a user of an app, which also approves the app for the user
    /// (so JWT bearer assertions for that user are accepted).
    pub fn issue_refresh_token(
        &self,
        client_id: &str,
        username: &str,
    ) -> Result<String, EmulatorError> {
        if self.org.identity.app(client_id).is_none() {
            return Err(EmulatorError::Invalid(format!(
                "no connected app {client_id}"
            )));
        }
        let user = self
            .org
            .identity
            .user_by_name(username)
            .ok_or_else(|| EmulatorError::Invalid(format!("no user {username}")))?;
        Ok(self.org.identity.issue_refresh_token(client_id, &user.id))
    }

    /// Changes how long newly issued access tokens work.
    pub fn set_token_lifetime(&self, lifetime: Option<Duration>) {
        self.org.identity.set_token_lifetime(lifetime);
    }

    /// Inserts records directly (no HTTP, no API usage), validated as creates are; for test
    /// and benchmark setup. Returns the new ids in order; stops at the first invalid record.
    pub fn seed_records(
        &self,
        object: &str,
        records: &[Value],
    ) -> Result<Vec<String>, EmulatorError> {
        let now = crate::model::datetime::format_datetime(chrono::Utc::now());
        let mut store = self.org.store();
        let ids = records
            .iter()
            .enumerate()
            .map(|(i, r)| {
                store.create(object, r, &now).map_err(|e| {
                    EmulatorError::Invalid(format!("record {i}: {}: {}", e.code, e.message))
                })
            })
            .collect();
        // Seeded rows are changes too: subscribers see their CREATE events.
        self.org.commit(&mut store, "");
        ids
    }

    /// Changes the Bulk API upload limit per job (base64-encoded bytes).
    pub fn set_bulk_upload_limit(&self, bytes: u64) {
        self.org.bulk.set_upload_limit(bytes);
    }

    /// Makes ingest jobs fail after `batches` internal batches of 10,000 records, leaving the
    /// rest unprocessed; None restores normal processing.
    pub fn fail_bulk_jobs_after(&self, batches: Option<usize>) {
        self.org.bulk.set_fail_after_batches(batches);
    }

    /// Ingest jobs pause this long after each internal batch (for tests of waiting).
    pub fn set_bulk_batch_delay(&self, delay: Duration) {
        self.org.bulk.set_batch_delay(delay);
    }

    pub fn inject_fault(&self, fault: Fault) {
        self.org.inject_fault(fault);
    }

    pub fn clear_faults(&self) {
        self.org.clear_faults();
    }

    /// Plays an Apex REST class: requests to `/services/apexrest{url_mapping}` (a trailing
    /// `/*` matches every path below it) are answered by `handler`.
    pub fn register_apex(&self, url_mapping: &str, handler: crate::apex::ApexHandler) {
        self.org.apex.register(url_mapping, handler);
    }

    /// Takes the whole org down (every request answered 503 SERVER_UNAVAILABLE, still
    /// counted) or brings it back.
    pub fn set_down(&self, down: bool) {
        self.org.set_down(down);
    }

    /// Counters: requests per route, total requests, API usage.
    pub fn stats(&self) -> Value {
        self.org.stats()
    }

    /// Stops accepting and closes open connections.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
