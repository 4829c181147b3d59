//! Authentication as an extractor: a valid Bearer access token, and role checks.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use std::sync::Arc;

use mpass_domain::ids::UserId;
use mpass_domain::token::AccessClaims;
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::state::AppState;

/// The caller, proven by a valid access token.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: UserId,
    /// The token's claims, shared with the cache of verified tokens.
    claims: Arc<AccessClaims>,
}

impl Caller {
    /// The caller of verified `claims`, if their subject is a user id.
    pub fn of(claims: Arc<AccessClaims>) -> Option<Caller> {
        Some(Caller {
            user_id: UserId::parse(&claims.sub)?,
            claims,
        })
    }

    pub fn roles(&self) -> &[String] {
        &self.claims.roles
    }

    /// District geocodes of the caller's grants (reviewers work only these).
    pub fn districts(&self) -> &[String] {
        &self.claims.districts
    }

    pub fn has_role(&self, role: &str) -> bool {
        self.roles().iter().any(|r| r == role)
    }

    /// Whether the caller reviews applications of `district`.
    pub fn reviews_district(&self, district: &str) -> bool {
        self.has_role("reviewer") && self.districts().iter().any(|d| d == district)
    }

    /// Staff who may read any application or pass (reviewers only in their districts,
    /// checked by the caller of this).
    pub fn is_staff(&self) -> bool {
        ["admin", "police", "police_supervisor", "reviewer"]
            .iter()
            .any(|r| self.has_role(r))
    }
}

/// The Bearer token of a request, if any.
pub fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or(ApiError::Unauthorized)?;
        let claims = state
            .tokens
            .verify_access(token, OffsetDateTime::now_utc().unix_timestamp())
            .map_err(|_| ApiError::Unauthorized)?;
        Caller::of(claims).ok_or(ApiError::Unauthorized)
    }
}
