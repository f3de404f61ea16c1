//! Bulk API 2.0 for Python: a splitter fed from any Python source, loads, results streamed as
//! rows (dicts built on the caller's thread), and query pages.

use crate::convert::scoped;
use crate::convert::{FsPath, KeyCache};
use crate::errors::to_pyerr;
use crate::pending::Pending;
use forcelink as sf;
use forcelink::bulk::{JobOutcome, ResultKind};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDate, PyDateTime, PyDict, PyList, PyString};
use std::path::PathBuf;
use std::sync::{Arc, Mutex as StdMutex};
use tokio::sync::Mutex;

fn split_options(
    delimiter: &str,
    max_upload_bytes: u64,
    max_records: Option<u64>,
    spool_dir: Option<FsPath>,
    rows: Option<Vec<(u64, u64)>>,
) -> PyResult<sf::SplitOptions> {
    let byte = match delimiter.as_bytes() {
        [b] => *b,
        _ => {
            return Err(PyValueError::new_err(
                "column_delimiter must be one character: , ` ^ | ; or tab",
            ))
        }
    };
    Ok(sf::SplitOptions {
        delimiter: byte,
        max_upload_bytes,
        max_records,
        spool_dir: spool_dir.map(|d| d.0),
        line_ending: None,
        rows,
    })
}

/// Input checked and split into upload files, ready for a load.
#[pyclass(module = "forcelink._core", frozen)]
pub struct SplitInput {
    split: StdMutex<Option<sf::SplitCsv>>,
    #[pyo3(get)]
    records: u64,
    #[pyo3(get)]
    jobs: usize,
    #[pyo3(get)]
    bytes: u64,
}

impl SplitInput {
    fn new(split: sf::SplitCsv) -> Self {
        Self {
            records: split.records,
            jobs: split.chunks.len(),
            bytes: split.bytes,
            split: StdMutex::new(Some(split)),
        }
    }

    fn take(&self) -> PyResult<sf::SplitCsv> {
        self.split
            .lock()
            .ok()
            .and_then(|mut s| s.take())
            .ok_or_else(|| PyRuntimeError::new_err("this input was already loaded"))
    }
}

/// Takes CSV bytes or rows from Python and splits them as they come.
#[pyclass(module = "forcelink._core")]
pub struct CsvSplitter {
    inner: Option<sf::CsvSplitter>,
    header: Option<Vec<String>>,
}

/// A value as Bulk API CSV text. None is `#N/A`, which sets the field to null, as None does in
/// a REST update; an empty string (or a key left out of a later record) leaves it as it is.
/// Bulk API 2.0's null: the field is cleared.
const NULL_VALUE: &str = "#N/A";

fn text_of(value: &Bound<'_, PyAny>) -> PyResult<String> {
    if value.is_none() {
        return Ok(NULL_VALUE.to_owned());
    }
    if let Ok(s) = value.downcast::<PyString>() {
        return Ok(s.to_str()?.to_owned());
    }
    if let Ok(b) = value.downcast::<PyBool>() {
        return Ok(if b.is_true() { "true" } else { "false" }.to_owned());
    }
    if value.downcast::<PyDateTime>().is_ok() || value.downcast::<PyDate>().is_ok() {
        return value.call_method0("isoformat")?.extract();
    }
    Ok(value.str()?.to_str()?.to_owned())
}

impl CsvSplitter {
    fn splitter(&mut self) -> PyResult<&mut sf::CsvSplitter> {
        self.inner
            .as_mut()
            .ok_or_else(|| PyRuntimeError::new_err("the splitter is finished"))
    }
}

#[pymethods]
impl CsvSplitter {
    #[new]
    #[pyo3(signature = (*, column_delimiter = ",", max_upload_bytes = 157_286_400, max_records = None, spool_dir = None, rows = None))]
    fn new(
        column_delimiter: &str,
        max_upload_bytes: u64,
        max_records: Option<u64>,
        spool_dir: Option<FsPath>,
        rows: Option<Vec<(u64, u64)>>,
    ) -> PyResult<Self> {
        let options = split_options(
            column_delimiter,
            max_upload_bytes,
            max_records,
            spool_dir,
            rows,
        )?;
        Ok(Self {
            inner: Some(sf::CsvSplitter::new(options).map_err(to_pyerr)?),
            header: None,
        })
    }

