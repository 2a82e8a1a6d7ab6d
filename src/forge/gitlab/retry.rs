//! The retry schedule of the GitLab client, as pure functions: exponential backoff with
//! jitter and a cap, and `Retry-After` parsing. No I/O, no clock reads (the caller
//! passes "now" and the random sample), so everything here is unit-tested exactly.

use std::time::{Duration, SystemTime};

/// The first delay of the schedule.
pub(crate) const INITIAL_BACKOFF: Duration = Duration::from_millis(250);

/// The nominal (un-jittered) delays before each retry: `initial`, doubling, capped at
/// `cap`. Infinite; the retry loop stops after `max_retries` items.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    next: Duration,
    cap: Duration,
}

impl Backoff {
    /// A schedule starting at `initial`, never above `cap`.
    pub(crate) fn new(initial: Duration, cap: Duration) -> Backoff {
        Backoff { next: initial, cap }
    }
}

impl Iterator for Backoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let delay = self.next.min(self.cap);
        self.next = self.next.saturating_mul(2);
        Some(delay)
    }
}

/// Applies ±25% jitter to `nominal`: `unit` is a sample in `[0, 1)` (`0` → −25%,
/// `0.5` → unchanged, → `1` → +25%). The result never exceeds `cap`.
pub(crate) fn jittered(nominal: Duration, unit: f64, cap: Duration) -> Duration {
    let factor = 0.75 + 0.5 * unit.clamp(0.0, 1.0);
    nominal.mul_f64(factor).min(cap)
}

/// Parses a `Retry-After` value: delta-seconds (`"1"`) or an HTTP date
/// (`"Wed, 21 Oct 2015 07:28:00 GMT"`, relative to `now`; a past date gives zero).
/// `None` when the value is neither.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<u64>().ok().map(Duration::from_secs);
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let at = SystemTime::from(date.with_timezone(&chrono::Utc));
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn schedule_doubles_from_250ms_up_to_the_cap() {
        let got: Vec<_> = Backoff::new(INITIAL_BACKOFF, Duration::from_secs(3))
            .take(6)
            .collect();
        assert_eq!(
            got,
            [ms(250), ms(500), ms(1000), ms(2000), ms(3000), ms(3000)]
        );
    }

    #[test]
    fn a_cap_below_the_initial_delay_wins() {
        let got: Vec<_> = Backoff::new(INITIAL_BACKOFF, ms(20)).take(3).collect();
        assert_eq!(got, [ms(20), ms(20), ms(20)]);
    }

    #[test]
    fn schedule_does_not_overflow() {
        let last = Backoff::new(INITIAL_BACKOFF, Duration::MAX).nth(200);
        assert_eq!(last, Some(Duration::MAX));
    }

    #[test]
    fn jitter_stays_within_25_percent_and_under_the_cap() {
        let cap = Duration::from_secs(60);
        assert_eq!(jittered(ms(1000), 0.0, cap), ms(750));
        assert_eq!(jittered(ms(1000), 0.5, cap), ms(1000));
        assert_eq!(jittered(ms(1000), 0.999_999, cap).as_millis(), 1249);
        assert_eq!(jittered(ms(1000), 7.0, cap), ms(1250));
        assert_eq!(jittered(ms(1000), 0.9, ms(1000)), ms(1000));
        for _ in 0..1000 {
            let d = jittered(ms(400), fastrand::f64(), cap);
            assert!(d >= ms(300) && d <= ms(500), "{d:?}");
        }
    }

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_470); // 07:27:50 GMT
        assert_eq!(parse_retry_after("1", now), Some(Duration::from_secs(1)));
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        let date = "Wed, 21 Oct 2015 07:28:00 GMT";
        assert_eq!(parse_retry_after(date, now), Some(Duration::from_secs(10)));
        let past = "Wed, 21 Oct 2015 07:00:00 GMT";
        assert_eq!(parse_retry_after(past, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("", now), None);
    }
}
