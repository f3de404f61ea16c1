//! A call in flight. The sync client waits on it with the GIL released; the async client awaits
//! it. Both run the same Rust future: one engine, two ways to wait.

use crate::errors::to_pyerr;
use crate::runtime::{block_on, enter_python, runtime};
use futures::future::BoxFuture;
use futures::FutureExt;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::IntoPyObjectExt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
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
    /// Cancelled by the first Ctrl-C of a sync wait, for calls that wind down and report.
    interrupt: Option<forcelink::CancellationToken>,
}

impl Pending {
    pub fn new<F, T>(future: F) -> Self
    where
        F: Future<Output = Result<T, forcelink::Error>> + Send + 'static,
        T: for<'py> IntoPyObject<'py> + Send + 'static,
    {
        let boxed: CallFuture = Box::pin(async move {
            // The last line of defence: a panic in the engine is a bug, raised as InternalError
            // (an Exception) instead of crossing into Python as PanicException.
            match AssertUnwindSafe(future).catch_unwind().await {
                Ok(result) => result.map(|v| Output(Box::new(v))),
                Err(payload) => Ok(Output(Box::new(Panicked(panic_message(&*payload))))),
            }
        });
        Self {
            future: Mutex::new(Some(boxed)),
            interrupt: None,
        }
    }

    /// A call that a sync wait's first Ctrl-C interrupts through `token` rather than drops.
    pub fn interruptible(mut self, token: forcelink::CancellationToken) -> Self {
        self.interrupt = Some(token);
        self
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
        match block_on(py, future, self.interrupt.clone())? {
            Ok(output) => output.into_pyobject(py).map(Bound::unbind),
            Err(e) => Err(to_pyerr(e)),
        }
    }

    /// Runs the call on this process's runtime and resolves an asyncio future of the running
    /// loop with its result. Cancelling that future aborts the call at its next await point;
    /// an interruptible call (a bulk load) is interrupted instead and winds down on its own,
    /// logging what it left to resume.
    fn __await__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let future = self.take()?;
        let rt = runtime()?;
        let locals = pyo3_async_runtimes::TaskLocals::with_running_loop(py)?.copy_context(py)?;
        let event_loop = locals.event_loop(py).unbind();
        let waiter = event_loop.bind(py).call_method0("create_future")?;
        let target = waiter.clone().unbind();
        // The task locals let an async token provider be awaited on the caller's loop.
        let task = rt.spawn(pyo3_async_runtimes::tokio::scope(locals, async move {
            let result = future.await;
            // Handing the result over takes the GIL, which a runtime thread must not do while
            // the interpreter shuts down; the leave is held until the loop has been woken, and
            // the shutdown waits for it.
            let Some(_in_python) = enter_python() else {
                return std::future::pending::<()>().await;
            };
            Python::with_gil(|py| resolve_later(py, &event_loop, target, result));
        }));
        waiter.call_method1(
            "add_done_callback",
            (AbortOnCancel {
                task: task.abort_handle(),
                interrupt: self.interrupt.clone(),
            },),
        )?;
        waiter.call_method0("__await__")
    }
}

/// Has the loop set the call's outcome on its future (from the loop's own thread).
fn resolve_later(
    py: Python<'_>,
    event_loop: &Py<PyAny>,
    target: Py<PyAny>,
    result: Result<Output, forcelink::Error>,
) {
    let (value, failed) = match result.map_err(to_pyerr).and_then(|o| o.into_pyobject(py)) {
        Ok(value) => (value.unbind(), false),
        Err(e) => (e.into_value(py).into_any(), true),
    };
    let scheduled = pyo3::types::PyCFunction::new_closure(py, None, None, move |args, _| {
        let py = args.py();
        let target = target.bind(py);
        // The awaiting task may have been cancelled meanwhile: its future is then done.
        if target.call_method0("done")?.is_truthy()? {
            return Ok(());
        }
        let method = if failed {
            "set_exception"
        } else {
            "set_result"
        };
        target.call_method1(method, (value.bind(py),)).map(drop)
    });
    // A loop closed meanwhile has no one left to tell.
    if let Ok(callback) = scheduled {
        let _ = event_loop
            .bind(py)
            .call_method1("call_soon_threadsafe", (callback,));
    }
}

/// Aborts a call's task when the asyncio future awaiting it is cancelled.
#[pyclass(module = "forcelink._core")]
struct AbortOnCancel {
    task: tokio::task::AbortHandle,
    /// For a call that winds down rather than drops (a bulk load): cancelled instead.
    interrupt: Option<forcelink::CancellationToken>,
}

#[pymethods]
impl AbortOnCancel {
    fn __call__(&self, future: &Bound<'_, PyAny>) -> PyResult<()> {
        if future.call_method0("cancelled")?.is_truthy()? {
            match &self.interrupt {
                Some(token) => token.cancel(),
                None => self.task.abort(),
            }
        }
        Ok(())
    }
}

/// A panic caught at the boundary, raised as `forcelink.errors.InternalError` when Python takes
/// the result.
struct Panicked(String);

impl<'py> IntoPyObject<'py> for Panicked {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, _py: Python<'py>) -> PyResult<Self::Output> {
        Err(crate::errors::internal_error(&self.0))
    }
}

#[cold]
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    format!("a bug in forcelink (a Rust panic was caught): {text}")
}

/// A call whose future panics: the tests' way to show a panic arrives as InternalError.
#[pyfunction]
#[allow(clippy::panic)]
pub fn _provoke_panic() -> Pending {
    Pending::new(async {
        if std::hint::black_box(true) {
            panic!("provoked by a test");
        }
        Ok(())
    })
}
