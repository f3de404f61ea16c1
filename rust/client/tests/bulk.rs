//! Bulk API 2.0 through the Rust API against the emulator: a load split into several jobs,
//! failures carried with their rows, results streamed, and a query paged by locator.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use forcelink::bulk::{IngestOptions, Operation, PollOptions, ResultKind, SplitOptions};
use forcelink::{CsvSplitter, Error};
use forcelink_emulator::Emulator;
use std::collections::HashSet;
use std::time::Duration;

fn fast_poll() -> PollOptions {
    PollOptions {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(200),
        timeout: Duration::from_secs(120),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_larger_than_the_limit_is_split_and_every_row_is_accounted_for() {
    let org = Emulator::builder()
        .tls(true)
        .bulk_upload_limit(40_000)
        .start()
        .await
        .unwrap();
    let client = common::client_for(&org);
    let mut csv = String::from("Name,NumberOfEmployees,Description\n");
    for i in 0..2_500 {
        // Every 100th row has a number that is not one.
        let employees = if i % 100 == 7 {
            "many".to_owned()
        } else {
            i.to_string()
        };
        csv.push_str(&format!(
            "\"Acme {i}\",{employees},\"line one\nline two\"\n"
        ));
    }
    let split = CsvSplitter::split_reader(
        csv.as_bytes(),
        SplitOptions {
            max_upload_bytes: 40_000,
            ..SplitOptions::default()
        },
    )
    .unwrap();
    assert!(split.chunks.len() >= 3, "{} chunks", split.chunks.len());
    let options = IngestOptions {
        poll: fast_poll(),
        ..IngestOptions::default()
    };
    let result = client
        .bulk()
        .ingest("Account", Operation::Insert, split, &options)
        .await
        .unwrap();
    assert_eq!(result.records_processed(), 2_500);
    assert_eq!(result.records_failed(), 25);
    assert_eq!(result.records_unprocessed(), 0);
    assert!(result.jobs.len() >= 3);

    let mut names = HashSet::new();
    let mut ids = HashSet::new();
    let mut failed = 0;
    for job in result.job_ids() {
        let mut ok = client
            .bulk()
            .ingest_results(&job, ResultKind::Successful)
            .await
            .unwrap();
        while let Some(rows) = ok.next_rows().await.unwrap() {
            for row in rows {
                assert_eq!(row[1], "true");
                assert!(ids.insert(row[0].clone()));
                assert!(names.insert(row[2].clone()));
                assert_eq!(row[4], "line one\nline two");
            }
        }
        assert_eq!(
            ok.header().unwrap()[..2],
            ["sf__Id".to_owned(), "sf__Created".to_owned()]
        );
        let mut bad = client
            .bulk()
            .ingest_results(&job, ResultKind::Failed)
            .await
            .unwrap();
        while let Some(rows) = bad.next_rows().await.unwrap() {
            for row in rows {
                assert_eq!(row[0], "");
                assert!(
                    row[1].starts_with("INVALID_TYPE_ON_FIELD_IN_RECORD") || row[1].contains(':'),
                    "{}",
                    row[1]
                );
                assert_eq!(row[3], "many");
                failed += 1;
            }
        }
    }
    assert_eq!(ids.len(), 2_475);
    assert_eq!(failed, 25);

    // A bulk query reads them back in pages of 1,000.
    let mut pager = client
        .bulk()
        .query(
            "SELECT Id, Name FROM Account",
            false,
            Some(1_000),
            &fast_poll(),
        )
        .await
        .unwrap();
    assert_eq!(pager.total_records(), 2_475);
    let mut pages = 0;
    let mut seen = HashSet::new();
    while let Some(page) = pager.next_page().await.unwrap() {
        pages += 1;
        let mut reader = csv::Reader::from_reader(page.csv.as_ref());
        assert_eq!(reader.headers().unwrap(), vec!["Id", "Name"]);
        let mut count = 0;
        for record in reader.records() {
            assert!(seen.insert(record.unwrap()[0].to_owned()));
            count += 1;
        }
        assert_eq!(count, page.records);
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ids);
}

#[tokio::test]
async fn a_wrong_object_fails_before_any_upload_and_a_bad_id_is_refused() {
    let org = Emulator::builder().start().await.unwrap();
    let client = common::client_for(&org);
    let split = CsvSplitter::split_reader(&b"Name\nA\n"[..], SplitOptions::default()).unwrap();
    let err = client
        .bulk()
        .ingest(
            "Nope__c",
            Operation::Insert,
            split,
            &IngestOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.error_code(), Some("INVALIDJOB"), "{err}");
    let err = client
        .bulk()
        .job_info(forcelink::JobKind::Ingest, "../sobjects")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    assert_eq!(
        org.stats()["requests"].get("PUT jobs/ingest/{id}/batches"),
        None
    );
}

/// Rows `first..=last` as CSV with an `AccountNumber` of `N<row>`, for counting each row.
fn numbered_rows(rows: u64) -> String {
    let mut csv = String::from("Name,AccountNumber\n");
    for i in 1..=rows {
        csv.push_str(&format!("Acme {i},N{i}\n"));
    }
    csv
}

async fn account_numbers(client: &forcelink::Client) -> Vec<String> {
    let page = client
        .query()
        .query_all("SELECT AccountNumber FROM Account")
        .await
        .unwrap();
    page.records
        .iter()
        .map(|r| r["AccountNumber"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_load_names_its_running_jobs_and_unsent_rows_and_finishes_exactly_once() {
    let org = Emulator::builder().start().await.unwrap();
    // Each job pauses a second after its one batch: the interrupt finds the first job running.
    org.set_bulk_batch_delay(Duration::from_secs(1));
    let client = common::client_for(&org);
    let csv = numbered_rows(3_000);
    let split = |rows: Option<Vec<(u64, u64)>>| {
        CsvSplitter::split_reader(
            csv.as_bytes(),
            SplitOptions {
                max_records: Some(500),
                rows,
                ..SplitOptions::default()
            },
        )
        .unwrap()
    };
    let cancel = forcelink::CancellationToken::new();
    let options = IngestOptions {
        poll: fast_poll(),
        parallelism: 2,
        cancel: Some(cancel.clone()),
        ..IngestOptions::default()
    };
    let interrupter = {
        let client = common::client_for(&org);
        tokio::spawn(async move {
            while account_numbers(&client).await.is_empty() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            cancel.cancel();
        })
    };
    let error = client
        .bulk()
        .ingest("Account", Operation::Insert, split(None), &options)
        .await
        .unwrap_err();
    interrupter.await.unwrap();
    let Error::BulkIncomplete {
        job_ids,
        job_states,
        unsent_rows,
        cause,
        ..
    } = error
    else {
        panic!("expected BulkIncomplete, got {error:?}");
    };
    assert!(matches!(*cause, Error::Interrupted), "{cause:?}");
    assert_eq!(job_ids.len(), job_states.len());
    assert!(!job_ids.is_empty(), "the running first job is named");
    assert!(!unsent_rows.is_empty(), "later jobs were never sent");
    let unsent: u64 = unsent_rows.iter().map(|(a, b)| b - a + 1).sum();
    assert_eq!(unsent % 500, 0, "whole chunks: {unsent_rows:?}");

    // Resume the named jobs, load just the unsent rows: each row is in the org once.
    org.set_bulk_batch_delay(Duration::ZERO);
    let resumed = client
        .bulk()
        .resume(
            &job_ids,
            &IngestOptions {
                poll: fast_poll(),
                ..IngestOptions::default()
            },
        )
        .await
        .unwrap();
    let rest = client
        .bulk()
        .ingest(
            "Account",
            Operation::Insert,
            split(Some(unsent_rows.clone())),
            &IngestOptions {
                poll: fast_poll(),
                ..IngestOptions::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.records_processed(), unsent);
    assert_eq!(resumed.records_processed() + unsent, 3_000);
    let numbers = account_numbers(&client).await;
    let distinct: HashSet<_> = numbers.iter().collect();
    assert_eq!(numbers.len(), 3_000);
    assert_eq!(distinct.len(), 3_000);
}

#[test]
fn a_row_selection_keeps_only_those_rows_and_each_chunk_knows_its_rows() {
    let csv = numbered_rows(10);
    let split = CsvSplitter::split_reader(
        csv.as_bytes(),
        SplitOptions {
            max_records: Some(2),
            rows: Some(vec![(2, 4), (7, 7), (9, 10)]),
            ..SplitOptions::default()
        },
    )
    .unwrap();
    assert_eq!(split.records, 6);
    let rows: Vec<_> = split.chunks.iter().map(|c| c.rows.clone()).collect();
    assert_eq!(
        rows,
        vec![vec![(2, 3)], vec![(4, 4), (7, 7)], vec![(9, 10)]]
    );
    let bad = CsvSplitter::split_reader(
        csv.as_bytes(),
        SplitOptions {
            rows: Some(vec![(0, 3)]),
            ..SplitOptions::default()
        },
    );
    assert!(matches!(bad, Err(Error::InvalidArgument { argument, .. }) if argument == "rows"));
}
