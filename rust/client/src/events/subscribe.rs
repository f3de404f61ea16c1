//! Subscriptions: credit-based flow control that asks for more before the buffer runs dry, a
//! bounded queue to the consumer, and reconnection with backoff that resumes right after the
//! last event handed over. A replay id the service refuses ends the subscription with
//! [`Error::ReplayId`]; it never jumps elsewhere.

use super::{check_topic, is_transient, status_error, EventSchema, Events};
use crate::error::{Error, Result};
use forcelink_wire::pubsub::{
    CommitReplayRequest, ConsumerEvent, FetchRequest, ManagedFetchRequest, ReplayPreset,
};
use forcelink_wire::ReplayId;
use futures::StreamExt;
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tonic::Code;

/// Where a subscription starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// New events only.
    Latest,
    /// The oldest retained event.
    Earliest,
    /// Right after this event.
    After(ReplayId),
}

/// Salesforce's limit on the events one FetchRequest asks for.
pub const MAX_BATCH_SIZE: u32 = 100;

/// How to subscribe.
#[derive(Debug, Clone)]
pub struct SubscribeOptions {
    pub replay: Replay,
    /// Events asked for at a time (1 to 100).
    pub batch_size: u32,
    /// Batches held for the consumer before the subscriber stops asking for more.
    pub queue_batches: usize,
    /// Consecutive failed reconnections before the subscription gives up.
    pub max_retries: u32,
    /// The first reconnection delay; doubled per failure, at most 10 s.
    pub backoff: Duration,
}

impl SubscribeOptions {
    pub fn new(replay: Replay) -> Self {
        Self {
            replay,
            batch_size: MAX_BATCH_SIZE,
            queue_batches: 4,
            max_retries: 8,
            backoff: Duration::from_millis(200),
        }
    }

    /// Checks the options before anything is sent.
    pub fn check(&self) -> Result<()> {
        if !(1..=MAX_BATCH_SIZE).contains(&self.batch_size) {
            return Err(Error::invalid_argument(
                "batch_size",
                format!("must be 1 to {MAX_BATCH_SIZE}, got {}", self.batch_size),
            ));
        }
        Ok(())
    }
}

/// One delivered event: its position, ids and Avro payload with the writer schema.
#[derive(Debug, Clone)]
pub struct ReceivedEvent {
    pub replay_id: ReplayId,
    pub event_id: String,
    pub schema: Arc<EventSchema>,
    pub payload: Vec<u8>,
}

/// A change event's header, with the field bitmaps expanded to names.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeEventHeader {
    pub entity_name: String,
    pub record_ids: Vec<String>,
    pub change_type: String,
    pub change_origin: String,
    pub transaction_key: String,
    pub sequence_number: i64,
    pub commit_timestamp: i64,
    pub commit_number: i64,
    pub commit_user: String,
    pub changed_fields: Vec<String>,
    pub nulled_fields: Vec<String>,
    pub diff_fields: Vec<String>,
}

impl ReceivedEvent {
    pub fn schema_id(&self) -> &str {
        &self.schema.id
    }

    /// The payload as JSON.
    pub fn decode(&self) -> Result<Value> {
        self.schema.decode_json(&self.payload)
    }

