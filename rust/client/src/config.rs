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
    pub instance_url: Url,
    pub login_url: Url,
    pub api_version: String,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub track_limits: bool,
    pub access_token: Option<SecretString>,
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    pub username: Option<String>,
    pub private_key: Option<SecretString>,
    pub refresh_token: Option<SecretString>,
    /// Extra PEM-encoded CA certificates trusted beside the system roots.
    pub ca_certs_pem: Vec<Vec<u8>>,
    pub retry: RetryPolicy,
}

impl Config {
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
    // A setting read from the environment that did not parse; reported by build().
    env_error: Option<Error>,
}

impl ConfigBuilder {
    /// Reads settings through `lookup` (the environment, or a map in tests):
    /// SF_INSTANCE_URL, SF_LOGIN_URL, SF_CLIENT_ID, SF_CLIENT_SECRET, SF_USERNAME,
    /// SF_PRIVATE_KEY or SF_PRIVATE_KEY_FILE, SF_REFRESH_TOKEN, SF_ACCESS_TOKEN, SF_API_VERSION,
    /// SF_TIMEOUT_SECONDS, SF_TRACK_LIMITS.
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
        if let Some(raw) = get("SF_TRACK_LIMITS") {
            b.track_limits = Some(match raw.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => true,
                "0" | "false" | "no" | "off" => false,
                _ => {
                    return Err(Error::config(
                        "SF_TRACK_LIMITS",
                        format!("expected true or false, got {raw:?}"),
                    ))
                }
            });
        }
        Ok(b)
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
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Validates every setting; the error names the setting at fault.
    pub fn build(self) -> Result<Config> {
        if let Some(e) = self.env_error {
            return Err(e);
        }
        let raw_instance = self.instance_url.ok_or_else(|| {
            Error::config(
                "instance_url",
                "missing: set SF_INSTANCE_URL or call instance_url()",
            )
        })?;
        let instance_url = parse_base_url("instance_url", &raw_instance)?;
        let login_url = parse_base_url(
            "login_url",
            self.login_url.as_deref().unwrap_or(DEFAULT_LOGIN_URL),
        )?;
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
            if reqwest::Certificate::from_pem_bundle(pem)
                .map(|c| c.is_empty())
                .unwrap_or(true)
            {
                return Err(Error::config("ca_cert", "no PEM certificate could be read"));
            }
        }
        let retry = self.retry.unwrap_or_default();
        retry.validate()?;
        Ok(Config {
            instance_url,
            login_url,
            api_version,
            timeout,
            connect_timeout,
            track_limits: self.track_limits.unwrap_or(true),
            access_token: self.access_token,
            client_id: self.client_id,
            client_secret: self.client_secret,
            username: self.username,
            private_key,
            refresh_token: self.refresh_token,
            ca_certs_pem,
            retry,
        })
    }
}

fn positive_duration(setting: &str, secs: f64) -> Result<Duration> {
    if secs.is_finite() && secs > 0.0 {
        Duration::try_from_secs_f64(secs).map_err(|e| Error::config(setting, e.to_string()))
    } else {
        Err(Error::config(
            setting,
            format!("must be a positive number of seconds, got {secs}"),
        ))
    }
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

/// Parses a base URL: HTTPS, or plain HTTP on a loopback host only; no path, query or fragment.
pub(crate) fn parse_base_url(setting: &str, raw: &str) -> Result<Url> {
    let url = Url::parse(raw.trim())
        .map_err(|e| Error::config(setting, format!("not a URL ({e}): {raw:?}")))?;
    let loopback = match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => return Err(Error::config(setting, format!("no host in {raw:?}"))),
    };
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
}
