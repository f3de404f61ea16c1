//! `/services/oauth2`: the token endpoint (JWT bearer, refresh token, client credentials),
//! revoke, userinfo, and the identity URL.

use crate::org::Org;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::Arc;

/// How far ahead a JWT's `exp` may be: Salesforce asks for 3 minutes; a little skew is allowed.
const MAX_EXP_AHEAD_SECS: i64 = 180 + 30;

/// An OAuth error answer: `{"error", "error_description"}` with status 400 (or 401).
struct OAuthFailure {
    status: StatusCode,
    error: &'static str,
    description: &'static str,
}

fn fail(error: &'static str, description: &'static str) -> OAuthFailure {
    OAuthFailure {
        status: StatusCode::BAD_REQUEST,
        error,
        description,
    }
}

impl IntoResponse for OAuthFailure {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(json!({"error": self.error, "error_description": self.description})),
        )
            .into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// The emulator's URL: it serves the login host and the instance alike. JWT audiences must name
/// it, as they must name login.salesforce.com on Salesforce.
fn base_url(org: &Org, _headers: &HeaderMap) -> String {
    org.base_url()
}

fn form(body: &Bytes) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// Client id and secret from the form, or from HTTP Basic authentication.
fn client_credentials(
    params: &HashMap<String, String>,
    headers: &HeaderMap,
) -> (Option<String>, Option<String>) {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|pair| {
            pair.split_once(':')
                .map(|(id, secret)| (id.to_owned(), secret.to_owned()))
        });
    match basic {
        Some((id, secret)) => (Some(id), Some(secret)),
        None => (
            params.get("client_id").cloned(),
            params.get("client_secret").cloned(),
        ),
    }
}

