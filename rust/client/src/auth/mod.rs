//! Where access tokens come from: a provider trait, a static token, and a token manager that
//! caches, renews ahead of expiry, and renews single-flight when the server rejects a token.

mod flows;

pub use flows::{
    ClientCredentialsFlow, JwtBearerFlow, OAuthClient, RefreshTokenFlow, RotationHook,
    TokenResponse, TokenSource,
};

use crate::config::parse_base_url;
use crate::error::{Error, Result};
use futures::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use url::Url;

/// An access token and what came with it. Its `Debug` never shows the token.
#[derive(Clone)]
pub struct AccessToken {
    pub token: SecretString,
    /// The org's URL, when the token endpoint named it.
    pub instance_url: Option<Url>,
    /// The identity URL (`.../id/{orgId}/{userId}`).
    pub id_url: Option<String>,
    pub org_id: Option<String>,
    pub user_id: Option<String>,
    /// Milliseconds since the epoch, when the endpoint said.
    pub issued_at: Option<i64>,
    pub scope: Option<String>,
    pub token_type: String,
    /// Bumped with every token the manager obtains; tells a stale rejection from a fresh one.
    pub generation: u64,
    expires_at: Option<Instant>,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"[REDACTED]")
            .field("instance_url", &self.instance_url.as_ref().map(Url::as_str))
            .field("org_id", &self.org_id)
            .field("user_id", &self.user_id)
            .field("issued_at", &self.issued_at)
            .finish_non_exhaustive()
    }
}

impl AccessToken {
    /// A bare token, as a static provider holds it.
    pub fn bare(token: SecretString) -> Self {
        Self {
            token,
            instance_url: None,
            id_url: None,
            org_id: None,
            user_id: None,
            issued_at: None,
            scope: None,
            token_type: "Bearer".to_owned(),
            generation: 0,
            expires_at: None,
        }
    }

    /// Builds a token from an endpoint's answer; the instance URL must be HTTPS (or loopback).
    pub fn from_response(
        response: TokenResponse,
        lifetime: Option<Duration>,
        generation: u64,
    ) -> Result<Self> {
        let instance_url = match response.instance_url.as_deref() {
            Some(raw) => Some(parse_base_url(
                "instance_url (from the token response)",
                raw.trim_end_matches('/'),
            )?),
            None => None,
        };
        // The identity URL ends in /id/{orgId}/{userId}.
        let (org_id, user_id) = match response
            .id
            .as_deref()
            .map(|id| id.rsplit('/').take(2).collect::<Vec<_>>())
        {
            Some(parts) if parts.len() == 2 => (
                parts.get(1).map(|s| (*s).to_owned()),
                parts.first().map(|s| (*s).to_owned()),
            ),
            _ => (None, None),
        };
        let lifetime = response.expires_in.map(Duration::from_secs).or(lifetime);
        Ok(Self {
            token: response.access_token,
            instance_url,
            id_url: response.id,
            org_id,
            user_id,
            issued_at: response.issued_at.and_then(|s| s.parse().ok()),
            scope: response.scope,
            token_type: response.token_type.unwrap_or_else(|| "Bearer".to_owned()),
            generation,
            // A lifetime too long for an Instant never expires.
            expires_at: lifetime.and_then(|l| Instant::now().checked_add(l)),
        })
    }

    /// Still usable: no known expiry, or more than a tenth of the lifetime (at most a minute)
    /// before it.
    fn is_fresh(&self, lifetime: Option<Duration>) -> bool {
        match (self.expires_at, lifetime) {
            (Some(at), Some(life)) => {
                Instant::now() + (life / 10).min(Duration::from_secs(60)) < at
            }
            (Some(at), None) => Instant::now() + Duration::from_secs(60) < at,
            (None, _) => true,
        }
    }
}

/// Supplies the bearer token for each request, and learns when the server rejected one.
pub trait AuthProvider: Send + Sync + 'static {
    /// The token to send now.
    fn token(&self) -> BoxFuture<'_, Result<Arc<AccessToken>>>;

    /// The server answered 401 INVALID_SESSION_ID to `rejected`. Returns true when a new token
    /// is now available, so the request is worth sending once more.
    fn invalidate<'a>(&'a self, rejected: &'a AccessToken) -> BoxFuture<'a, Result<bool>>;

    /// Revokes the current token at the server, where the provider can.
    fn revoke(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async { Ok(()) })
    }
}

/// A token obtained elsewhere (a session id, `sf org display`, a test fixture). It cannot be
/// renewed: a rejection is final.
pub struct StaticTokenProvider {
    token: Arc<AccessToken>,
    revoker: Option<OAuthClient>,
}

impl fmt::Debug for StaticTokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticTokenProvider")
            .finish_non_exhaustive()
    }
}

impl StaticTokenProvider {
    pub fn new(token: SecretString) -> Result<Self> {
        check_token_text(token.expose_secret())?;
        Ok(Self {
            token: Arc::new(AccessToken::bare(token)),
            revoker: None,
        })
    }

    /// Lets [`AuthProvider::revoke`] revoke the token at `instance_url`.
    pub fn revocable(mut self, oauth: OAuthClient, instance_url: Url) -> Self {
        let mut token = (*self.token).clone();
        token.instance_url = Some(instance_url);
        self.token = Arc::new(token);
        self.revoker = Some(oauth);
        self
    }
}

