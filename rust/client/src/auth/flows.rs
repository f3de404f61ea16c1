//! The OAuth flows: JWT bearer, refresh token and client credentials, and the token endpoint
//! exchange they share.

use super::AccessToken;
use crate::error::{Attempts, Error, OAuthError, Result, TransportFailure};
use crate::resilience::{Idempotency, Outcome, RetryPolicy};
use crate::transport::{HttpRequest, HttpTransport};
use bytes::Bytes;
use futures::future::BoxFuture;
use http::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
use http::{HeaderMap, Method};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::fmt;
use std::sync::{Arc, Mutex};
use url::Url;

/// The token endpoint's success answer. The token is wrapped as a secret on arrival.
#[derive(Deserialize)]
pub struct TokenResponse {
    #[serde(deserialize_with = "secret")]
    pub access_token: SecretString,
    #[serde(default)]
    pub instance_url: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub issued_at: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub token_type: Option<String>,
    #[serde(default, deserialize_with = "optional_secret")]
    pub refresh_token: Option<SecretString>,
    #[serde(default)]
    pub expires_in: Option<u64>,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("instance_url", &self.instance_url)
            .finish_non_exhaustive()
    }
}

fn secret<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<SecretString, D::Error> {
    String::deserialize(d).map(SecretString::from)
}

fn optional_secret<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<SecretString>, D::Error> {
    Option::<String>::deserialize(d).map(|o| o.map(SecretString::from))
}

#[derive(Deserialize)]
struct OAuthErrorBody {
    error: String,
    #[serde(default)]
    error_description: String,
}

/// Posts forms to the OAuth endpoints through the client's transport.
#[derive(Clone)]
pub struct OAuthClient {
    transport: Arc<dyn HttpTransport>,
    retry: RetryPolicy,
    login_url: Url,
}

impl OAuthClient {
    pub fn new(transport: Arc<dyn HttpTransport>, retry: RetryPolicy, login_url: Url) -> Self {
        Self {
            transport,
            retry,
            login_url,
        }
    }

    pub fn login_url(&self) -> &Url {
        &self.login_url
    }

    /// `{base}/services/oauth2/{endpoint}`.
    pub fn endpoint(base: &Url, endpoint: &str) -> Result<Url> {
        base.join(&format!("/services/oauth2/{endpoint}"))
            .map_err(|e| Error::config("login_url", e.to_string()))
    }

    /// Posts a form and reads a token answer. A token request may be sent again after any
    /// transport failure or 5xx: a second grant only issues another token.
    pub async fn request_token(&self, url: Url, form: &[(&str, &str)]) -> Result<TokenResponse> {
        let body = self.post_form(url, form).await?;
        serde_json::from_slice(&body).map_err(|e| Error::UnexpectedResponse {
            status: 200,
            message: format!("cannot read the token answer: {e}"),
        })
    }

    /// Revokes a token (`POST /services/oauth2/revoke`) at `base`: the org that issued it.
    pub async fn revoke(&self, token: &AccessToken, base: &Url) -> Result<()> {
        let url = Self::endpoint(base, "revoke")?;
        self.post_form(url, &[("token", token.token.expose_secret())])
            .await
            .map(|_| ())
    }

    async fn post_form(&self, url: Url, form: &[(&str, &str)]) -> Result<Bytes> {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut headers = HeaderMap::with_capacity(2);
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let request = HttpRequest {
            method: Method::POST,
            url,
            headers,
            body: Bytes::from(body),
            upload: None,
            timeout: None,
        };
        let mut attempts = Attempts::default();
        let route = crate::routes::route_of(request.url.path());
        loop {
            attempts.count += 1;
            let started = std::time::Instant::now();
            let outcome = self.transport.send(request.clone()).await;
            let status = outcome.as_ref().ok().map(|r| r.status.as_u16());
            crate::metrics::record_request(route, &Method::POST, status, started.elapsed());
            let (cause, failure) = match outcome {
                Ok(response) if response.status.is_success() => return Ok(response.body),
                Ok(response) => {
                    let status = response.status.as_u16();
                    if let Ok(body) = serde_json::from_slice::<OAuthErrorBody>(&response.body) {
                        if status < 500 {
                            return Err(Error::OAuth(Box::new(OAuthError {
                                status,
                                error: body.error,
                                error_description: body.error_description,
                                attempts,
                            })));
                        }
                    }
                    let cause = self.retry.retry_cause(
                        Idempotency::Idempotent,
                        &Outcome::Status {
                            status,
                            error_code: None,
                        },
                    );
                    let failure = Error::UnexpectedResponse {
                        status,
                        message: String::from_utf8_lossy(&response.body)
                            .chars()
                            .take(300)
                            .collect(),
                    };
                    (cause, failure)
                }
                Err(sent) => {
                    let cause = self
                        .retry
                        .retry_cause(Idempotency::Idempotent, &Outcome::Transport(sent.kind));
                    let failure = Error::Transport(TransportFailure {
                        kind: sent.kind,
                        message: sent.message,
                        attempts: attempts.clone(),
                        outcome_unknown: false,
                    });
                    (cause, failure)
                }
            };
            let delay = cause
                .as_ref()
                .filter(|_| attempts.count < self.retry.max_attempts)
                .and_then(|_| self.retry.delay(attempts.count, None));
            match (cause, delay) {
                (Some(cause), Some(delay)) => {
                    attempts.retried_causes.push(cause);
                    tokio::time::sleep(delay).await;
                }
                _ => return Err(failure),
            }
        }
    }
}

