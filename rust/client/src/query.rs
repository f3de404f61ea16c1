//! SOQL queries: one page, the next page, every page with the next one fetched ahead, explain.

use crate::client::{Client, RestCall};
use crate::error::{Error, Result};
use crate::resilience::Idempotency;
use crate::sobjects::Record;
use http::header::HeaderValue;
use http::{HeaderName, Method};
use serde::Deserialize;
use serde_json::Value;
use tokio::task::JoinHandle;

/// One page of a query's answer. `total_size` counts the whole answer; `next_records_url`
/// resumes it (pass it to [`Query::query_more`]).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryPage {
    pub total_size: u64,
    pub done: bool,
    #[serde(default)]
    pub next_records_url: Option<String>,
    pub records: Vec<Record>,
}

/// A page as it came off the wire: counts and cursor read, records left as the JSON body, for
/// callers that build their own objects from it (the Python bindings do).
#[derive(Debug, Clone)]
pub struct RawPage {
    pub total_size: u64,
    pub done: bool,
    pub next_records_url: Option<String>,
    /// The whole answer: `{"totalSize", "done", "nextRecordsUrl", "records": [...]}`.
    pub body: bytes::Bytes,
}

/// A page's counts and cursor.
#[derive(Default)]
struct PageMeta {
    total_size: Option<u64>,
    done: Option<bool>,
    next_records_url: Option<String>,
    /// Parsing was stopped on purpose at `records`, everything needed read.
    stopped: bool,
}

impl PageMeta {
    fn complete(&self) -> bool {
        match (self.total_size, self.done) {
            (Some(_), Some(done)) => done || self.next_records_url.is_some(),
            _ => false,
        }
    }

    /// Reads `totalSize`, `done` and `nextRecordsUrl`. Salesforce writes them before `records`,
    /// so parsing stops there instead of scanning every record (a tenth of a streaming
    /// client's CPU); a page written in another order is read to its end.
    fn read(body: &[u8]) -> std::result::Result<(u64, bool, Option<String>), serde_json::Error> {
        use serde::de::Error as _;
        use serde::Deserializer as _;
        let mut meta = PageMeta::default();
        let outcome = serde_json::Deserializer::from_slice(body)
            .deserialize_map(FrontOfPage { meta: &mut meta });
        match (outcome, meta) {
            (Err(e), meta) if !meta.stopped => Err(e),
            (
                _,
                PageMeta {
                    total_size: None, ..
                },
            ) => Err(serde_json::Error::missing_field("totalSize")),
            (_, PageMeta { done: None, .. }) => Err(serde_json::Error::missing_field("done")),
            (
                _,
                PageMeta {
                    total_size: Some(total),
                    done: Some(done),
                    next_records_url,
                    ..
                },
            ) => Ok((total, done, next_records_url)),
        }
    }
}

struct FrontOfPage<'a> {
    meta: &'a mut PageMeta,
}

impl<'de> serde::de::Visitor<'de> for FrontOfPage<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a query page")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<(), A::Error> {
        use serde::de::{Error as _, IgnoredAny};
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "totalSize" => self.meta.total_size = Some(map.next_value()?),
                "done" => self.meta.done = Some(map.next_value()?),
                "nextRecordsUrl" => self.meta.next_records_url = map.next_value()?,
                "records" if self.meta.complete() => {
                    self.meta.stopped = true;
                    return Err(A::Error::custom("stopped at records"));
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

impl RawPage {
    fn from_response(response: &crate::transport::HttpResponse) -> Result<Self> {
        let (total_size, done, next_records_url) =
            PageMeta::read(&response.body).map_err(|e| Error::UnexpectedResponse {
                status: response.status.as_u16(),
                message: format!("cannot decode the JSON body: {e}"),
            })?;
        Ok(Self {
            total_size,
            done,
            next_records_url,
            body: response.body.clone(),
        })
    }

    /// The page with its records parsed.
    pub fn decode(&self) -> Result<QueryPage> {
        serde_json::from_slice(&self.body).map_err(|e| Error::UnexpectedResponse {
            status: 200,
            message: format!("cannot decode the query page: {e}"),
        })
    }
}

/// How to run a query.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueryOptions {
    /// Records per page, 200 to 2000 (Salesforce's default is 2000; it may send fewer).
    pub batch_size: Option<u32>,
    /// Include deleted and archived records (`queryAll`).
    pub include_deleted: bool,
}

