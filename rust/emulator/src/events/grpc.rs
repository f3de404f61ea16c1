//! The Pub/Sub API over gRPC: auth metadata, topics, schemas, credit-based Subscribe with
//! keepalives and idle close, Publish, PublishStream and ManagedSubscribe with commits.

use super::avro::SlotCache;
use super::{oversize_message, uuid, BusEvent, Topic, CODE_PREFIX, MAX_EVENT_BYTES};
use crate::org::Org;
use forcelink_wire::pubsub::pub_sub_server::{PubSub, PubSubServer};
use forcelink_wire::pubsub::{
    CommitReplayRequest, CommitReplayResponse, ConsumerEvent, Error as EventError, ErrorCode,
    FetchRequest, FetchResponse, ManagedFetchRequest, ManagedFetchResponse, ProducerEvent,
    PublishRequest, PublishResponse, PublishResult, ReplayPreset, SchemaInfo, SchemaRequest,
    TopicInfo, TopicRequest,
};
use forcelink_wire::ReplayId;
use futures::{Stream, StreamExt};
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::{Code, Request, Response, Status, Streaming};

/// Most credit a subscription holds; larger requests count as this.
const MAX_CREDIT: i64 = 100;

/// The Pub/Sub service as routes the emulator's HTTP/2 server mounts.
pub fn router(org: Arc<Org>) -> axum::Router {
    tonic::service::Routes::new(PubSubServer::new(PubSubService { org })).into_axum_router()
}

struct PubSubService {
    org: Arc<Org>,
}

/// A Pub/Sub error: gRPC status, `error-code` and `rpc-id` trailers, and the rpc id at the end
/// of the message, as the service sends them.
pub fn failure(code: Code, error_code: &str, message: &str) -> Status {
    let rpc_id = uuid();
    let mut metadata = MetadataMap::new();
    if let Ok(v) = MetadataValue::try_from(format!("{CODE_PREFIX}{error_code}")) {
        metadata.insert("error-code", v);
    }
    if let Ok(v) = MetadataValue::try_from(rpc_id.as_str()) {
        metadata.insert("rpc-id", v);
    }
    Status::with_metadata(code, format!("{message} rpcId: {rpc_id}"), metadata)
}

fn auth_failure() -> Status {
    failure(
        Code::Unauthenticated,
        "service.auth.error",
        "Provide valid authentication via metadata headers",
    )
}

type Boxed<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

impl PubSubService {
    /// `accesstoken` must be a live session, `instanceurl` the org's, `tenantid` its id.
    fn authenticate(&self, metadata: &MetadataMap) -> Result<(), Status> {
        let get = |key: &str| metadata.get(key).and_then(|v| v.to_str().ok());
        let (Some(token), Some(instance), Some(tenant)) =
            (get("accesstoken"), get("instanceurl"), get("tenantid"))
        else {
            return Err(failure(
                Code::Unauthenticated,
                "service.auth.headers.invalid",
                "The accesstoken, instanceurl and tenantid headers are required",
            ));
        };
        if self.org.session_user(token).is_none()
            || instance.trim_end_matches('/') != self.org.base_url()
            || !(tenant == self.org.org_id || tenant.get(..15) == self.org.org_id.get(..15))
        {
            return Err(auth_failure());
        }
        Ok(())
    }

    fn topic(&self, name: &str) -> Result<Arc<Topic>, Status> {
        if name.is_empty() {
            return Err(failure(
                Code::InvalidArgument,
                "topic.validation.empty",
                "A topic name is required",
            ));
        }
        self.org.topic(name).ok_or_else(|| {
            failure(
                Code::NotFound,
                "topic.notfound",
                &format!("Topic {name} does not exist or you cannot access it"),
            )
        })
    }