    /// The next piece of CSV text (bytes, or str encoded as UTF-8).
    fn feed(&mut self, data: &Bound<'_, PyAny>) -> PyResult<()> {
        if let Ok(b) = data.downcast::<PyBytes>() {
            return self.splitter()?.feed(b.as_bytes()).map_err(to_pyerr);
        }
        if let Ok(s) = data.downcast::<PyString>() {
            return self
                .splitter()?
                .feed(s.to_str()?.as_bytes())
                .map_err(to_pyerr);
        }
        let bytes: Vec<u8> = data.extract()?;
        self.splitter()?.feed(&bytes).map_err(to_pyerr)
    }

    /// A row of values (the first row is the header); None is `#N/A` (null), bools are
    /// true/false, dates ISO 8601.
    fn push_row(&mut self, row: &Bound<'_, PyAny>) -> PyResult<()> {
        let values = row
            .try_iter()?
            .map(|v| text_of(&v?))
            .collect::<PyResult<Vec<String>>>()?;
        self.splitter()?.push_row(&values).map_err(to_pyerr)
    }

    /// A record as a dict; the first one's keys become the header, later ones may not add keys.
    fn push_dict(&mut self, record: &Bound<'_, PyDict>) -> PyResult<()> {
        let header = match &self.header {
            Some(h) => h.clone(),
            None => {
                let keys = record
                    .keys()
                    .iter()
                    .map(|k| k.extract::<String>())
                    .collect::<PyResult<Vec<String>>>()?;
                self.splitter()?.push_row(&keys).map_err(to_pyerr)?;
                self.header = Some(keys.clone());
                keys
            }
        };
        for key in record.keys() {
            if !header.contains(&key.extract::<String>()?) {
                return Err(PyValueError::new_err(format!(
                    "a record has fields the first record did not have; every record needs the same fields ({})",
                    header.join(", ")
                )));
            }
        }
        let mut values = Vec::with_capacity(header.len());
        for key in &header {
            values.push(match record.get_item(key)? {
                Some(v) => text_of(&v)?,
                None => String::new(),
            });
        }
        self.splitter()?.push_row(&values).map_err(to_pyerr)
    }

    /// Ends the input; the split is ready to load.
    fn finish(&mut self) -> PyResult<SplitInput> {
        let splitter = self
            .inner
            .take()
            .ok_or_else(|| PyRuntimeError::new_err("the splitter is finished"))?;
        splitter.finish().map(SplitInput::new).map_err(to_pyerr)
    }
}

/// Splits a file off the caller's thread.
#[pyfunction]
#[pyo3(signature = (path, *, column_delimiter = ",", max_upload_bytes = 157_286_400, max_records = None, spool_dir = None, rows = None))]
pub fn split_path(
    path: FsPath,
    column_delimiter: &str,
    max_upload_bytes: u64,
    max_records: Option<u64>,
    spool_dir: Option<FsPath>,
    rows: Option<Vec<(u64, u64)>>,
) -> PyResult<Pending> {
    let path = path.0;
    let options = split_options(
        column_delimiter,
        max_upload_bytes,
        max_records,
        spool_dir,
        rows,
    )?;
    Ok(Pending::new(async move {
        let split =
            tokio::task::spawn_blocking(move || sf::CsvSplitter::split_path(&path, options))
                .await
                .map_err(|e| sf::Error::InvalidArgument {
                    argument: "data".into(),
                    message: e.to_string(),
                })??;
        Ok(SplitInput::new(split))
    }))
}

/// The waits of a bulk call: each given one checked, the engine's default for the others.
fn poll_options(
    poll_interval: Option<f64>,
    max_poll_interval: Option<f64>,
    timeout: Option<f64>,
) -> PyResult<sf::PollOptions> {
    let default = sf::PollOptions::default();
    let secs = |name: &str, v: Option<f64>, default: std::time::Duration| match v {
        Some(v) => {
            forcelink::config::checked_seconds(name, v, false).map_err(PyValueError::new_err)
        }
        None => Ok(default),
    };
    Ok(sf::PollOptions {
        initial: secs("poll_interval", poll_interval, default.initial)?,
        max: secs("max_poll_interval", max_poll_interval, default.max)?,
        timeout: secs("timeout", timeout, default.timeout)?,
    })
}

