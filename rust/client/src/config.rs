//! Client settings: a builder, `SF_*` environment variables, and their validation.

use crate::error::{Error, Result};
use crate::resilience::RetryPolicy;
use secrecy::SecretString;
use std::net::IpAddr;
use std::time::Duration;
use url::{Host, Url};

/// The API version used when none is given.
pub const DEFAULT_API_VERSION: &str = "62.0";
/// The login host used when none is given.
pub const DEFAULT_LOGIN_URL: &str = "https://login.salesforce.com";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Validated settings of a client. Secrets are held in `SecretString` and never printed.
#[derive(Debug, Clone)]
pub struct Config {
    /// The org's URL; until a token response names it, the login URL stands in.
    pub instance_url: Url,
    /// Whether the instance URL was given (rather than left to the token response).
    pub instance_url_given: bool,
    pub login_url: Url,
    pub api_version: String,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub track_limits: bool,
    /// Whether to ask for gzip-compressed answers; `None` asks everywhere but on loopback hosts.
    pub gzip: Option<bool>,
    pub access_token: Option<SecretString>,
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    pub username: Option<String>,
    pub private_key: Option<SecretString>,
    pub refresh_token: Option<SecretString>,
    /// Extra PEM-encoded CA certificates trusted beside the system roots.
    pub ca_certs_pem: Vec<Vec<u8>>,
    pub retry: RetryPolicy,
    /// The OAuth flow asked for, if any; otherwise it is inferred from the credentials given.
    pub flow: Option<Flow>,
    /// How long an access token lives, when known; tokens are renewed ahead of it.
    pub token_lifetime: Option<Duration>,
    /// The Pub/Sub API's gRPC endpoint (https; http only on loopback).
    pub pubsub_endpoint: Url,
    /// When the per-family circuit breakers open, and for how long.
    pub breaker: crate::breaker::BreakerSettings,
    /// Usage warnings, a cap on requests per second, a reserve of the daily limit.
    pub throttle: crate::throttle::ThrottleSettings,
    /// The HTTP CONNECT proxy REST and Pub/Sub go through, if any.
    pub proxy: Option<crate::proxy::ProxySettings>,
}

/// Where the proxy comes from.
#[derive(Debug, Clone, Default)]
pub enum ProxyChoice {
    /// HTTPS_PROXY (or ALL_PROXY) and NO_PROXY, read when the client is built.
    #[default]
    FromEnvironment,
    /// No proxy, whatever the environment says.
    Direct,
    /// This proxy URL, with these NO_PROXY entries (comma-separated).
    Url { url: String, no_proxy: String },
}

/// Salesforce's Pub/Sub API endpoint.
pub const DEFAULT_PUBSUB_ENDPOINT: &str = "https://api.pubsub.salesforce.com:7443";

/// The ways to obtain an access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    AccessToken,
    JwtBearer,
    RefreshToken,
    ClientCredentials,
}

/// The credentials of one flow, resolved from a config.
#[derive(Debug, Clone)]
pub enum Credentials {
    AccessToken(SecretString),
    JwtBearer {
        client_id: String,
        username: String,
        private_key: SecretString,
    },
    RefreshToken {
        client_id: String,
        client_secret: Option<SecretString>,
        refresh_token: SecretString,
    },
    ClientCredentials {
        client_id: String,
        client_secret: SecretString,
    },
}

