//! The engine handle: one Rust client shared by the sync and async Python clients.

use crate::auth::{token_info, PyTokenSource};
use crate::convert::scoped;
use crate::convert::Json;
use crate::errors::to_pyerr;
use crate::pending::Pending;
use crate::results::ApiUsage;
use crate::simulation::{FakeTransport, SimulationRecorder, SimulationReplayer};
use crate::sobjects::SObjectsCore;
use forcelink as sf;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::Arc;
use std::time::Duration;

fn config_error(setting: &str, message: impl Into<String>) -> PyErr {
    to_pyerr(sf::Error::Config {
        setting: setting.to_owned(),
        message: message.into(),
    })
}

fn text(setting: &str, value: &Bound<'_, PyAny>) -> PyResult<String> {
    value
        .extract::<String>()
        .map_err(|_| config_error(setting, "expected a string"))
}

fn seconds(setting: &str, value: &Bound<'_, PyAny>) -> PyResult<Duration> {
    let secs: f64 = value
        .extract()
        .map_err(|_| config_error(setting, "expected a number of seconds"))?;
    forcelink::config::checked_seconds(setting, secs, false).map_err(|m| config_error(setting, m))
}

/// Applies one Python setting to the builder; unknown names are an error, not ignored.
fn apply(
    builder: sf::ConfigBuilder,
    retry: &mut sf::RetryPolicy,
    throttle: &mut sf::ThrottleSettings,
    key: &str,
    value: &Bound<'_, PyAny>,
) -> PyResult<sf::ConfigBuilder> {
    Ok(match key {
        "instance_url" => builder.instance_url(text(key, value)?),
        "login_url" => builder.login_url(text(key, value)?),
        "api_version" => builder.api_version(text(key, value)?),
        "timeout" => builder.timeout(seconds(key, value)?),
        "connect_timeout" => builder.connect_timeout(seconds(key, value)?),
        "track_limits" => builder.track_limits(
            value
                .extract()
                .map_err(|_| config_error(key, "expected a bool"))?,
        ),
        "gzip" => builder.gzip(
            value
                .extract()
                .map_err(|_| config_error(key, "expected a bool"))?,
        ),
        "access_token" => builder.access_token(text(key, value)?),
        "client_id" => builder.client_id(text(key, value)?),
        "client_secret" => builder.client_secret(text(key, value)?),
        "username" => builder.username(text(key, value)?),
        "private_key" => builder.private_key_pem(text(key, value)?),
        "private_key_file" => builder.private_key_file(text(key, value)?),
        "refresh_token" => builder.refresh_token(text(key, value)?),
        "ca_cert_file" => builder.ca_cert_file(text(key, value)?),
        "pubsub_endpoint" => builder.pubsub_endpoint(text(key, value)?),
        "ca_cert_pem" => builder.ca_cert_pem(text(key, value)?.into_bytes()),
        "flow" => {
            let name = text(key, value)?;
            builder.flow(match name.as_str() {
                "access_token" => sf::Flow::AccessToken,
                "jwt_bearer" => sf::Flow::JwtBearer,
                "refresh_token" => sf::Flow::RefreshToken,
                "client_credentials" => sf::Flow::ClientCredentials,
                other => return Err(config_error(key, format!("unknown flow {other:?}"))),
            })
        }
        "token_lifetime" => builder.token_lifetime(seconds(key, value)?),
        "max_per_second" => {
            throttle.max_per_second = Some(
                value
                    .extract()
                    .map_err(|_| config_error(key, "expected a number"))?,
            );
            builder
        }
        "reserve_percent" => {
            throttle.reserve_percent = Some(
                value
                    .extract()
                    .map_err(|_| config_error(key, "expected a percentage"))?,
            );
            builder
        }
        "usage_warnings" => {
            throttle.warn_at = value
                .extract()
                .map_err(|_| config_error(key, "expected a list of percentages"))?;
            builder
        }
        "proxy" => {
            let (url, no_proxy): (Option<String>, String) = value
                .extract()
                .map_err(|_| config_error(key, "expected (url or None, no_proxy)"))?;
            match url {
                Some(url) => builder.proxy(url, no_proxy),
                None => builder.no_proxy(),
            }
        }
        "circuit_breaker" => {
            let (failures, open_seconds): (u32, f64) = value
                .extract()
                .map_err(|_| config_error(key, "expected (failures, open_seconds)"))?;
            let open_for = forcelink::config::checked_seconds("open_seconds", open_seconds, false)
                .map_err(|m| config_error(key, m))?;
            builder.circuit_breaker(sf::BreakerSettings { failures, open_for })
        }
        "max_attempts" => {
            retry.max_attempts = value
                .extract()
                .map_err(|_| config_error(key, "expected a whole number"))?;
            builder
        }
        "backoff_base" => {
            retry.base_delay = seconds(key, value)?;
            builder
        }
        "backoff_max" => {
            retry.max_delay = seconds(key, value)?;
            builder
        }
        other => return Err(config_error(other, "unknown setting")),
    })
}