/// The connected app the request names (form or HTTP Basic), and the secret it presented.
fn known_app(
    org: &Org,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<(crate::identity::ConnectedApp, Option<String>), OAuthFailure> {
    let (client_id, secret) = client_credentials(params, headers);
    let unknown = || fail("invalid_client_id", "client identifier invalid");
    let app = org
        .identity
        .app(&client_id.ok_or_else(unknown)?)
        .ok_or_else(unknown)?;
    Ok((app, secret))
}

pub async fn token(State(org): State<Arc<Org>>, headers: HeaderMap, body: Bytes) -> Response {
    // Faults injected for `/oauth2/token`: a delay (a far-away login host), or an error status.
    if let Some(fault) = org.take_fault("POST", "/oauth2/token") {
        if let Some(delay) = fault.delay {
            tokio::time::sleep(delay).await;
        }
        if fault.status != 200 {
            let status =
                StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = json!({"error": fault.error_code, "error_description": fault.message});
            return (status, Json(body)).into_response();
        }
    }
    let params = form(&body);
    let base = base_url(&org, &headers);
    let result = match params.get("grant_type").map(String::as_str) {
        Some("urn:ietf:params:oauth:grant-type:jwt-bearer") => jwt_bearer(&org, &params, &base),
        Some("refresh_token") => refresh_token(&org, &params, &headers, &base),
        Some("client_credentials") => client_credentials_grant(&org, &params, &headers, &base),
        Some(_) => Err(fail("unsupported_grant_type", "grant type not supported")),
        None => Err(fail("invalid_request", "grant_type is required")),
    };
    match result {
        Ok(body) => {
            let mut response = Json(body).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(failure) => failure.into_response(),
    }
}

/// The success body; `secret` signs `id + issued_at` as Salesforce does for secret-based flows.
fn grant_body(
    org: &Org,
    base: &str,
    user_id: &str,
    access_token: &str,
    secret: Option<&str>,
) -> Value {
    let id = format!("{base}/id/{}/{user_id}", org.org_id);
    let issued_at = chrono::Utc::now().timestamp_millis().to_string();
    let mut body = json!({
        "access_token": access_token,
        "scope": "api refresh_token id full",
        "instance_url": base,
        "id": id,
        "token_type": "Bearer",
        "issued_at": issued_at,
    });
    if let (Some(secret), Value::Object(map)) = (secret, &mut body) {
        if let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
            mac.update(id.as_bytes());
            mac.update(issued_at.as_bytes());
            let signature =
                base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
            map.insert("signature".into(), Value::String(signature));
        }
    }
    body
}

fn jwt_bearer(
    org: &Org,
    params: &HashMap<String, String>,
    base: &str,
) -> Result<Value, OAuthFailure> {
    let assertion = params
        .get("assertion")
        .ok_or_else(|| fail("invalid_request", "assertion is required"))?;
    // The issuer names the app whose certificate verifies the signature, so read it first.
    let claims_part = assertion
        .split('.')
        .nth(1)
        .ok_or_else(|| fail("invalid_grant", "invalid assertion"))?;
    let unverified: Value = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(claims_part.trim_end_matches('='))
        .ok()
        .and_then(|raw| serde_json::from_slice(&raw).ok())
        .ok_or_else(|| fail("invalid_grant", "invalid assertion"))?;
    let issuer = unverified
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let app = org
        .identity
        .app(issuer)
        .ok_or_else(|| fail("invalid_client_id", "client identifier invalid"))?;
    let key = app
        .certificate
        .as_ref()
        .ok_or_else(|| fail("invalid_client", "invalid client credentials"))?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Value>(assertion, key, &validation)
        .map_err(|_| fail("invalid_grant", "invalid assertion"))?
        .claims;
    let audience = claims
        .get("aud")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if audience.trim_end_matches('/') != base {
        return Err(fail("invalid_grant", "audience is invalid"));
    }
    let exp = match claims.get("exp") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.parse::<i64>().ok(),
        _ => None,
    }
    .ok_or_else(|| fail("invalid_grant", "invalid assertion"))?;
    let now = chrono::Utc::now().timestamp();
    if exp <= now {
        return Err(fail("invalid_grant", "expired authorization code"));
    }
    if exp > now + MAX_EXP_AHEAD_SECS {
        return Err(fail("invalid_grant", "invalid assertion"));
    }
    // `prn` is the old name of `sub` and wins when both are present.
    let subject = claims
        .get("prn")
        .or_else(|| claims.get("sub"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let user = org
        .identity
        .user_by_name(subject)
        .filter(|u| org.identity.is_approved(&app.client_id, &u.id))
        .ok_or_else(|| fail("invalid_grant", "user hasn't approved this consumer"))?;
    org.identity.count_grant("jwt_bearer");
    let access_token = org.identity.issue_session(&user.id, None);
    let mut body = grant_body(org, base, &user.id, &access_token, None);
    if let Value::Object(map) = &mut body {
        map.remove("issued_at");
        map.insert("scope".into(), Value::String("id api full".into()));
    }
    Ok(body)
}

fn refresh_token(
    org: &Org,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
    base: &str,
) -> Result<Value, OAuthFailure> {
    let (app, secret) = known_app(org, params, headers)?;
    let client_id = app.client_id.clone();
    if let (Some(expected), Some(given)) = (&app.client_secret, &secret) {
        if expected != given {
            return Err(fail("invalid_client", "invalid client credentials"));
        }
    }
    let presented = params
        .get("refresh_token")
        .ok_or_else(|| fail("invalid_request", "refresh_token is required"))?;
    let grant = org
        .identity
        .refresh_grant(presented)
        .filter(|g| g.client_id == client_id)
        .ok_or_else(|| fail("invalid_grant", "expired access/refresh token"))?;
    org.identity.count_grant("refresh_token");
    let (refresh, rotated) = if app.rotate_refresh_tokens {
        let new = org
            .identity
            .rotate_refresh_token(presented)
            .ok_or_else(|| fail("invalid_grant", "expired access/refresh token"))?;
        (new.clone(), Some(new))
    } else {
        (presented.clone(), None)
    };
    let access_token = org.identity.issue_session(&grant.user_id, Some(&refresh));
    let mut body = grant_body(
        org,
        base,
        &grant.user_id,
        &access_token,
        app.client_secret.as_deref(),
    );
    if let (Some(new), Value::Object(map)) = (rotated, &mut body) {
        map.insert("refresh_token".into(), Value::String(new));
    }
    Ok(body)
}

fn client_credentials_grant(
    org: &Org,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
    base: &str,
) -> Result<Value, OAuthFailure> {
    let (app, secret) = known_app(org, params, headers)?;
    match (&app.client_secret, &secret) {
        (Some(expected), Some(given)) if expected == given => {}
        _ => return Err(fail("invalid_client", "invalid client credentials")),
    }
    org.identity.count_grant("client_credentials");
    let access_token = org.identity.issue_session(&app.run_as, None);
    Ok(grant_body(
        org,
        base,
        &app.run_as,
        &access_token,
        app.client_secret.as_deref(),
    ))
}

pub async fn revoke(
    State(org): State<Arc<Org>>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
    body: Bytes,
) -> Response {
    let mut params = form(&body);
    if let Some(q) = query {
        params.extend(url::form_urlencoded::parse(q.as_bytes()).into_owned());
    }
    match params.get("token") {
        None => fail("unsupported_token_type", "Token type not supported").into_response(),
        Some(token) if org.identity.revoke(token) => StatusCode::OK.into_response(),
        Some(_) => fail("invalid_token", "Token was invalid").into_response(),
    }
}

fn bearer_user(org: &Org, headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("OAuth "))?;
    org.session_user(token.trim())
}

fn identity_body(org: &Org, base: &str, user_id: &str) -> Option<Value> {
    let user = org.identity.user_by_id(user_id)?;
    let version = "62.0";
    let urls = json!({
        "rest": format!("{base}/services/data/v{version}/"),
        "sobjects": format!("{base}/services/data/v{version}/sobjects/"),
        "query": format!("{base}/services/data/v{version}/query/"),
        "custom_domain": base,
    });
    Some(json!({
        "sub": format!("{base}/id/{}/{}", org.org_id, user.id),
        "user_id": user.id,
        "organization_id": org.org_id,
        "preferred_username": user.username,
        "email": user.username,
        "email_verified": true,
        "active": true,
        "user_type": "STANDARD",
        "urls": urls,
    }))
}

pub async fn userinfo(State(org): State<Arc<Org>>, headers: HeaderMap) -> Response {
    let base = base_url(&org, &headers);
    match bearer_user(&org, &headers).and_then(|user| identity_body(&org, &base, &user)) {
        Some(body) => Json(body).into_response(),
        None => (StatusCode::FORBIDDEN, "Bad_OAuth_Token").into_response(),
    }
}

pub async fn identity(
    State(org): State<Arc<Org>>,
    Path((org_id, user_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let base = base_url(&org, &headers);
    let authorized = bearer_user(&org, &headers).is_some();
    match (authorized, org_id == org.org_id) {
        (true, true) => match identity_body(&org, &base, &user_id) {
            Some(mut body) => {
                if let Value::Object(map) = &mut body {
                    map.insert(
                        "id".into(),
                        Value::String(format!("{base}/id/{org_id}/{user_id}")),
                    );
                    map.insert(
                        "username".into(),
                        map.get("preferred_username")
                            .cloned()
                            .unwrap_or(Value::Null),
                    );
                }
                Json(body).into_response()
            }
            None => (StatusCode::NOT_FOUND, "Bad_Id").into_response(),
        },
        (false, _) => (StatusCode::FORBIDDEN, "Bad_OAuth_Token").into_response(),
        (true, false) => (StatusCode::NOT_FOUND, "Bad_Id").into_response(),
    }
}
