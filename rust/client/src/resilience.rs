//! When to try a request again, and how long to wait: retry by idempotency, full-jitter
//! exponential backoff, and `Retry-After`.

use crate::error::{Error, Result, TransportErrorKind};
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;

/// Whether sending a request twice can do the work twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// GET, DELETE, PUT and PATCH updates: safe to replay after any failure.
    Idempotent,
    /// POST and upserts: replayed only when the request provably never left.
    NonIdempotent,
}

/// How a try ended, as far as retrying cares.
#[derive(Debug, Clone)]
pub enum Outcome<'a> {
    Transport(TransportErrorKind),
    /// An HTTP answer with its status and, for error bodies, the first errorCode.
    Status {
        status: u16,
        error_code: Option<&'a str>,
    },
}

/// Retry settings; the defaults suit interactive and batch work alike.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Tries in all, the first included; 1 disables retries.
    pub max_attempts: u32,
    /// The backoff window of the first retry; it doubles with each retry.
    pub base_delay: Duration,
    /// The largest backoff window.
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured; a longer one ends the retries.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.max_attempts == 0 {
            return Err(Error::config("retry.max_attempts", "must be at least 1"));
        }
        if self.base_delay > self.max_delay {
            return Err(Error::config(
                "retry.base_delay",
                "must not exceed retry.max_delay",
            ));
        }
        Ok(())
    }

    /// The cause to retry for, or None when this outcome must not be retried.
    pub fn retry_cause(&self, idempotency: Idempotency, outcome: &Outcome<'_>) -> Option<String> {
        let idempotent = idempotency == Idempotency::Idempotent;
        match outcome {
            // Nothing reached the server: replaying cannot do the work twice.
            Outcome::Transport(TransportErrorKind::Connect) => Some("connection failed".into()),
            // A simulation has no other answer, and an untrusted certificate stays untrusted:
            // asking again cannot help.
            Outcome::Transport(TransportErrorKind::Unmatched | TransportErrorKind::Certificate) => {
                None
            }
            Outcome::Transport(kind) if idempotent => Some(kind.to_string()),
            Outcome::Transport(_) => None,
            Outcome::Status { status, error_code } if idempotent => match (*status, *error_code) {
                (_, Some(code @ ("UNABLE_TO_LOCK_ROW" | "SERVER_UNAVAILABLE"))) => {
                    Some(code.to_owned())
                }
                (s @ 500..=599, code) => {
                    Some(code.map_or_else(|| format!("HTTP {s}"), |c| format!("HTTP {s} {c}")))
                }
                _ => None,
            },
            Outcome::Status { .. } => None,
        }
    }

    /// The wait before retry number `retry` (1 for the first retry): `Retry-After` when the
    /// server gave one, else a random duration in `[0, min(max_delay, base * 2^(retry-1))]`.
    /// None when the server asks for a longer wait than `max_retry_after`.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if let Some(wait) = retry_after {
            return (wait <= self.max_retry_after).then_some(wait);
        }
        let exp = retry.saturating_sub(1).min(30);
        let window = self
            .base_delay
            .saturating_mul(1u32 << exp)
            .min(self.max_delay);
        let millis = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
        Some(Duration::from_millis(
            rand::thread_rng().gen_range(0..=millis),
        ))
    }
}

/// What a retry hook is told before the client waits and tries again.
#[derive(Debug, Clone)]
pub struct RetryEvent {
    pub method: String,
    pub url: String,
    /// The try that failed (1 for the first).
    pub attempt: u32,
    pub cause: String,
    pub delay: Duration,
}

/// Called before each retry; must return quickly.
pub type RetryHook = Arc<dyn Fn(&RetryEvent) + Send + Sync>;

/// Parses `Retry-After` in its delay-seconds form (the form APIs send).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_is_replayed_only_when_it_never_left() {
        let p = RetryPolicy::default();
        let post = Idempotency::NonIdempotent;
        assert!(p
            .retry_cause(post, &Outcome::Transport(TransportErrorKind::Connect))
            .is_some());
        assert!(p
            .retry_cause(post, &Outcome::Transport(TransportErrorKind::Io))
            .is_none());
        assert!(p
            .retry_cause(post, &Outcome::Transport(TransportErrorKind::Timeout))
            .is_none());
        let s503 = Outcome::Status {
            status: 503,
            error_code: Some("SERVER_UNAVAILABLE"),
        };
        assert!(p.retry_cause(post, &s503).is_none());
    }

    #[test]
    fn idempotent_requests_retry_on_5xx_and_lock_errors_only() {
        let p = RetryPolicy::default();
        let get = Idempotency::Idempotent;
        let cases = [
            (500, None, true),
            (503, Some("SERVER_UNAVAILABLE"), true),
            (400, Some("UNABLE_TO_LOCK_ROW"), true),
            (400, Some("REQUIRED_FIELD_MISSING"), false),
            (403, Some("REQUEST_LIMIT_EXCEEDED"), false),
            (404, Some("NOT_FOUND"), false),
        ];
        for (status, error_code, retried) in cases {
            let outcome = Outcome::Status { status, error_code };
            assert_eq!(
                p.retry_cause(get, &outcome).is_some(),
                retried,
                "{status} {error_code:?}"
            );
        }
        assert!(p
            .retry_cause(get, &Outcome::Transport(TransportErrorKind::Io))
            .is_some());
    }

    #[test]
    fn backoff_is_capped_and_retry_after_wins() {
        let p = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
            ..RetryPolicy::default()
        };
        for retry in 1..40 {
            assert!(p.delay(retry, None).unwrap() <= Duration::from_millis(300));
        }
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(7))),
            Some(Duration::from_secs(7))
        );
        assert_eq!(p.delay(1, Some(Duration::from_secs(7200))), None);
        assert_eq!(parse_retry_after(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }
}
