//! Police verification on PostgreSQL: checkpoints and the scan log (each scan counted in
//! `stats_scans_hourly` by the same statement that logs it).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use deadpool_postgres::{GenericClient, Pool};
use mpass_domain::application::Status;
use mpass_domain::ids::{CheckpointId, PassId, ScanId, UserId};
use mpass_domain::pass::{ReasonCode, VerdictColour};
use mpass_domain::ports::{PassCheck, PassRecord, StoreError, StoreResult};
use mpass_domain::scan::{Scan, ScanPoint, ScanRecorded, ScanSource, TRAVEL_HISTORY, TRAVEL_HORIZON, TravelPoint};
use time::OffsetDateTime;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::batch::Batcher;
use super::{PgError, audit, big, exec, from_json, from_ms, ms, query, query_opt, to_json};
use super::{Primary, in_tx};
use crate::stats_sql::Dialect;
use crate::stats_sql::scans as scan_stats;

mod checkpoints;
pub(super) use checkpoints::{checkpoint, checkpoint_create, checkpoint_delete, checkpoints, checkpoints_with_deleted};

const SCAN_COLUMNS: &str = "id, client_id, officer, pass_id, checkpoint_id, lat, lon, result, reasons::text, \
                            device_result, scanned_at, received_at, source, flagged, area";

fn colour(s: &str) -> Result<VerdictColour, PgError> {
    from_json(&format!("\"{s}\""), "scan result")
}

fn colour_text(c: VerdictColour) -> &'static str {
    match c {
        VerdictColour::Green => "green",
        VerdictColour::Amber => "amber",
        VerdictColour::Red => "red",
    }
}

fn scan_from_row(r: &Row) -> Result<Scan, PgError> {
    let source: String = r.try_get(12)?;
    Ok(Scan {
        id: ScanId(r.try_get(0)?),
        client_id: r.try_get(1)?,
        officer: UserId(r.try_get(2)?),
        pass_id: r.try_get::<_, Option<Uuid>>(3)?.map(PassId),
        checkpoint_id: r.try_get::<_, Option<Uuid>>(4)?.map(CheckpointId),
        area: r.try_get(14)?,
        lat: r.try_get(5)?,
        lon: r.try_get(6)?,
        result: colour(&r.try_get::<_, String>(7)?)?,
        reasons: from_json::<Vec<ReasonCode>>(&r.try_get::<_, String>(8)?, "scan reasons")?,
        device_result: r.try_get::<_, Option<String>>(9)?.as_deref().map(colour).transpose()?,
        scanned_at: from_ms(r.try_get(10)?),
        received_at: from_ms(r.try_get(11)?),
        source: ScanSource::parse(&source).ok_or_else(|| PgError::Corrupt(format!("scan source {source}")))?,
        flagged: r.try_get(13)?,
    })
}

/// Counter rows per key (`stats_scans_hourly.shard`): concurrent batches count into
/// different rows of a busy checkpoint's hour ([`scan_log`] hands them out in turn).
pub(super) const SHARDS: u8 = 8;

/// A batch of scans as the column arrays of `unnest` (`$1`–`$15` of [`INSERT_SCANS`]).
struct ScanColumns<'a> {
    ids: Vec<Uuid>,
    clients: Vec<Option<Uuid>>,
    officers: Vec<Uuid>,
    passes: Vec<Option<Uuid>>,
    checkpoints: Vec<Option<Uuid>>,
    lats: Vec<Option<f64>>,
    lons: Vec<Option<f64>>,
    results: Vec<&'static str>,
    reasons: Vec<String>,
    device: Vec<Option<&'static str>>,
    scanned: Vec<i64>,
    received: Vec<i64>,
    sources: Vec<&'static str>,
    flagged: Vec<bool>,
    areas: Vec<Option<&'a str>>,
}