    /// Where a subscription starts: the replay id it delivers after.
    fn start(&self, topic: &Topic, preset: i32, replay_id: &[u8]) -> Result<u64, Status> {
        match ReplayPreset::try_from(preset) {
            Ok(ReplayPreset::Latest) => Ok(topic.latest().max(self.org.events.latest_replay())),
            Ok(ReplayPreset::Earliest) => Ok(0),
            Ok(ReplayPreset::Custom) => {
                if replay_id.is_empty() {
                    return Err(failure(
                        Code::InvalidArgument,
                        "subscription.fetch.replayid.validation.failed",
                        "A CUSTOM replay preset needs a replay id",
                    ));
                }
                let replay = ReplayId::from_bytes(replay_id).map_err(|_| corrupted())?;
                self.org
                    .events
                    .check_replay(topic, replay.0)
                    .map_err(|_| corrupted())?;
                Ok(replay.0)
            }
            Err(_) => Err(failure(
                Code::InvalidArgument,
                "subscription.fetch.request.invalid",
                "Unknown replay preset",
            )),
        }
    }
}

fn corrupted() -> Status {
    failure(
        Code::InvalidArgument,
        "subscription.fetch.replayid.corrupted",
        "The Replay ID validation failed. Ensure that the Replay ID is valid",
    )
}

/// Events as delivered. Change events of a bulk insert are encoded from their records, so the
/// store is locked once for the lot, when one of them is among the events.
fn consumer_events(org: &Org, events: &[Arc<BusEvent>]) -> Vec<ConsumerEvent> {
    let store = events.iter().any(|e| e.reads_store()).then(|| org.store());
    let mut cache = SlotCache::default();
    events
        .iter()
        .map(|e| consumer_event(e, e.payload(store.as_deref(), &mut cache)))
        .collect()
}

fn consumer_event(e: &BusEvent, payload: Vec<u8>) -> ConsumerEvent {
    ConsumerEvent {
        event: Some(ProducerEvent {
            id: e.id.to_string(),
            schema_id: e.schema_id.to_string(),
            payload,
            headers: Vec::new(),
        }),
        replay_id: ReplayId(e.replay).to_bytes(),
    }
}

/// What the pump reads from either kind of subscription stream.
struct Incoming {
    topic_name: String,
    num_requested: i32,
    commit: Option<CommitReplayRequest>,
}

/// What the pump writes; turned into a FetchResponse or a ManagedFetchResponse.
struct Batch {
    events: Vec<ConsumerEvent>,
    latest_replay_id: Vec<u8>,
    pending: i32,
    commit: Option<CommitReplayResponse>,
}

struct Pump {
    org: Arc<Org>,
    topic: Arc<Topic>,
    cursor: u64,
    credit: i64,
    managed_id: Option<String>,
}

impl Pump {
    async fn run<T, S>(
        mut self,
        mut inbound: S,
        tx: mpsc::Sender<Result<T, Status>>,
        wrap: fn(Batch) -> T,
    ) where
        S: Stream<Item = Result<Incoming, Status>> + Unpin,
    {
        let settings = self.org.events.settings();
        self.org
            .events
            .streams_opened
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut latest = self.topic.watch();
        let mut delivered: u64 = 0;
        let mut half_closed = false;
        loop {
            if let Some(limit) = settings.drop_streams_after {
                if delivered >= limit {
                    self.org
                        .events
                        .streams_dropped
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let _ = tx
                        .send(Err(failure(
                            Code::Unavailable,
                            "service.unavailable",
                            "The stream was closed by the server (test fault)",
                        )))
                        .await;
                    return;
                }
            }
            if self.credit > 0 {
                let mut max = self.credit as u64;
                if let Some(limit) = settings.drop_streams_after {
                    max = max.min(limit - delivered);
                }
                self.org.events.apply_retention(&self.topic);
                let events = self.topic.events_after(self.cursor, max as usize);
                if let Some(last) = events.last() {
                    self.cursor = last.replay;
                    self.credit -= events.len() as i64;
                    delivered += events.len() as u64;
                    self.org
                        .events
                        .events_delivered
                        .fetch_add(events.len() as u64, std::sync::atomic::Ordering::Relaxed);
                    let batch = Batch {
                        events: consumer_events(&self.org, &events),
                        latest_replay_id: ReplayId(self.cursor).to_bytes(),
                        pending: self.credit as i32,
                        commit: None,
                    };
                    if tx.send(Ok(wrap(batch))).await.is_err() {
                        return;
                    }
                    continue;
                }
            }
            let wait = if self.credit > 0 {
                settings.keepalive
            } else {
                settings.idle_timeout
            };
            tokio::select! {
                request = inbound.next(), if !half_closed => {
                    let request = match request {
                        Some(Ok(r)) => r,
                        Some(Err(_)) => return,
                        // The client sends no more requests; what it asked for still comes.
                        None => {
                            half_closed = true;
                            continue;
                        }
                    };
                    if let Err(status) = self.take(request, &tx, wrap).await {
                        let _ = tx.send(Err(status)).await;
                        return;
                    }
                }
                changed = latest.changed(), if self.credit > 0 => {
                    if changed.is_err() {
                        return;
                    }
                }
                _ = tokio::time::sleep(wait) => {
                    if self.credit == 0 {
                        // No credit for too long: the server closes the stream.
                        return;
                    }
                    let newest = (*latest.borrow()).max(self.cursor);
                    let keepalive = Batch {
                        events: Vec::new(),
                        latest_replay_id: ReplayId(newest).to_bytes(),
                        pending: self.credit as i32,
                        commit: None,
                    };
                    if tx.send(Ok(wrap(keepalive))).await.is_err() {
                        return;
                    }
                }
            }
        }
    }

