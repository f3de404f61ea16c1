//! The health check, Salesforce Files and the Tooling API through the Rust API against the
//! emulator, over real sockets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::client_for;
use forcelink::{Client, Config, Error, HealthStatus, HealthThresholds};
use forcelink_emulator::Emulator;
use serde_json::{json, Map, Value};

fn check<'a>(report: &'a forcelink::HealthReport, name: &str) -> &'a forcelink::HealthCheck {
    report
        .checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no {name} check in {report:?}"))
}

#[tokio::test]
async fn health_follows_daily_usage_and_reports_a_refused_token_or_a_down_org() {
    let org = Emulator::builder().api_limit(100).start().await.unwrap();
    let sf = client_for(&org);
    let report = sf.health(HealthThresholds::default()).await.unwrap();
    assert_eq!(report.status, HealthStatus::Ok, "{report:?}");
    assert_eq!(
        report.checks.iter().map(|c| c.name).collect::<Vec<_>>(),
        ["token", "api", "api_usage"]
    );
    assert!(check(&report, "api_usage")
        .detail
        .contains("of 100 daily API requests"));

    // Past the warning threshold, then past the critical one.
    let thresholds = HealthThresholds {
        warn_percent: 10.0,
        critical_percent: 30.0,
    };
    while sf.health(thresholds).await.unwrap().status == HealthStatus::Ok {}
    let degraded = sf.health(thresholds).await.unwrap();
    assert_eq!(degraded.status, HealthStatus::Degraded);
    assert_eq!(check(&degraded, "api_usage").status, HealthStatus::Degraded);
    while sf.health(thresholds).await.unwrap().status == HealthStatus::Degraded {}
    let down = sf.health(thresholds).await.unwrap();
    assert_eq!(check(&down, "api_usage").status, HealthStatus::Down);
    assert_eq!(down.status.as_str(), "down");
    assert_eq!(HealthStatus::Degraded.as_str(), "degraded");
    assert_eq!(HealthStatus::Ok.as_str(), "ok");

    // A token the org refuses: the API check is down with Salesforce's code.
    let config = Config::builder()
        .instance_url(org.instance_url())
        .access_token("00Dnot!a-session")
        .retry_policy(common::quick_retries(1))
        .build()
        .unwrap();
    let refused = Client::new(config)
        .unwrap()
        .health(HealthThresholds::default())
        .await
        .unwrap();
    assert_eq!(refused.status, HealthStatus::Down);
    assert!(check(&refused, "api")
        .detail
        .starts_with("INVALID_SESSION_ID"));

    org.set_down(true);
    let outage = common::client_with_attempts(&org, 1)
        .health(HealthThresholds::default())
        .await
        .unwrap();
    assert_eq!(check(&outage, "api").status, HealthStatus::Down);

    for bad in [
        HealthThresholds {
            warn_percent: 95.0,
            critical_percent: 90.0,
        },
        HealthThresholds {
            warn_percent: -1.0,
            critical_percent: 90.0,
        },
        HealthThresholds {
            warn_percent: 80.0,
            critical_percent: f64::NAN,
        },
    ] {
        assert!(matches!(
            sf.health(bad).await,
            Err(Error::InvalidArgument { .. })
        ));
    }
}

#[tokio::test]
async fn a_file_goes_up_as_a_content_version_and_comes_back_byte_for_byte() {
    let org = Emulator::builder().start().await.unwrap();
    let sf = client_for(&org);
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("report \"q3\".bin");
    let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&source, &bytes).unwrap();

    let mut fields = Map::new();
    fields.insert("Description".into(), json!("quarterly"));
    let saved = sf.files().upload(&source, &fields).await.unwrap();
    assert!(saved.success);
    let record = sf
        .sobjects()
        .get("ContentVersion", &saved.id, None)
        .await
        .unwrap();
    assert_eq!(record["Title"], "report \"q3\".bin");
    assert_eq!(record["Description"], "quarterly");

    let dest = dir.path().join("back.bin");
    let written = sf.files().download(&saved.id, &dest).await.unwrap();
    assert_eq!(written, bytes.len() as u64);
    assert_eq!(std::fs::read(&dest).unwrap(), bytes);

    let missing = dir.path().join("missing.bin");
    assert!(matches!(
        sf.files().upload(&missing, &Map::new()).await,
        Err(Error::InvalidArgument { ref argument, .. }) if argument == "path"
    ));
    assert!(matches!(
        sf.files().upload(dir.path(), &Map::new()).await,
        Err(Error::InvalidArgument { ref argument, .. }) if argument == "path"
    ));
    assert!(matches!(
        sf.files().download("not an id", &dest).await,
        Err(Error::InvalidArgument { .. })
    ));
    let unwritable = dir.path().join("no-such-dir").join("x.bin");
    assert!(matches!(
        sf.files().download(&saved.id, &unwritable).await,
        Err(Error::InvalidArgument { ref argument, .. }) if argument == "dest"
    ));
}

#[tokio::test]
async fn tooling_records_queries_and_anonymous_apex() {
    let org = Emulator::builder().start().await.unwrap();
    let sf = client_for(&org);
    let tooling = sf.tooling();
    let saved = tooling
        .create(
            "ApexClass",
            &json!({"Name": "Greeter", "Body": "public class Greeter {}"}),
        )
        .await
        .unwrap();
    let got = tooling.get("ApexClass", &saved.id).await.unwrap();
    assert_eq!(got["Name"], "Greeter");
    tooling
        .update(
            "ApexClass",
            &saved.id,
            &json!({"Body": "public class Greeter { }"}),
        )
        .await
        .unwrap();
    let page = tooling
        .query("SELECT Id, Name FROM ApexClass WHERE Name = 'Greeter'")
        .await
        .unwrap();
    assert_eq!(page.total_size, 1);
    assert_eq!(page.records[0]["Id"], saved.id.as_str());
    let all = tooling.query_all("SELECT Id FROM ApexClass").await.unwrap();
    assert!(all.done && !all.records.is_empty());
    let described = tooling.describe("ApexClass").await.unwrap();
    assert_eq!(described["name"], "ApexClass");
    tooling.delete("ApexClass", &saved.id).await.unwrap();
    let gone = tooling.get("ApexClass", &saved.id).await.unwrap_err();
    assert_eq!(gone.error_code(), Some("ENTITY_IS_DELETED"));

    let ran = tooling
        .execute_anonymous("Integer i = 1;\nSystem.debug(i);")
        .await
        .unwrap();
    assert!(ran.compiled && ran.success);
    let broken = tooling
        .execute_anonymous("System.debug('x';\n")
        .await
        .unwrap();
    assert!(!broken.compiled && broken.compile_problem.is_some());
    assert_eq!(broken.line, 1);
    let failing = tooling
        .execute_anonymous("Integer i = 1;\nSystem.assert(false);")
        .await
        .unwrap();
    assert!(failing.compiled && !failing.success);
    assert_eq!(
        failing.exception_message.as_deref(),
        Some("System.AssertException: Assertion Failed")
    );

    for bad in ["", "   "] {
        assert!(matches!(
            tooling.query(bad).await,
            Err(Error::InvalidArgument { .. })
        ));
        assert!(matches!(
            tooling.execute_anonymous(bad).await,
            Err(Error::InvalidArgument { .. })
        ));
    }
    assert!(matches!(
        tooling.create("Bad Name", &json!({})).await,
        Err(Error::InvalidArgument { .. })
    ));
    assert!(matches!(
        tooling.update("ApexClass", &saved.id, &Value::Null).await,
        Err(Error::InvalidArgument { .. })
    ));
}