impl<'a> ScanColumns<'a> {
    fn new(batch: &[&'a Scan]) -> ScanColumns<'a> {
        ScanColumns {
            ids: batch.iter().map(|s| s.id.0).collect(),
            clients: batch.iter().map(|s| s.client_id).collect(),
            officers: batch.iter().map(|s| s.officer.0).collect(),
            passes: batch.iter().map(|s| s.pass_id.map(|p| p.0)).collect(),
            checkpoints: batch.iter().map(|s| s.checkpoint_id.map(|c| c.0)).collect(),
            lats: batch.iter().map(|s| s.lat).collect(),
            lons: batch.iter().map(|s| s.lon).collect(),
            results: batch.iter().map(|s| colour_text(s.result)).collect(),
            reasons: batch.iter().map(|s| to_json(&s.reasons)).collect(),
            device: batch.iter().map(|s| s.device_result.map(colour_text)).collect(),
            scanned: batch.iter().map(|s| ms(s.scanned_at)).collect(),
            received: batch.iter().map(|s| ms(s.received_at)).collect(),
            sources: batch.iter().map(|s| s.source.as_str()).collect(),
            flagged: batch.iter().map(|s| s.flagged).collect(),
            areas: batch.iter().map(|s| s.area.as_deref()).collect(),
        }
    }

    /// `$1`–`$15` of [`INSERT_SCANS`].
    fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        vec![
            &self.ids,
            &self.clients,
            &self.officers,
            &self.passes,
            &self.checkpoints,
            &self.lats,
            &self.lons,
            &self.results,
            &self.reasons,
            &self.device,
            &self.scanned,
            &self.received,
            &self.sources,
            &self.flagged,
            &self.areas,
        ]
    }
}

/// Inserts a batch of scans given as the column arrays `$1`–`$15` (`ScanColumns`).
const INSERT_SCANS: &str =
    "INSERT INTO scans (id, client_id, officer, pass_id, checkpoint_id, lat, lon, result, reasons,
         device_result, scanned_at, received_at, source, flagged, area)
     SELECT id, client_id, officer, pass_id, checkpoint_id, lat, lon, result, reasons::jsonb,
         device_result, scanned_at, received_at, source, flagged, area
     FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::float8[], $7::float8[],
         $8::text[], $9::text[], $10::text[], $11::int8[], $12::int8[], $13::text[], $14::bool[], $15::text[])
         AS u(id, client_id, officer, pass_id, checkpoint_id, lat, lon, result, reasons, device_result,
              scanned_at, received_at, source, flagged, area)";

/// Batches in the database at once (each on its own connection, in its own shard of the
/// counter rows).
const SCAN_BATCHES: usize = 4;
/// Scans in one batch at most.
const SCAN_BATCH: usize = 512;

/// The node's scan log: `VerificationStore::scan_record` joins the scans waiting at that moment
/// (`batch.rs`), and [`scan_record_batch`] logs and counts them in one transaction. A batch
/// that fails for another reason than the database being out of reach is tried again scan
/// by scan, so that one bad scan fails alone.
pub(super) fn scan_log(primary: Primary) -> Batcher<Scan, ScanRecorded> {
    let batches = Arc::new(AtomicU64::new(0));
    Batcher::start("scan log", SCAN_BATCHES, SCAN_BATCH, move |scans: Vec<Scan>| {
        let shard = (batches.fetch_add(1, Ordering::Relaxed) % u64::from(SHARDS)) as i16;
        let primary = primary.clone();
        async move {
            let all: Vec<&Scan> = scans.iter().collect();
            match log_scans(&primary, &all, shard).await {
                Ok(recorded) => recorded.into_iter().map(Ok).collect(),
                Err(e) if scans.len() == 1 || matches!(e, StoreError::Unavailable(_)) => {
                    scans.iter().map(|_| Err(e.clone())).collect()
                }
                Err(e) => {
                    tracing::warn!(error = %e, scans = scans.len(), "store.scan_batch_failed_retrying_one_by_one");
                    let mut results = Vec::with_capacity(scans.len());
                    for scan in &scans {
                        results.push(log_scans(&primary, &[scan], shard).await.map(|mut r| r.remove(0)));
                    }
                    results
                }
            }
        }
    })
}

async fn log_scans(primary: &Primary, scans: &[&Scan], shard: i16) -> StoreResult<Vec<ScanRecorded>> {
    Ok(in_tx!(primary, |tx| scan_record_batch(&tx, scans, shard))?)
}

