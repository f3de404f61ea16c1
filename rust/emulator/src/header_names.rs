//! Response header names spelled as Salesforce spells them on HTTP/1.1.
//!
//! hyper writes header names in lower case, or in title case when asked (`Content-Type`,
//! `Sforce-Locator`). Clients that copy headers into a plain dict look names up in Salesforce's
//! spelling, and title case gets all of them right but two: `Sforce-NumberOfRecords` and `ETag`,
//! which title case writes `Sforce-Numberofrecords` and `Etag`. hyper keeps its own case map
//! private, so this wrapper mends those names in the response head as it is written: same
//! length, in place, head only.
//! HTTP/2 sends names in lower case by protocol and passes through untouched.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Names whose Salesforce spelling differs from title case: (title case, Salesforce's).
const SPELLINGS: [(&[u8], &[u8]); 2] = [
    (
        b"\r\nSforce-Numberofrecords:",
        b"\r\nSforce-NumberOfRecords:",
    ),
    (b"\r\nEtag:", b"\r\nETag:"),
];

/// A connection whose HTTP/1.1 response heads carry Salesforce's header spellings.
pub struct SalesforceHeaderNames<S> {
    inner: S,
}

impl<S> SalesforceHeaderNames<S> {
    pub fn new(inner: S) -> Self {
        Self { inner }
    }
}

/// The bytes to write in place of `buf`, when `buf` opens a response head holding a name to mend.
fn mended(buf: &[u8]) -> Option<Vec<u8>> {
    if !buf.starts_with(b"HTTP/1.") {
        return None;
    }
    let head_end = memchr::memmem::find(buf, b"\r\n\r\n").map_or(buf.len(), |at| at + 2);
    let head = &buf[..head_end];
    let mut out: Option<Vec<u8>> = None;
    for (title, spelled) in SPELLINGS {
        for at in memchr::memmem::find_iter(head, title).collect::<Vec<_>>() {
            let bytes = out.get_or_insert_with(|| buf.to_vec());
            bytes[at..at + spelled.len()].copy_from_slice(spelled);
        }
    }
    out
}

impl<S: AsyncRead + Unpin> AsyncRead for SalesforceHeaderNames<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for SalesforceHeaderNames<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match mended(buf) {
            // Same length as `buf`, so the count written maps one to one.
            Some(bytes) => Pin::new(&mut self.inner).poll_write(cx, &bytes),
            None => Pin::new(&mut self.inner).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        // A head to mend is written alone; the rest of the slices follow on the next call.
        if let Some(first) = bufs.iter().find(|b| !b.is_empty()) {
            if let Some(bytes) = mended(first) {
                return Pin::new(&mut self.inner).poll_write(cx, &bytes);
            }
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::mended;

    #[test]
    fn the_record_count_name_is_spelled_as_salesforce_spells_it_in_the_head_only() {
        let head = b"HTTP/1.1 200 OK\r\nSforce-Numberofrecords: 2\r\nSforce-Locator: null\r\n\r\n\r\nSforce-Numberofrecords: body";
        let fixed = mended(head).unwrap_or_default();
        assert_eq!(
            fixed,
            b"HTTP/1.1 200 OK\r\nSforce-NumberOfRecords: 2\r\nSforce-Locator: null\r\n\r\n\r\nSforce-Numberofrecords: body".to_vec()
        );
        assert!(mended(b"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\n\r\n").is_none());
        let record = mended(b"HTTP/1.1 200 OK\r\nEtag: \"1a\"\r\nLast-Modified: x\r\n\r\n");
        assert_eq!(
            record.unwrap_or_default(),
            b"HTTP/1.1 200 OK\r\nETag: \"1a\"\r\nLast-Modified: x\r\n\r\n".to_vec()
        );
        assert!(mended(b"\"Id\"\r\nSforce-Numberofrecords: 1").is_none());
    }
}
