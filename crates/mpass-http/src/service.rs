//! The citizen's actions, shared by the JSON API and the web pages so both follow the
//! same rules: each function parses, checks, writes and logs once; callers only adapt
//! input and output to their medium (JSON or HTML).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;

use mpass_domain::application::{Application, ApplicationInput, Status};
use mpass_domain::audit::Actor;
use mpass_domain::ids::{ApplicationId, PassId, UserId};
use mpass_domain::language::Language;
use mpass_domain::phone::Phone;
use mpass_domain::photo::{Photo, PhotoError, sanitize_photo};
use mpass_domain::ports::{
    NewApplication, NewJob, OtpCheck, OtpOrigin, OtpSendRefused, PassRecord, RevokeOutcome, StoredProfile,
    SubmitOutcome,
};
use mpass_domain::profile::ProfileInput;
use mpass_domain::token::{REFRESH_TTL_SECS, hash_refresh_token, new_refresh_token};
use mpass_domain::{notify, otp};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

mod review;
pub(crate) use review::*;

/// A freshly issued access and refresh token pair.
#[derive(Debug, Clone)]
pub(crate) struct Tokens {
    pub access: String,
    pub refresh: String,
}

/// The socket peer, when the server runs with connect info (it always does outside tests).
pub(crate) struct Peer(pub Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0)))
    }
}

/// The client address for rate limits: the socket peer, or the rightmost forwarded
/// address when the operator says a proxy of theirs is in front; an IPv6 client by its /64
/// ([`crate::ratelimit::counted`]).
pub(crate) fn client_ip(state: &AppState, headers: &HeaderMap, peer: Option<SocketAddr>) -> IpAddr {
    let forwarded = state.settings.trust_forwarded_for.then(|| {
        headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse().ok())
    });
    let ip = forwarded
        .flatten()
        .unwrap_or_else(|| peer.map_or(IpAddr::from([0, 0, 0, 0]), |p| p.ip()));
    crate::ratelimit::counted(ip)
}

/// Parses a phone number, answering with the bilingual field error the citizen sees.
pub(crate) fn parse_phone(raw: &str) -> Result<Phone, ApiError> {
    Phone::parse(raw).ok_or_else(|| {
        ApiError::field(
            "phone",
            "invalid_phone",
            "Enter a Bangladeshi mobile number, e.g. 01712345678.",
            "বাংলাদেশি মোবাইল নম্বর দিন, যেমন ০১৭১২৩৪৫৬৭৮।",
        )
    })
}

/// Sends a login code to `raw_phone` in `lang`, the language of the request (the person
/// may have no account yet); rate-limited per client `address` (as [`client_ip`] counts
/// it) and per phone. The address's limit is counted by the store, so it holds across API
/// nodes; each node's limiter in memory turns a flood away before it reaches the store.
pub(crate) async fn send_otp(
    state: &AppState,
    raw_phone: &str,
    address: IpAddr,
    lang: Language,
) -> Result<(), ApiError> {
    let phone = parse_phone(raw_phone)?;
    state
        .otp_ip_limit
        .check(address)
        .map_err(|retry_after| ApiError::RateLimited { retry_after })?;
    let origin = OtpOrigin {
        address: address.to_string(),
        max_per_minute: state.settings.otp_per_ip_per_minute.max(1),
    };
    let code = otp::generate_code();
    let hash = otp::hash_code(&state.settings.otp_key, phone.as_str(), &code);
    let body = notify::otp(lang, &code, otp::CODE_TTL_SECS / 60);
    let sms = NewJob::login_code(&phone, &body);
    match state
        .store
        .otp_issue(&phone, &hash, sms, Some(&origin), OffsetDateTime::now_utc())
        .await?
    {
        Ok(()) => {
            state.queue.notify();
            Ok(())
        }
        Err(OtpSendRefused::RetryAfter(retry_after)) => Err(ApiError::RateLimited { retry_after }),
    }
}

