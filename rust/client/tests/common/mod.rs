//! Helpers shared by the integration tests.
#![allow(clippy::unwrap_used, dead_code)]

use forcelink::{Client, Config, RetryPolicy};
use forcelink_emulator::{Emulator, Fault};
use std::time::Duration;

/// A client of `org` with its start-up token, trusting its CA when it serves TLS.
pub fn client_for(org: &Emulator) -> Client {
    let mut builder = Config::builder()
        .instance_url(org.instance_url())
        .access_token(org.access_token())
        .pubsub_endpoint(pubsub_url(org));
    if let Some(pem) = org.ca_cert_pem() {
        builder = builder.ca_cert_pem(pem.as_bytes().to_vec());
    }
    Client::new(builder.build().unwrap()).unwrap()
}

/// The emulator's Pub/Sub endpoint as a URL: https when it serves TLS.
pub fn pubsub_url(org: &Emulator) -> String {
    let scheme = if org.ca_cert_pem().is_some() {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{}", org.pubsub_endpoint())
}

/// The org answers `times` requests whose path contains `path` with `status` and an error body
/// carrying `error_code`, instead of handling them.
pub fn answer_fault(path: &str, status: u16, error_code: &str, times: u32) -> Fault {
    Fault {
        method: None,
        path_contains: path.into(),
        status,
        error_code: error_code.into(),
        message: "injected".into(),
        times,
        retry_after: None,
        delay: None,
        drop_connection: false,
        after_commit: false,
        rate: None,
    }
}

/// Retries that wait a millisecond or so: `max_attempts` tries in all.
pub fn quick_retries(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        ..RetryPolicy::default()
    }
}

/// A client of `org` (plain HTTP, its start-up token) that tries each request `max_attempts`
/// times.
pub fn client_with_attempts(org: &Emulator, max_attempts: u32) -> Client {
    let config = Config::builder()
        .instance_url(org.instance_url())
        .access_token(org.access_token())
        .retry_policy(quick_retries(max_attempts))
        .build()
        .unwrap();
    Client::new(config).unwrap()
}
