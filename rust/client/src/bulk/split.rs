//! Splits CSV input into upload-sized files before any job exists: the whole input is checked
//! (quotes, field counts, UTF-8) as it streams through, records are never cut (quoted newlines
//! stay inside their record), every file starts with the header, and line endings become one.
//! Files live in a spool directory and are removed when the split is dropped.

use crate::error::{Error, Result};
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Salesforce's limit per job: 150 MB of base64-encoded CSV.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 150 * 1024 * 1024;

/// The share of the limit kept free, so a file never lands right at the edge.
const MARGIN_PERCENT: u64 = 5;

/// How rows end, as the job's `lineEnding` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnding {
    Lf,
    Crlf,
}

impl LineEnding {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lf => "LF",
            Self::Crlf => "CRLF",
        }
    }

    fn bytes(self) -> &'static [u8] {
        match self {
            Self::Lf => b"\n",
            Self::Crlf => b"\r\n",
        }
    }
}

pub use forcelink_wire::delimiter_name;

/// How to split.
#[derive(Debug, Clone)]
pub struct SplitOptions {
    /// One of `, ` ^ | ; \t`.
    pub delimiter: u8,
    /// The upload limit per job in base64-encoded bytes, as Salesforce counts it.
    pub max_upload_bytes: u64,
    /// At most this many records per job.
    pub max_records: Option<u64>,
    /// Where the upload files go (the system temp directory by default).
    pub spool_dir: Option<PathBuf>,
    /// The line ending of the files; by default the input's own (from its header line).
    pub line_ending: Option<LineEnding>,
    /// Only these data rows of the input (first and last, counted from 1 after the header):
    /// the rows an interrupted load left unsent, loaded again. Every row is still checked.
    pub rows: Option<Vec<(u64, u64)>>,
}

impl Default for SplitOptions {
    fn default() -> Self {
        Self {
            delimiter: b',',
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            max_records: None,
            spool_dir: None,
            line_ending: None,
            rows: None,
        }
    }
}

/// One upload: a file holding the header and whole records.
#[derive(Debug, Clone)]
pub struct Chunk {
    pub path: Arc<tempfile::TempPath>,
    pub records: u64,
    pub bytes: u64,
    /// The input's data rows it holds (first and last, counted from 1 after the header).
    pub rows: Vec<(u64, u64)>,
}

/// The input, checked and split.
#[derive(Debug)]
pub struct SplitCsv {
    pub header: Vec<String>,
    pub delimiter: u8,
    pub line_ending: LineEnding,
    pub chunks: Vec<Chunk>,
    pub records: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    FieldStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
    CarriageReturn,
}

struct OpenChunk {
    file: BufWriter<tempfile::NamedTempFile>,
    records: u64,
    bytes: u64,
    rows: Vec<(u64, u64)>,
}

/// The UTF-8 byte order mark some tools write at the start of a CSV file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Takes CSV bytes in pieces (or rows) and writes the upload files.
pub struct CsvSplitter {
    options: SplitOptions,
    /// The largest file, in raw bytes, whose base64 form stays within the limit less the margin.
    budget: u64,
    state: State,
    /// The state a CR interrupted, for the line it ends.
    before_cr: State,
    line: u64,
    record_line: u64,
    fields: usize,
    current: Vec<u8>,
    started: bool,
    /// The input's first bytes while fewer than a BOM's three have come: a BOM can arrive
    /// split across pieces.
    head: Vec<u8>,
    header: Option<(Vec<u8>, usize)>,
    header_names: Vec<String>,
    line_ending: Option<LineEnding>,
    open: Option<OpenChunk>,
    chunks: Vec<Chunk>,
    records: u64,
    bytes: u64,
    /// Data rows of the input seen so far, loaded or not.
    input_rows: u64,
}

fn csv_error(line: u64, message: impl Into<String>) -> Error {
    Error::Csv {
        line,
        message: message.into(),
    }
}

fn io_error(what: &str, e: &std::io::Error) -> Error {
    Error::invalid_argument("data", format!("{what}: {e}"))
}

