//! Process-wide metrics under the specification's `sf_*` names. The request path records into
//! arrays of atomics indexed by bounded labels (route template, method, status), with no lock
//! and no allocation; rarer figures (errors by code, bulk results, event topics) sit behind a
//! mutex taken once per error, job or subscription. [`snapshot`] reads them all, for the Python
//! collector and for Rust users; [`render_text`] writes Prometheus' text format.

use crate::routes::{operation_of, ROUTES};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

const METHODS: &[&str] = &["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OTHER"];
/// The statuses Salesforce answers with, each its own label value; any other is `other`, and
/// no answer at all `error`.
const STATUS_CODES: &[u16] = &[
    200, 201, 204, 300, 304, 400, 401, 403, 404, 405, 409, 412, 414, 415, 420, 429, 431, 500, 502,
    503, 504,
];
const STATUS_LABELS: usize = STATUS_CODES.len() + 2;

fn status_label(index: usize) -> String {
    match STATUS_CODES.get(index) {
        Some(code) => code.to_string(),
        None if index == STATUS_CODES.len() => "other".to_owned(),
        None => "error".to_owned(),
    }
}
/// Request and token latency buckets, in seconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Event latency (creation to receipt) buckets, in seconds.
const EVENT_BUCKETS: &[f64] = &[
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// A histogram of atomics: per-bucket counts (made cumulative when read), count and sum.
pub struct Histogram {
    bounds: &'static [f64],
    counts: Box<[AtomicU64]>,
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            counts: (0..bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum_nanos: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, value: Duration) {
        let secs = value.as_secs_f64();
        if let Some(i) = self.bounds.iter().position(|b| secs <= *b) {
            self.counts[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(value.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    fn read(&self) -> SampleValue {
        let mut running = 0;
        let buckets = self
            .bounds
            .iter()
            .zip(self.counts.iter())
            .map(|(bound, c)| {
                running += c.load(Ordering::Relaxed);
                (*bound, running)
            })
            .collect();
        SampleValue::Histogram {
            buckets,
            count: self.count.load(Ordering::Relaxed),
            sum: self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9,
        }
    }
}

/// One topic's event figures; a subscription holds its topic's and records without a lock.
pub struct TopicMetrics {
    pub received: AtomicU64,
    pub latency: Histogram,
    pub active: AtomicI64,
}

/// Marks a subscription active for as long as it lives.
pub struct ActiveSubscription(Arc<TopicMetrics>);

impl ActiveSubscription {
    pub fn topic(&self) -> &TopicMetrics {
        &self.0
    }
}

impl Drop for ActiveSubscription {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::Relaxed);
    }
}

struct Registry {
    enabled: AtomicBool,
    requests: Box<[AtomicU64]>,
    durations: Box<[Histogram]>,
    errors: Mutex<BTreeMap<(String, String), u64>>,
    /// `DailyApiRequests`, updated by every answer's `Sforce-Limit-Info`: without a lock.
    rate_limit_bits: AtomicU64,
    /// Every other limit of `/limits`, by name, when the org's limits are read.
    other_limits: Mutex<BTreeMap<String, f64>>,
    token_refresh: Mutex<BTreeMap<(&'static str, &'static str), Arc<Histogram>>>,
    bulk_records: Mutex<BTreeMap<(String, &'static str), u64>>,
    topics: Mutex<BTreeMap<String, Arc<TopicMetrics>>>,
}

static REGISTRY: LazyLock<Registry> = LazyLock::new(|| Registry {
    enabled: AtomicBool::new(true),
    requests: (0..ROUTES.len() * METHODS.len() * STATUS_LABELS)
        .map(|_| AtomicU64::new(0))
        .collect(),
    durations: (0..ROUTES.len() * METHODS.len())
        .map(|_| Histogram::new(LATENCY_BUCKETS))
        .collect(),
    errors: Mutex::default(),
    rate_limit_bits: AtomicU64::new(f64::NAN.to_bits()),
    other_limits: Mutex::default(),
    token_refresh: Mutex::default(),
    bulk_records: Mutex::default(),
    topics: Mutex::default(),
});

fn registry() -> &'static Registry {
    &REGISTRY
}

/// Turns recording on or off for the whole process (on by default); for overhead benchmarks.
pub fn set_enabled(enabled: bool) {
    registry().enabled.store(enabled, Ordering::Relaxed);
}

fn enabled() -> bool {
    registry().enabled.load(Ordering::Relaxed)
}

fn method_index(method: &http::Method) -> usize {
    METHODS
        .iter()
        .position(|m| *m == method.as_str())
        .unwrap_or(METHODS.len() - 1)
}

fn status_index(status: Option<u16>) -> usize {
    match status {
        Some(code) => STATUS_CODES
            .iter()
            .position(|c| *c == code)
            .unwrap_or(STATUS_CODES.len()),
        None => STATUS_CODES.len() + 1,
    }
}

/// One request: its route (an index into [`ROUTES`]), method, status (None: no answer) and
/// time taken.
pub fn record_request(route: usize, method: &http::Method, status: Option<u16>, elapsed: Duration) {
    if !enabled() {
        return;
    }
    let r = registry();
    let route = route.min(ROUTES.len() - 1);
    let m = method_index(method);
    let cell = (route * METHODS.len() + m) * STATUS_LABELS + status_index(status);
    r.requests[cell].fetch_add(1, Ordering::Relaxed);
    r.durations[route * METHODS.len() + m].observe(elapsed);
}

/// One failed try: `family` is `rest`, `bulk`, `auth` or `pubsub`; `code` the error code
/// (Salesforce's, or a transport kind such as `CONNECT` or `TIMEOUT`).
pub fn record_error(family: &str, code: &str) {
    if !enabled() {
        return;
    }
    if let Ok(mut errors) = registry().errors.lock() {
        *errors
            .entry((family.to_owned(), code.to_owned()))
            .or_default() += 1;
    }
}

/// The `error_code` label of a failed try: the specification's own names
/// for a token found expired (`TokenExpired`) and a token request refused (`RefreshFailed`),
/// Salesforce's errorCode otherwise.
fn error_code_label(family: &str, code: &str) -> String {
    match (family, code) {
        ("auth", _) => "RefreshFailed".to_owned(),
        (_, "INVALID_SESSION_ID" | "UNAUTHENTICATED") => "TokenExpired".to_owned(),
        _ => code.to_owned(),
    }
}

/// The most limit types kept apart; Salesforce's `/limits` names about sixty.
const MAX_LIMIT_TYPES: usize = 256;

/// The daily API usage last reported by Salesforce, in percent (`limit_type`
/// `DailyApiRequests`).
pub fn record_rate_limit(percent: f64) {
    if enabled() {
        registry()
            .rate_limit_bits
            .store(percent.to_bits(), Ordering::Relaxed);
    }
}

/// The usage of one limit of the org, in percent of its maximum, by its `/limits` name.
pub fn record_limit(limit_type: &str, percent: f64) {
    if limit_type == "DailyApiRequests" {
        return record_rate_limit(percent);
    }
    if !enabled() || !percent.is_finite() {
        return;
    }
    if let Ok(mut limits) = registry().other_limits.lock() {
        if limits.len() < MAX_LIMIT_TYPES || limits.contains_key(limit_type) {
            limits.insert(limit_type.to_owned(), percent);
        }
    }
}

/// One token request of `flow` (`jwt_bearer`, ...), `outcome` `success` or `failure`.
pub fn record_token_refresh(flow: &'static str, outcome: &'static str, elapsed: Duration) {
    if !enabled() {
        return;
    }
    let histogram = registry().token_refresh.lock().ok().map(|mut h| {
        Arc::clone(
            h.entry((flow, outcome))
                .or_insert_with(|| Arc::new(Histogram::new(LATENCY_BUCKETS))),
        )
    });
    if let Some(h) = histogram {
        h.observe(elapsed);
    }
}

/// Records of a bulk job by `result` (`success`, `failed`, `unprocessed`, or `retrieved` for
/// queries); `operation` is the Bulk API's (`insert`, `upsert`, `query`, ...).
pub fn record_bulk_records(operation: &str, result: &'static str, records: u64) {
    if !enabled() || records == 0 {
        return;
    }
    if let Ok(mut bulk) = registry().bulk_records.lock() {
        *bulk.entry((operation.to_owned(), result)).or_default() += records;
    }
}

/// A subscription to `topic` starts: counted active until the returned guard drops. Its events
/// are recorded through the guard's [`TopicMetrics`], without a lock.
pub fn subscription_started(topic: &str) -> ActiveSubscription {
    // A label value is never empty: Prometheus drops empty labels, and the series would then
    // carry no topic at all.
    let topic = if topic.is_empty() { "unknown" } else { topic };
    let metrics = registry()
        .topics
        .lock()
        .map(|mut topics| {
            Arc::clone(topics.entry(topic.to_owned()).or_insert_with(|| {
                Arc::new(TopicMetrics {
                    received: AtomicU64::new(0),
                    latency: Histogram::new(EVENT_BUCKETS),
                    active: AtomicI64::new(0),
                })
            }))
        })
        .unwrap_or_else(|_| {
            Arc::new(TopicMetrics {
                received: AtomicU64::new(0),
                latency: Histogram::new(EVENT_BUCKETS),
                active: AtomicI64::new(0),
            })
        });
    metrics.active.fetch_add(1, Ordering::Relaxed);
    ActiveSubscription(metrics)
}

/// An event of the guard's topic arrived; `age` is the time since it was created, when known.
pub fn record_event(subscription: &ActiveSubscription, age: Option<Duration>) {
    if !enabled() {
        return;
    }
    let topic = subscription.topic();
    topic.received.fetch_add(1, Ordering::Relaxed);
    if let Some(age) = age {
        topic.latency.observe(age);
    }
}

/// The kind of a metric family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    Counter,
    Gauge,
    Histogram,
}

impl MetricKind {
    fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        }
    }
}

