//! Statistics for analysts and admins (SPEC §9, §14): JSON or CSV (`format=csv`), answered
//! from the counters the stores keep (`crate::stats`), never from the applications table.

use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use time::OffsetDateTime;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::Query;
use crate::state::AppState;
use crate::stats::{self, Level, MAX_RANGE_HOURS, MAX_SERIES_HOURS, Measure, StatsParams};

fn analyst(caller: &Caller) -> Result<(), ApiError> {
    if caller.has_role("analyst") || caller.has_role("admin") {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}

fn csv(name: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.csv\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response()
}

const FILTERS: [&str; 6] = ["from", "to", "district", "reason", "status", "format"];

/// `GET /api/v1/stats/summary`: totals by status, passes, decisions and their latency, backlog.
pub async fn summary(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<StatsParams>,
) -> Result<Response, ApiError> {
    analyst(&caller)?;
    q.only(&FILTERS)?;
    let f = q.filters(OffsetDateTime::now_utc(), MAX_RANGE_HOURS)?;
    let s = stats::summary(state.store.as_ref(), &f).await?;
    Ok(if q.csv()? {
        csv("summary", stats::summary_csv(&s))
    } else {
        AxumJson(stats::summary_json(&f, &s)).into_response()
    })
}

/// `GET /api/v1/stats/by-area?level=division|district|thana`.
pub async fn by_area(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<StatsParams>,
) -> Result<Response, ApiError> {
    analyst(&caller)?;
    q.only(&["from", "to", "district", "reason", "status", "format", "level"])?;
    let f = q.filters(OffsetDateTime::now_utc(), MAX_RANGE_HOURS)?;
    let level = Level::parse(q.level.as_deref())?;
    let items = stats::by_area(state.store.as_ref(), &f, level).await?;
    Ok(if q.csv()? {
        csv(&format!("by-{}", level.as_str()), stats::by_area_csv(&items))
    } else {
        AxumJson(stats::by_area_json(&f, level, &items)).into_response()
    })
}

/// `GET /api/v1/stats/timeseries?measure=&bucket=hour`.
pub async fn timeseries(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<StatsParams>,
) -> Result<Response, ApiError> {
    analyst(&caller)?;
    q.only(&["from", "to", "district", "reason", "format", "measure", "bucket"])?;
    if !matches!(q.bucket.as_deref(), None | Some("hour")) {
        return Err(ApiError::BadRequest {
            code: "invalid_query",
            detail: "bucket must be hour.".into(),
        });
    }
    let f = q.filters(OffsetDateTime::now_utc(), MAX_SERIES_HOURS)?;
    let m = Measure::parse(q.measure.as_deref())?;
    let points = stats::timeseries(state.store.as_ref(), &f, m).await?;
    Ok(if q.csv()? {
        csv(&format!("timeseries-{}", m.as_str()), stats::timeseries_csv(m, &points))
    } else {
        AxumJson(stats::timeseries_json(&f, m, &points)).into_response()
    })
}

/// `GET /api/v1/stats/latency`: first decisions by latency bucket.
pub async fn latency(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<StatsParams>,
) -> Result<Response, ApiError> {
    analyst(&caller)?;
    q.only(&["from", "to", "district", "format"])?;
    let f = q.filters(OffsetDateTime::now_utc(), MAX_RANGE_HOURS)?;
    let h = stats::latency(state.store.as_ref(), &f).await?;
    Ok(if q.csv()? {
        csv("latency", stats::latency_csv(&h))
    } else {
        AxumJson(stats::latency_json(&f, &h)).into_response()
    })
}

/// `GET /api/v1/stats/backlog`: applications waiting for a reviewer, per district.
pub async fn backlog(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<StatsParams>,
) -> Result<Response, ApiError> {
    analyst(&caller)?;
    q.only(&["from", "to", "district", "reason", "format"])?;
    let f = q.filters(OffsetDateTime::now_utc(), MAX_RANGE_HOURS)?;
    let items = stats::backlog(state.store.as_ref(), &f).await?;
    Ok(if q.csv()? {
        csv("backlog", stats::backlog_csv(&items))
    } else {
        AxumJson(stats::backlog_json(&f, &items)).into_response()
    })
}

/// `GET /api/v1/stats/checkpoints`: scans by result per checkpoint; with
/// `near=lat,lon&radius_km=R`, only the checkpoints within R km, nearest first.
pub async fn checkpoints(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<StatsParams>,
) -> Result<Response, ApiError> {
    analyst(&caller)?;
    q.only(&["from", "to", "district", "format", "near", "radius_km"])?;
    let f = q.filters(OffsetDateTime::now_utc(), MAX_RANGE_HOURS)?;
    let near = q.near()?;
    let items = stats::scans::checkpoints(state.store.as_ref(), &f, near).await?;
    Ok(if q.csv()? {
        csv("checkpoints", stats::scans::checkpoints_csv(&items))
    } else {
        AxumJson(stats::scans::checkpoints_json(&f, near, &items)).into_response()
    })
}
