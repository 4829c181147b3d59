//! SQLite schema migrations, applied in order on start. Only ever add new ones.

use rusqlite::Connection;

pub(super) const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        r#"
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    phone TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
CREATE TABLE role_grants (
    user_id TEXT NOT NULL,
    role TEXT NOT NULL,
    districts TEXT NOT NULL,
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, role)
);
CREATE TABLE otp_codes (
    phone TEXT PRIMARY KEY,
    code_hash TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL
);
CREATE TABLE otp_sends (
    phone TEXT NOT NULL,
    sent_at INTEGER NOT NULL
);
CREATE INDEX otp_sends_phone ON otp_sends (phone, sent_at);
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    family TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    rotated_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
CREATE TABLE profiles (
    user_id TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    id_type TEXT NOT NULL,
    id_number TEXT NOT NULL,
    photo_key TEXT,
    photo_content_type TEXT,
    updated_at INTEGER NOT NULL
);
CREATE INDEX profiles_document ON profiles (id_type, id_number);
CREATE TABLE applications (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    status TEXT NOT NULL,
    details TEXT NOT NULL,
    start_at INTEGER NOT NULL,
    end_at INTEGER NOT NULL,
    decision TEXT,
    pass_id TEXT,
    submitted_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX applications_user ON applications (user_id, id);
CREATE INDEX applications_user_status_start ON applications (user_id, status, start_at);
CREATE TABLE idempotency_keys (
    user_id TEXT NOT NULL,
    key TEXT NOT NULL,
    body_hash TEXT NOT NULL,
    application_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE TABLE passes (
    id TEXT PRIMARY KEY,
    application_id TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL,
    short_code TEXT NOT NULL UNIQUE,
    data TEXT NOT NULL
);
CREATE TABLE revocations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    pass_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    revoked_at INTEGER NOT NULL
);
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    run_at INTEGER NOT NULL,
    locked_until INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX jobs_due ON jobs (run_at);
CREATE TABLE dead_jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    last_error TEXT NOT NULL,
    failed_at INTEGER NOT NULL
);
CREATE TABLE sms_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    to_phone TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
"#,
    ),
    (
        2,
        r#"
-- SPEC §10: the hash-chained audit log. seq is assigned as last + 1 (no gaps by design,
-- so a missing number means a removed entry). The triggers stop accidental edits; the
-- chain is what detects deliberate ones.
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    data TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
"#,
    ),
    (
        3,
        r#"
-- SPEC §6: the review queue. review_district is set when the policy sends an application
-- to review; a claim is review_claimed_by + review_lease_until (unix ms); review_outcome
-- is 'approve' while a reviewer's approval waits for the worker to sign its pass.
ALTER TABLE applications ADD COLUMN review_district TEXT;
ALTER TABLE applications ADD COLUMN review_claimed_by TEXT;
ALTER TABLE applications ADD COLUMN review_lease_until INTEGER;
ALTER TABLE applications ADD COLUMN review_outcome TEXT;
CREATE INDEX applications_review ON applications (status, review_district, submitted_at, id);
"#,
    ),
    (
        4,
        r#"
-- SPEC §6 fraud checks: vehicle_reg is the registration's letters and digits, upper case
-- (Vehicle::registration_key); only approved passes are looked up by it.
ALTER TABLE applications ADD COLUMN vehicle_reg TEXT;
UPDATE applications SET vehicle_reg = upper(replace(replace(json_extract(details, '$.vehicle.registration'), '-', ''), ' ', ''))
    WHERE json_extract(details, '$.vehicle.registration') IS NOT NULL;
CREATE INDEX applications_vehicle_approved ON applications (vehicle_reg, start_at)
    WHERE status = 'approved' AND vehicle_reg IS NOT NULL;
-- SPEC §6 information requests: the thread between reviewers and the applicant.
CREATE TABLE application_messages (
    id TEXT PRIMARY KEY,
    application_id TEXT NOT NULL,
    author_id TEXT NOT NULL,
    author_role TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX application_messages_app ON application_messages (application_id, created_at);
-- SPEC §6 policy reload: every policy put in force, newest last; nodes poll the newest.
CREATE TABLE policies (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    version TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
"#,
    ),
    (
        5,
        r#"
-- SPEC §8, issue 6: police checkpoints and the scan log. A deleted checkpoint keeps its
-- row (deleted_at) so old scans still name it. client_id makes offline uploads idempotent
-- per officer; reasons is a JSON array of reason codes; flagged marks impossible travel.
CREATE TABLE checkpoints (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    lat REAL NOT NULL,
    lon REAL NOT NULL,
    area TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    deleted_at INTEGER
);
CREATE TABLE scans (
    id TEXT PRIMARY KEY,
    client_id TEXT,
    officer TEXT NOT NULL,
    pass_id TEXT,
    checkpoint_id TEXT,
    lat REAL,
    lon REAL,
    result TEXT NOT NULL,
    reasons TEXT NOT NULL,
    device_result TEXT,
    scanned_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    source TEXT NOT NULL,
    flagged INTEGER NOT NULL
);
CREATE UNIQUE INDEX scans_client ON scans (officer, client_id) WHERE client_id IS NOT NULL;
CREATE INDEX scans_pass ON scans (pass_id, scanned_at) WHERE pass_id IS NOT NULL;
CREATE INDEX scans_flagged ON scans (id) WHERE flagged = 1;
"#,
    ),
    (
        6,
        r#"
-- SPEC §11: the language of a citizen's SMS ('en' or 'bn'); NULL until they choose one,
-- and then messages go out in Bangla. Dead jobs are listed newest failure first.
ALTER TABLE users ADD COLUMN language TEXT;
CREATE INDEX dead_jobs_failed ON dead_jobs (failed_at DESC, id DESC);
"#,
    ),
    (
        7,
        r#"
-- SPEC §9 statistics (see stats_sql.rs): counters moved in the transaction of every status
-- change. decided_at is when the policy's first decision was recorded (latency histogram).
ALTER TABLE applications ADD COLUMN decided_at INTEGER;
CREATE TABLE stats_thana_hourly (
    hour INTEGER NOT NULL,
    area TEXT NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    has_pass INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (hour, area, reason, status, has_pass)
) WITHOUT ROWID;
CREATE TABLE stats_district_hourly (
    hour INTEGER NOT NULL,
    area TEXT NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    has_pass INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (hour, area, reason, status, has_pass)
) WITHOUT ROWID;
CREATE TABLE stats_latency_hourly (
    hour INTEGER NOT NULL,
    area TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (hour, area, bucket)
) WITHOUT ROWID;
-- Count what is already there, so an upgraded database starts with true counters.
INSERT INTO stats_thana_hourly (hour, area, reason, status, has_pass, n)
    SELECT submitted_at / 3600000, json_extract(details, '$.from.area'), json_extract(details, '$.reason'), status,
           CASE WHEN pass_id IS NULL THEN 0 ELSE 1 END, count(*)
    FROM applications GROUP BY 1, 2, 3, 4, 5;
INSERT INTO stats_district_hourly (hour, area, reason, status, has_pass, n)
    SELECT hour, substr(area, 1, 4), reason, status, has_pass, sum(n) FROM stats_thana_hourly GROUP BY 1, 2, 3, 4, 5;
"#,
    ),
    (
        8,
        r#"
-- SPEC §12 legacy /v1 API: pre-signed upload names already used (one PUT per URL), and
-- the legacy numbers and photo URL of users who registered through /v1.
CREATE TABLE legacy_uploads (
    name TEXT PRIMARY KEY,
    used_at INTEGER NOT NULL
);
CREATE TABLE legacy_registrations (
    user_id TEXT PRIMARY KEY,
    district INTEGER NOT NULL,
    thana INTEGER NOT NULL,
    photo_url TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
"#,
    ),
    (
        9,
        r#"
-- SPEC §9 scan statistics (see stats_sql/scans.rs): scans by hour, district, checkpoint
-- and result, counted in the transaction that logs each scan. scans.area is the thana where
-- the scan was made (the checkpoint's, else the thana nearest to the position); rows logged
-- before this migration get their checkpoint's, or none.
ALTER TABLE scans ADD COLUMN area TEXT;
UPDATE scans SET area = (SELECT c.area FROM checkpoints c WHERE c.id = scans.checkpoint_id)
    WHERE checkpoint_id IS NOT NULL;
CREATE TABLE stats_scans_hourly (
    hour INTEGER NOT NULL,
    district TEXT NOT NULL,
    checkpoint TEXT NOT NULL,
    result TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (hour, district, checkpoint, result)
) WITHOUT ROWID;
-- "Scans near a point" prefilters checkpoints by a latitude/longitude box.
CREATE INDEX checkpoints_position ON checkpoints (lat, lon);
INSERT INTO stats_scans_hourly (hour, district, checkpoint, result, n)
    SELECT scanned_at / 3600000, coalesce(substr(area, 1, 4), ''), coalesce(checkpoint_id, ''), result, count(*)
    FROM scans GROUP BY 1, 2, 3, 4;
"#,
    ),
    (
        10,
        r#"
-- Login codes are leased before other jobs (jobs.rs `lease`): they need an index by kind.
CREATE INDEX jobs_kind_due ON jobs (kind, run_at);
"#,
    ),
    (
        11,
        r#"
-- Impossible travel reads only scans with a position (verification.rs `travel_points`):
-- index only those, with what it reads (a covering index). A scan without a position no
-- longer inserts into an index keyed by pass, whose leaf is a random page per scan.
DROP INDEX scans_pass;
CREATE INDEX scans_travel ON scans (pass_id, scanned_at, lat, lon, id)
    WHERE pass_id IS NOT NULL AND lat IS NOT NULL AND lon IS NOT NULL;
"#,
    ),
    (
        12,
        r#"
-- Impossible travel's points in a table of their own, keyed by pass (travel.rs): the writer
-- moves them in from memory a slice at a time, in pass order. Scans with a position after
-- scan_travel_mark's rowid are added when the database opens (0: all of them, here).
DROP INDEX scans_travel;
CREATE TABLE scan_travel (
    pass_id BLOB NOT NULL,
    scanned_at INTEGER NOT NULL,
    id BLOB NOT NULL,
    lat REAL NOT NULL,
    lon REAL NOT NULL,
    PRIMARY KEY (pass_id, scanned_at, id)
) WITHOUT ROWID;
CREATE TABLE scan_travel_mark (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_rowid INTEGER NOT NULL
);
INSERT INTO scan_travel_mark (id, last_rowid) VALUES (1, 0);
"#,
    ),
    (
        13,
        r#"
-- Every online check reads its pass and the application's status now (a pass cancelled or
-- revoked a second ago is red). Read through a join, that was a second row in a second,
-- larger table (applications hold the whole form). passes.status is that status: a pass
-- is stored with its application's status (applications.rs `insert_pass`) and this trigger
-- copies every later change, in the same transaction, whatever statement makes it. NULL
-- (passes stored before this version) means unknown: the read falls back to the
-- application (`pass_and_status`), so upgrading rewrites no rows.
ALTER TABLE passes ADD COLUMN status TEXT;
CREATE TRIGGER passes_status_follows_application AFTER UPDATE OF status ON applications BEGIN
    UPDATE passes SET status = NEW.status WHERE application_id = NEW.id;
END;
"#,
    ),
    (
        14,
        r#"
-- The dev SMS outbox read for one recipient (`GET /api/v1/dev/outbox?phone=`): a login's
-- code found among its own messages, however many went out to others meanwhile.
CREATE INDEX sms_outbox_to ON sms_outbox (to_phone, seq);
"#,
    ),
    (
        15,
        r#"
-- Login codes counted by the client's address as well as by phone (identity.rs
-- `otp_issue`): the sends from each address in each minute since the epoch. Rows of
-- minutes gone are deleted by the next send.
CREATE TABLE otp_address_minutes (
    minute INTEGER NOT NULL,
    address TEXT NOT NULL,
    sends INTEGER NOT NULL,
    PRIMARY KEY (minute, address)
) WITHOUT ROWID;
"#,
    ),
    (
        16,
        r#"
-- Legacy `/v1` logins counted by phone and day (legacy.rs `login_attempt`): attempts
-- are counted before the date of birth is compared and given back when it matches, so
-- what stays counted is the day's failures. Rows of days gone are deleted by the next
-- attempt.
CREATE TABLE legacy_login_days (
    day INTEGER NOT NULL,
    phone TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    PRIMARY KEY (day, phone)
) WITHOUT ROWID;
"#,
    ),
];

/// Applies every migration not yet recorded, each in its own transaction.
pub(crate) fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )?;
    for (version, sql) in MIGRATIONS {
        let done: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?1)",
            [version],
            |r| r.get(0),
        )?;
        if done {
            continue;
        }
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let applied = conn.execute_batch(sql).and_then(|_| {
            conn.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, strftime('%s','now'))",
                [version],
            )
        });
        match applied {
            Ok(_) => conn.execute_batch("COMMIT")?,
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(e);
            }
        }
        tracing::info!(migration.version = version, "store.migrated");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::{MIGRATIONS, migrate};

    fn status_of(c: &Connection, pass: &str) -> Option<String> {
        c.query_row("SELECT status FROM passes WHERE id = ?1", [pass], |r| r.get(0))
            .unwrap()
    }

    /// Passes stored before version 13 keep no status (the read asks their application);
    /// from then on `passes.status` follows the application's status, set by any
    /// statement, and other columns leave it alone.
    #[test]
    fn pass_status_follows_the_application() {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")
            .unwrap();
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v < 13) {
            c.execute_batch(sql).unwrap();
            c.execute("INSERT INTO schema_migrations VALUES (?1, 0)", [version])
                .unwrap();
        }
        let app = |id: &str, status: &str| {
            c.execute(
                "INSERT INTO applications (id, user_id, status, details, start_at, end_at, submitted_at, updated_at)
                 VALUES (?1, 'u', ?2, '{}', 0, 0, 0, 0)",
                [id, status],
            )
            .unwrap();
        };
        app("a1", "approved");
        c.execute(
            "INSERT INTO passes (id, application_id, user_id, short_code, data) VALUES ('p1', 'a1', 'u', 'p1', '{}')",
            [],
        )
        .unwrap();
        migrate(&c).unwrap();
        assert_eq!(status_of(&c, "p1"), None, "an upgrade rewrites no pass");

        // A status change of the application reaches its pass, whoever makes it.
        c.execute("UPDATE applications SET status = 'cancelled' WHERE id = 'a1'", [])
            .unwrap();
        assert_eq!(status_of(&c, "p1").as_deref(), Some("cancelled"));
        c.execute(
            "UPDATE applications SET status = 'revoked', updated_at = 9 WHERE id = 'a1'",
            [],
        )
        .unwrap();
        assert_eq!(status_of(&c, "p1").as_deref(), Some("revoked"));
        // Other columns leave it alone.
        c.execute("UPDATE passes SET status = 'approved' WHERE id = 'p1'", [])
            .unwrap();
        c.execute("UPDATE applications SET updated_at = 10 WHERE id = 'a1'", [])
            .unwrap();
        assert_eq!(status_of(&c, "p1").as_deref(), Some("approved"));
    }
}
