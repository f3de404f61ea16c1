//! Platform events and change events through the Rust API against the emulator's Pub/Sub
//! server: order and exactly-once across dropped streams, replay ids, bitmaps, managed
//! subscriptions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use forcelink::events::{ReceivedEvent, Replay, SubscribeOptions, Subscription};
use forcelink::{Client, Error};
use forcelink_emulator::Emulator;
use serde_json::json;
use std::time::Duration;

async fn org_with_event(tls: bool) -> (Emulator, Client) {
    let org = Emulator::builder().tls(tls).start().await.unwrap();
    org.define_event(
        "Order__e",
        &[
            ("Order_Number__c".into(), "text".into()),
            ("Amount__c".into(), "number".into()),
        ],
    )
    .unwrap();
    let client = common::client_for(&org);
    (org, client)
}

async fn publish_orders(client: &Client, from: usize, to: usize) {
    let payloads: Vec<_> = (from..to)
        .map(|i| json!({"Order_Number__c": format!("O-{i}"), "Amount__c": i as f64}))
        .collect();
    for chunk in payloads.chunks(200) {
        let outcomes = client
            .events()
            .publish_batch("Order__e", chunk)
            .await
            .unwrap();
        assert!(outcomes
            .iter()
            .all(|o| o.error.is_none() && o.replay_id.is_some()));
    }
}

async fn take(sub: &mut Subscription, n: usize) -> Vec<ReceivedEvent> {
    let mut out = Vec::new();
    while out.len() < n {
        let batch = tokio::time::timeout(Duration::from_secs(20), sub.next_batch())
            .await
            .expect("events in time")
            .expect("subscription open")
            .unwrap();
        out.extend(batch);
    }
    out
}

