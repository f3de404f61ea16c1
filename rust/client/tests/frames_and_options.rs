//! Data frames and per-call options through the Rust API alone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::Array;
use arrow_schema::{DataType, TimeUnit};
use common::client_for;
use forcelink::bulk::PollOptions;
use forcelink::{CallOptions, Error, QueryOptions, TransportErrorKind};
use forcelink_emulator::{Emulator, Fault};
use serde_json::json;
use std::time::Duration;

async fn seeded() -> (Emulator, forcelink::Client) {
    let org = Emulator::builder().start().await.unwrap();
    let sf = client_for(&org);
    let acme = sf
        .sobjects()
        .create("Account", &json!({"Name": "Acme", "NumberOfEmployees": 50}))
        .await
        .unwrap()
        .id;
    for (name, account, amount) in [
        ("A deal", Some(&acme), Some(10.5)),
        ("B orphan", None, None),
    ] {
        let mut record = json!({"Name": name, "StageName": "Prospecting", "CloseDate": "2026-03-31",
                                "IsWon": false, "Amount": amount});
        if let Some(id) = account {
            record["AccountId"] = json!(id);
        }
        sf.sobjects().create("Opportunity", &record).await.unwrap();
    }
    (org, sf)
}

const SOQL: &str = "SELECT Name, Account.NumberOfEmployees, CloseDate, Amount, IsWon, CreatedDate \
                    FROM Opportunity ORDER BY Name";

fn check(frame: &forcelink::frames::Frame) {
    let types: Vec<(String, DataType)> = frame
        .schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect();
    assert_eq!(
        types,
        vec![
            ("Name".into(), DataType::LargeUtf8),
            ("Account.NumberOfEmployees".into(), DataType::Int64),
            ("CloseDate".into(), DataType::Date32),
            ("Amount".into(), DataType::Float64),
            ("IsWon".into(), DataType::Boolean),
            (
                "CreatedDate".into(),
                DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
            ),
        ]
    );
    assert_eq!(frame.num_rows(), 2);
    let batch = &frame.batches[0];
    let employees = batch.column(1).as_primitive::<Int64Type>();
    assert_eq!((employees.value(0), employees.is_null(1)), (50, true));
    let amount = batch.column(3).as_primitive::<Float64Type>();
    assert_eq!((amount.value(0), amount.is_null(1)), (10.5, true));
}

#[tokio::test]
async fn rest_and_bulk_queries_as_typed_record_batches() {
    let (_org, sf) = seeded().await;
    check(
        &sf.query()
            .to_arrow(SOQL, QueryOptions::default())
            .await
            .unwrap(),
    );
    let poll = PollOptions {
        initial: Duration::from_millis(20),
        ..PollOptions::default()
    };
    check(
        &sf.bulk()
            .query_to_arrow(SOQL, false, None, &poll)
            .await
            .unwrap(),
    );
}

#[tokio::test]
async fn options_replace_the_librarys_headers_and_bound_each_request() {
    let org = Emulator::builder().start().await.unwrap();
    let records: Vec<_> = (0..450).map(|i| json!({"Name": format!("A{i}")})).collect();
    org.seed_records("Account", &records).unwrap();
    let sf = client_for(&org);
    let paged = sf.with_options(
        CallOptions::new(None, &[("Sforce-Query-Options", "batchSize=200")]).unwrap(),
    );
    let page = paged.query().query("SELECT Id FROM Account").await.unwrap();
    assert_eq!((page.records.len(), page.total_size), (200, 450));
    let whole = sf.query().query("SELECT Id FROM Account").await.unwrap();
    assert_eq!(whole.records.len(), 450, "the client itself is unchanged");

    assert!(matches!(
        CallOptions::new(None, &[("Authorization", "Bearer x")]),
        Err(Error::InvalidArgument { .. })
    ));
    org.inject_fault(Fault {
        method: None,
        path_contains: "/limits".into(),
        status: 200,
        error_code: String::new(),
        message: String::new(),
        times: 10,
        retry_after: None,
        delay: Some(Duration::from_secs(2)),
        drop_connection: false,
        after_commit: false,
        rate: None,
    });
    let hasty = sf.with_options(
        CallOptions::new(Some(Duration::from_millis(200)), &[] as &[(&str, &str)]).unwrap(),
    );
    // The org answers after 2 s: only the handle's 200 ms timeout makes this fail.
    let err = hasty.limits().await.unwrap_err();
    assert!(
        matches!(&err, Error::Transport(f) if f.kind == TransportErrorKind::Timeout),
        "{err}"
    );
    assert!(sf.limits().await.is_ok(), "the client itself waits");
}