/// The query service of a [`Client`].
pub struct Query<'a> {
    client: &'a Client,
}

impl<'a> Query<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    #[cfg(feature = "arrow")]
    pub(crate) fn client(&self) -> &'a Client {
        self.client
    }

    /// The first page of `soql`.
    pub async fn query(&self, soql: &str) -> Result<QueryPage> {
        self.query_with(soql, QueryOptions::default()).await
    }

    /// Every record of `soql`, all pages read, in one page (`done`, no next URL). It holds the
    /// whole answer in memory: [`Query::pages`] streams instead.
    pub async fn query_all(&self, soql: &str) -> Result<QueryPage> {
        self.query_all_with(soql, QueryOptions::default()).await
    }

    /// [`Query::query_all`] with options; `include_deleted` reads through `queryAll`.
    pub async fn query_all_with(&self, soql: &str, options: QueryOptions) -> Result<QueryPage> {
        let pages = self.query_all_raw(soql, options).await?;
        let mut all: Option<QueryPage> = None;
        for raw in &pages {
            let page = raw.decode()?;
            match &mut all {
                None => all = Some(page),
                Some(all) => all.records.extend(page.records),
            }
        }
        let mut all = all.ok_or_else(|| Error::UnexpectedResponse {
            status: 200,
            message: "the query answered no page".to_owned(),
        })?;
        all.done = true;
        all.next_records_url = None;
        Ok(all)
    }

    /// Every page of `soql` with its records still JSON, read one after another.
    pub async fn query_all_raw(&self, soql: &str, options: QueryOptions) -> Result<Vec<RawPage>> {
        let mut page = first_page(self.client, soql, options).await?;
        let mut pages = Vec::new();
        while let Some(next) = page.next_records_url.clone().filter(|_| !page.done) {
            let following = more(self.client, &next, options.batch_size).await?;
            pages.push(std::mem::replace(&mut page, following));
        }
        pages.push(page);
        Ok(pages)
    }

    pub async fn query_with(&self, soql: &str, options: QueryOptions) -> Result<QueryPage> {
        first_page(self.client, soql, options).await?.decode()
    }

    /// The page at `next_records_url`.
    pub async fn query_more(&self, next_records_url: &str) -> Result<QueryPage> {
        more(self.client, next_records_url, None).await?.decode()
    }

    /// The first page with its records still JSON (see [`RawPage`]).
    pub async fn query_raw(&self, soql: &str, options: QueryOptions) -> Result<RawPage> {
        first_page(self.client, soql, options).await
    }

    /// The page at `next_records_url` with its records still JSON.
    pub async fn query_more_raw(&self, next_records_url: &str) -> Result<RawPage> {
        more(self.client, next_records_url, None).await
    }

    /// Every page of `soql`, each next page requested while the current one is consumed.
    pub fn pages(&self, soql: &str, options: QueryOptions) -> QueryPager {
        QueryPager {
            client: self.client.clone(),
            start: Some((soql.to_owned(), options)),
            ahead: None,
            batch_size: options.batch_size,
        }
    }

    /// The query plans Salesforce would consider (`?explain=`), without running the query.
    pub async fn explain(&self, soql: &str) -> Result<serde_json::Map<String, Value>> {
        check_soql(soql)?;
        let mut url = self.client.data_url(&["query"])?;
        url.query_pairs_mut().append_pair("explain", soql);
        self.client.get_json(url).await
    }
}

fn check_soql(soql: &str) -> Result<()> {
    if soql.trim().is_empty() {
        return Err(Error::invalid_argument("soql", "the query is empty"));
    }
    Ok(())
}

fn options_header(batch_size: Option<u32>) -> Result<Vec<(HeaderName, HeaderValue)>> {
    match batch_size {
        None => Ok(Vec::new()),
        Some(n) if (200..=2000).contains(&n) => {
            let value = HeaderValue::from_str(&format!("batchSize={n}"))
                .map_err(|e| Error::invalid_argument("batch_size", e.to_string()))?;
            Ok(vec![(
                HeaderName::from_static("sforce-query-options"),
                value,
            )])
        }
        Some(n) => Err(Error::invalid_argument(
            "batch_size",
            format!("must be from 200 to 2000, got {n}"),
        )),
    }
}

