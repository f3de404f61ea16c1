//! Bulk API 2.0 column delimiters: the job's names for them and their bytes.

const DELIMITERS: [(&str, u8); 6] = [
    ("COMMA", b','),
    ("BACKQUOTE", b'`'),
    ("CARET", b'^'),
    ("PIPE", b'|'),
    ("SEMICOLON", b';'),
    ("TAB", b'\t'),
];

/// `COMMA` -> `,`; None for a name Bulk API 2.0 does not take.
pub fn delimiter_byte(name: &str) -> Option<u8> {
    DELIMITERS.iter().find(|(n, _)| *n == name).map(|(_, b)| *b)
}

/// `,` -> `COMMA`; None for a byte Bulk API 2.0 does not take.
pub fn delimiter_name(byte: u8) -> Option<&'static str> {
    DELIMITERS.iter().find(|(_, b)| *b == byte).map(|(n, _)| *n)
}
