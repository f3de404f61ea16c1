//! `/limits`: the org's limits, daily API requests counted as they are used.

use crate::org::Org;
use serde_json::{json, Value};

/// The limits as `/limits` answers them.
pub fn limits(org: &Org) -> Value {
    let max = org.api_limit;
    let remaining = max.saturating_sub(org.api_used());
    json!({
        "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
        "DailyApiRequests": {"Max": max, "Remaining": remaining},
        "DailyAsyncApexExecutions": {"Max": 250000, "Remaining": 250000},
        "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
        "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
        "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
        "DailyDeliveredPlatformEvents": {"Max": 10000, "Remaining": 10000},
        "DataStorageMB": {"Max": 1024, "Remaining": 1024},
        "FileStorageMB": {"Max": 1024, "Remaining": 1024},
        "HourlyPublishedPlatformEvents": {"Max": 50000, "Remaining": 50000},
        "SingleEmail": {"Max": 5000, "Remaining": 5000},
    })
}
