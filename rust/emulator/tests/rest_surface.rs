//! The emulator's REST surface driven by a plain HTTP client (reqwest), as any peer would: no
//! forcelink client in the loop. Each test starts its own org on a free port.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use forcelink_emulator::{Emulator, Fault};
use reqwest::{header, Client, Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

const VERSION: &str = "v62.0";

struct Peer {
    org: Emulator,
    http: Client,
}

impl Peer {
    async fn start() -> Self {
        let org = Emulator::builder().start().await.unwrap();
        Self {
            org,
            http: Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!(
            "{}/services/data/{VERSION}/{}",
            self.org.instance_url(),
            path.trim_start_matches('/')
        )
    }

    fn call(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(self.org.access_token())
    }

    async fn json(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self.call(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        (status, value)
    }
}

fn error_code(body: &Value) -> &str {
    body[0]["errorCode"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn versions_are_listed_without_a_session_and_everything_else_needs_one() {
    let peer = Peer::start().await;
    let versions: Value = peer
        .http
        .get(format!("{}/services/data", peer.org.instance_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed: Vec<&str> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert!(listed.contains(&"62.0"));
    assert_eq!(listed.first(), Some(&"31.0"));

    let refused = peer.http.get(peer.url("sobjects")).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(error_code(&body), "INVALID_SESSION_ID");

    let forged = peer
        .http
        .get(peer.url("sobjects"))
        .bearer_auth("00D000000000000!forged")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_record_lives_created_read_updated_and_deleted() {
    let peer = Peer::start().await;
    let (status, created) = peer
        .json(
            Method::POST,
            "sobjects/Account",
            Some(json!({"Name": "Acme", "NumberOfEmployees": 12})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(created["success"], json!(true));
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 18);
    assert!(id.starts_with("001"));

    let (status, record) = peer
        .json(Method::GET, &format!("sobjects/Account/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(record["Name"], json!("Acme"));
    assert_eq!(record["NumberOfEmployees"], json!(12));
    assert_eq!(record["attributes"]["type"], json!("Account"));

    let (status, _) = peer
        .json(
            Method::PATCH,
            &format!("sobjects/Account/{id}"),
            Some(json!({"Name": "Acme Ltd"})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, record) = peer
        .json(
            Method::GET,
            &format!("sobjects/Account/{id}?fields=Name"),
            None,
        )
        .await;
    assert_eq!(record["Name"], json!("Acme Ltd"));

    let (status, _) = peer
        .json(Method::DELETE, &format!("sobjects/Account/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, gone) = peer
        .json(Method::GET, &format!("sobjects/Account/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&gone), "ENTITY_IS_DELETED");
}

#[tokio::test]
async fn bad_writes_are_refused_with_salesforce_codes() {
    let peer = Peer::start().await;
    let (status, body) = peer
        .json(
            Method::POST,
            "sobjects/Account",
            Some(json!({"NoSuchField__c": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), "INVALID_FIELD");

    let (status, body) = peer
        .json(
            Method::POST,
            "sobjects/Account",
            Some(json!({"Phone": "1"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), "REQUIRED_FIELD_MISSING");
    assert_eq!(body[0]["fields"], json!(["Name"]));

    let (status, body) = peer
        .json(Method::POST, "sobjects/NoSuchObject__c", Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), "INVALID_TYPE");

    let (status, body) = peer
        .json(Method::GET, "sobjects/Account/not-an-id", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), "MALFORMED_ID");
    assert_eq!(body[0]["fields"], json!(["Id"]));

    let (status, body) = peer
        .json(Method::PUT, "sobjects/Account/001000000000001AAA", None)
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(error_code(&body), "METHOD_NOT_ALLOWED");
    assert!(body[0]["message"]
        .as_str()
        .unwrap()
        .contains("GET,PATCH,DELETE,HEAD"));
}

#[tokio::test]
async fn queries_page_by_locator_and_count_every_record_once() {
    let peer = Peer::start().await;
    let records: Vec<Value> = (0..2_500)
        .map(|i| json!({"Name": format!("A{i:04}"), "NumberOfEmployees": i}))
        .collect();
    peer.org.seed_records("Account", &records).unwrap();

    let first = peer
        .call(Method::GET, "query")
        .query(&[(
            "q",
            "SELECT Id, Name FROM Account ORDER BY NumberOfEmployees",
        )])
        .header("Sforce-Query-Options", "batchSize=1000")
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let mut page: Value = first.json().await.unwrap();
    assert_eq!(page["totalSize"], json!(2_500));
    let mut names = Vec::new();
    loop {
        for record in page["records"].as_array().unwrap() {
            names.push(record["Name"].as_str().unwrap().to_owned());
        }
        if page["done"] == json!(true) {
            break;
        }
        let next = page["nextRecordsUrl"].as_str().unwrap().to_owned();
        page = peer
            .http
            .get(format!("{}{next}", peer.org.instance_url()))
            .bearer_auth(peer.org.access_token())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    }
    assert_eq!(names.len(), 2_500);
    assert_eq!(names.first().map(String::as_str), Some("A0000"));
    assert_eq!(names.last().map(String::as_str), Some("A2499"));

    let (status, count) = peer
        .json(
            Method::GET,
            "query?q=SELECT+COUNT()+FROM+Account+WHERE+NumberOfEmployees+%3C+100",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(count["totalSize"], json!(100));

    let (status, body) = peer
        .json(Method::GET, "query?q=SELECT+Nope+FROM+Account", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), "INVALID_FIELD");
}

#[tokio::test]
async fn a_record_read_answers_304_while_the_callers_copy_is_current() {
    let peer = Peer::start().await;
    let (_, created) = peer
        .json(
            Method::POST,
            "sobjects/Account",
            Some(json!({"Name": "Tag"})),
        )
        .await;
    let path = format!("sobjects/Account/{}", created["id"].as_str().unwrap());
    let first = peer.call(Method::GET, &path).send().await.unwrap();
    let etag = first.headers()[header::ETAG].to_str().unwrap().to_owned();
    assert!(first.headers().contains_key(header::LAST_MODIFIED));

    let again = peer
        .call(Method::GET, &path)
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    peer.json(Method::PATCH, &path, Some(json!({"Name": "Changed"})))
        .await;
    let changed = peer
        .call(Method::GET, &path)
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
}

#[tokio::test]
async fn composite_batch_answers_each_subrequest_and_tree_creates_children() {
    let peer = Peer::start().await;
    let (status, batch) = peer
        .json(
            Method::POST,
            "composite/batch",
            Some(json!({"batchRequests": [
                {"method": "POST", "url": format!("{VERSION}/sobjects/Account"), "richInput": {"Name": "B1"}},
                {"method": "GET", "url": format!("{VERSION}/sobjects/Account/001000000000000AAA")},
            ]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(batch["hasErrors"], json!(true));
    assert_eq!(batch["results"][0]["statusCode"], json!(201));
    assert_eq!(batch["results"][1]["statusCode"], json!(404));

    let (status, tree) = peer
        .json(
            Method::POST,
            "composite/tree/Account",
            Some(json!({"records": [{
                "attributes": {"type": "Account", "referenceId": "acc"},
                "Name": "Parent",
                "Contacts": {"records": [
                    {"attributes": {"type": "Contact", "referenceId": "c1"}, "LastName": "One"},
                    {"attributes": {"type": "Contact", "referenceId": "c2"}, "LastName": "Two"},
                ]},
            }]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(tree["hasErrors"], json!(false));
    assert_eq!(tree["results"].as_array().unwrap().len(), 3);
    let (_, contacts) = peer
        .json(Method::GET, "query?q=SELECT+LastName+FROM+Contact", None)
        .await;
    assert_eq!(contacts["totalSize"], json!(2));
}

#[tokio::test]
async fn a_bulk_ingest_job_runs_from_upload_to_its_results() {
    let peer = Peer::start().await;
    let (status, job) = peer
        .json(
            Method::POST,
            "jobs/ingest",
            Some(json!({"object": "Account", "operation": "insert", "lineEnding": "LF"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(job["state"], json!("Open"));
    let id = job["id"].as_str().unwrap().to_owned();

    let mut csv = String::from("Name,NumberOfEmployees\n");
    for i in 0..250 {
        csv.push_str(&format!("Bulk {i},{i}\n"));
    }
    csv.push_str(",7\n"); // no Name: this row fails
    let upload = peer
        .call(Method::PUT, &format!("jobs/ingest/{id}/batches"))
        .header(header::CONTENT_TYPE, "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), StatusCode::CREATED);

    let (status, closed) = peer
        .json(
            Method::PATCH,
            &format!("jobs/ingest/{id}"),
            Some(json!({"state": "UploadComplete"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(closed["state"], json!("UploadComplete"));

    let mut info = Value::Null;
    for _ in 0..200 {
        info = peer
            .json(Method::GET, &format!("jobs/ingest/{id}"), None)
            .await
            .1;
        if info["state"] == json!("JobComplete") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(info["state"], json!("JobComplete"));
    assert_eq!(info["numberRecordsProcessed"], json!(251));
    assert_eq!(info["numberRecordsFailed"], json!(1));

    let successes = peer
        .call(Method::GET, &format!("jobs/ingest/{id}/successfulResults"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut lines = successes.lines();
    assert_eq!(
        lines.next(),
        Some("\"sf__Id\",\"sf__Created\",\"Name\",\"NumberOfEmployees\"")
    );
    assert_eq!(lines.count(), 250);
    let failures = peer
        .call(Method::GET, &format!("jobs/ingest/{id}/failedResults"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(failures.contains("REQUIRED_FIELD_MISSING"), "{failures}");
    let (_, count) = peer
        .json(Method::GET, "query?q=SELECT+COUNT()+FROM+Account", None)
        .await;
    assert_eq!(count["totalSize"], json!(250));
}

#[tokio::test]
async fn injected_faults_answer_as_asked_then_stop_and_usage_is_reported() {
    let peer = Peer::start().await;
    peer.org.inject_fault(Fault {
        method: Some("GET".into()),
        path_contains: "/limits".into(),
        status: 503,
        error_code: "SERVER_UNAVAILABLE".into(),
        message: "try later".into(),
        times: 1,
        retry_after: Some(3),
        delay: None,
        drop_connection: false,
        after_commit: false,
        rate: None,
    });
    let faulted = peer.call(Method::GET, "limits").send().await.unwrap();
    assert_eq!(faulted.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(faulted.headers()[header::RETRY_AFTER], "3");
    let body: Value = faulted.json().await.unwrap();
    assert_eq!(error_code(&body), "SERVER_UNAVAILABLE");

    let fine = peer.call(Method::GET, "limits").send().await.unwrap();
    assert_eq!(fine.status(), StatusCode::OK);
    let usage = fine.headers()["sforce-limit-info"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(usage.starts_with("api-usage="), "{usage}");
    let limits: Value = fine.json().await.unwrap();
    assert!(limits["DailyApiRequests"]["Max"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn oauth_client_credentials_issue_a_token_that_opens_the_api() {
    use forcelink_emulator::ConnectedAppSpec;
    let peer = Peer::start().await;
    peer.org
        .create_connected_app(ConnectedAppSpec {
            client_id: "app-id".into(),
            client_secret: Some("app-secret".into()),
            run_as: Some(peer.org.username().to_owned()),
            ..ConnectedAppSpec::default()
        })
        .unwrap();
    let token_url = format!("{}/services/oauth2/token", peer.org.login_url());
    let refused = peer
        .http
        .post(&token_url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "app-id"),
            ("client_secret", "wrong"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], json!("invalid_client"));

    let granted: Value = peer
        .http
        .post(&token_url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "app-id"),
            ("client_secret", "app-secret"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = granted["access_token"].as_str().unwrap();
    let answer = peer
        .http
        .get(peer.url("limits"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
}
