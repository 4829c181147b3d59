//! One behavioural story per `Store` feature, run against every backend: SQLite always
//! (a fresh database in a temporary directory per test), PostgreSQL when
//! `MPASS_TEST_DATABASE_URL` is set (a fresh schema per test, dropped at the end).
//!
//! Unset, the PostgreSQL variants print a notice and pass; set but unreachable, they fail.
//! Run one backend with `cargo test -p mpass-store --test store_behaviour postgres::`.

#[path = "store_behaviour/admin.rs"]
mod admin;
#[path = "store_behaviour/applications.rs"]
mod applications;
#[path = "store_behaviour/audit.rs"]
mod audit;
#[path = "store_behaviour/fixtures.rs"]
mod fixtures;
#[path = "store_behaviour/identity.rs"]
mod identity;
#[path = "store_behaviour/jobs.rs"]
mod jobs;
#[path = "store_behaviour/legacy.rs"]
mod legacy;
#[path = "store_behaviour/notify.rs"]
mod notify;
#[path = "store_behaviour/review.rs"]
mod review;
#[path = "store_behaviour/revocation.rs"]
mod revocation;
#[path = "store_behaviour/scan_stats.rs"]
mod scan_stats;
#[path = "store_behaviour/stats.rs"]
mod stats;
#[path = "store_behaviour/verification.rs"]
mod verification;

use std::path::PathBuf;
use std::sync::Arc;

use admin::*;
use applications::*;
use audit::*;
use identity::*;
use jobs::*;
use legacy::*;
use mpass_domain::ports::Store;
use mpass_store::{PostgresStore, SqliteStore};
use notify::*;
use review::*;
use revocation::*;
use scan_stats::*;
use stats::*;
use verification::*;

// ---------------------------------------------------------------- backends

/// A store under test and what to remove afterwards.
struct Backend {
    store: Arc<dyn Store>,
    _cleanup: Cleanup,
}

enum Cleanup {
    Dir(PathBuf),
    Schema { url: String, schema: String },
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        match self {
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Schema { url, schema } => {
                // Drop runs inside the test's runtime; use a thread with its own.
                let (url, name) = (url.clone(), schema.clone());
                let dropped = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                    rt.block_on(async {
                        let client = admin_client(&url).await;
                        client
                            .batch_execute(&format!(
                                "SET lock_timeout = '10s'; DROP SCHEMA IF EXISTS {name} CASCADE"
                            ))
                            .await
                            .map_err(std::io::Error::other)
                    })
                })
                .join();
                if !matches!(dropped, Ok(Ok(()))) {
                    eprintln!("could not drop test schema {schema}");
                }
            }
        }
    }
}

fn sqlite() -> Backend {
    let dir = std::env::temp_dir().join(format!("mpass-store-behaviour-{}", uuid::Uuid::now_v7().simple()));
    let store = SqliteStore::open(&dir.join("mpass.db")).expect("open SQLite store");
    Backend {
        store: Arc::new(store),
        _cleanup: Cleanup::Dir(dir),
    }
}

async fn admin_client(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("MPASS_TEST_DATABASE_URL is set but PostgreSQL is unreachable: {e:?}"));
    tokio::spawn(conn);
    client
}

/// `url` with every connection's `search_path` set to `schema`.
fn with_schema(url: &str, schema: &str) -> String {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}options=-csearch_path%3D{schema}")
    } else {
        format!("{url} options='-csearch_path={schema}'")
    }
}

/// A fresh schema in the test database, dropped when the returned guard is; `None`
/// (after a notice) when `MPASS_TEST_DATABASE_URL` is unset.
async fn pg_schema() -> Option<(String, String, Cleanup)> {
    let Ok(url) = std::env::var("MPASS_TEST_DATABASE_URL") else {
        eprintln!("skipped: MPASS_TEST_DATABASE_URL not set");
        return None;
    };
    let schema = format!("t_{}", uuid::Uuid::now_v7().simple());
    admin_client(&url)
        .await
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .expect("create test schema");
    let cleanup = Cleanup::Schema {
        url: url.clone(),
        schema: schema.clone(),
    };
    Some((url, schema, cleanup))
}

async fn postgres() -> Option<Backend> {
    let (url, schema, cleanup) = pg_schema().await?;
    let scoped = with_schema(&url, &schema);
    // The replica URL points at the same database, so the read routing is exercised too.
    let store = PostgresStore::connect(&scoped, 8, Some(&scoped))
        .await
        .expect("connect PostgreSQL store");
    Some(Backend {
        store: Arc::new(store),
        _cleanup: cleanup,
    })
}

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

/// PostgreSQL only: `tidy` vacuums every queue-like table (a deleted table's emptied
/// pages are given back), and at most once in a few seconds per node.
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
    store.tidy().await.expect("tidy");
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

/// Declares each story once per backend: `sqlite::NAME` and `postgres::NAME`.
macro_rules! stories {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let b = super::sqlite();
                    super::$name(b.store.clone()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let Some(b) = super::postgres().await else { return };
                    super::$name(b.store.clone()).await;
                }
            )*
        }
    };
}

stories!(
    users_and_roles,
    legacy_upload_names_are_used_once,
    legacy_registration_is_kept_once,
    otp_send_limits,
    otp_concurrent_sends_one_phone,
    otp_attempts_and_consumption,
    refresh_rotation_reuse_and_logout,
    profile_photo_and_document_fact,
    submit_replay_and_key_reuse,
    concurrent_identical_retries_create_one,
    list_pagination_newest_first,
    cancel_owner_only_with_revocation,
    applicant_facts_overlap_and_window,
    decision_inputs_read_together,
    applicant_facts_fraud_checks,
    record_decision_only_once,
    concurrent_decisions_record_one,
    revocations_since_deltas,
    outbox_newest_first,
    jobs_lease_retry_dead_depth,
    login_codes_are_leased_first,
    concurrent_leases_never_share_a_job,
    audit_chain_of_changes,
    concurrent_appends_stay_linear,
    revoke_pass_once_with_audit_and_sms,
    concurrent_revokes_revoke_once,
    review_queue_claim_and_decide,
    concurrent_review_claims_one_wins,
    information_request_thread,
    policy_history_newest_wins,
    applications_submitted_between_pages,
    user_language_default_and_choice,
    dead_jobs_list_and_replay_once,
    concurrent_replays_of_one_dead_job_make_one_job,
    stats_counters_match_direct_counts_and_rebuild,
    stats_bulk_insert_then_rebuild,
    scan_counters_match_the_scan_log_and_rebuild,
    checkpoints_create_list_delete_audited,
    scans_log_idempotent_uploads_and_lists,
    travel_points_are_the_latest_few,
    concurrent_scans_log_once_and_count_each,
    concurrent_pass_checks_each_get_their_own_pass,
    check_and_log_decides_on_what_the_store_knows,
    check_and_log_reads_the_status_now,
    role_grants_list_and_revoke_audited,
    admin_search_finds_and_audits_every_search,
);
