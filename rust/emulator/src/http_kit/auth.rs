//! Authentication: a request's bearer token, and the user whose session it is.

use crate::http_kit::failure::ApiFailure;
use axum::http::HeaderMap;

/// Whoever keeps the sessions (the org): the user a live access token belongs to.
pub trait Sessions {
    fn session_user(&self, token: &str) -> Option<String>;
}

/// The user of the request's `Authorization: Bearer` (or `OAuth`) token; INVALID_SESSION_ID
/// without a live one.
pub fn authenticate(sessions: &impl Sessions, headers: &HeaderMap) -> Result<String, ApiFailure> {
    let header = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("OAuth "))
        .map(str::trim)
        .ok_or_else(ApiFailure::invalid_session)?;
    sessions
        .session_user(token)
        .ok_or_else(ApiFailure::invalid_session)
}
