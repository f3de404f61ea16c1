//! The Pub/Sub API contract (`eventbus.v1`): prost messages and tonic client and server stubs
//! generated from protos/pubsub_api.proto.

#![allow(clippy::all, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

tonic::include_proto!("eventbus.v1");