/// Logs a batch of scans and counts them, in one statement (a data-modifying CTE is
/// atomic): only the scans inserted are counted, so a repeated upload counts nothing, and
/// each counter row the batch touches moves once, by the batch's count, in key order (so
/// two batches never wait on each other's rows in opposite orders). A scan whose
/// `(officer, client_id)` was logged before, or earlier in the same batch, is not logged
/// again: the first one is returned. One result per scan, in order. Run inside a
/// transaction: the duplicates are read after the insert, by a statement that sees the
/// batch's own rows too.
pub(super) async fn scan_record_batch(
    c: &impl GenericClient,
    batch: &[&Scan],
    shard: i16,
) -> Result<Vec<ScanRecorded>, PgError> {
    let sql = format!(
        "WITH logged AS ({INSERT_SCANS}
             ON CONFLICT (officer, client_id) WHERE client_id IS NOT NULL DO NOTHING
             RETURNING id),
         counted AS ({})
         SELECT id FROM logged",
        scan_stats::upsert(
            Dialect::Postgres,
            "SELECT k.hour, k.district, k.checkpoint, k.result, $19::smallint, count(*)
             FROM logged JOIN unnest($1::uuid[], $16::int8[], $17::text[], $18::text[], $8::text[])
                 AS k(id, hour, district, checkpoint, result) USING (id)
             GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
        )
    );
    let columns = ScanColumns::new(batch);
    let keys: Vec<_> = batch.iter().map(|s| scan_stats::key_of(s)).collect();
    let hours: Vec<i64> = keys.iter().map(|k| k.0).collect();
    let districts: Vec<&str> = keys.iter().map(|k| k.1.as_str()).collect();
    let checkpoints: Vec<&str> = keys.iter().map(|k| k.2.as_str()).collect();
    let mut params = columns.params();
    params.extend([&hours as &(dyn ToSql + Sync), &districts, &checkpoints, &shard]);
    let inserted: std::collections::HashSet<Uuid> = query(c, &sql, &params)
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    if inserted.len() == batch.len() {
        return Ok(vec![ScanRecorded::Inserted; batch.len()]);
    }
    // The others were logged before (a scan without a client id always inserts).
    let (officers, clients): (Vec<Uuid>, Vec<Uuid>) = batch
        .iter()
        .filter(|s| !inserted.contains(&s.id.0))
        .filter_map(|s| Some((s.officer.0, s.client_id?)))
        .unzip();
    let sql = format!(
        "SELECT {SCAN_COLUMNS} FROM scans
         WHERE (officer, client_id) IN (SELECT * FROM unnest($1::uuid[], $2::uuid[]))"
    );
    let mut first = std::collections::HashMap::new();
    for r in query(c, &sql, &[&officers, &clients]).await? {
        let scan = scan_from_row(&r)?;
        if let Some(client) = scan.client_id {
            first.insert((scan.officer.0, client), scan);
        }
    }
    batch
        .iter()
        .map(|s| {
            if inserted.contains(&s.id.0) {
                return Ok(ScanRecorded::Inserted);
            }
            s.client_id
                .and_then(|client| first.get(&(s.officer.0, client)))
                .map(|f| ScanRecorded::Duplicate(Box::new(f.clone())))
                .ok_or_else(|| PgError::Corrupt(format!("scan {} neither logged nor found", s.id)))
        })
        .collect()
}

/// The pass and its application's status, read together (not the whole application,
/// whose documents would be decoded for one column).
const SELECT_PASS_CHECK: &str = "SELECT p.id, p.data::text, a.status
     FROM passes p LEFT JOIN applications a ON a.id = p.application_id";

/// A row of [`SELECT_PASS_CHECK`]: the pass and its status.
fn pass_and_status(r: &Row) -> Result<(PassRecord, Option<Status>), PgError> {
    Ok((
        from_json(&r.try_get::<_, String>(1)?, "pass")?,
        status_of(r.try_get(2)?)?,
    ))
}

