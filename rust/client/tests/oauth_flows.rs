//! The OAuth flows and the single-flight token manager, through the Rust API against the emulator.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use forcelink::{Client, Config, Error};
use forcelink_emulator::{ConnectedAppSpec, Emulator};
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use serde_json::json;
use std::sync::{Arc, Mutex};

fn key_pair() -> (String, String) {
    let mut rng = rand::thread_rng();
    let private = rsa::RsaPrivateKey::new(&mut rng, 2048).unwrap();
    let public = private.to_public_key();
    (
        private.to_pkcs8_pem(LineEnding::LF).unwrap().to_string(),
        public.to_public_key_pem(LineEnding::LF).unwrap(),
    )
}

fn oauth_error(err: &Error) -> (&str, &str) {
    match err {
        Error::OAuth(e) => (e.error.as_str(), e.error_description.as_str()),
        other => panic!("expected an OAuth error, got {other:?}"),
    }
}

#[tokio::test]
async fn jwt_bearer_adopts_the_instance_and_renews_once_for_many_rejections() {
    let org = Emulator::builder().start().await.unwrap();
    let (private_pem, public_pem) = key_pair();
    org.create_user("integration@example.com").unwrap();
    org.create_connected_app(ConnectedAppSpec {
        client_id: "app-1".into(),
        certificate_pem: Some(public_pem),
        ..ConnectedAppSpec::default()
    })
    .unwrap();
    org.issue_refresh_token("app-1", "integration@example.com")
        .unwrap();

    let config = Config::builder()
        .login_url(org.login_url())
        .jwt_bearer("app-1", "integration@example.com", private_pem.clone())
        .build()
        .unwrap();
    assert!(!config.instance_url_given);
    let sf = Client::new(config).unwrap();
    let saved = sf
        .sobjects()
        .create("Account", &json!({"Name": "via jwt"}))
        .await
        .unwrap();
    let token = sf.access_token().await.unwrap();
    assert_eq!(
        token
            .instance_url
            .as_ref()
            .unwrap()
            .as_str()
            .trim_end_matches('/'),
        org.instance_url()
    );
    assert_eq!(token.org_id.as_deref(), Some(org.org_id()));
    assert!(!format!("{token:?}").contains(secrecy::ExposeSecret::expose_secret(&token.token)));
    assert_eq!(org.stats()["token_grants"]["jwt_bearer"], 1);

    org.expire_sessions();
    let mut calls = Vec::new();
    for _ in 0..200 {
        let sf = sf.clone();
        let id = saved.id.clone();
        calls.push(tokio::spawn(async move {
            sf.sobjects().get("Account", &id, None).await
        }));
    }
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap()["Name"], "via jwt");
    }
    assert_eq!(
        org.stats()["token_grants"]["jwt_bearer"],
        2,
        "one renewal for all rejections"
    );

    // An unapproved user is refused with Salesforce's answer.
    org.create_user("stranger@example.com").unwrap();
    let stranger = Config::builder()
        .login_url(org.login_url())
        .jwt_bearer("app-1", "stranger@example.com", private_pem)
        .build()
        .unwrap();
    let err = Client::new(stranger)
        .unwrap()
        .sobjects()
        .describe_global()
        .await
        .unwrap_err();
    assert_eq!(
        oauth_error(&err),
        ("invalid_grant", "user hasn't approved this consumer")
    );
}

#[tokio::test]
async fn refresh_tokens_rotate_and_the_new_one_is_handed_over() {
    let org = Emulator::builder().start().await.unwrap();
    org.create_connected_app(ConnectedAppSpec {
        client_id: "app-r".into(),
        client_secret: Some("s3cret".into()),
        rotate_refresh_tokens: true,
        ..ConnectedAppSpec::default()
    })
    .unwrap();
    let first = org.issue_refresh_token("app-r", org.username()).unwrap();
    let rotated: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = rotated.clone();
    let config = Config::builder()
        .login_url(org.login_url())
        .refresh_token_flow("app-r", first.clone(), Some("s3cret".into()))
        .build()
        .unwrap();
    let sf = Client::builder(config)
        .on_refresh_token(Arc::new(move |t: &str| {
            seen.lock().unwrap().push(t.to_owned())
        }))
        .build()
        .unwrap();
    sf.sobjects().describe_global().await.unwrap();
    org.expire_sessions();
    sf.sobjects().describe_global().await.unwrap();
    let rotated = rotated.lock().unwrap().clone();
    assert_eq!(rotated.len(), 2);
    assert_ne!(rotated[0], first);
    assert_ne!(rotated[1], rotated[0]);
    assert_eq!(org.stats()["token_grants"]["refresh_token"], 2);
}

#[tokio::test]
async fn client_credentials_and_its_errors() {
    let org = Emulator::builder().start().await.unwrap();
    org.create_connected_app(ConnectedAppSpec {
        client_id: "app-c".into(),
        client_secret: Some("right".into()),
        ..ConnectedAppSpec::default()
    })
    .unwrap();
    let build = |secret: &str| {
        let config = Config::builder()
            .instance_url(org.instance_url())
            .client_credentials("app-c", secret)
            .build()
            .unwrap();
        Client::new(config).unwrap()
    };
    build("right").sobjects().describe_global().await.unwrap();
    let err = build("wrong")
        .sobjects()
        .describe_global()
        .await
        .unwrap_err();
    assert_eq!(
        oauth_error(&err),
        ("invalid_client", "invalid client credentials")
    );
    assert!(!err.to_string().contains("wrong"));
    let config = Config::builder()
        .instance_url(org.instance_url())
        .client_credentials("nope", "x")
        .build()
        .unwrap();
    let err = Client::new(config)
        .unwrap()
        .sobjects()
        .describe_global()
        .await
        .unwrap_err();
    assert_eq!(
        oauth_error(&err),
        ("invalid_client_id", "client identifier invalid")
    );
}
