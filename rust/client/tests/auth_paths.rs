//! The token manager's less travelled paths through the Rust API against the emulator: token
//! requests retried through 5xx answers and refused connections, renewal when a token ages,
//! one renewal for many first calls, revocation by every kind of provider, and the checks made
//! before anything is sent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use forcelink::{
    AccessToken, AuthProvider, Client, Config, Error, StaticTokenProvider, TokenResponse,
    TokenSource,
};
use forcelink_emulator::{ConnectedAppSpec, Emulator, Fault};
use futures::future::BoxFuture;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use secrecy::SecretString;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The token endpoint answers `status` with an OAuth error body, `times` times.
fn token_fault(status: u16, error: &str, times: u32) -> Fault {
    common::answer_fault("/oauth2/token", status, error, times)
}

/// An org with a Connected App `app-j` that trusts a new key pair; the private key's PEM.
async fn jwt_org() -> (Emulator, String) {
    let org = Emulator::builder().start().await.unwrap();
    let mut rng = rand::thread_rng();
    let private = rsa::RsaPrivateKey::new(&mut rng, 2048).unwrap();
    let public_pem = private
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    org.create_connected_app(ConnectedAppSpec {
        client_id: "app-j".into(),
        certificate_pem: Some(public_pem),
        ..ConnectedAppSpec::default()
    })
    .unwrap();
    org.issue_refresh_token("app-j", org.username()).unwrap();
    let pem = private.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
    (org, pem)
}

fn jwt_client(org: &Emulator, pem: &str, retries: u32, lifetime: Option<Duration>) -> Client {
    let mut builder = Config::builder()
        .login_url(org.login_url())
        .jwt_bearer("app-j", org.username(), pem.to_owned())
        .retry_policy(common::quick_retries(retries));
    if let Some(lifetime) = lifetime {
        builder = builder.token_lifetime(lifetime);
    }
    Client::new(builder.build().unwrap()).unwrap()
}

fn jwt_grants(org: &Emulator) -> u64 {
    org.stats()["token_grants"]["jwt_bearer"]
        .as_u64()
        .unwrap_or(0)
}

#[tokio::test]
async fn token_requests_are_retried_through_server_errors_then_give_up() {
    let (org, pem) = jwt_org().await;
    org.inject_fault(token_fault(503, "temporarily_unavailable", 2));
    let token = jwt_client(&org, &pem, 3, None)
        .access_token()
        .await
        .unwrap();
    assert_eq!(token.generation, 1);
    assert_eq!(jwt_grants(&org), 1, "two 503s, then the grant");

    org.inject_fault(token_fault(503, "temporarily_unavailable", 3));
    let err = jwt_client(&org, &pem, 3, None)
        .access_token()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::UnexpectedResponse { status: 503, .. }),
        "{err:?}"
    );
    assert_eq!(jwt_grants(&org), 1, "three tries, all refused");

    // A refusal (4xx with an OAuth error) is not retried; the next call asks again.
    org.inject_fault(token_fault(400, "invalid_request", 1));
    let sf = jwt_client(&org, &pem, 3, None);
    let err = sf.access_token().await.unwrap_err();
    match &err {
        Error::OAuth(e) => assert_eq!((e.status, e.error.as_str()), (400, "invalid_request")),
        other => panic!("expected an OAuth refusal, got {other:?}"),
    }
    sf.sobjects().describe_global().await.unwrap();
    assert_eq!(jwt_grants(&org), 2);
}

#[tokio::test]
async fn a_login_host_that_refuses_connections_is_a_transport_error_after_the_retries() {
    let (_org, pem) = jwt_org().await;
    // Bind then drop a listener: nothing listens on its port afterwards.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = Config::builder()
        .login_url(format!("http://127.0.0.1:{port}"))
        .jwt_bearer("app-j", "someone@example.com", pem)
        .retry_policy(common::quick_retries(2))
        .build()
        .unwrap();
    let err = Client::new(config)
        .unwrap()
        .access_token()
        .await
        .unwrap_err();
    match err {
        Error::Transport(failure) => assert_eq!(failure.attempts.count, 2),
        other => panic!("expected a transport error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_token_past_its_lifetime_is_renewed_before_use_and_first_calls_share_one_grant() {
    let (org, pem) = jwt_org().await;
    let sf = jwt_client(&org, &pem, 3, Some(Duration::from_millis(400)));
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let sf = sf.clone();
            tokio::spawn(async move { sf.access_token().await.map(|t| t.generation) })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap(), 1);
    }
    assert_eq!(jwt_grants(&org), 1, "twenty first calls, one grant");
    tokio::time::sleep(Duration::from_millis(450)).await;
    let token = sf.access_token().await.unwrap();
    assert_eq!(token.generation, 2);
    assert_eq!(jwt_grants(&org), 2);
}

#[tokio::test]
async fn revoking_ends_the_session_and_the_next_call_obtains_a_new_token() {
    let (org, pem) = jwt_org().await;
    let sf = jwt_client(&org, &pem, 3, None);
    sf.revoke().await.unwrap(); // nothing obtained yet: nothing to revoke
    assert_eq!(jwt_grants(&org), 0);
    let first = sf.access_token().await.unwrap();
    sf.revoke().await.unwrap();
    let second = sf.access_token().await.unwrap();
    assert_ne!(first.generation, second.generation);
    assert_eq!(jwt_grants(&org), 2);

    // A bare access token is revoked at its instance; the org then refuses it.
    let token = org.access_token().to_owned();
    let config = Config::builder()
        .instance_url(org.instance_url())
        .access_token(token)
        .retry_policy(common::quick_retries(1))
        .build()
        .unwrap();
    let bare = Client::new(config).unwrap();
    bare.sobjects().describe_global().await.unwrap();
    bare.revoke().await.unwrap();
    let err = bare.sobjects().describe_global().await.unwrap_err();
    assert_eq!(err.error_code(), Some("INVALID_SESSION_ID"), "{err:?}");
}

