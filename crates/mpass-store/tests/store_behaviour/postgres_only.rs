//! PostgreSQL only: migration, the audit and counter locks, a lagging replica, tidy, a bad record.

use std::sync::Arc;

use mpass_domain::ports::Store;
use mpass_store::PostgresStore;

use crate::{admin_client, fixtures, pg_schema, verification, with_schema};

/// PostgreSQL only: nodes that start together apply each migration exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_nodes_starting_together_migrate_once() {
    let Some((url, schema, _cleanup)) = pg_schema().await else {
        return;
    };
    let scoped = with_schema(&url, &schema);
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let url = scoped.clone();
            tokio::spawn(async move { PostgresStore::connect(&url, 2, None).await.map(|_| ()) })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().expect("every node starts");
    }
    let row = admin_client(&url)
        .await
        .query_one(
            &format!("SELECT count(*), count(DISTINCT version), min(version) FROM {schema}.schema_migrations"),
            &[],
        )
        .await
        .unwrap();
    let (applied, distinct, first): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    let shipped = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
        .unwrap()
        .count() as i64;
    assert_eq!(
        (applied, distinct, first),
        (shipped, shipped, 1),
        "every migration applied once"
    );
}

/// PostgreSQL only: an audited change does not wait for the audit chain's lock (another
/// session holds it here), its entry is chained once the lock is free, and decisions
/// made while several sealers run leave one whole chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_audited_changes_do_not_wait_for_the_chain() {
    use mpass_domain::audit::verify_chain;
    use std::time::Duration;
    let Some((url, schema, _cleanup)) = pg_schema().await else {
        return;
    };
    let scoped = with_schema(&url, &schema);
    let store: Arc<dyn Store> = Arc::new(PostgresStore::connect(&scoped, 8, None).await.expect("connect"));
    let u = fixtures::user(&store, 1).await;
    let a = fixtures::submit(&store, u.id, fixtures::t(10), fixtures::t(3600)).await;

    // The chain's lock: "audi" and the schema (src/postgres/audit.rs).
    let mut holder = admin_client(&scoped).await;
    let held = holder.transaction().await.unwrap();
    held.execute(
        "SELECT pg_advisory_xact_lock(1635083369, hashtext(current_schema()))",
        &[],
    )
    .await
    .unwrap();
    let pass = tokio::time::timeout(Duration::from_secs(10), fixtures::approve(&store, &a))
        .await
        .expect("the decision commits while the chain's lock is held elsewhere");
    let seal = tokio::spawn({
        let store = store.clone();
        async move { store.audit_seal().await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!seal.is_finished(), "sealing waits for the chain's lock");
    held.rollback().await.unwrap();
    assert_eq!(seal.await.unwrap().unwrap(), 1, "the decision's entry, chained");
    let log = store.audit_list(0, 10).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].data["pass_id"], pass.id.to_string());

    // Decisions and sealers at once: every entry chained once, in one chain.
    let mut tasks = Vec::new();
    for i in 0..30u32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let u = fixtures::user(&store, 100 + i).await;
            let a = fixtures::submit(&store, u.id, fixtures::t(10), fixtures::t(3600)).await;
            fixtures::approve(&store, &a).await;
            store.audit_seal().await.unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let log = store.audit_list(0, 100).await.unwrap();
    assert_eq!(log.len(), 31);
    assert_eq!(verify_chain(&log), Ok(()));
    let subjects: std::collections::BTreeSet<&str> = log.iter().map(|e| e.subject.as_str()).collect();
    assert_eq!(subjects.len(), 31, "no entry chained twice");
}