fn invalid_code() -> ApiError {
    ApiError::field(
        "code",
        "invalid_code",
        "The code is wrong or has expired. Ask for a new one.",
        "কোডটি ভুল বা মেয়াদোত্তীর্ণ। নতুন কোড চান।",
    )
}

fn access_token(state: &AppState, user: &mpass_domain::ports::User, now: OffsetDateTime) -> String {
    state.tokens.issue_access(
        &user.id.to_string(),
        user.role_names(),
        user.districts(),
        now.unix_timestamp(),
    )
}

/// Exchanges a phone and its code for tokens, creating the user on first login.
pub(crate) async fn login(state: &AppState, raw_phone: &str, code: &str) -> Result<Tokens, ApiError> {
    let phone = parse_phone(raw_phone)?;
    if !otp::is_well_formed(code) {
        return Err(invalid_code());
    }
    let now = OffsetDateTime::now_utc();
    let hash = otp::hash_code(&state.settings.otp_key, phone.as_str(), code);
    match state.store.otp_check(&phone, &hash, now).await? {
        OtpCheck::Valid => {}
        OtpCheck::Invalid => return Err(invalid_code()),
    }
    let user = state.store.user_by_phone_or_create(&phone, now).await?;
    tracing::info!(user.id = %user.id, "auth.login");
    let access = access_token(state, &user, now);
    let (refresh, refresh_hash) = new_refresh_token();
    state
        .store
        .refresh_create(&refresh_hash, user.id, now + Duration::seconds(REFRESH_TTL_SECS))
        .await?;
    Ok(Tokens { access, refresh })
}

/// Rotates a refresh token: a new access token and a new refresh token.
pub(crate) async fn refresh(state: &AppState, refresh_token: &str) -> Result<Tokens, ApiError> {
    if refresh_token.len() > 128 {
        return Err(ApiError::Unauthorized);
    }
    let now = OffsetDateTime::now_utc();
    let old = hash_refresh_token(refresh_token);
    let (refresh, new_hash) = new_refresh_token();
    let expires = now + Duration::seconds(REFRESH_TTL_SECS);
    let user_id = state
        .store
        .refresh_rotate(&old, &new_hash, now, expires)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let user = state.store.user(user_id).await?.ok_or(ApiError::Unauthorized)?;
    Ok(Tokens {
        access: access_token(state, &user, now),
        refresh,
    })
}

/// The language of `user`'s messages: their choice, else Bangla.
pub(crate) async fn language_of(state: &AppState, user: UserId) -> Result<Language, ApiError> {
    Ok(state
        .store
        .user_language(user)
        .await?
        .unwrap_or(Language::NOTIFICATION_DEFAULT))
}

/// Parses an optional `language` field of a request body (`en` or `bn`).
pub(crate) fn parse_language(raw: &str) -> Result<Language, ApiError> {
    Language::parse(raw)
        .ok_or_else(|| ApiError::field("language", "invalid", "Must be en or bn.", "en অথবা bn হতে হবে।"))
}

/// Remembers the language of the user's messages.
pub(crate) async fn set_language(state: &AppState, user: UserId, lang: Language) -> Result<(), ApiError> {
    state.store.set_user_language(user, lang).await?;
    tracing::info!(user.id = %user, language = lang.code(), "user.language_set");
    Ok(())
}

/// Validates and saves the caller's profile (and the language of their messages, when
/// the input names one); returns the profile as stored.
pub(crate) async fn save_profile(
    state: &AppState,
    user_id: UserId,
    input: &ProfileInput,
) -> Result<StoredProfile, ApiError> {
    let now = OffsetDateTime::now_utc();
    let profile = input.validate(now.date()).map_err(ApiError::Validation)?;
    state.store.put_profile(user_id, &profile, now).await?;
    if let Some(lang) = input.language() {
        state.store.set_user_language(user_id, lang).await?;
    }
    state
        .store
        .profile(user_id)
        .await?
        .ok_or_else(|| ApiError::Internal("profile vanished after write".into()))
}

