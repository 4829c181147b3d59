//! The native JSON API under `/api/v1` (SPEC §14), one module per resource.

mod admin;
mod applications;
mod areas;
mod audit;
mod auth;
mod dev;
mod me;
mod passes;
mod review;
mod stats;
mod verification;

use axum::Router;
use axum::routing::{delete, get, post, put};

use crate::state::AppState;

pub use verification::MAX_SCANS_BODY;

/// Every `/api/v1` route and the well-known JWKS.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/otp", post(auth::send_otp))
        .route("/api/v1/auth/token", post(auth::token))
        .route("/api/v1/auth/refresh", post(auth::refresh))
        .route("/api/v1/auth/logout", post(auth::logout))
        .route("/.well-known/jwks.json", get(auth::jwks))
        .route("/api/v1/dev/outbox", get(dev::outbox_json))
        .route("/dev/outbox", get(dev::outbox_page))
        .route("/api/v1/me", get(me::me))
        .route("/api/v1/me/profile", put(me::put_profile))
        .route("/api/v1/me/language", put(me::put_language))
        .route(
            "/api/v1/me/photo",
            put(me::put_photo)
                .get(me::get_photo)
                .layer(axum::extract::DefaultBodyLimit::max(me::MAX_PHOTO_BODY)),
        )
        .route("/api/v1/areas", get(areas::areas))
        .route("/api/v1/reasons", get(areas::reasons))
        .route(
            "/api/v1/applications",
            post(applications::submit).get(applications::list),
        )
        .route("/api/v1/applications/{id}", get(applications::get_one))
        .route("/api/v1/applications/{id}/cancel", post(applications::cancel))
        .route(
            "/api/v1/applications/{id}/messages",
            get(applications::messages).post(applications::reply),
        )
        .route("/api/v1/passes/{id}", get(passes::get_one))
        .route("/api/v1/passes/{id}/revoke", post(passes::revoke))
        .route("/api/v1/passes/{id}/qr.svg", get(passes::qr_svg))
        .route("/api/v1/passes/{id}/qr.png", get(passes::qr_png))
        .route("/api/v1/trust-list", get(passes::trust_list))
        .route("/api/v1/revocations", get(passes::revocations))
        .route("/api/v1/audit", get(audit::list))
        .route("/api/v1/review/queue", get(review::queue))
        .route("/api/v1/review/{id}/claim", post(review::claim))
        .route("/api/v1/review/{id}/decision", post(review::decide))
        .route("/api/v1/admin/dead-jobs", get(admin::dead_jobs))
        .route("/api/v1/admin/dead-jobs/{id}/replay", post(admin::replay))
        .route("/api/v1/admin/search", get(admin::search))
        .route("/api/v1/stats/summary", get(stats::summary))
        .route("/api/v1/stats/by-area", get(stats::by_area))
        .route("/api/v1/stats/timeseries", get(stats::timeseries))
        .route("/api/v1/stats/latency", get(stats::latency))
        .route("/api/v1/stats/backlog", get(stats::backlog))
        .route("/api/v1/stats/checkpoints", get(stats::checkpoints))
        .route("/api/v1/verify", post(verification::verify))
        .route(
            "/api/v1/scans",
            post(verification::upload)
                .get(verification::list)
                .layer(axum::extract::DefaultBodyLimit::max(verification::MAX_SCANS_BODY)),
        )
        .route(
            "/api/v1/checkpoints",
            post(verification::create_checkpoint).get(verification::list_checkpoints),
        )
        .route("/api/v1/checkpoints/{id}", delete(verification::delete_checkpoint))
}

/// A list's `limit`: `default` when absent, else 1 to `max`, or a 400 `invalid_limit`
/// (never silently clamped: a client asking for more than it gets should know).
pub(crate) fn limit(given: Option<u32>, default: u32, max: u32) -> Result<u32, crate::error::ApiError> {
    let limit = given.unwrap_or(default);
    if (1..=max).contains(&limit) {
        Ok(limit)
    } else {
        Err(crate::error::ApiError::BadRequest {
            code: "invalid_limit",
            detail: format!("limit must be 1 to {max}."),
        })
    }
}

/// RFC 3339 text of an instant.
pub(crate) fn rfc3339(t: time::OffsetDateTime) -> String {
    // Whole seconds in UTC, as every stored instant of a pass is, written directly: the
    // general formatter costs several times more, twice in every online check's answer.
    if t.offset().is_utc() && t.nanosecond() == 0 && (0..=9999).contains(&t.year()) {
        let (y, m, d) = (t.year() as u32, u8::from(t.month()), t.day());
        let mut out = String::with_capacity(20);
        for (n, digits, sep) in [
            (y, 4, '-'),
            (u32::from(m), 2, '-'),
            (u32::from(d), 2, 'T'),
            (u32::from(t.hour()), 2, ':'),
            (u32::from(t.minute()), 2, ':'),
            (u32::from(t.second()), 2, 'Z'),
        ] {
            for i in (0..digits).rev() {
                out.push(char::from(b'0' + (n / 10u32.pow(i) % 10) as u8));
            }
            out.push(sep);
        }
        return out;
    }
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    #[test]
    fn rfc3339_writes_what_the_general_formatter_writes() {
        let format = |t: time::OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap();
        for t in [
            datetime!(2026-12-04 13:54:38 UTC),
            datetime!(0001-01-01 00:00:00 UTC),
            datetime!(9999-12-31 23:59:59 UTC),
            datetime!(2024-02-29 09:05:07 UTC),
            datetime!(2026-12-04 13:54:38.25 UTC),
            datetime!(2026-12-04 19:54:38 +06:00),
        ] {
            assert_eq!(super::rfc3339(t), format(t));
        }
        // Every second of a day, and days across a few years.
        let mut t = datetime!(2026-01-01 00:00:00 UTC);
        for _ in 0..86_400 {
            assert_eq!(super::rfc3339(t), format(t));
            t += time::Duration::SECOND;
        }
        for _ in 0..2_000 {
            assert_eq!(super::rfc3339(t), format(t));
            t += time::Duration::hours(23) + time::Duration::seconds(7);
        }
    }
}
