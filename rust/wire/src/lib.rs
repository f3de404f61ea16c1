//! Wire facts shared by the client and the emulator. Nothing here talks to a network.

pub mod bitmap;
pub mod delimiters;
pub mod ids;
pub mod pubsub;
pub mod replay;

pub use bitmap::{BitmapError, FieldLayout};
pub use delimiters::{delimiter_byte, delimiter_name};
pub use ids::{IdError, RecordId};
pub use replay::{ReplayId, ReplayIdError};
