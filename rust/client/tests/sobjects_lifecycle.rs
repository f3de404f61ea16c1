//! The sObject lifecycle through the Rust API against the emulator, over real sockets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use forcelink::{Client, Config, Error, ErrorKind, RetryPolicy};
mod common;

use common::client_for;
use forcelink_emulator::Emulator;
use serde_json::json;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn api_kind(err: &Error) -> Option<(ErrorKind, &str)> {
    match err {
        Error::Api(e) => Some((e.kind, e.error_code.as_str())),
        _ => None,
    }
}

#[tokio::test]
async fn crud_lifecycle_over_tls() {
    let org = Emulator::builder().tls(true).start().await.unwrap();
    org.define_object(
        "Invoice__c",
        &json!({"Invoice_Number__c": {"type": "string", "external_id": true, "unique": true}, "Amount__c": "currency"}),
    )
    .unwrap();
    let sf = client_for(&org);
    let sobjects = sf.sobjects();

    let saved = sobjects
        .create("Account", &json!({"Name": "Acme", "NumberOfEmployees": 5}))
        .await
        .unwrap();
    assert!(saved.success);
    assert_eq!(saved.id.len(), 18);
    assert!(saved.id.starts_with("001"));

    let fields = vec!["Name".to_owned(), "NumberOfEmployees".to_owned()];
    let got = sobjects
        .get("Account", &saved.id, Some(&fields))
        .await
        .unwrap();
    assert_eq!(got["Name"], "Acme");
    assert_eq!(got["NumberOfEmployees"], 5);
    assert_eq!(got["Id"], saved.id.as_str());
    assert!(
        got.get("Industry").is_none(),
        "only the asked fields come back"
    );

    sobjects
        .update("Account", &saved.id, &json!({"Industry": "Technology"}))
        .await
        .unwrap();
    let full = sobjects.get("Account", &saved.id, None).await.unwrap();
    assert_eq!(full["Industry"], "Technology");
    assert_eq!(full["Name"], "Acme");

    let inserted = sobjects
        .upsert(
            "Invoice__c",
            "Invoice_Number__c",
            "INV/1",
            &json!({"Name": "first", "Amount__c": 10}),
        )
        .await
        .unwrap();
    assert!(inserted.created);
    let updated = sobjects
        .upsert(
            "Invoice__c",
            "Invoice_Number__c",
            "INV/1",
            &json!({"Amount__c": 20}),
        )
        .await
        .unwrap();
    assert!(!updated.created);
    assert_eq!(updated.id, inserted.id);
    let invoice = sobjects
        .get_by_external_id("Invoice__c", "Invoice_Number__c", "INV/1", None)
        .await
        .unwrap();
    assert_eq!(invoice["Amount__c"], 20.0);

    sobjects.delete("Account", &saved.id).await.unwrap();
    let err = sobjects.get("Account", &saved.id, None).await.unwrap_err();
    assert_eq!(
        api_kind(&err),
        Some((ErrorKind::EntityDeleted, "ENTITY_IS_DELETED"))
    );
    let err = sobjects.delete("Account", &saved.id).await.unwrap_err();
    assert_eq!(
        api_kind(&err),
        Some((ErrorKind::EntityDeleted, "ENTITY_IS_DELETED"))
    );

    let usage = sf
        .api_usage()
        .expect("every answer carries Sforce-Limit-Info");
    assert_eq!(usage.max, 100_000);
    assert!(usage.used >= 9);

    let describe = sobjects.describe("Invoice__c").await.unwrap();
    assert!(describe.field("Invoice_Number__c").unwrap().external_id);
    let global = sobjects.describe_global().await.unwrap();
    assert!(global.sobjects.iter().any(|o| o.name == "Invoice__c"));
    org.shutdown().await;
}

