//! The engine's `tracing` events reach Python's `logging`: with no tracing subscriber set, they
//! become `log` records, which pyo3-log hands to the logger named after their target
//! (`forcelink::http` becomes `forcelink.http`). Levels are cached per logger, so a record below
//! its logger's level is dropped in Rust without the GIL; the cache is cleared whenever a client
//! is built, so levels set before that take effect.
//!
//! `import forcelink` does not import `logging` (a tenth of the import's cost): the bridge to it
//! is made when a client is built in a program that has imported `logging` (configuring it
//! imports it), or when the engine has a warning or an error to report. Until then, debug and
//! info records are dropped: with `logging` not imported nobody has lowered a logger's level
//! below its default, WARNING, so they would have been dropped anyway.

use pyo3::prelude::*;
use std::sync::OnceLock;

/// pyo3-log, made once `logging` is in use.
static BRIDGE: OnceLock<pyo3_log::Logger> = OnceLock::new();
static RESET: OnceLock<pyo3_log::ResetHandle> = OnceLock::new();

/// The `log` logger: hands records to pyo3-log once it exists, and nothing to Python once the
/// interpreter is shutting down.
struct LazyLogger;

impl log::Log for LazyLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        if crate::runtime::must_not_touch_python() {
            return false;
        }
        match BRIDGE.get() {
            Some(bridge) => bridge.enabled(metadata),
            None => {
                metadata.level() <= log::Level::Warn && metadata.target().starts_with("forcelink")
            }
        }
    }

    fn log(&self, record: &log::Record<'_>) {
        let Some(_in_python) = crate::runtime::enter_python() else {
            return;
        };
        let bridge = match BRIDGE.get() {
            Some(bridge) => bridge,
            None if record.level() <= log::Level::Warn => {
                match Python::with_gil(|py| bridge(py).ok().flatten()) {
                    Some(bridge) => bridge,
                    None => return,
                }
            }
            None => return,
        };
        if log::Log::enabled(bridge, record.metadata()) {
            log::Log::log(bridge, record);
        }
    }

    fn flush(&self) {}
}

/// pyo3-log, made now if it is not yet (this imports `logging`).
fn bridge(py: Python<'_>) -> PyResult<Option<&'static pyo3_log::Logger>> {
    if let Some(bridge) = BRIDGE.get() {
        return Ok(Some(bridge));
    }
    // Only the engine's own targets: the HTTP stack's records stay out of the `forcelink` tree.
    let logger = pyo3_log::Logger::new(py, pyo3_log::Caching::LoggersAndLevels)?
        .filter(log::LevelFilter::Off)
        .filter_target("forcelink".to_owned(), log::LevelFilter::Debug);
    let _ = RESET.set(logger.reset_handle());
    let _ = BRIDGE.set(logger);
    Ok(BRIDGE.get())
}

/// Installs the `log` logger once per process; another one already installed (by another
/// extension) is left in place.
pub fn install() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        if log::set_boxed_logger(Box::new(LazyLogger)).is_ok() {
            log::set_max_level(log::LevelFilter::Debug);
        }
    });
}

/// When a client is built: bridges to `logging` if the program uses it, and forgets the cached
/// logger levels, so levels set since the last client was built take effect.
pub fn client_built(py: Python<'_>) -> PyResult<()> {
    if BRIDGE.get().is_none() {
        let sys_modules = py.import("sys")?.getattr("modules")?;
        if sys_modules.contains("logging")? {
            bridge(py)?;
        }
    }
    _reset_log_levels();
    Ok(())
}

/// Forgets the cached logger levels, so the next records read them again.
#[pyfunction]
pub fn _reset_log_levels() {
    if let Some(handle) = RESET.get() {
        handle.reset();
    }
}
