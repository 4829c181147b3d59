//! Tests of the bulk preload: the generated day's times and the progress display.

use super::*;

/// Times only grow with `i`, stay in the day, and each hour gets its weight's share.
#[test]
fn the_day_hands_out_times_in_order_with_the_hourly_profile() {
    let start = OffsetDateTime::from_unix_timestamp(1_900_000_800).unwrap();
    let n = 10_000;
    let day = Day::new(start, n);
    let mut rng = Rng(99);
    let mut last = start;
    let mut per_hour = [0u32; 24];
    for i in 0..n {
        let t = day.at(i, f64::from(rng.below(1_000_000)) / 1e6);
        assert!(t >= last && t < start + Duration::hours(24), "{i}: {t}");
        per_hour[((t - start).whole_hours()) as usize] += 1;
        last = t;
    }
    for (k, got) in per_hour.iter().enumerate() {
        let want = f64::from(n) * day.weights[k] / day.total;
        assert!(
            (f64::from(*got) - want).abs() <= 1.0 + want * 0.01,
            "hour {k}: {got} vs {want:.1}"
        );
    }
}

/// Away from a terminal the progress is a line per tenth, not one per batch; on one,
/// every batch redraws it.
#[test]
fn progress_away_from_a_terminal_shows_each_tenth_once() {
    let mut log = Progress {
        terminal: false,
        tenths_shown: 0,
    };
    let shown: Vec<u32> = (1..=400)
        .map(|b| b * 2_500)
        .filter(|&d| log.due(d, 1_000_000))
        .collect();
    assert_eq!(shown, (1..=10).map(|t| t * 100_000).collect::<Vec<_>>());
    // A total that is not a multiple of the batch still ends on a line.
    let mut log = Progress {
        terminal: false,
        tenths_shown: 0,
    };
    let shown = [3_000, 6_000, 7_000].iter().filter(|&&d| log.due(d, 7_000)).count();
    assert_eq!(shown, 3);
    let mut tty = Progress {
        terminal: true,
        tenths_shown: 0,
    };
    assert!((1..=5).all(|b| tty.due(b, 1_000_000)));
}
