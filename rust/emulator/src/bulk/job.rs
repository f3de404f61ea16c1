//! A Bulk API 2.0 job as the org keeps it: its JobInfo fields, uploaded data and results.

use crate::http_kit::failure::ApiFailure;
use crate::model::schema::FieldMeta;
use axum::http::StatusCode;
use bytes::Bytes;
use serde_json::{json, Map, Value};

/// Records per internal batch, as Salesforce splits job data.
pub const BATCH_RECORDS: usize = 10_000;

/// What the header of the uploaded CSV says about each column.
pub(super) struct Columns {
    /// The header as uploaded, for the result files.
    pub(super) raw: Vec<String>,
    /// The field of each column.
    pub(super) fields: Vec<FieldMeta>,
    pub(super) id_column: Option<usize>,
    pub(super) external_column: Option<usize>,
}

/// What a job's settings say about its data and its writes.
pub(super) struct JobSpec {
    pub(super) operation: Operation,
    pub(super) object: String,
    pub(super) external_id: Option<String>,
    pub(super) delimiter: u8,
    pub(super) terminator: &'static [u8],
    pub(super) crlf: bool,
}

/// Ingest or query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    Ingest,
    Query,
}

/// What an ingest job does to each row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Insert,
    Update,
    Upsert,
    Delete,
    HardDelete,
    Query,
    QueryAll,
}

impl Operation {
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "insert" => Self::Insert,
            "update" => Self::Update,
            "upsert" => Self::Upsert,
            "delete" => Self::Delete,
            "hardDelete" => Self::HardDelete,
            "query" => Self::Query,
            "queryAll" => Self::QueryAll,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Insert => "insert",
            Self::Update => "update",
            Self::Upsert => "upsert",
            Self::Delete => "delete",
            Self::HardDelete => "hardDelete",
            Self::Query => "query",
            Self::QueryAll => "queryAll",
        }
    }

    pub fn is_query(self) -> bool {
        matches!(self, Self::Query | Self::QueryAll)
    }
}

pub use forcelink_wire::delimiter_byte;

/// Job states, as JobInfo spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Open,
    UploadComplete,
    InProgress,
    JobComplete,
    Failed,
    Aborted,
}

impl JobState {
    pub fn name(self) -> &'static str {
        match self {
            Self::Open => "Open",
            Self::UploadComplete => "UploadComplete",
            Self::InProgress => "InProgress",
            Self::JobComplete => "JobComplete",
            Self::Failed => "Failed",
            Self::Aborted => "Aborted",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, Self::JobComplete | Self::Failed | Self::Aborted)
    }
}

/// One job.
#[derive(Debug)]
pub struct Job {
    pub id: String,
    pub kind: JobKind,
    pub operation: Operation,
    pub object: String,
    pub external_id: Option<String>,
    pub delimiter: String,
    pub line_ending: String,
    pub api_version: String,
    pub created_by: String,
    pub created_date: String,
    pub modstamp: String,
    pub state: JobState,
    pub error_message: Option<String>,
    pub processed: u64,
    pub failed: u64,
    pub processing_ms: u64,
    /// Each `PUT .../batches` body; more than one makes closing the job fail, as on Salesforce.
    pub uploads: Vec<Bytes>,
    pub successful: Vec<u8>,
    pub failures: Vec<u8>,
    pub unprocessed: Vec<u8>,
    /// Query results: the CSV header, then one encoded line per row.
    pub result_header: Vec<u8>,
    pub result_rows: Vec<u8>,
    pub result_offsets: Vec<usize>,
}

impl Job {
    pub fn delimiter(&self) -> u8 {
        delimiter_byte(&self.delimiter).unwrap_or(b',')
    }

