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

#[tokio::test]
async fn trees_and_collection_updates_upserts_and_deletes() {
    let org = Emulator::builder().start().await.unwrap();
    org.define_object(
        "Part__c",
        &serde_json::json!({"Code__c": {"type": "string", "external_id": true, "unique": true}}),
    )
    .unwrap();
    let sf = client_for(&org);
    let composite = sf.composite();

    let tree = composite
        .tree(
            "Account",
            &[json!({
                "attributes": {"type": "Account", "referenceId": "acme"},
                "Name": "Tree Co",
                "Contacts": {"records": [
                    {"attributes": {"type": "Contact", "referenceId": "ann"}, "LastName": "Ann"},
                    {"attributes": {"type": "Contact", "referenceId": "bob"}, "LastName": "Bob"}
                ]}
            })],
        )
        .await
        .unwrap();
    assert!(!tree.has_errors);
    assert_eq!(
        tree.results
            .iter()
            .map(|r| r.reference_id.as_str())
            .collect::<Vec<_>>(),
        ["acme", "ann", "bob"]
    );
    let account = tree.results[0].id.clone().unwrap();
    let contact = sf
        .sobjects()
        .get("Contact", tree.results[1].id.as_deref().unwrap(), None)
        .await
        .unwrap();
    assert_eq!(contact["AccountId"], account.as_str());
    for bad in [
        vec![],
        vec![json!({"attributes": {"type": "Account"}, "Name": "no reference"})],
        vec![
            json!({"attributes": {"type": "Account", "referenceId": "a"},
                    "Contacts": {"records": [{"LastName": "untyped"}]}}),
        ],
    ] {
        assert!(matches!(
            composite.tree("Account", &bad).await,
            Err(forcelink::Error::InvalidArgument { .. })
        ));
    }

    let collections = composite.collections();
    let updated = collections
        .update(
            &[json!({"attributes": {"type": "Account"}, "Id": account, "Industry": "Energy"})],
            true,
        )
        .await
        .unwrap();
    assert!(updated[0].success);
    let read = sf.sobjects().get("Account", &account, None).await.unwrap();
    assert_eq!(read["Industry"], "Energy");

    let parts: Vec<_> = (0..3)
        .map(|i| json!({"Code__c": format!("P-{i}"), "Name": format!("part {i}")}))
        .collect();
    let first = collections
        .upsert("Part__c", "Code__c", &parts, false)
        .await
        .unwrap();
    assert!(first.iter().all(|r| r.success && r.created == Some(true)));
    let again = collections
        .upsert("Part__c", "Code__c", &parts[..1], false)
        .await
        .unwrap();
    assert_eq!(again[0].created, Some(false));
    assert_eq!(again[0].id, first[0].id);

    let ids: Vec<String> = first.iter().filter_map(|r| r.id.clone()).collect();
    let deleted = collections.delete(&ids, true).await.unwrap();
    assert!(deleted.iter().all(|r| r.success));
    let twice = collections.delete(&ids[..1], false).await.unwrap();
    assert_eq!(twice[0].errors[0].error_code, "ENTITY_IS_DELETED");

    use forcelink::Error::InvalidArgument as Refused;
    let refusals = [
        collections
            .update(
                &[json!({"attributes": {"type": "Account"}, "Name": "no id"})],
                false,
            )
            .await,
        collections
            .update(
                &[json!({"attributes": {"type": "Account"}, "Id": "bogus"})],
                false,
            )
            .await,
        collections
            .create(
                &[json!({"attributes": {"type": "Account"}, "Id": account})],
                false,
            )
            .await,
        collections
            .upsert("Part__c", "Code__c", &[json!({"Name": "no key"})], false)
            .await,
        collections
            .upsert("Part__c", "Code__c", &[json!("not an object")], false)
            .await,
        collections.delete(&["nope".to_owned()], false).await,
        collections.delete(&vec![account.clone(); 201], true).await,
    ];
    for (i, refusal) in refusals.into_iter().enumerate() {
        assert!(
            matches!(refusal, Err(Refused { .. })),
            "refusal {i}: {refusal:?}"
        );
    }
    assert!(matches!(
        collections
            .retrieve("Account", std::slice::from_ref(&account), &[])
            .await,
        Err(Refused { .. })
    ));
}

