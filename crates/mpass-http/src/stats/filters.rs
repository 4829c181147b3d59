//! The statistics routes' query parameters, parsed strictly into [`Filters`]: a time range
//! (at most a year; the last day by default), a district, a refusal reason and a status.

use mpass_domain::application::Status;
use mpass_domain::geo::areas;
use mpass_domain::stats::{CountQuery, Dim, hour_of, hour_start};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::ApiError;

/// The longest time range any statistics question may cover.
pub const MAX_RANGE_HOURS: i64 = 366 * 24;
/// The longest hourly series (31 days).
pub const MAX_SERIES_HOURS: i64 = 31 * 24;
/// Default range when none is given: the last 24 hours.
pub const DEFAULT_RANGE_HOURS: i64 = 24;

/// Query parameters of every `/api/v1/stats/...` route and the dashboard; each route
/// refuses the ones it does not use.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsParams {
    pub from: Option<String>,
    pub to: Option<String>,
    pub district: Option<String>,
    pub reason: Option<String>,
    pub status: Option<String>,
    pub level: Option<String>,
    pub measure: Option<String>,
    pub bucket: Option<String>,
    pub format: Option<String>,
    /// Dashboard only: the language and the map's measure.
    pub lang: Option<String>,
    /// Scans near a point: `near=lat,lon` (API) or `lat` and `lon` (the dashboard's form),
    /// and `radius_km`.
    pub near: Option<String>,
    pub radius_km: Option<String>,
    pub lat: Option<String>,
    pub lon: Option<String>,
}

/// Parsed, validated filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filters {
    pub from_hour: i64,
    pub to_hour: i64,
    pub district: Option<String>,
    pub reason: Option<String>,
    pub status: Option<Status>,
}

pub(crate) fn bad(code: &'static str, detail: impl Into<String>) -> ApiError {
    ApiError::BadRequest {
        code,
        detail: detail.into(),
    }
}

fn instant(name: &str, v: &str) -> Result<OffsetDateTime, ApiError> {
    OffsetDateTime::parse(v, &Rfc3339).map_err(|_| {
        bad(
            "invalid_query",
            format!("{name} must be an RFC 3339 instant (2025-01-31T06:00:00Z)."),
        )
    })
}

impl StatsParams {
    /// Refuses parameters the route does not use (strict parsing, route by route).
    pub fn only(&self, allowed: &[&str]) -> Result<(), ApiError> {
        let given = [
            ("from", self.from.is_some()),
            ("to", self.to.is_some()),
            ("district", self.district.is_some()),
            ("reason", self.reason.is_some()),
            ("status", self.status.is_some()),
            ("level", self.level.is_some()),
            ("measure", self.measure.is_some()),
            ("bucket", self.bucket.is_some()),
            ("format", self.format.is_some()),
            ("lang", self.lang.is_some()),
            ("near", self.near.is_some()),
            ("radius_km", self.radius_km.is_some()),
            ("lat", self.lat.is_some()),
            ("lon", self.lon.is_some()),
        ];
        match given.iter().find(|(name, set)| *set && !allowed.contains(name)) {
            Some((name, _)) => Err(bad(
                "invalid_query",
                format!("{name} is not a parameter of this route."),
            )),
            None => Ok(()),
        }
    }

    /// The filters, with the range defaulting to the last 24 hours up to now and capped.
    pub fn filters(&self, now: OffsetDateTime, max_hours: i64) -> Result<Filters, ApiError> {
        let to_hour = match &self.to {
            Some(v) => {
                let t = instant("to", v)?;
                // An instant inside an hour includes that hour.
                hour_of(t) + i64::from(hour_start(hour_of(t)) != t)
            }
            None => hour_of(now) + 1,
        };
        let from_hour = match &self.from {
            Some(v) => hour_of(instant("from", v)?),
            None => to_hour - DEFAULT_RANGE_HOURS,
        };
        // The hour after 9999-12-31T23:00Z is no time at all: refused, not read as 1970.
        if time::OffsetDateTime::from_unix_timestamp(to_hour.saturating_mul(3600)).is_err() {
            return Err(bad("invalid_range", "to is past the last time that can be written."));
        }
        if from_hour >= to_hour {
            return Err(bad("invalid_range", "from must be before to."));
        }
        if to_hour - from_hour > max_hours {
            return Err(bad(
                "invalid_range",
                format!("The range may cover at most {max_hours} hours."),
            ));
        }
        let district = match self.district.as_deref() {
            None | Some("") => None,
            Some(d) if areas().district(d).is_some() || (d.len() == 2 && areas().get(d).is_some()) => {
                Some(d.to_string())
            }
            Some(_) => {
                return Err(bad(
                    "invalid_query",
                    "district must be a district (4 digits) or division (2 digits) code of GET /api/v1/areas.",
                ));
            }
        };
        let reason = match self.reason.as_deref() {
            None | Some("") => None,
            Some(r) if (1..=40).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') => {
                Some(r.to_string())
            }
            Some(_) => return Err(bad("invalid_query", "reason must be a reason code such as medical.")),
        };
        let status = match self.status.as_deref() {
            None | Some("") => None,
            Some(s) => {
                Some(Status::parse(s).ok_or_else(|| bad("invalid_query", "status must be an application status."))?)
            }
        };
        Ok(Filters {
            from_hour,
            to_hour,
            district,
            reason,
            status,
        })
    }

    /// Whether the answer is wanted as CSV.
    pub fn csv(&self) -> Result<bool, ApiError> {
        match self.format.as_deref() {
            None | Some("json") => Ok(false),
            Some("csv") => Ok(true),
            Some(_) => Err(bad("invalid_query", "format must be json or csv.")),
        }
    }
}

