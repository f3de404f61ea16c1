//! What a committed transaction changed and the platform events it published: the store records
//! them, the event bus turns them into change events and deliveries.

use crate::model::record::Fields;
use std::sync::Arc;

/// What one committed transaction changed, for change events.
#[derive(Debug, Clone)]
pub struct RecordChange {
    pub object: Arc<str>,
    pub id: String,
    pub change_type: &'static str,
    /// Fields the event body carries, by stored name (for CREATE: read from the stored record
    /// at commit).
    pub values: Fields,
    pub changed: Vec<String>,
    pub nulled: Vec<String>,
    /// A CREATE whose event is encoded on delivery from the record as created (a bulk insert's:
    /// `StoredRecord` keeps those values for it).
    pub on_delivery: bool,
}

/// A platform event published over REST, waiting for its transaction to commit.
#[derive(Debug, Clone)]
pub struct PendingEvent {
    pub topic: String,
    pub uuid: String,
    pub payload: Vec<u8>,
    pub schema_id: String,
}
