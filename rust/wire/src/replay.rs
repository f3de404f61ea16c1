//! Pub/Sub replay ids: opaque bytes on the wire, in practice an 8-byte big-endian unsigned
//! integer that grows with every event of the bus.

use std::fmt;

/// A position in an event stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReplayId(pub u64);

/// A replay id that is not 8 bytes long.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a replay id is 8 bytes, this one is {0}")]
pub struct ReplayIdError(pub usize);

impl ReplayId {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ReplayIdError> {
        let fixed: [u8; 8] = bytes.try_into().map_err(|_| ReplayIdError(bytes.len()))?;
        Ok(Self(u64::from_be_bytes(fixed)))
    }

    pub fn to_bytes(self) -> Vec<u8> {
        self.0.to_be_bytes().to_vec()
    }
}

impl fmt::Display for ReplayId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_big_endian() {
        let id = ReplayId(18_098_167);
        assert_eq!(id.to_bytes(), vec![0, 0, 0, 0, 1, 20, 39, 247]);
        assert_eq!(ReplayId::from_bytes(&id.to_bytes()), Ok(id));
        assert_eq!(ReplayId::from_bytes(&[1, 2, 3]), Err(ReplayIdError(3)));
    }
}
