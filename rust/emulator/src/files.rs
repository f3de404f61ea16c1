//! Salesforce Files: `POST /sobjects/ContentVersion` as a multipart request (an
//! `entity_content` JSON part and a `VersionData` file part), the file streamed to disk, and
//! `GET /sobjects/ContentVersion/{id}/VersionData` streamed back from it. Files live in a
//! temporary directory of the org, never whole in memory.

use crate::http_kit::failure::ApiFailure;
use crate::model::datetime::format_datetime;
use crate::org::Org;
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use tokio::io::AsyncWriteExt;

/// The org's file directory, made on first use and removed with the org.
#[derive(Default)]
pub struct FileStore {
    dir: OnceLock<std::io::Result<tempfile::TempDir>>,
}

impl FileStore {
    fn dir(&self) -> Result<PathBuf, ApiFailure> {
        self.dir
            .get_or_init(|| {
                tempfile::Builder::new()
                    .prefix("forcelink-emulator-files-")
                    .tempdir()
            })
            .as_ref()
            .map(|d| d.path().to_path_buf())
            .map_err(|e| server_error(format!("cannot keep files: {e}")))
    }
}

fn server_error(message: String) -> ApiFailure {
    ApiFailure::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "UNKNOWN_EXCEPTION",
        message,
    )
}

fn bad(code: &str, message: impl Into<String>) -> ApiFailure {
    ApiFailure::bad_request(code, message)
}

/// Stores an uploaded ContentVersion.
pub async fn upload(
    org: &Arc<Org>,
    version: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiFailure> {
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let boundary = multer::parse_boundary(content_type)
        .map_err(|e| bad("INVALID_MULTIPART_REQUEST", e.to_string()))?;
    let mut multipart = multer::Multipart::new(body.into_data_stream(), boundary);
    let dir = org.files.dir()?;
    let mut entity: Option<Value> = None;
    let mut stored: Option<(tempfile::TempPath, u64)> = None;
    let invalid = |e: multer::Error| bad("INVALID_MULTIPART_REQUEST", e.to_string());
    while let Some(mut field) = multipart.next_field().await.map_err(invalid)? {
        match field.name() {
            Some("entity_content") => {
                let bytes = field.bytes().await.map_err(invalid)?;
                entity = Some(
                    serde_json::from_slice(&bytes)
                        .map_err(|e| bad("JSON_PARSER_ERROR", e.to_string()))?,
                );
            }
            Some("VersionData") => {
                let temp = tempfile::NamedTempFile::new_in(&dir)
                    .map_err(|e| server_error(e.to_string()))?
                    .into_temp_path();
                let mut file = tokio::fs::File::create(&temp)
                    .await
                    .map_err(|e| server_error(e.to_string()))?;
                let mut size = 0u64;
                while let Some(chunk) = field.chunk().await.map_err(invalid)? {
                    size += chunk.len() as u64;
                    file.write_all(&chunk)
                        .await
                        .map_err(|e| server_error(e.to_string()))?;
                }
                file.flush()
                    .await
                    .map_err(|e| server_error(e.to_string()))?;
                stored = Some((temp, size));
            }
            _ => {}
        }
    }
    let Some(Value::Object(mut entity)) = entity else {
        return Err(bad(
            "REQUIRED_FIELD_MISSING",
            "Required fields are missing: [entity_content]",
        ));
    };
    let (temp, size) = stored.ok_or_else(|| {
        bad(
            "REQUIRED_FIELD_MISSING",
            "Required fields are missing: [VersionData]",
        )
    })?;
    entity.insert("ContentSize".into(), json!(size));
    let now = format_datetime(chrono::Utc::now());
    let id = {
        let mut store = org.store();
        let created = store.create("ContentVersion", &Value::Object(entity), &now);
        org.commit(
            &mut store,
            &crate::http_kit::request::change_origin("rest", version, headers),
        );
        created?
    };
    temp.persist(dir.join(&id))
        .map_err(|e| server_error(e.to_string()))?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"id": id, "success": true, "errors": []})),
    )
        .into_response())
}

/// Streams a ContentVersion's file back.
pub async fn download(org: &Arc<Org>, id: &str) -> Result<Response, ApiFailure> {
    let known = org
        .store()
        .object("ContentVersion")?
        .records
        .get(id)
        .is_some_and(|r| !r.deleted);
    if !known {
        return Err(ApiFailure::not_found());
    }
    let file = tokio::fs::File::open(org.files.dir()?.join(id))
        .await
        .map_err(|_| ApiFailure::not_found())?;
    let stream = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024);
    let mut response = Body::from_stream(stream).into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/octet-stream"),
    );
    Ok(response)
}
