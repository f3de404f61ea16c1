//! An answer before it becomes HTTP: a status, a JSON body (or one already serialized) and
//! headers; composite subrequests read it as JSON.

use crate::http_kit::failure::ApiFailure;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// An answer before it becomes HTTP: composite subrequests read it as JSON.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Option<Value>,
    /// A body already serialized (large query pages), sent as JSON.
    pub raw: Option<Vec<u8>>,
    /// Headers (a create's Location, a record's ETag and Last-Modified), sent over HTTP and in
    /// a composite subresponse's `httpHeaders`.
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn new(status: StatusCode, body: Option<Value>) -> Self {
        Self {
            status,
            body,
            raw: None,
            headers: Vec::new(),
        }
    }

    /// The headers a composite subresponse reports.
    pub fn http_headers(&self) -> Value {
        let map = self
            .headers
            .iter()
            .map(|(name, value)| ((*name).to_owned(), json!(value)))
            .collect();
        Value::Object(map)
    }

    pub fn ok(body: Value) -> Self {
        Self::new(StatusCode::OK, Some(body))
    }

    /// A body already serialized to JSON.
    pub fn raw(json: Vec<u8>) -> Self {
        Self {
            raw: Some(json),
            ..Self::new(StatusCode::OK, None)
        }
    }

    pub fn with_status(status: StatusCode, body: Value) -> Self {
        Self::new(status, Some(body))
    }

    pub fn no_content() -> Self {
        Self::new(StatusCode::NO_CONTENT, None)
    }

    pub fn created(body: Value, location: String) -> Self {
        let mut reply = Self::new(StatusCode::CREATED, Some(body));
        reply.headers.push(("Location", location));
        reply
    }

    /// The body as JSON, whichever form it is in.
    pub fn json(self) -> Value {
        match (self.body, self.raw) {
            (Some(v), _) => v,
            (None, Some(raw)) => serde_json::from_slice(&raw).unwrap_or(Value::Null),
            (None, None) => Value::Null,
        }
    }
}

impl From<ApiFailure> for Reply {
    fn from(f: ApiFailure) -> Self {
        let body = if f.fields.is_empty() && f.code != "ENTITY_IS_DELETED" {
            json!([{"message": f.message, "errorCode": f.code}])
        } else {
            json!([{"message": f.message, "errorCode": f.code, "fields": f.fields}])
        };
        Self::new(f.status, Some(body))
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = match (self.body, self.raw) {
            (Some(body), _) => (self.status, Json(body)).into_response(),
            (None, Some(raw)) => (
                self.status,
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                raw,
            )
                .into_response(),
            (None, None) => self.status.into_response(),
        };
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }
}
