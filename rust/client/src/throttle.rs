//! Protecting the org's limits from this client: a warning as daily API usage climbs past
//! thresholds, an optional cap on requests per second shared by every thread and task of the
//! client, and an optional reserve of the daily limit that this client will not touch, so one
//! integration cannot starve the others sharing the org. Usage comes from the
//! `Sforce-Limit-Info` header of every response.

use crate::error::{ApiError, ApiErrorItem, Attempts, Error, ErrorKind, Result};
use crate::limits::ApiUsage;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How a client throttles itself.
#[derive(Debug, Clone, PartialEq)]
pub struct ThrottleSettings {
    /// Usage percentages past which a warning is given, once per crossing.
    pub warn_at: Vec<f64>,
    /// Requests per second at most, across the client; None: no cap.
    pub max_per_second: Option<f64>,
    /// The share of the daily limit (percent) this client leaves to others: calls past it are
    /// refused before sending with a REQUEST_LIMIT_EXCEEDED error.
    pub reserve_percent: Option<f64>,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        Self {
            warn_at: vec![80.0, 90.0],
            max_per_second: None,
            reserve_percent: None,
        }
    }
}

impl ThrottleSettings {
    /// Checks the settings before anything is sent.
    pub fn validate(&self) -> Result<()> {
        if self
            .warn_at
            .iter()
            .any(|p| !(p.is_finite() && *p > 0.0 && *p <= 100.0))
        {
            return Err(Error::config(
                "warn_at",
                "each threshold is a percentage above 0 and at most 100",
            ));
        }
        if let Some(rate) = self.max_per_second {
            if !(rate.is_finite() && rate > 0.0 && rate <= 1e6) {
                return Err(Error::config(
                    "max_per_second",
                    format!("must be above 0 and at most 1,000,000, got {rate}"),
                ));
            }
        }
        if let Some(reserve) = self.reserve_percent {
            if !(reserve.is_finite() && (0.0..100.0).contains(&reserve)) {
                return Err(Error::config(
                    "reserve_percent",
                    format!("must be 0 or more and under 100, got {reserve}"),
                ));
            }
        }
        Ok(())
    }
}

/// Called once each time daily usage climbs past a warning threshold: the usage and the
/// threshold (percent).
pub type UsageHook = Arc<dyn Fn(&ApiUsage, f64) + Send + Sync>;

/// A client's throttle.
pub(crate) struct Throttle {
    settings: ThrottleSettings,
    /// How many of the (sorted) thresholds usage is past.
    warned: AtomicUsize,
    /// The earliest moment the next request may leave (the rate cap).
    next_slot: Mutex<Option<Instant>>,
    hook: Option<UsageHook>,
}

impl Throttle {
    pub(crate) fn new(mut settings: ThrottleSettings, hook: Option<UsageHook>) -> Self {
        settings.warn_at.sort_by(f64::total_cmp);
        Self {
            settings,
            warned: AtomicUsize::new(0),
            next_slot: Mutex::new(None),
            hook,
        }
    }

    /// Waits for this request's turn under the rate cap, then refuses it if it would eat into
    /// the reserve.
    pub(crate) async fn before_sending(&self, usage: Option<&ApiUsage>) -> Result<()> {
        if let (Some(reserve), Some(usage)) = (self.settings.reserve_percent, usage) {
            let kept = (usage.max as f64 * reserve / 100.0).ceil() as u64;
            if usage.max.saturating_sub(usage.used) <= kept {
                return Err(reserve_error(usage, reserve));
            }
        }
        if let Some(rate) = self.settings.max_per_second {
            let wait = {
                let mut next = self.next_slot.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                let slot = next.map_or(now, |n| n.max(now));
                *next = Some(slot + Duration::from_secs_f64(1.0 / rate));
                slot.saturating_duration_since(now)
            };
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
        Ok(())
    }

    /// Looks at the usage a response reported and warns when it climbed past a threshold.
    pub(crate) fn observe(&self, usage: &ApiUsage) {
        let percent = usage.percent();
        let past = self
            .settings
            .warn_at
            .iter()
            .filter(|t| percent >= **t)
            .count();
        let before = self.warned.swap(past, Ordering::AcqRel);
        if past > before {
            if let (Some(hook), Some(threshold)) = (&self.hook, self.settings.warn_at.get(past - 1))
            {
                hook(usage, *threshold);
            }
        }
    }
}

#[cold]
fn reserve_error(usage: &ApiUsage, reserve: f64) -> Error {
    let message = format!(
        "not sent: the org has used {} of its {} daily API requests, and this client leaves the \
         last {reserve}% to other integrations",
        usage.used, usage.max
    );
    Error::Api(Box::new(ApiError {
        status: 403,
        kind: ErrorKind::RequestLimit,
        error_code: "REQUEST_LIMIT_EXCEEDED".to_owned(),
        message: message.clone(),
        fields: Vec::new(),
        errors: vec![ApiErrorItem {
            message,
            error_code: "REQUEST_LIMIT_EXCEEDED".to_owned(),
            fields: Vec::new(),
        }],
        attempts: Attempts::default(),
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use std::sync::atomic::AtomicU32;

    fn usage(used: u64, max: u64) -> ApiUsage {
        ApiUsage {
            used,
            max,
            per_app: Vec::new(),
        }
    }

    #[test]
    fn warns_once_per_threshold_crossed() {
        let seen = Arc::new(AtomicU32::new(0));
        let counter = seen.clone();
        let hook: UsageHook = Arc::new(move |_, _| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        let t = Throttle::new(ThrottleSettings::default(), Some(hook));
        for used in [10, 79, 80, 81, 85, 90, 95, 99] {
            t.observe(&usage(used, 100));
        }
        assert_eq!(seen.load(Ordering::SeqCst), 2);
        t.observe(&usage(1, 100)); // a new day
        t.observe(&usage(91, 100));
        assert_eq!(seen.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn the_reserve_refuses_before_sending() {
        let settings = ThrottleSettings {
            reserve_percent: Some(10.0),
            ..ThrottleSettings::default()
        };
        let t = Throttle::new(settings, None);
        t.before_sending(Some(&usage(89, 100))).await.unwrap();
        let refused = t.before_sending(Some(&usage(90, 100))).await;
        assert!(matches!(refused, Err(Error::Api(e)) if e.kind == ErrorKind::RequestLimit));
        t.before_sending(None).await.unwrap(); // nothing known yet: no refusal
    }
}
