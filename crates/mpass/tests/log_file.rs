//! The server's log written to a file (`mpass serve 2>server.log`): its pages go to the disk
//! as they are written, not in one burst half a minute later (telemetry.rs).

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use mpass_client::Client;

/// `tmpfs`'s `statfs` magic: there the page cache is the storage, and nothing is written back.
const TMPFS_MAGIC: rustix::fs::FsWord = 0x0102_1994;

/// Bytes of `path` in the page cache, by `fincore` (Debian's `util-linux-extra`); `None` if it cannot tell.
fn cached_bytes(path: &std::path::Path) -> Option<u64> {
    let out = Command::new("fincore")
        .args(["--bytes", "--noheadings", "--output", "RES"])
        .arg(path)
        .output()
        .ok()?;
    String::from_utf8(out.stdout).ok()?.trim().parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_file_is_handed_to_the_disk_as_it_grows() {
    let dir = TempDir::new("log-file");
    let log = dir.path().join("server.log");
    std::fs::write(&log, b"").expect("create the log");
    if cached_bytes(&log).is_none() {
        eprintln!("skipped: fincore (Debian's util-linux-extra) is not installed");
        return;
    }
    let fs = rustix::fs::statfs(dir.path()).expect("statfs");
    if fs.f_type == TMPFS_MAGIC {
        eprintln!("skipped: the temporary directory is on tmpfs, which writes nothing back");
        return;
    }

    let port = free_port();
    let _server = Process(
        Command::new(env!("CARGO_BIN_EXE_mpass"))
            .arg("serve")
            .arg("--data-dir")
            .arg(dir.path())
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .env("MPASS_LOG_FORMAT", "json")
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(std::fs::File::options().append(true).open(&log).expect("open the log"))
            .spawn()
            .expect("start mpass serve"),
    );
    let client = Client::new(&format!("http://127.0.0.1:{port}"));
    eventually("the server answers", Duration::from_secs(30), || async {
        client.healthz().await.ok()
    })
    .await;

    // Enough requests for a log of several hundred kilobytes, one JSON line each.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..500 {
                client.healthz().await.expect("healthz");
            }
        }));
    }
    for t in tasks {
        t.await.expect("join");
    }

    // Without the writeback every page written stays in the page cache, dirty, until the
    // kernel writes the file back (about 30 s); with it, the pages already on the disk leave
    // the cache within a few of its rounds.
    let size = std::fs::metadata(&log).expect("log").len();
    assert!(size > 300_000, "4,000 requests logged: {size} bytes");
    let cached = eventually(
        "the log's pages leave the page cache",
        Duration::from_secs(10),
        || async {
            let cached = cached_bytes(&log).expect("fincore");
            (cached < size / 4).then_some(cached)
        },
    )
    .await;
    assert!(cached < size / 4, "{cached} of {size} bytes still cached");
}
