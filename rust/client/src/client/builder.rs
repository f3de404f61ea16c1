//! Assembling a client: its config, and optionally its transport, credentials, token source and
//! hooks; `build` checks the parts fit and wires the pipeline's shared state.

use super::{Client, Inner};
use crate::auth::{
    AuthProvider, ClientCredentialsFlow, JwtBearerFlow, OAuthClient, RefreshTokenFlow,
    RotationHook, StaticTokenProvider, TokenManager, TokenSource,
};
use crate::config::Config;
use crate::config::Credentials;
#[cfg(not(feature = "reqwest-transport"))]
use crate::error::Error;
use crate::error::Result;
use crate::limits::LimitsTracker;
use crate::resilience::RetryHook;
use crate::transport::HttpTransport;
use std::sync::Arc;

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
    pub(super) fn new(config: Config) -> Self {
        Self {
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
