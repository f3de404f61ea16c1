//! Publishing platform events: one over REST (`POST /sobjects/Name__e`), batches over the
//! gRPC Publish call, and a PublishStream for steady producers.

use super::{check_topic, status_error, EventSchema, Events};
use crate::client::{decode_json, RestCall};
use crate::error::{Error, Result};
use crate::resilience::Idempotency;
use bytes::Bytes;
use forcelink_wire::pubsub::{ProducerEvent, PublishRequest, PublishResponse};
use forcelink_wire::ReplayId;
use futures::StreamExt;
use http::Method;
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::mpsc;

/// What REST answered for one published event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedEvent {
    /// The `e01...` id (not unique; subscribers see replay ids instead).
    pub id: String,
    /// The event's UUID, from the OPERATION_ENQUEUED status.
    pub event_uuid: String,
}

/// One event's outcome of a gRPC publish: its replay id, or why it was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishOutcome {
    pub replay_id: Option<ReplayId>,
    pub error: Option<String>,
    /// The event id sent (or assigned).
    pub correlation_key: String,
}

/// Events per Publish call: Salesforce recommends at most 200.
pub const MAX_PUBLISH_BATCH: usize = 200;

fn event_name(topic_or_name: &str) -> Result<&str> {
    let name = topic_or_name
        .strip_prefix("/event/")
        .unwrap_or(topic_or_name);
    let valid = name.ends_with("__e")
        && name.len() > 3
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(name)
    } else {
        Err(Error::invalid_argument(
            "event",
            format!("expected a platform event name like Order__e, got {topic_or_name:?}"),
        ))
    }
}

fn outcomes(response: PublishResponse) -> Vec<PublishOutcome> {
    response
        .results
        .into_iter()
        .map(|r| PublishOutcome {
            replay_id: ReplayId::from_bytes(&r.replay_id).ok(),
            error: r.error.map(|e| e.msg),
            correlation_key: r.correlation_key,
        })
        .collect()
}

impl Events {
    /// Publishes one event over REST; Salesforce answers once the event is queued.
    pub async fn publish(&self, event: &str, payload: &Value) -> Result<PublishedEvent> {
        let name = event_name(event)?;
        if !payload.is_object() {
            return Err(Error::invalid_argument(
                "payload",
                "an event payload is a JSON object",
            ));
        }
        let url = self.client.data_url(&["sobjects", name])?;
        let body = serde_json::to_vec(payload)
            .map_err(|e| Error::invalid_argument("payload", e.to_string()))?;
        let call = RestCall::new(
            Method::POST,
            url,
            Some(Bytes::from(body)),
            Idempotency::NonIdempotent,
        );
        let answer: Value = decode_json(&self.client.execute(call).await?)?;
        let event_uuid = answer["errors"]
            .as_array()
            .and_then(|errors| {
                errors
                    .iter()
                    .find(|e| e["statusCode"] == "OPERATION_ENQUEUED")
            })
            .and_then(|e| e["message"].as_str())
            .unwrap_or_default()
            .to_owned();
        Ok(PublishedEvent {
            id: answer["id"].as_str().unwrap_or_default().to_owned(),
            event_uuid,
        })
    }

    /// The topic's schema, for encoding events to publish.
    async fn publish_schema(&self, topic: &str) -> Result<Arc<EventSchema>> {
        let info = self.get_topic(topic).await?;
        if !info.can_publish {
            return Err(Error::invalid_argument(
                "topic",
                format!("{topic} does not accept published events"),
            ));
        }
        self.get_schema(&info.schema_id).await
    }

    async fn encode_all(
        &self,
        schema: &EventSchema,
        payloads: &[Value],
    ) -> Result<Vec<ProducerEvent>> {
        let user = self.user_id().await?;
        let now = chrono::Utc::now().timestamp_millis();
        payloads
            .iter()
            .map(|p| {
                Ok(ProducerEvent {
                    id: crate::events::publish::uuid(),
                    schema_id: schema.id.clone(),
                    payload: schema.encode_json(p, &user, now)?,
                    headers: Vec::new(),
                })
            })
            .collect()
    }