    /// For change events: the header, bitmaps expanded against the schema.
    pub fn change_header(&self) -> Result<Option<ChangeEventHeader>> {
        let (Some(layout), Some(header_schema)) = (&self.schema.layout, &self.schema.header) else {
            return Ok(None);
        };
        let header = apache_avro::from_avro_datum(header_schema, &mut &self.payload[..], None)
            .map(super::to_json)
            .map_err(|e| Error::Avro {
                schema_id: self.schema.id.clone(),
                message: e.to_string(),
            })?;
        let text = |k: &str| header[k].as_str().unwrap_or_default().to_owned();
        let number = |k: &str| header[k].as_i64().unwrap_or_default();
        let list = |k: &str| -> Vec<String> {
            header[k]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let expand = |k: &str| {
            layout.decode(&list(k)).map_err(|e| Error::Avro {
                schema_id: self.schema.id.clone(),
                message: e.to_string(),
            })
        };
        Ok(Some(ChangeEventHeader {
            entity_name: text("entityName"),
            record_ids: list("recordIds"),
            change_type: text("changeType"),
            change_origin: text("changeOrigin"),
            transaction_key: text("transactionKey"),
            sequence_number: number("sequenceNumber"),
            commit_timestamp: number("commitTimestamp"),
            commit_number: number("commitNumber"),
            commit_user: text("commitUser"),
            changed_fields: expand("changedFields")?,
            nulled_fields: expand("nulledFields")?,
            diff_fields: expand("diffFields")?,
        }))
    }
}

type Batch = Result<Vec<ReceivedEvent>>;

/// A running subscription. Dropping it closes the stream.
pub struct Subscription {
    rx: mpsc::Receiver<Batch>,
    task: JoinHandle<()>,
}

impl Subscription {
    /// The next events, in order; None once the subscription ended (after an error was
    /// returned, or when closed).
    pub async fn next_batch(&mut self) -> Option<Batch> {
        self.rx.recv().await
    }

    /// The next events without waiting: None when nothing is ready.
    pub fn try_next_batch(&mut self) -> Option<Batch> {
        self.rx.try_recv().ok()
    }

    /// Ends the subscription from anywhere (another thread or task), without waiting for the
    /// reader: a pending `next_batch` then returns None.
    pub fn abort_handle(&self) -> tokio::task::AbortHandle {
        self.task.abort_handle()
    }