/// What an online check by short code reads (`VerificationStore::pass_check`; checks by QR text read
/// in batches, [`pass_check_batch`]): the pass and its status, and, when `travel_at` is
/// given, impossible travel's points of the pass found.
pub(super) async fn pass_check_by_code(
    c: &impl GenericClient,
    code: &str,
    travel_at: Option<OffsetDateTime>,
) -> Result<PassCheck, PgError> {
    let Some(r) = query_opt(c, &format!("{SELECT_PASS_CHECK} WHERE p.short_code = $1"), &[&code]).await? else {
        return Ok(PassCheck::default());
    };
    let (pass, status) = pass_and_status(&r)?;
    let earlier = match travel_at {
        Some(at) => travel_points(c, pass.id, at).await?,
        None => Vec::new(),
    };
    Ok(PassCheck {
        pass: Some(pass),
        status,
        earlier,
    })
}

/// Reads in the database at once (each on its own connection).
const READ_BATCHES: usize = 4;
/// Checks in one read at most.
const READ_BATCH: usize = 512;

/// What an online check asks of the pass its QR text names: the pass and its status, and
/// with a position impossible travel's points around that time.
pub(super) type PassRead = (PassId, Option<OffsetDateTime>);

/// The node's pass reads for online checks by QR text: `VerificationStore::pass_check` joins the reads
/// waiting at that moment (`batch.rs`), and [`pass_check_batch`] answers them with one
/// round trip for the batch instead of one per check (on the replica when there is one).
/// A batch that fails for another reason than the database being out of reach (a stored
/// record that does not decode) is read again pass by pass, so that it fails its own
/// check alone.
pub(super) fn pass_reads(reader: Pool) -> Batcher<PassRead, PassCheck> {
    Batcher::start("pass reads", READ_BATCHES, READ_BATCH, move |reads: Vec<PassRead>| {
        let reader = reader.clone();
        async move {
            async fn read(reader: &Pool, reads: &[PassRead]) -> Result<Vec<PassCheck>, StoreError> {
                let c = reader.get().await.map_err(PgError::from)?;
                Ok(pass_check_batch(&c, reads).await?)
            }
            match read(&reader, &reads).await {
                Ok(checks) => checks.into_iter().map(Ok).collect(),
                Err(e) if reads.len() == 1 || matches!(e, StoreError::Unavailable(_)) => {
                    reads.iter().map(|_| Err(e.clone())).collect()
                }
                Err(e) => {
                    tracing::warn!(error = %e, reads = reads.len(), "store.pass_read_batch_failed_reading_one_by_one");
                    let mut results = Vec::with_capacity(reads.len());
                    for one in reads.chunks(1) {
                        results.push(read(&reader, one).await.map(|mut c| c.remove(0)));
                    }
                    results
                }
            }
        }
    })
}

