//! The SQL of the scan counters (SPEC §9), shared by both backends.
//!
//! `stats_scans_hourly (hour, district, checkpoint, result, n)` (migration 9) counts the
//! scan log by scan hour, district (4 digits, `''` without a place), checkpoint id (text,
//! `''` for a scan made elsewhere) and result. Its size is bounded by hours × checkpoints
//! × 3, whatever the number of scans. On PostgreSQL it has a `shard` column too.

use mpass_domain::stats::scans::{ScanDim, ScanQuery};

use super::{Arg, Dialect, Source, select};

/// A scan query ready to run: text, arguments, and the dimensions of its first columns
/// (then the sum).
#[derive(Debug, Clone)]
pub(crate) struct ScanBuilt {
    pub sql: String,
    pub args: Vec<Arg>,
    pub dims: Vec<ScanDim>,
}

impl Dialect {
    fn checkpoint_text(self, column: &str) -> String {
        match self {
            Dialect::Sqlite => column.to_string(),
            Dialect::Postgres => format!("{column}::text"),
        }
    }

    /// The scan log as rows of the counter table, one by one.
    pub(crate) fn direct_scans_source(self) -> String {
        format!(
            "(SELECT scanned_at / {h} AS hour, coalesce(substr(area, 1, 4), '') AS district,
                     coalesce({cp}, '') AS checkpoint, result, 1 AS n
              FROM scans) s",
            h = mpass_domain::stats::HOUR_MS,
            cp = self.checkpoint_text("checkpoint_id"),
        )
    }
}

/// A scan count query over the counters or the scan log.
pub(crate) fn scan_counts(d: Dialect, q: &ScanQuery, source: Source) -> ScanBuilt {
    let from = match source {
        Source::Counters => "stats_scans_hourly".to_string(),
        Source::Direct => d.direct_scans_source(),
    };
    let mut args = Vec::new();
    let mut wheres = Vec::new();
    let mut arg = |a: Arg| {
        args.push(a);
        d.placeholder(args.len())
    };
    if let Some(h) = q.from_hour {
        wheres.push(format!("hour >= {}", arg(Arg::Int(h))));
    }
    if let Some(h) = q.to_hour {
        wheres.push(format!("hour < {}", arg(Arg::Int(h))));
    }
    if let Some(a) = &q.area {
        let p = arg(Arg::Text(a.clone()));
        wheres.push(if a.len() == 4 {
            format!("district = {p}")
        } else {
            format!("substr(district, 1, {}) = {p}", a.len())
        });
    }
    if let Some(b) = &q.within {
        let (la, lb, oa, ob) = (
            arg(Arg::Float(b.lat_min)),
            arg(Arg::Float(b.lat_max)),
            arg(Arg::Float(b.lon_min)),
            arg(Arg::Float(b.lon_max)),
        );
        wheres.push(format!(
            "checkpoint IN (SELECT {} FROM checkpoints WHERE lat BETWEEN {la} AND {lb} AND lon BETWEEN {oa} AND {ob})",
            d.checkpoint_text("id")
        ));
    }
    let cols: Vec<&str> = q
        .group
        .iter()
        .map(|dim| match dim {
            ScanDim::Hour => "hour",
            ScanDim::District => "district",
            ScanDim::Checkpoint => "checkpoint",
            ScanDim::Result => "result",
        })
        .collect();
    let sql = select(&cols, "CAST(coalesce(sum(n), 0) AS BIGINT)", &from, &wheres, true);
    ScanBuilt {
        sql,
        args,
        dims: q.group.clone(),
    }
}

/// Statements that recompute the scan counters from the scan log.
pub(crate) fn rebuild(d: Dialect) -> Vec<String> {
    vec![
        "DELETE FROM stats_scans_hourly".into(),
        format!(
            "INSERT INTO stats_scans_hourly (hour, district, checkpoint, result, n)
             SELECT hour, district, checkpoint, result, count(*) FROM {} GROUP BY 1, 2, 3, 4",
            d.direct_scans_source()
        ),
    ]
}

/// The upsert of one scan into the counters, its row given by `row`: a `VALUES (...)` or
/// a `SELECT` of hour, district, checkpoint, result (and shard on PostgreSQL), then 1.
pub(crate) fn upsert(d: Dialect, row: &str) -> String {
    match d {
        Dialect::Sqlite => format!(
            "INSERT INTO stats_scans_hourly (hour, district, checkpoint, result, n) {row}
             ON CONFLICT (hour, district, checkpoint, result) DO UPDATE SET n = stats_scans_hourly.n + excluded.n"
        ),
        Dialect::Postgres => format!(
            "INSERT INTO stats_scans_hourly (hour, district, checkpoint, result, shard, n) {row}
             ON CONFLICT (hour, district, checkpoint, result, shard) DO UPDATE SET n = stats_scans_hourly.n + excluded.n"
        ),
    }
}

/// The counter key of a scan: `(hour, district, checkpoint)` (the result is the fourth).
pub(crate) fn key_of(s: &mpass_domain::scan::Scan) -> (i64, String, String) {
    (
        mpass_domain::stats::hour_of(s.scanned_at),
        s.area.as_deref().and_then(|a| a.get(..4)).unwrap_or("").to_string(),
        s.checkpoint_id.map(|c| c.to_string()).unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use mpass_domain::stats::scans::BoundingBox;

    #[test]
    fn near_questions_prefilter_on_checkpoint_positions() {
        let q = ScanQuery {
            from_hour: Some(1),
            to_hour: Some(2),
            area: Some("30".into()),
            within: Some(BoundingBox {
                lat_min: 23.0,
                lat_max: 24.0,
                lon_min: 90.0,
                lon_max: 91.0,
            }),
            group: vec![ScanDim::Checkpoint, ScanDim::Result],
        };
        let b = scan_counts(Dialect::Postgres, &q, Source::Counters);
        assert!(b.sql.contains(
            "FROM stats_scans_hourly WHERE hour >= $1 AND hour < $2 AND substr(district, 1, 2) = $3 \
             AND checkpoint IN (SELECT id::text FROM checkpoints WHERE lat BETWEEN $4 AND $5 AND lon BETWEEN $6 AND $7)"
        ));
        assert!(b.sql.ends_with("GROUP BY 1, 2 ORDER BY 1, 2"));
        assert_eq!(b.args.len(), 7);
        let direct = scan_counts(Dialect::Sqlite, &ScanQuery::default(), Source::Direct);
        assert!(direct.sql.contains("FROM scans) s"), "{}", direct.sql);
    }
}
