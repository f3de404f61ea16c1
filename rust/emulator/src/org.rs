//! The org: its ids, users, sessions, records, API usage, request counters and injected faults.

use crate::identity::Identity;
use crate::model::store::Store;
use forcelink_wire::RecordId;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// A fault to answer instead of handling a request, a given number of times.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// Only requests with this method (any when None).
    pub method: Option<String>,
    /// Only requests whose path contains this text.
    pub path_contains: String,
    pub status: u16,
    pub error_code: String,
    pub message: String,
    /// How many matching requests get the fault.
    pub times: u32,
    pub retry_after: Option<u64>,
    /// Wait this long before answering (latency injection).
    pub delay: Option<Duration>,
    /// Break the connection instead of answering: the status line may go out, the body never
    /// completes.
    pub drop_connection: bool,
    /// With `drop_connection`: do the request (commit its writes) first, then break the
    /// connection, so the caller cannot know whether it happened.
    pub after_commit: bool,
    /// The share of matching requests that get the fault (drawn from the org's seeded
    /// generator); every one when None.
    pub rate: Option<f64>,
}

/// Settings of an org.
#[derive(Debug, Clone)]
pub struct OrgSettings {
    pub api_limit: u64,
    pub seed: u64,
    /// How long access tokens work; None for as long as the org runs.
    pub token_lifetime: Option<Duration>,
    /// Bulk API upload limit per job, in base64-encoded bytes.
    pub bulk_upload_limit: u64,
}

impl Default for OrgSettings {
    fn default() -> Self {
        Self {
            api_limit: 100_000,
            seed: 0x5a1e_5f0c,
            token_lifetime: None,
            bulk_upload_limit: crate::bulk::DEFAULT_UPLOAD_LIMIT,
        }
    }
}

pub struct Org {
    pub org_id: String,
    pub user_id: String,
    pub username: String,
    pub api_limit: u64,
    api_used: AtomicU64,
    /// Answers sent gzip-compressed, because the client asked.
    gzip_answers: AtomicU64,
    pub pod: String,
    base_url: std::sync::OnceLock<String>,
    store: Mutex<Store>,
    pub identity: Identity,
    pub cursors: crate::soql::Cursors,
    pub bulk: crate::bulk::BulkJobs,
    pub events: crate::events::EventBus,
    counters: Mutex<BTreeMap<String, u64>>,
    faults: Mutex<Vec<Fault>>,
    /// Draws for faults by rate: seeded, so a run's faults repeat.
    fault_draws: Mutex<rand::rngs::StdRng>,
    /// The whole org is down: every request is answered 503 (and still counted).
    down: std::sync::atomic::AtomicBool,
    /// Apex REST classes, played by registered handlers.
    pub apex: crate::apex::ApexClasses,
    /// The files of ContentVersions.
    pub files: crate::files::FileStore,
    /// The latest SOQL texts received (REST queries and Bulk query jobs), for tests that check
    /// what a client sent.
    queries: Mutex<std::collections::VecDeque<String>>,
}

/// SOQL texts kept in the query log.
const QUERY_LOG_LEN: usize = 1_000;

