//! A keyed token-bucket rate limiter in memory, pruned so its state cannot grow without bound.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// Buckets idle this long are dropped when the map is pruned.
const IDLE_SECS: f64 = 120.0;
/// Prune when the map grows past this many keys.
const PRUNE_AT: usize = 100_000;

/// `capacity` requests, refilled evenly over a minute, per key (a client address by
/// default; officers' user ids for verification).
pub struct RateLimiter<K = IpAddr> {
    capacity: f64,
    per_sec: f64,
    buckets: Mutex<HashMap<K, (f64, Instant)>>,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    pub fn per_minute(n: u32) -> Self {
        let capacity = f64::from(n.max(1));
        RateLimiter {
            capacity,
            per_sec: capacity / 60.0,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`; `Err(seconds to wait)` when empty.
    pub fn check(&self, key: K) -> Result<(), i64> {
        let now = Instant::now();
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= PRUNE_AT {
            map.retain(|_, (_, at)| now.duration_since(*at).as_secs_f64() < IDLE_SECS);
        }
        let (tokens, at) = map.entry(key).or_insert((self.capacity, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.per_sec).min(self.capacity);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / self.per_sec).ceil() as i64)
        }
    }

    /// Whether `key` has no token left, without taking one: `Err(seconds to wait)` when
    /// empty. For limits that count only failures (checked first, taken on failure).
    pub fn peek(&self, key: &K) -> Result<(), i64> {
        let map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let Some((tokens, at)) = map.get(key) else {
            return Ok(());
        };
        let tokens = (tokens + at.elapsed().as_secs_f64() * self.per_sec).min(self.capacity);
        if tokens >= 1.0 {
            Ok(())
        } else {
            Err(((1.0 - tokens) / self.per_sec).ceil() as i64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_key() {
        let rl: RateLimiter = RateLimiter::per_minute(3);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(rl.check(a).is_ok() && rl.check(a).is_ok() && rl.check(a).is_ok());
        let wait = rl.check(a).unwrap_err();
        assert!((1..=20).contains(&wait), "{wait}");
        assert!(rl.check(b).is_ok());
        assert!(rl.peek(&a).is_err() && rl.peek(&b).is_ok());
        let phones: RateLimiter<String> = RateLimiter::per_minute(1);
        assert!(phones.peek(&"p".to_string()).is_ok());
        assert!(phones.check("p".to_string()).is_ok());
        assert!(phones.peek(&"p".to_string()).is_err());
    }
}
