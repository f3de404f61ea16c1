//! Seconds from Python as a `Duration`, checked before they reach a timer: NaN, infinities,
//! negatives and values past a year are refused with a message instead of a panic (a float
//! too big for `Duration`, or a deadline past what `Instant` can hold).

use std::time::Duration;

/// The longest wait any setting takes.
pub const MAX_SECONDS: f64 = 365.0 * 24.0 * 3600.0;

/// `secs` as a Duration: positive (or zero, when `zero_ok`) and at most a year; otherwise what
/// is wrong, naming `name`.
pub fn checked(name: &str, secs: f64, zero_ok: bool) -> Result<Duration, String> {
    let in_range =
        secs.is_finite() && secs <= MAX_SECONDS && (secs > 0.0 || (zero_ok && secs == 0.0));
    let duration = in_range
        .then(|| Duration::try_from_secs_f64(secs).ok())
        .flatten();
    duration.ok_or_else(|| {
        let kind = if zero_ok { "0 or more" } else { "more than 0" };
        format!("{name} must be {kind} and at most {MAX_SECONDS} seconds (a year), got {secs}")
    })
}
