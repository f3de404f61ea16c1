//! Files as Salesforce Files: a ContentVersion uploaded as a multipart request whose file part
//! is streamed from disk, and its VersionData downloaded to disk as it arrives. Neither holds
//! the file in memory.

use crate::client::{decode_json, Client, RestCall};
use crate::error::{Error, Result};
use crate::resilience::Idempotency;
use crate::sobjects::{parse_id, SaveResult};
use crate::transport::UploadFile;
use bytes::Bytes;
use futures::StreamExt;
use http::{HeaderValue, Method};
use serde_json::{Map, Value};
use std::path::Path;
use tokio::io::AsyncWriteExt;

/// Files of a [`Client`].
pub struct Files<'a> {
    client: &'a Client,
}

impl Client {
    /// Salesforce Files (ContentVersion).
    pub fn files(&self) -> Files<'_> {
        Files { client: self }
    }
}

fn quoted(name: &str) -> String {
    name.replace(['"', '\r', '\n'], "_")
}

impl Files<'_> {
    /// Uploads `path` as a new ContentVersion: `fields` (such as `Title`, `Description`,
    /// `FirstPublishLocationId`) with `PathOnClient` and `Title` defaulting to the file's name.
    /// The file is streamed from disk.
    pub async fn upload(&self, path: &Path, fields: &Map<String, Value>) -> Result<SaveResult> {
        let meta = std::fs::metadata(path)
            .map_err(|e| Error::invalid_argument("path", format!("{}: {e}", path.display())))?;
        if !meta.is_file() {
            return Err(Error::invalid_argument(
                "path",
                format!("{} is not a file", path.display()),
            ));
        }
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".to_owned());
        let mut entity = fields.clone();
        entity
            .entry("PathOnClient")
            .or_insert_with(|| Value::String(file_name.clone()));
        entity
            .entry("Title")
            .or_insert_with(|| Value::String(file_name.clone()));
        let boundary = format!("forcelink-{}", forcelink_wire::uuid_v4(rand::random()));
        let prefix = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"entity_content\"\r\n\
             Content-Type: application/json\r\n\r\n{}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"VersionData\"; filename=\"{}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n",
            Value::Object(entity),
            quoted(&file_name)
        );
        let suffix = format!("\r\n--{boundary}--\r\n");
        let url = self.client.data_url(&["sobjects", "ContentVersion"])?;
        let mut call = RestCall::new(Method::POST, url, None, Idempotency::NonIdempotent);
        let content_type =
            HeaderValue::from_str(&format!("multipart/form-data; boundary={boundary}"))
                .map_err(|e| Error::invalid_argument("path", e.to_string()))?;
        call.extra_headers
            .push((http::header::CONTENT_TYPE, content_type));
        call.upload = Some(UploadFile {
            path: std::sync::Arc::new(path.to_path_buf()),
            len: meta.len(),
            prefix: Bytes::from(prefix),
            suffix: Bytes::from(suffix),
        });
        let response = self.client.execute(call).await?;
        decode_json(&response)
    }

    /// Downloads a ContentVersion's file to `dest` as it arrives; returns the bytes written.
    pub async fn download(&self, content_version_id: &str, dest: &Path) -> Result<u64> {
        let id = parse_id("content_version_id", content_version_id)?;
        let id = id.to_string();
        let url = self
            .client
            .data_url(&["sobjects", "ContentVersion", &id, "VersionData"])?;
        let mut call = RestCall::new(Method::GET, url, None, Idempotency::Idempotent);
        call.accept = "*/*";
        call.stream_response = true;
        let mut response = self.client.execute_streaming(call).await?;
        let write_error =
            |e: std::io::Error| Error::invalid_argument("dest", format!("{}: {e}", dest.display()));
        let mut file = tokio::fs::File::create(dest).await.map_err(write_error)?;
        let mut written = 0u64;
        while let Some(chunk) = response.body.next().await {
            let chunk = chunk.map_err(|sent| {
                Error::Transport(crate::error::TransportFailure {
                    kind: sent.kind,
                    message: sent.message,
                    attempts: crate::error::Attempts::default(),
                    outcome_unknown: false,
                })
            })?;
            file.write_all(&chunk).await.map_err(write_error)?;
            written += chunk.len() as u64;
        }
        file.flush().await.map_err(write_error)?;
        Ok(written)
    }
}
