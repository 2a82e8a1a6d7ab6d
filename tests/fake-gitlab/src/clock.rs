//! The fake's notion of time: a virtual clock that can run at wall-clock speed,
//! faster than wall-clock, or only when a test advances it.
//!
//! Everything time-dependent in the fake (job progression, fork imports,
//! delayed MR pipelines, timestamps in JSON) reads this clock, so a test can
//! make a "10 minute" pipeline finish in 100 ms ([`Clock::accelerated`]) or step
//! through it deterministically ([`Clock::manual`] + [`Clock::advance`]).

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A point in virtual time: milliseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// Builds a timestamp from milliseconds since the Unix epoch.
    pub fn from_millis(ms: i64) -> Self {
        Timestamp(ms)
    }

    /// Milliseconds since the Unix epoch.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// This timestamp plus `d`.
    pub fn after(self, d: Duration) -> Self {
        Timestamp(
            self.0
                .saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        )
    }

    /// Time elapsed from `earlier` to `self` (zero if `earlier` is later).
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(u64::try_from(self.0 - earlier.0).unwrap_or(0))
    }

    /// Seconds from `earlier` to `self` as a float (GitLab's `duration` fields).
    pub fn secs_since(self, earlier: Timestamp) -> f64 {
        (self.0 - earlier.0) as f64 / 1000.0
    }

    /// Unix seconds (for `RateLimit-Reset`-style headers).
    pub fn unix_secs(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// ISO-8601 in UTC with milliseconds, as GitLab renders it: `2016-11-08T14:35:32.627Z`.
    pub fn to_iso8601(self) -> String {
        let ms = self.0.rem_euclid(1000);
        let secs = self.0.div_euclid(1000);
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
            sod / 3600,
            (sod / 60) % 60,
            sod % 60
        )
    }

    /// The date part only (`YYYY-MM-DD`).
    pub fn date(self) -> String {
        let (y, m, d) = civil_from_days(self.0.div_euclid(1000).div_euclid(86_400));
        format!("{y:04}-{m:02}-{d:02}")
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_iso8601())
    }
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 → (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

struct ClockInner {
    origin: Instant,
    base_ms: i64,
    speed: f64,
    offset_ms: Mutex<i64>,
}

/// The virtual clock. Cheap to clone; clones share the same time.
#[derive(Clone)]
pub struct Clock {
    inner: Arc<ClockInner>,
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Clock")
            .field("speed", &self.inner.speed)
            .field("now", &self.now())
            .finish()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl Clock {
    fn with_speed(speed: f64) -> Self {
        let base_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(0))
            .unwrap_or(0);
        Clock {
            inner: Arc::new(ClockInner {
                origin: Instant::now(),
                base_ms,
                speed,
                offset_ms: Mutex::new(0),
            }),
        }
    }

    /// Virtual time = wall-clock time.
    pub fn system() -> Self {
        Clock::with_speed(1.0)
    }

    /// Virtual time runs `speed` times faster than wall-clock time (e.g. `60.0`
    /// makes a CI job with a 30 s duration finish in 0.5 s). Timestamps start at
    /// the current wall-clock time and drift ahead of it.
    pub fn accelerated(speed: f64) -> Self {
        Clock::with_speed(if speed.is_finite() && speed > 0.0 {
            speed
        } else {
            1.0
        })
    }

    /// Virtual time stands still until [`Clock::advance`] is called.
    pub fn manual() -> Self {
        Clock::with_speed(0.0)
    }

    /// Current virtual time.
    pub fn now(&self) -> Timestamp {
        let real = self.inner.origin.elapsed().as_secs_f64() * 1000.0 * self.inner.speed;
        let offset = *self
            .inner
            .offset_ms
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Timestamp(self.inner.base_ms + real as i64 + offset)
    }

    /// Jumps virtual time forward by `d` (works in every mode).
    pub fn advance(&self, d: Duration) {
        let mut off = self
            .inner
            .offset_ms
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *off = off.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    }

    /// Wall-clock time a virtual duration takes at this clock's speed
    /// (`None` for a manual clock, which never moves by itself).
    pub fn real_duration(&self, virtual_d: Duration) -> Option<Duration> {
        if self.inner.speed <= 0.0 {
            None
        } else {
            Some(virtual_d.div_f64(self.inner.speed))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_matches_gitlab_format() {
        assert_eq!(
            Timestamp::from_millis(1_478_615_732_627).to_iso8601(),
            "2016-11-08T14:35:32.627Z"
        );
        assert_eq!(
            Timestamp::from_millis(0).to_iso8601(),
            "1970-01-01T00:00:00.000Z"
        );
        assert_eq!(
            Timestamp::from_millis(951_782_400_000).to_iso8601(),
            "2000-02-29T00:00:00.000Z"
        );
    }

    #[test]
    fn manual_clock_only_moves_when_advanced() {
        let c = Clock::manual();
        let t0 = c.now();
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(c.now(), t0);
        c.advance(Duration::from_secs(3));
        assert_eq!(c.now().since(t0), Duration::from_secs(3));
    }
}
