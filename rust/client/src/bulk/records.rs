//! CSV records decoded from a body as it arrives, so a result file of any size is read in flat
//! memory.

use crate::error::{Error, Result, TransportFailure};
use crate::transport::BodyStream;
use bytes::{Buf, Bytes};
use csv_core::ReadRecordResult;
use futures::StreamExt;

/// The records of a CSV body, the first row taken as the header.
pub struct CsvRecordStream {
    body: BodyStream,
    reader: csv_core::Reader,
    pending: Bytes,
    out: Vec<u8>,
    out_len: usize,
    ends: Vec<usize>,
    ends_len: usize,
    header: Option<Vec<String>>,
    body_done: bool,
    finished: bool,
}

impl CsvRecordStream {
    pub fn new(body: BodyStream, delimiter: u8) -> Self {
        Self {
            body,
            reader: csv_core::ReaderBuilder::new().delimiter(delimiter).build(),
            pending: Bytes::new(),
            out: vec![0; 64 * 1024],
            out_len: 0,
            ends: vec![0; 64],
            ends_len: 0,
            header: None,
            body_done: false,
            finished: false,
        }
    }

    /// A stream over a body already in memory.
    pub fn from_bytes(body: Bytes, delimiter: u8) -> Self {
        Self::new(
            Box::pin(futures::stream::once(async move { Ok(body) })),
            delimiter,
        )
    }

    /// The header row, once the first rows were read.
    pub fn header(&self) -> Option<&[String]> {
        self.header.as_deref()
    }

    /// The next rows (at least one), or None at the end. Reads the header first.
    pub async fn next_rows(&mut self) -> Result<Option<Vec<Vec<String>>>> {
        let mut rows = Vec::new();
        loop {
            self.parse_available(&mut rows)?;
            if !rows.is_empty() {
                return Ok(Some(rows));
            }
            if self.finished {
                return Ok(None);
            }
            match self.body.next().await {
                Some(Ok(chunk)) => self.pending = chunk,
                Some(Err(sent)) => {
                    return Err(Error::Transport(TransportFailure {
                        kind: sent.kind,
                        message: sent.message,
                        attempts: crate::error::Attempts::default(),
                        outcome_unknown: false,
                    }))
                }
                None => self.body_done = true,
            }
        }
    }

    fn parse_available(&mut self, rows: &mut Vec<Vec<String>>) -> Result<()> {
        while !self.finished {
            if self.pending.is_empty() && !self.body_done {
                return Ok(());
            }
            let (result, read, written, ended) = self.reader.read_record(
                &self.pending,
                self.out.get_mut(self.out_len..).unwrap_or_default(),
                self.ends.get_mut(self.ends_len..).unwrap_or_default(),
            );
            self.pending.advance(read);
            self.out_len += written;
            self.ends_len += ended;
            match result {
                ReadRecordResult::InputEmpty => {
                    if self.body_done {
                        // csv_core reports the end on the next call with empty input.
                        continue;
                    }
                    return Ok(());
                }
                ReadRecordResult::OutputFull => {
                    let size = self.out.len() * 2;
                    self.out.resize(size, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    let size = self.ends.len() * 2;
                    self.ends.resize(size, 0);
                }
                ReadRecordResult::Record => {
                    let row = self.take_row()?;
                    if self.header.is_none() {
                        self.header = Some(row);
                    } else {
                        rows.push(row);
                    }
                }
                ReadRecordResult::End => self.finished = true,
            }
        }
        Ok(())
    }

    fn take_row(&mut self) -> Result<Vec<String>> {
        let out = self.out.get(..self.out_len).unwrap_or_default();
        let mut start = 0;
        let mut row = Vec::with_capacity(self.ends_len);
        for &end in self.ends.get(..self.ends_len).unwrap_or_default() {
            let field = out.get(start..end).unwrap_or_default();
            row.push(
                String::from_utf8(field.to_vec()).map_err(|_| Error::UnexpectedResponse {
                    status: 200,
                    message: "a result file is not valid UTF-8".into(),
                })?,
            );
            start = end;
        }
        self.out_len = 0;
        self.ends_len = 0;
        Ok(row)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[tokio::test]
    async fn records_split_across_pieces_come_out_whole() {
        let pieces: Vec<std::result::Result<Bytes, crate::transport::SendError>> = vec![
            Ok(Bytes::from_static(b"\"sf__Id\",\"Na")),
            Ok(Bytes::from_static(
                b"me\"\n\"001\",\"a \"\"b\"\"\nc\"\n\"00",
            )),
            Ok(Bytes::from_static(b"2\",\"d\"")),
        ];
        let mut stream = CsvRecordStream::new(Box::pin(futures::stream::iter(pieces)), b',');
        let mut all = Vec::new();
        while let Some(rows) = stream.next_rows().await.unwrap() {
            all.extend(rows);
        }
        assert_eq!(stream.header().unwrap(), ["sf__Id", "Name"]);
        assert_eq!(
            all,
            vec![
                vec!["001".to_owned(), "a \"b\"\nc".to_owned()],
                vec!["002".to_owned(), "d".to_owned()]
            ]
        );
    }

    #[tokio::test]
    async fn long_fields_grow_the_buffers_and_a_broken_body_is_a_transport_error() {
        let long = "x".repeat(70_000);
        let many: String = (0..300).map(|i| format!("c{i},")).collect();
        let body = format!("\"Name\",\"Other\"\n\"{long}\",\"{many}\"\n");
        let pieces: Vec<std::result::Result<Bytes, crate::transport::SendError>> =
            vec![Ok(Bytes::from(body))];
        let mut stream = CsvRecordStream::new(Box::pin(futures::stream::iter(pieces)), b',');
        let rows = stream.next_rows().await.unwrap().unwrap();
        assert_eq!(rows, vec![vec![long.clone(), many.clone()]]);
        assert!(stream.next_rows().await.unwrap().is_none());

        let pieces: Vec<std::result::Result<Bytes, crate::transport::SendError>> = vec![
            Ok(Bytes::from_static(b"\"Name\"\n\"a\"\n\"b")),
            Err(crate::transport::SendError {
                kind: crate::error::TransportErrorKind::Io,
                message: "reset by peer".into(),
            }),
        ];
        let mut stream = CsvRecordStream::new(Box::pin(futures::stream::iter(pieces)), b',');
        let mut failure = None;
        for _ in 0..3 {
            match stream.next_rows().await {
                Ok(Some(_)) => continue,
                Ok(None) => break,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        assert!(
            matches!(failure, Some(Error::Transport(ref t)) if t.message == "reset by peer"),
            "{failure:?}"
        );
    }
}