impl CsvSplitter {
    pub fn new(options: SplitOptions) -> Result<Self> {
        if delimiter_name(options.delimiter).is_none() {
            return Err(Error::invalid_argument(
                "column_delimiter",
                "must be one of , ` ^ | ; and tab",
            ));
        }
        let usable = options.max_upload_bytes - options.max_upload_bytes * MARGIN_PERCENT / 100;
        let budget = usable / 4 * 3;
        if budget < 64 {
            return Err(Error::invalid_argument(
                "max_upload_bytes",
                "is too small to hold a header and a record",
            ));
        }
        if options.max_records == Some(0) {
            return Err(Error::invalid_argument("max_records", "must be positive"));
        }
        if let Some(rows) = &options.rows {
            check_row_ranges(rows)?;
        }
        Ok(Self {
            line_ending: options.line_ending,
            options,
            budget,
            state: State::FieldStart,
            before_cr: State::FieldStart,
            line: 1,
            record_line: 1,
            fields: 0,
            current: Vec::new(),
            started: false,
            head: Vec::new(),
            header: None,
            header_names: Vec::new(),
            open: None,
            chunks: Vec::new(),
            records: 0,
            bytes: 0,
            input_rows: 0,
        })
    }

    /// Splits a whole file.
    pub fn split_path(path: &Path, options: SplitOptions) -> Result<SplitCsv> {
        let file = File::open(path)
            .map_err(|e| io_error(&format!("cannot open {}", path.display()), &e))?;
        Self::split_reader(file, options)
    }

    /// Splits everything `reader` gives.
    pub fn split_reader(mut reader: impl Read, options: SplitOptions) -> Result<SplitCsv> {
        let mut splitter = Self::new(options)?;
        let mut buffer = vec![0u8; 1024 * 1024];
        loop {
            let n = reader
                .read(&mut buffer)
                .map_err(|e| io_error("cannot read the input", &e))?;
            if n == 0 {
                break;
            }
            splitter.feed(buffer.get(..n).unwrap_or_default())?;
        }
        splitter.finish()
    }

    /// Takes the next piece of the input.
    pub fn feed(&mut self, data: &[u8]) -> Result<()> {
        if self.started {
            return self.take(data);
        }
        if self.head.is_empty() && data.len() >= BOM.len() {
            self.started = true;
            return self.take(data.strip_prefix(BOM).unwrap_or(data));
        }
        self.head.extend_from_slice(data);
        if self.head.len() >= BOM.len() {
            self.take_head()?;
        }
        Ok(())
    }

    /// Starts the input with the bytes held back for a BOM, less the BOM.
    fn take_head(&mut self) -> Result<()> {
        self.started = true;
        let head = std::mem::take(&mut self.head);
        self.take(head.strip_prefix(BOM).unwrap_or(&head))
    }

    /// Takes a piece of the input after any BOM.
    fn take(&mut self, data: &[u8]) -> Result<()> {
        let delimiter = self.options.delimiter;
        let mut segment = 0;
        let mut i = 0;
        while let Some(&b) = data.get(i) {
            let at_record_start =
                self.state == State::FieldStart && self.fields == 0 && self.current.is_empty();
            if at_record_start {
                if let Some(length) = self.plain_line(data.get(i..).unwrap_or_default())? {
                    i += length;
                    segment = i;
                    continue;
                }
            }
            match self.state {
                State::FieldStart | State::Unquoted | State::QuoteInQuoted => {
                    if b == delimiter {
                        self.fields += 1;
                        self.state = State::FieldStart;
                    } else if b == b'\n' {
                        self.current
                            .extend_from_slice(data.get(segment..i).unwrap_or_default());
                        segment = i + 1;
                        self.end_record(LineEnding::Lf)?;
                        self.line += 1;
                    } else if b == b'\r' {
                        self.before_cr = self.state;
                        self.state = State::CarriageReturn;
                    } else if b == b'"' {
                        self.state = match self.state {
                            State::FieldStart => State::Quoted,
                            State::QuoteInQuoted => State::Quoted,
                            _ => {
                                return Err(csv_error(
                                    self.line,
                                    "a quote inside an unquoted field (quote the whole field and double the quote)",
                                ))
                            }
                        };
                    } else if self.state == State::QuoteInQuoted {
                        return Err(csv_error(
                            self.line,
                            format!("unexpected {:?} after a closing quote", char::from(b)),
                        ));
                    } else {
                        self.state = State::Unquoted;
                    }
                }
                State::Quoted => {
                    if b == b'"' {
                        self.state = State::QuoteInQuoted;
                    } else if b == b'\n' {
                        self.line += 1;
                    }
                }
                State::CarriageReturn => {
                    if b != b'\n' {
                        return Err(csv_error(
                            self.line,
                            "a carriage return that does not end the line",
                        ));
                    }
                    self.current
                        .extend_from_slice(data.get(segment..i).unwrap_or_default());
                    self.current.pop(); // the '\r'
                    segment = i + 1;
                    // The line ended where the CR began (a blank line is still blank).
                    self.state = self.before_cr;
                    self.end_record(LineEnding::Crlf)?;
                    self.line += 1;
                }
            }
            i += 1;
            // Bytes that are neither a delimiter, a quote nor a line end change nothing: skip
            // their runs in one search instead of stepping through them.
            let rest = data.get(i..).unwrap_or_default();
            i += match self.state {
                State::Unquoted => rest
                    .iter()
                    .position(|&c| c == delimiter || c == b'"' || c == b'\n' || c == b'\r')
                    .unwrap_or(rest.len()),
                State::Quoted => memchr::memchr2(b'"', b'\n', rest).unwrap_or(rest.len()),
                _ => 0,
            };
        }
        self.current
            .extend_from_slice(data.get(segment..).unwrap_or_default());
        Ok(())
    }

