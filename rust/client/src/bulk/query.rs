//! Bulk query jobs: create, wait, then read the results page by page (`Sforce-Locator`), each
//! page at most `maxRecords` rows, so memory stays flat whatever the total.

use super::{delimiter_byte, Bulk, JobKind, PollOptions};
use crate::client::{Client, RestCall};
use crate::error::{Error, Result};
use crate::resilience::Idempotency;
use bytes::Bytes;
use http::Method;

/// One page of query results: CSV with its header row.
#[derive(Debug, Clone)]
pub struct BulkQueryPage {
    pub csv: Bytes,
    /// Rows in this page (`Sforce-NumberOfRecords`).
    pub records: u64,
    /// The locator of the next page; None after the last.
    pub next_locator: Option<String>,
}

impl BulkQueryPage {
    /// The header and the rows of this page.
    pub fn rows(&self, delimiter: u8) -> Result<(Vec<String>, Vec<Vec<String>>)> {
        let bad = |e: csv::Error| Error::UnexpectedResponse {
            status: 200,
            message: format!("cannot read a query results page: {e}"),
        };
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .from_reader(self.csv.as_ref());
        let header = reader
            .headers()
            .map_err(bad)?
            .iter()
            .map(str::to_owned)
            .collect();
        let mut rows = Vec::with_capacity(usize::try_from(self.records).unwrap_or(0));
        for record in reader.records() {
            rows.push(record.map_err(bad)?.iter().map(str::to_owned).collect());
        }
        Ok((header, rows))
    }
}

/// Walks a completed query job's results.
#[derive(Debug, Clone)]
pub struct BulkQueryPager {
    client: Client,
    job_id: String,
    delimiter: u8,
    total: u64,
    max_records: Option<u64>,
    locator: Option<String>,
    done: bool,
}

impl BulkQueryPager {
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    pub fn job_id(&self) -> &str {
        &self.job_id
    }

    /// Rows the job found.
    pub fn total_records(&self) -> u64 {
        self.total
    }

    pub fn delimiter(&self) -> u8 {
        self.delimiter
    }

    /// The next page, or None when every page was read.
    pub async fn next_page(&mut self) -> Result<Option<BulkQueryPage>> {
        if self.done {
            return Ok(None);
        }
        let mut url = self
            .client
            .data_url(&["jobs", "query", &self.job_id, "results"])?;
        if let Some(max) = self.max_records {
            url.query_pairs_mut()
                .append_pair("maxRecords", &max.to_string());
        }
        if let Some(locator) = &self.locator {
            url.query_pairs_mut().append_pair("locator", locator);
        }
        let mut call = RestCall::new(Method::GET, url, None, Idempotency::Idempotent);
        call.accept = "text/csv";
        let response = self.client.execute(call).await?;
        let header = |name: &str| {
            response
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let records = header("sforce-numberofrecords")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let next = header("sforce-locator").filter(|l| !l.is_empty() && l != "null");
        crate::metrics::record_bulk_records("query", "retrieved", records);
        tracing::debug!(target: "forcelink::bulk", job_id = %self.job_id, records, "bulk query page");
        self.done = next.is_none();
        self.locator.clone_from(&next);
        Ok(Some(BulkQueryPage {
            csv: response.body,
            records,
            next_locator: next,
        }))
    }
}

pub(super) async fn start(
    client: &Client,
    soql: &str,
    all_rows: bool,
    max_records: Option<u64>,
    poll: &PollOptions,
) -> Result<BulkQueryPager> {
    if soql.trim().is_empty() {
        return Err(Error::invalid_argument("soql", "the query is empty"));
    }
    if max_records == Some(0) {
        return Err(Error::invalid_argument("max_records", "must be positive"));
    }
    let body = serde_json::json!({
        "operation": if all_rows { "queryAll" } else { "query" },
        "query": soql,
        "contentType": "CSV",
        "columnDelimiter": "COMMA",
        "lineEnding": "LF",
    });
    let url = client.data_url(&["jobs", "query"])?;
    let response = client
        .execute(RestCall::new(
            Method::POST,
            url,
            Some(Bytes::from(body.to_string())),
            Idempotency::NonIdempotent,
        ))
        .await?;
    let created: super::JobInfo = crate::client::decode_json(&response)?;
    let info = Bulk::new(client)
        .wait(JobKind::Query, &created.id, poll, None, |_| {})
        .await?;
    if info.state != "JobComplete" {
        return Err(Error::BulkJob {
            job_id: info.id.clone(),
            state: info.state.clone(),
            message: info.error_message.clone().unwrap_or_default(),
        });
    }
    Ok(BulkQueryPager {
        client: client.clone(),
        delimiter: info
            .column_delimiter
            .as_deref()
            .and_then(delimiter_byte)
            .unwrap_or(b','),
        job_id: info.id,
        total: info.number_records_processed,
        max_records,
        locator: None,
        done: false,
    })
}
