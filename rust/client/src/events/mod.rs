//! Platform events, change events and the Pub/Sub API: topics and schemas, publishing over
//! REST or gRPC, and flow-controlled subscriptions that reconnect where they left off.
//!
//! ```no_run
//! # async fn run(client: forcelink::Client) -> forcelink::Result<()> {
//! use forcelink::events::{Replay, SubscribeOptions};
//! let mut sub = client
//!     .events()
//!     .subscribe("/data/AccountChangeEvent", SubscribeOptions::new(Replay::Earliest))
//!     .await?;
//! while let Some(batch) = sub.next_batch().await {
//!     for event in batch? {
//!         println!("{} {}", event.replay_id, event.decode()?);
//!     }
//! }
//! # Ok(()) }
//! ```

mod publish;
mod schema;
mod subscribe;

pub use publish::{PublishOutcome, PublishStream, PublishedEvent};
pub use schema::{to_json, EventSchema};
pub use subscribe::{
    ChangeEventHeader, Committer, ManagedSubscription, ReceivedEvent, Replay, SubscribeOptions,
    Subscription, MAX_BATCH_SIZE,
};

use crate::auth::AccessToken;
use crate::client::Client;
use crate::error::{Error, Result};
use forcelink_wire::pubsub::pub_sub_client::PubSubClient;
use forcelink_wire::pubsub::{SchemaRequest, TopicInfo, TopicRequest};
use secrecy::ExposeSecret;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tonic::metadata::MetadataValue;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic::{Code, Status};

/// What a client keeps for Pub/Sub between calls.
#[derive(Default)]
pub struct EventsState {
    channel: Mutex<Option<Channel>>,
    /// The tasks of the subscriptions opened, ended when the client closes.
    subscriptions: Mutex<Vec<tokio::task::AbortHandle>>,
    user_id: tokio::sync::OnceCell<String>,
    schemas: Mutex<HashMap<String, Arc<EventSchema>>>,
}

/// A topic as GetTopic describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic {
    pub name: String,
    pub tenant_guid: String,
    pub can_publish: bool,
    pub can_subscribe: bool,
    pub schema_id: String,
}

impl From<TopicInfo> for Topic {
    fn from(t: TopicInfo) -> Self {
        Self {
            name: t.topic_name,
            tenant_guid: t.tenant_guid,
            can_publish: t.can_publish,
            can_subscribe: t.can_subscribe,
            schema_id: t.schema_id,
        }
    }
}

/// The events service of a client: `client.events()`.
#[derive(Clone)]
pub struct Events {
    client: Client,
}

impl EventsState {
    /// Ends every subscription and drops the channel (its connection closes with the last
    /// clone).
    pub(crate) fn close(&self) {
        let tasks =
            std::mem::take(&mut *self.subscriptions.lock().unwrap_or_else(|p| p.into_inner()));
        for task in tasks {
            task.abort();
        }
        self.channel
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
    }
}

impl Events {
    pub(crate) fn new(client: Client) -> Self {
        Self { client }
    }

    fn state(&self) -> &EventsState {
        self.client.events_state()
    }

    /// The gRPC channel to the Pub/Sub endpoint; it connects on first use and reconnects.
    pub(crate) fn grpc(&self) -> Result<PubSubClient<Channel>> {
        self.client.check_process()?;
        self.client.check_open()?;
        let mut slot = self
            .state()
            .channel
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let channel = match &*slot {
            Some(channel) => channel.clone(),
            None => slot.insert(connect(self.client.config())?).clone(),
        };
        Ok(client_of(channel))
    }

    /// Keeps a subscription's task, to end it when the client closes.
    pub(crate) fn track(&self, task: tokio::task::AbortHandle) {
        let mut tasks = self
            .state()
            .subscriptions
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        tasks.retain(|t| !t.is_finished());
        tasks.push(task);
    }