impl Config {
    /// Picks the flow: the one asked for, else an access token, a private key (JWT bearer),
    /// a refresh token, or a client secret (client credentials), in that order. The error names
    /// the settings a flow still needs.
    pub fn credentials(&self) -> Result<Credentials> {
        let flow = match self.flow {
            Some(flow) => flow,
            None if self.access_token.is_some() => Flow::AccessToken,
            None if self.private_key.is_some() => Flow::JwtBearer,
            None if self.refresh_token.is_some() => Flow::RefreshToken,
            None if self.client_secret.is_some() => Flow::ClientCredentials,
            None if self.username.is_some() => {
                return Err(Error::config(
                    "private_key",
                    "the JWT bearer flow needs SF_PRIVATE_KEY or SF_PRIVATE_KEY_FILE",
                ))
            }
            None => {
                return Err(Error::config(
                    "credentials",
                    "none given: set SF_ACCESS_TOKEN; or SF_CLIENT_ID, SF_USERNAME and SF_PRIVATE_KEY(_FILE) \
                     for the JWT bearer flow; or SF_CLIENT_ID and SF_REFRESH_TOKEN; or SF_CLIENT_ID and \
                     SF_CLIENT_SECRET for client credentials",
                ))
            }
        };
        let need = |value: &Option<String>, setting: &str, env: &str| {
            value
                .clone()
                .ok_or_else(|| Error::config(setting, format!("{flow:?} flow needs {env}")))
        };
        let need_secret = |value: &Option<SecretString>, setting: &str, env: &str| {
            value
                .clone()
                .ok_or_else(|| Error::config(setting, format!("{flow:?} flow needs {env}")))
        };
        Ok(match flow {
            Flow::AccessToken => Credentials::AccessToken(need_secret(
                &self.access_token,
                "access_token",
                "SF_ACCESS_TOKEN",
            )?),
            Flow::JwtBearer => Credentials::JwtBearer {
                client_id: need(&self.client_id, "client_id", "SF_CLIENT_ID")?,
                username: need(&self.username, "username", "SF_USERNAME")?,
                private_key: need_secret(
                    &self.private_key,
                    "private_key",
                    "SF_PRIVATE_KEY or SF_PRIVATE_KEY_FILE",
                )?,
            },
            Flow::RefreshToken => Credentials::RefreshToken {
                client_id: need(&self.client_id, "client_id", "SF_CLIENT_ID")?,
                client_secret: self.client_secret.clone(),
                refresh_token: need_secret(
                    &self.refresh_token,
                    "refresh_token",
                    "SF_REFRESH_TOKEN",
                )?,
            },
            Flow::ClientCredentials => {
                if !self.instance_url_given {
                    return Err(Error::config(
                        "instance_url",
                        "the client credentials flow needs the org's My Domain URL (SF_INSTANCE_URL)",
                    ));
                }
                Credentials::ClientCredentials {
                    client_id: need(&self.client_id, "client_id", "SF_CLIENT_ID")?,
                    client_secret: need_secret(
                        &self.client_secret,
                        "client_secret",
                        "SF_CLIENT_SECRET",
                    )?,
                }
            }
        })
    }

    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// Reads the `SF_*` environment variables; see [`ConfigBuilder::from_lookup`].
    pub fn from_env() -> Result<Self> {
        ConfigBuilder::from_lookup(|name| std::env::var(name).ok())?.build()
    }

    /// `https://host/services/data/vNN.N/` joined with `path`.
    pub fn data_url(&self, path: &str) -> Result<Url> {
        let base = format!("/services/data/v{}/", self.api_version);
        self.instance_url
            .join(&base)
            .and_then(|u| u.join(path.trim_start_matches('/')))
            .map_err(|e| Error::invalid_argument("path", e.to_string()))
    }
}

/// Builds a [`Config`]; every setter is optional but the instance URL and a credential.
#[derive(Debug, Default)]
pub struct ConfigBuilder {
    instance_url: Option<String>,
    login_url: Option<String>,
    api_version: Option<String>,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    track_limits: Option<bool>,
    gzip: Option<bool>,
    access_token: Option<SecretString>,
    client_id: Option<String>,
    client_secret: Option<SecretString>,
    username: Option<String>,
    private_key: Option<SecretString>,
    private_key_file: Option<String>,
    refresh_token: Option<SecretString>,
    ca_certs_pem: Vec<Vec<u8>>,
    ca_cert_files: Vec<String>,
    retry: Option<RetryPolicy>,
    flow: Option<Flow>,
    token_lifetime: Option<Duration>,
    pubsub_endpoint: Option<String>,
    breaker: Option<crate::breaker::BreakerSettings>,
    throttle: Option<crate::throttle::ThrottleSettings>,
    proxy: ProxyChoice,
    // A setting read from the environment that did not parse; reported by build().
    env_error: Option<Error>,
}

