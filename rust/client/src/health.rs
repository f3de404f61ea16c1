//! A health check for probes: can a token be had, does the API answer, how much of the daily
//! API allowance is used. Each check is timed; the overall status is the worst of them.

use crate::client::Client;
use crate::error::{Error, Result};
use std::time::{Duration, Instant};

/// A check's outcome, ordered from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum HealthStatus {
    Ok,
    Degraded,
    Down,
}

impl HealthStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Ok => "ok",
            HealthStatus::Degraded => "degraded",
            HealthStatus::Down => "down",
        }
    }
}

/// One check: its name (`token`, `api`, `api_usage`), status, time taken and what it found.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthCheck {
    pub name: &'static str,
    pub status: HealthStatus,
    pub duration: Duration,
    pub detail: String,
}

/// Every check, and the worst status among them.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthReport {
    pub status: HealthStatus,
    pub checks: Vec<HealthCheck>,
}

/// Daily API usage thresholds, in percent: degraded at `warn_percent`, down at
/// `critical_percent`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HealthThresholds {
    pub warn_percent: f64,
    pub critical_percent: f64,
}

impl Default for HealthThresholds {
    fn default() -> Self {
        Self {
            warn_percent: 80.0,
            critical_percent: 90.0,
        }
    }
}

impl HealthThresholds {
    pub fn validate(&self) -> Result<()> {
        let ok = |p: f64| p.is_finite() && (0.0..=100.0).contains(&p);
        if !ok(self.warn_percent) || !ok(self.critical_percent) {
            return Err(Error::invalid_argument(
                "thresholds",
                "percentages must be between 0 and 100",
            ));
        }
        if self.warn_percent > self.critical_percent {
            return Err(Error::invalid_argument(
                "thresholds",
                "warn_percent must not be above critical_percent",
            ));
        }
        Ok(())
    }
}

fn describe(error: &Error) -> String {
    match error.error_code() {
        Some(code) => format!("{code}: {error}"),
        None => error.to_string(),
    }
}

impl Client {
    /// Checks that a token can be had, that the API answers (`GET /limits`), and the daily API
    /// usage against `thresholds`. Never fails: a failing check is reported as `down`.
    pub async fn health(&self, thresholds: HealthThresholds) -> Result<HealthReport> {
        thresholds.validate()?;
        let mut checks = Vec::with_capacity(3);
        let started = Instant::now();
        let token = self.access_token().await;
        checks.push(HealthCheck {
            name: "token",
            status: if token.is_ok() {
                HealthStatus::Ok
            } else {
                HealthStatus::Down
            },
            duration: started.elapsed(),
            detail: match &token {
                Ok(_) => "a token was had".to_owned(),
                Err(e) => describe(e),
            },
        });
        if token.is_ok() {
            let started = Instant::now();
            let limits = self.limits().await;
            let duration = started.elapsed();
            match limits {
                Ok(limits) => {
                    checks.push(HealthCheck {
                        name: "api",
                        status: HealthStatus::Ok,
                        duration,
                        detail: "GET /limits answered".to_owned(),
                    });
                    checks.push(usage_check(&limits, thresholds));
                }
                Err(e) => checks.push(HealthCheck {
                    name: "api",
                    status: HealthStatus::Down,
                    duration,
                    detail: describe(&e),
                }),
            }
        }
        let status = checks
            .iter()
            .map(|c| c.status)
            .max()
            .unwrap_or(HealthStatus::Down);
        tracing::info!(
            target: "forcelink::health",
            status = status.as_str(),
            "health checked"
        );
        Ok(HealthReport { status, checks })
    }
}

fn usage_check(
    limits: &serde_json::Map<String, serde_json::Value>,
    thresholds: HealthThresholds,
) -> HealthCheck {
    let daily = limits.get("DailyApiRequests");
    let number = |k: &str| {
        daily
            .and_then(|d| d.get(k))
            .and_then(serde_json::Value::as_f64)
    };
    let (Some(max), Some(remaining)) = (number("Max"), number("Remaining")) else {
        return HealthCheck {
            name: "api_usage",
            status: HealthStatus::Degraded,
            duration: Duration::ZERO,
            detail: "the org did not report DailyApiRequests".to_owned(),
        };
    };
    let used = (max - remaining).max(0.0);
    let percent = if max > 0.0 { used * 100.0 / max } else { 100.0 };
    let status = if percent >= thresholds.critical_percent {
        HealthStatus::Down
    } else if percent >= thresholds.warn_percent {
        HealthStatus::Degraded
    } else {
        HealthStatus::Ok
    };
    // `Client::limits` has recorded it, with every other limit.
    HealthCheck {
        name: "api_usage",
        status,
        duration: Duration::ZERO,
        detail: format!(
            "{used:.0} of {max:.0} daily API requests used ({percent:.1}%; degraded at {}%, down at {}%)",
            thresholds.warn_percent, thresholds.critical_percent
        ),
    }
}
