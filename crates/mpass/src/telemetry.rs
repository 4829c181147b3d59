//! Logging: JSON lines by default (one per request, with its id), or pretty for humans.
//!
//! Lines go to standard error, one `write` each, as they happen. When standard error is a
//! regular file (`mpass serve 2>server.log`), the kernel would keep what was written in
//! its page cache and write a file's dirty pages back all at once, about 30 s after the
//! first of them (`vm.dirty_expire_centisecs`): at 10,000 requests a second, a burst of
//! 100–200 MB every half minute. On a virtual disk every WAL sync queued behind such a
//! burst, and every acknowledged write with it, for up to a few hundred milliseconds
//! (docs/BENCHMARKS.md, "The disk"). [`write_back_log_file`] starts the writeback of new
//! lines every `WRITEBACK_EVERY` instead, so the disk sees a steady trickle.

use std::time::Duration;

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. `RUST_LOG` overrides the default `info` level.
pub fn init(format: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if format == "pretty" {
        builder.try_init()
    } else {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    };
}

/// How often the log file's new pages are handed to the disk.
const WRITEBACK_EVERY: Duration = Duration::from_millis(100);

/// When standard error is a regular file, starts a thread that hands its dirty pages to
/// the disk every `WRITEBACK_EVERY` (`posix_fadvise(DONTNEED)`: the kernel starts
/// writing them back without waiting for them, and drops the log's pages already on disk
/// from the page cache, where nobody reads them). Nothing about the lines changes: each is
/// still written when it happens.
pub fn write_back_log_file() {
    let stderr = std::io::stderr();
    let is_file = rustix::fs::fstat(&stderr)
        .map(|st| rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::RegularFile)
        .unwrap_or(false);
    if !is_file {
        return;
    }
    let _ = std::thread::Builder::new().name("log-writeback".into()).spawn(move || {
        let stderr = std::io::stderr();
        loop {
            std::thread::sleep(WRITEBACK_EVERY);
            if rustix::fs::fadvise(&stderr, 0, None, rustix::fs::Advice::DontNeed).is_err() {
                return;
            }
        }
    });
}
