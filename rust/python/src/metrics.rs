//! The engine's metrics for the Python collector: one snapshot, as plain tuples.

use forcelink::metrics::{self, MetricKind, SampleValue};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

/// Every metric family as `(name, kind, help, samples)`; a sample is `(labels, value)` with
/// `value` a float, or for histograms `(buckets, count, sum)` with cumulative
/// `[(upper_bound, count), ...]`.
#[pyfunction]
pub fn metrics_snapshot(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
    let families = PyList::empty(py);
    for family in metrics::snapshot() {
        let samples = PyList::empty(py);
        for sample in family.samples {
            let labels = PyDict::new(py);
            for (k, v) in &sample.labels {
                labels.set_item(k, v)?;
            }
            let value = match sample.value {
                SampleValue::Number(v) => v.into_pyobject(py)?.into_any(),
                SampleValue::Histogram {
                    buckets,
                    count,
                    sum,
                } => PyTuple::new(
                    py,
                    [
                        buckets.into_pyobject(py)?.into_any(),
                        count.into_pyobject(py)?.into_any(),
                        sum.into_pyobject(py)?.into_any(),
                    ],
                )?
                .into_any(),
            };
            samples.append((labels, value))?;
        }
        let kind = match family.kind {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        };
        families.append((family.name, kind, family.help, samples))?;
    }
    Ok(families)
}

/// The metrics in Prometheus' text format.
#[pyfunction]
pub fn metrics_text() -> String {
    metrics::render_text()
}

/// Turns recording on or off for the process (for overhead benchmarks).
#[pyfunction]
pub fn set_metrics_enabled(enabled: bool) {
    metrics::set_enabled(enabled);
}
