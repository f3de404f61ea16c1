//! Wire facts shared by the client and the emulator. Nothing here talks to a network.

pub mod delimiters;
pub mod ids;

pub use delimiters::{delimiter_byte, delimiter_name};
pub use ids::{IdError, RecordId};
