//! Legacy tokens: a JWT whose payload the old clients decode (`id` = the phone, `name`,
//! `photo`, `iat`, `exp` one hour later, `iss`, `aud`), signed with our access-token key.
//!
//! Signed EdDSA with the same key as native access tokens (one key to keep, rotate and
//! publish at `/.well-known/jwks.json`; the legacy clients only decode the payload, never
//! check the signature). The two kinds cannot stand in for each other: a legacy token has
//! its own audience (`{iss}-v1`) and no `roles`, so `verify_access` refuses it, and a
//! native token has the wrong audience here.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use mpass_domain::ids::UserId;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::LegacyError;
use crate::state::AppState;

/// Lifetime of a legacy token (SPEC §12: one hour).
pub(crate) const LEGACY_TTL_SECS: i64 = 3600;

/// The payload of a legacy token. `sub` (our user id) is added so requests need no lookup.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LegacyClaims {
    /// The phone, national form (`01XXXXXXXXX`), as the old clients expect.
    pub id: String,
    pub name: String,
    pub photo: String,
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
}

fn audience(state: &AppState) -> String {
    format!("{}-v1", state.tokens.issuer)
}

/// Issues a legacy token for `user`.
pub(crate) fn issue(state: &AppState, user: UserId, phone: &str, name: &str, photo: &str) -> String {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    state.tokens.sign(&LegacyClaims {
        id: phone.into(),
        name: name.into(),
        photo: photo.into(),
        sub: user.to_string(),
        iat: now,
        exp: now + LEGACY_TTL_SECS,
        iss: state.tokens.issuer.clone(),
        aud: audience(state),
    })
}

/// Checks a legacy token: signature, issuer, audience, expiry. Any failure → 401.
pub(crate) fn verify(state: &AppState, token: &str) -> Result<LegacyCaller, LegacyError> {
    let claims: LegacyClaims = state.tokens.verify_raw(token).map_err(|_| LegacyError::bad_token())?;
    if claims.iss != state.tokens.issuer || claims.aud != audience(state) {
        return Err(LegacyError::bad_token());
    }
    if OffsetDateTime::now_utc().unix_timestamp() >= claims.exp {
        return Err(LegacyError::bad_token());
    }
    let user_id = UserId::parse(&claims.sub).ok_or_else(LegacyError::bad_token)?;
    Ok(LegacyCaller { user_id })
}

/// A caller proven by a legacy token in `Authorization: Bearer`. Missing or malformed
/// header → 403; a bad or expired token → 401 (the old API's distinction).
#[derive(Debug, Clone, Copy)]
pub(crate) struct LegacyCaller {
    pub user_id: UserId,
}

/// The token of a `Bearer` header: `None` when absent, `Some(Err)` when malformed.
pub(crate) fn header_token(parts: &Parts) -> Option<Result<&str, LegacyError>> {
    let value = parts.headers.get(axum::http::header::AUTHORIZATION)?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, t)| scheme.eq_ignore_ascii_case("bearer") && !t.trim().is_empty())
        .map(|(_, t)| t.trim());
    Some(token.ok_or_else(LegacyError::no_token))
}

impl FromRequestParts<AppState> for LegacyCaller {
    type Rejection = LegacyError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = header_token(parts).ok_or_else(LegacyError::no_token)??;
        verify(state, token)
    }
}