impl Filters {
    pub(crate) fn counts(&self, group: Vec<Dim>) -> CountQuery {
        CountQuery {
            from_hour: Some(self.from_hour),
            to_hour: Some(self.to_hour),
            area: self.district.clone(),
            reason: self.reason.clone(),
            status: self.status,
            group,
        }
    }

    pub fn from(&self) -> OffsetDateTime {
        hour_start(self.from_hour)
    }

    pub fn to(&self) -> OffsetDateTime {
        hour_start(self.to_hour)
    }

    pub(crate) fn echo(&self) -> Value {
        json!({
            "from": crate::api::rfc3339(self.from()),
            "to": crate::api::rfc3339(self.to()),
            "district": self.district,
            "reason": self.reason,
            "status": self.status,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_900_000_000).unwrap()
    }

    #[test]
    fn ranges_default_to_a_day_and_are_capped() {
        let f = StatsParams::default().filters(now(), MAX_RANGE_HOURS).unwrap();
        assert_eq!(f.to_hour - f.from_hour, 24);
        assert_eq!(f.to_hour, hour_of(now()) + 1);
        let long = StatsParams {
            from: Some("2020-01-01T00:00:00Z".into()),
            to: Some("2025-01-01T00:00:00Z".into()),
            ..StatsParams::default()
        };
        assert!(long.filters(now(), MAX_RANGE_HOURS).is_err());
        let exact = StatsParams {
            from: Some("2025-01-01T00:30:00Z".into()),
            to: Some("2025-01-01T02:00:00Z".into()),
            ..StatsParams::default()
        };
        let f = exact.filters(now(), MAX_RANGE_HOURS).unwrap();
        assert_eq!(
            f.to_hour - f.from_hour,
            2,
            "the hour holding `from`, up to `to` exclusive"
        );
    }

    #[test]
    fn a_range_past_the_last_writable_hour_is_refused() {
        let p = StatsParams {
            from: Some("9999-12-31T23:59:59Z".into()),
            to: Some("9999-12-31T23:59:59Z".into()),
            ..StatsParams::default()
        };
        assert!(p.filters(now(), MAX_RANGE_HOURS).is_err());
        let p = StatsParams {
            from: Some("9999-12-31T20:00:00Z".into()),
            to: Some("9999-12-31T23:00:00Z".into()),
            ..StatsParams::default()
        };
        let f = p
            .filters(now(), MAX_RANGE_HOURS)
            .expect("the last whole hours are a range");
        assert_eq!(f.to_hour - f.from_hour, 3);
    }

    #[test]
    fn filters_are_checked() {
        for (district, ok) in [
            ("3026", true),
            ("30", true),
            ("99", false),
            ("302602", false),
            ("x", false),
        ] {
            let p = StatsParams {
                district: Some(district.into()),
                ..StatsParams::default()
            };
            assert_eq!(p.filters(now(), MAX_RANGE_HOURS).is_ok(), ok, "{district}");
        }
        let p = StatsParams {
            status: Some("bogus".into()),
            ..StatsParams::default()
        };
        assert!(p.filters(now(), MAX_RANGE_HOURS).is_err());
        let p = StatsParams {
            level: Some("thana".into()),
            ..StatsParams::default()
        };
        assert!(p.only(&["from"]).is_err());
        assert!(p.only(&["level"]).is_ok());
    }
}
