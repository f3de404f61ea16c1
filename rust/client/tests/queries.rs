//! Queries through the Rust API against the emulator's SOQL engine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use forcelink::{Error, ErrorKind, QueryOptions};
mod common;

use common::client_for;
use forcelink_emulator::Emulator;
use serde_json::json;

#[tokio::test]
async fn every_record_once_and_in_order_across_pages() {
    let org = Emulator::builder().start().await.unwrap();
    let records: Vec<_> = (0..10_005)
        .map(|i| json!({"Name": format!("A{i:05}"), "NumberOfEmployees": i}))
        .collect();
    let ids = org.seed_records("Account", &records).unwrap();
    let sf = client_for(&org);
    let mut pager = sf.query().pages(
        "SELECT Id, Name FROM Account ORDER BY NumberOfEmployees",
        QueryOptions::default(),
    );
    let mut seen = Vec::new();
    let mut pages = 0;
    while let Some(page) = pager.next_page().await.unwrap() {
        assert_eq!(page.total_size, 10_005);
        pages += 1;
        seen.extend(
            page.records
                .into_iter()
                .map(|r| r["Id"].as_str().unwrap().to_owned()),
        );
    }
    assert_eq!(pages, 6);
    assert_eq!(seen, ids);

    // query_all reads every page into one.
    let all = sf
        .query()
        .query_all("SELECT Id FROM Account ORDER BY NumberOfEmployees")
        .await
        .unwrap();
    assert!(all.done && all.next_records_url.is_none());
    let all_ids: Vec<String> = all
        .records
        .iter()
        .map(|r| r["Id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(all_ids, ids);

    let small = sf
        .query()
        .query_with(
            "SELECT Id FROM Account",
            QueryOptions {
                batch_size: Some(200),
                ..QueryOptions::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(small.records.len(), 200);
    let next = sf
        .query()
        .query_more(small.next_records_url.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(next.records.len(), 200);
    assert!(matches!(
        sf.query()
            .query_more("https://evil.example.com/services/data/v62.0/query/x-1")
            .await,
        Err(Error::InvalidArgument { .. })
    ));
}

#[tokio::test]
async fn filters_relationships_counts_and_errors() {
    let org = Emulator::builder().start().await.unwrap();
    let sf = client_for(&org);
    let acme = sf
        .sobjects()
        .create("Account", &json!({"Name": "Acme", "Industry": "Energy"}))
        .await
        .unwrap();
    sf.sobjects()
        .create(
            "Contact",
            &json!({"LastName": "Smith", "AccountId": acme.id}),
        )
        .await
        .unwrap();
    sf.sobjects()
        .create("Contact", &json!({"LastName": "Jones"}))
        .await
        .unwrap();
    let page = sf
        .query()
        .query("SELECT LastName, Account.Name FROM Contact ORDER BY LastName DESC")
        .await
        .unwrap();
    assert_eq!(page.records[0]["LastName"], "Smith");
    assert_eq!(page.records[0]["Account"]["Name"], "Acme");
    assert!(page.records[1]["Account"].is_null());
    let count = sf
        .query()
        .query("SELECT COUNT() FROM Contact WHERE Account.Industry = 'energy'")
        .await
        .unwrap();
    assert_eq!(count.total_size, 1);
    let err = sf.query().query("SELECT Id FRM Contact").await.unwrap_err();
    assert!(
        matches!(&err, Error::Api(e) if e.kind == ErrorKind::MalformedQuery && e.message.contains("unexpected token: 'FRM'"))
    );
    let err = sf
        .query()
        .query("SELECT Nope FROM Contact")
        .await
        .unwrap_err();
    assert!(matches!(&err, Error::Api(e) if e.kind == ErrorKind::InvalidField));
    let err = sf
        .query()
        .query("SELECT Id FROM Widget__c")
        .await
        .unwrap_err();
    assert!(matches!(&err, Error::Api(e) if e.kind == ErrorKind::InvalidType));
    let plan = sf
        .query()
        .explain(&format!("SELECT Id FROM Account WHERE Id = '{}'", acme.id))
        .await
        .unwrap();
    assert_eq!(plan["plans"][0]["leadingOperationType"], "Index");
}

#[tokio::test]
async fn pages_by_locator_raw_or_parsed_and_options_refused_before_sending() {
    let org = Emulator::builder().start().await.unwrap();
    let records: Vec<_> = (0..450)
        .map(|i| json!({"Name": format!("B{i:03}"), "NumberOfEmployees": i}))
        .collect();
    let ids = org.seed_records("Account", &records).unwrap();
    let sf = client_for(&org);
    let query = sf.query();
    let soql = "SELECT Id FROM Account ORDER BY NumberOfEmployees";
    let options = QueryOptions {
        batch_size: Some(200),
        include_deleted: false,
    };
    let first = query.query_raw(soql, options).await.unwrap();
    assert_eq!((first.total_size, first.done), (450, false));
    let next = first.next_records_url.clone().unwrap();
    let second_raw = query.query_more_raw(&next).await.unwrap();
    let second = query.query_more(&next).await.unwrap();
    assert_eq!(second_raw.decode().unwrap().records, second.records);
    let mut seen: Vec<String> = first
        .decode()
        .unwrap()
        .records
        .iter()
        .chain(second.records.iter())
        .map(|r| r["Id"].as_str().unwrap().to_owned())
        .collect();
    let mut url = second.next_records_url.clone();
    while let Some(locator) = url {
        let page = query.query_more(&locator).await.unwrap();
        seen.extend(
            page.records
                .iter()
                .map(|r| r["Id"].as_str().unwrap().to_owned()),
        );
        url = page.next_records_url;
    }
    assert_eq!(seen, ids);

    for bad in [Some(199), Some(2001)] {
        let options = QueryOptions {
            batch_size: bad,
            include_deleted: false,
        };
        assert!(matches!(
            query.query_with(soql, options).await,
            Err(Error::InvalidArgument { ref argument, .. }) if argument == "batch_size"
        ));
    }
    for empty in ["", "   "] {
        assert!(matches!(
            query.query(empty).await,
            Err(Error::InvalidArgument { ref argument, .. }) if argument == "soql"
        ));
    }
}