/// The engine's defaults of the bulk calls' options, which the Python signatures show: declared
/// once, in the crate (`PollOptions`, `IngestOptions`).
#[pyfunction]
pub fn bulk_defaults() -> std::collections::HashMap<&'static str, f64> {
    let poll = sf::PollOptions::default();
    let ingest = sf::bulk::IngestOptions::default();
    std::collections::HashMap::from([
        ("parallelism", ingest.parallelism as f64),
        ("poll_interval", poll.initial.as_secs_f64()),
        ("max_poll_interval", poll.max.as_secs_f64()),
        ("timeout", poll.timeout.as_secs_f64()),
    ])
}

fn progress_hook(callback: Option<PyObject>) -> Option<sf::bulk::ProgressHook> {
    let callback = Arc::new(callback?);
    Some(Arc::new(move |event: &sf::BulkProgress| {
        let Some(_in_python) = crate::runtime::enter_python() else {
            return;
        };
        Python::with_gil(|py| {
            let result = (|| -> PyResult<()> {
                let kwargs = PyDict::new(py);
                match event {
                    sf::BulkProgress::Split {
                        records,
                        bytes,
                        jobs,
                    } => {
                        kwargs.set_item("kind", "split")?;
                        kwargs.set_item("records", records)?;
                        kwargs.set_item("bytes", bytes)?;
                        kwargs.set_item("jobs", jobs)?;
                    }
                    sf::BulkProgress::JobCreated { job_id, records } => {
                        kwargs.set_item("kind", "job_created")?;
                        kwargs.set_item("job_id", job_id)?;
                        kwargs.set_item("records", records)?;
                    }
                    sf::BulkProgress::Uploaded { job_id, bytes } => {
                        kwargs.set_item("kind", "uploaded")?;
                        kwargs.set_item("job_id", job_id)?;
                        kwargs.set_item("bytes", bytes)?;
                    }
                    sf::BulkProgress::JobState {
                        job_id,
                        state,
                        processed,
                        failed,
                    } => {
                        kwargs.set_item("kind", "job_state")?;
                        kwargs.set_item("job_id", job_id)?;
                        kwargs.set_item("state", state)?;
                        kwargs.set_item("processed", processed)?;
                        kwargs.set_item("failed", failed)?;
                    }
                }
                callback.call(py, (), Some(&kwargs))?;
                Ok(())
            })();
            if let Err(e) = result {
                // A failing progress callback must not stop a load that is under way.
                e.write_unraisable(py, None);
            }
        });
    }))
}

fn job_dict<'py>(py: Python<'py>, job: &JobOutcome) -> PyResult<Bound<'py, PyAny>> {
    let value =
        serde_json::to_value(&job.info).map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    let dict = crate::convert::to_python(py, &value)?;
    dict.set_item("recordsSent", job.records_sent)?;
    Ok(dict)
}

/// What a load did.
#[pyclass(module = "forcelink._core", frozen)]
pub struct BulkResultCore {
    client: sf::Client,
    result: sf::BulkResult,
}

#[pymethods]
impl BulkResultCore {
    #[getter]
    fn job_ids(&self) -> Vec<String> {
        self.result.job_ids()
    }
    #[getter]
    fn records_processed(&self) -> u64 {
        self.result.records_processed()
    }
    #[getter]
    fn records_failed(&self) -> u64 {
        self.result.records_failed()
    }
    #[getter]
    fn records_successful(&self) -> u64 {
        self.result.records_successful()
    }
    #[getter]
    fn records_unprocessed(&self) -> u64 {
        self.result.records_unprocessed()
    }
    #[getter]
    fn jobs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let items = self
            .result
            .jobs
            .iter()
            .map(|j| job_dict(py, j))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }

    /// Rows of one result file across every job: "successful", "failed" or "unprocessed".
    fn rows(&self, which: &str) -> PyResult<ResultRows> {
        let kind = match which {
            "successful" => ResultKind::Successful,
            "failed" => ResultKind::Failed,
            "unprocessed" => ResultKind::Unprocessed,
            other => return Err(PyValueError::new_err(format!("no result file {other:?}"))),
        };
        Ok(ResultRows {
            state: Arc::new(Mutex::new(RowsState {
                client: self.client.clone(),
                jobs: self
                    .result
                    .jobs
                    .iter()
                    .rev()
                    .map(|j| j.info.clone())
                    .collect(),
                kind,
                current: None,
            })),
        })
    }
}

