//! The async runtime of the server commands: one worker thread per CPU, each kept on its
//! own CPU when the process has the CPUs it may run on to itself (`pin_workers`).
//!
//! Why (docs/BENCHMARKS-HISTORY.md, fourteenth round): under online verification a 2-core machine
//! stayed 8–13% idle with every request waiting. A scheduler trace showed why: both
//! runtime workers and the SQLite writer were often queued on one CPU while the other ran
//! only the load generator or nothing, for up to a millisecond at a time (the scheduler
//! does not move a thread that ran a moment ago). With each worker kept on a CPU of its own
//! the idle share halved in every one of 14 alternated runs and checks per second rose
//! about 6% on average, less than the spread between runs; the `/healthz` ceiling did not
//! change. The writer, syncer and checkpointer threads stay free to run on either CPU.
//!
//! Pinning is left off when the runtime would have fewer workers than the CPUs the process
//! may use (a container's CPU quota below its visible CPUs: the other CPUs belong to
//! someone else's share), and is set off with `pin_workers = false`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::runtime::{Builder, Runtime};

/// The CPUs to pin the workers to, one each, or `None` to leave them free: pinning only
/// when there are as many workers as CPUs the process may run on.
pub fn pin_plan(allowed: &[usize], workers: usize) -> Option<Vec<usize>> {
    (workers > 0 && allowed.len() == workers).then(|| allowed.to_vec())
}

/// The CPUs this process may run on (its affinity mask), in order.
fn allowed_cpus() -> Option<Vec<usize>> {
    let set = rustix::thread::sched_getaffinity(None).ok()?;
    Some(
        (0..rustix::thread::CpuSet::MAX_CPU)
            .filter(|&cpu| set.is_set(cpu))
            .collect(),
    )
}

/// Keeps the calling thread on `cpus`.
fn run_current_on(cpus: &[usize]) -> std::io::Result<()> {
    let mut set = rustix::thread::CpuSet::new();
    for &cpu in cpus {
        set.set(cpu);
    }
    rustix::thread::sched_setaffinity(None, &set).map_err(std::io::Error::from)
}

/// Threads of the blocking pool, where the embedded store's reads run (8 read connections
/// for requests and 4 for the worker) and where a write waits when the writer's queue is
/// full. Tokio's default is 512, and the pool grew past what it ran at once: a new
/// thread whenever none was idle at that instant. During 20,000 police logins it held
/// 47–54 threads for 12 reads at once, and the server's peak memory was 171–174 MiB
/// against 115–124 MiB with this cap (docs/BENCHMARKS-HISTORY.md, thirty-second round):
/// each thread keeps memory of its own in the allocator. Past the cap, blocking tasks wait
/// in the pool's queue; none of them waits on another (a write waiting for room needs
/// only the writer's own thread), so while the writer is saturated reads may queue behind
/// such writes, but every one of them runs.
pub const BLOCKING_THREADS: usize = 16;

/// The runtime of `serve`, `api` and `worker`: the default multi-threaded runtime, its
/// workers pinned one per CPU if `pin` and [`pin_plan`] agree, and at most
/// [`BLOCKING_THREADS`] threads in its blocking pool.
pub fn server_runtime(pin: bool) -> std::io::Result<Runtime> {
    let mut builder = Builder::new_multi_thread();
    builder.enable_all().max_blocking_threads(BLOCKING_THREADS);
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    let plan = pin
        .then(allowed_cpus)
        .flatten()
        .and_then(|cpus| pin_plan(&cpus, workers));
    if let Some(cpus) = plan {
        builder.worker_threads(cpus.len());
        // The runtime starts its workers first, before any other thread of its pool: the
        // first `cpus.len()` threads to start are the workers. A thread starts with the
        // affinity of the thread that made it, and the blocking pool's threads are made
        // by the workers: those are given every CPU back.
        let started = Arc::new(AtomicUsize::new(0));
        builder.on_thread_start(move || {
            let n = started.fetch_add(1, Ordering::Relaxed);
            let on = cpus.get(n).map_or(&cpus[..], std::slice::from_ref);
            if let Err(e) = run_current_on(on) {
                tracing::warn!(runtime.thread = n, error = %e, "runtime.affinity_failed");
            }
        });
        tracing::info!(runtime.workers = workers, "runtime.workers_pinned");
    }
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_only_when_the_workers_match_the_allowed_cpus() {
        assert_eq!(pin_plan(&[0, 1], 2), Some(vec![0, 1]));
        assert_eq!(pin_plan(&[2, 5], 2), Some(vec![2, 5]));
        // A CPU quota below the visible CPUs: the others are not ours to take.
        assert_eq!(pin_plan(&[0, 1, 2, 3], 2), None);
        assert_eq!(pin_plan(&[0], 2), None);
        assert_eq!(pin_plan(&[], 0), None);
    }

    /// Blocking tasks beyond the cap wait for a thread instead of each starting one, and
    /// all of them run.
    #[test]
    fn the_blocking_pool_runs_at_most_its_cap_at_once() {
        let rt = server_runtime(false).expect("runtime");
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let done = rt.block_on(async {
            let tasks: Vec<_> = (0..3 * BLOCKING_THREADS)
                .map(|_| {
                    let (running, most) = (running.clone(), most.clone());
                    tokio::task::spawn_blocking(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                })
                .collect();
            let mut done = 0;
            for t in tasks {
                t.await.expect("blocking task");
                done += 1;
            }
            done
        });
        assert_eq!(done, 3 * BLOCKING_THREADS);
        let most = most.load(Ordering::SeqCst);
        assert!(most <= BLOCKING_THREADS, "{most} blocking tasks at once");
        assert!(most > 1, "the pool runs them side by side: {most}");
    }

    /// Every worker of a pinned runtime runs on one CPU of its own, and together they
    /// cover the CPUs the process may use; threads of the blocking pool stay free.
    #[test]
    fn a_pinned_runtime_keeps_each_worker_on_its_own_cpu() {
        let allowed = allowed_cpus().expect("affinity mask");
        let workers = std::thread::available_parallelism().map_or(1, usize::from);
        let rt = server_runtime(true).expect("runtime");
        let seen = rt.block_on(async {
            let mut seen = std::collections::BTreeMap::new();
            // Enough tasks, yielding, that every worker runs some.
            for _ in 0..50 {
                let tasks: Vec<_> = (0..64)
                    .map(|_| {
                        tokio::spawn(async {
                            tokio::task::yield_now().await;
                            let set = rustix::thread::sched_getaffinity(None).expect("affinity");
                            (std::thread::current().id(), set.count())
                        })
                    })
                    .collect();
                for t in tasks {
                    let (id, count) = t.await.expect("task");
                    seen.insert(format!("{id:?}"), count);
                }
            }
            seen
        });
        // Made by a worker, so it would start with that worker's single CPU.
        let blocking = rt
            .block_on(async {
                tokio::spawn(async {
                    tokio::task::spawn_blocking(|| rustix::thread::sched_getaffinity(None).expect("affinity").count())
                        .await
                })
                .await
            })
            .expect("task")
            .expect("blocking task");
        if pin_plan(&allowed, workers).is_some() {
            assert!(seen.values().all(|&n| n == 1), "every worker on one CPU: {seen:?}");
            assert!(seen.len() <= allowed.len(), "{seen:?}");
            assert_eq!(blocking as usize, allowed.len(), "the blocking pool stays free");
        } else {
            assert!(seen.values().all(|&n| n as usize == allowed.len()), "{seen:?}");
        }
    }
}