    /// Publishes events over gRPC, in order, in Publish calls of at most
    /// [`MAX_PUBLISH_BATCH`]; every payload is encoded against the topic's schema before
    /// anything is sent. Each event gets an outcome. When a call fails after earlier ones went
    /// through, its events and the rest get an outcome whose error says so (they were not
    /// confirmed), rather than an error that would hide what was published.
    pub async fn publish_batch(
        &self,
        event: &str,
        payloads: &[Value],
    ) -> Result<Vec<PublishOutcome>> {
        let topic = format!("/event/{}", event_name(event)?);
        if payloads.is_empty() {
            return Err(Error::invalid_argument("payloads", "no events to publish"));
        }
        let schema = self.publish_schema(&topic).await?;
        let mut events = self.encode_all(&schema, payloads).await?.into_iter();
        let mut done = Vec::with_capacity(payloads.len());
        loop {
            let chunk: Vec<ProducerEvent> = events.by_ref().take(MAX_PUBLISH_BATCH).collect();
            if chunk.is_empty() {
                return Ok(done);
            }
            let keys: Vec<String> = chunk.iter().map(|e| e.id.clone()).collect();
            let message = PublishRequest {
                topic_name: topic.clone(),
                events: chunk,
                auth_refresh: String::new(),
            };
            let answer = self
                .unary(message, |mut g, r| async move { g.publish(r).await })
                .await;
            match answer {
                Ok(response) => done.extend(outcomes(response)),
                Err(e) if done.is_empty() => return Err(e),
                Err(e) => {
                    let error = format!("not confirmed: the Publish call carrying it failed: {e}");
                    let unconfirmed = keys.into_iter().chain(events.map(|e| e.id));
                    done.extend(unconfirmed.map(|correlation_key| PublishOutcome {
                        replay_id: None,
                        error: Some(error.clone()),
                        correlation_key,
                    }));
                    return Ok(done);
                }
            }
        }
    }

    /// Opens a PublishStream on an event's topic.
    pub async fn publish_stream(&self, event: &str) -> Result<PublishStream> {
        let topic = format!("/event/{}", event_name(event)?);
        check_topic(&topic)?;
        let schema = self.publish_schema(&topic).await?;
        let (tx, rx) = mpsc::channel::<PublishRequest>(16);
        let requests = tokio_stream::wrappers::ReceiverStream::new(rx);
        let (request, _) = self.request(requests).await?;
        let responses = self
            .grpc()?
            .publish_stream(request)
            .await
            .map_err(|s| status_error(&s))?
            .into_inner();
        Ok(PublishStream {
            events: self.clone(),
            topic,
            schema,
            tx,
            responses: responses.boxed(),
        })
    }
}

/// A PublishStream: each `publish` sends one request and waits for its results.
pub struct PublishStream {
    events: Events,
    topic: String,
    schema: Arc<EventSchema>,
    tx: mpsc::Sender<PublishRequest>,
    responses:
        futures::stream::BoxStream<'static, std::result::Result<PublishResponse, tonic::Status>>,
}

impl PublishStream {
    pub async fn publish(&mut self, payloads: &[Value]) -> Result<Vec<PublishOutcome>> {
        if payloads.is_empty() || payloads.len() > MAX_PUBLISH_BATCH {
            return Err(Error::invalid_argument(
                "payloads",
                format!("publish 1 to 200 events at a time, got {}", payloads.len()),
            ));
        }
        let events = self.events.encode_all(&self.schema, payloads).await?;
        let request = PublishRequest {
            topic_name: self.topic.clone(),
            events,
            auth_refresh: String::new(),
        };
        let gone = || Error::PubSub {
            status: "UNAVAILABLE".into(),
            error_code: String::new(),
            message: "the publish stream is closed".into(),
            rpc_id: None,
        };
        self.tx.send(request).await.map_err(|_| gone())?;
        match self.responses.next().await {
            Some(Ok(response)) => Ok(outcomes(response)),
            Some(Err(status)) => Err(status_error(&status)),
            None => Err(gone()),
        }
    }
}

/// A random event id (a version 4 UUID).
pub(crate) fn uuid() -> String {
    forcelink_wire::uuid_v4(rand::random())
}