/// Locks a mutex, recovering the data if a panicking thread poisoned it: the emulator keeps
/// answering rather than failing every later request.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Org {
    pub fn new(settings: &OrgSettings) -> Result<Self, String> {
        let pod = "5e";
        let org_id = RecordId::mint("00D", pod, 1)
            .map_err(|e| e.to_string())?
            .to_string();
        let identity = Identity::new(&org_id, settings.seed);
        identity.set_token_lifetime(settings.token_lifetime);
        let admin = identity.create_user("admin@emulator.example.com", pod)?;
        let mut store = Store::new(pod, &admin.id);
        let now = crate::model::datetime::format_datetime(chrono::Utc::now());
        store
            .add_user(&admin.id, &admin.username, &now)
            .map_err(|e| e.message)?;
        let org = Self {
            org_id,
            username: admin.username,
            store: Mutex::new(store),
            user_id: admin.id,
            pod: pod.to_owned(),
            base_url: std::sync::OnceLock::new(),
            api_limit: settings.api_limit,
            api_used: AtomicU64::new(0),
            gzip_answers: AtomicU64::new(0),
            identity,
            cursors: crate::soql::Cursors::default(),
            bulk: crate::bulk::BulkJobs::new(settings.bulk_upload_limit),
            events: crate::events::EventBus::new(),
            counters: Mutex::new(BTreeMap::new()),
            faults: Mutex::new(Vec::new()),
            fault_draws: Mutex::new(rand::SeedableRng::seed_from_u64(settings.seed)),
            down: std::sync::atomic::AtomicBool::new(false),
            apex: crate::apex::ApexClasses::default(),
            files: crate::files::FileStore::default(),
            queries: Mutex::new(std::collections::VecDeque::new()),
        };
        Ok(org)
    }

    /// `http(s)://127.0.0.1:PORT`, known once the server is bound.
    pub fn base_url(&self) -> String {
        self.base_url.get().cloned().unwrap_or_default()
    }

    pub fn set_base_url(&self, url: String) {
        let _ = self.base_url.set(url);
    }

    pub fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }

    /// Ends the open transaction: its platform events and change events go on the bus, in
    /// commit order (the store lock is still held).
    pub fn commit(&self, store: &mut Store, origin: &str) {
        let (changes, events) = store.take_committed();
        if !changes.is_empty() || !events.is_empty() {
            self.events.commit(store, changes, events, origin);
        }
    }

    /// A topic by name; change-event topics of existing objects open on first use.
    pub fn topic(&self, name: &str) -> Option<std::sync::Arc<crate::events::Topic>> {
        if let Some(t) = self.events.topic(name) {
            return Some(t);
        }
        let entity = name.strip_prefix("/data/")?.strip_suffix("ChangeEvent")?;
        let object = match entity.strip_suffix("__") {
            Some(base) => format!("{base}__c"),
            None => entity.to_owned(),
        };
        let store = self.store();
        let meta = &store.object(&object).ok()?.meta;
        // Topic names are case-sensitive.
        if crate::events::change_topic(&meta.name) != name {
            return None;
        }
        self.events.change_schema(meta).ok()?;
        self.events.topic(name)
    }

    /// Issues a session for the org's admin user.
    pub fn issue_session(&self) -> String {
        self.identity.issue_session(&self.user_id, None)
    }

    /// The user of a valid session, or None.
    pub fn session_user(&self, token: &str) -> Option<String> {
        self.identity.session_user(token)
    }

    /// Every issued session stops working.
    pub fn expire_sessions(&self) {
        self.identity.expire_sessions();
    }

    /// Counts one API call; false when the daily limit is already used up.
    pub fn take_api_call(&self) -> bool {
        self.api_used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| {
                (used < self.api_limit).then_some(used + 1)
            })
            .is_ok()
    }

    pub fn api_used(&self) -> u64 {
        self.api_used.load(Ordering::SeqCst)
    }

    /// Logs a SOQL text the org received, keeping the latest [`QUERY_LOG_LEN`].
    pub fn log_query(&self, soql: &str) {
        let mut queries = lock(&self.queries);
        if queries.len() == QUERY_LOG_LEN {
            queries.pop_front();
        }
        queries.push_back(soql.to_owned());
    }

    pub fn count_gzip_answer(&self) {
        self.gzip_answers.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count(&self, route: &str) {
        *lock(&self.counters).entry(route.to_owned()).or_insert(0) += 1;
    }

    pub fn inject_fault(&self, fault: Fault) {
        lock(&self.faults).push(fault);
    }

    pub fn clear_faults(&self) {
        lock(&self.faults).clear();
    }

    /// Takes the whole org down (every request answered 503 SERVER_UNAVAILABLE) or brings it
    /// back.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn is_down(&self) -> bool {
        self.down.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The first fault matching this request, consuming one of its times. A fault by rate
    /// matches a request only when the seeded draw falls under its rate.
    pub fn take_fault(&self, method: &str, path: &str) -> Option<Fault> {
        let mut faults = lock(&self.faults);
        let index = faults.iter().position(|f| {
            let matches = f.times > 0
                && f.method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method))
                && path.contains(&f.path_contains);
            matches
                && f.rate
                    .is_none_or(|rate| rand::Rng::gen::<f64>(&mut *lock(&self.fault_draws)) < rate)
        })?;
        let fault = faults.get_mut(index)?;
        fault.times -= 1;
        let hit = fault.clone();
        if fault.times == 0 {
            faults.remove(index);
        }
        Some(hit)
    }

    /// Counters for tests: requests per route, API usage.
    pub fn stats(&self) -> Value {
        let requests = lock(&self.counters).clone();
        let total: u64 = requests.values().sum();
        json!({
            "requests": requests,
            "total_requests": total,
            "api_usage": {"used": self.api_used(), "max": self.api_limit},
            "token_grants": self.identity.grants(),
            "bulk_jobs": self.bulk.states(),
            "events": self.events.stats(),
            "queries": *lock(&self.queries),
            "gzip_answers": self.gzip_answers.load(Ordering::Relaxed),
        })
    }
}
impl crate::http_kit::auth::Sessions for Org {
    fn session_user(&self, token: &str) -> Option<String> {
        Org::session_user(self, token)
    }
}
