//! A keyed token-bucket rate limiter in memory, pruned so its state cannot grow without bound.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::Instant;

/// Buckets idle this long are dropped when the map is pruned.
const IDLE_SECS: f64 = 120.0;
/// Prune when the map grows past this many keys, or past twice the keys the last pruning
/// kept, whichever is more: so that keys all active (a launch day's citizens asking for
/// login codes from more than this many addresses within two minutes) cost a pruning now
/// and then, not a walk over every key at every request.
const PRUNE_AT: usize = 100_000;

/// The address a client counts as, for every limit by address (connections, login codes,
/// failed legacy logins): an IPv4 address (also when mapped into IPv6), or an IPv6
/// address's /64, the least a subscriber is given, so that one subscriber cannot take a
/// fresh address for every request.
pub(crate) fn counted(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(v6.to_bits() & !((1u128 << 64) - 1))),
        },
    }
}

/// `capacity` requests, refilled evenly over a minute, per key (a client address by
/// default; officers' user ids for verification, phone numbers for the legacy logins).
/// In memory, so per node: limits that must hold across nodes (a citizen's submissions)
/// are counted in the store.
pub struct RateLimiter<K = IpAddr> {
    capacity: f64,
    per_sec: f64,
    buckets: Mutex<Buckets<K>>,
}

struct Buckets<K> {
    by_key: HashMap<K, (f64, Instant)>,
    prune_at: usize,
    #[cfg(test)]
    prunings: usize,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// `n` tokens, refilled evenly over a minute.
    pub fn per_minute(n: u32) -> Self {
        let capacity = f64::from(n.max(1));
        RateLimiter {
            capacity,
            per_sec: capacity / 60.0,
            buckets: Mutex::new(Buckets {
                by_key: HashMap::new(),
                prune_at: PRUNE_AT,
                #[cfg(test)]
                prunings: 0,
            }),
        }
    }

    /// Takes one token for `key`; `Err(seconds to wait)` when empty.
    pub fn check(&self, key: K) -> Result<(), i64> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.by_key.len() >= buckets.prune_at {
            buckets
                .by_key
                .retain(|_, (_, at)| now.duration_since(*at).as_secs_f64() < IDLE_SECS);
            buckets.prune_at = PRUNE_AT.max(2 * buckets.by_key.len());
            #[cfg(test)]
            {
                buckets.prunings += 1;
            }
        }
        let (tokens, at) = buckets.by_key.entry(key).or_insert((self.capacity, now));
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
        let buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let Some((tokens, at)) = buckets.by_key.get(key) else {
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
    fn addresses_count_by_ipv4_address_or_ipv6_slash_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(counted(a), counted(b));
        assert_ne!(counted(a), counted(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(counted(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }

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

    /// More keys active at once than the pruning threshold: the map is walked once, then
    /// not again until it has doubled (before, every request walked all of them); idle
    /// keys are still dropped at the next pruning.
    #[test]
    fn keys_all_active_are_pruned_now_and_then_not_at_every_request() {
        let rl: RateLimiter<u32> = RateLimiter::per_minute(5);
        for k in 0..(PRUNE_AT as u32 + 10_000) {
            assert!(rl.check(k).is_ok());
        }
        let b = rl.buckets.lock().unwrap();
        assert_eq!(b.prunings, 1);
        assert_eq!(b.by_key.len(), PRUNE_AT + 10_000);
        assert_eq!(b.prune_at, 2 * PRUNE_AT);
        drop(b);
        // Idle keys go at the next pruning, and the threshold comes back down.
        let Some(long_ago) = Instant::now().checked_sub(std::time::Duration::from_secs(IDLE_SECS as u64 + 1)) else {
            return; // a machine up for less than two minutes has no instant that long ago
        };
        let mut b = rl.buckets.lock().unwrap();
        b.by_key.values_mut().for_each(|(_, at)| *at = long_ago);
        b.prune_at = b.by_key.len();
        drop(b);
        assert!(rl.check(u32::MAX).is_ok());
        let b = rl.buckets.lock().unwrap();
        assert_eq!((b.prunings, b.by_key.len(), b.prune_at), (2, 1, PRUNE_AT));
    }
}