/// Checks a photo by its content, strips its metadata and stores it with the profile;
/// returns its description (the bytes are moved into storage).
pub(crate) async fn save_photo(state: &AppState, user_id: UserId, body: &[u8]) -> Result<Photo, ApiError> {
    let mut photo = sanitize_photo(body).map_err(|e: PhotoError| {
        if e.code() == "photo_too_large" {
            return ApiError::PayloadTooLarge;
        }
        ApiError::field("photo", e.code(), &e.to_string(), e.message_bn())
    })?;
    if state.store.profile(user_id).await?.is_none() {
        return Err(ApiError::Conflict {
            code: "profile_required",
            detail: "Save your profile before adding a photo.".into(),
        });
    }
    let digest = Sha256::digest(&photo.bytes);
    let ext = if photo.kind.content_type() == "image/png" {
        "png"
    } else {
        "jpg"
    };
    let key = format!("photos/{}/{}.{ext}", user_id, otp::hex(&digest[..12]));
    // The bytes are stored; the caller gets the photo's description.
    state.objects.put(&key, std::mem::take(&mut photo.bytes)).await?;
    state
        .store
        .set_photo(user_id, &key, photo.kind.content_type(), OffsetDateTime::now_utc())
        .await?;
    Ok(photo)
}

/// Validates and durably stores an application with its decision job. `idempotency` is the
/// client's key and the bytes that identify the request; a repeat answers the first result
/// (`true` = replayed).
pub(crate) async fn submit_application(
    state: &AppState,
    user_id: UserId,
    input: &ApplicationInput,
    idempotency: Option<(String, &[u8])>,
) -> Result<(Application, bool), ApiError> {
    let policy = state.policy();
    let details = input
        .validate(&|r| policy.category(r).is_some())
        .map_err(ApiError::Validation)?;
    store_application(state, user_id, details, idempotency).await
}

/// Durably stores validated application `details` with its decision job (no idempotency
/// key): the legacy `/v1` API's path into the same transaction, queue and policy.
pub(crate) async fn submit_details(
    state: &AppState,
    user_id: UserId,
    details: mpass_domain::application::ApplicationDetails,
) -> Result<Application, ApiError> {
    store_application(state, user_id, details, None)
        .await
        .map(|(app, _)| app)
}

async fn store_application(
    state: &AppState,
    user_id: UserId,
    details: mpass_domain::application::ApplicationDetails,
    idempotency: Option<(String, &[u8])>,
) -> Result<(Application, bool), ApiError> {
    if state.store.profile(user_id).await?.is_none() {
        return Err(ApiError::Conflict {
            code: "profile_required",
            detail: "Complete your profile before applying.".into(),
        });
    }
    let new = NewApplication {
        id: ApplicationId::new(),
        user_id,
        details,
        submitted_at: now_ms(),
        idempotency: idempotency.map(|(k, raw)| (k, otp::hex(&Sha256::digest(raw)))),
        // A citizen needs a few a day; a script with one citizen's token must not flood the
        // store and the decision queue (the store counts: `NewApplication::max_per_hour`).
        max_per_hour: state.settings.submissions_per_citizen_per_hour,
    };
    let (app, replayed) = match state.store.submit_application(new).await? {
        SubmitOutcome::Created(app) => (app, false),
        SubmitOutcome::Replayed(app) => (app, true),
        SubmitOutcome::KeyReused => return Err(ApiError::IdempotencyKeyReused),
        SubmitOutcome::TooMany { retry_after } => return Err(ApiError::RateLimited { retry_after }),
    };
    if !replayed {
        state.queue.notify();
        tracing::info!(application.id = %app.id, "application.submitted");
    }
    Ok((app, replayed))
}