    /// A gRPC request carrying the auth metadata of the current token.
    pub(crate) async fn request<T>(
        &self,
        message: T,
    ) -> Result<(tonic::Request<T>, Arc<AccessToken>)> {
        let token = self.client.access_token().await?;
        let mut request = tonic::Request::new(message);
        let instance = token
            .instance_url
            .as_ref()
            .unwrap_or(&self.client.config().instance_url)
            .as_str()
            .trim_end_matches('/')
            .to_owned();
        let secret = token.token.expose_secret();
        // A session id starts with the 15-character org id.
        let tenant = token
            .org_id
            .clone()
            .or_else(|| secret.split_once('!').map(|(org, _)| org.to_owned()))
            .ok_or_else(|| {
                Error::config(
                    "access_token",
                    "the org id (tenant id) is unknown: the token response named none",
                )
            })?;
        let metadata = request.metadata_mut();
        for (key, value) in [
            ("accesstoken", secret),
            ("instanceurl", &instance),
            ("tenantid", &tenant),
        ] {
            let value = MetadataValue::try_from(value)
                .map_err(|_| Error::config(key, "not valid in a gRPC header"))?;
            metadata.insert(key, value);
        }
        Ok((request, token))
    }

    /// Runs a unary call, renewing the token once when the service says it is not valid.
    async fn unary<T, R, F, Fut>(&self, message: T, call: F) -> Result<R>
    where
        T: Clone,
        F: Fn(PubSubClient<Channel>, tonic::Request<T>) -> Fut,
        Fut: std::future::Future<Output = std::result::Result<tonic::Response<R>, Status>>,
    {
        let mut renewed = false;
        let breakers = self.client.breakers();
        loop {
            breakers.admit(crate::breaker::Family::PubSub)?;
            let (request, token) = self.request(message.clone()).await?;
            let answer = call(self.grpc()?, request).await;
            let outage = answer.as_ref().err().is_some_and(|s| {
                matches!(
                    s.code(),
                    Code::Unavailable | Code::DeadlineExceeded | Code::Internal | Code::Unknown
                )
            });
            breakers.record(crate::breaker::Family::PubSub, outage);
            match answer {
                Ok(r) => return Ok(r.into_inner()),
                Err(status) if status.code() == Code::Unauthenticated && !renewed => {
                    renewed = true;
                    if !self.client.token_rejected(&token).await? {
                        return Err(status_error(&status));
                    }
                }
                Err(status) => return Err(status_error(&status)),
            }
        }
    }

    /// Describes a topic (`/event/Order__e`, `/data/AccountChangeEvent`).
    pub async fn get_topic(&self, topic: &str) -> Result<Topic> {
        check_topic(topic)?;
        let message = TopicRequest {
            topic_name: topic.to_owned(),
        };
        self.unary(message, |mut g, r| async move { g.get_topic(r).await })
            .await
            .map(Topic::from)
    }

    /// A schema by id, from the cache or the service.
    pub async fn get_schema(&self, schema_id: &str) -> Result<Arc<EventSchema>> {
        if let Some(s) = self.cached_schema(schema_id) {
            return Ok(s);
        }
        let message = SchemaRequest {
            schema_id: schema_id.to_owned(),
        };
        let info = self
            .unary(message, |mut g, r| async move { g.get_schema(r).await })
            .await?;
        let schema = Arc::new(EventSchema::parse(schema_id, &info.schema_json)?);
        if let Ok(mut cache) = self.state().schemas.lock() {
            cache.insert(schema_id.to_owned(), schema.clone());
        }
        Ok(schema)
    }

    /// The user id events are published as (`CreatedById`): from the token, or asked once of
    /// `/services/oauth2/userinfo`.
    pub(crate) async fn user_id(&self) -> Result<String> {
        let token = self.client.access_token().await?;
        if let Some(id) = &token.user_id {
            return Ok(id.clone());
        }
        let client = self.client.clone();
        self.state()
            .user_id
            .get_or_try_init(|| async move {
                let url = client
                    .config()
                    .instance_url
                    .join("/services/oauth2/userinfo")
                    .map_err(|e| Error::invalid_argument("url", e.to_string()))?;
                let info: serde_json::Value = client.get_json(url).await?;
                Ok(info["user_id"].as_str().unwrap_or_default().to_owned())
            })
            .await
            .cloned()
    }

