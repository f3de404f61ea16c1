//! Record a session against the emulator, stop it, replay the session with no network.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use forcelink::{
    Client, Config, Error, FakeTransport, QueryOptions, SimulationRecorder, SimulationReplayer,
    TransportErrorKind,
};
use forcelink_emulator::{ConnectedAppSpec, Emulator};
use serde_json::json;
use std::sync::Arc;

async fn session(sf: &Client) -> (String, Vec<String>, serde_json::Value) {
    let saved = sf
        .sobjects()
        .create("Account", &json!({"Name": "Recorded"}))
        .await
        .unwrap();
    sf.sobjects()
        .update("Account", &saved.id, &json!({"Industry": "Energy"}))
        .await
        .unwrap();
    let mut pager = sf.query().pages(
        "SELECT Id FROM Account ORDER BY Name",
        QueryOptions {
            batch_size: Some(200),
            ..QueryOptions::default()
        },
    );
    let mut ids = Vec::new();
    while let Some(page) = pager.next_page().await.unwrap() {
        ids.extend(
            page.records
                .iter()
                .map(|r| r["Id"].as_str().unwrap().to_owned()),
        );
    }
    let record = sf
        .sobjects()
        .get(
            "Account",
            &saved.id,
            Some(&["Name".to_owned(), "Industry".to_owned()]),
        )
        .await
        .unwrap();
    (saved.id, ids, serde_json::Value::Object(record))
}

#[tokio::test]
async fn a_recorded_session_replays_identically_with_no_network() {
    let dir = std::env::temp_dir().join(format!("sf-cassette-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("session.jsonl");
    let org = Emulator::builder().start().await.unwrap();
    org.create_connected_app(ConnectedAppSpec {
        client_id: "app".into(),
        client_secret: Some("top-secret".into()),
        ..ConnectedAppSpec::default()
    })
    .unwrap();
    org.seed_records(
        "Account",
        &(0..450)
            .map(|i| json!({"Name": format!("S{i:03}")}))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let instance = org.instance_url().to_owned();
    let config = || {
        Config::builder()
            .instance_url(instance.clone())
            .client_credentials("app", "top-secret")
            .build()
            .unwrap()
    };
    let recorder = SimulationRecorder::new();
    let live = Client::builder(config())
        .with_recorder(recorder.clone())
        .build()
        .unwrap();
    let recorded = session(&live).await;
    assert_eq!(recorded.1.len(), 451);
    let token =
        secrecy::ExposeSecret::expose_secret(&live.access_token().await.unwrap().token).to_owned();
    recorder.save(&path).unwrap();
    org.shutdown().await;

    let cassette = std::fs::read_to_string(&path).unwrap();
    assert!(
        !cassette.contains(&token),
        "no access token in the cassette"
    );
    assert!(
        !cassette.contains("top-secret"),
        "no client secret in the cassette"
    );

    let replayer = SimulationReplayer::load(&path).unwrap();
    let replayed_client = Client::builder(config())
        .with_replayer(replayer.clone())
        .build()
        .unwrap();
    let replayed = session(&replayed_client).await;
    assert_eq!(replayed, recorded);
    assert_eq!(replayer.remaining(), 0);

    // Strict: a request not in the cassette is an error naming it.
    let err = replayed_client
        .sobjects()
        .describe("Contact")
        .await
        .unwrap_err();
    match err {
        Error::Transport(t) => {
            assert_eq!(t.kind, TransportErrorKind::Unmatched);
            assert!(
                t.message
                    .contains("GET /services/data/v62.0/sobjects/Contact/describe"),
                "{}",
                t.message
            );
        }
        other => panic!("expected an unmatched request, got {other:?}"),
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn the_fake_transport_answers_queued_responses_and_records_calls() {
    let fake = FakeTransport::new();
    fake.respond(
        Some("POST"),
        "/sobjects/Account",
        201,
        r#"{"id":"001000000000001AAA","success":true,"errors":[]}"#,
        &[],
    )
    .unwrap();
    fake.respond(
        None,
        "/sobjects/Account/",
        404,
        r#"[{"errorCode":"NOT_FOUND","message":"gone"}]"#,
        &[],
    )
    .unwrap();
    let config = Config::builder()
        .instance_url("https://acme.my.salesforce.com")
        .access_token("00D!fake")
        .build()
        .unwrap();
    let sf = Client::builder(config)
        .transport(Arc::new(fake.clone()))
        .build()
        .unwrap();
    let saved = sf
        .sobjects()
        .create("Account", &json!({"Name": "Fake"}))
        .await
        .unwrap();
    assert_eq!(saved.id, "001000000000001AAA");
    assert!(sf.sobjects().get("Account", &saved.id, None).await.is_err());
    let seen = fake.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        (seen[0].method.as_str(), seen[0].body.as_str()),
        ("POST", r#"{"Name":"Fake"}"#)
    );
    assert_eq!(fake.pending(), 0);
}
