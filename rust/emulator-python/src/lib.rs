//! `forcelink_emulator._core`: the local org as a Python extension. The emulator's logic lives in
//! `forcelink-emulator` (rust/emulator); this crate starts it on a runtime of its own and carries
//! settings across. It links none of the client, so the client's wheel carries no server and this
//! one no client.

use pyo3::prelude::*;

/// mimalloc rather than the system allocator: the org makes many small, short-lived allocations
/// (records, JSON values, event payloads), where glibc's malloc spends much of its time
/// consolidating and zeroing pages.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod runtime;
mod server;

// The library is named apart from the client's (both would be lib_core.so in one target
// directory); Python still imports it as `forcelink_emulator._core`.
#[pymodule(name = "_core")]
fn forcelink_emulator_core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<server::EmulatorServer>()?;
    m.add_function(wrap_pyfunction!(runtime::_interpreter_exiting, m)?)?;
    m.py()
        .import("atexit")?
        .call_method1("register", (m.getattr("_interpreter_exiting")?,))?;
    Ok(())
}
