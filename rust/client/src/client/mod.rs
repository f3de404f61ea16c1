//! The client handle: shared state, the services it hands out, and its lifecycle. The builder
//! (`builder`) assembles it; every REST call goes through the pipeline (`pipeline`).

mod builder;
mod pipeline;

pub use builder::ClientBuilder;
pub use pipeline::MAX_URL_BYTES;
pub(crate) use pipeline::{decode_json, RestCall};

use crate::auth::{AccessToken, AuthProvider};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::limits::{ApiUsage, LimitsTracker};
use crate::resilience::RetryHook;
use crate::sobjects::SObjects;
use crate::transport::HttpTransport;
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
        ClientBuilder::new(config)
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
}
