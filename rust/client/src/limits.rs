//! API usage as Salesforce reports it on every response (`Sforce-Limit-Info`), and `/limits`.

use std::sync::Mutex;

/// The share of one `/limits` entry (`{"Max": n, "Remaining": n}`) used, in percent; None
/// when it gives no maximum above zero.
pub fn percent_used(limit: &serde_json::Value) -> Option<f64> {
    let number = |key: &str| limit.get(key).and_then(serde_json::Value::as_f64);
    let (max, remaining) = (number("Max")?, number("Remaining")?);
    (max > 0.0).then(|| (max - remaining).max(0.0) * 100.0 / max)
}

/// Daily API usage of the org, from the latest response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiUsage {
    pub used: u64,
    pub max: u64,
    /// Per connected app: (app name, used, max), from `per-app-api-usage` entries.
    pub per_app: Vec<AppUsage>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppUsage {
    pub app: String,
    pub used: u64,
    pub max: u64,
}

impl ApiUsage {
    /// Used as a percentage of the maximum (0 when the maximum is 0).
    pub fn percent(&self) -> f64 {
        if self.max == 0 {
            0.0
        } else {
            self.used as f64 * 100.0 / self.max as f64
        }
    }

    /// Parses `api-usage=25/15000` and `per-app-api-usage=17/250(appName=sample-app)` entries.
    /// Returns None when the header has no `api-usage` entry.
    pub fn parse_header(value: &str) -> Option<Self> {
        let mut org = None;
        let mut per_app = Vec::new();
        for entry in value.split(',') {
            let Some((key, rest)) = entry.trim().split_once('=') else {
                continue;
            };
            let (counts, app) = match rest.split_once('(') {
                Some((counts, tail)) => {
                    let app = tail.trim_end_matches(')').trim();
                    (counts, app.strip_prefix("appName=").map(str::to_owned))
                }
                None => (rest, None),
            };
            let Some((used, max)) = counts.trim().split_once('/') else {
                continue;
            };
            let (Ok(used), Ok(max)) = (used.trim().parse(), max.trim().parse()) else {
                continue;
            };
            match key.trim() {
                "api-usage" => org = Some((used, max)),
                "per-app-api-usage" => {
                    per_app.push(AppUsage {
                        app: app.unwrap_or_default(),
                        used,
                        max,
                    });
                }
                _ => {}
            }
        }
        org.map(|(used, max)| ApiUsage { used, max, per_app })
    }
}

/// Keeps the latest usage seen; shared by every request of a client.
#[derive(Debug, Default)]
pub struct LimitsTracker {
    latest: Mutex<Option<ApiUsage>>,
}

impl LimitsTracker {
    /// Keeps the usage a response reported, and returns it.
    pub fn observe(&self, header: &str) -> Option<ApiUsage> {
        let usage = ApiUsage::parse_header(header)?;
        if let Ok(mut latest) = self.latest.lock() {
            *latest = Some(usage.clone());
        }
        Some(usage)
    }

    /// The latest usage, or None before the first response that carried the header.
    pub fn usage(&self) -> Option<ApiUsage> {
        self.latest.lock().ok().and_then(|l| l.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_org_and_per_app_usage() {
        let u = ApiUsage::parse_header(
            "api-usage=25/15000, per-app-api-usage=17/250(appName=sample-app)",
        )
        .unwrap();
        assert_eq!((u.used, u.max), (25, 15000));
        assert_eq!(
            u.per_app,
            vec![AppUsage {
                app: "sample-app".into(),
                used: 17,
                max: 250
            }]
        );
        assert!((u.percent() - 25.0 * 100.0 / 15000.0).abs() < 1e-9);
        assert_eq!(
            ApiUsage::parse_header("per-app-api-usage=1/2(appName=x)"),
            None
        );
        assert_eq!(ApiUsage::parse_header("garbage"), None);
    }

    #[test]
    fn malformed_entries_are_skipped_and_a_zero_maximum_is_zero_percent() {
        let u = ApiUsage::parse_header(
            "noequals, api-usage=x/10, api-usage=5, other=1/2, api-usage=0/0, \
             per-app-api-usage=3/4(nameless)",
        )
        .unwrap();
        assert_eq!((u.used, u.max), (0, 0));
        assert_eq!(u.percent(), 0.0);
        assert_eq!(
            u.per_app,
            vec![AppUsage {
                app: String::new(),
                used: 3,
                max: 4
            }]
        );
    }

    #[test]
    fn tracker_keeps_the_latest() {
        let t = LimitsTracker::default();
        assert_eq!(t.usage(), None);
        t.observe("api-usage=1/10");
        t.observe("api-usage=2/10");
        assert_eq!(t.usage().map(|u| u.used), Some(2));
    }
}
