//! Salesforce record ids: 15-character case-sensitive and 18-character case-insensitive forms.
//!
//! The 18-character form appends three checksum characters, one per 5-character chunk of the
//! 15-character id: bit `i` of a chunk's value is set when its `i`-th character is an uppercase
//! letter, and the value indexes `A..Z0..5`.

use std::fmt;

const CHECKSUM_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

/// Why a string is not a record id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("a record id has 15 or 18 characters, got {0}")]
    Length(usize),
    #[error("a record id holds only ASCII letters and digits")]
    Charset,
    #[error("the checksum suffix of an 18-character id does not match its first 15 characters")]
    Checksum,
}

/// An 18-character record id, validated.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId(String);

impl RecordId {
    /// Parses a 15- or 18-character id; the 15-character form is extended with its checksum.
    /// An 18-character id must carry the right checksum (its case-insensitive suffix).
    pub fn parse(text: &str) -> Result<Self, IdError> {
        if !text.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(IdError::Charset);
        }
        match text.len() {
            15 => Ok(Self(format!("{text}{}", checksum(text.as_bytes())))),
            18 => {
                let (base, suffix) = text.split_at(15);
                if checksum(base.as_bytes()).eq_ignore_ascii_case(suffix) {
                    Ok(Self(format!("{base}{}", suffix.to_ascii_uppercase())))
                } else {
                    Err(IdError::Checksum)
                }
            }
            n => Err(IdError::Length(n)),
        }
    }

    /// Builds an id from a 3-character key prefix and a serial number, as the emulator mints them.
    /// `pod` is two characters naming the instance (e.g. "5e"), like real ids carry.
    pub fn mint(key_prefix: &str, pod: &str, serial: u64) -> Result<Self, IdError> {
        // Salesforce writes the serial in base 62; 10 characters cover 62^10, far beyond any org.
        let mut digits = [b'0'; 10];
        let mut rest = serial;
        for slot in digits.iter_mut().rev() {
            *slot = BASE62[(rest % 62) as usize];
            rest /= 62;
        }
        let body = std::str::from_utf8(&digits).map_err(|_| IdError::Charset)?;
        // Built in place rather than through `parse`: a bulk job mints an id per row.
        let mut id = String::with_capacity(18);
        id.push_str(key_prefix);
        id.push_str(pod);
        id.push_str(body);
        if id.len() != 15 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Self::parse(&id);
        }
        let mut sum = [0u8; 3];
        for (slot, c) in sum.iter_mut().zip(checksum_chars(id.as_bytes())) {
            *slot = c;
        }
        id.extend(sum.map(char::from));
        Ok(Self(id))
    }

    /// The id as an owned string, without copying it.
    pub fn into_string(self) -> String {
        self.0
    }

    /// The three-character key prefix naming the object type.
    pub fn key_prefix(&self) -> &str {
        &self.0[..3]
    }

    /// The 15-character, case-sensitive form.
    pub fn short(&self) -> &str {
        &self.0[..15]
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The three checksum characters of a 15-character id.
pub fn checksum(id15: &[u8]) -> String {
    checksum_chars(id15).map(char::from).collect()
}

fn checksum_chars(id15: &[u8]) -> impl Iterator<Item = u8> + '_ {
    id15.chunks(5).map(|chunk| {
        let bits = chunk
            .iter()
            .enumerate()
            .filter(|(_, c)| c.is_ascii_uppercase())
            .fold(0usize, |acc, (i, _)| acc | (1 << i));
        CHECKSUM_ALPHABET[bits & 31]
    })
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for RecordId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_ids_extend_to_their_documented_18_character_form() {
        // Pairs from Salesforce's documentation and examples.
        let id = RecordId::parse("001D000000IqhSL").unwrap();
        assert_eq!(id.as_str(), "001D000000IqhSLIAZ");
        assert_eq!(
            RecordId::parse("001D000000K0fXO").unwrap().as_str(),
            "001D000000K0fXOIAZ"
        );
        assert_eq!(
            RecordId::parse("a00D0000008oWP8").unwrap().as_str(),
            "a00D0000008oWP8IAM"
        );
    }

    #[test]
    fn eighteen_character_ids_are_checked_case_insensitively() {
        assert!(RecordId::parse("001D000000IqhSLiaz").is_ok());
        assert_eq!(
            RecordId::parse("001D000000IqhSLAAA"),
            Err(IdError::Checksum)
        );
        assert_eq!(RecordId::parse("001D000000IqhS"), Err(IdError::Length(14)));
        assert_eq!(RecordId::parse("001D000000Iqh-LIAZ"), Err(IdError::Charset));
    }

    #[test]
    fn minted_ids_are_valid_and_distinct() {
        let a = RecordId::mint("001", "5e", 1).unwrap();
        let b = RecordId::mint("001", "5e", 2).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.key_prefix(), "001");
        assert_eq!(RecordId::parse(a.short()).unwrap(), a);
        let big = RecordId::mint("a0B", "5e", 62u64.pow(9) * 61 + 3).unwrap();
        assert_eq!(big.as_str(), "a0B5ez000000003EAA");
        assert_eq!(RecordId::parse("a0B5ez000000003").unwrap(), big);
        assert_eq!(big.clone().into_string(), big.as_str());
        assert_eq!(RecordId::mint("001", "5", 1), Err(IdError::Length(14)));
        assert_eq!(RecordId::mint("00-", "5e", 1), Err(IdError::Charset));
    }
}