    /// Takes a whole line at the start of `data` at once when it holds no quote and no stray
    /// carriage return, as most lines do: its fields are its delimiters plus one, and it is
    /// written as it is. Returns the bytes taken, or `None` to go byte by byte.
    fn plain_line(&mut self, data: &[u8]) -> Result<Option<usize>> {
        let Some(newline) = memchr::memchr(b'\n', data) else {
            return Ok(None);
        };
        let line = data.get(..newline).unwrap_or_default();
        let (record, ending) = match line.strip_suffix(b"\r") {
            Some(record) => (record, LineEnding::Crlf),
            None => (line, LineEnding::Lf),
        };
        if memchr::memchr2(b'"', b'\r', record).is_some() {
            return Ok(None);
        }
        // A count the compiler vectorises.
        let delimiter = self.options.delimiter;
        let delimiters = record.iter().filter(|&&b| b == delimiter).count();
        if !record.is_empty() {
            // A blank line holds no record.
            self.fields = delimiters;
            self.emit(record, ending)?;
        }
        self.line += 1;
        self.record_line = self.line;
        Ok(Some(newline + 1))
    }

    /// Adds a record given as fields (rows from Python); quoting is done here.
    pub fn push_row<S: AsRef<str>>(&mut self, fields: &[S]) -> Result<()> {
        if !self.started {
            self.take_head()?;
        }
        let delimiter = self.options.delimiter;
        self.current.clear();
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                self.current.push(delimiter);
            }
            let text = field.as_ref().as_bytes();
            let quote = text
                .iter()
                .any(|&b| b == delimiter || b == b'"' || b == b'\n' || b == b'\r');
            if quote {
                self.current.push(b'"');
                for &b in text {
                    if b == b'"' {
                        self.current.push(b'"');
                    }
                    self.current.push(b);
                }
                self.current.push(b'"');
            } else {
                self.current.extend_from_slice(text);
            }
        }
        self.fields = fields.len().saturating_sub(1);
        self.record_line = self.line;
        self.emit_record(LineEnding::Lf)?;
        self.line += 1;
        self.record_line = self.line;
        Ok(())
    }

    fn end_record(&mut self, ending: LineEnding) -> Result<()> {
        let blank = self.fields == 0 && self.current.is_empty() && self.state == State::FieldStart;
        self.state = State::FieldStart;
        if blank {
            // A blank line holds no record.
            self.record_line = self.line + 1;
            return Ok(());
        }
        self.emit_record(ending)?;
        self.record_line = self.line + 1;
        Ok(())
    }

    fn emit_record(&mut self, ending: LineEnding) -> Result<()> {
        let record = std::mem::take(&mut self.current);
        let outcome = self.emit(&record, ending);
        self.current = record;
        self.current.clear();
        outcome
    }

    /// Checks one record (its fields counted in `fields`) and writes it, or takes it as the
    /// header.
    fn emit(&mut self, record: &[u8], ending: LineEnding) -> Result<()> {
        let fields = self.fields + 1;
        self.fields = 0;
        if std::str::from_utf8(record).is_err() {
            return Err(csv_error(self.record_line, "the record is not valid UTF-8"));
        }
        let Some((_, header_fields)) = &self.header else {
            let names = csv::ReaderBuilder::new()
                .has_headers(false)
                .delimiter(self.options.delimiter)
                .from_reader(record)
                .records()
                .next()
                .and_then(|r| r.ok())
                .map(|r| r.iter().map(str::to_owned).collect::<Vec<_>>())
                .unwrap_or_default();
            if names.iter().any(|n| n.trim().is_empty()) {
                return Err(csv_error(
                    self.record_line,
                    "the header has an empty column name",
                ));
            }
            self.header_names = names;
            self.line_ending.get_or_insert(ending);
            self.header = Some((record.to_vec(), fields));
            return Ok(());
        };
        if fields != *header_fields {
            return Err(csv_error(
                self.record_line,
                format!("the record has {fields} fields; the header has {header_fields}"),
            ));
        }
        self.write_record(record)
    }

    fn write_record(&mut self, record: &[u8]) -> Result<()> {
        self.input_rows += 1;
        let row = self.input_rows;
        if let Some(rows) = &self.options.rows {
            if !rows
                .iter()
                .any(|&(first, last)| (first..=last).contains(&row))
            {
                return Ok(());
            }
        }
        let terminator = self.line_ending.unwrap_or(LineEnding::Lf).bytes();
        let size = (record.len() + terminator.len()) as u64;
        let header_size = self
            .header
            .as_ref()
            .map(|(h, _)| (h.len() + terminator.len()) as u64)
            .unwrap_or(0);
        if header_size + size > self.budget {
            return Err(csv_error(
                self.record_line,
                format!(
                    "the record ({size} bytes) does not fit in one upload of {} bytes",
                    self.options.max_upload_bytes
                ),
            ));
        }
        let full = self.open.as_ref().is_some_and(|open| {
            open.bytes + size > self.budget
                || self
                    .options
                    .max_records
                    .is_some_and(|max| open.records >= max)
        });
        if full {
            self.close_chunk()?;
        }
        if self.open.is_none() {
            self.open_chunk(header_size, terminator)?;
        }
        if let Some(open) = self.open.as_mut() {
            open.file
                .write_all(record)
                .and_then(|()| open.file.write_all(terminator))
                .map_err(|e| io_error("cannot write the spool file", &e))?;
            open.records += 1;
            open.bytes += size;
            match open.rows.last_mut() {
                Some((_, last)) if *last + 1 == row => *last = row,
                _ => open.rows.push((row, row)),
            }
        }
        self.records += 1;
        Ok(())
    }

    fn open_chunk(&mut self, header_size: u64, terminator: &[u8]) -> Result<()> {
        let file = match &self.options.spool_dir {
            Some(dir) => tempfile::Builder::new()
                .prefix("sfbulk-")
                .suffix(".csv")
                .tempfile_in(dir),
            None => tempfile::Builder::new()
                .prefix("sfbulk-")
                .suffix(".csv")
                .tempfile(),
        }
        .map_err(|e| io_error("cannot create a spool file", &e))?;
        let mut file = BufWriter::with_capacity(1024 * 1024, file);
        if let Some((header, _)) = &self.header {
            file.write_all(header)
                .and_then(|()| file.write_all(terminator))
                .map_err(|e| io_error("cannot write the spool file", &e))?;
        }
        self.open = Some(OpenChunk {
            file,
            records: 0,
            bytes: header_size,
            rows: Vec::new(),
        });
        Ok(())
    }

    fn close_chunk(&mut self) -> Result<()> {
        let Some(open) = self.open.take() else {
            return Ok(());
        };
        let file = open
            .file
            .into_inner()
            .map_err(|e| io_error("cannot write the spool file", e.error()))?;
        self.bytes += open.bytes;
        self.chunks.push(Chunk {
            path: Arc::new(file.into_temp_path()),
            records: open.records,
            bytes: open.bytes,
            rows: open.rows,
        });
        Ok(())
    }

    /// Ends the input: checks the last record and closes the last file.
    pub fn finish(mut self) -> Result<SplitCsv> {
        if !self.started {
            self.take_head()?;
        }
        match self.state {
            State::Quoted => {
                return Err(csv_error(
                    self.record_line,
                    "a quoted field is never closed",
                ))
            }
            State::CarriageReturn => {
                self.current.pop();
                // A lone CR after the last line ends nothing: no empty record for it.
                if !self.current.is_empty() || self.fields > 0 {
                    self.emit_record(LineEnding::Crlf)?;
                }
            }
            _ if !self.current.is_empty() || self.fields > 0 => {
                self.emit_record(self.line_ending.unwrap_or(LineEnding::Lf))?;
            }
            _ => {}
        }
        if self.header.is_none() {
            return Err(csv_error(1, "the input is empty: a header row is required"));
        }
        self.close_chunk()?;
        Ok(SplitCsv {
            header: std::mem::take(&mut self.header_names),
            delimiter: self.options.delimiter,
            line_ending: self.line_ending.unwrap_or(LineEnding::Lf),
            chunks: std::mem::take(&mut self.chunks),
            records: self.records,
            bytes: self.bytes,
        })
    }
}