#[tokio::test]
async fn a_failed_call_among_several_marks_its_records_not_processed() {
    let org = Emulator::builder().start().await.unwrap();
    let sf = common::client_with_attempts(&org, 1);
    let records: Vec<_> = (0..400)
        .map(|i| json!({"attributes": {"type": "Account"}, "Name": format!("N{i}")}))
        .collect();
    org.inject_fault(forcelink_emulator::Fault {
        method: Some("POST".into()),
        ..common::answer_fault("/composite/sobjects", 503, "SERVER_UNAVAILABLE", 1)
    });
    let err = sf
        .composite()
        .collections()
        .create(&records, false)
        .await
        .unwrap_err();
    match err {
        forcelink::Error::RecordsIncomplete { results, cause } => {
            assert_eq!(results.len(), 400);
            let failed = results.iter().filter(|r| !r.success).count();
            assert_eq!(failed, 200, "one call of two failed");
            assert!(results
                .iter()
                .filter(|r| !r.success)
                .all(|r| r.errors[0].error_code == "NOT_PROCESSED"));
            assert_eq!(cause.error_code(), Some("SERVER_UNAVAILABLE"));
        }
        other => panic!("expected RecordsIncomplete, got {other:?}"),
    }

    // Every call failing is the first call's error, not a list of unprocessed records.
    org.set_down(true);
    let err = sf
        .composite()
        .collections()
        .create(&records, false)
        .await
        .unwrap_err();
    assert_eq!(err.error_code(), Some("SERVER_UNAVAILABLE"));
}

#[tokio::test]
async fn composite_and_batch_refuse_bad_subrequests_before_sending() {
    let org = Emulator::builder().start().await.unwrap();
    let sf = client_for(&org);
    let composite = sf.composite();
    let refused = |r: forcelink::Result<Vec<forcelink::SubrequestResult>>| {
        matches!(r, Err(forcelink::Error::InvalidArgument { .. }))
    };
    assert!(refused(composite.execute(&[], false, false).await));
    let too_many: Vec<_> = (0..26)
        .map(|i| sub("GET", "limits", &format!("r{i}"), None))
        .collect();
    assert!(refused(composite.execute(&too_many, false, false).await));
    assert!(refused(
        composite
            .execute(&[sub("get", "limits", "r", None)], false, false)
            .await
    ));
    assert!(refused(
        composite
            .execute(&[sub("GET", "limits", "bad ref", None)], false, false)
            .await
    ));
    assert!(refused(
        composite
            .execute(
                &[
                    sub("GET", "limits", "r", None),
                    sub("GET", "limits", "r", None)
                ],
                false,
                false
            )
            .await
    ));
    let mut with_headers = sub(
        "GET",
        "/services/data/v62.0/query?q=SELECT+Id+FROM+Account",
        "q",
        None,
    );
    with_headers.http_headers = Some(
        [("Sforce-Query-Options".to_owned(), json!("batchSize=200"))]
            .into_iter()
            .collect(),
    );
    let answers = composite
        .execute(&[with_headers], false, false)
        .await
        .unwrap();
    assert_eq!(answers[0].http_status_code, 200, "{:?}", answers[0]);

    let batch = composite
        .batch(
            &[
                BatchSubrequest {
                    method: "GET".into(),
                    url: "/services/data/v62.0/limits".into(),
                    rich_input: None,
                },
                BatchSubrequest {
                    method: "PATCH".into(),
                    url: "sobjects/Account/001000000000000AAA".into(),
                    rich_input: Some(json!({"Name": "x"})),
                },
            ],
            false,
        )
        .await
        .unwrap();
    assert_eq!(batch.results.len(), 2);
    assert_eq!(batch.results[0].status_code, 200, "{:?}", batch.results[0]);
    assert!(batch.has_errors);
}