struct RowsState {
    client: sf::Client,
    /// Jobs still to read, last first.
    jobs: Vec<sf::JobInfo>,
    kind: ResultKind,
    current: Option<sf::CsvRecordStream>,
}

/// Result rows read as they arrive, job after job.
#[pyclass(module = "forcelink._core", frozen)]
pub struct ResultRows {
    state: Arc<Mutex<RowsState>>,
}

#[pymethods]
impl ResultRows {
    /// The next rows, or None after the last job's last row.
    fn next_rows(&self) -> Pending {
        let state = self.state.clone();
        Pending::new(async move {
            let mut state = state.lock().await;
            loop {
                if let Some(stream) = state.current.as_mut() {
                    if let Some(rows) = stream.next_rows().await? {
                        let header = stream.header().map(<[String]>::to_vec).unwrap_or_default();
                        return Ok(Some(Rows { header, rows }));
                    }
                    state.current = None;
                }
                let Some(job) = state.jobs.pop() else {
                    return Ok(None);
                };
                let stream = state
                    .client
                    .bulk()
                    .ingest_results_of(&job, state.kind)
                    .await?;
                state.current = Some(stream);
            }
        })
    }
}

/// Rows with their header, turned into dicts on the caller's thread.
#[pyclass(module = "forcelink._core", frozen)]
pub struct Rows {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

#[pymethods]
impl Rows {
    fn records<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        dicts(py, &self.header, &self.rows)
    }

    fn __len__(&self) -> usize {
        self.rows.len()
    }
}

fn dicts<'py>(
    py: Python<'py>,
    header: &[String],
    rows: &[Vec<String>],
) -> PyResult<Bound<'py, PyList>> {
    let mut cache = KeyCache::default();
    let keys: Vec<_> = header.iter().map(|h| cache.key(py, h)).collect();
    let list = PyList::empty(py);
    for row in rows {
        let dict = PyDict::new(py);
        for (key, value) in keys.iter().zip(row) {
            dict.set_item(key, value)?;
        }
        list.append(dict)?;
    }
    Ok(list)
}

/// One page of bulk query results.
#[pyclass(module = "forcelink._core", frozen)]
pub struct BulkQueryPage {
    page: sf::BulkQueryPage,
    delimiter: u8,
}

#[pymethods]
impl BulkQueryPage {
    #[getter]
    fn record_count(&self) -> u64 {
        self.page.records
    }

    #[getter]
    fn next_locator(&self) -> Option<String> {
        self.page.next_locator.clone()
    }

    /// The page's CSV; without its header row when `header` is false.
    #[pyo3(signature = (*, header = true))]
    fn csv<'py>(&self, py: Python<'py>, header: bool) -> Bound<'py, PyBytes> {
        let body: &[u8] = &self.page.csv;
        if header {
            return PyBytes::new(py, body);
        }
        let start = first_record_end(body);
        PyBytes::new(py, body.get(start..).unwrap_or_default())
    }

    /// The page's records as dicts of strings.
    fn records<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let (header, rows) = self.page.rows(self.delimiter).map_err(to_pyerr)?;
        dicts(py, &header, &rows)
    }
}

/// Where the header row ends (quoted newlines inside it respected).
fn first_record_end(body: &[u8]) -> usize {
    let mut quoted = false;
    for (i, &b) in body.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => return i + 1,
            _ => {}
        }
    }
    body.len()
}

