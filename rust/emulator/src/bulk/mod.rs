//! Bulk API 2.0: `/jobs/ingest` and `/jobs/query`. Split as moto splits a service: models.rs
//! holds the jobs and the rules of their state machine, responses.rs the HTTP surface that reads
//! requests into them; ingest.rs and query.rs process jobs in the background, reading.rs reads
//! uploaded CSV, job.rs the types they share.

mod ingest;
mod job;
mod models;
mod query;
mod reading;
mod responses;

pub use job::BATCH_RECORDS;
pub use models::{BulkJobs, DEFAULT_UPLOAD_LIMIT};
pub use responses::dispatch;
