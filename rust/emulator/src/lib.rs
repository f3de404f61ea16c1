//! A local Salesforce org for tests and benchmarks: REST sObjects, describe and limits over real
//! HTTP/1.1 and HTTP/2 sockets, with TLS on request, API usage accounting and fault injection.
//!
//! ```no_run
//! # async fn run() -> Result<(), forcelink_emulator::EmulatorError> {
//! let org = forcelink_emulator::Emulator::builder().tls(true).start().await?;
//! println!("{} {}", org.instance_url(), org.access_token());
//! org.shutdown().await;
//! # Ok(()) }
//! ```

// Layers, each importing only those below it (docs/decisions/0009-layers.md): the
// HTTP kit, then the org's model, then the features; `org` composes every feature's state and
// `rest` and `server` route to them.
pub mod http_kit;
pub mod model;

pub mod apex;
pub mod bulk;
mod composite;
pub mod events;
mod files;
mod header_names;
mod identity;
mod limits;
mod oauth;
pub mod org;
mod replication;
pub mod rest;
mod search;
mod server;
mod sobjects;
pub mod soql;
mod tls;
mod tooling;
mod traversal;

pub use apex::{ApexAnswer, ApexCall, ApexHandler};
pub use http_kit::failure::ApiFailure;
// The model's modules at their former paths.
pub use model::{creation, record, schema, store};
pub use org::Fault;
pub use server::{ConnectedAppSpec, Emulator, EmulatorBuilder, EmulatorError};