/// A completed query job's pages.
#[pyclass(module = "forcelink._core", frozen)]
pub struct BulkQueryCore {
    pager: Arc<Mutex<sf::BulkQueryPager>>,
    /// The query's FROM object, whose describe types the columns of `to_arrow`.
    object: Option<String>,
    #[pyo3(get)]
    job_id: String,
    #[pyo3(get)]
    total_records: u64,
}

#[pymethods]
impl BulkQueryCore {
    fn next_page(&self) -> Pending {
        let pager = self.pager.clone();
        Pending::new(async move {
            let mut pager = pager.lock().await;
            let delimiter = pager.delimiter();
            let page = pager.next_page().await?;
            Ok(page.map(|page| BulkQueryPage { page, delimiter }))
        })
    }

    /// The pages not read yet as Arrow record batches, typed through the FROM object's
    /// describe.
    fn to_arrow(&self) -> PyResult<Pending> {
        let object = self.object.clone().ok_or_else(|| {
            to_pyerr(sf::Error::invalid_argument(
                "soql",
                "no FROM object in the query",
            ))
        })?;
        let pager = self.pager.clone();
        Ok(Pending::new(async move {
            let mut pager = pager.lock().await;
            pager
                .to_arrow(&object)
                .await
                .map(crate::frames::ArrowFrame::new)
        }))
    }
}

/// Columns as `(name, kind)` pairs, the form Python plans carry.
fn column_pairs(columns: &[sf::frames::Column]) -> Vec<(String, &'static str)> {
    columns
        .iter()
        .map(|c| (c.name.clone(), c.kind.name()))
        .collect()
}

/// `sf.bulk` in Rust.
#[pyclass(module = "forcelink._core", frozen)]
pub struct BulkCore {
    client: sf::Client,
}

impl BulkCore {
    pub fn new(client: sf::Client) -> Self {
        Self { client }
    }

    /// Stages `data` in a job left open; the call resolves to `(job_id, rows)`.
    fn staged(
        &self,
        object: String,
        operation: sf::Operation,
        data: sf::bulk::StagedData,
        rows: u64,
        external_id_field: Option<String>,
    ) -> PyResult<Pending> {
        let client = self.client.clone();
        Ok(Pending::new(async move {
            let job = client
                .bulk()
                .stage(&object, operation, external_id_field.as_deref(), data, rows)
                .await?;
            Ok((job.job_id, job.records))
        }))
    }
}

fn job_kind(kind: &str) -> PyResult<sf::JobKind> {
    match kind {
        "ingest" => Ok(sf::JobKind::Ingest),
        "query" => Ok(sf::JobKind::Query),
        other => Err(PyValueError::new_err(format!(
            "job kind must be 'ingest' or 'query', not {other:?}"
        ))),
    }
}

