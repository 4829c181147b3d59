//! PostgreSQL schema migrations, applied on connect. Only ever add new ones.

use deadpool_postgres::Object;

use super::PgError;

/// `(version, SQL)` in order; the SQL lives in `migrations/postgres/` for reviewers and DBAs.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/postgres/0001_init.sql")),
    (2, include_str!("../../migrations/postgres/0002_audit_log.sql")),
    (3, include_str!("../../migrations/postgres/0003_review_queue.sql")),
    (
        4,
        include_str!("../../migrations/postgres/0004_fraud_messages_policies.sql"),
    ),
    (5, include_str!("../../migrations/postgres/0005_checkpoints_scans.sql")),
    (6, include_str!("../../migrations/postgres/0006_notifications.sql")),
    (7, include_str!("../../migrations/postgres/0007_stats.sql")),
    (8, include_str!("../../migrations/postgres/0008_legacy_v1.sql")),
    (9, include_str!("../../migrations/postgres/0009_scan_stats.sql")),
    (10, include_str!("../../migrations/postgres/0010_job_priority.sql")),
    (11, include_str!("../../migrations/postgres/0011_scans_travel.sql")),
    (12, include_str!("../../migrations/postgres/0012_audit_queue.sql")),
    (13, include_str!("../../migrations/postgres/0013_stats_pending.sql")),
    (14, include_str!("../../migrations/postgres/0014_jobs_free.sql")),
    (15, include_str!("../../migrations/postgres/0015_outbox_to.sql")),
    (
        16,
        include_str!("../../migrations/postgres/0016_otp_address_minutes.sql"),
    ),
    (17, include_str!("../../migrations/postgres/0017_legacy_login_days.sql")),
];

/// First key of the advisory lock that serialises migrations; the second is the schema,
/// so databases holding several schemas (tests) migrate them independently.
const MIGRATION_LOCK: i32 = 0x6d70_6173; // "mpas"

/// Applies every migration not yet recorded, all in one transaction that holds an
/// advisory lock: nodes starting at once wait for the first, then find nothing to do.
pub(super) async fn migrate(conn: &mut Object) -> Result<(), PgError> {
    let tx = conn.transaction().await?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))",
        &[&MIGRATION_LOCK],
    )
    .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version bigint PRIMARY KEY, applied_at bigint NOT NULL)",
    )
    .await?;
    let done: Vec<i64> = tx
        .query("SELECT version FROM schema_migrations", &[])
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    let mut applied = Vec::new();
    for (version, sql) in MIGRATIONS {
        if done.contains(version) {
            continue;
        }
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, (extract(epoch FROM now()) * 1000)::bigint)",
            &[version],
        )
        .await?;
        applied.push(*version);
    }
    tx.commit().await?;
    for version in applied {
        tracing::info!(migration.version = version, "store.migrated");
    }
    Ok(())
}
