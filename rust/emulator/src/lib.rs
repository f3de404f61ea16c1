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

pub mod apex;
pub mod bulk;
mod composite;
mod compound;
pub mod creation;
pub mod events;
mod failure;
mod files;
mod header_names;
mod identity;
mod oauth;
pub mod org;
pub mod record;
mod replication;
pub mod rest;
pub mod schema;
mod search;
mod server;
pub mod soql;
pub mod store;
mod tls;
mod tooling;
mod traversal;

pub use apex::{ApexAnswer, ApexCall, ApexHandler};
pub use failure::ApiFailure;
pub use org::Fault;
pub use server::{ConnectedAppSpec, Emulator, EmulatorBuilder, EmulatorError};
