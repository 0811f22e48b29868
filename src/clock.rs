//! Time, behind a trait so tests can move it: the key cache's expiry and the validity checks
//! run on a clock the tests control.

use crate::core::key_record::UnixSeconds;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub trait Clock: Send + Sync {
    /// Wall-clock time, for validity windows.
    fn unix_now(&self) -> UnixSeconds;
    /// Monotonic time, for cache expiry.
    fn instant(&self) -> Instant;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn unix_now(&self) -> UnixSeconds {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as UnixSeconds)
    }

    fn instant(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that moves only when told to.
#[derive(Debug)]
pub struct ManualClock {
    start_unix: UnixSeconds,
    start_instant: Instant,
    elapsed: Mutex<Duration>,
}

impl ManualClock {
    pub fn at(unix: UnixSeconds) -> Self {
        Self {
            start_unix: unix,
            start_instant: Instant::now(),
            elapsed: Mutex::new(Duration::ZERO),
        }
    }

    pub fn advance(&self, by: Duration) {
        *self.elapsed.lock().unwrap_or_else(|e| e.into_inner()) += by;
    }

    fn elapsed(&self) -> Duration {
        *self.elapsed.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Clock for ManualClock {
    fn unix_now(&self) -> UnixSeconds {
        self.start_unix + self.elapsed().as_secs() as UnixSeconds
    }

    fn instant(&self) -> Instant {
        self.start_instant + self.elapsed()
    }
}
