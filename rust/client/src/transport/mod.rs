//! The HTTP boundary. Everything the client sends goes through [`HttpTransport`], so a recorder,
//! a replayer or a fake can stand in for the network.

use crate::error::TransportErrorKind;
use bytes::Bytes;
use futures::future::BoxFuture;
use http::{HeaderMap, Method, StatusCode};
use url::Url;

/// A request as it goes on the wire: a whole body, or (bulk uploads) a file streamed from disk.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: Method,
    pub url: Url,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// When set, the body is this file's content, read as it is sent; `body` is then empty.
    pub upload: Option<UploadFile>,
    /// This request's timeout, in place of the client's.
    pub timeout: Option<std::time::Duration>,
}

/// A file sent as a request body without being held in memory.
#[derive(Debug, Clone)]
pub struct UploadFile {
    pub path: std::sync::Arc<std::path::PathBuf>,
    pub len: u64,
    /// Bytes sent before and after the file's (a multipart body's part headers and closing).
    pub prefix: Bytes,
    pub suffix: Bytes,
}

/// A response whose body arrives in pieces (bulk results), so it need not be held whole.
pub struct StreamingResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: BodyStream,
}

/// The pieces of a streamed body.
pub type BodyStream = futures::stream::BoxStream<'static, std::result::Result<Bytes, SendError>>;

impl StreamingResponse {
    /// Reads the rest of the body into one response.
    pub async fn collect(self) -> std::result::Result<HttpResponse, SendError> {
        use futures::TryStreamExt;
        let chunks: Vec<Bytes> = self.body.try_collect().await?;
        let body = if chunks.len() == 1 {
            chunks.into_iter().next().unwrap_or_default()
        } else {
            Bytes::from(chunks.concat())
        };
        Ok(HttpResponse {
            status: self.status,
            headers: self.headers,
            body,
        })
    }
}

impl From<HttpResponse> for StreamingResponse {
    fn from(response: HttpResponse) -> Self {
        Self {
            status: response.status,
            headers: response.headers,
            body: Box::pin(futures::stream::once(async move { Ok(response.body) })),
        }
    }
}

/// A response as it came off the wire.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Why a request did not complete, before any retry decision.
#[derive(Debug, Clone)]
pub struct SendError {
    pub kind: TransportErrorKind,
    pub message: String,
}

/// Sends one HTTP request; no retries, no auth: those live above it.
pub trait HttpTransport: Send + Sync + 'static {
    fn send(
        &self,
        request: HttpRequest,
    ) -> BoxFuture<'_, std::result::Result<HttpResponse, SendError>>;

    /// Sends a request whose answer is read piece by piece. Transports that only have whole
    /// bodies (recorders, fakes) answer with one piece.
    fn send_streaming(
        &self,
        request: HttpRequest,
    ) -> BoxFuture<'_, std::result::Result<StreamingResponse, SendError>> {
        Box::pin(async move { self.send(request).await.map(StreamingResponse::from) })
    }

    /// Lets go of pooled connections; the client refuses calls from here on.
    fn close(&self) {}
}

#[cfg(feature = "reqwest-transport")]
mod reqwest;
#[cfg(feature = "reqwest-transport")]
pub use reqwest::ReqwestTransport;
