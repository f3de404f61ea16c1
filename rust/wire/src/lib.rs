//! Wire facts shared by the client and the emulator. Nothing here talks to a network.

pub mod bitmap;
pub mod delimiters;
pub mod ids;
pub mod pubsub;
pub mod replay;

/// Formats 128 random bits as a version 4 UUID (`xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`).
pub fn uuid_v4(random: u128) -> String {
    let v = random & !(0xf << 76) & !(0x3 << 62) | (0x4 << 76) | (0x2 << 62);
    let h = format!("{v:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

pub use bitmap::{BitmapError, FieldLayout};
pub use delimiters::{delimiter_byte, delimiter_name};
pub use ids::{IdError, RecordId};
pub use replay::{ReplayId, ReplayIdError};

#[cfg(test)]
mod tests {
    #[test]
    fn uuids_carry_version_and_variant() {
        let u = super::uuid_v4(u128::MAX);
        assert_eq!(u, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        assert_eq!(super::uuid_v4(0), "00000000-0000-4000-8000-000000000000");
    }
}