fn order_numbers(events: &[ReceivedEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            e.decode().unwrap()["Order_Number__c"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_events_arrive_in_order_once_even_when_streams_drop() {
    let (org, client) = org_with_event(true).await;
    publish_orders(&client, 0, 1_500).await;
    org.drop_streams_after(Some(700));
    let mut sub = client
        .events()
        .subscribe("/event/Order__e", SubscribeOptions::new(Replay::Earliest))
        .await
        .unwrap();
    let events = take(&mut sub, 1_500).await;
    let expected: Vec<String> = (0..1_500).map(|i| format!("O-{i}")).collect();
    assert_eq!(order_numbers(&events), expected);
    assert!(events.windows(2).all(|w| w[0].replay_id < w[1].replay_id));
    assert_eq!(events[0].schema_id().len(), 22);
    let stats = org.stats();
    assert_eq!(stats["events"]["streams_dropped"], 2, "{stats}");
    assert_eq!(stats["events"]["streams_opened"], 3, "{stats}");

    // Resuming after a stored replay id starts right after it.
    org.drop_streams_after(None);
    let mut resumed = client
        .events()
        .subscribe(
            "/event/Order__e",
            SubscribeOptions::new(Replay::After(events[999].replay_id)),
        )
        .await
        .unwrap();
    let rest = take(&mut resumed, 500).await;
    assert_eq!(order_numbers(&rest)[0], "O-1000");
    assert_eq!(rest.len(), 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_or_expired_replay_id_is_a_typed_error() {
    let (org, client) = org_with_event(false).await;
    publish_orders(&client, 0, 10).await;
    let latest = org.latest_replay_id();
    let future = forcelink_wire::ReplayId(latest + 1_000);
    let mut sub = client
        .events()
        .subscribe(
            "/event/Order__e",
            SubscribeOptions::new(Replay::After(future)),
        )
        .await
        .unwrap();
    match sub.next_batch().await {
        Some(Err(Error::ReplayId { error_code, .. })) => {
            assert_eq!(
                error_code,
                "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted"
            )
        }
        other => panic!("expected a replay id error, got {other:?}"),
    }
    org.expire_events_before(latest);
    let mut old = client
        .events()
        .subscribe(
            "/event/Order__e",
            SubscribeOptions::new(Replay::After(forcelink_wire::ReplayId(1))),
        )
        .await
        .unwrap();
    assert!(matches!(
        old.next_batch().await,
        Some(Err(Error::ReplayId { .. }))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_of_a_field_and_an_address_part_names_exactly_those_fields() {
    let (_org, client) = org_with_event(true).await;
    let saved = client
        .sobjects()
        .create("Account", &json!({"Name": "Acme", "BillingCity": "Lyon"}))
        .await
        .unwrap();
    client
        .sobjects()
        .update(
            "Account",
            &saved.id,
            &json!({"Phone": "555-0100", "BillingCity": "Paris"}),
        )
        .await
        .unwrap();
    let mut sub = client
        .events()
        .subscribe(
            "/data/AccountChangeEvent",
            SubscribeOptions::new(Replay::Earliest),
        )
        .await
        .unwrap();
    let events = take(&mut sub, 2).await;
    let create = events[0].change_header().unwrap().unwrap();
    assert_eq!(create.change_type, "CREATE");
    assert_eq!(create.record_ids, vec![saved.id.clone()]);
    assert!(create.change_origin.starts_with("com/salesforce/api/rest/"));
    let update = events[1].change_header().unwrap().unwrap();
    assert_eq!(update.change_type, "UPDATE");
    let mut changed = update.changed_fields.clone();
    changed.sort();
    assert_eq!(
        changed,
        vec!["BillingAddress.City", "LastModifiedDate", "Phone"]
    );
    let body = events[1].decode().unwrap();
    assert_eq!(body["BillingAddress"]["City"], "Paris");
    assert_eq!(body["Name"], serde_json::Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managed_subscription_resumes_after_its_committed_position() {
    let (org, client) = org_with_event(false).await;
    org.define_managed_subscription("Orders_Sub", "/event/Order__e", true)
        .unwrap();
    publish_orders(&client, 0, 300).await;
    let mut first = client
        .events()
        .managed_subscribe("Orders_Sub", 50)
        .await
        .unwrap();
    let events = take(&mut first, 120).await;
    first.commit(events[119].replay_id).await.unwrap();
    first.close();
    let mut second = client
        .events()
        .managed_subscribe("Orders_Sub", 50)
        .await
        .unwrap();
    let rest = take(&mut second, 180).await;
    assert_eq!(order_numbers(&rest)[0], "O-120");
    assert_eq!(order_numbers(&rest).last().unwrap(), "O-299");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committing_each_batch_of_a_backlog_never_waits_on_the_full_queue() {
    let (org, client) = org_with_event(false).await;
    org.define_managed_subscription("Backlog", "/event/Order__e", true)
        .unwrap();
    publish_orders(&client, 0, 1_000).await;
    let mut sub = client
        .events()
        .managed_subscribe("Backlog", 10)
        .await
        .unwrap();
    // Let the queue fill before the consumer starts, as a slow consumer would.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut seen = Vec::new();
    while seen.len() < 1_000 {
        let batch = take(&mut sub, 1).await;
        let last = batch.last().unwrap().replay_id;
        seen.extend(batch);
        tokio::time::timeout(Duration::from_secs(10), sub.commit(last))
            .await
            .expect("a commit is answered while batches wait in the queue")
            .unwrap();
    }
    assert_eq!(seen.len(), 1_000);
    assert_eq!(
        order_numbers(&seen),
        (0..1_000).map(|i| format!("O-{i}")).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_publish_is_enqueued_and_delivered() {
    let (_org, client) = org_with_event(true).await;
    let published = client
        .events()
        .publish("Order__e", &json!({"Order_Number__c": "R-1"}))
        .await
        .unwrap();
    assert_eq!(published.event_uuid.len(), 36);
    let bad = client
        .events()
        .publish("Order__e", &json!({"Nope__c": 1}))
        .await
        .unwrap_err();
    assert_eq!(bad.error_code(), Some("INVALID_FIELD"));
    let topic = client.events().get_topic("/event/Order__e").await.unwrap();
    assert!(topic.can_publish);
    let schema = client.events().get_schema(&topic.schema_id).await.unwrap();
    assert!(schema.json.contains("Order_Number__c"));
    let mut sub = client
        .events()
        .subscribe("/event/Order__e", SubscribeOptions::new(Replay::Earliest))
        .await
        .unwrap();
    assert_eq!(order_numbers(&take(&mut sub, 1).await), vec!["R-1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_stream_confirms_each_request_and_refuses_bad_batches_before_sending() {
    let (_org, client) = org_with_event(false).await;
    let events = client.events();
    let mut stream = events.publish_stream("Order__e").await.unwrap();
    for round in 0..3 {
        let payloads: Vec<_> = (0..5)
            .map(|i| json!({"Order_Number__c": format!("S-{round}-{i}"), "Amount__c": 1.5}))
            .collect();
        let outcomes = stream.publish(&payloads).await.unwrap();
        assert_eq!(outcomes.len(), 5);
        assert!(outcomes
            .iter()
            .all(|o| o.error.is_none() && o.replay_id.is_some()));
    }
    for count in [0, 201] {
        let payloads = vec![json!({"Order_Number__c": "x"}); count];
        let err = stream.publish(&payloads).await.unwrap_err();
        assert!(
            matches!(&err, Error::InvalidArgument { message, .. } if message.contains(&count.to_string())),
            "{err:?}"
        );
    }
    let err = stream.publish(&[json!({"Nope__c": 1})]).await.unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
    assert!(matches!(
        events.publish_batch("Order__e", &[]).await,
        Err(Error::InvalidArgument { .. })
    ));
    assert!(matches!(
        events.publish_stream("Bad Name").await,
        Err(Error::InvalidArgument { .. })
    ));

    let mut sub = events
        .subscribe("/event/Order__e", SubscribeOptions::new(Replay::Earliest))
        .await
        .unwrap();
    let got = order_numbers(&take(&mut sub, 15).await);
    assert_eq!(got.first().map(String::as_str), Some("S-0-0"));
    assert_eq!(got.last().map(String::as_str), Some("S-2-4"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_schemas_over_rest_by_name_and_by_id_and_a_closed_client_refuses_calls() {
    let (_org, client) = org_with_event(false).await;
    let events = client.events();
    let compact = events.event_schema("Order__e", true).await.unwrap();
    let schema_id = compact["uuid"].as_str().unwrap().to_owned();
    assert_eq!(compact["name"], "Order__e");
    let expanded = events.event_schema(&schema_id, false).await.unwrap();
    assert!(expanded.to_string().contains("Order_Number__c"));
    for bad in ["", "has space", "a/b"] {
        assert!(
            matches!(
                events.event_schema(bad, true).await,
                Err(Error::InvalidArgument { .. })
            ),
            "{bad:?}"
        );
    }
    let topic = events.get_topic("/event/Order__e").await.unwrap();
    assert_eq!(topic.schema_id, schema_id);
    let first = events.get_schema(&schema_id).await.unwrap();
    let cached = events.get_schema(&schema_id).await.unwrap();
    assert!(std::sync::Arc::ptr_eq(&first, &cached));

    let mut sub = events
        .subscribe("/event/Order__e", SubscribeOptions::new(Replay::Latest))
        .await
        .unwrap();
    client.close();
    assert!(client.is_closed());
    assert!(matches!(
        events.get_topic("/event/Order__e").await,
        Err(Error::Closed)
    ));
    let ended = tokio::time::timeout(Duration::from_secs(10), sub.next_batch())
        .await
        .expect("the subscription ends when the client closes");
    assert!(!matches!(ended, Some(Ok(ref batch)) if !batch.is_empty()));
}
