//! The org's model: the record store, the schema, records and their field values, ids, datetimes,
//! and the change records events are made from. It knows nothing of HTTP beyond the failures it
//! answers with (from the HTTP kit below it) and nothing of the features above it.

pub mod changes;
pub(crate) mod compound;
pub mod creation;
pub mod datetime;
pub mod record;
pub mod schema;
pub mod store;
pub mod values;