    /// A later request: more credit, or (managed) a commit.
    async fn take<T>(
        &mut self,
        request: Incoming,
        tx: &mpsc::Sender<Result<T, Status>>,
        wrap: fn(Batch) -> T,
    ) -> Result<(), Status> {
        if !request.topic_name.is_empty() && request.topic_name != self.topic.name {
            return Err(failure(
                Code::InvalidArgument,
                "subscription.fetch.topic.mismatch",
                "The topic cannot change within a subscription",
            ));
        }
        if let Some(commit) = request.commit {
            let Some(id) = &self.managed_id else {
                return Ok(());
            };
            let error = match ReplayId::from_bytes(&commit.replay_id) {
                Ok(replay) if self.org.events.check_replay(&self.topic, replay.0).is_ok() => {
                    self.org.events.commit_managed(id, replay.0);
                    None
                }
                _ => Some(EventError {
                    code: ErrorCode::Commit as i32,
                    msg: "The replay id to commit is not valid".to_owned(),
                }),
            };
            let response = Batch {
                events: Vec::new(),
                latest_replay_id: ReplayId(self.cursor).to_bytes(),
                pending: self.credit as i32,
                commit: Some(CommitReplayResponse {
                    commit_request_id: commit.commit_request_id,
                    replay_id: commit.replay_id,
                    error,
                    process_time: chrono::Utc::now().timestamp_millis(),
                }),
            };
            let _ = tx.send(Ok(wrap(response))).await;
            if request.num_requested == 0 {
                return Ok(());
            }
        }
        if request.num_requested <= 0 {
            return Err(failure(
                Code::InvalidArgument,
                "subscription.fetch.requested.events.invalid",
                "num_requested must be greater than 0",
            ));
        }
        self.credit = (self.credit + i64::from(request.num_requested)).min(MAX_CREDIT);
        Ok(())
    }
}

fn fetch_response(b: Batch) -> FetchResponse {
    FetchResponse {
        events: b.events,
        latest_replay_id: b.latest_replay_id,
        rpc_id: uuid(),
        pending_num_requested: b.pending,
    }
}

fn managed_response(b: Batch) -> ManagedFetchResponse {
    ManagedFetchResponse {
        events: b.events,
        latest_replay_id: b.latest_replay_id,
        rpc_id: uuid(),
        pending_num_requested: b.pending,
        commit_response: b.commit,
    }
}

fn stream_of<T: Send + 'static>(rx: mpsc::Receiver<Result<T, Status>>) -> Boxed<T> {
    Box::pin(ReceiverStream::new(rx))
}

