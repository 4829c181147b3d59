//! The distributed layout as separate processes: two `mpass api` and two `mpass worker`
//! nodes on one PostgreSQL and one NATS JetStream. Applications submitted through one API
//! node are read through the other and decided by the workers; one worker is killed with
//! SIGKILL in the middle of the burst, and every application is still decided exactly once.
//!
//! Needs `MPASS_TEST_DATABASE_URL` and `MPASS_TEST_NATS_URL`; skipped with a notice when
//! either is unset (`.ci/run` sets both).

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Process, SharedBackends, TempDir, application, eventually, free_port, phone, profile_for, tomorrow_at};
use mpass_client::Client;

fn spawn(kind: &str, dir: &std::path::Path, db: &str, nats: &str, prefix: &str, listen: Option<u16>) -> Process {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mpass"));
    cmd.arg(kind).arg("--data-dir").arg(dir);
    if let Some(port) = listen {
        cmd.arg("--listen").arg(format!("127.0.0.1:{port}"));
    }
    cmd.env("MPASS_DATABASE_URL", db)
        .env("MPASS_QUEUE_URL", nats)
        .env("MPASS_QUEUE_PREFIX", prefix)
        .env("MPASS_DATABASE_POOL_SIZE", "8")
        .env("MPASS_WORKER_CONCURRENCY", "16")
        .env("MPASS_COMPAT_V1", "true")
        .env("MPASS_LEGACY_FAILED_LOGINS_PER_PHONE_PER_DAY", "6")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    Process(cmd.spawn().expect("start mpass"))
}

