//! The runtime the org's servers run on: one per process, started on first use. The org's tasks
//! never call into Python, so they may outlive the interpreter's shutdown harmlessly.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use std::future::Future;
use std::sync::OnceLock;
use tokio::runtime::Runtime;

fn runtime() -> PyResult<&'static Runtime> {
    static RUNTIME: OnceLock<std::io::Result<Runtime>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("forcelink-emulator")
                .enable_all()
                .build()
        })
        .as_ref()
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the emulator's runtime: {e}")))
}

/// Runs `future` to completion on the runtime, with the GIL released.
pub fn block_on<F>(py: Python<'_>, future: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let rt = runtime()?;
    Ok(py.allow_threads(|| rt.block_on(future)))
}

static EXITING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Called by `atexit`: from now on the org's threads do not call into Python (Apex handlers
/// answer 500), since the interpreter is being torn down.
#[pyfunction]
pub fn _interpreter_exiting() {
    EXITING.store(true, std::sync::atomic::Ordering::SeqCst);
}

pub fn interpreter_exiting() -> bool {
    EXITING.load(std::sync::atomic::Ordering::SeqCst)
}