/// A token source of the caller's: counts its calls; names no instance.
struct CountingSource {
    token: String,
    calls: AtomicU32,
}

impl TokenSource for CountingSource {
    fn name(&self) -> &'static str {
        "counting"
    }

    fn fetch<'a>(
        &'a self,
        _oauth: &'a forcelink::OAuthClient,
    ) -> BoxFuture<'a, forcelink::Result<TokenResponse>> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let answer = serde_json::json!({ "access_token": self.token });
            Ok(serde_json::from_value(answer).unwrap())
        })
    }
}

#[tokio::test]
async fn a_custom_token_source_is_never_revoked_at_a_host_it_did_not_come_from() {
    let org = Emulator::builder().start().await.unwrap();
    let source = Arc::new(CountingSource {
        token: org.access_token().to_owned(),
        calls: AtomicU32::new(0),
    });
    // No instance URL given (a login flow's settings, replaced by the source): the source's
    // tokens name no org, so revoking cannot know where.
    let config = Config::builder()
        .login_url(org.login_url())
        .jwt_bearer(
            "app",
            "user@example.com",
            "unused: the source replaces the flow",
        )
        .build()
        .unwrap();
    let sf = Client::builder(config)
        .token_source(source.clone())
        .build()
        .unwrap();
    let token = sf.access_token().await.unwrap();
    assert_eq!(source.calls.load(Ordering::SeqCst), 1);
    assert_eq!(token.token_type, "Bearer");
    assert!(token.instance_url.is_none() && token.org_id.is_none());
    let err = sf.revoke().await.unwrap_err();
    assert!(
        matches!(&err, Error::Config { setting, .. } if setting == "instance_url"),
        "{err:?}"
    );
    assert!(!err.to_string().contains(org.access_token()));
}

/// A provider of the caller's with the trait's own revoke.
#[derive(Debug)]
struct FixedProvider(Arc<AccessToken>);

impl AuthProvider for FixedProvider {
    fn token(&self) -> BoxFuture<'_, forcelink::Result<Arc<AccessToken>>> {
        Box::pin(async move { Ok(self.0.clone()) })
    }

    fn invalidate<'a>(
        &'a self,
        _rejected: &'a AccessToken,
    ) -> BoxFuture<'a, forcelink::Result<bool>> {
        Box::pin(async { Ok(false) })
    }
}

#[tokio::test]
async fn a_custom_provider_serves_calls_and_its_revoke_does_nothing() {
    let org = Emulator::builder().start().await.unwrap();
    let token = Arc::new(AccessToken::bare(SecretString::from(
        org.access_token().to_owned(),
    )));
    let config = Config::builder()
        .instance_url(org.instance_url())
        .access_token("unused")
        .build()
        .unwrap();
    let sf = Client::builder(config)
        .auth(Arc::new(FixedProvider(token)))
        .build()
        .unwrap();
    sf.sobjects().describe_global().await.unwrap();
    sf.revoke().await.unwrap();
    sf.sobjects().describe_global().await.unwrap();
}

#[test]
fn tokens_and_keys_are_checked_before_anything_is_sent_and_never_printed() {
    for bad in ["", "   ", "has space", "line\nbreak"] {
        let err = StaticTokenProvider::new(SecretString::from(bad.to_owned())).unwrap_err();
        assert!(
            matches!(&err, Error::Config { setting, .. } if setting == "access_token"),
            "{bad:?}: {err:?}"
        );
    }
    let provider =
        StaticTokenProvider::new(SecretString::from("00Dsecret!token".to_owned())).unwrap();
    assert!(!format!("{provider:?}").contains("00Dsecret"));

    let answer: TokenResponse = serde_json::from_value(serde_json::json!({
        "access_token": "00Dsecret!token",
        "refresh_token": "5Aep-refresh",
        "instance_url": "https://example.my.salesforce.com",
        "id": "https://login.salesforce.com/id/00Dxx0000000001/005xx0000000001",
        "issued_at": "1700000000000",
        "expires_in": 7200,
    }))
    .unwrap();
    let printed = format!("{answer:?}");
    assert!(printed.contains("example.my.salesforce.com"));
    assert!(!printed.contains("00Dsecret") && !printed.contains("5Aep"));
    let token = AccessToken::from_response(answer, None, 3).unwrap();
    assert_eq!(token.org_id.as_deref(), Some("00Dxx0000000001"));
    assert_eq!(token.user_id.as_deref(), Some("005xx0000000001"));
    assert_eq!(token.issued_at, Some(1_700_000_000_000));

    let insecure: TokenResponse = serde_json::from_value(serde_json::json!({
        "access_token": "t",
        "instance_url": "http://example.my.salesforce.com",
    }))
    .unwrap();
    assert!(matches!(
        AccessToken::from_response(insecure, None, 1),
        Err(Error::Config { .. })
    ));

    let config = Config::builder()
        .login_url("https://login.salesforce.com")
        .jwt_bearer("app", "user@example.com", "not a key")
        .build()
        .unwrap();
    let err = Client::new(config).unwrap_err();
    assert!(
        matches!(&err, Error::Config { setting, .. } if setting == "private_key"),
        "{err:?}"
    );
}