async fn ready(client: &Client) {
    eventually("node ready", Duration::from_secs(30), || async {
        client.healthz().await.ok()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_apis_two_workers_one_killed_every_application_decided_once() {
    let Some(backends) = SharedBackends::new("multinode").await else {
        return;
    };
    let (db, nats, prefix, schema, pg) = (
        &backends.database_url,
        &backends.nats_url,
        &backends.prefix,
        &backends.schema,
        &backends.pg,
    );
    let dir = TempDir::new("multinode");

    // The first API node creates the shared keys; the others start after it.
    let (port1, port2) = (free_port(), free_port());
    let api1 = spawn("api", dir.path(), db, nats, prefix, Some(port1));
    let c1 = Client::new(&format!("http://127.0.0.1:{port1}"));
    ready(&c1).await;
    let api2 = spawn("api", dir.path(), db, nats, prefix, Some(port2));
    let c2 = Client::new(&format!("http://127.0.0.1:{port2}"));
    ready(&c2).await;
    let mut worker1 = spawn("worker", dir.path(), db, nats, prefix, None);
    let worker2 = spawn("worker", dir.path(), db, nats, prefix, None);

    // Citizens log in on one node and apply on either; four trips each, a day apart.
    let citizens = 20;
    let mut users = Vec::new();
    for n in 0..citizens {
        let p = phone(900_000 + n);
        let (me, _) = c1.login_dev(&p).await.expect("login through api 1");
        me.put_profile(&profile_for(&p)).await.expect("profile");
        users.push(me);
    }
    let mut burst = tokio::task::JoinSet::new();
    for (i, user) in users.iter().enumerate() {
        for trip in 0..4u8 {
            let user = user.clone();
            let body = application(common::THANA_A, common::THANA_B, tomorrow_at(8 + trip * 2, 0));
            burst.spawn(async move { (i, user.submit(&body, None).await.expect("202 accepted").id) });
        }
    }
    let mut ids = Vec::new();
    while let Some(done) = burst.join_next().await {
        ids.push(done.expect("task"));
        if ids.len() == 30 {
            // Mid-burst: a worker dies without a chance to ack or clean up.
            worker1.0.kill().expect("SIGKILL worker 1");
        }
    }
    assert_eq!(ids.len(), citizens as usize * 4);

    // Every application is readable through the other API node and gets decided.
    for (i, id) in &ids {
        let other = users[*i].on(c2.base());
        let app = eventually("decision", Duration::from_secs(60), || {
            let other = other.clone();
            let id = id.clone();
            async move { other.application(&id).await.ok().filter(|a| a.status != "submitted") }
        })
        .await;
        assert_eq!(app.status, "approved", "application {id}: {:?}", app.decision);
        assert!(app.pass_id.is_some());
    }

    // Exactly once: one pass per application, no application left behind, no job parked.
    let passes: i64 = pg
        .query_one(&format!("SELECT count(*) FROM {schema}.passes"), &[])
        .await
        .unwrap()
        .get(0);
    let distinct: i64 = pg
        .query_one(
            &format!("SELECT count(DISTINCT application_id) FROM {schema}.passes"),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let dead: i64 = pg
        .query_one(&format!("SELECT count(*) FROM {schema}.dead_jobs"), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(passes, ids.len() as i64, "one pass per application");
    assert_eq!(distinct, passes, "no application has two passes");
    assert_eq!(dead, 0, "no job dead-lettered");

    // A reviewer's approval is signed by a worker too: through its own job stream.
    let p = phone(900_100);
    let (applicant, _) = c1.login_dev(&p).await.expect("login");
    applicant.put_profile(&profile_for(&p)).await.expect("profile");
    let mut body = application(common::THANA_A, common::THANA_B, tomorrow_at(9, 0));
    body.reason = "other".into();
    body.reason_note = Some("Visiting family".into());
    let id = applicant.submit(&body, None).await.expect("202").id;
    let app = applicant
        .wait_decided(&id, Duration::from_secs(60))
        .await
        .expect("decided");
    assert_eq!(app.status, "in_review");
    let reviewer_phone = phone(900_101);
    let (_, first) = c2.login_dev(&reviewer_phone).await.expect("reviewer's login");
    let district = mpass_domain::geo::areas()
        .district_of(common::THANA_A)
        .expect("district")
        .code
        .clone();
    let granted = Command::new(env!("CARGO_BIN_EXE_mpass"))
        .args([
            "admin",
            "grant",
            &reviewer_phone,
            "reviewer",
            "--district",
            &district,
            "--data-dir",
        ])
        .arg(dir.path())
        .env("MPASS_DATABASE_URL", db)
        .env("RUST_LOG", "warn")
        .status()
        .expect("mpass admin grant");
    assert!(granted.success());
    // The role is in the next token.
    let fresh = c2.refresh(&first.refresh_token).await.expect("refresh");
    let reviewer = c2.with_token(&fresh.access_token);
    let claim = reviewer
        .raw(
            reqwest::Method::POST,
            &format!("/api/v1/review/{id}/claim"),
            None,
            Vec::new(),
        )
        .await
        .expect("claim");
    assert_eq!(claim.status, 200, "{}", String::from_utf8_lossy(&claim.body));
    let approve = br#"{"outcome": "approve", "reason_code": "documents_verified"}"#.to_vec();
    let decided = reviewer
        .raw(
            reqwest::Method::POST,
            &format!("/api/v1/review/{id}/decision"),
            Some("application/json"),
            approve,
        )
        .await
        .expect("decide");
    assert_eq!(decided.status, 200, "{}", String::from_utf8_lossy(&decided.body));
    let signed = eventually("the reviewed pass", Duration::from_secs(60), || {
        let applicant = applicant.clone();
        let id = id.clone();
        async move { applicant.application(&id).await.ok().filter(|a| a.status == "approved") }
    })
    .await;
    assert!(signed.pass_id.is_some());

    // A citizen's hourly allowance (12 by default) holds across the API nodes: four were
    // submitted above, eight more go in through either node, and then both refuse.
    let body = application(common::THANA_A, common::THANA_B, tomorrow_at(20, 0));
    for k in 0..8 {
        let node = if k % 2 == 0 { c1.base() } else { c2.base() };
        users[0]
            .on(node)
            .submit(&body, None)
            .await
            .expect("within the allowance");
    }
    for node in [c1.base(), c2.base()] {
        common::assert_api_error(users[0].on(node).submit(&body, None).await, 429, "rate_limited");
    }

    // Login codes from one address (60 in any 60 seconds by default) are counted across the
    // nodes too: asked alternately through both, the first refusal comes by the 61st, where
    // each node's own limiter would let it through (60 each, less the 22 logins above on
    // node 1). The store counts by the minutes of the clock, the last one's fading: the
    // asking starts early in one.
    let into_minute = time::OffsetDateTime::now_utc().unix_timestamp().rem_euclid(60);
    if into_minute > 40 {
        tokio::time::sleep(Duration::from_secs((61 - into_minute) as u64)).await;
    }
    let mut asked = 0;
    let refused = loop {
        asked += 1;
        assert!(asked <= 61, "61 codes from one address within a minute");
        let node = if asked % 2 == 0 { c1.clone() } else { c2.clone() };
        match node.request_otp(&phone(950_000 + asked)).await {
            Ok(_) => continue,
            Err(e) => break e,
        }
    };
    common::assert_api_error::<()>(Err(refused), 429, "rate_limited");
    let row = pg
        .query_one(
            &format!(
                "SELECT max(sends), sum(sends)::bigint FROM {schema}.otp_address_minutes WHERE address = '127.0.0.1'"
            ),
            &[],
        )
        .await
        .unwrap();
    let (most, all): (i64, i64) = (row.get(0), row.get(1));
    assert!(most <= 60, "{most} codes for the address in its fullest minute");
    assert_eq!(
        all,
        22 + i64::from(asked) - 1,
        "every code sent counted once, and no refused one"
    );

    // Failed legacy logins of one phone (6 a day here) are counted across the nodes too:
    // guessed alternately through both, three wrong dates each, within each node's own 5
    // a minute, and then the right one is refused through either node.
    let mut nodes = [c1.base(), c2.base()].map(mpass_client::legacy::LegacyClient::new);
    let owner = phone(900_001);
    assert_eq!(nodes[0].login(&owner, "12041990").await.unwrap().status, 200);
    for (i, guess) in ["01011990", "02011990", "03011990", "04011990", "05011990", "06011990"]
        .into_iter()
        .enumerate()
    {
        assert_eq!(nodes[i % 2].login(&owner, guess).await.unwrap().status, 400, "{guess}");
    }
    for node in &mut nodes {
        assert_eq!(node.login(&owner, "12041990").await.unwrap().status, 429);
    }

    // The nodes stop before the schema and the streams go (SharedBackends' drop).
    drop((api1, api2, worker1, worker2));
}