impl ConfigBuilder {
    /// Reads settings through `lookup` (the environment, or a map in tests):
    /// SF_INSTANCE_URL, SF_LOGIN_URL, SF_CLIENT_ID, SF_CLIENT_SECRET, SF_USERNAME,
    /// SF_PRIVATE_KEY or SF_PRIVATE_KEY_FILE, SF_REFRESH_TOKEN, SF_ACCESS_TOKEN, SF_API_VERSION,
    /// SF_TIMEOUT_SECONDS, SF_TRACK_LIMITS, SF_GZIP, SF_CA_CERT_FILE, SF_BREAKER_FAILURES,
    /// SF_BREAKER_OPEN_SECONDS.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut b = ConfigBuilder {
            instance_url: get("SF_INSTANCE_URL"),
            login_url: get("SF_LOGIN_URL"),
            api_version: get("SF_API_VERSION"),
            client_id: get("SF_CLIENT_ID"),
            client_secret: get("SF_CLIENT_SECRET").map(SecretString::from),
            username: get("SF_USERNAME"),
            private_key: get("SF_PRIVATE_KEY").map(SecretString::from),
            private_key_file: get("SF_PRIVATE_KEY_FILE"),
            refresh_token: get("SF_REFRESH_TOKEN").map(SecretString::from),
            access_token: get("SF_ACCESS_TOKEN").map(SecretString::from),
            ca_cert_files: get("SF_CA_CERT_FILE").into_iter().collect(),
            pubsub_endpoint: get("SF_PUBSUB_ENDPOINT"),
            ..ConfigBuilder::default()
        };
        if let Some(raw) = get("SF_TIMEOUT_SECONDS") {
            let secs = raw.parse::<f64>().map_err(|_| {
                Error::config(
                    "SF_TIMEOUT_SECONDS",
                    format!("expected a number of seconds, got {raw:?}"),
                )
            })?;
            b.timeout = Some(positive_duration("SF_TIMEOUT_SECONDS", secs)?);
        }
        let failures = get("SF_BREAKER_FAILURES");
        let open = get("SF_BREAKER_OPEN_SECONDS");
        if failures.is_some() || open.is_some() {
            let defaults = crate::breaker::BreakerSettings::default();
            let failures = match failures {
                Some(raw) => raw.parse::<u32>().map_err(|_| {
                    Error::config(
                        "SF_BREAKER_FAILURES",
                        format!("expected a whole number (0 turns the breakers off), got {raw:?}"),
                    )
                })?,
                None => defaults.failures,
            };
            let open_for = match open {
                Some(raw) => {
                    let secs = raw.parse::<f64>().map_err(|_| {
                        Error::config(
                            "SF_BREAKER_OPEN_SECONDS",
                            format!("expected a number of seconds, got {raw:?}"),
                        )
                    })?;
                    positive_duration("SF_BREAKER_OPEN_SECONDS", secs)?
                }
                None => defaults.open_for,
            };
            b.breaker = Some(crate::breaker::BreakerSettings { failures, open_for });
        }
        if let Some(raw) = get("SF_TRACK_LIMITS") {
            b.track_limits = Some(env_flag("SF_TRACK_LIMITS", &raw)?);
        }
        if let Some(raw) = get("SF_GZIP") {
            b.gzip = Some(env_flag("SF_GZIP", &raw)?);
        }
        Ok(b)
    }

    /// The Pub/Sub endpoint, `host:port` (TLS) or a URL (`http://` only for loopback).
    pub fn pubsub_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.pubsub_endpoint = Some(endpoint.into());
        self
    }

    pub fn instance_url(mut self, url: impl Into<String>) -> Self {
        self.instance_url = Some(url.into());
        self
    }
    pub fn login_url(mut self, url: impl Into<String>) -> Self {
        self.login_url = Some(url.into());
        self
    }
    pub fn api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = Some(version.into());
        self
    }
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
    /// The timeout in seconds, validated at build (must be positive and finite).
    pub fn timeout_secs(mut self, secs: f64) -> Self {
        match positive_duration("timeout", secs) {
            Ok(d) => self.timeout = Some(d),
            Err(e) => self.env_error = Some(e),
        }
        self
    }
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }
    pub fn track_limits(mut self, on: bool) -> Self {
        self.track_limits = Some(on);
        self
    }
    /// Ask for gzip-compressed answers (`Accept-Encoding: gzip`), or never. Without this call
    /// every host but a loopback one is asked: compressing on loopback costs CPU on both ends
    /// and saves no time.
    pub fn gzip(mut self, on: bool) -> Self {
        self.gzip = Some(on);
        self
    }
    pub fn access_token(mut self, token: impl Into<String>) -> Self {
        self.access_token = Some(SecretString::from(token.into()));
        self
    }
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(SecretString::from(secret.into()));
        self
    }
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }
    pub fn private_key_pem(mut self, pem: impl Into<String>) -> Self {
        self.private_key = Some(SecretString::from(pem.into()));
        self
    }
    pub fn private_key_file(mut self, path: impl Into<String>) -> Self {
        self.private_key_file = Some(path.into());
        self
    }
    pub fn refresh_token(mut self, token: impl Into<String>) -> Self {
        self.refresh_token = Some(SecretString::from(token.into()));
        self
    }
    /// Sends REST and Pub/Sub through an HTTP CONNECT proxy (`http://[user:password@]host:port`),
    /// except to the hosts of `no_proxy` (comma-separated, as NO_PROXY). Without this call the
    /// proxy comes from HTTPS_PROXY (or ALL_PROXY) and NO_PROXY.
    pub fn proxy(mut self, url: impl Into<String>, no_proxy: impl Into<String>) -> Self {
        self.proxy = ProxyChoice::Url {
            url: url.into(),
            no_proxy: no_proxy.into(),
        };
        self
    }

    /// Connects directly, ignoring HTTPS_PROXY and ALL_PROXY.
    pub fn no_proxy(mut self) -> Self {
        self.proxy = ProxyChoice::Direct;
        self
    }

    /// Trusts one more CA certificate (PEM), e.g. the emulator's or a corporate proxy's.
    pub fn ca_cert_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_certs_pem.push(pem.into());
        self
    }
    /// Trusts the CA certificate(s) in a PEM file, read at build.
    pub fn ca_cert_file(mut self, path: impl Into<String>) -> Self {
        self.ca_cert_files.push(path.into());
        self
    }
    /// Asks for one OAuth flow instead of inferring it from the credentials given.
    pub fn flow(mut self, flow: Flow) -> Self {
        self.flow = Some(flow);
        self
    }
    /// The JWT bearer flow: a connected app's client id, the user to act as, and the PEM private
    /// key (PKCS#1 or PKCS#8) whose certificate the app holds.
    pub fn jwt_bearer(
        self,
        client_id: impl Into<String>,
        username: impl Into<String>,
        private_key_pem: impl Into<String>,
    ) -> Self {
        self.client_id(client_id)
            .username(username)
            .private_key_pem(private_key_pem)
            .flow(Flow::JwtBearer)
    }
    /// The refresh token flow (the client secret only where the app requires it).
    pub fn refresh_token_flow(
        self,
        client_id: impl Into<String>,
        refresh_token: impl Into<String>,
        client_secret: Option<String>,
    ) -> Self {
        let b = self
            .client_id(client_id)
            .refresh_token(refresh_token)
            .flow(Flow::RefreshToken);
        match client_secret {
            Some(secret) => b.client_secret(secret),
            None => b,
        }
    }
    /// The client credentials flow, against the org's My Domain URL.
    pub fn client_credentials(
        self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        self.client_id(client_id)
            .client_secret(client_secret)
            .flow(Flow::ClientCredentials)
    }
    /// How long access tokens live, when the org's session timeout is known.
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = Some(lifetime);
        self
    }
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Usage warnings, a cap on requests per second and a reserve of the daily limit.
    pub fn throttle(mut self, settings: crate::throttle::ThrottleSettings) -> Self {
        self.throttle = Some(settings);
        self
    }

    /// The circuit breakers: open after `failures` outages in a row (0: never), for
    /// `open_for`; default 5 and 30 s.
    pub fn circuit_breaker(mut self, settings: crate::breaker::BreakerSettings) -> Self {
        self.breaker = Some(settings);
        self
    }

    /// [`circuit_breaker`](Self::circuit_breaker) with the open time in seconds, validated at
    /// build.
    pub fn circuit_breaker_secs(mut self, failures: u32, open_secs: f64) -> Self {
        match positive_duration("breaker_open_seconds", open_secs) {
            Ok(open_for) => {
                self.breaker = Some(crate::breaker::BreakerSettings { failures, open_for })
            }
            Err(e) => self.env_error = Some(e),
        }
        self
    }

    /// Validates every setting; the error names the setting at fault.
    pub fn build(self) -> Result<Config> {
        if let Some(e) = self.env_error {
            return Err(e);
        }
        let login_url = parse_base_url(
            "login_url",
            self.login_url.as_deref().unwrap_or(DEFAULT_LOGIN_URL),
        )?;
        // JWT bearer and refresh token answers name the instance, so it may be left out there.
        let flow_names_instance = matches!(self.flow, Some(Flow::JwtBearer | Flow::RefreshToken))
            || (self.flow.is_none()
                && self.access_token.is_none()
                && (self.private_key.is_some()
                    || self.private_key_file.is_some()
                    || self.username.is_some()
                    || self.refresh_token.is_some()));
        let (instance_url, instance_url_given) = match &self.instance_url {
            Some(raw) => (parse_base_url("instance_url", raw)?, true),
            None if flow_names_instance => (login_url.clone(), false),
            None => {
                return Err(Error::config(
                    "instance_url",
                    "missing: set SF_INSTANCE_URL or call instance_url()",
                ))
            }
        };
        let api_version = normalize_api_version(self.api_version.as_deref())?;
        let timeout = self.timeout.unwrap_or(DEFAULT_TIMEOUT);
        let connect_timeout = self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        if timeout.is_zero() {
            return Err(Error::config("timeout", "must be positive"));
        }
        if connect_timeout.is_zero() {
            return Err(Error::config("connect_timeout", "must be positive"));
        }
        let private_key = match (self.private_key, self.private_key_file) {
            (Some(_), Some(_)) => {
                return Err(Error::config(
                    "private_key",
                    "give SF_PRIVATE_KEY or SF_PRIVATE_KEY_FILE, not both",
                ))
            }
            (Some(k), None) => Some(k),
            (None, Some(path)) => {
                Some(SecretString::from(std::fs::read_to_string(&path).map_err(
                    |e| Error::config("private_key_file", format!("cannot read {path}: {e}")),
                )?))
            }
            (None, None) => None,
        };
        let mut ca_certs_pem = self.ca_certs_pem;
        for path in &self.ca_cert_files {
            let pem = std::fs::read(path)
                .map_err(|e| Error::config("ca_cert_file", format!("cannot read {path}: {e}")))?;
            ca_certs_pem.push(pem);
        }
        for pem in &ca_certs_pem {
            if !has_certificate(pem) {
                return Err(Error::config("ca_cert", "no PEM certificate could be read"));
            }
        }
        let retry = self.retry.unwrap_or_default();
        retry.validate()?;
        let throttle = self.throttle.clone().unwrap_or_default();
        throttle.validate()?;
        let pubsub_endpoint = match self.pubsub_endpoint.as_deref() {
            None => parse_base_url("pubsub_endpoint", DEFAULT_PUBSUB_ENDPOINT)?,
            Some(raw) if raw.contains("://") => parse_base_url("pubsub_endpoint", raw)?,
            Some(raw) => parse_base_url("pubsub_endpoint", &format!("https://{raw}"))?,
        };
        let proxy = match self.proxy {
            ProxyChoice::FromEnvironment => {
                crate::proxy::ProxySettings::from_env(|name| std::env::var(name).ok())?
            }
            ProxyChoice::Direct => None,
            ProxyChoice::Url { url, no_proxy } => {
                Some(crate::proxy::ProxySettings::new(&url, &no_proxy)?)
            }
        };
        Ok(Config {
            proxy,
            instance_url,
            instance_url_given,
            login_url,
            api_version,
            timeout,
            connect_timeout,
            track_limits: self.track_limits.unwrap_or(true),
            gzip: self.gzip,
            access_token: self.access_token,
            client_id: self.client_id,
            client_secret: self.client_secret,
            username: self.username,
            private_key,
            refresh_token: self.refresh_token,
            ca_certs_pem,
            retry,
            flow: self.flow,
            token_lifetime: self.token_lifetime,
            pubsub_endpoint,
            breaker: self.breaker.unwrap_or_default(),
            throttle,
        })
    }
}