impl PubSubService {
    fn publish_events(
        &self,
        topic_name: &str,
        events: Vec<ProducerEvent>,
    ) -> Result<PublishResponse, Status> {
        self.org
            .events
            .publish_requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let topic = self.topic(topic_name)?;
        let event_type = topic
            .name
            .strip_prefix("/event/")
            .and_then(|name| self.org.events.event_type(name))
            .filter(|_| topic.can_publish)
            .ok_or_else(|| {
                failure(
                    Code::PermissionDenied,
                    "topic.meta.permission",
                    &format!("Events cannot be published on {topic_name}"),
                )
            })?;
        if events.is_empty() || events.len() > 200 {
            return Err(failure(
                Code::InvalidArgument,
                "publish.event.count.invalid",
                "A publish request carries 1 to 200 events",
            ));
        }
        let mut results = Vec::with_capacity(events.len());
        for e in events {
            let id = if e.id.is_empty() { uuid() } else { e.id };
            let problem = if e.payload.len() > MAX_EVENT_BYTES {
                Some(oversize_message(e.payload.len()))
            } else if e.schema_id != event_type.schema_id {
                Some(format!(
                    "Unknown schema id {} for {topic_name}",
                    e.schema_id
                ))
            } else {
                apache_avro::from_avro_datum(&event_type.schema, &mut e.payload.as_slice(), None)
                    .err()
                    .map(|err| format!("The payload does not match the schema: {err}"))
            };
            results.push(match problem {
                Some(msg) => PublishResult {
                    replay_id: Vec::new(),
                    error: Some(EventError {
                        code: ErrorCode::Publish as i32,
                        msg,
                    }),
                    correlation_key: id,
                },
                None => {
                    let replay = self.org.events.publish(&topic, id.clone(), e.payload);
                    PublishResult {
                        replay_id: ReplayId(replay).to_bytes(),
                        error: None,
                        correlation_key: id,
                    }
                }
            });
        }
        Ok(PublishResponse {
            results,
            schema_id: event_type.schema_id.clone(),
            rpc_id: uuid(),
        })
    }
}

#[tonic::async_trait]
impl PubSub for PubSubService {
    type SubscribeStream = Boxed<FetchResponse>;
    type PublishStreamStream = Boxed<PublishResponse>;
    type ManagedSubscribeStream = Boxed<ManagedFetchResponse>;

    async fn get_topic(
        &self,
        request: Request<TopicRequest>,
    ) -> Result<Response<TopicInfo>, Status> {
        self.authenticate(request.metadata())?;
        let topic = self.topic(&request.get_ref().topic_name)?;
        Ok(Response::new(TopicInfo {
            topic_name: topic.name.clone(),
            tenant_guid: self.org.org_id.clone(),
            can_publish: topic.can_publish,
            can_subscribe: true,
            schema_id: topic.schema_id.clone(),
            rpc_id: uuid(),
        }))
    }

    async fn get_schema(
        &self,
        request: Request<SchemaRequest>,
    ) -> Result<Response<SchemaInfo>, Status> {
        self.authenticate(request.metadata())?;
        let id = &request.get_ref().schema_id;
        let json = self.org.events.schema_json(id).ok_or_else(|| {
            failure(
                Code::NotFound,
                "schema.validation.failed",
                &format!("No schema with id {id}"),
            )
        })?;
        Ok(Response::new(SchemaInfo {
            schema_json: json,
            schema_id: id.clone(),
            rpc_id: uuid(),
        }))
    }

    async fn subscribe(
        &self,
        request: Request<Streaming<FetchRequest>>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        self.authenticate(request.metadata())?;
        let mut inbound = request.into_inner();
        let first = inbound.message().await?.ok_or_else(|| {
            failure(
                Code::InvalidArgument,
                "subscription.fetch.request.invalid",
                "No fetch request",
            )
        })?;
        let topic = self.topic(&first.topic_name)?;
        let cursor = self.start(&topic, first.replay_preset, &first.replay_id)?;
        if first.num_requested < 0 {
            return Err(failure(
                Code::InvalidArgument,
                "subscription.fetch.requested.events.invalid",
                "num_requested must be greater than 0",
            ));
        }
        let pump = Pump {
            org: self.org.clone(),
            topic,
            cursor,
            credit: i64::from(first.num_requested).min(MAX_CREDIT),
            managed_id: None,
        };
        let inbound = inbound.map(|r| {
            r.map(|f| Incoming {
                topic_name: f.topic_name,
                num_requested: f.num_requested,
                commit: None,
            })
        });
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(pump.run(Box::pin(inbound), tx, fetch_response));
        Ok(Response::new(stream_of(rx)))
    }

