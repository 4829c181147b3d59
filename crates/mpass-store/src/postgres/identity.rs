//! Users, roles, one-time codes, refresh tokens and profiles on PostgreSQL.

use deadpool_postgres::GenericClient;
use mpass_domain::audit::{Actor, AuditEvent};
use mpass_domain::ids::UserId;
use mpass_domain::otp::{CODE_TTL_SECS, MAX_ATTEMPTS};
use mpass_domain::phone::Phone;
use mpass_domain::ports::{NewJob, OtpCheck, OtpOrigin, OtpSendRefused, Role, RoleGrant, StoredProfile, User};
use mpass_domain::profile::Profile;
use uuid::Uuid;

use super::{PgError, exec, from_json, jobs, query, query_one, query_opt, to_json};

/// Records a send if the limits allow. Runs in a transaction; the phone's `otp_codes` row
/// is locked first, so two concurrent requests for one phone are decided one after the other.
pub(super) async fn otp_issue(
    c: &impl GenericClient,
    phone: &Phone,
    hash: &str,
    sms: &NewJob,
    origin: Option<&OtpOrigin>,
    now: i64,
) -> Result<Result<(), OtpSendRefused>, PgError> {
    let phone = phone.as_str();
    // An upsert always locks the row, even when it already existed. A placeholder row
    // (empty hash, expired) is never a valid code.
    exec(
        c,
        "INSERT INTO otp_codes (phone, code_hash, expires_at, attempts) VALUES ($1, '', 0, 0)
         ON CONFLICT (phone) DO UPDATE SET attempts = otp_codes.attempts",
        &[&phone],
    )
    .await?;
    let hour_ago = now - 3_600_000;
    let row = query_one(
        c,
        "SELECT count(*), max(sent_at), min(sent_at) FROM otp_sends WHERE phone = $1 AND sent_at > $2",
        &[&phone, &hour_ago],
    )
    .await?;
    let (count, last, oldest): (i64, Option<i64>, Option<i64>) = (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
    if let Err(wait) = mpass_domain::otp::send_allowed(count, last, oldest, now) {
        return Ok(Err(OtpSendRefused::RetryAfter(wait)));
    }
    if let Some(origin) = origin {
        // One more send for the address this minute, unless it has had its
        // `max_per_minute` in the last 60 seconds, as estimated from this minute's and the
        // last's: the upsert locks the address's row for the minute (after the phone's,
        // always in that order), so concurrent sends from it are counted in turn.
        let minute = mpass_domain::otp::address_minute(now);
        let sends = |m: i64| async move {
            let row = query_opt(
                c,
                "SELECT sends FROM otp_address_minutes WHERE minute = $1 AND address = $2",
                &[&m, &origin.address],
            )
            .await?;
            Ok::<i64, PgError>(row.map(|r| r.try_get(0)).transpose()?.unwrap_or(0))
        };
        let previous = sends(minute - 1).await?;
        let room = mpass_domain::otp::address_room(origin.max_per_minute, previous, now);
        let counted = if room < 1 {
            None
        } else {
            query_opt(
                c,
                "INSERT INTO otp_address_minutes (minute, address, sends) VALUES ($1, $2, 1)
                 ON CONFLICT (minute, address) DO UPDATE SET sends = otp_address_minutes.sends + 1
                 WHERE otp_address_minutes.sends < $3
                 RETURNING sends",
                &[&minute, &origin.address, &room],
            )
            .await?
        };
        if counted.is_none() {
            let current = sends(minute).await?;
            let wait = mpass_domain::otp::address_wait(origin.max_per_minute, previous, current, now);
            return Ok(Err(OtpSendRefused::RetryAfter(wait)));
        }
    }
    exec(
        c,
        "DELETE FROM otp_sends WHERE phone = $1 AND sent_at <= $2",
        &[&phone, &hour_ago],
    )
    .await?;
    exec(
        c,
        "INSERT INTO otp_sends (phone, sent_at) VALUES ($1, $2)",
        &[&phone, &now],
    )
    .await?;
    exec(
        c,
        "UPDATE otp_codes SET code_hash = $2, expires_at = $3, attempts = 0 WHERE phone = $1",
        &[&phone, &hash, &(now + CODE_TTL_SECS * 1000)],
    )
    .await?;
    jobs::insert(c, sms, now).await?;
    Ok(Ok(()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks a code in a transaction, holding the phone's row so concurrent checks count
/// every attempt and at most one consumes the code.
pub(super) async fn otp_check(
    c: &impl GenericClient,
    phone: &Phone,
    hash: &str,
    now: i64,
) -> Result<OtpCheck, PgError> {
    let phone = phone.as_str();
    let row = query_opt(
        c,
        "SELECT code_hash, expires_at, attempts FROM otp_codes WHERE phone = $1 FOR UPDATE",
        &[&phone],
    )
    .await?;
    let Some(row) = row else { return Ok(OtpCheck::Invalid) };
    let (stored, expires, attempts): (String, i64, i32) = (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
    if now >= expires || i64::from(attempts) >= i64::from(MAX_ATTEMPTS) {
        return Ok(OtpCheck::Invalid);
    }
    if constant_time_eq(stored.as_bytes(), hash.as_bytes()) {
        exec(c, "DELETE FROM otp_codes WHERE phone = $1", &[&phone]).await?;
        return Ok(OtpCheck::Valid);
    }
    exec(
        c,
        "UPDATE otp_codes SET attempts = attempts + 1 WHERE phone = $1",
        &[&phone],
    )
    .await?;
    Ok(OtpCheck::Invalid)
}

async fn grants(c: &impl GenericClient, user: Uuid) -> Result<Vec<RoleGrant>, PgError> {
    let rows = query(
        c,
        "SELECT role, districts::text FROM role_grants WHERE user_id = $1 ORDER BY role",
        &[&user],
    )
    .await?;
    let mut out = Vec::new();
    for row in rows {
        let (role, districts): (String, String) = (row.try_get(0)?, row.try_get(1)?);
        if let Some(role) = Role::parse(&role) {
            out.push(RoleGrant {
                role,
                districts: from_json(&districts, "role grant districts")?,
            });
        }
    }
    Ok(out)
}

async fn user_from(c: &impl GenericClient, row: Option<tokio_postgres::Row>) -> Result<Option<User>, PgError> {
    let Some(row) = row else { return Ok(None) };
    let (id, phone): (Uuid, String) = (row.try_get(0)?, row.try_get(1)?);
    Ok(Some(User {
        id: UserId(id),
        phone: Phone::from_stored(phone),
        grants: grants(c, id).await?,
    }))
}

pub(super) async fn user_by_id(c: &impl GenericClient, id: UserId) -> Result<Option<User>, PgError> {
    let row = query_opt(c, "SELECT id, phone FROM users WHERE id = $1", &[&id.0]).await?;
    user_from(c, row).await
}

pub(super) async fn user_by_phone(c: &impl GenericClient, phone: &Phone) -> Result<Option<User>, PgError> {
    let row = query_opt(c, "SELECT id, phone FROM users WHERE phone = $1", &[&phone.as_str()]).await?;
    user_from(c, row).await
}

/// First login creates the user; concurrent first logins agree on one id (unique phone).
pub(super) async fn user_by_phone_or_create(c: &impl GenericClient, phone: &Phone, now: i64) -> Result<User, PgError> {
    exec(
        c,
        "INSERT INTO users (id, phone, created_at) VALUES ($1, $2, $3) ON CONFLICT (phone) DO NOTHING",
        &[&UserId::new().0, &phone.as_str(), &now],
    )
    .await?;
    user_by_phone(c, phone)
        .await?
        .ok_or_else(|| PgError::Corrupt("user vanished after insert".into()))
}

pub(super) async fn grant_role(
    c: &impl GenericClient,
    user: UserId,
    grant: &RoleGrant,
    actor: Actor,
    now: i64,
) -> Result<(), PgError> {
    exec(
        c,
        "INSERT INTO role_grants (user_id, role, districts, granted_at) VALUES ($1, $2, $3::text::jsonb, $4)
         ON CONFLICT (user_id, role) DO UPDATE SET districts = excluded.districts, granted_at = excluded.granted_at",
        &[&user.0, &grant.role.as_str(), &to_json(&grant.districts), &now],
    )
    .await?;
    super::audit::append(c, AuditEvent::role_granted(super::from_ms(now), actor, user, grant)).await?;
    Ok(())
}

pub(super) async fn refresh_create(
    c: &impl GenericClient,
    hash: &str,
    family: &str,
    user: UserId,
    expires: i64,
) -> Result<(), PgError> {
    exec(
        c,
        "INSERT INTO refresh_tokens (token_hash, user_id, family, expires_at) VALUES ($1, $2, $3, $4)",
        &[&hash, &user.0, &family, &expires],
    )
    .await?;
    Ok(())
}

/// Rotates in a transaction with the old token's row locked: of two concurrent uses of
/// one token, the second sees it rotated and ends the family, as reuse of a copy should.
pub(super) async fn refresh_rotate(
    c: &impl GenericClient,
    old: &str,
    new: &str,
    now: i64,
    expires: i64,
) -> Result<Option<UserId>, PgError> {
    let row = query_opt(
        c,
        "SELECT user_id, family, expires_at, rotated_at, revoked_at FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE",
        &[&old],
    )
    .await?;
    let Some(row) = row else { return Ok(None) };
    let (user, family, exp, rotated, revoked): (Uuid, String, i64, Option<i64>, Option<i64>) = (
        row.try_get(0)?,
        row.try_get(1)?,
        row.try_get(2)?,
        row.try_get(3)?,
        row.try_get(4)?,
    );
    if rotated.is_some() {
        // A rotated token came back: someone holds a copy. End the whole family.
        exec(
            c,
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE family = $1 AND revoked_at IS NULL",
            &[&family, &now],
        )
        .await?;
        return Ok(None);
    }
    if revoked.is_some() || now >= exp {
        return Ok(None);
    }
    exec(
        c,
        "UPDATE refresh_tokens SET rotated_at = $2 WHERE token_hash = $1",
        &[&old, &now],
    )
    .await?;
    refresh_create(c, new, &family, UserId(user), expires).await?;
    Ok(Some(UserId(user)))
}

pub(super) async fn refresh_revoke(c: &impl GenericClient, hash: &str, now: i64) -> Result<(), PgError> {
    exec(
        c,
        "UPDATE refresh_tokens SET revoked_at = $2
         WHERE family = (SELECT family FROM refresh_tokens WHERE token_hash = $1) AND revoked_at IS NULL",
        &[&hash, &now],
    )
    .await?;
    Ok(())
}

pub(super) async fn refresh_revoke_user(c: &impl GenericClient, user: UserId, now: i64) -> Result<(), PgError> {
    exec(
        c,
        "UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
        &[&user.0, &now],
    )
    .await?;
    Ok(())
}

pub(super) async fn profile(c: &impl GenericClient, user: UserId) -> Result<Option<StoredProfile>, PgError> {
    let row = query_opt(
        c,
        "SELECT data::text, photo_key, photo_content_type FROM profiles WHERE user_id = $1",
        &[&user.0],
    )
    .await?;
    let Some(row) = row else { return Ok(None) };
    let data: String = row.try_get(0)?;
    Ok(Some(StoredProfile {
        profile: from_json(&data, "profile")?,
        photo_key: row.try_get(1)?,
        photo_content_type: row.try_get(2)?,
    }))
}

pub(super) async fn put_profile(c: &impl GenericClient, user: UserId, p: &Profile, now: i64) -> Result<(), PgError> {
    exec(
        c,
        "INSERT INTO profiles (user_id, data, id_type, id_number, updated_at) VALUES ($1, $2::text::jsonb, $3, $4, $5)
         ON CONFLICT (user_id) DO UPDATE SET data = excluded.data, id_type = excluded.id_type,
             id_number = excluded.id_number, updated_at = excluded.updated_at",
        &[&user.0, &to_json(p), &p.id_type.as_str(), &p.id_number, &now],
    )
    .await?;
    Ok(())
}

pub(super) async fn set_photo(
    c: &impl GenericClient,
    user: UserId,
    key: &str,
    content_type: &str,
    now: i64,
) -> Result<bool, PgError> {
    let n = exec(
        c,
        "UPDATE profiles SET photo_key = $2, photo_content_type = $3, updated_at = $4 WHERE user_id = $1",
        &[&user.0, &key, &content_type, &now],
    )
    .await?;
    Ok(n == 1)
}
