//! The HTTP proxy: which hosts go through it, decided once for REST and Pub/Sub alike, and the
//! CONNECT tunnel the Pub/Sub channel opens through it (reqwest opens its own for REST).

use crate::error::{Error, Result};
use base64::Engine as _;
#[cfg(feature = "grpc-transport")]
use std::future::Future;
#[cfg(feature = "grpc-transport")]
use std::pin::Pin;
#[cfg(feature = "grpc-transport")]
use std::sync::Arc;
#[cfg(feature = "grpc-transport")]
use std::task::{Context, Poll};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use url::Url;

/// An `http://` proxy that tunnels with CONNECT, and the hosts that bypass it.
#[derive(Clone)]
pub struct ProxySettings {
    url: Url,
    no_proxy: Vec<String>,
}

// The proxy URL may carry a password: never print it.
impl std::fmt::Debug for ProxySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxySettings")
            .field("url", &self.display_url())
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

impl ProxySettings {
    /// `url` is `http://[user:password@]host[:port]`; `no_proxy` lists hosts that go direct, as
    /// NO_PROXY does: `*`, a host name (which covers its subdomains), `.domain`, an IP address.
    pub fn new(url: &str, no_proxy: &str) -> Result<Self> {
        let parsed = Url::parse(url)
            .map_err(|e| Error::config("proxy", format!("{} is not a URL: {e}", redact(url))))?;
        if parsed.scheme() != "http" {
            return Err(Error::config(
                "proxy",
                format!(
                    "the proxy must be an http:// URL (a CONNECT proxy), got {}://",
                    parsed.scheme()
                ),
            ));
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(Error::config("proxy", "the proxy URL has no host"));
        }
        Ok(Self {
            url: parsed,
            no_proxy: no_proxy
                .split(',')
                .map(|h| h.trim().trim_start_matches('.').to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
        })
    }

    /// The proxy the environment names for HTTPS: `HTTPS_PROXY`, else `ALL_PROXY` (either case),
    /// with `NO_PROXY`; None when none is set.
    pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<Self>> {
        let get = |names: &[&str]| {
            names.iter().find_map(|n| {
                lookup(n)
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty())
            })
        };
        let Some(url) = get(&["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]) else {
            return Ok(None);
        };
        // A bare host:port, as some environments set it, means an http:// proxy.
        let url = if url.contains("://") {
            url
        } else {
            format!("http://{url}")
        };
        let no_proxy = get(&["NO_PROXY", "no_proxy"]).unwrap_or_default();
        Self::new(&url, &no_proxy).map(Some)
    }

    /// Whether requests to `host` go through the proxy.
    pub fn applies_to(&self, host: &str) -> bool {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        !self.no_proxy.iter().any(|entry| {
            entry == "*"
                || *entry == host
                || (host.len() > entry.len()
                    && host.ends_with(entry.as_str())
                    && host.as_bytes()[host.len() - entry.len() - 1] == b'.')
        })
    }

    /// The proxy's URL with its password hidden, for messages.
    pub fn display_url(&self) -> String {
        redact(self.url.as_str())
    }

    /// The proxy's URL, credentials included (for reqwest).
    #[cfg(feature = "reqwest-transport")]
    pub(crate) fn url(&self) -> &Url {
        &self.url
    }

    fn authorization(&self) -> Option<String> {
        if self.url.username().is_empty() {
            return None;
        }
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let pair = format!(
            "{}:{}",
            decode(self.url.username()),
            decode(self.url.password().unwrap_or(""))
        );
        Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        ))
    }

    /// Opens a TCP connection to `host:port` through the proxy with CONNECT.
    pub async fn tunnel(&self, host: &str, port: u16) -> std::io::Result<TcpStream> {
        let proxy_host = self.url.host_str().unwrap_or_default();
        let proxy_port = self.url.port_or_known_default().unwrap_or(80);
        let mut stream = TcpStream::connect((proxy_host, proxy_port)).await?;
        stream.set_nodelay(true)?;
        let authority = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
        if let Some(credentials) = self.authorization() {
            request.push_str(&format!("Proxy-Authorization: {credentials}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).await?;
        // The answer's head, read a byte at a time so nothing of the tunnel is consumed.
        let mut head = Vec::with_capacity(128);
        while !head.ends_with(b"\r\n\r\n") {
            if head.len() > 8192 {
                return Err(std::io::Error::other(
                    "the proxy's answer to CONNECT is too long",
                ));
            }
            let byte = stream.read_u8().await?;
            head.push(byte);
        }
        let status_line = head
            .split(|b| *b == b'\n')
            .next()
            .map(|l| String::from_utf8_lossy(l).trim().to_owned())
            .unwrap_or_default();
        let code = status_line.split_whitespace().nth(1).unwrap_or("");
        if code != "200" {
            return Err(std::io::Error::other(format!(
                "the proxy {} refused CONNECT {authority}: {status_line}",
                self.display_url()
            )));
        }
        Ok(stream)
    }
}

/// `url` with any password replaced by `***`.
fn redact(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "the proxy URL".to_owned(),
    }
}

/// A tower connector for tonic: each connection is a CONNECT tunnel through the proxy; tonic
/// puts TLS on top of it.
#[cfg(feature = "grpc-transport")]
#[derive(Clone)]
pub(crate) struct TunnelConnector {
    pub proxy: Arc<ProxySettings>,
}

#[cfg(feature = "grpc-transport")]
impl tower::Service<http::Uri> for TunnelConnector {
    type Response = hyper_util::rt::TokioIo<TcpStream>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = std::io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let proxy = Arc::clone(&self.proxy);
        Box::pin(async move {
            let host = uri
                .host()
                .ok_or_else(|| std::io::Error::other("the Pub/Sub endpoint has no host"))?
                .to_owned();
            let tls = uri.scheme_str() == Some("https");
            let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
            proxy
                .tunnel(&host, port)
                .await
                .map(hyper_util::rt::TokioIo::new)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::panic)]
    use super::*;

    #[test]
    fn no_proxy_matches_hosts_domains_and_star() {
        let p = ProxySettings::new("http://proxy:3128", "localhost, .internal.example,10.0.0.1")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!p.applies_to("localhost"));
        assert!(!p.applies_to("a.internal.example"));
        assert!(!p.applies_to("internal.example"));
        assert!(!p.applies_to("10.0.0.1"));
        assert!(p.applies_to("notinternal.example"));
        assert!(p.applies_to("acme.my.salesforce.com"));
        let all = ProxySettings::new("http://proxy:3128", "*").unwrap_or_else(|e| panic!("{e}"));
        assert!(!all.applies_to("acme.my.salesforce.com"));
    }

    #[test]
    fn only_http_proxies_and_no_password_in_messages() {
        assert!(ProxySettings::new("socks5://proxy:1080", "").is_err());
        let p = ProxySettings::new("http://user:s3cret@proxy:3128", "")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!format!("{p:?}").contains("s3cret"));
        assert_eq!(p.authorization().as_deref(), Some("Basic dXNlcjpzM2NyZXQ="));
        let bad = ProxySettings::new("http://user:s3cret@", "")
            .err()
            .map(|e| e.to_string());
        assert!(!bad.unwrap_or_default().contains("s3cret"));
    }

    #[test]
    fn from_env_reads_https_proxy_then_all_proxy() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let none = ProxySettings::from_env(env(&[])).unwrap_or_else(|e| panic!("{e}"));
        assert!(none.is_none());
        let p = ProxySettings::from_env(env(&[("ALL_PROXY", "proxy:8080"), ("no_proxy", "x.com")]))
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("a proxy"));
        assert_eq!(p.display_url(), "http://proxy:8080/");
        assert!(!p.applies_to("x.com"));
    }
}