/// PostgreSQL only: status changes do not wait for the counter rows (another session
/// holds the counter tables here), their changes wait in the pending tables, reads count
/// them all the same, and a fold moves them once the tables are free.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_status_changes_do_not_wait_for_the_counters() {
    use mpass_domain::stats::{CountQuery, Dim};
    use std::time::Duration;
    let Some((url, schema, _cleanup)) = pg_schema().await else {
        return;
    };
    let scoped = with_schema(&url, &schema);
    let store: Arc<dyn Store> = Arc::new(PostgresStore::connect(&scoped, 8, None).await.expect("connect"));
    let mut holder = admin_client(&scoped).await;
    let held = holder.transaction().await.unwrap();
    held.batch_execute(
        "LOCK TABLE stats_thana_hourly, stats_district_hourly, stats_latency_hourly IN SHARE ROW EXCLUSIVE MODE",
    )
    .await
    .unwrap();
    let u = fixtures::user(&store, 1).await;
    let work = async {
        let a = fixtures::submit(&store, u.id, fixtures::t(10), fixtures::t(3600)).await;
        fixtures::approve(&store, &a).await;
        fixtures::submit(&store, u.id, fixtures::t(20), fixtures::t(3600)).await;
    };
    tokio::time::timeout(Duration::from_secs(10), work)
        .await
        .expect("submissions and decisions commit while the counters are locked elsewhere");
    let by_status = CountQuery {
        group: vec![Dim::Status],
        ..CountQuery::default()
    };
    let counted = store.stats_counts(&by_status).await.unwrap();
    assert_eq!(counted, store.stats_counts_direct(&by_status).await.unwrap());
    assert_eq!(counted.iter().map(|r| r.n).sum::<i64>(), 2);
    let fold = tokio::spawn({
        let store = store.clone();
        async move { store.stats_fold().await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!fold.is_finished(), "folding waits for the counter tables");
    held.rollback().await.unwrap();
    // Two submissions and a decision (submitted -1, approved +1): two rows each in the
    // thana and district tables per change, and one latency row.
    assert_eq!(fold.await.unwrap().unwrap(), 2 * (1 + 1 + 2) + 1);
    assert_eq!(store.stats_counts(&by_status).await.unwrap(), counted);
    assert_eq!(store.stats_fold().await.unwrap(), 0);
}

/// PostgreSQL only: a replica's lag may make a read late, never "not found" or older
/// than what the caller just wrote. The replica here is a migrated schema of its own that
/// holds nothing, a replica that has not caught up at all. A decision reads what it
/// decides on from the primary (or its job would fail as "not found" and the application
/// wait for an admin's replay); the rows a client wrote a moment ago (its profile, its
/// application, the pass just issued, a checkpoint just made) are found.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_a_lagging_replica_loses_no_fresh_row() {
    use fixtures::{approve, profile, submit, t, user};
    use mpass_domain::audit::Actor;
    use mpass_domain::ports::PassKey;
    let Some((url, schema, _cleanup)) = pg_schema().await else {
        return;
    };
    let Some((_, behind, _behind_cleanup)) = pg_schema().await else {
        return;
    };
    let (primary, replica) = (with_schema(&url, &schema), with_schema(&url, &behind));
    PostgresStore::connect(&replica, 2, None)
        .await
        .expect("migrate the replica's schema");
    let store: Arc<dyn Store> = Arc::new(
        PostgresStore::connect(&primary, 4, Some(&replica))
            .await
            .expect("connect"),
    );
    let u = user(&store, 1).await;
    store
        .put_profile(u.id, &profile("Rahima Khatun", "1234567890"), t(1))
        .await
        .unwrap();
    let app = submit(&store, u.id, t(10), t(3600)).await;
    let on_replica = admin_client(&url)
        .await
        .query_one(&format!("SELECT count(*) FROM {behind}.applications"), &[])
        .await
        .unwrap();
    assert_eq!(on_replica.get::<_, i64>(0), 0, "the replica has not caught up");
    let inputs = store.decision_inputs(app.id, time::Duration::days(7)).await.unwrap();
    assert_eq!(inputs.application.map(|a| a.id), Some(app.id));
    assert_eq!(inputs.user.map(|x| x.id), Some(u.id));
    assert!(inputs.profile.is_some() && inputs.facts.is_some());

    // What a client reads right after its own write.
    assert_eq!(store.user(u.id).await.unwrap().map(|x| x.id), Some(u.id));
    assert_eq!(store.user_by_phone(&u.phone).await.unwrap().map(|x| x.id), Some(u.id));
    let saved = profile("Rahima Begum", "1234567890");
    store.put_profile(u.id, &saved, t(20)).await.unwrap();
    assert_eq!(
        store.profile(u.id).await.unwrap().map(|p| p.profile),
        Some(saved),
        "the profile just saved, not an older one"
    );
    assert_eq!(store.application(app.id).await.unwrap(), Some(app.clone()));
    assert_eq!(
        store.applications_of(u.id, None, 10).await.unwrap(),
        std::slice::from_ref(&app),
        "the citizen's list, where the web pages go after applying"
    );
    let pass = approve(&store, &app).await;
    assert_eq!(store.pass(pass.id).await.unwrap().map(|p| p.id), Some(pass.id));
    assert_eq!(
        store.pass_by_short_code(&pass.short_code).await.unwrap().map(|p| p.id),
        Some(pass.id)
    );
    for key in [PassKey::Id(pass.id), PassKey::ShortCode(pass.short_code.clone())] {
        let known = store.pass_check(key, None).await.unwrap();
        assert_eq!(
            known.pass.map(|p| p.id),
            Some(pass.id),
            "an online check finds the new pass"
        );
        assert_eq!(known.status, Some(mpass_domain::application::Status::Approved));
    }
    let checkpoint = verification::checkpoint("Gabtoli bridge", 30);
    store.checkpoint_create(&checkpoint, Actor::user(u.id)).await.unwrap();
    assert_eq!(store.checkpoint(checkpoint.id).await.unwrap(), Some(checkpoint));
    // The dev outbox, where a developer reads the login code just sent.
    store
        .outbox_push(u.phone.as_str(), "Your code is 123456", t(40))
        .await
        .unwrap();
    let sent = store.outbox_list(Some(u.phone.as_str()), 10).await.unwrap();
    assert_eq!(
        sent.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
        ["Your code is 123456"]
    );
}

