//! Circuit breakers, one per service family of a client (REST, Bulk, Pub/Sub). After
//! `failures` outages in a row (no connection, a timeout, a broken answer, a 5xx), calls of that
//! family fail at once with [`Error::CircuitOpen`] for `open_for`, without touching the
//! network, so an integration stops hammering an org that is down and its callers learn it in
//! a millisecond instead of after every retry. Then one call is let through (half-open): its
//! success closes the circuit, another outage opens it again. Caller errors (4xx) mean the
//! service answered, so they close it too.

use crate::error::{Error, Result};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// When a breaker opens and for how long.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerSettings {
    /// Outages in a row that open the circuit; 0 turns the breakers off.
    pub failures: u32,
    /// How long an open circuit refuses calls before letting one through.
    pub open_for: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        Self {
            failures: 5,
            open_for: Duration::from_secs(30),
        }
    }
}

/// The services a client's breakers watch apart: one being down says nothing of the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Rest,
    Bulk,
    PubSub,
}

impl Family {
    pub const ALL: [Family; 3] = [Family::Rest, Family::Bulk, Family::PubSub];

    pub fn name(self) -> &'static str {
        match self {
            Family::Rest => "rest",
            Family::Bulk => "bulk",
            Family::PubSub => "pubsub",
        }
    }

    /// The family of a REST-style URL: Bulk API 2.0 lives under `/jobs/`.
    pub fn of_path(path: &str) -> Self {
        if path.contains("/jobs/") {
            Family::Bulk
        } else {
            Family::Rest
        }
    }
}

/// Where a breaker stands.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BreakerState {
    /// Calls go through; `failures` outages in a row so far.
    Closed { failures: u32 },
    /// Calls fail at once for `retry_in` more.
    Open { retry_in: Duration },
    /// One call is being let through to see whether the service is back.
    HalfOpen,
}

#[derive(Debug, Default)]
struct Breaker {
    failures: u32,
    opened_at: Option<Instant>,
    /// When the call let through while half-open left; another is let through if it never
    /// reports (its caller gave up) within `open_for`.
    probe_since: Option<Instant>,
}

/// The breakers of one client.
#[derive(Debug)]
pub struct Breakers {
    settings: BreakerSettings,
    rest: Mutex<Breaker>,
    bulk: Mutex<Breaker>,
    pubsub: Mutex<Breaker>,
}

impl Breakers {
    pub fn new(settings: BreakerSettings) -> Self {
        Self {
            settings,
            rest: Mutex::default(),
            bulk: Mutex::default(),
            pubsub: Mutex::default(),
        }
    }

    fn breaker(&self, family: Family) -> std::sync::MutexGuard<'_, Breaker> {
        let slot = match family {
            Family::Rest => &self.rest,
            Family::Bulk => &self.bulk,
            Family::PubSub => &self.pubsub,
        };
        slot.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Lets a call of `family` through, or refuses it while the circuit is open.
    pub fn admit(&self, family: Family) -> Result<()> {
        if self.settings.failures == 0 {
            return Ok(());
        }
        let open_for = self.settings.open_for;
        let mut b = self.breaker(family);
        let Some(opened_at) = b.opened_at else {
            return Ok(());
        };
        let elapsed = opened_at.elapsed();
        if elapsed < open_for {
            return Err(open_error(family, open_for - elapsed));
        }
        match b.probe_since {
            Some(since) if since.elapsed() < open_for => {
                Err(open_error(family, open_for - since.elapsed()))
            }
            _ => {
                b.probe_since = Some(Instant::now());
                Ok(())
            }
        }
    }

    /// Records how a call of `family` ended: `outage` when the service did not answer usably.
    pub fn record(&self, family: Family, outage: bool) {
        if self.settings.failures == 0 {
            return;
        }
        let mut b = self.breaker(family);
        if !outage {
            *b = Breaker::default();
            return;
        }
        b.failures = b.failures.saturating_add(1);
        let probe_failed = b.probe_since.is_some();
        if probe_failed || b.failures >= self.settings.failures {
            b.opened_at = Some(Instant::now());
            b.probe_since = None;
        }
    }

    pub fn state(&self, family: Family) -> BreakerState {
        let b = self.breaker(family);
        match (b.opened_at, b.probe_since) {
            (None, _) => BreakerState::Closed {
                failures: b.failures,
            },
            (Some(_), Some(_)) => BreakerState::HalfOpen,
            (Some(at), None) => match self.settings.open_for.checked_sub(at.elapsed()) {
                Some(retry_in) if !retry_in.is_zero() => BreakerState::Open { retry_in },
                _ => BreakerState::HalfOpen,
            },
        }
    }
}

fn open_error(family: Family, retry_in: Duration) -> Error {
    Error::CircuitOpen {
        family: family.name().to_owned(),
        retry_in,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn breakers(failures: u32, open_ms: u64) -> Breakers {
        Breakers::new(BreakerSettings {
            failures,
            open_for: Duration::from_millis(open_ms),
        })
    }

    #[test]
    fn opens_after_outages_in_a_row_and_lets_one_call_through_later() {
        let b = breakers(3, 50);
        for _ in 0..2 {
            b.admit(Family::Rest).unwrap();
            b.record(Family::Rest, true);
        }
        b.record(Family::Rest, false); // an answer resets the count
        for _ in 0..3 {
            b.admit(Family::Rest).unwrap();
            b.record(Family::Rest, true);
        }
        assert!(matches!(b.state(Family::Rest), BreakerState::Open { .. }));
        assert!(matches!(
            b.admit(Family::Rest),
            Err(Error::CircuitOpen { .. })
        ));
        b.admit(Family::Bulk).unwrap(); // another family is not affected
        std::thread::sleep(Duration::from_millis(60));
        b.admit(Family::Rest).unwrap(); // the probe
        assert!(b.admit(Family::Rest).is_err()); // only one at a time
        b.record(Family::Rest, true); // the probe failed: open again at once
        assert!(b.admit(Family::Rest).is_err());
        std::thread::sleep(Duration::from_millis(60));
        b.admit(Family::Rest).unwrap();
        b.record(Family::Rest, false);
        assert_eq!(b.state(Family::Rest), BreakerState::Closed { failures: 0 });
        b.admit(Family::Rest).unwrap();
    }

    #[test]
    fn zero_failures_turns_them_off() {
        let b = breakers(0, 50);
        for _ in 0..10 {
            b.record(Family::Rest, true);
            b.admit(Family::Rest).unwrap();
        }
    }
}