#[tokio::test]
async fn errors_map_to_kinds_and_bad_input_is_refused_before_sending() {
    let org = Emulator::builder().start().await.unwrap();
    let sf = client_for(&org);
    let s = sf.sobjects();
    let err = s
        .create("Account", &json!({"Name": "A", "Bogus__c": 1}))
        .await
        .unwrap_err();
    assert_eq!(
        api_kind(&err),
        Some((ErrorKind::InvalidField, "INVALID_FIELD"))
    );
    let err = s.create("Account", &json!({})).await.unwrap_err();
    assert_eq!(
        api_kind(&err),
        Some((ErrorKind::Validation, "REQUIRED_FIELD_MISSING"))
    );
    let err = s.describe("Widget__c").await.unwrap_err();
    assert_eq!(
        api_kind(&err),
        Some((ErrorKind::InvalidType, "INVALID_TYPE"))
    );
    let before = org.stats()["total_requests"].as_u64().unwrap();
    assert!(matches!(
        s.get("Account", "not-an-id", None).await,
        Err(Error::InvalidArgument { .. })
    ));
    assert!(matches!(
        s.create("Account/../x", &json!({})).await,
        Err(Error::InvalidArgument { .. })
    ));
    assert_eq!(
        org.stats()["total_requests"].as_u64().unwrap(),
        before,
        "nothing was sent"
    );
}

#[tokio::test]
async fn idempotent_requests_retry_and_report_attempts() {
    let org = Emulator::builder().start().await.unwrap();
    let retries = Arc::new(AtomicU32::new(0));
    let seen = retries.clone();
    let config = Config::builder()
        .instance_url(org.instance_url())
        .access_token(org.access_token())
        .retry_policy(RetryPolicy {
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            ..RetryPolicy::default()
        })
        .build()
        .unwrap();
    let sf = Client::builder(config)
        .on_retry(Arc::new(move |_event| {
            seen.fetch_add(1, Ordering::SeqCst);
        }))
        .build()
        .unwrap();
    let saved = sf
        .sobjects()
        .create("Account", &json!({"Name": "A"}))
        .await
        .unwrap();
    let fault = |times| common::answer_fault("/sobjects/Account", 503, "SERVER_UNAVAILABLE", times);
    org.inject_fault(fault(2));
    let got = sf.sobjects().get("Account", &saved.id, None).await.unwrap();
    assert_eq!(got["Name"], "A");
    assert_eq!(retries.load(Ordering::SeqCst), 2);

    // A POST is not replayed after a 503: the server may have done the work.
    org.inject_fault(fault(1));
    let err = sf
        .sobjects()
        .create("Account", &json!({"Name": "B"}))
        .await
        .unwrap_err();
    assert_eq!(err.attempts().unwrap().count, 1);

    org.inject_fault(fault(10));
    let err = sf
        .sobjects()
        .get("Account", &saved.id, None)
        .await
        .unwrap_err();
    let attempts = err.attempts().unwrap();
    assert_eq!(attempts.count, 4);
    assert_eq!(attempts.retried_causes.len(), 3);
    assert!(attempts.retried_causes[0].contains("SERVER_UNAVAILABLE"));
}

#[tokio::test]
async fn expired_sessions_and_exhausted_limits_are_typed() {
    let org = Emulator::builder().api_limit(3).start().await.unwrap();
    let sf = client_for(&org);
    for _ in 0..3 {
        sf.sobjects().describe_global().await.unwrap();
    }
    let err = sf.sobjects().describe_global().await.unwrap_err();
    assert_eq!(
        api_kind(&err),
        Some((ErrorKind::RequestLimit, "REQUEST_LIMIT_EXCEEDED"))
    );
    org.expire_sessions();
    let err = sf.sobjects().describe_global().await.unwrap_err();
    assert_eq!(
        api_kind(&err),
        Some((ErrorKind::InvalidSession, "INVALID_SESSION_ID"))
    );
}

