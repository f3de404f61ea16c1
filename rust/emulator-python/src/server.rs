//! `EmulatorServer`: one running org. Record and object definitions cross as JSON text; they are
//! set-up calls, not a hot path, and JSON keeps this crate free of a second conversion layer.

use crate::runtime::block_on;
use forcelink_emulator::{ConnectedAppSpec, Emulator, Fault};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use std::sync::Mutex;
use std::time::Duration;

fn invalid(e: forcelink_emulator::EmulatorError) -> PyErr {
    PyValueError::new_err(e.to_string())
}

fn parse_json(text: &str) -> PyResult<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| PyValueError::new_err(format!("not valid JSON: {e}")))
}

fn lifetime(name: &str, seconds: Option<f64>) -> PyResult<Option<Duration>> {
    match seconds {
        Some(s) => forcelink_wire::seconds::checked_seconds(name, s, false)
            .map(Some)
            .map_err(PyValueError::new_err),
        None => Ok(None),
    }
}

#[pyclass(module = "forcelink_emulator._core", frozen)]
pub struct EmulatorServer {
    server: Mutex<Option<Emulator>>,
    #[pyo3(get)]
    instance_url: String,
    #[pyo3(get)]
    login_url: String,
    #[pyo3(get)]
    org_id: String,
    #[pyo3(get)]
    user_id: String,
    #[pyo3(get)]
    username: String,
    #[pyo3(get)]
    ca_cert_pem: Option<String>,
    /// `127.0.0.1:PORT` of the Pub/Sub gRPC API.
    #[pyo3(get)]
    pubsub_endpoint: String,
}

impl EmulatorServer {
    fn with<T>(&self, f: impl FnOnce(&Emulator) -> T) -> PyResult<T> {
        let guard = self
            .server
            .lock()
            .map_err(|_| PyRuntimeError::new_err("emulator state poisoned"))?;
        guard
            .as_ref()
            .map(f)
            .ok_or_else(|| PyRuntimeError::new_err("the emulator was stopped"))
    }
}

#[pymethods]
impl EmulatorServer {
    #[staticmethod]
    #[pyo3(signature = (*, tls = false, api_limit = 100_000, seed = 0, port = 0, token_lifetime = None, bulk_upload_limit = 157_286_400))]
    fn start(
        py: Python<'_>,
        tls: bool,
        api_limit: u64,
        seed: u64,
        port: u16,
        token_lifetime: Option<f64>,
        bulk_upload_limit: u64,
    ) -> PyResult<Self> {
        let lifetime = lifetime("token_lifetime", token_lifetime)?;
        let started = block_on(py, async move {
            Emulator::builder()
                .tls(tls)
                .api_limit(api_limit)
                .seed(seed)
                .port(port)
                .token_lifetime(lifetime)
                .bulk_upload_limit(bulk_upload_limit)
                .start()
                .await
        })?;
        let server = started.map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
        Ok(Self {
            instance_url: server.instance_url().to_owned(),
            login_url: server.login_url().to_owned(),
            org_id: server.org_id().to_owned(),
            user_id: server.user_id().to_owned(),
            username: server.username().to_owned(),
            ca_cert_pem: server.ca_cert_pem().map(str::to_owned),
            pubsub_endpoint: server.pubsub_endpoint(),
            server: Mutex::new(Some(server)),
        })
    }

    /// Changes the Bulk API upload limit per job (base64-encoded bytes).
    fn set_bulk_upload_limit(&self, limit: u64) -> PyResult<()> {
        self.with(|s| s.set_bulk_upload_limit(limit))
    }

    /// Makes ingest jobs fail after `batches` internal batches of 10,000 (None: never).
    #[pyo3(signature = (batches))]
    fn fail_bulk_jobs_after(&self, batches: Option<usize>) -> PyResult<()> {
        self.with(|s| s.fail_bulk_jobs_after(batches))
    }

    /// Ingest jobs pause this long (seconds) after each internal batch.
    fn set_bulk_batch_delay(&self, seconds: f64) -> PyResult<()> {
        let delay = forcelink_wire::seconds::checked_seconds("delay", seconds, true)
            .map_err(PyValueError::new_err)?;
        self.with(|s| s.set_bulk_batch_delay(delay))
    }

