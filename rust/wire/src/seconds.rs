//! Durations given in seconds by users: checked before they reach a `Duration` or a deadline.

use std::time::Duration;

/// The longest wait a setting takes: a year. Longer ones are mistakes, and past a point overflow
/// the deadlines computed from them.
pub const MAX_SECONDS: f64 = 365.0 * 24.0 * 3600.0;

/// `secs` as a Duration: finite, above 0 (or 0 when `zero_ok`) and at most a year; otherwise
/// what is wrong, naming `name`. NaN, infinities and huge values would panic in `Duration` or
/// overflow a deadline.
pub fn checked_seconds(
    name: &str,
    secs: f64,
    zero_ok: bool,
) -> std::result::Result<Duration, String> {
    let in_range =
        secs.is_finite() && secs <= MAX_SECONDS && (secs > 0.0 || (zero_ok && secs == 0.0));
    in_range
        .then(|| Duration::try_from_secs_f64(secs).ok())
        .flatten()
        .ok_or_else(|| {
            let kind = if zero_ok { "0 or more" } else { "more than 0" };
            format!("{name} must be {kind} and at most {MAX_SECONDS} seconds (a year), got {secs}")
        })
}