/// A sample's value: a number, or a histogram's cumulative buckets (upper bound, count), count
/// and sum.
#[derive(Debug, Clone, PartialEq)]
pub enum SampleValue {
    Number(f64),
    Histogram {
        buckets: Vec<(f64, u64)>,
        count: u64,
        sum: f64,
    },
}

/// One labelled sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Vec<(&'static str, String)>,
    pub value: SampleValue,
}

/// A metric family: its name (without `_total` for counters, as OpenMetrics names them), help,
/// kind and samples.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricFamily {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: MetricKind,
    pub samples: Vec<Sample>,
}

/// The nine metric names as exported (counters with their `_total`).
pub const METRIC_NAMES: &[&str] = &[
    "sf_requests_total",
    "sf_request_duration_seconds",
    "sf_errors_total",
    "sf_rate_limit_percent_used",
    "sf_token_refresh_duration_seconds",
    "sf_bulk_records_total",
    "sf_events_received_total",
    "sf_event_latency_seconds",
    "sf_event_subscription_active",
];

/// Every figure recorded so far in this process. Samples that never moved are left out.
pub fn snapshot() -> Vec<MetricFamily> {
    let r = registry();
    let mut requests = Vec::new();
    let mut durations = Vec::new();
    for (route_i, route) in ROUTES.iter().enumerate() {
        for (m_i, method) in METHODS.iter().enumerate() {
            for s_i in 0..STATUS_LABELS {
                let cell = (route_i * METHODS.len() + m_i) * STATUS_LABELS + s_i;
                let n = r.requests[cell].load(Ordering::Relaxed);
                if n > 0 {
                    requests.push(Sample {
                        labels: vec![
                            ("method", (*method).to_owned()),
                            ("operation", operation_of(route, method).to_owned()),
                            ("route", (*route).to_owned()),
                            ("status", status_label(s_i)),
                        ],
                        value: SampleValue::Number(n as f64),
                    });
                }
            }
            let h = &r.durations[route_i * METHODS.len() + m_i];
            if h.count.load(Ordering::Relaxed) > 0 {
                durations.push(Sample {
                    labels: vec![
                        ("method", (*method).to_owned()),
                        ("operation", operation_of(route, method).to_owned()),
                        ("route", (*route).to_owned()),
                    ],
                    value: h.read(),
                });
            }
        }
    }
    let errors = r
        .errors
        .lock()
        .map(|e| {
            e.iter()
                .map(|((family, code), n)| Sample {
                    labels: vec![
                        ("family", family.clone()),
                        ("code", code.clone()),
                        ("error_code", error_code_label(family, code)),
                    ],
                    value: SampleValue::Number(*n as f64),
                })
                .collect()
        })
        .unwrap_or_default();
    let percent = f64::from_bits(r.rate_limit_bits.load(Ordering::Relaxed));
    let mut rate_limit = Vec::new();
    if !percent.is_nan() {
        rate_limit.push(Sample {
            labels: vec![("limit_type", "DailyApiRequests".to_owned())],
            value: SampleValue::Number(percent),
        });
    }
    if let Ok(limits) = r.other_limits.lock() {
        rate_limit.extend(limits.iter().map(|(limit_type, percent)| Sample {
            labels: vec![("limit_type", limit_type.clone())],
            value: SampleValue::Number(*percent),
        }));
    }
    let token_refresh = r
        .token_refresh
        .lock()
        .map(|t| {
            t.iter()
                .map(|((flow, outcome), h)| Sample {
                    labels: vec![
                        ("flow", (*flow).to_owned()),
                        ("outcome", (*outcome).to_owned()),
                    ],
                    value: h.read(),
                })
                .collect()
        })
        .unwrap_or_default();
    let bulk = r
        .bulk_records
        .lock()
        .map(|b| {
            b.iter()
                .map(|((operation, result), n)| Sample {
                    labels: vec![
                        ("operation", operation.clone()),
                        ("result", (*result).to_owned()),
                        // The specification's name for the same split.
                        ("status", (*result).to_owned()),
                    ],
                    value: SampleValue::Number(*n as f64),
                })
                .collect()
        })
        .unwrap_or_default();
    let topics: Vec<(String, Arc<TopicMetrics>)> = r
        .topics
        .lock()
        .map(|t| t.iter().map(|(k, v)| (k.clone(), Arc::clone(v))).collect())
        .unwrap_or_default();
    let topic_samples = |read: &dyn Fn(&TopicMetrics) -> SampleValue| {
        topics
            .iter()
            .map(|(topic, m)| Sample {
                labels: vec![("topic", topic.clone())],
                value: read(m),
            })
            .collect::<Vec<_>>()
    };
    vec![
        MetricFamily {
            name: "sf_requests",
            help: "Requests sent to Salesforce, by operation, method, route template and HTTP status (error: no answer).",
            kind: MetricKind::Counter,
            samples: requests,
        },
        MetricFamily {
            name: "sf_request_duration_seconds",
            help: "Time from sending a request to its answer's head, by operation, method and route template.",
            kind: MetricKind::Histogram,
            samples: durations,
        },
        MetricFamily {
            name: "sf_errors",
            help: "Failed tries, by family (rest, bulk, auth, pubsub) and error code (error_code: TokenExpired and RefreshFailed for the token's).",
            kind: MetricKind::Counter,
            samples: errors,
        },
        MetricFamily {
            name: "sf_rate_limit_percent_used",
            help: "Use of the org's limits in percent, by limit type (DailyApiRequests from every answer, the rest when /limits is read).",
            kind: MetricKind::Gauge,
            samples: rate_limit,
        },
        MetricFamily {
            name: "sf_token_refresh_duration_seconds",
            help: "Time taken by token requests, by OAuth flow and outcome.",
            kind: MetricKind::Histogram,
            samples: token_refresh,
        },
        MetricFamily {
            name: "sf_bulk_records",
            help: "Bulk API records, by operation and result or status (success, failed, unprocessed, retrieved).",
            kind: MetricKind::Counter,
            samples: bulk,
        },
        MetricFamily {
            name: "sf_events_received",
            help: "Events received from Pub/Sub subscriptions, by topic.",
            kind: MetricKind::Counter,
            samples: topic_samples(&|m| {
                SampleValue::Number(m.received.load(Ordering::Relaxed) as f64)
            }),
        },
        MetricFamily {
            name: "sf_event_latency_seconds",
            help: "Time from an event's creation (CreatedDate, or a change's commit) to its receipt, by topic.",
            kind: MetricKind::Histogram,
            samples: topic_samples(&|m| m.latency.read()),
        },
        MetricFamily {
            name: "sf_event_subscription_active",
            help: "Subscriptions open, by topic.",
            kind: MetricKind::Gauge,
            samples: topic_samples(&|m| {
                SampleValue::Number(m.active.load(Ordering::Relaxed) as f64)
            }),
        },
    ]
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn label_text(labels: &[(&'static str, String)], extra: Option<(&str, String)>) -> String {
    let mut parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    if let Some((k, v)) = extra {
        parts.push(format!("{k}=\"{v}\""));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

/// The snapshot in Prometheus' text exposition format (version 0.0.4).
pub fn render_text() -> String {
    let mut out = String::new();
    for family in snapshot() {
        let name = match family.kind {
            MetricKind::Counter => format!("{}_total", family.name),
            _ => family.name.to_owned(),
        };
        let _ = writeln!(out, "# HELP {name} {}", family.help);
        let _ = writeln!(out, "# TYPE {name} {}", family.kind.as_str());
        for sample in family.samples {
            match sample.value {
                SampleValue::Number(v) => {
                    let _ = writeln!(out, "{name}{} {v}", label_text(&sample.labels, None));
                }
                SampleValue::Histogram {
                    buckets,
                    count,
                    sum,
                } => {
                    for (bound, n) in buckets {
                        let le = Some(("le", format!("{bound}")));
                        let _ =
                            writeln!(out, "{name}_bucket{} {n}", label_text(&sample.labels, le));
                    }
                    let inf = Some(("le", "+Inf".to_owned()));
                    let labels = label_text(&sample.labels, None);
                    let _ = writeln!(
                        out,
                        "{name}_bucket{} {count}",
                        label_text(&sample.labels, inf)
                    );
                    let _ = writeln!(out, "{name}_sum{labels} {sum}");
                    let _ = writeln!(out, "{name}_count{labels} {count}");
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_their_label() {
        assert_eq!(status_label(status_index(Some(503))), "503");
        assert_eq!(status_label(status_index(Some(200))), "200");
        assert_eq!(status_label(status_index(Some(418))), "other");
        assert_eq!(status_label(status_index(None)), "error");
    }

    #[test]
    fn histograms_are_cumulative() {
        let h = Histogram::new(&[0.1, 1.0]);
        h.observe(Duration::from_millis(50));
        h.observe(Duration::from_millis(500));
        h.observe(Duration::from_secs(5));
        assert_eq!(
            h.read(),
            SampleValue::Histogram {
                buckets: vec![(0.1, 1), (1.0, 2)],
                count: 3,
                sum: 5.55
            }
        );
    }

    #[test]
    fn the_text_format_names_every_family_and_counts_requests() {
        let route = crate::routes::route_of("/services/data/v62.0/limits");
        record_request(
            route,
            &http::Method::GET,
            Some(200),
            Duration::from_millis(3),
        );
        let text = render_text();
        for name in METRIC_NAMES {
            assert!(text.contains(&format!("# TYPE {name} ")), "{name}");
        }
        assert!(text.contains(
            "sf_requests_total{method=\"GET\",operation=\"limits\",route=\"/limits\",status=\"200\"}"
        ));
    }
}
