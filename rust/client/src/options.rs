//! Options for the calls made through one handle of the client: a timeout and extra headers
//! (`Sforce-Call-Options`, `Sforce-Auto-Assign`, `Sforce-Query-Options`, ...), applied to each
//! REST request those calls send. [`Client::with_options`] gives such a handle; it shares the
//! client's connections, tokens, limits and breakers.

use crate::error::{Error, Result};
use http::{HeaderName, HeaderValue};
use std::time::Duration;

/// A timeout and headers for the requests of some calls.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallOptions {
    /// Each request's timeout, in place of the client's.
    pub timeout: Option<Duration>,
    /// Headers sent with each request, replacing a header of the same name the library would
    /// send (such as `Sforce-Query-Options`).
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

/// Headers the client owns: a call that set them would leak or break the token or the decoding
/// of the answer.
const CLIENT_HEADERS: [HeaderName; 4] = [
    http::header::AUTHORIZATION,
    http::header::HOST,
    http::header::CONTENT_TYPE,
    http::header::CONTENT_LENGTH,
];

impl CallOptions {
    /// Validates a timeout (positive, finite) and headers (valid names and values, none of the
    /// client's own) before anything is sent.
    pub fn new<N: AsRef<str>, V: AsRef<str>>(
        timeout: Option<Duration>,
        headers: &[(N, V)],
    ) -> Result<Self> {
        if let Some(t) = timeout {
            checked_timeout(t.as_secs_f64())?;
        }
        Ok(Self {
            timeout,
            headers: checked_headers(headers, &CLIENT_HEADERS)?,
        })
    }

    /// A timeout in seconds, as callers from other languages give it.
    pub fn from_seconds<N: AsRef<str>, V: AsRef<str>>(
        timeout: Option<f64>,
        headers: &[(N, V)],
    ) -> Result<Self> {
        Ok(Self {
            timeout: timeout.map(checked_timeout).transpose()?,
            headers: checked_headers(headers, &CLIENT_HEADERS)?,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.timeout.is_none() && self.headers.is_empty()
    }

    /// These options with `later`'s on top: its timeout when it has one, its headers replacing
    /// the same names.
    pub(crate) fn merged(&self, later: &CallOptions) -> CallOptions {
        let mut headers: Vec<_> = self
            .headers
            .iter()
            .filter(|(name, _)| !later.headers.iter().any(|(n, _)| n == name))
            .cloned()
            .collect();
        headers.extend(later.headers.iter().cloned());
        CallOptions {
            timeout: later.timeout.or(self.timeout),
            headers,
        }
    }
}

/// A call's timeout in seconds: more than 0 and at most a year, else `InvalidArgument`.
pub fn checked_timeout(seconds: f64) -> Result<Duration> {
    crate::config::checked_seconds("timeout", seconds, false)
        .map_err(|m| Error::invalid_argument("timeout", m))
}

/// Parses headers, refusing names in `reserved`.
pub(crate) fn checked_headers<N: AsRef<str>, V: AsRef<str>>(
    headers: &[(N, V)],
    reserved: &[HeaderName],
) -> Result<Vec<(HeaderName, HeaderValue)>> {
    headers
        .iter()
        .map(|(name, value)| {
            let (name, value) = (name.as_ref(), value.as_ref());
            let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                Error::invalid_argument("headers", format!("{name:?} is not a header name"))
            })?;
            if reserved.contains(&header) {
                return Err(Error::invalid_argument(
                    "headers",
                    format!("the {header} header is the client's own"),
                ));
            }
            let value = HeaderValue::from_str(value).map_err(|_| {
                Error::invalid_argument("headers", format!("the value of {name} is not valid"))
            })?;
            Ok((header, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clients_own_headers_and_bad_values_are_refused() {
        for name in ["Authorization", "host", "Content-Type"] {
            let err = CallOptions::new(None, &[(name, "x")]).unwrap_err();
            assert!(err.to_string().contains("client's own"), "{err}");
        }
        assert!(CallOptions::new(None, &[("bad name", "x")]).is_err());
        assert!(CallOptions::new(None, &[("X-Ok", "line\nbreak")]).is_err());
        assert!(CallOptions::from_seconds(Some(0.0), &[] as &[(&str, &str)]).is_err());
        assert!(CallOptions::from_seconds(Some(f64::NAN), &[] as &[(&str, &str)]).is_err());
        let ok = CallOptions::from_seconds(Some(2.5), &[("Sforce-Auto-Assign", "FALSE")]).unwrap();
        assert_eq!(ok.timeout, Some(Duration::from_millis(2500)));
        assert_eq!(ok.headers.len(), 1);
    }

    #[test]
    fn later_options_replace_earlier_ones_by_name() {
        let first = CallOptions::from_seconds(
            Some(5.0),
            &[("Sforce-Call-Options", "client=a"), ("X-Keep", "1")],
        )
        .unwrap();
        let second =
            CallOptions::from_seconds(None, &[("sforce-call-options", "client=b")]).unwrap();
        let merged = first.merged(&second);
        assert_eq!(merged.timeout, Some(Duration::from_secs(5)));
        let values: Vec<_> = merged
            .headers
            .iter()
            .map(|(n, v)| format!("{n}={}", v.to_str().unwrap()))
            .collect();
        assert_eq!(values, ["x-keep=1", "sforce-call-options=client=b"]);
    }
}
