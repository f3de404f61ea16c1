//! Datetimes as Salesforce writes them.

/// Salesforce's datetime form: `2012-07-12T17:49:01.000+0000`.
pub fn format_datetime(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}
