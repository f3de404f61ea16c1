//! The engine's `tracing` events reach Python's `logging`: with no tracing subscriber set, they
//! become `log` records, which pyo3-log hands to the logger named after their target
//! (`forcelink::http` becomes `forcelink.http`). Levels are cached per logger, so a record below
//! its logger's level is dropped in Rust without the GIL; the cache is cleared whenever a client
//! is built, so levels set before that take effect.

use pyo3::prelude::*;
use std::sync::OnceLock;

static RESET: OnceLock<pyo3_log::ResetHandle> = OnceLock::new();

/// pyo3-log behind a guard: nothing is handed to Python once the interpreter is shutting down.
struct GuardedLogger(pyo3_log::Logger);

impl log::Log for GuardedLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        !crate::runtime::must_not_touch_python() && self.0.enabled(metadata)
    }

    fn log(&self, record: &log::Record<'_>) {
        if let Some(_in_python) = crate::runtime::enter_python() {
            self.0.log(record);
        }
    }

    fn flush(&self) {}
}

/// Installs the bridge once per process. Another `log` logger already installed (by another
/// extension) is left in place.
pub fn install(py: Python<'_>) -> PyResult<()> {
    if RESET.get().is_some() {
        return Ok(());
    }
    // Only the engine's own targets: the HTTP stack's records stay out of the `forcelink` tree.
    let logger = pyo3_log::Logger::new(py, pyo3_log::Caching::LoggersAndLevels)?
        .filter(log::LevelFilter::Off)
        .filter_target("forcelink".to_owned(), log::LevelFilter::Debug);
    let handle = logger.reset_handle();
    if log::set_boxed_logger(Box::new(GuardedLogger(logger))).is_ok() {
        log::set_max_level(log::LevelFilter::Debug);
        let _ = RESET.set(handle);
    }
    Ok(())
}

/// Forgets the cached logger levels, so the next records read them again.
#[pyfunction]
pub fn _reset_log_levels() {
    if let Some(handle) = RESET.get() {
        handle.reset();
    }
}
