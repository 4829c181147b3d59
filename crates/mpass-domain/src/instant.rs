//! Instants as the stores keep them: unix milliseconds.

use time::OffsetDateTime;

/// Unix milliseconds of `t`, rounded down (towards the past, before 1970 too).
pub fn unix_ms(t: OffsetDateTime) -> i64 {
    t.unix_timestamp() * 1000 + i64::from(t.millisecond())
}

/// The instant `ms` unix milliseconds name ([`unix_ms`]'s inverse); the epoch if out of
/// `time`'s range.
pub fn from_unix_ms(ms: i64) -> OffsetDateTime {
    let nanos = (ms.rem_euclid(1000) * 1_000_000) as u32;
    OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .and_then(|t| t.replace_nanosecond(nanos))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A wait of `wait_ms` milliseconds as a `Retry-After`: whole seconds, rounded up, at
/// least 1 (a client told to wait 0 s asks again at once).
pub fn retry_after_secs(wait_ms: i64) -> i64 {
    ((wait_ms + 999) / 1000).max(1)
}

#[cfg(test)]
mod tests {
    use time::{Duration, OffsetDateTime};

    use super::*;

    #[test]
    fn waits_are_whole_seconds_rounded_up_and_never_zero() {
        assert_eq!(retry_after_secs(1), 1);
        assert_eq!(retry_after_secs(1_000), 1);
        assert_eq!(retry_after_secs(1_001), 2);
        assert_eq!(retry_after_secs(0), 1);
        assert_eq!(retry_after_secs(-5_000), 1);
    }

    /// Unix milliseconds round trip to the millisecond, rounding down on both sides of 1970,
    /// and agree with `time`'s own count where it is exact.
    #[test]
    fn unix_milliseconds_round_trip() {
        for (t, ms) in [
            (OffsetDateTime::UNIX_EPOCH, 0),
            (
                OffsetDateTime::UNIX_EPOCH + Duration::milliseconds(1_800_000_000_123),
                1_800_000_000_123,
            ),
            (OffsetDateTime::UNIX_EPOCH + Duration::nanoseconds(1_999_999), 1),
            (OffsetDateTime::UNIX_EPOCH - Duration::milliseconds(1), -1),
            (OffsetDateTime::UNIX_EPOCH - Duration::nanoseconds(1), -1),
            (
                OffsetDateTime::UNIX_EPOCH - Duration::milliseconds(86_400_001),
                -86_400_001,
            ),
        ] {
            assert_eq!(unix_ms(t), ms, "{t}");
            assert_eq!(
                from_unix_ms(ms),
                OffsetDateTime::UNIX_EPOCH + Duration::milliseconds(ms)
            );
        }
        let offset = time::UtcOffset::from_hms(6, 0, 0).unwrap();
        let t = OffsetDateTime::from_unix_timestamp(1_800_000_000)
            .unwrap()
            .to_offset(offset);
        assert_eq!(unix_ms(t), 1_800_000_000_000);
        assert_eq!(from_unix_ms(i64::MAX), OffsetDateTime::UNIX_EPOCH);
    }
}
