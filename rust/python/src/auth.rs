//! Auth for Python: token info handed to Python, and a Python callable as a token source.

use crate::pending::Pending;
use forcelink as sf;
use forcelink::{OAuthClient, TokenResponse, TokenSource};
use futures::future::BoxFuture;
use pyo3::prelude::*;
use pyo3::types::{PyMapping, PyString};
use pyo3::IntoPyObjectExt;
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;

/// The current access token and what came with it. `repr()` never shows the token.
#[pyclass(module = "forcelink", frozen)]
pub struct TokenInfo {
    token: SecretString,
    /// The org's URL the token is for.
    #[pyo3(get)]
    instance_url: Option<String>,
    /// The identity URL of the token's user.
    #[pyo3(get)]
    id_url: Option<String>,
    /// The org's id.
    #[pyo3(get)]
    org_id: Option<String>,
    /// The user's id.
    #[pyo3(get)]
    user_id: Option<String>,
    /// When the token was issued, in milliseconds since 1970.
    #[pyo3(get)]
    issued_at: Option<i64>,
    /// The OAuth scopes granted.
    #[pyo3(get)]
    scope: Option<String>,
    /// The token type (`Bearer`).
    #[pyo3(get)]
    token_type: String,
}

#[pymethods]
impl TokenInfo {
    /// The bearer token itself. Handle with care: it acts as the user's session.
    #[getter]
    fn access_token(&self) -> String {
        self.token.expose_secret().to_owned()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        crate::convert::py_repr(
            py,
            "TokenInfo",
            vec![
                (
                    "instance_url",
                    self.instance_url.clone().into_bound_py_any(py),
                ),
                ("org_id", self.org_id.clone().into_bound_py_any(py)),
                ("user_id", self.user_id.clone().into_bound_py_any(py)),
                ("access_token", "***".into_bound_py_any(py)),
            ],
        )
    }
}

pub struct TokenOut(pub Arc<sf::AccessToken>, pub String);

impl<'py> IntoPyObject<'py> for TokenOut {
    type Target = TokenInfo;
    type Output = Bound<'py, TokenInfo>;
    type Error = PyErr;
    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        let t = self.0;
        let instance = t
            .instance_url
            .as_ref()
            .map(|u| u.as_str().trim_end_matches('/').to_owned())
            .unwrap_or(self.1);
        Bound::new(
            py,
            TokenInfo {
                token: t.token.clone(),
                instance_url: Some(instance),
                id_url: t.id_url.clone(),
                org_id: t.org_id.clone(),
                user_id: t.user_id.clone(),
                issued_at: t.issued_at,
                scope: t.scope.clone(),
                token_type: t.token_type.clone(),
            },
        )
    }
}

pub fn token_info(client: sf::Client) -> Pending {
    let fallback = client
        .config()
        .instance_url
        .as_str()
        .trim_end_matches('/')
        .to_owned();
    Pending::new(async move { client.access_token().await.map(|t| TokenOut(t, fallback)) })
}

/// A Python callable as a token source: it returns a token string or a mapping with
/// `access_token` (and optionally `instance_url`, `id`), or an awaitable of either.
pub struct PyTokenSource {
    callback: PyObject,
}

impl PyTokenSource {
    pub fn new(callback: PyObject) -> Self {
        Self { callback }
    }
}

fn provider_error(py: Python<'_>, err: PyErr) -> sf::Error {
    let kind = err
        .get_type(py)
        .name()
        .map(|n| n.to_string())
        .unwrap_or_default();
    sf::Error::AuthProvider(format!("{kind}: {}", err.value(py)))
}

fn parse_answer(answer: &Bound<'_, PyAny>) -> Result<TokenResponse, sf::Error> {
    let py = answer.py();
    let text = |key: &str| -> PyResult<Option<String>> {
        let mapping = answer.downcast::<PyMapping>()?;
        match mapping.get_item(key) {
            Ok(v) if !v.is_none() => Ok(Some(v.extract()?)),
            _ => Ok(None),
        }
    };
    let parsed = if let Ok(s) = answer.downcast::<PyString>() {
        Ok((s.to_str().map(str::to_owned), None, None))
    } else if answer.downcast::<PyMapping>().is_ok() {
        (|| -> PyResult<_> {
            let token = text("access_token")?
                .ok_or_else(|| pyo3::exceptions::PyKeyError::new_err("access_token"))?;
            Ok((Ok(token), text("instance_url")?, text("id")?))
        })()
    } else {
        Err(pyo3::exceptions::PyTypeError::new_err(
            "an auth provider returns a token string or a mapping with access_token",
        ))
    };
    let (token, instance_url, id) = parsed.map_err(|e| provider_error(py, e))?;
    let token = token.map_err(|e| provider_error(py, e))?;
    let mut response: TokenResponse =
        serde_json::from_value(serde_json::json!({"access_token": token}))
            .map_err(|e| sf::Error::AuthProvider(e.to_string()))?;
    response.instance_url = instance_url;
    response.id = id;
    Ok(response)
}

enum Step {
    Ready(Result<TokenResponse, sf::Error>),
    Awaiting(std::pin::Pin<Box<dyn std::future::Future<Output = PyResult<PyObject>> + Send>>),
}

impl TokenSource for PyTokenSource {
    fn name(&self) -> &'static str {
        "python"
    }

    fn fetch<'a>(
        &'a self,
        _oauth: &'a OAuthClient,
    ) -> BoxFuture<'a, Result<TokenResponse, sf::Error>> {
        Box::pin(async move {
            let Some(_in_python) = crate::runtime::enter_python() else {
                return Err(shutting_down());
            };
            let step = Python::with_gil(|py| -> Step {
                let answer = match self.callback.call0(py) {
                    Ok(a) => a.into_bound(py),
                    Err(e) => return Step::Ready(Err(provider_error(py, e))),
                };
                if !answer.hasattr("__await__").unwrap_or(false) {
                    return Step::Ready(parse_answer(&answer));
                }
                // Awaited on the caller's event loop when there is one (the async client);
                // run to completion on this thread otherwise (the blocking client).
                match pyo3_async_runtimes::tokio::get_current_locals(py) {
                    Ok(locals) => {
                        match pyo3_async_runtimes::into_future_with_locals(&locals, answer) {
                            Ok(future) => Step::Awaiting(Box::pin(future)),
                            Err(e) => Step::Ready(Err(provider_error(py, e))),
                        }
                    }
                    Err(_) => {
                        let ran = py
                            .import("asyncio")
                            .and_then(|asyncio| asyncio.call_method1("run", (answer,)));
                        match ran {
                            Ok(value) => Step::Ready(parse_answer(&value)),
                            Err(e) => Step::Ready(Err(provider_error(py, e))),
                        }
                    }
                }
            });
            match step {
                Step::Ready(result) => result,
                Step::Awaiting(future) => {
                    let value = future.await;
                    let Some(_in_python) = crate::runtime::enter_python() else {
                        return Err(shutting_down());
                    };
                    Python::with_gil(|py| match value {
                        Ok(v) => parse_answer(v.bind(py)),
                        Err(e) => Err(provider_error(py, e)),
                    })
                }
            }
        })
    }
}

#[cold]
fn shutting_down() -> sf::Error {
    sf::Error::AuthProvider("the interpreter is shutting down".into())
}