/// PostgreSQL only: `tidy` deletes the counts of minutes and days gone (login codes by
/// address, legacy logins by phone) and vacuums every queue-like table (a deleted table's emptied pages are given back), at
/// most once in a few seconds per node.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_tidy_vacuums_the_queue_tables_now_and_then() {
    let Some((url, schema, _cleanup)) = pg_schema().await else {
        return;
    };
    let scoped = with_schema(&url, &schema);
    let store: Arc<dyn Store> = Arc::new(PostgresStore::connect(&scoped, 4, None).await.expect("connect"));
    let admin = admin_client(&scoped).await;
    let pages = || async {
        let row = admin
            .query_one("SELECT pg_relation_size('otp_sends') / 8192", &[])
            .await
            .unwrap();
        row.get::<_, i64>(0)
    };
    let vacuums = || async {
        let row = admin
            .query_one(
                "SELECT vacuum_count FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'otp_sends'",
                &[&schema],
            )
            .await
            .unwrap();
        row.get::<_, i64>(0)
    };
    admin
        .batch_execute(
            "INSERT INTO otp_sends (phone, sent_at) SELECT '+8801711000000', g FROM generate_series(1, 5000) g;
             DELETE FROM otp_sends;",
        )
        .await
        .unwrap();
    assert!(pages().await > 10, "5,000 deleted rows still fill their pages");
    // Login codes counted by address and legacy logins by phone: a minute and a day long
    // gone, and the current ones, which are kept (with a margin for the nodes' clocks).
    admin
        .batch_execute(
            "INSERT INTO otp_address_minutes (minute, address, sends) VALUES
                 (1, '192.0.2.1', 5),
                 ((extract(epoch FROM now()) * 1000)::bigint / 60000 - 12, '192.0.2.1', 4),
                 ((extract(epoch FROM now()) * 1000)::bigint / 60000 - 8, '192.0.2.1', 3),
                 ((extract(epoch FROM now()) * 1000)::bigint / 60000, '192.0.2.1', 2);
             INSERT INTO legacy_login_days (day, phone, attempts) VALUES
                 (1, '+8801711000000', 7),
                 ((extract(epoch FROM now()) * 1000)::bigint / 86400000 - 3, '+8801711000000', 6),
                 ((extract(epoch FROM now()) * 1000)::bigint / 86400000, '+8801711000000', 5)",
        )
        .await
        .unwrap();
    store.tidy().await.expect("tidy");
    let counts = |sql: &'static str| {
        let admin = &admin;
        async move {
            let rows = admin.query(sql, &[]).await.unwrap();
            rows.iter().map(|r| r.get(0)).collect::<Vec<i64>>()
        }
    };
    assert_eq!(
        counts("SELECT sends FROM otp_address_minutes ORDER BY minute").await,
        vec![3, 2],
        "the minutes gone are deleted, the last few and the current one kept"
    );
    assert_eq!(
        counts("SELECT attempts FROM legacy_login_days ORDER BY day").await,
        vec![5],
        "the days gone are deleted, today's kept"
    );
    let vacuumed: Vec<String> = admin
        .query(
            "SELECT relname::text FROM pg_stat_user_tables WHERE schemaname = $1 AND last_vacuum IS NOT NULL
             ORDER BY 1",
            &[&schema],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut queue_like = vec![
        "audit_queue",
        "jobs",
        "legacy_login_days",
        "otp_address_minutes",
        "otp_codes",
        "otp_sends",
        "stats_district_hourly",
        "stats_district_pending",
        "stats_latency_hourly",
        "stats_latency_pending",
        "stats_scans_hourly",
        "stats_thana_hourly",
        "stats_thana_pending",
    ];
    queue_like.sort_unstable();
    assert_eq!(vacuumed, queue_like, "every queue-like table, and no other");
    // Again at once: too soon, nothing is vacuumed.
    let before = vacuums().await;
    store.tidy().await.expect("tidy");
    assert_eq!(vacuums().await, before, "a second vacuum within seconds is skipped");
    // The emptied pages are given back. A transaction open elsewhere in the database (the
    // other tests run beside this one) keeps deleted rows until it ends, so a node that
    // has not vacuumed yet (a fresh store) vacuums again until they are gone.
    for tries in 0.. {
        if pages().await == 0 {
            break;
        }
        assert!(tries < 40, "the vacuum gave the emptied pages back");
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        let node = PostgresStore::connect(&scoped, 1, None).await.expect("connect");
        node.tidy().await.expect("tidy");
    }
}

