//! Curfew hours as a daily local-time window, and whether a trip touches one.

use time::{Duration, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// A daily window `[start, end)` of local wall-clock time at a fixed UTC offset.
///
/// `end` before `start` means the window runs past midnight (22:00–05:00). A fixed
/// offset is enough for Bangladesh, which has had no daylight saving time since 2009.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CurfewHours {
    pub(crate) start: Time,
    pub(crate) end: Time,
    pub(crate) offset: UtcOffset,
}

impl CurfewHours {
    /// How long one night's curfew lasts; `start != end` is checked when the policy loads.
    fn length(&self) -> Duration {
        let d = self.end - self.start;
        if d <= Duration::ZERO { d + Duration::DAY } else { d }
    }

    /// Whether the half-open trip `[from, to)` shares any instant with a curfew window.
    ///
    /// Every window that could touch the trip starts on a local date between the day
    /// before the trip starts and the day it ends, so those are the ones checked; that
    /// covers trips across midnight and trips that reach into the next night.
    pub(crate) fn overlaps(&self, from: OffsetDateTime, to: OffsetDateTime) -> bool {
        if to <= from {
            return false;
        }
        let (Some(from_local), Some(to_local)) =
            (from.checked_to_offset(self.offset), to.checked_to_offset(self.offset))
        else {
            return false;
        };
        let length = self.length();
        let mut day = from_local.date().previous_day().unwrap_or(from_local.date());
        let last = to_local.date();
        while day <= last {
            let window_start = PrimitiveDateTime::new(day, self.start).assume_offset(self.offset);
            let window_end = window_start.checked_add(length);
            if window_start < to && window_end.is_some_and(|end| from < end) {
                return true;
            }
            match day.next_day() {
                Some(next) => day = next,
                None => break,
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{datetime, offset, time};

    fn dhaka_night() -> CurfewHours {
        CurfewHours {
            start: time!(22:00),
            end: time!(05:00),
            offset: offset!(+06:00),
        }
    }

    fn trip(start: OffsetDateTime, hours: i64) -> bool {
        dhaka_night().overlaps(start, start + Duration::hours(hours))
    }

    #[test]
    fn boundaries_are_half_open() {
        assert!(!trip(datetime!(2026-11-21 20:00 +06:00), 2));
        assert!(trip(datetime!(2026-11-21 21:00 +06:00), 2));
        assert!(trip(datetime!(2026-11-21 04:30 +06:00), 1));
        assert!(!trip(datetime!(2026-11-21 05:00 +06:00), 3));
        assert!(!trip(datetime!(2026-11-21 05:00 +06:00), 17));
        assert!(trip(datetime!(2026-11-21 05:00 +06:00), 18));
    }

    #[test]
    fn long_trip_reaching_the_next_night() {
        assert!(trip(datetime!(2026-11-21 12:00 +06:00), 12));
        assert!(!trip(datetime!(2026-11-21 10:00 +06:00), 12));
    }

    #[test]
    fn trip_given_in_another_offset() {
        // 16:30 UTC is 22:30 in Dhaka.
        assert!(trip(datetime!(2026-11-21 16:30 UTC), 1));
        // 23:00 UTC is 05:00 next morning in Dhaka.
        assert!(!trip(datetime!(2026-11-21 23:00 UTC), 3));
    }

    #[test]
    fn same_day_window() {
        let c = CurfewHours {
            start: time!(01:00),
            end: time!(04:00),
            offset: offset!(UTC),
        };
        let at = datetime!(2026-11-21 00:00 UTC);
        assert!(!c.overlaps(at, at + Duration::hours(1)));
        assert!(c.overlaps(at, at + Duration::minutes(61)));
        assert!(!c.overlaps(at + Duration::hours(4), at + Duration::hours(12)));
    }
}