fn check_token_text(text: &str) -> Result<()> {
    if text.trim().is_empty() || text.chars().any(|c| c.is_control() || c == ' ') {
        return Err(Error::config(
            "access_token",
            "must be a non-empty token without spaces",
        ));
    }
    Ok(())
}

impl AuthProvider for StaticTokenProvider {
    fn token(&self) -> BoxFuture<'_, Result<Arc<AccessToken>>> {
        Box::pin(async move { Ok(self.token.clone()) })
    }

    fn invalidate<'a>(&'a self, _rejected: &'a AccessToken) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async { Ok(false) })
    }

    fn revoke(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            match &self.revoker {
                Some(oauth) => match &self.token.instance_url {
                    Some(instance) => oauth.revoke(&self.token, instance).await,
                    None => Ok(()),
                },
                None => Ok(()),
            }
        })
    }
}

/// Caches the token of a [`TokenSource`]; renews it ahead of a known expiry, and when the server
/// rejects it. Renewals are single-flight: however many requests find the token stale or
/// rejected at once, one token request is made and all of them use its answer.
pub struct TokenManager {
    source: Arc<dyn TokenSource>,
    oauth: OAuthClient,
    lifetime: Option<Duration>,
    current: RwLock<Option<Arc<AccessToken>>>,
    renewing: tokio::sync::Mutex<()>,
    generation: AtomicU64,
    /// Where a token that names no instance is revoked: the login host for the OAuth flows,
    /// the configured instance for a custom provider (None: such a token cannot be revoked).
    revoke_at: Option<Url>,
}

impl fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenManager")
            .field("flow", &self.source.name())
            .finish_non_exhaustive()
    }
}

impl TokenManager {
    pub fn new(
        source: Arc<dyn TokenSource>,
        oauth: OAuthClient,
        lifetime: Option<Duration>,
    ) -> Self {
        let revoke_at = Some(oauth.login_url().clone());
        Self {
            source,
            oauth,
            lifetime,
            current: RwLock::new(None),
            renewing: tokio::sync::Mutex::new(()),
            generation: AtomicU64::new(0),
            revoke_at,
        }
    }

    /// Where tokens that name no instance are revoked, in place of the login host: a custom
    /// provider's tokens were not issued there, so they must never be sent to it.
    pub fn revoke_at(mut self, url: Option<Url>) -> Self {
        self.revoke_at = url;
        self
    }

    fn cached(&self) -> Option<Arc<AccessToken>> {
        self.current.read().ok().and_then(|c| c.clone())
    }

    fn fresh(&self) -> Option<Arc<AccessToken>> {
        self.cached().filter(|t| t.is_fresh(self.lifetime))
    }

    /// Obtains a new token from the source; the caller holds `renewing`.
    async fn renew(&self) -> Result<Arc<AccessToken>> {
        let flow = self.source.name();
        let started = std::time::Instant::now();
        let fetched = self.source.fetch(&self.oauth).await;
        let outcome = if fetched.is_ok() {
            "success"
        } else {
            "failure"
        };
        crate::metrics::record_token_refresh(flow, outcome, started.elapsed());
        let response = match fetched {
            Ok(response) => response,
            Err(e) => {
                crate::metrics::record_error("auth", e.error_code().unwrap_or("UNKNOWN"));
                // The error's text carries the OAuth code and description, never a secret.
                tracing::warn!(target: "forcelink::auth", flow, error = %e, "token request refused");
                return Err(e);
            }
        };
        check_token_text(response.access_token.expose_secret())?;
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let token = Arc::new(AccessToken::from_response(
            response,
            self.lifetime,
            generation,
        )?);
        if let Ok(mut current) = self.current.write() {
            *current = Some(token.clone());
        }
        let what = if generation == 1 {
            "token granted"
        } else {
            "token renewed"
        };
        tracing::info!(
            target: "forcelink::auth",
            flow,
            generation,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "{what}"
        );
        Ok(token)
    }
}

impl AuthProvider for TokenManager {
    fn token(&self) -> BoxFuture<'_, Result<Arc<AccessToken>>> {
        Box::pin(async move {
            if let Some(token) = self.fresh() {
                return Ok(token);
            }
            let _renewing = self.renewing.lock().await;
            // Another task may have renewed while this one waited.
            if let Some(token) = self.fresh() {
                return Ok(token);
            }
            self.renew().await
        })
    }

    fn invalidate<'a>(&'a self, rejected: &'a AccessToken) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            let _renewing = self.renewing.lock().await;
            match self.cached() {
                // Someone already replaced the rejected token: use theirs.
                Some(current) if current.generation != rejected.generation => Ok(true),
                _ => self.renew().await.map(|_| true),
            }
        })
    }

    fn revoke(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let _renewing = self.renewing.lock().await;
            let taken = self.current.write().ok().and_then(|mut c| c.take());
            match taken {
                Some(token) => {
                    let base = token.instance_url.as_ref().or(self.revoke_at.as_ref());
                    match base {
                        Some(base) => self.oauth.revoke(&token, base).await,
                        None => Err(Error::config(
                            "instance_url",
                            "cannot revoke a token from a custom provider without knowing its org: \
                             set instance_url, or return instance_url from the provider",
                        )),
                    }
                }
                None => Ok(()),
            }
        })
    }
}
