//! `mpass dlq` end to end, with the real binary against a running server: an SMS fails
//! permanently (the fake Twilio answers 400), `mpass dlq list` shows the dead job,
//! `mpass dlq replay` puts it back and the running worker sends it. On SQLite with the
//! in-process queue always; on PostgreSQL with NATS JetStream when `MPASS_TEST_DATABASE_URL`
//! and `MPASS_TEST_NATS_URL` are set (there the relay publishes the replayed row).

mod common;
mod fake_twilio;

use std::process::Output;
use std::time::Duration;

use common::*;
use fake_twilio::{Answer, FakeTwilio, INVALID_NUMBER};
use mpass_domain::phone::Phone;

const WAIT: Duration = Duration::from_secs(20);

fn e164(n: u32) -> String {
    Phone::parse(&phone(n)).expect("phone").as_str().to_string()
}

/// Runs `mpass dlq ARGS` with the server's data directory (and `backend` flags).
async fn dlq(srv: &TestServer, backend: &[String], args: &[&str]) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mpass"));
    // Backend flags belong to `dlq` itself, before its subcommand (as with `mpass admin`).
    cmd.arg("dlq")
        .args(backend)
        .args(args)
        .arg("--data-dir")
        .arg(srv.dir.path())
        .current_dir(srv.dir.path())
        .env("RUST_LOG", "warn");
    tokio::task::spawn_blocking(move || cmd.output().expect("run mpass dlq"))
        .await
        .expect("join")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

async fn listed(srv: &TestServer, backend: &[String]) -> Vec<serde_json::Value> {
    let out = dlq(srv, backend, &["list", "--json"]).await;
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout).expect("a JSON array")
}

/// The whole story on whatever backends `srv` runs.
async fn dead_sms_listed_replayed_and_sent(fake: &FakeTwilio, srv: &TestServer, backend: &[String]) {
    assert!(listed(srv, backend).await.is_empty());
    fake.script([Answer::Status(400, INVALID_NUMBER)]);
    srv.client.request_otp_in(&phone(60), "en").await.expect("202");
    let first = fake.wait_for(&e164(60), 1, WAIT).await;
    assert_eq!(first[0].status, 400);

    // `list --json` shows it: kind, one attempt, Twilio's error, the payload.
    let dead = eventually("the dead job in `mpass dlq list`", WAIT, || async {
        Some(listed(srv, backend).await).filter(|l| l.len() == 1)
    })
    .await;
    let job = &dead[0];
    let id = job["id"].as_str().expect("id").to_string();
    assert_eq!(job["kind"], "send_login_code");
    assert_eq!(job["attempts"], 1);
    assert!(
        job["last_error"].as_str().expect("error").contains("code 21211"),
        "{job}"
    );
    assert!(job["failed_at"].as_str().is_some_and(|t| t.len() >= 20), "{job}");
    assert!(job["payload"].as_str().expect("payload").contains(&e164(60)), "{job}");
    // The table names the same job.
    let table = dlq(srv, backend, &["list"]).await;
    let text = stdout(&table);
    assert!(
        table.status.success() && text.contains(&id) && text.contains("send_login_code"),
        "{text}"
    );
    assert!(text.contains("code 21211"), "{text}");

    // Replay: the running worker sends it (the fake now accepts).
    let out = dlq(srv, backend, &["replay", &id]).await;
    assert!(out.status.success(), "{out:?}");
    assert!(
        stdout(&out).contains(&format!("replayed {id} as job ")),
        "{}",
        stdout(&out)
    );
    let sent = fake.wait_for(&e164(60), 2, WAIT).await;
    assert!(sent[1].delivered(), "{sent:?}");
    assert_eq!(sent[1].body, sent[0].body, "the same message");
    let code = sent[1].code().expect("code");
    srv.client
        .token(&phone(60), &code)
        .await
        .expect("the replayed code logs in");
    assert!(listed(srv, backend).await.is_empty());

    // Replaying it again is an error (exit 1); no id at all is a usage error (exit 2).
    let again = dlq(srv, backend, &["replay", &id]).await;
    assert_eq!(again.status.code(), Some(1), "{again:?}");
    assert_eq!(dlq(srv, backend, &["replay"]).await.status.code(), Some(2));
    assert_eq!(dlq(srv, backend, &["replay", "nonsense"]).await.status.code(), Some(2));

    // `replay --all --kind send_login_code` takes every dead login code.
    fake.script([Answer::Status(400, INVALID_NUMBER), Answer::Status(400, INVALID_NUMBER)]);
    srv.client.request_otp_in(&phone(61), "en").await.expect("202");
    srv.client.request_otp_in(&phone(62), "en").await.expect("202");
    eventually("two dead jobs", WAIT, || async {
        let n = listed(srv, backend).await.len();
        (n == 2).then_some(())
    })
    .await;
    let out = dlq(srv, backend, &["replay", "--all", "--kind", "send_login_code"]).await;
    assert!(out.status.success() && stdout(&out).contains("2 replayed"), "{out:?}");
    for n in [61, 62] {
        let sent = fake.wait_for(&e164(n), 2, WAIT).await;
        assert!(sent[1].delivered(), "{sent:?}");
    }
    assert!(listed(srv, backend).await.is_empty());

    // Each replay is audited with the console as actor, and the chain holds.
    let store = mpass::serve::open_store(&srv.settings).await.expect("store");
    let entries = store.audit_list(0, 1000).await.expect("audit");
    let replays: Vec<_> = entries.iter().filter(|e| e.action == "dlq.replayed").collect();
    assert_eq!(replays.len(), 3);
    assert!(replays.iter().all(|e| e.actor.as_str() == "cli"));
    assert_eq!(replays[0].subject, format!("job:{id}"));
    mpass_domain::audit::verify_chain(&entries).expect("intact chain");
    assert!(fake.problems().is_empty(), "{:?}", fake.problems());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dlq_list_and_replay_on_sqlite_and_the_embedded_queue() {
    let fake = FakeTwilio::start().await;
    let srv = TestServer::start_with(|s| fake.configure(s)).await;
    dead_sms_listed_replayed_and_sent(&fake, &srv, &[]).await;
    srv.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dlq_list_and_replay_on_postgres_and_nats() {
    let Some(backends) = SharedBackends::new("dlq").await else {
        return;
    };
    let (db, nats, prefix) = (&backends.database_url, &backends.nats_url, &backends.prefix);

    let fake = FakeTwilio::start().await;
    let srv = TestServer::start_with(|s| {
        fake.configure(s);
        s.database_url = Some(db.clone());
        s.queue_url = Some(nats.clone());
        s.queue_prefix = prefix.clone();
    })
    .await;
    dead_sms_listed_replayed_and_sent(&fake, &srv, &["--database-url".into(), db.clone()]).await;
    srv.finish().await;
}