    /// Ends the subscription.
    pub fn close(&mut self) {
        self.task.abort();
        self.rx.close();
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A managed subscription: positions are stored by the service through [`commit`](Self::commit).
pub struct ManagedSubscription {
    inner: Subscription,
    commands: mpsc::Sender<Command>,
}

/// Reads like a [`Subscription`].
impl std::ops::Deref for ManagedSubscription {
    type Target = Subscription;
    fn deref(&self) -> &Subscription {
        &self.inner
    }
}

impl std::ops::DerefMut for ManagedSubscription {
    fn deref_mut(&mut self) -> &mut Subscription {
        &mut self.inner
    }
}

impl ManagedSubscription {
    /// Stores `replay_id` as the subscription's position and waits for the service to confirm.
    pub async fn commit(&self, replay_id: ReplayId) -> Result<()> {
        self.committer().commit(replay_id).await
    }

    /// A handle that commits for this subscription from another task.
    pub fn committer(&self) -> Committer {
        Committer {
            commands: self.commands.clone(),
        }
    }
}

/// Commits positions of a managed subscription.
#[derive(Clone)]
pub struct Committer {
    commands: mpsc::Sender<Command>,
}

impl Committer {
    pub async fn commit(&self, replay_id: ReplayId) -> Result<()> {
        let (done, answer) = oneshot::channel();
        self.commands
            .send(Command::Commit { replay_id, done })
            .await
            .map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

fn closed() -> Error {
    Error::PubSub {
        status: "CANCELLED".into(),
        error_code: String::new(),
        message: "the subscription is closed".into(),
        rpc_id: None,
    }
}

enum Command {
    Commit {
        replay_id: ReplayId,
        done: oneshot::Sender<Result<()>>,
    },
}

/// Which kind of stream, and how to name it in the first request.
#[derive(Clone)]
enum Target {
    Topic(String),
    Managed { id: String, developer_name: String },
}

/// A request in either stream's terms.
struct Ask {
    num_requested: i32,
    commit: Option<CommitReplayRequest>,
}

/// A response in either stream's terms.
struct Delivery {
    events: Vec<ConsumerEvent>,
    latest_replay_id: Vec<u8>,
    pending: i32,
    commit: Option<forcelink_wire::pubsub::CommitReplayResponse>,
}

impl From<forcelink_wire::pubsub::FetchResponse> for Delivery {
    fn from(f: forcelink_wire::pubsub::FetchResponse) -> Self {
        Self {
            events: f.events,
            latest_replay_id: f.latest_replay_id,
            pending: f.pending_num_requested,
            commit: None,
        }
    }
}

impl From<forcelink_wire::pubsub::ManagedFetchResponse> for Delivery {
    fn from(f: forcelink_wire::pubsub::ManagedFetchResponse) -> Self {
        Self {
            events: f.events,
            latest_replay_id: f.latest_replay_id,
            pending: f.pending_num_requested,
            commit: f.commit_response,
        }
    }
}

type Deliveries = futures::stream::BoxStream<'static, std::result::Result<Delivery, tonic::Status>>;

impl Events {
    /// Subscribes to a topic. Events come in order, each once, across reconnections.
    pub async fn subscribe(&self, topic: &str, options: SubscribeOptions) -> Result<Subscription> {
        self.client.check_open()?;
        check_topic(topic)?;
        options.check()?;
        let (tx, rx) = mpsc::channel(options.queue_batches.max(1));
        let runner = Runner::new(
            self.clone(),
            Target::Topic(topic.to_owned()),
            options,
            tx,
            None,
        );
        let task = tokio::spawn(runner.run());
        self.track(task.abort_handle());
        Ok(Subscription { rx, task })
    }

    /// Subscribes through a managed subscription (by id `18x...` or developer name); it starts
    /// after the position last committed.
    pub async fn managed_subscribe(
        &self,
        subscription: &str,
        batch_size: u32,
    ) -> Result<ManagedSubscription> {
        self.client.check_open()?;
        let mut options = SubscribeOptions::new(Replay::Latest);
        options.batch_size = batch_size;
        options.check()?;
        if subscription.is_empty() {
            return Err(Error::invalid_argument("subscription", "is empty"));
        }
        let looks_like_id = subscription.len() == 18
            && forcelink_wire::RecordId::parse(subscription).is_ok()
            && subscription.starts_with("18x");
        let target = if looks_like_id {
            Target::Managed {
                id: subscription.to_owned(),
                developer_name: String::new(),
            }
        } else {
            Target::Managed {
                id: String::new(),
                developer_name: subscription.to_owned(),
            }
        };
        let (tx, rx) = mpsc::channel(options.queue_batches.max(1));
        let (commands, command_rx) = mpsc::channel(16);
        let runner = Runner::new(self.clone(), target, options, tx, Some(command_rx));
        let task = tokio::spawn(runner.run());
        self.track(task.abort_handle());
        Ok(ManagedSubscription {
            inner: Subscription { rx, task },
            commands,
        })
    }
}

/// How one stream ended.
enum Ended {
    /// The consumer went away: stop quietly.
    ConsumerGone,
    /// The service closed or dropped the stream.
    Status(tonic::Status),
    /// A client-side failure that ends the subscription.
    Fatal(Error),
}

/// What woke the runner.
enum Wake {
    Handed(std::result::Result<(), ()>),
    Command(Option<Command>),
    Delivery(Option<std::result::Result<Delivery, tonic::Status>>),
}

struct Runner {
    events: Events,
    target: Target,
    options: SubscribeOptions,
    tx: mpsc::Sender<Batch>,
    /// Commits of a managed subscription; None for a plain one, or once every sender is gone.
    commands: Option<mpsc::Receiver<Command>>,
    /// Batches received but not yet taken by the consumer's queue. They survive a reconnection
    /// (the stream resumes after the last of them), and more credit is asked for only once they
    /// are handed over, so at most about one batch waits here.
    held: VecDeque<Vec<ReceivedEvent>>,
    /// Counts the subscription active while it runs, and its events.
    active: crate::metrics::ActiveSubscription,
}

impl Target {
    /// The topic, or the managed subscription's name, as metrics and logs label it.
    fn label(&self) -> &str {
        match self {
            Target::Topic(topic) => topic,
            Target::Managed { developer_name, .. } => developer_name,
        }
    }
}

impl Runner {
    fn new(
        events: Events,
        target: Target,
        options: SubscribeOptions,
        tx: mpsc::Sender<Batch>,
        commands: Option<mpsc::Receiver<Command>>,
    ) -> Self {
        let active = crate::metrics::subscription_started(target.label());
        Self {
            events,
            target,
            options,
            tx,
            commands,
            held: VecDeque::new(),
            active,
        }
    }

    async fn run(mut self) {
        let mut position = self.options.replay;
        let mut failures = 0u32;
        let mut renewed = false;
        loop {
            let mut progressed = false;
            let ended = self.stream_once(&mut position, &mut progressed).await;
            if progressed {
                failures = 0;
                renewed = false;
            }
            let error = match ended {
                Ended::ConsumerGone => return,
                Ended::Fatal(e) => e,
                Ended::Status(status) if status.code() == Code::Unauthenticated && !renewed => {
                    renewed = true;
                    tracing::info!(
                        target: "forcelink::events",
                        topic = self.target.label(),
                        "stream refused the session: renewing the token"
                    );
                    match self.renew_token().await {
                        Ok(true) => continue,
                        Ok(false) => status_error(&status),
                        Err(e) => e,
                    }
                }
                Ended::Status(status) if status.code() == Code::Ok || is_transient(&status) => {
                    failures += 1;
                    crate::metrics::record_error("pubsub", super::code_name(status.code()));
                    if failures > self.options.max_retries {
                        tracing::error!(
                            target: "forcelink::events",
                            topic = self.target.label(),
                            code = super::code_name(status.code()),
                            failures,
                            "stream failed too often: the subscription ends"
                        );
                        status_error(&status)
                    } else {
                        let delay = self.options.backoff * 2u32.saturating_pow(failures - 1);
                        tracing::warn!(
                            target: "forcelink::events",
                            topic = self.target.label(),
                            code = super::code_name(status.code()),
                            cause = status.message(),
                            attempt = failures,
                            wait_ms = delay.min(Duration::from_secs(10)).as_millis() as u64,
                            resume_after = %replay_position(&position),
                            "stream dropped: reconnecting"
                        );
                        if self
                            .pause(delay.min(Duration::from_secs(10)))
                            .await
                            .is_err()
                        {
                            return;
                        }
                        continue;
                    }
                }
                Ended::Status(status) => status_error(&status),
            };
            // Events already received still reach the consumer before the error does.
            while let Some(batch) = self.held.pop_front() {
                if self.tx.send(Ok(batch)).await.is_err() {
                    return;
                }
            }
            let _ = self.tx.send(Err(error)).await;
            return;
        }
    }

    /// Waits before reconnecting while handing held events over; Err when the consumer left.
    async fn pause(&mut self, delay: Duration) -> std::result::Result<(), ()> {
        let deadline = tokio::time::Instant::now() + delay;
        while let Some(batch) = self.held.pop_front() {
            tokio::select! {
                sent = self.tx.send(Ok(batch)) => sent.map_err(|_| ())?,
                _ = tokio::time::sleep_until(deadline) => return Ok(()),
            }
        }
        tokio::time::sleep_until(deadline).await;
        Ok(())
    }

    async fn renew_token(&self) -> Result<bool> {
        let token = self.events.client.access_token().await?;
        self.events.client.token_rejected(&token).await
    }

    /// Opens the stream in either shape and returns the request sender and the deliveries.
    async fn open(
        &self,
        position: Replay,
    ) -> std::result::Result<(mpsc::Sender<Ask>, Deliveries), Ended> {
        let batch = self.options.batch_size as i32;
        let (ask_tx, ask_rx) = mpsc::channel::<Ask>(16);
        let asks = tokio_stream::wrappers::ReceiverStream::new(ask_rx);
        let mut grpc = self.events.grpc().map_err(Ended::Fatal)?;
        let deliveries: Deliveries = match &self.target {
            Target::Topic(topic) => {
                let (preset, replay_id) = match position {
                    Replay::Latest => (ReplayPreset::Latest, Vec::new()),
                    Replay::Earliest => (ReplayPreset::Earliest, Vec::new()),
                    Replay::After(id) => (ReplayPreset::Custom, id.to_bytes()),
                };
                let first = FetchRequest {
                    topic_name: topic.clone(),
                    replay_preset: preset as i32,
                    replay_id,
                    num_requested: batch,
                    auth_refresh: String::new(),
                };
                let requests =
                    futures::stream::once(async move { first }).chain(asks.map(|a| FetchRequest {
                        num_requested: a.num_requested,
                        ..FetchRequest::default()
                    }));
                let (request, _) = self.events.request(requests).await.map_err(Ended::Fatal)?;
                let response = grpc.subscribe(request).await.map_err(Ended::Status)?;
                response.into_inner().map(|r| r.map(Delivery::from)).boxed()
            }
            Target::Managed { id, developer_name } => {
                let first = ManagedFetchRequest {
                    subscription_id: id.clone(),
                    developer_name: developer_name.clone(),
                    num_requested: batch,
                    ..ManagedFetchRequest::default()
                };
                let requests = futures::stream::once(async move { first }).chain(asks.map(|a| {
                    ManagedFetchRequest {
                        num_requested: a.num_requested,
                        commit_replay_id_request: a.commit,
                        ..ManagedFetchRequest::default()
                    }
                }));
                let (request, _) = self.events.request(requests).await.map_err(Ended::Fatal)?;
                let response = grpc
                    .managed_subscribe(request)
                    .await
                    .map_err(Ended::Status)?;
                response.into_inner().map(|r| r.map(Delivery::from)).boxed()
            }
        };
        Ok((ask_tx, deliveries))
    }

    /// Runs one stream until it ends. The loop never blocks on one thing alone: it hands held
    /// batches to the consumer, forwards commits and reads deliveries (commit answers among
    /// them) at once, so a consumer waiting for a commit never waits on a full queue.
    async fn stream_once(&mut self, position: &mut Replay, progressed: &mut bool) -> Ended {
        let batch = self.options.batch_size as i32;
        let (asks, mut deliveries) = match self.open(*position).await {
            Ok(opened) => opened,
            Err(ended) => return ended,
        };
        tracing::info!(
            target: "forcelink::events",
            topic = self.target.label(),
            replay = %replay_position(position),
            batch,
            "stream opened"
        );
        let mut credit = batch;
        let mut commits = Commits::new();
        let mut next_commit = 0u64;
        loop {
            // Ask for more while half the credit is still outstanding, so events keep coming
            // while the consumer works through the queue; but not while events wait here.
            if self.held.is_empty() && credit <= batch / 2 {
                tracing::debug!(
                    target: "forcelink::events",
                    topic = self.target.label(),
                    requested = batch - credit,
                    "flow control: asking for more events"
                );
                let ask = Ask {
                    num_requested: batch - credit,
                    commit: None,
                };
                if asks.send(ask).await.is_err() {
                    return Ended::Status(tonic::Status::unavailable("stream closed"));
                }
                credit = batch;
            }
            let holding = !self.held.is_empty();
            let wake = tokio::select! {
                permit = self.tx.reserve(), if holding => Wake::Handed(match permit {
                    Ok(permit) => {
                        if let Some(events) = self.held.pop_front() {
                            permit.send(Ok(events));
                        }
                        Ok(())
                    }
                    Err(_) => Err(()),
                }),
                command = next_command(&mut self.commands) => Wake::Command(command),
                delivery = deliveries.next() => Wake::Delivery(delivery),
            };
            let delivery = match wake {
                Wake::Handed(Ok(())) => continue,
                Wake::Handed(Err(())) => return Ended::ConsumerGone,
                Wake::Command(None) => {
                    // Every committer is gone: stop listening for commands.
                    self.commands = None;
                    continue;
                }
                Wake::Command(Some(Command::Commit { replay_id, done })) => {
                    next_commit += 1;
                    commits.insert(next_commit, done);
                    let ask = Ask {
                        num_requested: 0,
                        commit: Some(CommitReplayRequest {
                            commit_request_id: format!("commit-{next_commit}"),
                            replay_id: replay_id.to_bytes(),
                        }),
                    };
                    if asks.send(ask).await.is_err() {
                        return Ended::Status(tonic::Status::unavailable("stream closed"));
                    }
                    continue;
                }
                Wake::Delivery(None) => {
                    return Ended::Status(tonic::Status::ok("the stream ended"))
                }
                Wake::Delivery(Some(Err(status))) => return Ended::Status(status),
                Wake::Delivery(Some(Ok(d))) => d,
            };
            credit = delivery.pending;
            if let Some(answer) = delivery.commit {
                settle_commits(&mut commits, &answer);
            }
            if delivery.events.is_empty() {
                // A keepalive: a LATEST subscription may resume from the newest id it names.
                if *position == Replay::Latest {
                    if let Ok(id) = ReplayId::from_bytes(&delivery.latest_replay_id) {
                        *position = Replay::After(id);
                    }
                }
                continue;
            }
            let received = match self.receive(delivery.events).await {
                Ok(r) => r,
                Err(e) => return Ended::Fatal(e),
            };
            self.observe(&received);
            if let Some(last) = received.last() {
                *position = Replay::After(last.replay_id);
                *progressed = true;
            }
            // The common case, a consumer keeping up, skips the holding queue.
            if self.held.is_empty() {
                match self.tx.try_reserve() {
                    Ok(permit) => {
                        permit.send(Ok(received));
                        continue;
                    }
                    Err(mpsc::error::TrySendError::Closed(())) => return Ended::ConsumerGone,
                    Err(mpsc::error::TrySendError::Full(())) => {}
                }
            }
            self.held.push_back(received);
        }
    }

    /// Counts received events and their age (creation to now), and logs the replay position.
    fn observe(&self, received: &[ReceivedEvent]) {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        for event in received {
            let age = event
                .schema
                .created_at_ms(&event.payload)
                .and_then(|created| u64::try_from(now_ms.saturating_sub(created)).ok())
                .map(Duration::from_millis);
            crate::metrics::record_event(&self.active, age);
        }
        if let Some(last) = received.last() {
            tracing::debug!(
                target: "forcelink::events",
                topic = self.target.label(),
                events = received.len(),
                replay_id = last.replay_id.0,
                "events received"
            );
        }
    }

    async fn receive(&self, events: Vec<ConsumerEvent>) -> Result<Vec<ReceivedEvent>> {
        let mut out = Vec::with_capacity(events.len());
        let mut last_schema: Option<Arc<EventSchema>> = None;
        for consumer in events {
            let replay_id = ReplayId::from_bytes(&consumer.replay_id).map_err(|e| {
                Error::UnexpectedResponse {
                    status: 200,
                    message: format!("an event's replay id: {e}"),
                }
            })?;
            let event = consumer.event.unwrap_or_default();
            let schema = match &last_schema {
                Some(s) if s.id == event.schema_id => s.clone(),
                _ => {
                    let s = self.events.get_schema(&event.schema_id).await?;
                    last_schema = Some(s.clone());
                    s
                }
            };
            out.push(ReceivedEvent {
                replay_id,
                event_id: event.id,
                schema,
                payload: event.payload,
            });
        }
        Ok(out)
    }
}

/// The next commit command; pending forever once there is no channel (a plain subscription,
/// or every committer dropped), so the runner's select never spins on a closed channel.
async fn next_command(commands: &mut Option<mpsc::Receiver<Command>>) -> Option<Command> {
    match commands {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Answers the commits up to the one this response confirms (one response may settle several).
fn settle_commits(commits: &mut Commits, answer: &forcelink_wire::pubsub::CommitReplayResponse) {
    let outcome = || match &answer.error {
        Some(e) => Err(Error::PubSub {
            status: "COMMIT".into(),
            error_code: format!("{:?}", e.code()),
            message: e.msg.clone(),
            rpc_id: None,
        }),
        None => Ok(()),
    };
    let later = commits.split_off(&commit_serial(&answer.commit_request_id).saturating_add(1));
    for (_, done) in std::mem::replace(commits, later) {
        let _ = done.send(outcome());
    }
}

/// Commits sent and not yet answered, by serial.
type Commits = BTreeMap<u64, oneshot::Sender<Result<()>>>;

fn commit_serial(id: &str) -> u64 {
    id.strip_prefix("commit-")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// A replay position for logs.
fn replay_position(position: &Replay) -> String {
    match position {
        Replay::Latest => "latest".to_owned(),
        Replay::Earliest => "earliest".to_owned(),
        Replay::After(id) => format!("after {id}"),
    }
}