    /// The access token issued at start.
    fn access_token(&self) -> PyResult<String> {
        self.with(|s| s.access_token().to_owned())
    }

    fn issue_session(&self) -> PyResult<String> {
        self.with(Emulator::issue_session)
    }

    fn expire_sessions(&self) -> PyResult<()> {
        self.with(Emulator::expire_sessions)
    }

    /// Creates a user; returns the user id.
    fn create_user(&self, username: &str) -> PyResult<String> {
        self.with(|s| s.create_user(username))?.map_err(invalid)
    }

    #[pyo3(signature = (client_id, *, certificate_pem = None, client_secret = None, rotate_refresh_tokens = false, run_as = None))]
    fn create_connected_app(
        &self,
        client_id: String,
        certificate_pem: Option<String>,
        client_secret: Option<String>,
        rotate_refresh_tokens: bool,
        run_as: Option<String>,
    ) -> PyResult<()> {
        let spec = ConnectedAppSpec {
            client_id,
            certificate_pem,
            client_secret,
            rotate_refresh_tokens,
            run_as,
        };
        self.with(|s| s.create_connected_app(spec))?
            .map_err(invalid)
    }

    fn issue_refresh_token(&self, client_id: &str, username: &str) -> PyResult<String> {
        self.with(|s| s.issue_refresh_token(client_id, username))?
            .map_err(invalid)
    }

    #[pyo3(signature = (seconds))]
    fn set_token_lifetime(&self, seconds: Option<f64>) -> PyResult<()> {
        let lifetime = lifetime("token_lifetime", seconds)?;
        self.with(|s| s.set_token_lifetime(lifetime))
    }

    /// Defines a platform event `Name__e` from field names to types (text, number, int,
    /// boolean, date, datetime).
    fn define_event(&self, name: &str, fields: Vec<(String, String)>) -> PyResult<()> {
        self.with(|s| s.define_event(name, &fields))?
            .map_err(|e| PyValueError::new_err(e.to_string()))
    }

    #[pyo3(signature = (developer_name, topic, *, earliest = false))]
    fn define_managed_subscription(
        &self,
        developer_name: &str,
        topic: &str,
        earliest: bool,
    ) -> PyResult<String> {
        self.with(|s| s.define_managed_subscription(developer_name, topic, earliest))?
            .map_err(|e| PyValueError::new_err(e.to_string()))
    }

    fn drop_streams_after(&self, events: Option<u64>) -> PyResult<()> {
        self.with(|s| s.drop_streams_after(events))
    }

    fn expire_events_before(&self, replay_id: u64) -> PyResult<()> {
        self.with(|s| s.expire_events_before(replay_id))
    }

    fn set_event_retention(&self, seconds: Option<f64>) -> PyResult<()> {
        let window = lifetime("retention", seconds)?;
        self.with(|e| e.set_event_retention(window))
    }

    fn set_stream_timings(&self, keepalive: f64, idle_timeout: f64) -> PyResult<()> {
        let positive = |name: &str, secs: f64| {
            forcelink_wire::seconds::checked_seconds(name, secs, false)
                .map_err(PyValueError::new_err)
        };
        let keepalive = positive("keepalive", keepalive)?;
        let idle = positive("idle_timeout", idle_timeout)?;
        self.with(|s| s.set_stream_timings(keepalive, idle))
    }

    #[getter]
    fn latest_replay_id(&self) -> PyResult<u64> {
        self.with(|s| s.latest_replay_id())
    }

    /// `fields_json`: a JSON object from field names to types or specs.
    fn define_object(&self, name: &str, fields_json: &str) -> PyResult<()> {
        let definition = parse_json(fields_json)?;
        self.with(|s| s.define_object(name, &definition))?
            .map_err(|e| PyValueError::new_err(e.to_string()))
    }