/// PostgreSQL only: checks' pass reads share a statement, but a stored pass whose record
/// does not decode fails its own checks alone; the others sharing its moment get their
/// passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_a_bad_pass_record_fails_only_its_own_checks() {
    let Some((url, schema, _cleanup)) = pg_schema().await else {
        return;
    };
    let scoped = with_schema(&url, &schema);
    let store: Arc<dyn Store> = Arc::new(PostgresStore::connect(&scoped, 8, None).await.expect("connect"));
    let u = fixtures::user(&store, 1).await;
    let mut passes = Vec::new();
    for i in 0..3 {
        let a = fixtures::submit(&store, u.id, fixtures::t(10 + i), fixtures::t(3600)).await;
        passes.push(fixtures::approve(&store, &a).await);
    }
    let admin = admin_client(&scoped).await;
    admin
        .execute(
            "UPDATE passes SET data = '{\"not\": \"a pass\"}'::jsonb WHERE id = $1",
            &[&passes[1].id.0],
        )
        .await
        .unwrap();
    let tasks: Vec<_> = (0..60)
        .map(|i| {
            let (store, id) = (store.clone(), passes[i % 3].id);
            tokio::spawn(async move { (id, store.pass_check(mpass_domain::ports::PassKey::Id(id), None).await) })
        })
        .collect();
    let (mut good, mut bad) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            (id, Ok(check)) => {
                assert_ne!(id, passes[1].id, "the bad record is not read as a pass");
                assert_eq!(check.pass.map(|p| p.id), Some(id));
                good += 1;
            }
            (id, Err(e)) => {
                assert_eq!(id, passes[1].id, "{e}");
                bad += 1;
            }
        }
    }
    assert_eq!((good, bad), (40, 20));
}