/// Row ranges as an interrupted load reports them: each first row at least 1 and at most its
/// last.
fn check_row_ranges(rows: &[(u64, u64)]) -> Result<()> {
    if rows.is_empty() {
        return Err(Error::invalid_argument("rows", "names no row"));
    }
    for &(first, last) in rows {
        if first == 0 || first > last {
            return Err(Error::invalid_argument(
                "rows",
                format!("{first}-{last} is not a range of data rows (the first is 1)"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn split(data: &[u8], options: SplitOptions) -> Result<SplitCsv> {
        CsvSplitter::split_reader(data, options)
    }

    fn contents(split: &SplitCsv) -> Vec<String> {
        split
            .chunks
            .iter()
            .map(|c| std::fs::read_to_string(c.path.as_ref()).unwrap())
            .collect()
    }

    #[test]
    fn keeps_quoted_newlines_inside_their_record_and_repeats_the_header() {
        let mut data = b"Name,Description\r\n".to_vec();
        for i in 0..40 {
            data.extend_from_slice(
                format!("\"Acme {i}\",\"line one\r\nline \"\"two\"\"\"\r\n").as_bytes(),
            );
        }
        let options = SplitOptions {
            max_upload_bytes: 1_000,
            ..SplitOptions::default()
        };
        let out = split(&data, options).unwrap();
        assert_eq!(out.records, 40);
        assert_eq!(out.line_ending, LineEnding::Crlf);
        assert!(out.chunks.len() > 1);
        let mut seen = 0;
        for text in contents(&out) {
            assert!(text.starts_with("Name,Description\r\n"));
            assert!(text.len() as u64 <= (1_000 - 50) / 4 * 3);
            let mut reader = csv::Reader::from_reader(text.as_bytes());
            for record in reader.records() {
                let record = record.unwrap();
                assert_eq!(record.get(0).unwrap(), format!("Acme {seen}"));
                assert_eq!(record.get(1).unwrap(), "line one\r\nline \"two\"");
                seen += 1;
            }
        }
        assert_eq!(seen, 40);
    }

    fn split_pieces(pieces: &[&[u8]]) -> SplitCsv {
        let mut splitter = CsvSplitter::new(SplitOptions::default()).unwrap();
        for piece in pieces {
            splitter.feed(piece).unwrap();
        }
        splitter.finish().unwrap()
    }

    #[test]
    fn a_bom_split_across_pieces_or_after_an_empty_one_is_stripped() {
        let whole: &[u8] = b"\xEF\xBB\xBFName,City\nA,Paris\n";
        let cases: [&[&[u8]]; 5] = [
            &[whole],
            &[b"", whole],
            &[b"\xEF", b"\xBB\xBFName,City\nA,Paris\n"],
            &[b"\xEF\xBB", b"", b"\xBF", b"Name,City\nA,Paris\n"],
            &[b"\xEF", b"\xBB", b"\xBF", b"N", b"ame,City\nA,Paris\n"],
        ];
        for pieces in cases {
            let out = split_pieces(pieces);
            assert_eq!(out.header, vec!["Name", "City"], "{pieces:?}");
            assert_eq!(contents(&out), vec!["Name,City\nA,Paris\n".to_owned()]);
        }
        // Fewer than three bytes in all are still the input.
        let mut short = CsvSplitter::new(SplitOptions::default()).unwrap();
        short.feed(b"A").unwrap();
        assert_eq!(short.finish().unwrap().header, vec!["A"]);
    }

    #[test]
    fn a_trailing_lone_carriage_return_makes_no_row() {
        for data in [
            &b"Name,City\r\nA,Paris\r\n\r"[..],
            b"Name,City\r\nA,Paris\r",
        ] {
            let out = split(data, SplitOptions::default()).unwrap();
            assert_eq!(out.records, 1, "{data:?}");
            assert_eq!(contents(&out), vec!["Name,City\r\nA,Paris\r\n".to_owned()]);
        }
    }

    #[test]
    fn strips_a_bom_and_takes_other_delimiters_and_a_record_cap() {
        let data = "\u{feff}Name|City\nA|Paris\nB|\"Rome|Lazio\"\nC|Oslo".as_bytes();
        let options = SplitOptions {
            delimiter: b'|',
            max_records: Some(2),
            ..SplitOptions::default()
        };
        let out = split(data, options).unwrap();
        assert_eq!(out.header, vec!["Name", "City"]);
        assert_eq!(out.records, 3);
        assert_eq!(
            contents(&out),
            vec![
                "Name|City\nA|Paris\nB|\"Rome|Lazio\"\n".to_owned(),
                "Name|City\nC|Oslo\n".to_owned()
            ]
        );
    }

    #[test]
    fn names_the_line_of_malformed_input() {
        let cases: [(&[u8], u64, &str); 8] = [
            (b"A,B\n1,2\n3\n", 3, "1 fields"),
            (b"A,B\r\n1,2\r\n\r\n3,4,5\r\n", 4, "3 fields"),
            // Lines after a record with a quoted newline are counted from the input's lines.
            (b"A,B\n\"1\n2\",3\n4\n", 4, "1 fields"),
            (b"A,B\n1\r2,3\n", 2, "carriage return"),
            (b"A,B\n1,2\n\"3,4\n5,6\n", 3, "never closed"),
            (b"A,B\n1,2\n3,4\"x\n", 3, "quote inside"),
            (b"A,B\n1,\"2\"x\n", 2, "after a closing quote"),
            (b"A,B\n1,\xff\xfe\n", 2, "UTF-8"),
        ];
        for (data, line, text) in cases {
            match split(data, SplitOptions::default()) {
                Err(Error::Csv { line: l, message }) => {
                    assert_eq!(l, line, "{message}");
                    assert!(message.contains(text), "{message}");
                }
                other => panic!("expected a CSV error, got {other:?}"),
            }
        }
    }

    /// Feeds `data` in pieces of `size` bytes.
    fn split_in_pieces(data: &[u8], size: usize) -> Result<SplitCsv> {
        let mut splitter = CsvSplitter::new(SplitOptions::default())?;
        for piece in data.chunks(size) {
            splitter.feed(piece)?;
        }
        splitter.finish()
    }

    #[test]
    fn pieces_of_any_size_split_and_fail_alike() {
        // Runs of plain bytes are skipped in one search; a piece may end anywhere in them, in
        // a quoted field, between CR and LF, or right after a closing quote.
        let good = "Name,Note,City\r\nAcme,\"said \"\"hi\"\"\r\nthere, all\",Paris\r\nB,,\r\n\r\nC,\"\",Oslo"
            .as_bytes();
        let whole = contents(&split(good, SplitOptions::default()).unwrap());
        assert_eq!(whole.len(), 1);
        assert!(whole[0].ends_with("B,,\r\nC,\"\",Oslo\r\n"), "{whole:?}");
        let bad: &[u8] = b"Name,Note\nA,plain\nB,pla\"in\n";
        for size in 1..=good.len() {
            let split = split_in_pieces(good, size).unwrap();
            assert_eq!(contents(&split), whole, "pieces of {size}");
            assert_eq!(split.records, 3);
            match split_in_pieces(bad, size) {
                Err(Error::Csv { line, message }) => {
                    assert_eq!(line, 3, "{message}");
                    assert!(message.contains("quote inside"), "{message}");
                }
                other => panic!("expected a CSV error, got {other:?}"),
            }
        }
    }

    #[test]
    fn rows_are_quoted_as_needed() {
        let mut splitter = CsvSplitter::new(SplitOptions::default()).unwrap();
        splitter.push_row(&["Name", "Note"]).unwrap();
        splitter.push_row(&["A, Inc", "say \"hi\""]).unwrap();
        let out = splitter.finish().unwrap();
        assert_eq!(
            contents(&out),
            vec!["Name,Note\n\"A, Inc\",\"say \"\"hi\"\"\"\n".to_owned()]
        );
    }
}