    #[pyo3(signature = (path_contains, *, status = 503, error_code = None, message = None, times = None, method = None, retry_after = None, delay = None, drop_connection = false, after_commit = false, rate = None))]
    #[allow(clippy::too_many_arguments)]
    fn inject_fault(
        &self,
        path_contains: String,
        status: u16,
        error_code: Option<String>,
        message: Option<String>,
        times: Option<u32>,
        method: Option<String>,
        retry_after: Option<u64>,
        delay: Option<f64>,
        drop_connection: bool,
        after_commit: bool,
        rate: Option<f64>,
    ) -> PyResult<()> {
        if rate.is_some_and(|r| !(r > 0.0 && r <= 1.0)) {
            return Err(PyValueError::new_err("rate must be above 0 and at most 1"));
        }
        if after_commit && !drop_connection {
            return Err(PyValueError::new_err(
                "after_commit goes with drop_connection: the write is done, then the answer lost",
            ));
        }
        // A fault by rate lasts until cleared unless `times` caps it; otherwise it hits once.
        let times = times.unwrap_or(if rate.is_some() { u32::MAX } else { 1 });
        let delay = delay
            .map(|d| {
                forcelink_wire::seconds::checked_seconds("delay", d, true)
                    .map_err(PyValueError::new_err)
            })
            .transpose()?;
        let fault = Fault {
            method,
            path_contains,
            status,
            error_code: error_code.unwrap_or_else(|| "SERVER_UNAVAILABLE".to_owned()),
            message: message.unwrap_or_else(|| "Server unavailable (injected fault)".to_owned()),
            times,
            retry_after,
            delay,
            drop_connection,
            after_commit,
            rate,
        };
        self.with(|s| s.inject_fault(fault))
    }

    /// Inserts records directly (no HTTP, no API usage); returns their ids.
    /// `records_json`: a JSON array of records.
    fn seed_records(
        &self,
        py: Python<'_>,
        object: &str,
        records_json: &str,
    ) -> PyResult<Vec<String>> {
        py.allow_threads(|| {
            let values = match parse_json(records_json)? {
                serde_json::Value::Array(values) => values,
                _ => return Err(PyValueError::new_err("records must be a JSON array")),
            };
            self.with(|s| s.seed_records(object, &values))?
                .map_err(invalid)
        })
    }

    /// Plays an Apex REST class at `url_mapping`: `handler(method, path, params, body_json)`
    /// returns `(status, body_json)` (JSON text, or None for no body). It is called on a
    /// blocking thread of the emulator, with the GIL.
    fn register_apex(&self, url_mapping: &str, handler: PyObject) -> PyResult<()> {
        let handler = std::sync::Arc::new(handler);
        let play: forcelink_emulator::ApexHandler = std::sync::Arc::new(move |call| {
            let failed = |message: String| forcelink_emulator::ApexAnswer {
                status: 500,
                body: Some(serde_json::json!([{"errorCode": "APEX_ERROR", "message": message}])),
            };
            if crate::runtime::interpreter_exiting() {
                return failed("the interpreter is shutting down".to_owned());
            }
            Python::with_gil(|py| {
                let body = call.body.as_ref().map(serde_json::Value::to_string);
                let answer = handler
                    .call1(py, (call.method, call.path, call.params, body))
                    .and_then(|a| a.extract::<(u16, Option<String>)>(py));
                match answer {
                    Ok((status, body)) => {
                        match body.map(|b| serde_json::from_str(&b)).transpose() {
                            Ok(body) => forcelink_emulator::ApexAnswer { status, body },
                            Err(e) => failed(format!("the handler's answer is not JSON: {e}")),
                        }
                    }
                    Err(e) => failed(e.to_string()),
                }
            })
        });
        self.with(|s| s.register_apex(url_mapping, play))
    }

    fn clear_faults(&self) -> PyResult<()> {
        self.with(Emulator::clear_faults)
    }

    fn set_down(&self, down: bool) -> PyResult<()> {
        self.with(|s| s.set_down(down))
    }

    /// The counters, as JSON text.
    fn stats_json(&self) -> PyResult<String> {
        let stats = self.with(Emulator::stats)?;
        Ok(stats.to_string())
    }

    /// Stops serving; idempotent.
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        let server = self
            .server
            .lock()
            .map_err(|_| PyRuntimeError::new_err("emulator state poisoned"))?
            .take();
        if let Some(server) = server {
            block_on(py, server.shutdown())?;
        }
        Ok(())
    }

    #[getter]
    fn running(&self) -> bool {
        self.server.lock().map(|s| s.is_some()).unwrap_or(false)
    }

    fn __repr__(&self) -> String {
        format!(
            "EmulatorServer(instance_url={:?}, org_id={:?})",
            self.instance_url, self.org_id
        )
    }
}
