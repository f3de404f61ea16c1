//! A call in flight. The sync client waits on it with the GIL released; the async client awaits
//! it. Both run the same Rust future: one engine, two ways to wait.

use crate::errors::to_pyerr;
use crate::runtime::{block_on, runtime};
use futures::future::BoxFuture;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::IntoPyObjectExt;
use std::future::Future;
use std::sync::Mutex;

/// A value that becomes a Python object once the GIL is held.
pub trait IntoPyBoxed: Send {
    fn into_py_boxed(self: Box<Self>, py: Python<'_>) -> PyResult<PyObject>;
}

impl<T> IntoPyBoxed for T
where
    T: for<'py> IntoPyObject<'py> + Send,
{
    fn into_py_boxed(self: Box<Self>, py: Python<'_>) -> PyResult<PyObject> {
        (*self).into_py_any(py)
    }
}

/// The output of a finished call, converted when Python takes it.
pub struct Output(Box<dyn IntoPyBoxed>);

impl<'py> IntoPyObject<'py> for Output {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        self.0.into_py_boxed(py).map(|o| o.into_bound(py))
    }
}

type CallFuture = BoxFuture<'static, Result<Output, forcelink::Error>>;

/// A pending call: `wait()` it (sync) or `await` it (async), once.
#[pyclass(module = "forcelink._core", name = "Pending")]
pub struct Pending {
    future: Mutex<Option<CallFuture>>,
}

impl Pending {
    pub fn new<F, T>(future: F) -> Self
    where
        F: Future<Output = Result<T, forcelink::Error>> + Send + 'static,
        T: for<'py> IntoPyObject<'py> + Send + 'static,
    {
        let boxed: CallFuture = Box::pin(async move { future.await.map(|v| Output(Box::new(v))) });
        Self {
            future: Mutex::new(Some(boxed)),
        }
    }

    fn take(&self) -> PyResult<CallFuture> {
        self.future
            .lock()
            .ok()
            .and_then(|mut f| f.take())
            .ok_or_else(|| PyRuntimeError::new_err("this call was already waited on or awaited"))
    }
}

#[pymethods]
impl Pending {
    /// Runs the call to completion, the GIL released meanwhile, and returns its result.
    fn wait(&self, py: Python<'_>) -> PyResult<PyObject> {
        let future = self.take()?;
        match block_on(py, future)? {
            Ok(output) => output.into_pyobject(py).map(Bound::unbind),
            Err(e) => Err(to_pyerr(e)),
        }
    }

    fn __await__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let future = self.take()?;
        runtime()?;
        let awaitable = pyo3_async_runtimes::tokio::future_into_py(py, async move {
            future.await.map_err(to_pyerr)
        })?;
        awaitable.call_method0("__await__")
    }
}
