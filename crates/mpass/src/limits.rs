//! The process's file-descriptor limit, and the connection limits derived from it
//! (mpass-http `listener/limits.rs` enforces them).

use crate::config::Settings;

/// File descriptors kept back from connections: the embedded store's files and those of
/// its readers, the log, photos being written, and the connections to PostgreSQL, NATS and
/// the SMS provider.
const RESERVED_FDS: u64 = 256;

/// Raises the soft limit on open files to the hard limit (a service's default soft limit
/// is often 1,024, a few hundred citizens' connections) and returns the limit now in force.
pub fn raise_fd_limit() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let soft = limit.current.unwrap_or(u64::MAX);
    if limit.maximum.is_none_or(|hard| hard > soft) {
        let raised = rustix::process::Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        if setrlimit(Resource::Nofile, raised).is_ok() {
            return limit.maximum.unwrap_or(u64::MAX);
        }
    }
    soft
}

/// Connections open at once in all, and from one address (0: no limit), from the settings
/// or, where they are unset, from `fd_limit`.
pub fn connections(settings: &Settings, fd_limit: u64) -> (usize, usize) {
    let derived = if fd_limit >= 2 * RESERVED_FDS {
        fd_limit - RESERVED_FDS
    } else {
        fd_limit / 2
    };
    let max = settings
        .max_connections
        .unwrap_or(usize::try_from(derived).unwrap_or(usize::MAX).clamp(1, 1 << 20));
    let per_ip = match settings.max_connections_per_ip {
        Some(n) => n,
        None if settings.trust_forwarded_for => 0,
        // Generous: a mobile carrier's NAT puts many citizens behind one address.
        None => (max / 8).max(max.min(256)),
    };
    (max, per_ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_follow_the_descriptors_unless_set() {
        let base = Settings::default();
        assert_eq!(connections(&base, 20_000), (19_744, 2_468));
        assert_eq!(connections(&base, 1_024), (768, 256));
        assert_eq!(connections(&base, 100), (50, 50));
        let proxied = Settings {
            trust_forwarded_for: true,
            ..Settings::default()
        };
        assert_eq!(connections(&proxied, 20_000), (19_744, 0));
        let set = Settings {
            max_connections: Some(10),
            max_connections_per_ip: Some(3),
            ..Settings::default()
        };
        assert_eq!(connections(&set, 20_000), (10, 3));
    }

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        let limit = raise_fd_limit();
        let now = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        assert_eq!(now.current.unwrap_or(u64::MAX), limit);
        assert_eq!(now.current, now.maximum);
    }
}
