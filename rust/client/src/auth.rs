//! Where access tokens come from. The OAuth flows plug in behind [`AuthProvider`].

use crate::error::{Error, Result};
use futures::future::BoxFuture;
use secrecy::SecretString;

/// Supplies the bearer token for each request, and learns when the server rejected one.
pub trait AuthProvider: Send + Sync + 'static {
    /// The token to send now.
    fn token(&self) -> BoxFuture<'_, Result<SecretString>>;

    /// The server answered 401 INVALID_SESSION_ID to `rejected`. Returns true when a new token
    /// is now available, so the request is worth sending once more.
    fn invalidate<'a>(&'a self, rejected: &'a SecretString) -> BoxFuture<'a, Result<bool>>;
}

/// A token obtained elsewhere (a session id, `sf org display`, a test fixture). It cannot be
/// renewed: a rejection is final.
#[derive(Debug)]
pub struct StaticTokenProvider {
    token: SecretString,
}

impl StaticTokenProvider {
    pub fn new(token: SecretString) -> Result<Self> {
        use secrecy::ExposeSecret;
        let text = token.expose_secret();
        if text.trim().is_empty() || text.chars().any(|c| c.is_control() || c == ' ') {
            return Err(Error::config(
                "access_token",
                "must be a non-empty token without spaces",
            ));
        }
        Ok(Self { token })
    }
}

impl AuthProvider for StaticTokenProvider {
    fn token(&self) -> BoxFuture<'_, Result<SecretString>> {
        Box::pin(async move { Ok(self.token.clone()) })
    }

    fn invalidate<'a>(&'a self, _rejected: &'a SecretString) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async { Ok(false) })
    }
}
