//! `GET /sobjects/{type}/updated` and `/deleted`: the ids of records changed or deleted in a
//! window (`start` to `end`, ISO 8601), as replication tools poll them. A record counts by its
//! `SystemModstamp`; a deleted one by when it was deleted.

use crate::http_kit::failure::ApiFailure;
use crate::model::datetime::format_datetime;
use crate::model::store::Store;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::HashMap;

fn instant(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn window(params: &HashMap<String, String>) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiFailure> {
    let read = |name: &str| {
        let text = params.get(name).ok_or_else(|| {
            ApiFailure::bad_request(
                "MALFORMED_QUERY",
                format!("Missing required parameter: {name}"),
            )
        })?;
        instant(text).ok_or_else(|| {
            ApiFailure::bad_request(
                "INVALID_REPLICATION_DATE",
                format!("{name} is not a valid dateTime: {text}"),
            )
        })
    };
    let (start, end) = (read("start")?, read("end")?);
    if start >= end {
        return Err(ApiFailure::bad_request(
            "INVALID_REPLICATION_DATE",
            "start date must be before end date",
        ));
    }
    Ok((start, end))
}

/// Answers `updated` (`deleted` false) or `deleted` for `object` over the window in `params`.
pub fn changed(
    store: &Store,
    object: &str,
    deleted: bool,
    params: &HashMap<String, String>,
) -> Result<Value, ApiFailure> {
    let (start, end) = window(params)?;
    let records = store.object(object)?;
    let mut found: Vec<(DateTime<Utc>, String)> = records
        .records
        .iter()
        .filter(|(_, r)| r.deleted == deleted)
        .filter_map(|(id, r)| {
            let stamp = r.fields.get("SystemModstamp")?.as_str().and_then(instant)?;
            (stamp >= start && stamp < end).then(|| (stamp, id.as_str().to_owned()))
        })
        .collect();
    found.sort();
    let latest = format_datetime(end.min(Utc::now()));
    Ok(if deleted {
        json!({
            "deletedRecords": found
                .iter()
                .map(|(at, id)| json!({"id": id, "deletedDate": format_datetime(*at)}))
                .collect::<Vec<_>>(),
            "earliestDateAvailable": format_datetime(start),
            "latestDateCovered": latest,
        })
    } else {
        json!({
            "ids": found.into_iter().map(|(_, id)| id).collect::<Vec<_>>(),
            "latestDateCovered": latest,
        })
    })
}