pub use forcelink_wire::seconds::{checked_seconds, MAX_SECONDS};

fn positive_duration(setting: &str, secs: f64) -> Result<Duration> {
    checked_seconds(setting, secs, false).map_err(|m| Error::config(setting, m))
}

/// Accepts `62.0` or `v62.0`; returns `62.0`.
fn normalize_api_version(raw: Option<&str>) -> Result<String> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_API_VERSION.to_owned());
    };
    let v = raw.trim().trim_start_matches(['v', 'V']);
    let valid = match v.split_once('.') {
        Some((major, minor)) => {
            (2..=3).contains(&major.len())
                && major.bytes().all(|b| b.is_ascii_digit())
                && minor == "0"
        }
        None => false,
    };
    if valid {
        Ok(v.to_owned())
    } else {
        Err(Error::config(
            "api_version",
            format!("expected a version like 62.0, got {raw:?}"),
        ))
    }
}

/// Whether a PEM bundle holds a certificate the transport can read.
#[cfg(feature = "reqwest-transport")]
fn has_certificate(pem: &[u8]) -> bool {
    reqwest::Certificate::from_pem_bundle(pem).is_ok_and(|certs| !certs.is_empty())
}

/// Whether a PEM bundle holds a certificate (a custom transport reads it its own way).
#[cfg(not(feature = "reqwest-transport"))]
fn has_certificate(pem: &[u8]) -> bool {
    memchr::memmem::find(pem, b"-----BEGIN CERTIFICATE-----").is_some()
}