#[tokio::test]
async fn a_refused_connection_is_a_transport_error_after_retries() {
    let org = Emulator::builder().start().await.unwrap();
    let url = org.instance_url().to_owned();
    org.shutdown().await;
    let config = Config::builder()
        .instance_url(url)
        .access_token("00D!x")
        .retry_policy(RetryPolicy {
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
            ..RetryPolicy::default()
        })
        .build()
        .unwrap();
    let err = Client::new(config)
        .unwrap()
        .sobjects()
        .create("Account", &json!({"Name": "A"}))
        .await
        .unwrap_err();
    match err {
        Error::Transport(t) => {
            assert_eq!(t.kind, forcelink::TransportErrorKind::Connect);
            assert_eq!(t.attempts.count, 4, "a POST that never left is retried");
        }
        other => panic!("expected a transport error, got {other:?}"),
    }
}

#[tokio::test]
async fn upserts_that_match_several_records_or_answer_an_old_version_and_change_windows() {
    let org = Emulator::builder().start().await.unwrap();
    org.define_object(
        "Part__c",
        &json!({"Code__c": {"type": "string", "external_id": true}}),
    )
    .unwrap();
    let sf = client_for(&org);
    let sobjects = sf.sobjects();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let saved = sobjects
            .create("Part__c", &json!({"Name": "part", "Code__c": "P-1"}))
            .await
            .unwrap();
        ids.push(saved.id);
    }
    let err = sobjects
        .upsert("Part__c", "Code__c", "P-1", &json!({"Name": "twice"}))
        .await
        .unwrap_err();
    match err {
        Error::MultipleMatches { matches, .. } => {
            assert_eq!(matches.len(), 2);
            for id in &ids {
                assert!(
                    matches.iter().any(|m| m.ends_with(id.as_str())),
                    "{matches:?}"
                );
            }
        }
        other => panic!("expected MultipleMatches, got {other:?}"),
    }

    // Before API version 46.0 an update by upsert answers 204 with no body.
    let config = Config::builder()
        .instance_url(org.instance_url())
        .access_token(org.access_token())
        .api_version("45.0")
        .build()
        .unwrap();
    let old = Client::new(config).unwrap();
    let created = old
        .sobjects()
        .upsert("Part__c", "Code__c", "P-2", &json!({"Name": "new"}))
        .await
        .unwrap();
    assert!(created.created && created.id.is_some());
    let updated = old
        .sobjects()
        .upsert("Part__c", "Code__c", "P-2", &json!({"Name": "again"}))
        .await
        .unwrap();
    assert!(updated.success && !updated.created && updated.id.is_none());

    sobjects.delete("Part__c", &ids[0]).await.unwrap();
    let (start, end) = ("2000-01-01T00:00:00Z", "2100-01-01T00:00:00+00:00");
    let changed = sobjects.get_updated("Part__c", start, end).await.unwrap();
    let changed_ids: Vec<&str> = changed["ids"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(changed_ids.contains(&ids[1].as_str()), "{changed:?}");
    let deleted = sobjects.get_deleted("Part__c", start, end).await.unwrap();
    assert_eq!(deleted["deletedRecords"][0]["id"], ids[0].as_str());
    let refused = sobjects
        .get_deleted("Part__c", "yesterday", end)
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, Error::InvalidArgument { argument, .. } if argument == "start"),
        "{refused:?}"
    );
    assert!(matches!(
        sobjects.get_updated("Part__c", start, "2100-01-01").await,
        Err(Error::InvalidArgument { .. })
    ));
    assert!(matches!(
        sobjects.upsert("Part__c", "Code__c", "", &json!({})).await,
        Err(Error::InvalidArgument { .. })
    ));
    assert!(matches!(
        sobjects.get("Part__c", &ids[1], Some(&[])).await,
        Err(Error::InvalidArgument { .. })
    ));
    let long = "x".repeat(80);
    match sobjects.get("Part__c", &long, None).await.unwrap_err() {
        Error::InvalidArgument { message, .. } => assert!(message.contains("...")),
        other => panic!("{other:?}"),
    }
}
