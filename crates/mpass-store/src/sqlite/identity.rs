//! Users, roles, one-time codes, refresh tokens and profiles.

use mpass_domain::audit::{Actor, AuditEvent};
use mpass_domain::ids::UserId;
use mpass_domain::otp::MAX_ATTEMPTS;
use mpass_domain::phone::Phone;
use mpass_domain::ports::{NewJob, OtpCheck, OtpOrigin, OtpSendRefused, Role, RoleGrant, StoredProfile, User};
use mpass_domain::profile::Profile;
use rusqlite::{Connection, OptionalExtension, params};

use super::{from_ms, jobs, json_col, to_json};

pub(super) fn otp_issue(
    c: &Connection,
    phone: &Phone,
    hash: &str,
    sms: &NewJob,
    origin: Option<&OtpOrigin>,
    now: i64,
) -> rusqlite::Result<Result<(), OtpSendRefused>> {
    let hour_ago = now - 3_600_000;
    let (count, last, oldest): (i64, Option<i64>, Option<i64>) = c
        .prepare_cached("SELECT count(*), max(sent_at), min(sent_at) FROM otp_sends WHERE phone = ?1 AND sent_at > ?2")?
        .query_row(params![phone.as_str(), hour_ago], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    if let Err(wait) = mpass_domain::otp::send_allowed(count, last, oldest, now) {
        return Ok(Err(OtpSendRefused::RetryAfter(wait)));
    }
    if let Some(origin) = origin {
        // One more send for the address this minute, unless it has had its `max_per_minute`
        // in the last 60 seconds, as estimated from this minute's and the last's.
        let minute = mpass_domain::otp::address_minute(now);
        c.prepare_cached("DELETE FROM otp_address_minutes WHERE minute < ?1 - 1")?
            .execute([minute])?;
        let sends = |m: i64| -> rusqlite::Result<i64> {
            let n = c
                .prepare_cached("SELECT sends FROM otp_address_minutes WHERE minute = ?1 AND address = ?2")?
                .query_row(params![m, origin.address], |r| r.get(0))
                .optional()?;
            Ok(n.unwrap_or(0))
        };
        let previous = sends(minute - 1)?;
        let room = mpass_domain::otp::address_room(origin.max_per_minute, previous, now);
        let counted: Option<i64> = if room < 1 {
            None
        } else {
            c.prepare_cached(
                "INSERT INTO otp_address_minutes (minute, address, sends) VALUES (?1, ?2, 1)
                 ON CONFLICT (minute, address) DO UPDATE SET sends = sends + 1 WHERE sends < ?3
                 RETURNING sends",
            )?
            .query_row(params![minute, origin.address, room], |r| r.get(0))
            .optional()?
        };
        if counted.is_none() {
            let wait = mpass_domain::otp::address_wait(origin.max_per_minute, previous, sends(minute)?, now);
            return Ok(Err(OtpSendRefused::RetryAfter(wait)));
        }
    }
    c.prepare_cached("DELETE FROM otp_sends WHERE phone = ?1 AND sent_at <= ?2")?
        .execute(params![phone.as_str(), hour_ago])?;
    c.prepare_cached("INSERT INTO otp_sends (phone, sent_at) VALUES (?1, ?2)")?
        .execute(params![phone.as_str(), now])?;
    c.prepare_cached("INSERT INTO otp_codes (phone, code_hash, expires_at, attempts) VALUES (?1, ?2, ?3, 0)
         ON CONFLICT (phone) DO UPDATE SET code_hash = excluded.code_hash, expires_at = excluded.expires_at, attempts = 0")?.execute(params![phone.as_str(), hash, now + mpass_domain::otp::CODE_TTL_SECS * 1000],
    )?;
    jobs::insert(c, sms, now)?;
    Ok(Ok(()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub(super) fn otp_check(c: &Connection, phone: &Phone, hash: &str, now: i64) -> rusqlite::Result<OtpCheck> {
    let row: Option<(String, i64, i64)> = c
        .prepare_cached("SELECT code_hash, expires_at, attempts FROM otp_codes WHERE phone = ?1")?
        .query_row([phone.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((stored, expires, attempts)) = row else {
        return Ok(OtpCheck::Invalid);
    };
    if now >= expires || attempts >= i64::from(MAX_ATTEMPTS) {
        return Ok(OtpCheck::Invalid);
    }
    if constant_time_eq(stored.as_bytes(), hash.as_bytes()) {
        c.prepare_cached("DELETE FROM otp_codes WHERE phone = ?1")?
            .execute([phone.as_str()])?;
        return Ok(OtpCheck::Valid);
    }
    c.prepare_cached("UPDATE otp_codes SET attempts = attempts + 1 WHERE phone = ?1")?
        .execute([phone.as_str()])?;
    Ok(OtpCheck::Invalid)
}

fn grants(c: &Connection, user: &str) -> rusqlite::Result<Vec<RoleGrant>> {
    let mut st = c.prepare_cached("SELECT role, districts FROM role_grants WHERE user_id = ?1 ORDER BY role")?;
    let rows = st.query_map([user], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (role, districts) = row?;
        if let Some(role) = Role::parse(&role) {
            out.push(RoleGrant {
                role,
                districts: json_col(&districts)?,
            });
        }
    }
    Ok(out)
}

/// `sql` selects `id, phone` of at most one user by `?1`; a constant, so that the statement
/// is prepared once per connection (every web page with a session reads its user, the
/// officers' page at every check).
fn user_where(c: &Connection, sql: &'static str, value: &str) -> rusqlite::Result<Option<User>> {
    let row: Option<(String, String)> = c
        .prepare_cached(sql)?
        .query_row([value], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((id, phone)) = row else { return Ok(None) };
    let grants = grants(c, &id)?;
    let id = UserId::parse(&id).ok_or_else(|| rusqlite::Error::InvalidColumnName(format!("bad user id {id}")))?;
    Ok(Some(User {
        id,
        phone: Phone::from_stored(phone),
        grants,
    }))
}

pub(super) fn user_by_id(c: &Connection, id: UserId) -> rusqlite::Result<Option<User>> {
    user_where(c, "SELECT id, phone FROM users WHERE id = ?1", &id.to_string())
}

pub(super) fn user_by_phone(c: &Connection, phone: &Phone) -> rusqlite::Result<Option<User>> {
    user_where(c, "SELECT id, phone FROM users WHERE phone = ?1", phone.as_str())
}

pub(super) fn user_by_phone_or_create(c: &Connection, phone: &Phone, now: i64) -> rusqlite::Result<User> {
    c.prepare_cached("INSERT INTO users (id, phone, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (phone) DO NOTHING")?
        .execute(params![UserId::new().to_string(), phone.as_str(), now])?;
    user_by_phone(c, phone)?.ok_or(rusqlite::Error::QueryReturnedNoRows)
}

pub(super) fn grant_role(
    c: &Connection,
    user: UserId,
    grant: &RoleGrant,
    actor: Actor,
    now: i64,
) -> rusqlite::Result<()> {
    c.prepare_cached(
        "INSERT INTO role_grants (user_id, role, districts, granted_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (user_id, role) DO UPDATE SET districts = excluded.districts, granted_at = excluded.granted_at",
    )?
    .execute(params![
        user.to_string(),
        grant.role.as_str(),
        to_json(&grant.districts),
        now
    ])?;
    super::audit::append(c, AuditEvent::role_granted(from_ms(now), actor, user, grant))?;
    Ok(())
}

pub(super) fn refresh_create(
    c: &Connection,
    hash: &str,
    family: &str,
    user: UserId,
    expires: i64,
) -> rusqlite::Result<()> {
    c.prepare_cached("INSERT INTO refresh_tokens (token_hash, user_id, family, expires_at) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![hash, user.to_string(), family, expires])?;
    Ok(())
}

/// user, family, expires_at, rotated_at, revoked_at
type RefreshRow = (String, String, i64, Option<i64>, Option<i64>);

pub(super) fn refresh_rotate(
    c: &Connection,
    old: &str,
    new: &str,
    now: i64,
    expires: i64,
) -> rusqlite::Result<Option<UserId>> {
    let row: Option<RefreshRow> = c
        .prepare_cached(
            "SELECT user_id, family, expires_at, rotated_at, revoked_at FROM refresh_tokens WHERE token_hash = ?1",
        )?
        .query_row([old], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .optional()?;
    let Some((user, family, exp, rotated, revoked)) = row else {
        return Ok(None);
    };
    if rotated.is_some() {
        // A rotated token came back: someone holds a copy. End the whole family.
        c.prepare_cached("UPDATE refresh_tokens SET revoked_at = ?2 WHERE family = ?1 AND revoked_at IS NULL")?
            .execute(params![family, now])?;
        return Ok(None);
    }
    if revoked.is_some() || now >= exp {
        return Ok(None);
    }
    c.prepare_cached("UPDATE refresh_tokens SET rotated_at = ?2 WHERE token_hash = ?1")?
        .execute(params![old, now])?;
    let user_id = UserId::parse(&user).ok_or(rusqlite::Error::QueryReturnedNoRows)?;
    refresh_create(c, new, &family, user_id, expires)?;
    Ok(Some(user_id))
}

pub(super) fn refresh_revoke(c: &Connection, hash: &str, now: i64) -> rusqlite::Result<()> {
    c.prepare_cached("UPDATE refresh_tokens SET revoked_at = ?2 WHERE family = (SELECT family FROM refresh_tokens WHERE token_hash = ?1) AND revoked_at IS NULL")?.execute(params![hash, now],
    )?;
    Ok(())
}

pub(super) fn refresh_revoke_user(c: &Connection, user: UserId, now: i64) -> rusqlite::Result<()> {
    c.prepare_cached("UPDATE refresh_tokens SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL")?
        .execute(params![user.to_string(), now])?;
    Ok(())
}

pub(super) fn profile(c: &Connection, user: UserId) -> rusqlite::Result<Option<StoredProfile>> {
    let row: Option<(String, Option<String>, Option<String>)> = c
        .prepare_cached("SELECT data, photo_key, photo_content_type FROM profiles WHERE user_id = ?1")?
        .query_row([user.to_string()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    row.map(|(data, photo_key, photo_content_type)| {
        Ok(StoredProfile {
            profile: json_col(&data)?,
            photo_key,
            photo_content_type,
        })
    })
    .transpose()
}

pub(super) fn put_profile(c: &Connection, user: UserId, p: &Profile, now: i64) -> rusqlite::Result<()> {
    c.prepare_cached(
        "INSERT INTO profiles (user_id, data, id_type, id_number, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (user_id) DO UPDATE SET data = excluded.data, id_type = excluded.id_type,
             id_number = excluded.id_number, updated_at = excluded.updated_at",
    )?
    .execute(params![
        user.to_string(),
        to_json(p),
        p.id_type.as_str(),
        p.id_number,
        now
    ])?;
    Ok(())
}

pub(super) fn set_photo(
    c: &Connection,
    user: UserId,
    key: &str,
    content_type: &str,
    now: i64,
) -> rusqlite::Result<bool> {
    let n = c
        .prepare_cached(
            "UPDATE profiles SET photo_key = ?2, photo_content_type = ?3, updated_at = ?4 WHERE user_id = ?1",
        )?
        .execute(params![user.to_string(), key, content_type, now])?;
    Ok(n == 1)
}