    async fn publish(
        &self,
        request: Request<PublishRequest>,
    ) -> Result<Response<PublishResponse>, Status> {
        self.authenticate(request.metadata())?;
        let request = request.into_inner();
        Ok(Response::new(
            self.publish_events(&request.topic_name, request.events)?,
        ))
    }

    async fn publish_stream(
        &self,
        request: Request<Streaming<PublishRequest>>,
    ) -> Result<Response<Self::PublishStreamStream>, Status> {
        self.authenticate(request.metadata())?;
        let mut inbound = request.into_inner();
        let (tx, rx) = mpsc::channel(16);
        let service = PubSubService {
            org: self.org.clone(),
        };
        tokio::spawn(async move {
            let mut topic: Option<String> = None;
            while let Ok(Some(request)) = inbound.message().await {
                let name = topic
                    .get_or_insert_with(|| request.topic_name.clone())
                    .clone();
                let answer = if !request.topic_name.is_empty() && request.topic_name != name {
                    Err(failure(
                        Code::InvalidArgument,
                        "publish.topic.mismatch",
                        "The topic cannot change within a publish stream",
                    ))
                } else {
                    service.publish_events(&name, request.events)
                };
                let stop = answer.is_err();
                if tx.send(answer).await.is_err() || stop {
                    return;
                }
            }
        });
        Ok(Response::new(stream_of(rx)))
    }

    async fn managed_subscribe(
        &self,
        request: Request<Streaming<ManagedFetchRequest>>,
    ) -> Result<Response<Self::ManagedSubscribeStream>, Status> {
        self.authenticate(request.metadata())?;
        let mut inbound = request.into_inner();
        let first = inbound.message().await?.ok_or_else(|| {
            failure(
                Code::InvalidArgument,
                "managed.subscription.fetch.request.invalid",
                "No fetch request",
            )
        })?;
        if first.commit_replay_id_request.is_some() {
            return Err(failure(
                Code::InvalidArgument,
                "managed.subscription.fetch.request.commit.request.restricted",
                "The first request of a managed subscription cannot commit",
            ));
        }
        if first.subscription_id.is_empty() == first.developer_name.is_empty() {
            return Err(failure(
                Code::InvalidArgument,
                "managed.subscription.id.or.developer.name.empty",
                "Give a subscription id or a developer name, not both",
            ));
        }
        let subscription = self
            .org
            .events
            .managed(&first.subscription_id, &first.developer_name)
            .ok_or_else(|| {
                let code = if first.developer_name.is_empty() {
                    "managed.subscription.subscription.id.not.found"
                } else {
                    "managed.subscription.developer.name.not.found"
                };
                failure(Code::NotFound, code, "No such managed subscription")
            })?;
        let topic = self.topic(&subscription.topic)?;
        let cursor = match subscription.committed {
            Some(replay) if self.org.events.check_replay(&topic, replay).is_ok() => replay,
            Some(_) | None if subscription.earliest => 0,
            _ => self.start(&topic, ReplayPreset::Latest as i32, &[])?,
        };
        let pump = Pump {
            org: self.org.clone(),
            topic,
            cursor,
            credit: i64::from(first.num_requested.max(0)).min(MAX_CREDIT),
            managed_id: Some(subscription.id),
        };
        let inbound = inbound.map(|r| {
            r.map(|f| Incoming {
                topic_name: String::new(),
                num_requested: f.num_requested,
                commit: f.commit_replay_id_request,
            })
        });
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(pump.run(Box::pin(inbound), tx, managed_response));
        Ok(Response::new(stream_of(rx)))
    }
}
