//! An async Salesforce API client.
//!
//! ```no_run
//! # async fn run() -> forcelink::Result<()> {
//! use forcelink::{Client, Config};
//! let config = Config::builder()
//!     .instance_url("https://acme.my.salesforce.com")
//!     .access_token("00D...!...")
//!     .build()?;
//! let client = Client::new(config)?;
//! let saved = client.sobjects().create("Account", &serde_json::json!({"Name": "Acme"})).await?;
//! let record = client.sobjects().get("Account", &saved.id, None).await?;
//! # let _ = record; Ok(()) }
//! ```

#[cfg(feature = "arrow")]
pub mod arrow_csv;
pub mod auth;
pub mod breaker;
pub mod bulk;
pub mod client;
pub mod composite;
pub mod config;
pub mod error;
#[cfg(feature = "grpc-transport")]
pub mod events;
pub mod files;
#[cfg(feature = "arrow")]
pub mod frames;
pub mod health;
pub mod limits;
pub mod metrics;
pub mod options;
pub mod proxy;
pub mod query;
pub mod raw;
pub mod resilience;
pub mod routes;
#[cfg(feature = "arrow")]
mod select_list;
#[cfg(feature = "simulation")]
pub mod simulation;
pub mod sobjects;
pub mod soql;
pub mod throttle;
pub mod tooling;
pub mod transport;

pub use auth::{
    AccessToken, AuthProvider, OAuthClient, RotationHook, StaticTokenProvider, TokenManager,
    TokenResponse, TokenSource,
};
pub use breaker::{BreakerSettings, BreakerState, Family};
pub use bulk::{
    Bulk, BulkProgress, BulkQueryPage, BulkQueryPager, BulkResult, CancellationToken,
    CsvRecordStream, CsvSplitter, IngestOptions, JobInfo, JobKind, Operation, PollOptions,
    ResultKind, SplitCsv, SplitOptions, StagedJob,
};
pub use client::{Client, ClientBuilder};
pub use composite::{
    BatchResult, BatchResultItem, BatchSubrequest, RecordResult, Subrequest, SubrequestResult,
    TreeResult, TreeResultItem,
};
pub use config::{Config, ConfigBuilder, Credentials, Flow};
pub use error::{
    ApiError, ApiErrorItem, Attempts, Error, ErrorKind, OAuthError, Result, TransportErrorKind,
    TransportFailure,
};
pub use forcelink_wire::RecordId;
pub use health::{HealthCheck, HealthReport, HealthStatus, HealthThresholds};
pub use limits::{ApiUsage, AppUsage};
pub use options::CallOptions;
pub use query::{QueryOptions, QueryPage, QueryPager, RawPage};
pub use raw::{RawRequest, RawResponse};
pub use resilience::{Idempotency, RetryEvent, RetryHook, RetryPolicy};
#[cfg(feature = "simulation")]
pub use simulation::{
    FakeTransport, Interaction, SeenRequest, SimulationError, SimulationRecorder,
    SimulationReplayer,
};
pub use sobjects::{
    DescribeGlobal, FieldDescribe, PicklistValue, Record, SObjectDescribe, SObjectSummary,
    SaveResult, UpsertResult,
};
pub use soql::{escape_sosl, format_soql, format_sosl, SoqlValue};
pub use throttle::{ThrottleSettings, UsageHook};
pub use tooling::{ExecuteAnonymousResult, Tooling};
#[cfg(feature = "reqwest-transport")]
pub use transport::ReqwestTransport;
pub use transport::{HttpRequest, HttpResponse, HttpTransport, SendError};
