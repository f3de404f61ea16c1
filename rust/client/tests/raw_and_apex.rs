//! Requests to resources the client does not wrap, Apex REST and SOSL, through the Rust API.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::client_for;
use forcelink::{Error, RawRequest};
use forcelink_emulator::{ApexAnswer, ApexCall, Emulator};
use http::Method;
use serde_json::json;
use std::sync::{Arc, Mutex};

#[tokio::test]
async fn raw_requests_stay_on_the_instance() {
    let org = Emulator::builder().start().await.unwrap();
    let sf = client_for(&org);
    let created = sf
        .request(RawRequest {
            method: Method::POST,
            path: "sobjects/Account".into(),
            json: Some(json!({"Name": "Raw"})),
            ..RawRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(created.status, 201);
    assert_eq!(created.json().unwrap().unwrap()["success"], true);
    let refused = sf
        .request(RawRequest {
            method: Method::GET,
            path: "https://evil.example.com/services/data/v62.0/limits".into(),
            ..RawRequest::default()
        })
        .await;
    assert!(matches!(refused, Err(Error::InvalidArgument { .. })));
    assert_eq!(org.stats()["total_requests"], 1);
}

#[tokio::test]
async fn apex_classes_see_the_body_and_answer() {
    let org = Emulator::builder().start().await.unwrap();
    let seen: Arc<Mutex<Vec<ApexCall>>> = Arc::default();
    let record = Arc::clone(&seen);
    org.register_apex(
        "/orders/*",
        Arc::new(move |call: ApexCall| {
            let body = call.body.clone();
            record.lock().unwrap().push(call);
            ApexAnswer {
                status: 201,
                body: Some(json!({"received": body})),
            }
        }),
    );
    let sf = client_for(&org);
    let answer = sf
        .apex(RawRequest {
            method: Method::POST,
            path: "orders/7".into(),
            json: Some(json!({"qty": 2})),
            params: vec![("rush".into(), "true".into())],
            ..RawRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(answer.status, 201);
    assert_eq!(
        answer.json().unwrap().unwrap(),
        json!({"received": {"qty": 2}})
    );
    let first = seen.lock().unwrap()[0].clone();
    assert_eq!(first.method, "POST");
    assert_eq!(first.path, "/orders/7");
    assert_eq!(first.params, vec![("rush".to_owned(), "true".to_owned())]);
    let missing = sf
        .apex(RawRequest {
            method: Method::GET,
            path: "invoices".into(),
            ..RawRequest::default()
        })
        .await;
    assert!(matches!(missing, Err(Error::Api(e)) if e.status == 404));
}

#[tokio::test]
async fn sosl_search_through_the_rust_api() {
    let org = Emulator::builder().start().await.unwrap();
    org.seed_records(
        "Account",
        &[json!({"Name": "Acme & Co"}), json!({"Name": "Globex"})],
    )
    .unwrap();
    let sf = client_for(&org);
    let sosl = forcelink::format_sosl(
        "FIND {{{}}} RETURNING Account(Name)",
        &[forcelink::SoqlValue::Str("Acme & Co".into())],
        &Default::default(),
    )
    .unwrap();
    let found = sf.search(&sosl).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["Name"], "Acme & Co");
}

#[tokio::test]
async fn tooling_records_and_anonymous_apex() {
    let org = Emulator::builder().start().await.unwrap();
    let sf = client_for(&org);
    let created = sf
        .tooling()
        .create(
            "ApexClass",
            &json!({"Name": "Greeter", "Body": "public class Greeter {}"}),
        )
        .await
        .unwrap();
    assert!(created.id.starts_with("01p"));
    let page = sf
        .tooling()
        .query("SELECT Name FROM ApexClass")
        .await
        .unwrap();
    assert_eq!(page.records[0]["Name"], "Greeter");
    let ran = sf
        .tooling()
        .execute_anonymous("System.assert(false);")
        .await
        .unwrap();
    assert!(ran.compiled && !ran.success);
    assert_eq!(
        ran.exception_message.as_deref(),
        Some("System.AssertException: Assertion Failed")
    );
}