fn retry_hook(callback: PyObject) -> sf::RetryHook {
    Arc::new(move |event: &sf::RetryEvent| {
        let Some(_in_python) = crate::runtime::enter_python() else {
            return;
        };
        Python::with_gil(|py| {
            let call = || -> PyResult<()> {
                let info = PyDict::new(py);
                info.set_item("method", &event.method)?;
                info.set_item("url", &event.url)?;
                info.set_item("attempt", event.attempt)?;
                info.set_item("cause", &event.cause)?;
                info.set_item("delay", event.delay.as_secs_f64())?;
                callback.call1(py, (info,))?;
                Ok(())
            };
            // A failing hook must not fail the request; Python reports it as unraisable.
            if let Err(e) = call() {
                e.write_unraisable(py, None);
            }
        });
    })
}

/// Usage warnings go to the `forcelink.limits` logger.
fn usage_warning_hook() -> sf::UsageHook {
    Arc::new(|usage: &sf::ApiUsage, threshold: f64| {
        let Some(_in_python) = crate::runtime::enter_python() else {
            return;
        };
        let message = format!(
            "daily API usage passed {threshold}%: {} of {} requests used ({:.1}%)",
            usage.used,
            usage.max,
            usage.percent()
        );
        Python::with_gil(|py| {
            let logged = py
                .import("logging")
                .and_then(|logging| logging.call_method1("getLogger", ("forcelink.limits",)))
                .and_then(|logger| logger.call_method1("warning", (message,)));
            if let Err(e) = logged {
                e.write_unraisable(py, None);
            }
        });
    })
}

fn rotation_hook(callback: PyObject) -> sf::RotationHook {
    Arc::new(move |token: &str| {
        let Some(_in_python) = crate::runtime::enter_python() else {
            return;
        };
        Python::with_gil(|py| {
            if let Err(e) = callback.call1(py, (token,)) {
                e.write_unraisable(py, None);
            }
        });
    })
}

/// One configured client. The Python facade wraps it; users never build it directly.
#[pyclass(module = "forcelink._core", frozen)]
pub struct Engine {
    client: sf::Client,
}

#[pymethods]
impl Engine {
    /// `settings` maps setting names to values (see `ClientBuilder`); with `from_env`, the
    /// `SF_*` variables are read first and `settings` override them.
    #[new]
    #[pyo3(signature = (settings, *, from_env = false, on_retry = None))]
    fn new(
        settings: &Bound<'_, PyDict>,
        from_env: bool,
        on_retry: Option<PyObject>,
    ) -> PyResult<Self> {
        // Logger levels set since the last client was built take effect from this one on.
        crate::logs::client_built(settings.py())?;
        let mut builder = if from_env {
            sf::ConfigBuilder::from_lookup(|name| std::env::var(name).ok()).map_err(to_pyerr)?
        } else {
            sf::Config::builder()
        };
        let mut retry = sf::RetryPolicy::default();
        let mut throttle = sf::ThrottleSettings::default();
        let mut provider = None;
        let mut on_refresh_token = None;
        let mut recorder = None;
        let mut replayer = None;
        let mut fake = None;
        for (key, value) in settings.iter() {
            if value.is_none() {
                continue;
            }
            let key: String = key.extract()?;
            match key.as_str() {
                "auth_provider" => provider = Some(value.unbind()),
                "on_refresh_token" => on_refresh_token = Some(value.unbind()),
                "recorder" => {
                    recorder = Some(value.downcast::<SimulationRecorder>()?.get().inner.clone())
                }
                "replayer" => {
                    replayer = Some(value.downcast::<SimulationReplayer>()?.get().inner.clone())
                }
                "fake_transport" => {
                    fake = Some(value.downcast::<FakeTransport>()?.get().inner.clone())
                }
                _ => builder = apply(builder, &mut retry, &mut throttle, &key, &value)?,
            }
        }
        let config = builder
            .retry_policy(retry)
            .throttle(throttle)
            .build()
            .map_err(to_pyerr)?;
        let mut client = sf::Client::builder(config).on_usage_warning(usage_warning_hook());
        if let Some(callback) = on_retry {
            client = client.on_retry(retry_hook(callback));
        }
        if let Some(callback) = provider {
            client = client.token_source(Arc::new(PyTokenSource::new(callback)));
        }
        if let Some(callback) = on_refresh_token {
            client = client.on_refresh_token(rotation_hook(callback));
        }
        if let Some(fake) = fake {
            client = client.transport(Arc::new(fake));
        }
        if let Some(replayer) = replayer {
            client = client.with_replayer(replayer);
        }
        if let Some(recorder) = recorder {
            client = client.with_recorder(recorder);
        }
        Ok(Self {
            client: client.build().map_err(to_pyerr)?,
        })
    }

