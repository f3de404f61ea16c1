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

/// Rows of Arrow record batches written as Bulk API CSV in Rust, held until a job takes them.
#[pyclass(module = "forcelink._core")]
pub struct BulkCsvBuffer {
    writer: forcelink::arrow_csv::BulkCsvWriter,
}

impl BulkCsvBuffer {
    /// The CSV written so far and its row count; the buffer starts again empty.
    pub fn take(&mut self) -> forcelink::Result<(bytes::Bytes, u64)> {
        self.writer.take()
    }
}

#[pymethods]
impl BulkCsvBuffer {
    /// `null_text` is what a null becomes (`#N/A` clears the field; empty leaves it).
    #[new]
    #[pyo3(signature = (*, null_text = "#N/A"))]
    fn new(null_text: &str) -> Self {
        Self {
            writer: forcelink::arrow_csv::BulkCsvWriter::new(null_text),
        }
    }

    /// Appends the rows of `batch`, any object with `__arrow_c_array__` (a pyarrow
    /// RecordBatch).
    fn push(&mut self, py: Python<'_>, batch: &Bound<'_, PyAny>) -> PyResult<()> {
        let batch = record_batch_of(batch)?;
        py.allow_threads(|| self.writer.write(&batch))
            .map_err(crate::errors::to_pyerr)
    }

    /// Writes the CSV held (header and rows) to the file `path` and empties the buffer;
    /// returns the rows written.
    fn spill(&mut self, py: Python<'_>, path: std::path::PathBuf) -> PyResult<u64> {
        let (csv, rows) = self.take().map_err(crate::errors::to_pyerr)?;
        py.allow_threads(|| std::fs::write(&path, &csv))
            .map_err(|e| {
                pyo3::exceptions::PyOSError::new_err(format!("{}: {e}", path.display()))
            })?;
        Ok(rows)
    }

    /// Rows held.
    #[getter]
    fn rows(&self) -> u64 {
        self.writer.rows()
    }

    /// Bytes of CSV held, the header included.
    #[getter]
    fn size(&self) -> usize {
        self.writer.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "BulkCsvBuffer(rows={}, bytes={})",
            self.writer.rows(),
            self.writer.len()
        )
    }
}

/// A record batch taken through the Arrow PyCapsule interface (`__arrow_c_array__`).
fn record_batch_of(batch: &Bound<'_, PyAny>) -> PyResult<arrow_array::RecordBatch> {
    use arrow_array::cast::AsArray;
    use arrow_array::ffi::{FFI_ArrowArray, FFI_ArrowSchema};
    use pyo3::exceptions::{PyTypeError, PyValueError};
    if !batch.hasattr("__arrow_c_array__")? {
        return Err(PyTypeError::new_err(format!(
            "expected an Arrow record batch (an object with __arrow_c_array__), got {}",
            batch.get_type().name()?
        )));
    }
    let pair = batch.call_method0("__arrow_c_array__")?;
    let (schema, array): (Bound<'_, PyCapsule>, Bound<'_, PyCapsule>) = pair.extract()?;
    let named = |capsule: &Bound<'_, PyCapsule>, want: &str| -> PyResult<()> {
        let name = capsule.name()?;
        let ok = name.is_some_and(|n| n.to_bytes() == want.as_bytes());
        if ok {
            Ok(())
        } else {
            Err(PyValueError::new_err(format!(
                "expected a capsule named {want}"
            )))
        }
    };
    named(&schema, "arrow_schema")?;
    named(&array, "arrow_array")?;
    // SAFETY: the capsules are named as the Arrow PyCapsule interface names them, so they hold
    // an FFI_ArrowSchema and an FFI_ArrowArray. The array is moved out (its release callback
    // now ours) and an empty, released one left in the capsule, as the interface asks of a
    // consumer; the schema is only borrowed, while its capsule is alive.
    let data = unsafe {
        let schema = &*schema.pointer().cast::<FFI_ArrowSchema>();
        let array = std::ptr::replace(
            array.pointer().cast::<FFI_ArrowArray>(),
            FFI_ArrowArray::empty(),
        );
        arrow_array::ffi::from_ffi(array, schema)
    }
    .map_err(|e| PyValueError::new_err(format!("cannot read the Arrow batch: {e}")))?;
    let array = arrow_array::make_array(data);
    let Some(rows) = array.as_struct_opt() else {
        return Err(PyTypeError::new_err(
            "expected a record batch (a struct array), got another Arrow array",
        ));
    };
    Ok(arrow_array::RecordBatch::from(rows.clone()))
}
