//! Wire facts shared by the client and the emulator. Nothing here talks to a network.

pub mod ids;

pub use ids::{IdError, RecordId};