#[pymethods]
impl BulkCore {
    /// This service on a handle that sends `timeout` and `headers` with each request.
    #[pyo3(signature = (timeout = None, headers = Vec::new()))]
    fn with_options(&self, timeout: Option<f64>, headers: Vec<(String, String)>) -> PyResult<Self> {
        scoped(&self.client, timeout, &headers)
            .map(Self::new)
            .map_err(to_pyerr)
    }

    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (object, operation, data, *, external_id_field = None, parallelism = None, poll_interval = None, max_poll_interval = None, timeout = None, progress = None))]
    fn ingest(
        &self,
        object: String,
        operation: &str,
        data: &SplitInput,
        external_id_field: Option<String>,
        parallelism: Option<usize>,
        poll_interval: Option<f64>,
        max_poll_interval: Option<f64>,
        timeout: Option<f64>,
        progress: Option<PyObject>,
    ) -> PyResult<Pending> {
        let operation = sf::Operation::parse(operation).map_err(to_pyerr)?;
        let interrupt = sf::CancellationToken::new();
        let options = sf::IngestOptions {
            external_id_field,
            parallelism: parallelism.unwrap_or(sf::IngestOptions::default().parallelism),
            poll: poll_options(poll_interval, max_poll_interval, timeout)?,
            progress: progress_hook(progress),
            cancel: Some(interrupt.clone()),
        };
        let split = data.take()?;
        let client = self.client.clone();
        Ok(Pending::new(async move {
            let result = client
                .bulk()
                .ingest(&object, operation, split, &options)
                .await?;
            Ok(BulkResultCore { client, result })
        })
        .interruptible(interrupt))
    }

    #[pyo3(signature = (job_ids, *, poll_interval = None, max_poll_interval = None, timeout = None))]
    fn resume(
        &self,
        job_ids: Vec<String>,
        poll_interval: Option<f64>,
        max_poll_interval: Option<f64>,
        timeout: Option<f64>,
    ) -> PyResult<Pending> {
        let options = sf::IngestOptions {
            poll: poll_options(poll_interval, max_poll_interval, timeout)?,
            ..sf::IngestOptions::default()
        };
        let client = self.client.clone();
        Ok(Pending::new(async move {
            let result = client.bulk().resume(&job_ids, &options).await?;
            Ok(BulkResultCore { client, result })
        }))
    }

    #[pyo3(signature = (job_id, *, kind = "ingest"))]
    fn job_info(&self, job_id: String, kind: &str) -> PyResult<Pending> {
        let kind = job_kind(kind)?;
        let client = self.client.clone();
        Ok(Pending::new(async move {
            let info = client.bulk().job_info(kind, &job_id).await?;
            Ok(crate::convert::Json(
                serde_json::to_value(info).unwrap_or_default(),
            ))
        }))
    }

    #[pyo3(signature = (job_id, *, kind = "ingest"))]
    fn abort(&self, job_id: String, kind: &str) -> PyResult<Pending> {
        let kind = job_kind(kind)?;
        let client = self.client.clone();
        Ok(Pending::new(async move {
            let info = client.bulk().abort_job(kind, &job_id).await?;
            Ok(crate::convert::Json(
                serde_json::to_value(info).unwrap_or_default(),
            ))
        }))
    }

    #[pyo3(signature = (job_id, *, kind = "ingest"))]
    fn delete(&self, job_id: String, kind: &str) -> PyResult<Pending> {
        let kind = job_kind(kind)?;
        let client = self.client.clone();
        Ok(Pending::new(async move {
            client.bulk().delete_job(kind, &job_id).await
        }))
    }

    /// The typed columns of `soql`'s SELECT list, `[(name, kind)]`, read through describe.
    fn query_columns(&self, soql: String) -> Pending {
        let client = self.client.clone();
        Pending::new(async move {
            let columns = client.bulk().planned_columns(&soql).await?;
            Ok(column_pairs(&columns))
        })
    }

    /// Plans a parallel read of `soql` (see `Bulk::plan_query`). Returns `{job_id,
    /// total_records, result_urls, columns: [(name, kind)]}`.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (soql, *, include_deleted = false, max_records = None, partitions = None, poll_interval = None, max_poll_interval = None, timeout = None))]
    fn plan_query(
        &self,
        soql: String,
        include_deleted: bool,
        max_records: Option<u64>,
        partitions: Option<u64>,
        poll_interval: Option<f64>,
        max_poll_interval: Option<f64>,
        timeout: Option<f64>,
    ) -> PyResult<Pending> {
        let poll = poll_options(poll_interval, max_poll_interval, timeout)?;
        let client = self.client.clone();
        Ok(Pending::new(async move {
            let plan = client
                .bulk()
                .plan_query(&soql, include_deleted, max_records, partitions, &poll)
                .await?;
            Ok(crate::convert::Json(serde_json::json!({
                "job_id": plan.job_id,
                "total_records": plan.total_records,
                "result_urls": plan.result_urls,
                "columns": column_pairs(&plan.columns),
            })))
        }))
    }

    /// One planned result page as Arrow record batches with the planned `columns`.
    fn read_result_page(
        &self,
        job_id: String,
        result_url: String,
        columns: Vec<(String, String)>,
    ) -> PyResult<Pending> {
        let columns = columns
            .into_iter()
            .map(|(name, kind)| {
                sf::frames::ColumnKind::parse(&kind).map(|kind| sf::frames::Column { name, kind })
            })
            .collect::<sf::Result<Vec<_>>>()
            .map_err(to_pyerr)?;
        let client = self.client.clone();
        Ok(Pending::new(async move {
            client
                .bulk()
                .result_page_to_arrow(&job_id, &result_url, columns)
                .await
                .map(crate::frames::ArrowFrame::new)
        }))
    }

    /// Creates an ingest job, uploads the buffer's CSV (which empties it) and leaves the job
    /// open. Returns `(job_id, rows)`.
    #[pyo3(signature = (object, operation, data, *, external_id_field = None))]
    fn stage(
        &self,
        object: String,
        operation: &str,
        data: &Bound<'_, crate::frames::BulkCsvBuffer>,
        external_id_field: Option<String>,
    ) -> PyResult<Pending> {
        let operation = sf::Operation::parse(operation).map_err(to_pyerr)?;
        let (csv, rows) = data.borrow_mut().take().map_err(to_pyerr)?;
        if rows == 0 {
            return Err(PyValueError::new_err("the buffer holds no rows"));
        }
        let data = sf::bulk::StagedData::Bytes(csv);
        self.staged(object, operation, data, rows, external_id_field)
    }

    /// Creates an ingest job, uploads the CSV file `path` (a header and `rows` rows) from disk
    /// and leaves the job open. Returns `(job_id, rows)`.
    #[pyo3(signature = (object, operation, path, rows, *, external_id_field = None))]
    fn stage_file(
        &self,
        object: String,
        operation: &str,
        path: PathBuf,
        rows: u64,
        external_id_field: Option<String>,
    ) -> PyResult<Pending> {
        let operation = sf::Operation::parse(operation).map_err(to_pyerr)?;
        let data = sf::bulk::StagedData::File(path);
        self.staged(object, operation, data, rows, external_id_field)
    }

    /// Closes staged jobs `(job_id, rows)` and waits for them all.
    #[pyo3(signature = (jobs, *, poll_interval = None, max_poll_interval = None, timeout = None))]
    fn commit_staged(
        &self,
        jobs: Vec<(String, u64)>,
        poll_interval: Option<f64>,
        max_poll_interval: Option<f64>,
        timeout: Option<f64>,
    ) -> PyResult<Pending> {
        let options = sf::IngestOptions {
            poll: poll_options(poll_interval, max_poll_interval, timeout)?,
            ..sf::IngestOptions::default()
        };
        let jobs: Vec<sf::StagedJob> = jobs
            .into_iter()
            .map(|(job_id, records)| sf::StagedJob { job_id, records })
            .collect();
        let client = self.client.clone();
        Ok(Pending::new(async move {
            let result = client.bulk().commit_staged(&jobs, &options).await?;
            Ok(BulkResultCore { client, result })
        }))
    }

    /// Every job of the org of this kind, as JobInfo dicts.
    #[pyo3(signature = (*, kind = "ingest"))]
    fn list_jobs(&self, kind: &str) -> PyResult<Pending> {
        let kind = job_kind(kind)?;
        let client = self.client.clone();
        Ok(Pending::new(async move {
            let jobs = client.bulk().list_jobs(kind).await?;
            Ok(crate::convert::Json(
                serde_json::to_value(jobs).unwrap_or_default(),
            ))
        }))
    }

    /// Aborts the jobs that have not ended; returns the ids aborted.
    fn abort_staged(&self, job_ids: Vec<String>) -> Pending {
        let client = self.client.clone();
        Pending::new(async move { client.bulk().abort_staged(&job_ids).await })
    }

    #[pyo3(signature = (soql, *, include_deleted = false, max_records = None, poll_interval = None, max_poll_interval = None, timeout = None))]
    fn query(
        &self,
        soql: String,
        include_deleted: bool,
        max_records: Option<u64>,
        poll_interval: Option<f64>,
        max_poll_interval: Option<f64>,
        timeout: Option<f64>,
    ) -> PyResult<Pending> {
        let poll = poll_options(poll_interval, max_poll_interval, timeout)?;
        let client = self.client.clone();
        Ok(Pending::new(async move {
            let pager = client
                .bulk()
                .query(&soql, include_deleted, max_records, &poll)
                .await?;
            Ok(BulkQueryCore {
                object: sf::frames::query_object(&soql),
                job_id: pager.job_id().to_owned(),
                total_records: pager.total_records(),
                pager: Arc::new(Mutex::new(pager)),
            })
        }))
    }
}
