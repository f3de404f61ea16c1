//! Who may call the org: users, connected apps (secrets, certificates, refresh-token rotation),
//! approvals, refresh tokens, access-token sessions with a lifetime, and grant counters.

use crate::org::lock;
use forcelink_wire::RecordId;
use jsonwebtoken::DecodingKey;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub username: String,
}

#[derive(Clone)]
pub struct ConnectedApp {
    pub client_id: String,
    pub client_secret: Option<String>,
    pub certificate: Option<DecodingKey>,
    pub rotate_refresh_tokens: bool,
    /// The user client-credentials tokens act as.
    pub run_as: String,
}

#[derive(Debug, Clone)]
struct Session {
    user_id: String,
    expires_at: Option<Instant>,
    refresh_token: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RefreshGrant {
    pub client_id: String,
    pub user_id: String,
}

pub struct Identity {
    org_prefix: String,
    users: Mutex<HashMap<String, User>>,
    apps: Mutex<HashMap<String, ConnectedApp>>,
    approvals: Mutex<HashSet<(String, String)>>,
    refresh_tokens: Mutex<HashMap<String, RefreshGrant>>,
    sessions: Mutex<HashMap<String, Session>>,
    token_lifetime: Mutex<Option<Duration>>,
    grants: Mutex<BTreeMap<String, u64>>,
    next_user: AtomicU64,
    rng: Mutex<rand::rngs::StdRng>,
}

impl Identity {
    pub fn new(org_id: &str, seed: u64) -> Self {
        Self {
            org_prefix: org_id.chars().take(15).collect(),
            users: Mutex::new(HashMap::new()),
            apps: Mutex::new(HashMap::new()),
            approvals: Mutex::new(HashSet::new()),
            refresh_tokens: Mutex::new(HashMap::new()),
            sessions: Mutex::new(HashMap::new()),
            token_lifetime: Mutex::new(None),
            grants: Mutex::new(BTreeMap::new()),
            next_user: AtomicU64::new(1),
            rng: Mutex::new(rand::rngs::StdRng::seed_from_u64(seed)),
        }
    }

    /// Creates a user; usernames are unique, case-insensitively.
    pub fn create_user(&self, username: &str, pod: &str) -> Result<User, String> {
        let key = username.to_lowercase();
        if username.trim().is_empty() || !username.contains('@') {
            return Err(format!(
                "a username looks like an email address, got {username:?}"
            ));
        }
        let mut users = lock(&self.users);
        if users.contains_key(&key) {
            return Err(format!("user {username} already exists"));
        }
        let serial = self.next_user.fetch_add(1, Ordering::SeqCst);
        let id = RecordId::mint("005", pod, serial)
            .map_err(|e| e.to_string())?
            .to_string();
        let user = User {
            id,
            username: username.to_owned(),
        };
        users.insert(key, user.clone());
        Ok(user)
    }

    pub fn user_by_name(&self, username: &str) -> Option<User> {
        lock(&self.users).get(&username.to_lowercase()).cloned()
    }

    pub fn user_by_id(&self, id: &str) -> Option<User> {
        lock(&self.users).values().find(|u| u.id == id).cloned()
    }

    pub fn create_app(&self, app: ConnectedApp) -> Result<(), String> {
        let mut apps = lock(&self.apps);
        if apps.contains_key(&app.client_id) {
            return Err(format!("connected app {} already exists", app.client_id));
        }
        apps.insert(app.client_id.clone(), app);
        Ok(())
    }

    pub fn app(&self, client_id: &str) -> Option<ConnectedApp> {
        lock(&self.apps).get(client_id).cloned()
    }

    pub fn is_approved(&self, client_id: &str, user_id: &str) -> bool {
        lock(&self.approvals).contains(&(client_id.to_owned(), user_id.to_owned()))
    }

    fn random_secret(&self, len: usize) -> String {
        const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._";
        let mut rng = lock(&self.rng);
        (0..len)
            .map(|_| char::from(CHARS[rng.gen_range(0..CHARS.len())]))
            .collect()
    }

    /// Issues a refresh token, which also records the user's approval of the app.
    pub fn issue_refresh_token(&self, client_id: &str, user_id: &str) -> String {
        let token = format!("5Aep861{}", self.random_secret(80));
        lock(&self.approvals).insert((client_id.to_owned(), user_id.to_owned()));
        lock(&self.refresh_tokens).insert(
            token.clone(),
            RefreshGrant {
                client_id: client_id.to_owned(),
                user_id: user_id.to_owned(),
            },
        );
        token
    }

    pub fn refresh_grant(&self, token: &str) -> Option<RefreshGrant> {
        lock(&self.refresh_tokens).get(token).cloned()
    }

    /// Replaces a refresh token by a new one (rotation); the old one stops working.
    pub fn rotate_refresh_token(&self, old: &str) -> Option<String> {
        let grant = lock(&self.refresh_tokens).remove(old)?;
        Some(self.issue_refresh_token(&grant.client_id, &grant.user_id))
    }

    /// Issues an access token (a session) for a user; `refresh_token` ties it to that token,
    /// so revoking the refresh token ends the session too.
    pub fn issue_session(&self, user_id: &str, refresh_token: Option<&str>) -> String {
        let token = format!("{}!{}", self.org_prefix, self.random_secret(96));
        let expires_at = lock(&self.token_lifetime).map(|l| Instant::now() + l);
        lock(&self.sessions).insert(
            token.clone(),
            Session {
                user_id: user_id.to_owned(),
                expires_at,
                refresh_token: refresh_token.map(str::to_owned),
            },
        );
        token
    }

    /// The user of a valid, unexpired session.
    pub fn session_user(&self, token: &str) -> Option<String> {
        let sessions = lock(&self.sessions);
        let session = sessions.get(token)?;
        match session.expires_at {
            Some(at) if Instant::now() >= at => None,
            _ => Some(session.user_id.clone()),
        }
    }

    pub fn expire_sessions(&self) {
        lock(&self.sessions).clear();
    }

    pub fn set_token_lifetime(&self, lifetime: Option<Duration>) {
        *lock(&self.token_lifetime) = lifetime;
    }

    /// Revokes an access token, or a refresh token with every session issued from it.
    pub fn revoke(&self, token: &str) -> bool {
        if lock(&self.sessions).remove(token).is_some() {
            return true;
        }
        if lock(&self.refresh_tokens).remove(token).is_some() {
            lock(&self.sessions).retain(|_, s| s.refresh_token.as_deref() != Some(token));
            return true;
        }
        false
    }

    pub fn count_grant(&self, grant: &str) {
        *lock(&self.grants).entry(grant.to_owned()).or_insert(0) += 1;
    }

    pub fn grants(&self) -> Value {
        json!(lock(&self.grants).clone())
    }
}
