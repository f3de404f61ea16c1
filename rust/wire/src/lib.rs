//! Wire facts shared by the client and the emulator. Nothing here talks to a network.

pub mod bitmap;
pub mod delimiters;
pub mod ids;
pub mod pubsub;
pub mod replay;
pub mod seconds;
pub mod tree;

/// Formats 128 random bits as a version 4 UUID (`xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`).
pub fn uuid_v4(random: u128) -> String {
    let v = random & !(0xf << 76) & !(0x3 << 62) | (0x4 << 76) | (0x2 << 62);
    // Written digit by digit: the emulator makes one per change event, a million for a bulk job.
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(36);
    for i in 0..32 {
        if matches!(i, 8 | 12 | 16 | 20) {
            out.push('-');
        }
        let nibble = (v >> (124 - 4 * i)) & 0xf;
        out.push(char::from(HEX[nibble as usize]));
    }
    out
}

pub use bitmap::{BitmapError, FieldLayout};
pub use delimiters::{delimiter_byte, delimiter_name};
pub use ids::{IdError, RecordId};
pub use replay::{ReplayId, ReplayIdError};
pub use tree::tree_size;

#[cfg(test)]
mod tests {
    #[test]
    fn uuids_carry_version_and_variant() {
        let u = super::uuid_v4(u128::MAX);
        assert_eq!(u, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        assert_eq!(super::uuid_v4(0), "00000000-0000-4000-8000-000000000000");
        assert_eq!(
            super::uuid_v4(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
            "01234567-89ab-4def-8123-456789abcdef"
        );
    }
}