/// What online checks by QR text read, for many passes named by id, one answer per read,
/// in order: the passes with their statuses in one statement, and impossible travel's
/// points of the reads with a position in a second one, sent on the same connection
/// without waiting for the first answer (the client pipelines them: one round trip).
pub(super) async fn pass_check_batch(c: &impl GenericClient, reads: &[PassRead]) -> Result<Vec<PassCheck>, PgError> {
    let ids: Vec<Uuid> = reads.iter().map(|(id, _)| id.0).collect();
    let by_id: [&(dyn ToSql + Sync); 1] = [&ids];
    let by_id_sql = format!("{SELECT_PASS_CHECK} WHERE p.id = ANY($1)");
    let passes = query(c, &by_id_sql, &by_id);
    // One row per read with a position (its place in `reads`) and its window.
    let mut at = Vec::new();
    let (mut pass, mut lo, mut hi) = (Vec::new(), Vec::new(), Vec::new());
    for (i, (id, when)) in reads.iter().enumerate() {
        if let Some(when) = when {
            at.push(i64::try_from(i).unwrap_or(i64::MAX));
            pass.push(id.0);
            lo.push(ms(*when - TRAVEL_HORIZON));
            hi.push(ms(*when + TRAVEL_HORIZON));
        }
    }
    let points = async {
        if at.is_empty() {
            return Ok(Vec::new());
        }
        query(
            c,
            "SELECT q.i, s.id, s.lat, s.lon, s.scanned_at
             FROM unnest($1::int8[], $2::uuid[], $3::int8[], $4::int8[]) AS q(i, pass, lo, hi)
             CROSS JOIN LATERAL (
                 SELECT id, lat, lon, scanned_at FROM scans
                 WHERE pass_id = q.pass AND lat IS NOT NULL AND lon IS NOT NULL
                   AND scanned_at BETWEEN q.lo AND q.hi
                 ORDER BY scanned_at DESC LIMIT $5) s
             ORDER BY q.i, s.scanned_at DESC",
            &[&at, &pass, &lo, &hi, &big(TRAVEL_HISTORY)],
        )
        .await
    };
    let (rows, points) = tokio::try_join!(passes, points)?;
    let mut found = std::collections::HashMap::with_capacity(rows.len());
    for r in &rows {
        found.insert(r.try_get::<_, Uuid>(0)?, pass_and_status(r)?);
    }
    let mut checks: Vec<PassCheck> = ids
        .iter()
        .map(|id| match found.get(id) {
            Some((pass, status)) => PassCheck {
                pass: Some(pass.clone()),
                status: *status,
                earlier: Vec::new(),
            },
            None => PassCheck::default(),
        })
        .collect();
    for r in &points {
        let i: i64 = r.try_get(0)?;
        let check = usize::try_from(i)
            .ok()
            .and_then(|i| checks.get_mut(i))
            .ok_or_else(|| PgError::Corrupt(format!("travel point of read {i}")))?;
        check.earlier.push(TravelPoint {
            scan: ScanId(r.try_get(1)?),
            point: ScanPoint {
                lat: r.try_get(2)?,
                lon: r.try_get(3)?,
                at_ms: r.try_get(4)?,
            },
        });
    }
    Ok(checks)
}

fn status_of(s: Option<String>) -> Result<Option<Status>, PgError> {
    s.map(|s| Status::parse(&s).ok_or_else(|| PgError::Corrupt(format!("application status {s}"))))
        .transpose()
}

/// Impossible travel's scans of a pass around `at` (`VerificationStore::travel_points`), from the
/// covering index `scans_travel` (an index-only scan once the table is vacuumed).
pub(super) async fn travel_points(
    c: &impl GenericClient,
    pass: PassId,
    at: OffsetDateTime,
) -> Result<Vec<TravelPoint>, PgError> {
    let sql = "SELECT id, lat, lon, scanned_at FROM scans
               WHERE pass_id = $1 AND lat IS NOT NULL AND lon IS NOT NULL AND scanned_at BETWEEN $2 AND $3
               ORDER BY scanned_at DESC LIMIT $4";
    let (from, to) = (ms(at - TRAVEL_HORIZON), ms(at + TRAVEL_HORIZON));
    query(c, sql, &[&pass.0, &from, &to, &big(TRAVEL_HISTORY)])
        .await?
        .iter()
        .map(|r| {
            Ok(TravelPoint {
                scan: ScanId(r.try_get(0)?),
                point: ScanPoint {
                    lat: r.try_get(1)?,
                    lon: r.try_get(2)?,
                    at_ms: r.try_get(3)?,
                },
            })
        })
        .collect()
}

pub(super) async fn scans_list(
    c: &impl GenericClient,
    flagged_only: bool,
    before: Option<ScanId>,
    limit: u32,
) -> Result<Vec<Scan>, PgError> {
    let before = before.map(|b| b.0);
    let sql = format!(
        "SELECT {SCAN_COLUMNS} FROM scans WHERE ($1::uuid IS NULL OR id < $1) AND (NOT $2 OR flagged)
         ORDER BY id DESC LIMIT $3"
    );
    query(c, &sql, &[&before, &flagged_only, &big(limit)])
        .await?
        .iter()
        .map(scan_from_row)
        .collect()
}

/// Stores synthetic scans as they are (`mpass demo`; the counters are left to a rebuild).
/// One statement for the whole batch (`unnest` of column arrays).
pub(super) async fn bulk_insert_scans(c: &impl GenericClient, batch: &[Scan]) -> Result<(), PgError> {
    let batch: Vec<&Scan> = batch.iter().collect();
    exec(c, INSERT_SCANS, &ScanColumns::new(&batch).params()).await?;
    Ok(())
}