    /// This client on a handle that sends `timeout` and `headers` with each REST request.
    #[pyo3(signature = (timeout = None, headers = Vec::new()))]
    fn with_options(&self, timeout: Option<f64>, headers: Vec<(String, String)>) -> PyResult<Self> {
        Ok(Self {
            client: scoped(&self.client, timeout, &headers).map_err(to_pyerr)?,
        })
    }

    /// Each family's breaker: (family, state, outages in a row, seconds until one call is let
    /// through when open).
    fn circuit_breakers(&self) -> Vec<(&'static str, &'static str, u32, Option<f64>)> {
        sf::Family::ALL
            .iter()
            .map(|&family| match self.client.breaker_state(family) {
                sf::BreakerState::Closed { failures } => (family.name(), "closed", failures, None),
                sf::BreakerState::Open { retry_in } => {
                    (family.name(), "open", 0, Some(retry_in.as_secs_f64()))
                }
                sf::BreakerState::HalfOpen => (family.name(), "half_open", 0, None),
            })
            .collect()
    }

    /// Ends subscriptions and lets go of connections; later calls raise ClientClosedError.
    fn close(&self) {
        self.client.close();
    }

    #[getter]
    fn closed(&self) -> bool {
        self.client.is_closed()
    }

    #[getter]
    fn instance_url(&self) -> String {
        self.client
            .config()
            .instance_url
            .as_str()
            .trim_end_matches('/')
            .to_owned()
    }

    #[getter]
    fn api_version(&self) -> String {
        self.client.config().api_version.clone()
    }

    /// The current token, obtained first where needed.
    fn access_token(&self) -> Pending {
        token_info(self.client.clone())
    }

    /// Revokes the current token at the server.
    fn revoke(&self) -> Pending {
        let client = self.client.clone();
        Pending::new(async move { client.revoke().await })
    }

    /// The composite service.
    fn composite(&self) -> crate::composite::CompositeCore {
        crate::composite::CompositeCore::new(self.client.clone())
    }

    /// The Bulk API 2.0 service.
    fn bulk(&self) -> crate::bulk::BulkCore {
        crate::bulk::BulkCore::new(self.client.clone())
    }

    fn events(&self) -> crate::events::EventsCore {
        crate::events::EventsCore::new(self.client.clone())
    }

    /// The query service.
    fn query(&self) -> crate::query::QueryCore {
        crate::query::QueryCore::new(self.client.clone())
    }

    /// Salesforce Files.
    fn files(&self) -> crate::files::FilesCore {
        crate::files::FilesCore::new(self.client.clone())
    }

    /// The Tooling API service.
    fn tooling(&self) -> crate::tooling::ToolingCore {
        crate::tooling::ToolingCore::new(self.client.clone())
    }

    /// The sObject service.
    fn sobjects(&self) -> SObjectsCore {
        SObjectsCore::new(self.client.clone())
    }

    /// Usage from the latest `Sforce-Limit-Info` header; None before the first response.
    fn api_usage(&self, py: Python<'_>) -> PyResult<Option<ApiUsage>> {
        self.client
            .api_usage()
            .map(|u| ApiUsage::from_usage(py, &u))
            .transpose()
    }

    /// `GET /limits`.
    fn limits(&self) -> Pending {
        let client = self.client.clone();
        Pending::new(async move {
            client
                .limits()
                .await
                .map(|m| Json(serde_json::Value::Object(m)))
        })
    }

