//! Query results handed to Python as Arrow data: an object speaking the Arrow PyCapsule
//! interface (`__arrow_c_stream__`), which pyarrow, polars and pandas read without a copy.

use arrow_array::ffi_stream::FFI_ArrowArrayStream;
use arrow_array::RecordBatchIterator;
use forcelink::frames::Frame;
use pyo3::prelude::*;
use pyo3::types::PyCapsule;
use std::ffi::CString;

/// A query's records as Arrow record batches, held in Rust until a reader takes them.
#[pyclass(module = "forcelink._core", frozen)]
pub struct ArrowFrame {
    frame: Frame,
}

impl ArrowFrame {
    pub fn new(frame: Frame) -> Self {
        Self { frame }
    }
}

#[pymethods]
impl ArrowFrame {
    #[getter]
    fn num_rows(&self) -> usize {
        self.frame.num_rows()
    }

    #[getter]
    fn column_names(&self) -> Vec<String> {
        self.frame
            .schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    }

    /// The batches as an `ArrowArrayStream` capsule. Each call gives a new stream over the same
    /// (shared, immutable) buffers. `requested_schema` is not applied: the columns already have
    /// the types describe gives, and a reader casts where it wants others.
    #[pyo3(signature = (requested_schema = None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<PyObject>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let _ = requested_schema;
        let reader = RecordBatchIterator::new(
            self.frame.batches.clone().into_iter().map(Ok),
            self.frame.schema.clone(),
        );
        let stream = FFI_ArrowArrayStream::new(Box::new(reader));
        let name = CString::new("arrow_array_stream")
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
        // The reader moves the stream out and marks it released; a stream nobody took is
        // released when the capsule is dropped.
        PyCapsule::new(py, stream, Some(name))
    }

    fn __repr__(&self) -> String {
        format!(
            "ArrowFrame(rows={}, columns={})",
            self.frame.num_rows(),
            self.frame.schema.fields().len()
        )
    }
}
