//! `forcelink._core`: PyO3 bindings of the forcelink client. Conversion
//! and GIL handling only; the Salesforce logic lives in `forcelink` (rust/client).

use pyo3::prelude::*;

/// mimalloc rather than the system allocator: the engine makes many
/// small, short-lived allocations (records, JSON values, event payloads), where glibc's malloc
/// spends much of its time consolidating and zeroing pages.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod auth;
mod bulk;
mod client;
mod composite;
mod convert;
mod errors;
mod events;
mod files;
mod frames;
mod logs;
mod metrics;
mod pending;
mod query;
mod restore;
mod results;
mod runtime;
mod simulation;
mod sobjects;
mod tooling;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(runtime::_interpreter_exiting, m)?)?;
    m.add_function(wrap_pyfunction!(pending::_provoke_panic, m)?)?;
    m.add_function(wrap_pyfunction!(events::_decode_event_payload, m)?)?;
    m.add_function(wrap_pyfunction!(logs::_reset_log_levels, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::metrics_snapshot, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::metrics_text, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::set_metrics_enabled, m)?)?;
    logs::install();
    m.py()
        .import("atexit")?
        .call_method1("register", (m.getattr("_interpreter_exiting")?,))?;
    m.add_class::<client::Engine>()?;
    m.add_class::<auth::TokenInfo>()?;
    m.add_class::<sobjects::SObjectsCore>()?;
    m.add_class::<tooling::ToolingCore>()?;
    m.add_class::<files::FilesCore>()?;
    m.add_class::<query::QueryCore>()?;
    m.add_class::<composite::CompositeCore>()?;
    m.add_class::<results::RecordResult>()?;
    m.add_class::<query::QueryPage>()?;
    m.add_class::<frames::ArrowFrame>()?;
    m.add_class::<frames::BulkCsvBuffer>()?;
    m.add_class::<query::RecordStream>()?;
    m.add_class::<query::StreamPage>()?;
    m.add_function(wrap_pyfunction!(query::format_soql, m)?)?;
    m.add_function(wrap_pyfunction!(query::format_sosl, m)?)?;
    m.add_class::<pending::Pending>()?;
    m.add_class::<bulk::BulkCore>()?;
    m.add_class::<events::EventsCore>()?;
    m.add_class::<events::SubscriptionCore>()?;
    m.add_class::<events::EventBatch>()?;
    m.add_class::<events::Event>()?;
    m.add_class::<events::ChangeEvent>()?;
    m.add_class::<events::ChangeEventHeader>()?;
    m.add_class::<events::PublishStreamCore>()?;
    m.add_class::<bulk::BulkResultCore>()?;
    m.add_class::<bulk::BulkQueryCore>()?;
    m.add_class::<bulk::BulkQueryPage>()?;
    m.add_class::<bulk::CsvSplitter>()?;
    m.add_class::<bulk::SplitInput>()?;
    m.add_class::<bulk::ResultRows>()?;
    m.add_class::<bulk::Rows>()?;
    m.add_function(wrap_pyfunction!(bulk::split_path, m)?)?;
    m.add_class::<results::SaveResult>()?;
    m.add_class::<results::UpsertResult>()?;
    m.add_class::<results::ApiUsage>()?;
    m.add_class::<results::FieldDescribe>()?;
    m.add_class::<results::SObjectDescribe>()?;
    m.add_function(wrap_pyfunction!(restore::_restore_describe, m)?)?;
    m.add_function(wrap_pyfunction!(bulk::bulk_defaults, m)?)?;
    m.add_function(wrap_pyfunction!(events::events_defaults, m)?)?;
    m.add_function(wrap_pyfunction!(client::client_defaults, m)?)?;
    m.add_class::<results::SObjectSummary>()?;
    m.add_class::<results::DescribeGlobal>()?;
    m.add_class::<simulation::SimulationRecorder>()?;
    m.add_class::<simulation::SimulationReplayer>()?;
    m.add_class::<simulation::FakeTransport>()?;
    Ok(())
}
