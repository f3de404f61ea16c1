//! Queries read into frames: a REST query, a Bulk query's pages, and the planned parallel read
//! (one job, its result pages, and one page at a time).

use super::describe::{query_columns, Describer};
use super::{columns_of_record, read_csv_page, unreadable_page, Column, Frame, FrameBuilder};
use crate::error::{Error, Result};
use crate::select_list::{count_only_column, SelectList};
use serde_json::Value;

impl crate::query::Query<'_> {
    /// Every record of `soql` (all pages) as Arrow record batches, each column typed from
    /// describe. Columns follow the SELECT list (`Account.Name` for a parent's field,
    /// `expr0` or the alias for an aggregate); a list with items such as `FIELDS(ALL)` or a
    /// subquery takes its columns from the first record, as text.
    pub async fn to_arrow(&self, soql: &str, options: crate::query::QueryOptions) -> Result<Frame> {
        let client = self.client();
        let mut describer = Describer::new(client);
        let known = describer.columns_of(soql).await?;
        let mut builder = known.map(FrameBuilder::new);
        let mut pager = self.pages(soql, options);
        let mut total_size = None;
        let mut rows = 0usize;
        while let Some(page) = pager.next_raw_page().await? {
            total_size.get_or_insert(page.total_size);
            let records = page.decode()?.records;
            for record in &records {
                let builder =
                    builder.get_or_insert_with(|| FrameBuilder::new(columns_of_record(record)));
                builder.push_record(record)?;
                rows += 1;
            }
        }
        // `SELECT COUNT() FROM ...` answers with its count as totalSize and no records: the
        // frame is that count, one row.
        if let (Some(column), Some(count), Some(builder), 0) =
            (count_only_column(soql), total_size, builder.as_mut(), rows)
        {
            let mut record = serde_json::Map::new();
            record.insert(column, Value::from(count));
            builder.push_record(&record)?;
        }
        builder
            .unwrap_or_else(|| FrameBuilder::new(Vec::new()))
            .finish()
    }
}

impl crate::bulk::BulkQueryPager {
    /// Every remaining page of the job as Arrow record batches, each column typed through
    /// `object`'s describe (the query's FROM object; read from the SOQL by
    /// [`crate::bulk::Bulk::query_to_arrow`]).
    pub async fn to_arrow(&mut self, object: &str) -> Result<Frame> {
        let delimiter = self.delimiter();
        let client = self.client().clone();
        let mut describer = Describer::new(&client);
        let Some(first) = self.next_page().await? else {
            return FrameBuilder::new(Vec::new()).finish();
        };
        let header: Vec<String> = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .from_reader(first.csv.as_ref())
            .headers()
            .map_err(unreadable_page)?
            .iter()
            .map(str::to_owned)
            .collect();
        let mut builder = FrameBuilder::new(describer.columns_of_header(object, &header).await?);
        let mut page = Some(first);
        // Each page is read into the columns on a blocking thread while the next one downloads.
        while let Some(current) = page.take() {
            let reading = tokio::task::spawn_blocking(move || {
                read_csv_page(&mut builder, &current.csv, delimiter).map(|()| builder)
            });
            let (read, next) = tokio::join!(reading, self.next_page());
            builder = read.map_err(|e| Error::UnexpectedResponse {
                status: 200,
                message: format!("reading a results page stopped: {e}"),
            })??;
            page = next?;
        }
        builder.finish()
    }
}

/// A parallel read planned: one completed query job, its result pages (each readable on its
/// own, by any client of the org) and the typed columns every page has.
#[derive(Debug, Clone)]
pub struct QueryPlan {
    pub job_id: String,
    pub total_records: u64,
    pub result_urls: Vec<String>,
    pub columns: Vec<Column>,
}

impl crate::bulk::Bulk<'_> {
    /// The typed columns of `soql`, refused unless every SELECT item can be typed ahead (a
    /// field that does not exist, `FIELDS(...)`, a subquery), before any job.
    pub async fn planned_columns(&self, soql: &str) -> Result<Vec<Column>> {
        query_columns(self.client(), soql).await?.ok_or_else(|| {
            Error::invalid_argument(
                "soql",
                "name each field in the SELECT list (FIELDS(...) and subqueries cannot be typed ahead)",
            )
        })
    }

    /// Plans a parallel read of `soql`: types its columns (so a bad field fails before any
    /// job), runs one query job and lists its result pages, of at most `max_records` rows, or
    /// of the total split into `partitions` when that is given (Salesforce may choose its own
    /// size; see [`crate::bulk::Bulk::result_pages`]).
    pub async fn plan_query(
        &self,
        soql: &str,
        all_rows: bool,
        max_records: Option<u64>,
        partitions: Option<u64>,
        poll: &crate::bulk::PollOptions,
    ) -> Result<QueryPlan> {
        if partitions == Some(0) {
            return Err(Error::invalid_argument("partitions", "must be positive"));
        }
        let columns = self.planned_columns(soql).await?;
        let pager = self.query(soql, all_rows, None, poll).await?;
        let total = pager.total_records();
        let share = partitions.map(|n| total.div_ceil(n).max(1));
        let page_rows = match (max_records, share) {
            (Some(max), Some(share)) => Some(max.min(share)),
            (one, other) => one.or(other),
        };
        let result_urls = self.result_pages(pager.job_id(), page_rows).await?;
        Ok(QueryPlan {
            job_id: pager.job_id().to_owned(),
            total_records: total,
            result_urls,
            columns,
        })
    }

    /// One result page of a completed query job (a `resultUrl` of
    /// [`crate::bulk::Bulk::result_pages`]) as Arrow record batches with `columns`, which
    /// must be the page's header in order (as [`query_columns`] gives them for the job's
    /// query).
    pub async fn result_page_to_arrow(
        &self,
        job_id: &str,
        result_url: &str,
        columns: Vec<Column>,
    ) -> Result<Frame> {
        let page = self.result_page(job_id, result_url).await?;
        tokio::task::spawn_blocking(move || {
            let mut reader = csv::ReaderBuilder::new().from_reader(page.csv.as_ref());
            let header = reader.byte_headers().map_err(unreadable_page)?;
            let same = header.len() == columns.len()
                && header
                    .iter()
                    .zip(&columns)
                    .all(|(cell, column)| cell.eq_ignore_ascii_case(column.name.as_bytes()));
            if !same {
                return Err(Error::UnexpectedResponse {
                    status: 200,
                    message: format!(
                        "the results page has columns {:?}, not the planned {:?}",
                        String::from_utf8_lossy(header.as_slice()),
                        columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>()
                    ),
                });
            }
            let mut builder = FrameBuilder::new(columns);
            read_csv_page(&mut builder, &page.csv, b',')?;
            builder.finish()
        })
        .await
        .map_err(|e| Error::UnexpectedResponse {
            status: 200,
            message: format!("reading a results page stopped: {e}"),
        })?
    }
}

impl crate::bulk::Bulk<'_> {
    /// Runs a bulk query and reads every page into Arrow record batches (see
    /// [`crate::bulk::BulkQueryPager::to_arrow`]).
    pub async fn query_to_arrow(
        &self,
        soql: &str,
        all_rows: bool,
        max_records: Option<u64>,
        poll: &crate::bulk::PollOptions,
    ) -> Result<Frame> {
        let object = SelectList::parse(soql)
            .map(|l| l.object)
            .ok_or_else(|| Error::invalid_argument("soql", "no FROM object in the query"))?;
        let mut pager = self.query(soql, all_rows, max_records, poll).await?;
        pager.to_arrow(&object).await
    }
}