/// Obtains a fresh token; the [`super::TokenManager`] decides when.
pub trait TokenSource: Send + Sync + 'static {
    /// A short name of the flow, for logs and `Debug`.
    fn name(&self) -> &'static str;
    fn fetch<'a>(&'a self, oauth: &'a OAuthClient) -> BoxFuture<'a, Result<TokenResponse>>;
}

const JWT_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Salesforce wants `exp` within 3 minutes; stay under it.
const JWT_VALIDITY_SECS: i64 = 170;

/// The JWT bearer flow: an RS256 assertion signed with the app's private key.
pub struct JwtBearerFlow {
    client_id: String,
    username: String,
    key: jsonwebtoken::EncodingKey,
    audience: String,
}

impl JwtBearerFlow {
    /// Reads the PEM key (PKCS#1 or PKCS#8) now, so a bad key fails before anything is sent.
    pub fn new(
        client_id: String,
        username: String,
        private_key_pem: &SecretString,
        login_url: &Url,
    ) -> Result<Self> {
        let key =
            jsonwebtoken::EncodingKey::from_rsa_pem(private_key_pem.expose_secret().as_bytes())
                .map_err(|_| {
                    Error::config(
                        "private_key",
                        "not an RSA private key in PEM form (PKCS#1 or PKCS#8)",
                    )
                })?;
        let audience = login_url.as_str().trim_end_matches('/').to_owned();
        Ok(Self {
            client_id,
            username,
            key,
            audience,
        })
    }

    fn assertion(&self) -> Result<String> {
        let claims = serde_json::json!({
            "iss": self.client_id,
            "sub": self.username,
            "aud": self.audience,
            "exp": chrono::Utc::now().timestamp() + JWT_VALIDITY_SECS,
        });
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
            &claims,
            &self.key,
        )
        .map_err(|e| Error::config("private_key", format!("cannot sign the assertion: {e}")))
    }
}

impl TokenSource for JwtBearerFlow {
    fn name(&self) -> &'static str {
        "jwt_bearer"
    }

    fn fetch<'a>(&'a self, oauth: &'a OAuthClient) -> BoxFuture<'a, Result<TokenResponse>> {
        Box::pin(async move {
            let assertion = self.assertion()?;
            let url = OAuthClient::endpoint(oauth.login_url(), "token")?;
            oauth
                .request_token(url, &[("grant_type", JWT_GRANT), ("assertion", &assertion)])
                .await
        })
    }
}

/// Told the new refresh token when the server rotates it, so it can be stored.
pub type RotationHook = Arc<dyn Fn(&str) + Send + Sync>;

/// The refresh token flow; keeps the newest refresh token when the server rotates it.
pub struct RefreshTokenFlow {
    client_id: String,
    client_secret: Option<SecretString>,
    refresh_token: Mutex<SecretString>,
    on_rotate: Option<RotationHook>,
}

impl RefreshTokenFlow {
    pub fn new(
        client_id: String,
        client_secret: Option<SecretString>,
        refresh_token: SecretString,
        on_rotate: Option<RotationHook>,
    ) -> Self {
        Self {
            client_id,
            client_secret,
            refresh_token: Mutex::new(refresh_token),
            on_rotate,
        }
    }
}

impl TokenSource for RefreshTokenFlow {
    fn name(&self) -> &'static str {
        "refresh_token"
    }

    fn fetch<'a>(&'a self, oauth: &'a OAuthClient) -> BoxFuture<'a, Result<TokenResponse>> {
        Box::pin(async move {
            let current = self.refresh_token.lock().map(|t| t.clone()).map_err(|_| {
                Error::config("refresh_token", "the refresh token store was poisoned")
            })?;
            let url = OAuthClient::endpoint(oauth.login_url(), "token")?;
            let mut form = vec![
                ("grant_type", "refresh_token"),
                ("client_id", self.client_id.as_str()),
                ("refresh_token", current.expose_secret()),
            ];
            if let Some(secret) = &self.client_secret {
                form.push(("client_secret", secret.expose_secret()));
            }
            let mut response = oauth.request_token(url, &form).await?;
            if let Some(rotated) = response.refresh_token.take() {
                if rotated.expose_secret() != current.expose_secret() {
                    if let Ok(mut stored) = self.refresh_token.lock() {
                        *stored = rotated.clone();
                    }
                    if let Some(hook) = &self.on_rotate {
                        hook(rotated.expose_secret());
                    }
                }
            }
            Ok(response)
        })
    }
}

/// The client credentials flow, sent to the org's My Domain URL.
pub struct ClientCredentialsFlow {
    client_id: String,
    client_secret: SecretString,
    my_domain: Url,
}

impl ClientCredentialsFlow {
    pub fn new(client_id: String, client_secret: SecretString, my_domain: Url) -> Self {
        Self {
            client_id,
            client_secret,
            my_domain,
        }
    }
}

impl TokenSource for ClientCredentialsFlow {
    fn name(&self) -> &'static str {
        "client_credentials"
    }

    fn fetch<'a>(&'a self, oauth: &'a OAuthClient) -> BoxFuture<'a, Result<TokenResponse>> {
        Box::pin(async move {
            let url = OAuthClient::endpoint(&self.my_domain, "token")?;
            let form = [
                ("grant_type", "client_credentials"),
                ("client_id", self.client_id.as_str()),
                ("client_secret", self.client_secret.expose_secret()),
            ];
            oauth.request_token(url, &form).await
        })
    }
}
