//! Bulk query jobs: create, wait, then read the results page by page (`Sforce-Locator`), each
//! page at most `maxRecords` rows, so memory stays flat whatever the total.

use super::{check_job_id, delimiter_byte, Bulk, JobKind, PollOptions};
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
    #[cfg(feature = "arrow")]
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
        let page = page_of(response, &self.job_id);
        let next = page.next_locator.clone();
        self.done = next.is_none();
        self.locator = next;
        Ok(Some(page))
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

/// One answer of `GET /jobs/query/{id}/resultPages` (API 58.0+).
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResultPagesAnswer {
    #[serde(default)]
    result_pages: Vec<ResultPageLink>,
    #[serde(default)]
    next_records_url: Option<String>,
    #[serde(default)]
    done: bool,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResultPageLink {
    result_url: String,
}

/// Answers of `resultPages` followed before giving up: each holds up to five pages, so this
/// bounds a plan at 50,000 pages, far beyond any job's results.
const MAX_RESULT_PAGE_ANSWERS: usize = 10_000;

impl Bulk<'_> {
    /// The result pages of a completed query job, each a `resultUrl` that reads exactly one
    /// page on its own (`GET /jobs/query/{id}/resultPages`, followed through
    /// `nextRecordsUrl`). `max_records` asks for pages of at most that many rows; Salesforce
    /// may choose its own size. The pages can be read in any order, by any client of the org.
    pub async fn result_pages(
        &self,
        job_id: &str,
        max_records: Option<u64>,
    ) -> Result<Vec<String>> {
        if max_records == Some(0) {
            return Err(Error::invalid_argument("max_records", "must be positive"));
        }
        let mut url = self.job_url(JobKind::Query, Some(job_id), &["resultPages"])?;
        if let Some(max) = max_records {
            url.query_pairs_mut()
                .append_pair("maxRecords", &max.to_string());
        }
        let mut pages = Vec::new();
        for _ in 0..MAX_RESULT_PAGE_ANSWERS {
            let answer: ResultPagesAnswer = self.client.get_json(url).await?;
            for link in answer.result_pages {
                // Checked now, so a plan never hands out a link that could not be read.
                self.result_page_url(job_id, &link.result_url)?;
                pages.push(link.result_url);
            }
            match answer.next_records_url {
                Some(next) if !answer.done => {
                    url = self.result_page_url(job_id, &next)?;
                }
                _ => return Ok(pages),
            }
        }
        Err(Error::UnexpectedResponse {
            status: 200,
            message: format!(
                "resultPages of job {job_id} did not end after {MAX_RESULT_PAGE_ANSWERS} answers"
            ),
        })
    }

    /// A link of `resultPages` as a URL of this org, refused unless it reads this job's
    /// results (the token is only sent there).
    fn result_page_url(&self, job_id: &str, link: &str) -> Result<url::Url> {
        let url = self.client.resolve_path(link)?;
        let segments: Vec<&str> = url
            .path_segments()
            .map(Iterator::collect)
            .unwrap_or_default();
        let ours = matches!(
            segments.as_slice(),
            ["services", "data", _, "jobs", "query", id, "results" | "resultPages" | "resultpages"]
                if *id == job_id
        );
        if !ours {
            return Err(Error::invalid_argument(
                "result_url",
                format!("{link:?} is not a results link of query job {job_id}"),
            ));
        }
        Ok(url)
    }

    /// Reads one page of a completed query job by its `resultUrl` (see
    /// [`Bulk::result_pages`]); reading it again reads the same rows.
    pub async fn result_page(&self, job_id: &str, result_url: &str) -> Result<BulkQueryPage> {
        check_job_id(job_id)?;
        let url = self.result_page_url(job_id, result_url)?;
        let mut call = RestCall::new(Method::GET, url, None, Idempotency::Idempotent);
        call.accept = "text/csv";
        let response = self.client.execute(call).await?;
        let page = page_of(response, job_id);
        Ok(page)
    }
}

/// A results answer as a page: its body, row count and next locator.
fn page_of(response: crate::transport::HttpResponse, job_id: &str) -> BulkQueryPage {
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
    tracing::debug!(target: "forcelink::bulk", job_id = %job_id, records, "bulk query page");
    BulkQueryPage {
        csv: response.body,
        records,
        next_locator: next,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_results_page_reads_into_its_header_and_rows_with_its_delimiter() {
        let page = BulkQueryPage {
            csv: Bytes::from_static(b"Id;Name\n001;\"a;b\"\n002;c\n"),
            records: 2,
            next_locator: None,
        };
        let (header, rows) = page.rows(b';').unwrap();
        assert_eq!(header, ["Id", "Name"]);
        assert_eq!(rows, [["001", "a;b"], ["002", "c"]]);
        let ragged = BulkQueryPage {
            csv: Bytes::from_static(b"Id,Name\n001\n"),
            records: 1,
            next_locator: None,
        };
        assert!(matches!(
            ragged.rows(b','),
            Err(Error::UnexpectedResponse { status: 200, .. })
        ));
    }
}