/// The owner withdraws an application; 404 for others, 409 when it can no longer be cancelled.
pub(crate) async fn cancel_application(
    state: &AppState,
    user_id: UserId,
    id: ApplicationId,
) -> Result<Application, ApiError> {
    let (app, cancelled) = state
        .store
        .cancel_application(id, user_id, OffsetDateTime::now_utc())
        .await?
        .ok_or(ApiError::NotFound)?;
    if !cancelled {
        return Err(ApiError::Conflict {
            code: "not_cancellable",
            detail: format!("An application that is {} cannot be cancelled.", app.status.as_str()),
        });
    }
    tracing::info!(application.id = %app.id, "application.cancelled");
    Ok(app)
}

/// Longest revocation reason, in characters.
pub(crate) const MAX_REVOKE_REASON: usize = 200;

/// Checks a revocation reason: 1 to 200 characters after trimming, no control characters.
pub(crate) fn parse_revoke_reason(raw: &str) -> Result<&str, ApiError> {
    let reason = raw.trim();
    let n = reason.chars().count();
    if n == 0 || n > MAX_REVOKE_REASON || reason.chars().any(char::is_control) {
        return Err(ApiError::field(
            "reason",
            "invalid_reason",
            "Give a reason of 1 to 200 characters, on one line.",
            "১ থেকে ২০০ অক্ষরের মধ্যে এক লাইনে কারণ লিখুন।",
        ));
    }
    Ok(reason)
}

/// An admin or police supervisor (checked by the caller) revokes a pass: the application
/// becomes `revoked`, the pass joins the revocation list and the holder is told by SMS, all
/// in one transaction. 404 for an unknown pass, 409 when it is already revoked or cancelled.
pub(crate) async fn revoke_pass(
    state: &AppState,
    actor: UserId,
    pass_id: PassId,
    reason: &str,
) -> Result<Application, ApiError> {
    let reason = parse_revoke_reason(reason)?;
    let pass = state.store.pass(pass_id).await?.ok_or(ApiError::NotFound)?;
    let holder = state
        .store
        .user(pass.user_id)
        .await?
        .ok_or_else(|| ApiError::Internal(format!("holder of pass {pass_id} not found")))?;
    let body = notify::revoked(language_of(state, holder.id).await?, &pass.short_code, reason);
    let sms = NewJob::sms(&holder.phone, &body);
    match state
        .store
        .revoke_pass(pass_id, reason, Actor::user(actor), vec![sms], now_ms())
        .await?
    {
        RevokeOutcome::Revoked(app) => {
            state.queue.notify();
            tracing::info!(pass.id = %pass_id, application.id = %app.id, "pass.revoked");
            Ok(app)
        }
        RevokeOutcome::AlreadyRevoked => Err(ApiError::Conflict {
            code: "already_revoked",
            detail: "This pass is already revoked or cancelled.".into(),
        }),
        RevokeOutcome::NotFound => Err(ApiError::NotFound),
    }
}

/// Now, to the millisecond: instants are stored to the millisecond, so answers made before
/// and after a write agree.
pub(crate) fn now_ms() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(now.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(now)
}

/// A pass and its application, if `user` holds it or `staff` may read any; 404 otherwise
/// (never revealing that someone else's pass exists).
pub(crate) async fn visible_pass(
    state: &AppState,
    user: UserId,
    staff: bool,
    raw_id: &str,
) -> Result<(PassRecord, Application), ApiError> {
    let id = PassId::parse(raw_id).ok_or(ApiError::NotFound)?;
    let pass = state.store.pass(id).await?.ok_or(ApiError::NotFound)?;
    if pass.user_id != user && !staff {
        return Err(ApiError::NotFound);
    }
    let app = state
        .store
        .application(pass.application_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok((pass, app))
}

/// A pass's current status, derived from its application and the clock.
pub(crate) fn pass_status(pass: &PassRecord, app_status: Status, now: OffsetDateTime) -> &'static str {
    match app_status {
        Status::Cancelled => "cancelled",
        Status::Revoked => "revoked",
        _ if now < pass.valid_from => "not_yet_valid",
        _ if now >= pass.valid_until => "expired",
        _ => "active",
    }
}