    /// Any REST resource of the org: `(status, headers, body)`.
    /// With `apex`, `path` is under `/services/apexrest/`.
    #[pyo3(signature = (method, path, *, json = None, params = Vec::new(), headers = Vec::new(), timeout = None, apex = false))]
    #[allow(clippy::too_many_arguments)]
    fn request(
        &self,
        method: &str,
        path: String,
        json: Option<&Bound<'_, PyAny>>,
        params: Vec<(String, String)>,
        headers: Vec<(String, String)>,
        timeout: Option<f64>,
        apex: bool,
    ) -> PyResult<Pending> {
        let method =
            http::Method::from_bytes(method.to_ascii_uppercase().as_bytes()).map_err(|_| {
                to_pyerr(sf::Error::invalid_argument(
                    "method",
                    format!("{method:?} is not an HTTP method"),
                ))
            })?;
        let json = json
            .filter(|j| !j.is_none())
            .map(crate::convert::from_python)
            .transpose()?;
        let timeout = timeout
            .map(forcelink::options::checked_timeout)
            .transpose()
            .map_err(to_pyerr)?;
        let request = sf::RawRequest {
            method,
            path,
            json,
            params,
            headers,
            timeout,
        };
        let client = self.client.clone();
        Ok(Pending::new(async move {
            let answer = if apex {
                client.apex(request).await
            } else {
                client.request(request).await
            };
            answer.map(RawResponseOut)
        }))
    }

    /// A SOSL search: the records found.
    fn search(&self, sosl: String) -> Pending {
        let client = self.client.clone();
        Pending::new(async move {
            client
                .search(&sosl)
                .await
                .map(|records| Json(serde_json::Value::Array(records)))
        })
    }

    /// Token, API and daily-usage checks, as a JSON report.
    #[pyo3(signature = (*, warn_percent = 80.0, critical_percent = 90.0))]
    fn health(&self, warn_percent: f64, critical_percent: f64) -> Pending {
        let client = self.client.clone();
        Pending::new(async move {
            let thresholds = sf::HealthThresholds {
                warn_percent,
                critical_percent,
            };
            client.health(thresholds).await.map(|report| {
                let checks: Vec<serde_json::Value> = report
                    .checks
                    .iter()
                    .map(|c| {
                        serde_json::json!({
                            "name": c.name,
                            "status": c.status.as_str(),
                            "duration_seconds": c.duration.as_secs_f64(),
                            "detail": c.detail,
                        })
                    })
                    .collect();
                Json(serde_json::json!({"status": report.status.as_str(), "checks": checks}))
            })
        })
    }

    /// `GET /services/data/`.
    fn versions(&self) -> Pending {
        let client = self.client.clone();
        Pending::new(async move {
            client
                .versions()
                .await
                .map(|v| Json(serde_json::Value::Array(v)))
        })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        use pyo3::IntoPyObjectExt;
        crate::convert::py_repr(
            py,
            "Engine",
            vec![
                ("instance_url", self.instance_url().into_bound_py_any(py)),
                ("api_version", self.api_version().into_bound_py_any(py)),
            ],
        )
    }
}

/// A raw answer as `(status, [(name, value)], body bytes)`.
struct RawResponseOut(sf::RawResponse);

impl<'py> IntoPyObject<'py> for RawResponseOut {
    type Target = pyo3::types::PyTuple;
    type Output = Bound<'py, pyo3::types::PyTuple>;
    type Error = PyErr;
    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        let r = self.0;
        let body = pyo3::types::PyBytes::new(py, &r.body);
        (r.status, r.headers, body).into_pyobject(py)
    }
}

/// The engine's client defaults (retries, circuit breakers, usage warnings, health thresholds),
/// for the Python builder's and `health()`'s signatures to read rather than repeat.
#[pyfunction]
pub fn client_defaults(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let retries = sf::RetryPolicy::default();
    let breaker = sf::BreakerSettings::default();
    let throttle = sf::ThrottleSettings::default();
    let health = sf::HealthThresholds::default();
    let out = PyDict::new(py);
    out.set_item("max_attempts", retries.max_attempts)?;
    out.set_item("backoff_base", retries.base_delay.as_secs_f64())?;
    out.set_item("backoff_max", retries.max_delay.as_secs_f64())?;
    out.set_item("breaker_failures", breaker.failures)?;
    out.set_item("breaker_open_seconds", breaker.open_for.as_secs_f64())?;
    out.set_item("usage_warnings", throttle.warn_at)?;
    out.set_item("health_warn_percent", health.warn_percent)?;
    out.set_item("health_critical_percent", health.critical_percent)?;
    Ok(out)
}
