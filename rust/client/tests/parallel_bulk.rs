//! Parallel Bulk reads (result pages read on their own) and staged writes (jobs left open until
//! a commit), through the Rust API alone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use arrow_array::{Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use common::client_for;
use forcelink::arrow_csv::BulkCsvWriter;
use forcelink::bulk::{IngestOptions, PollOptions, StagedData};
use forcelink::frames::{query_columns, ColumnKind};
use forcelink::{Error, Operation, StagedJob};
use forcelink_emulator::Emulator;
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;

const ROWS: usize = 2_345;

async fn seeded() -> (Emulator, forcelink::Client) {
    let org = Emulator::builder().start().await.unwrap();
    let records: Vec<serde_json::Value> = (0..ROWS)
        .map(|i| json!({"Name": format!("Account {i}"), "NumberOfEmployees": i}))
        .collect();
    org.seed_records("Account", &records).unwrap();
    let sf = client_for(&org);
    (org, sf)
}

#[tokio::test]
async fn result_pages_are_read_one_by_one_into_typed_frames() {
    let (_org, sf) = seeded().await;
    let soql = "SELECT Id, Name, NumberOfEmployees FROM Account";
    let columns = query_columns(&sf, soql).await.unwrap().unwrap();
    let kinds: Vec<ColumnKind> = columns.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [ColumnKind::Text, ColumnKind::Text, ColumnKind::Integer]
    );
    let bulk = sf.bulk();
    let pager = bulk
        .query(soql, false, None, &PollOptions::default())
        .await
        .unwrap();
    let urls = bulk.result_pages(pager.job_id(), Some(300)).await.unwrap();
    // 2,345 rows in pages of 300 take 8 pages, listed five to an answer.
    assert_eq!(urls.len(), 8);
    let mut ids = BTreeSet::new();
    for url in urls.iter().rev() {
        let frame = bulk
            .result_page_to_arrow(pager.job_id(), url, columns.clone())
            .await
            .unwrap();
        for batch in &frame.batches {
            let id = batch
                .column(0)
                .as_any()
                .downcast_ref::<arrow_array::LargeStringArray>()
                .unwrap();
            ids.extend(id.iter().flatten().map(str::to_owned));
        }
    }
    assert_eq!(
        ids.len(),
        ROWS,
        "every row once, whatever the order of the pages"
    );
    // Read again, a page gives the same rows.
    let again = bulk
        .result_page_to_arrow(pager.job_id(), &urls[3], columns.clone())
        .await
        .unwrap();
    assert_eq!(again.num_rows(), 300);
}

#[tokio::test]
async fn links_to_another_job_or_host_and_unknown_fields_are_refused() {
    let (_org, sf) = seeded().await;
    let bulk = sf.bulk();
    let pager = bulk
        .query(
            "SELECT Id FROM Account",
            false,
            None,
            &PollOptions::default(),
        )
        .await
        .unwrap();
    let job = pager.job_id();
    for bad in [
        "https://elsewhere.example.com/services/data/v62.0/jobs/query/x/results".to_owned(),
        format!("/services/data/v62.0/sobjects/Account/{job}"),
        "/services/data/v62.0/jobs/query/750000000000000AAA/results".to_owned(),
    ] {
        let err = bulk.result_page(job, &bad).await.unwrap_err();
        assert!(
            matches!(err, Error::InvalidArgument { .. }),
            "{bad}: {err:?}"
        );
    }
    let err = query_columns(&sf, "SELECT Id, Nmae FROM Account")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Nmae"), "{err}");
}

fn batch(start: i64, rows: i64) -> RecordBatch {
    let schema = Schema::new(vec![
        Field::new("Name", DataType::Utf8, true),
        Field::new("NumberOfEmployees", DataType::Int64, true),
        Field::new("AnnualRevenue", DataType::Float64, true),
    ]);
    let range = start..start + rows;
    RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new(StringArray::from_iter_values(
                range.clone().map(|i| format!("W{i}")),
            )),
            Arc::new(Int64Array::from_iter_values(range.clone())),
            Arc::new(Float64Array::from_iter_values(
                range.map(|i| i as f64 / 2.0),
            )),
        ],
    )
    .unwrap()
}

async fn count(sf: &forcelink::Client, soql: &str) -> u64 {
    sf.query().query(soql).await.unwrap().total_size
}

#[tokio::test]
async fn staged_jobs_run_only_once_committed_and_aborted_ones_never() {
    let org = Emulator::builder().start().await.unwrap();
    let sf = client_for(&org);
    let bulk = sf.bulk();
    let mut staged = Vec::new();
    for part in 0..3 {
        let mut writer = BulkCsvWriter::new("");
        writer.write(&batch(part * 100, 100)).unwrap();
        let (csv, rows) = writer.take().unwrap();
        staged.push(
            bulk.stage(
                "Account",
                Operation::Insert,
                None,
                StagedData::Bytes(csv),
                rows,
            )
            .await
            .unwrap(),
        );
    }
    let dropped: Vec<String> = vec![staged.pop().unwrap().job_id];
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(
        count(&sf, "SELECT COUNT() FROM Account").await,
        0,
        "open jobs run nothing"
    );
    assert_eq!(bulk.abort_staged(&dropped).await.unwrap(), dropped);
    let result = bulk
        .commit_staged(&staged, &IngestOptions::default())
        .await
        .unwrap();
    assert_eq!(result.records_processed(), 200);
    assert_eq!(result.records_unprocessed(), 0);
    assert_eq!(count(&sf, "SELECT COUNT() FROM Account").await, 200);
    assert_eq!(
        count(&sf, "SELECT COUNT() FROM Account WHERE Name = 'W250'").await,
        0
    );
    // A commit tried again waits for the same jobs and loads nothing twice.
    let again = bulk
        .commit_staged(&staged, &IngestOptions::default())
        .await
        .unwrap();
    assert_eq!(again.records_processed(), 200);
    assert_eq!(count(&sf, "SELECT COUNT() FROM Account").await, 200);
    // Ended jobs are left as they are.
    let ids: Vec<String> = staged
        .iter()
        .map(|j: &StagedJob| j.job_id.clone())
        .collect();
    assert!(bulk.abort_staged(&ids).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_plan_types_the_columns_and_splits_the_job_into_pages() {
    let (org, sf) = seeded().await;
    let bulk = sf.bulk();
    let plan = bulk
        .plan_query(
            "SELECT Id, NumberOfEmployees FROM Account",
            false,
            None,
            Some(4),
            &PollOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(plan.total_records, ROWS as u64);
    assert_eq!(plan.result_urls.len(), 4, "2,345 rows in four pages of 587");
    assert_eq!(plan.columns[1].kind, ColumnKind::Integer);
    let jobs = org.stats()["requests"]["POST jobs/query"].as_u64().unwrap();
    let err = bulk
        .plan_query(
            "SELECT Id, Nmae FROM Account",
            false,
            None,
            None,
            &PollOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Nmae"), "{err}");
    assert_eq!(
        org.stats()["requests"]["POST jobs/query"].as_u64().unwrap(),
        jobs,
        "refused before any job"
    );
}