    pub fn terminator(&self) -> &'static [u8] {
        if self.line_ending == "CRLF" {
            b"\r\n"
        } else {
            b"\n"
        }
    }

    /// JobInfo; `full` adds the counters GET answers with.
    pub fn info(&self, full: bool) -> Value {
        let mut info = Map::new();
        info.insert("id".into(), json!(self.id));
        info.insert("operation".into(), json!(self.operation.name()));
        info.insert("object".into(), json!(self.object));
        info.insert("createdById".into(), json!(self.created_by));
        info.insert("createdDate".into(), json!(self.created_date));
        info.insert("systemModstamp".into(), json!(self.modstamp));
        info.insert("state".into(), json!(self.state.name()));
        if let Some(field) = &self.external_id {
            info.insert("externalIdFieldName".into(), json!(field));
        }
        info.insert("concurrencyMode".into(), json!("Parallel"));
        info.insert("contentType".into(), json!("CSV"));
        let version: f64 = self.api_version.parse().unwrap_or(0.0);
        info.insert("apiVersion".into(), json!(version));
        if self.kind == JobKind::Ingest && self.state == JobState::Open {
            info.insert(
                "contentUrl".into(),
                json!(format!(
                    "services/data/v{}/jobs/ingest/{}/batches",
                    self.api_version, self.id
                )),
            );
        }
        info.insert("lineEnding".into(), json!(self.line_ending));
        info.insert("columnDelimiter".into(), json!(self.delimiter));
        if full {
            let job_type = match self.kind {
                JobKind::Ingest => "V2Ingest",
                JobKind::Query => "V2Query",
            };
            info.insert("jobType".into(), json!(job_type));
            info.insert("numberRecordsProcessed".into(), json!(self.processed));
            if self.kind == JobKind::Ingest {
                info.insert("numberRecordsFailed".into(), json!(self.failed));
            }
            info.insert("retries".into(), json!(0));
            info.insert("totalProcessingTime".into(), json!(self.processing_ms));
            if self.kind == JobKind::Ingest {
                info.insert("apiActiveProcessingTime".into(), json!(self.processing_ms));
                info.insert("apexProcessingTime".into(), json!(0));
            } else {
                info.insert("isPkChunkingSupported".into(), json!(true));
            }
            if let Some(message) = &self.error_message {
                info.insert("errorMessage".into(), json!(message));
            }
        }
        Value::Object(info)
    }
}

pub fn invalid_job(message: impl Into<String>) -> ApiFailure {
    ApiFailure::new(StatusCode::BAD_REQUEST, "INVALIDJOB", message)
}

pub fn invalid_state(message: impl Into<String>) -> ApiFailure {
    ApiFailure::new(StatusCode::BAD_REQUEST, "INVALIDJOBSTATE", message)
}

/// Appends one CSV row with every value quoted, as result files are written.
pub fn write_quoted<'a>(
    out: &mut Vec<u8>,
    values: impl IntoIterator<Item = &'a [u8]>,
    delimiter: u8,
    terminator: &[u8],
) {
    for (i, value) in values.into_iter().enumerate() {
        if i > 0 {
            out.push(delimiter);
        }
        out.push(b'"');
        // Quotes are doubled; the runs between them are copied whole. Most values have none,
        // which a plain scan of their few bytes tells.
        if !value.contains(&b'"') {
            out.extend_from_slice(value);
            out.push(b'"');
            continue;
        }
        let mut rest = value;
        while let Some(at) = memchr::memchr(b'"', rest) {
            let (run, after) = rest.split_at(at + 1);
            out.extend_from_slice(run);
            out.push(b'"');
            rest = after;
        }
        out.extend_from_slice(rest);
        out.push(b'"');
    }
    out.extend_from_slice(terminator);
}

#[cfg(test)]
mod tests {
    use super::write_quoted;

    #[test]
    fn result_rows_quote_every_value_and_double_quotes() {
        let mut out = Vec::new();
        let values: [&[u8]; 4] = [b"001", b"", b"say \"hi\"\"", b"\"a;b\nc"];
        write_quoted(&mut out, values, b';', b"\r\n");
        assert_eq!(
            out,
            b"\"001\";\"\";\"say \"\"hi\"\"\"\"\";\"\"\"a;b\nc\"\r\n".to_vec()
        );
    }
}