async fn first_page(client: &Client, soql: &str, options: QueryOptions) -> Result<RawPage> {
    check_soql(soql)?;
    let resource = if options.include_deleted {
        "queryAll"
    } else {
        "query"
    };
    let mut url = client.data_url(&[resource])?;
    url.query_pairs_mut().append_pair("q", soql);
    let mut call = RestCall::new(Method::GET, url, None, Idempotency::Idempotent);
    call.extra_headers = options_header(options.batch_size)?;
    RawPage::from_response(&client.execute(call).await?)
}

async fn more(client: &Client, next_records_url: &str, batch_size: Option<u32>) -> Result<RawPage> {
    // Only a path on this org: a full URL elsewhere would carry the token off.
    let valid = next_records_url.starts_with("/services/data/v")
        && (next_records_url.contains("/query/") || next_records_url.contains("/queryAll/"));
    if !valid {
        return Err(Error::invalid_argument(
            "next_records_url",
            format!("{next_records_url:?} is not a query locator path"),
        ));
    }
    let url = client
        .config()
        .instance_url
        .join(next_records_url)
        .map_err(|e| Error::invalid_argument("next_records_url", e.to_string()))?;
    let mut call = RestCall::new(Method::GET, url, None, Idempotency::Idempotent);
    call.extra_headers = options_header(batch_size)?;
    RawPage::from_response(&client.execute(call).await?)
}

/// Pages of a query, one request ahead: when a page is handed out, the next one is already
/// being fetched. At most two pages are held at once, however large the answer.
pub struct QueryPager {
    client: Client,
    start: Option<(String, QueryOptions)>,
    ahead: Option<JoinHandle<Result<RawPage>>>,
    batch_size: Option<u32>,
}

impl QueryPager {
    /// The next page, or None after the last.
    pub async fn next_page(&mut self) -> Result<Option<QueryPage>> {
        match self.next_raw_page().await? {
            Some(raw) => raw.decode().map(Some),
            None => Ok(None),
        }
    }

    /// The next page with its records still JSON, or None after the last.
    pub async fn next_raw_page(&mut self) -> Result<Option<RawPage>> {
        let page = if let Some((soql, options)) = self.start.take() {
            first_page(&self.client, &soql, options).await?
        } else if let Some(ahead) = self.ahead.take() {
            ahead.await.map_err(|e| Error::UnexpectedResponse {
                status: 0,
                message: format!("the page fetch stopped: {e}"),
            })??
        } else {
            return Ok(None);
        };
        if let (false, Some(next)) = (page.done, page.next_records_url.clone()) {
            let client = self.client.clone();
            let batch_size = self.batch_size;
            self.ahead = Some(tokio::spawn(async move {
                more(&client, &next, batch_size).await
            }));
        }
        Ok(Some(page))
    }
}

impl Drop for QueryPager {
    fn drop(&mut self) {
        if let Some(ahead) = self.ahead.take() {
            ahead.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::PageMeta;

    #[test]
    fn page_counts_are_read_from_the_front_or_from_anywhere() {
        let front =
            br#"{"totalSize":3,"done":false,"nextRecordsUrl":"/q/01g-2","records":[{"Id":"1"},"#;
        let (total, done, next) = PageMeta::read(front).unwrap();
        assert_eq!((total, done), (3, false));
        assert_eq!(next.as_deref(), Some("/q/01g-2"));

        let last = br#"{"records":[{"a":"\"}"}],"done":true,"totalSize":1}"#;
        assert_eq!(PageMeta::read(last).unwrap(), (1, true, None));

        let url_after = br#"{"totalSize":3,"done":false,"records":[],"nextRecordsUrl":"/q/x-2"}"#;
        let (_, _, next) = PageMeta::read(url_after).unwrap();
        assert_eq!(next.as_deref(), Some("/q/x-2"));

        assert!(PageMeta::read(br#"{"totalSize":3,"records":[]}"#).is_err());
        assert!(PageMeta::read(br#"{"totalSize":3,"done":false,"records":[1,"#).is_err());
        assert!(PageMeta::read(b"<html>").is_err());
    }
}
