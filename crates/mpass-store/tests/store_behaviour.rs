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
#[path = "store_behaviour/decisions.rs"]
mod decisions;
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
#[path = "store_behaviour/postgres_only.rs"]
mod postgres_only;
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
use decisions::*;
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
    legacy_login_attempts_counted_by_phone_and_day,
    otp_send_limits,
    otp_concurrent_sends_one_phone,
    otp_sends_counted_by_address,
    otp_attempts_and_consumption,
    refresh_rotation_reuse_and_logout,
    profile_photo_and_document_fact,
    submit_replay_and_key_reuse,
    concurrent_identical_retries_create_one,
    hourly_limit_counts_the_last_hour,
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