    /// An event's schema over REST, by event name (`Order__e`) or schema id: `compact` is the
    /// Avro schema with its id as `uuid`; otherwise Salesforce's EXPANDED form.
    pub async fn event_schema(
        &self,
        event_or_schema_id: &str,
        compact: bool,
    ) -> Result<serde_json::Value> {
        let name = event_or_schema_id.trim();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(Error::invalid_argument(
                "event",
                format!("expected an event name like Order__e or a schema id, got {event_or_schema_id:?}"),
            ));
        }
        let mut url = if name.ends_with("__e") {
            self.client.data_url(&["sobjects", name, "eventSchema"])?
        } else {
            self.client.data_url(&["event", "eventSchema", name])?
        };
        let format = if compact { "COMPACT" } else { "EXPANDED" };
        url.query_pairs_mut().append_pair("payloadFormat", format);
        self.client.get_json(url).await
    }

    fn cached_schema(&self, schema_id: &str) -> Option<Arc<EventSchema>> {
        self.state()
            .schemas
            .lock()
            .ok()
            .and_then(|c| c.get(schema_id).cloned())
    }
}

/// Topic names start with `/event/` or `/data/`.
pub fn check_topic(topic: &str) -> Result<()> {
    let ok = ["/event/", "/data/"].iter().any(|p| {
        topic
            .strip_prefix(p)
            .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
    });
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_argument(
            "topic",
            format!("expected /event/Name__e or /data/NameChangeEvent, got {topic:?}"),
        ))
    }
}

fn client_of(channel: Channel) -> PubSubClient<Channel> {
    // Salesforce's limit per message is 4 MB; a full batch of large events can exceed tonic's
    // default decoding limit.
    PubSubClient::new(channel).max_decoding_message_size(64 * 1024 * 1024)
}

fn connect(config: &crate::config::Config) -> Result<Channel> {
    let url = &config.pubsub_endpoint;
    let host = url
        .host_str()
        .ok_or_else(|| Error::config("pubsub_endpoint", "no host"))?;
    let port = url.port_or_known_default().unwrap_or(443);
    let uri = format!("{}://{host}:{port}", url.scheme());
    let mut endpoint = Endpoint::from_shared(uri)
        .map_err(|e| Error::config("pubsub_endpoint", e.to_string()))?
        .connect_timeout(config.connect_timeout)
        .tcp_nodelay(true)
        // Big windows: a stream of small events must not stall on HTTP/2 flow control.
        .initial_stream_window_size(Some(4 * 1024 * 1024))
        .initial_connection_window_size(Some(8 * 1024 * 1024))
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_while_idle(true);
    if url.scheme() == "https" {
        // The system's store (or SSL_CERT_FILE), Mozilla's roots, and the configured CAs: the
        // same trust as REST.
        let mut tls = ClientTlsConfig::new()
            .with_native_roots()
            .with_webpki_roots()
            .domain_name(host.to_owned());
        for pem in &config.ca_certs_pem {
            tls = tls.ca_certificate(Certificate::from_pem(pem));
        }
        endpoint = endpoint
            .tls_config(tls)
            .map_err(|e| Error::config("pubsub_endpoint", e.to_string()))?;
    }
    match &config.proxy {
        Some(proxy) if proxy.applies_to(host) => Ok(endpoint.connect_with_connector_lazy(
            crate::proxy::TunnelConnector {
                proxy: std::sync::Arc::new(proxy.clone()),
            },
        )),
        _ => Ok(endpoint.connect_lazy()),
    }
}