/// A true/false environment setting.
fn env_flag(setting: &str, raw: &str) -> Result<bool> {
    match raw.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(Error::config(
            setting,
            format!("expected true or false, got {raw:?}"),
        )),
    }
}

/// Whether `url` names this machine: `localhost` or a loopback address.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Parses a base URL: HTTPS, or plain HTTP on a loopback host only; no path, query or fragment.
pub(crate) fn parse_base_url(setting: &str, raw: &str) -> Result<Url> {
    let url = Url::parse(raw.trim())
        .map_err(|e| Error::config(setting, format!("not a URL ({e}): {raw:?}")))?;
    if url.host().is_none() {
        return Err(Error::config(setting, format!("no host in {raw:?}")));
    }
    let loopback = is_loopback(&url);
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(Error::config(
                setting,
                format!("must use https (plain http is allowed only for loopback hosts): {raw:?}"),
            ))
        }
        other => {
            return Err(Error::config(
                setting,
                format!("unsupported scheme {other:?}"),
            ))
        }
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(Error::config(
            setting,
            format!("expected a bare origin like https://example.my.salesforce.com, got {raw:?}"),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::config(
            setting,
            "credentials must not be part of the URL",
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn setting_of(err: Error) -> String {
        match err {
            Error::Config { setting, .. } => setting,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn reads_the_environment() {
        let cfg = ConfigBuilder::from_lookup(env(&[
            ("SF_INSTANCE_URL", "https://acme.my.salesforce.com/"),
            ("SF_ACCESS_TOKEN", "00Dxx!token"),
            ("SF_API_VERSION", "v60.0"),
            ("SF_TIMEOUT_SECONDS", "2.5"),
            ("SF_TRACK_LIMITS", "false"),
        ]))
        .unwrap()
        .build()
        .unwrap();
        assert_eq!(cfg.instance_url.as_str(), "https://acme.my.salesforce.com/");
        assert_eq!(cfg.api_version, "60.0");
        assert_eq!(cfg.timeout, Duration::from_millis(2500));
        assert!(!cfg.track_limits);
        assert!(!format!("{cfg:?}").contains("00Dxx!token"));
    }

    #[test]
    fn rejects_plain_http_except_on_loopback() {
        let err = Config::builder()
            .instance_url("http://acme.my.salesforce.com")
            .build();
        assert_eq!(setting_of(err.unwrap_err()), "instance_url");
        for ok in [
            "http://127.0.0.1:8080",
            "http://localhost:1",
            "http://[::1]:9",
        ] {
            assert!(Config::builder().instance_url(ok).build().is_ok(), "{ok}");
        }
    }

    #[test]
    fn validates_versions_and_timeouts() {
        let base = || Config::builder().instance_url("https://x.my.salesforce.com");
        assert_eq!(
            setting_of(base().api_version("62").build().unwrap_err()),
            "api_version"
        );
        assert_eq!(
            setting_of(base().api_version("sixty").build().unwrap_err()),
            "api_version"
        );
        assert_eq!(
            setting_of(base().timeout_secs(0.0).build().unwrap_err()),
            "timeout"
        );
        assert_eq!(
            setting_of(base().timeout_secs(-1.0).build().unwrap_err()),
            "timeout"
        );
        let e = ConfigBuilder::from_lookup(env(&[("SF_TIMEOUT_SECONDS", "soon")])).unwrap_err();
        assert_eq!(setting_of(e), "SF_TIMEOUT_SECONDS");
        assert_eq!(
            setting_of(Config::builder().build().unwrap_err()),
            "instance_url",
            "a missing instance URL is named"
        );
        assert_eq!(
            setting_of(
                base()
                    .login_url("https://login.salesforce.com/x")
                    .build()
                    .unwrap_err()
            ),
            "login_url"
        );
    }

    #[test]
    fn environment_numbers_and_flags_are_checked_by_name() {
        let base = [
            ("SF_INSTANCE_URL", "https://acme.my.salesforce.com"),
            ("SF_ACCESS_TOKEN", "00Dxx!token"),
        ];
        let with = |extra: &[(&str, &str)]| {
            let mut pairs = base.to_vec();
            pairs.extend_from_slice(extra);
            ConfigBuilder::from_lookup(env(&pairs)).and_then(ConfigBuilder::build)
        };
        let cfg = with(&[
            ("SF_BREAKER_FAILURES", "3"),
            ("SF_GZIP", "on"),
            ("SF_TRACK_LIMITS", "0"),
        ])
        .unwrap();
        assert_eq!(cfg.breaker.failures, 3);
        assert_eq!(
            cfg.breaker.open_for,
            crate::breaker::BreakerSettings::default().open_for
        );
        assert_eq!((cfg.gzip, cfg.track_limits), (Some(true), false));
        let cfg = with(&[("SF_BREAKER_OPEN_SECONDS", "1.5"), ("SF_GZIP", "no")]).unwrap();
        assert_eq!(cfg.breaker.open_for, Duration::from_millis(1500));
        assert_eq!(cfg.gzip, Some(false));
        for (name, raw) in [
            ("SF_TIMEOUT_SECONDS", "soon"),
            ("SF_TIMEOUT_SECONDS", "-1"),
            ("SF_BREAKER_FAILURES", "many"),
            ("SF_BREAKER_OPEN_SECONDS", "later"),
            ("SF_BREAKER_OPEN_SECONDS", "0"),
            ("SF_TRACK_LIMITS", "maybe"),
            ("SF_GZIP", "2"),
        ] {
            let err = with(&[(name, raw)]).unwrap_err();
            assert_eq!(setting_of(err), name, "{name}={raw}");
        }
    }

    #[test]
    fn credentials_are_inferred_in_order_and_missing_ones_are_named() {
        let url = "https://acme.my.salesforce.com";
        let flow_of = |b: ConfigBuilder| b.instance_url(url).build().unwrap().credentials();
        assert!(matches!(
            flow_of(Config::builder().refresh_token("5Aep").client_id("app")),
            Ok(Credentials::RefreshToken { .. })
        ));
        assert!(matches!(
            flow_of(Config::builder().client_secret("s").client_id("app")),
            Ok(Credentials::ClientCredentials { .. })
        ));
        assert_eq!(
            setting_of(flow_of(Config::builder().username("u@example.com")).unwrap_err()),
            "private_key"
        );
        assert_eq!(
            setting_of(flow_of(Config::builder()).unwrap_err()),
            "credentials"
        );
        let no_instance = Config::builder()
            .login_url(url)
            .client_credentials("app", "s")
            .build()
            .and_then(|c| c.credentials())
            .unwrap_err();
        assert_eq!(setting_of(no_instance), "instance_url");
    }

    #[test]
    fn builder_settings_are_checked_at_build() {
        let url = "https://acme.my.salesforce.com";
        let build = |b: ConfigBuilder| b.instance_url(url).access_token("t").build();
        let cfg = build(
            Config::builder()
                .timeout_secs(3.0)
                .connect_timeout(Duration::from_secs(2))
                .track_limits(false)
                .gzip(true)
                .circuit_breaker_secs(2, 4.0)
                .no_proxy(),
        )
        .unwrap();
        assert_eq!(cfg.timeout, Duration::from_secs(3));
        assert_eq!(cfg.connect_timeout, Duration::from_secs(2));
        assert_eq!(cfg.breaker.open_for, Duration::from_secs(4));
        assert!(cfg.proxy.is_none());
        let proxied =
            build(Config::builder().proxy("http://proxy.internal:3128", "localhost")).unwrap();
        assert!(proxied.proxy.is_some());

        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem").display().to_string();
        let not_a_cert = dir.path().join("empty.pem");
        std::fs::write(&not_a_cert, "hello").unwrap();
        for (builder, setting) in [
            (Config::builder().timeout_secs(0.0), "timeout"),
            (Config::builder().timeout(Duration::ZERO), "timeout"),
            (
                Config::builder().connect_timeout(Duration::ZERO),
                "connect_timeout",
            ),
            (
                Config::builder().circuit_breaker_secs(1, f64::NAN),
                "breaker_open_seconds",
            ),
            (
                Config::builder().ca_cert_file(missing.clone()),
                "ca_cert_file",
            ),
            (
                Config::builder().ca_cert_file(not_a_cert.display().to_string()),
                "ca_cert",
            ),
            (
                Config::builder().private_key_file(missing.clone()),
                "private_key_file",
            ),
            (
                Config::builder()
                    .private_key_file(missing)
                    .private_key_pem("k"),
                "private_key",
            ),
            (
                Config::builder().pubsub_endpoint("http://api.pubsub.salesforce.com"),
                "pubsub_endpoint",
            ),
        ] {
            assert_eq!(setting_of(build(builder).unwrap_err()), setting);
        }
        let key = dir.path().join("key.pem");
        // Read at build; parsed only when a client signs with it.
        std::fs::write(&key, "key text").unwrap();
        let cfg = build(Config::builder().private_key_file(key.display().to_string())).unwrap();
        assert!(cfg.private_key.is_some());
        let bare = build(Config::builder().pubsub_endpoint("pubsub.example.com:7443")).unwrap();
        assert_eq!(
            bare.pubsub_endpoint.as_str(),
            "https://pubsub.example.com:7443/"
        );
    }

    #[test]
    fn base_urls_are_bare_https_origins() {
        for (raw, ok) in [
            ("https://acme.my.salesforce.com", true),
            ("http://127.0.0.1:8080", true),
            ("http://[::1]:8080", true),
            ("http://localhost:1", true),
            ("http://acme.my.salesforce.com", false),
            ("ftp://acme.my.salesforce.com", false),
            ("https://acme.my.salesforce.com/path", false),
            ("https://acme.my.salesforce.com?q=1", false),
            ("https://user:pw@acme.my.salesforce.com", false),
            ("not a url", false),
            ("unix:/tmp/socket", false),
        ] {
            assert_eq!(parse_base_url("instance_url", raw).is_ok(), ok, "{raw}");
        }
    }
}
