//! The emulator's Pub/Sub API driven by a plain gRPC client (tonic, from the published proto):
//! topics, schemas, authentication, and events published over REST delivered in order with
//! replay ids. No forcelink client in the loop.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use forcelink_emulator::Emulator;
use forcelink_wire::pubsub::pub_sub_client::PubSubClient;
use forcelink_wire::pubsub::{FetchRequest, ReplayPreset, SchemaRequest, TopicRequest};
use serde_json::{json, Value};
use tokio_stream::StreamExt;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::{Code, Request};

async fn org_with_event() -> Emulator {
    let org = Emulator::builder().start().await.unwrap();
    org.define_event(
        "Order__e",
        &[
            ("Number__c".to_owned(), "text".to_owned()),
            ("Amount__c".to_owned(), "number".to_owned()),
        ],
    )
    .unwrap();
    org
}

async fn channel(org: &Emulator) -> PubSubClient<Channel> {
    let channel = Channel::from_shared(format!("http://{}", org.pubsub_endpoint()))
        .unwrap()
        .connect()
        .await
        .unwrap();
    PubSubClient::new(channel)
}

/// `message` with the three headers every Pub/Sub call carries.
fn authed<T>(org: &Emulator, token: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    let metadata = request.metadata_mut();
    metadata.insert("accesstoken", MetadataValue::try_from(token).unwrap());
    metadata.insert(
        "instanceurl",
        MetadataValue::try_from(org.instance_url()).unwrap(),
    );
    metadata.insert("tenantid", MetadataValue::try_from(org.org_id()).unwrap());
    request
}

async fn publish_over_rest(org: &Emulator, number: &str) -> Value {
    reqwest::Client::new()
        .post(format!(
            "{}/services/data/v62.0/sobjects/Order__e",
            org.instance_url()
        ))
        .bearer_auth(org.access_token())
        .json(&json!({"Number__c": number, "Amount__c": 5.5}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_topic_names_its_schema_and_the_schema_is_the_events_avro() {
    let org = org_with_event().await;
    let mut pubsub = channel(&org).await;
    let topic = pubsub
        .get_topic(authed(
            &org,
            org.access_token(),
            TopicRequest {
                topic_name: "/event/Order__e".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(topic.topic_name, "/event/Order__e");
    assert!(topic.can_publish && topic.can_subscribe);
    assert!(!topic.schema_id.is_empty());

    let schema = pubsub
        .get_schema(authed(
            &org,
            org.access_token(),
            SchemaRequest {
                schema_id: topic.schema_id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(schema.schema_id, topic.schema_id);
    let avro: Value = serde_json::from_str(&schema.schema_json).unwrap();
    assert_eq!(avro["type"], json!("record"));
    let fields: Vec<&str> = avro["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"CreatedDate"), "{fields:?}");
    assert!(fields.contains(&"Number__c"), "{fields:?}");

    let missing = pubsub
        .get_topic(authed(
            &org,
            org.access_token(),
            TopicRequest {
                topic_name: "/event/Nope__e".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
}

#[tokio::test]
async fn calls_without_a_live_session_are_unauthenticated() {
    let org = org_with_event().await;
    let mut pubsub = channel(&org).await;
    let bare = pubsub
        .get_topic(Request::new(TopicRequest {
            topic_name: "/event/Order__e".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(bare.code(), Code::Unauthenticated);

    let forged = pubsub
        .get_topic(authed(
            &org,
            "00D000000000000!forged",
            TopicRequest {
                topic_name: "/event/Order__e".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(forged.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn events_published_over_rest_arrive_in_order_with_rising_replay_ids() {
    let org = org_with_event().await;
    for n in 0..5 {
        let answer = publish_over_rest(&org, &format!("N{n}")).await;
        assert_eq!(answer["success"], json!(true));
        assert_eq!(
            answer["errors"][0]["statusCode"],
            json!("OPERATION_ENQUEUED")
        );
    }
    let mut pubsub = channel(&org).await;
    let first = FetchRequest {
        topic_name: "/event/Order__e".into(),
        replay_preset: ReplayPreset::Earliest as i32,
        num_requested: 5,
        ..FetchRequest::default()
    };
    let requests = tokio_stream::iter(vec![first]).chain(tokio_stream::pending());
    let mut stream = pubsub
        .subscribe(authed(&org, org.access_token(), requests))
        .await
        .unwrap()
        .into_inner();
    let mut replays = Vec::new();
    while replays.len() < 5 {
        let response = tokio::time::timeout(std::time::Duration::from_secs(10), stream.next())
            .await
            .expect("events within 10 s")
            .unwrap()
            .unwrap();
        for consumed in response.events {
            let event = consumed.event.unwrap();
            assert!(!event.payload.is_empty());
            assert_eq!(consumed.replay_id.len(), 8);
            replays.push(u64::from_be_bytes(
                consumed.replay_id.as_slice().try_into().unwrap(),
            ));
        }
    }
    assert_eq!(replays.len(), 5);
    assert!(replays.windows(2).all(|w| w[0] < w[1]), "{replays:?}");
    assert_eq!(replays.last().copied(), Some(org.latest_replay_id()));
}