/// A gRPC status as a client error; replay-id failures get their own variant.
pub(crate) fn status_error(status: &Status) -> Error {
    let header = |key: &str| {
        status
            .metadata()
            .get(key)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let error_code = header("error-code").unwrap_or_default();
    if error_code.contains("replayid") {
        return Error::ReplayId {
            error_code,
            message: status.message().to_owned(),
        };
    }
    Error::PubSub {
        status: code_name(status.code()).to_owned(),
        error_code,
        message: status.message().to_owned(),
        rpc_id: header("rpc-id"),
    }
}

/// The canonical gRPC status name.
pub(crate) fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// Worth opening the stream again: the connection or the server went away.
pub(crate) fn is_transient(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable
            | Code::Unknown
            | Code::Internal
            | Code::Cancelled
            | Code::Aborted
            | Code::DeadlineExceeded
            | Code::ResourceExhausted
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use tonic::metadata::MetadataMap;

    #[test]
    fn topics_name_one_event_or_change_channel() {
        for good in [
            "/event/Order__e",
            "/data/AccountChangeEvent",
            "/data/ChangeEvents",
        ] {
            check_topic(good).unwrap();
        }
        for bad in [
            "",
            "/event/",
            "/data/a/b",
            "Order__e",
            "/topic/Order__e",
            "/event//x",
        ] {
            assert!(
                matches!(check_topic(bad), Err(Error::InvalidArgument { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn every_grpc_status_has_its_canonical_name() {
        let codes = [
            (Code::Ok, "OK"),
            (Code::Cancelled, "CANCELLED"),
            (Code::Unknown, "UNKNOWN"),
            (Code::InvalidArgument, "INVALID_ARGUMENT"),
            (Code::DeadlineExceeded, "DEADLINE_EXCEEDED"),
            (Code::NotFound, "NOT_FOUND"),
            (Code::AlreadyExists, "ALREADY_EXISTS"),
            (Code::PermissionDenied, "PERMISSION_DENIED"),
            (Code::ResourceExhausted, "RESOURCE_EXHAUSTED"),
            (Code::FailedPrecondition, "FAILED_PRECONDITION"),
            (Code::Aborted, "ABORTED"),
            (Code::OutOfRange, "OUT_OF_RANGE"),
            (Code::Unimplemented, "UNIMPLEMENTED"),
            (Code::Internal, "INTERNAL"),
            (Code::Unavailable, "UNAVAILABLE"),
            (Code::DataLoss, "DATA_LOSS"),
            (Code::Unauthenticated, "UNAUTHENTICATED"),
        ];
        for (code, name) in codes {
            assert_eq!(code_name(code), name);
        }
    }

    #[test]
    fn statuses_become_errors_with_salesforce_codes_and_the_rpc_id() {
        let mut metadata = MetadataMap::new();
        metadata.insert(
            "error-code",
            "sfdc.platform.eventbus.grpc.service.auth.error"
                .parse()
                .unwrap(),
        );
        metadata.insert("rpc-id", "rpc-42".parse().unwrap());
        let status = Status::with_metadata(Code::PermissionDenied, "no access", metadata);
        match status_error(&status) {
            Error::PubSub {
                status,
                error_code,
                message,
                rpc_id,
            } => {
                assert_eq!(status, "PERMISSION_DENIED");
                assert_eq!(error_code, "sfdc.platform.eventbus.grpc.service.auth.error");
                assert_eq!(message, "no access");
                assert_eq!(rpc_id.as_deref(), Some("rpc-42"));
            }
            other => panic!("{other:?}"),
        }
        let mut metadata = MetadataMap::new();
        metadata.insert(
            "error-code",
            "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted"
                .parse()
                .unwrap(),
        );
        let status = Status::with_metadata(Code::InvalidArgument, "bad replay id", metadata);
        assert!(matches!(
            status_error(&status),
            Error::ReplayId { message, .. } if message == "bad replay id"
        ));
        match status_error(&Status::unavailable("down")) {
            Error::PubSub {
                error_code, rpc_id, ..
            } => assert!(error_code.is_empty() && rpc_id.is_none()),
            other => panic!("{other:?}"),
        }
    }
}
