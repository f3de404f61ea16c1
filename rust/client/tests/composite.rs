//! Composite, batch, tree and collections through the Rust API against the emulator.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use forcelink::{BatchSubrequest, Subrequest};
mod common;

use common::client_for;
use forcelink_emulator::Emulator;
use serde_json::json;

fn sub(method: &str, url: &str, reference: &str, body: Option<serde_json::Value>) -> Subrequest {
    Subrequest {
        method: method.into(),
        url: url.into(),
        reference_id: reference.into(),
        body,
        http_headers: None,
    }
}

#[tokio::test]
async fn composite_references_and_all_or_none_rollback() {
    let org = Emulator::builder().start().await.unwrap();
    let sf = client_for(&org);
    let ok = sf
        .composite()
        .execute(
            &[
                sub(
                    "POST",
                    "sobjects/Account",
                    "acct",
                    Some(json!({"Name": "Ref Co"})),
                ),
                sub(
                    "POST",
                    "sobjects/Contact",
                    "person",
                    Some(json!({"LastName": "Ref", "AccountId": "@{acct.id}"})),
                ),
                sub(
                    "GET",
                    "sobjects/Contact/@{person.id}?fields=AccountId",
                    "read",
                    None,
                ),
            ],
            true,
            false,
        )
        .await
        .unwrap();
    assert_eq!(
        ok.iter().map(|r| r.http_status_code).collect::<Vec<_>>(),
        vec![201, 201, 200]
    );
    assert_eq!(ok[2].body["AccountId"], ok[0].body["id"]);

    let failed = sf
        .composite()
        .execute(
            &[
                sub(
                    "POST",
                    "sobjects/Account",
                    "a1",
                    Some(json!({"Name": "Rolled Back"})),
                ),
                sub(
                    "POST",
                    "sobjects/Contact",
                    "bad",
                    Some(json!({"Email": "no-last-name@example.com"})),
                ),
            ],
            true,
            false,
        )
        .await
        .unwrap();
    assert_eq!(failed[0].http_status_code, 400);
    assert_eq!(failed[0].body[0]["errorCode"], "PROCESSING_HALTED");
    assert_eq!(failed[1].body[0]["errorCode"], "REQUIRED_FIELD_MISSING");
    let left = sf
        .query()
        .query("SELECT COUNT() FROM Account WHERE Name = 'Rolled Back'")
        .await
        .unwrap();
    assert_eq!(left.total_size, 0, "the rollback leaves no record behind");
}

#[tokio::test]
async fn collections_of_1000_keep_order_and_batch_halts() {
    let org = Emulator::builder().start().await.unwrap();
    let sf = client_for(&org);
    let mut records: Vec<_> = (0..1000)
        .map(|i| json!({"attributes": {"type": "Account"}, "Name": format!("C{i:04}")}))
        .collect();
    records[500] = json!({"attributes": {"type": "Account"}, "Description": "no name"});
    let results = sf
        .composite()
        .collections()
        .create(&records, false)
        .await
        .unwrap();
    assert_eq!(results.len(), 1000);
    assert!(!results[500].success);
    assert_eq!(results[500].errors[0].error_code, "REQUIRED_FIELD_MISSING");
    assert_eq!(results.iter().filter(|r| r.success).count(), 999);
    let ids: Vec<String> = results.iter().filter_map(|r| r.id.clone()).collect();
    let read = sf
        .composite()
        .collections()
        .retrieve("Account", &ids, &["Name".to_owned()])
        .await
        .unwrap();
    let names: Vec<&str> = read
        .iter()
        .map(|r| r.as_ref().unwrap()["Name"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (0..1000)
        .filter(|i| *i != 500)
        .map(|i| format!("C{i:04}"))
        .collect();
    assert_eq!(names, expected);
    assert!(
        sf.composite()
            .collections()
            .create(&records, true)
            .await
            .is_err(),
        "no atomic call over 200 records"
    );

    let batch = sf
        .composite()
        .batch(
            &[
                BatchSubrequest {
                    method: "GET".into(),
                    url: "sobjects/Account/001000000000000AAA".into(),
                    rich_input: None,
                },
                BatchSubrequest {
                    method: "GET".into(),
                    url: format!("sobjects/Account/{}", ids[0]),
                    rich_input: None,
                },
            ],
            true,
        )
        .await
        .unwrap();
    assert!(batch.has_errors);
    assert_eq!(batch.results[1].status_code, 412);
}
