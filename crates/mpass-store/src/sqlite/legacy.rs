//! The legacy `/v1` API's own records (SPEC §12), on SQLite: used upload names, legacy
//! registrations and login attempts by phone and day.

use mpass_domain::ids::UserId;
use mpass_domain::legacy::LegacyRegistration;
use mpass_domain::phone::Phone;
use rusqlite::{Connection, OptionalExtension, params};

pub(super) fn upload_use(c: &Connection, name: &str, now: i64) -> rusqlite::Result<bool> {
    let inserted = c
        .prepare_cached("INSERT INTO legacy_uploads (name, used_at) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING")?
        .execute(params![name, now])?;
    Ok(inserted == 1)
}

pub(super) fn registration_put(
    c: &Connection,
    user: UserId,
    reg: &LegacyRegistration,
    now: i64,
) -> rusqlite::Result<bool> {
    let inserted = c
        .prepare_cached(
            "INSERT INTO legacy_registrations (user_id, district, thana, photo_url, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (user_id) DO NOTHING",
        )?
        .execute(params![user.to_string(), reg.district, reg.thana, reg.photo_url, now])?;
    Ok(inserted == 1)
}

pub(super) fn registration(c: &Connection, user: UserId) -> rusqlite::Result<Option<LegacyRegistration>> {
    c.prepare_cached("SELECT district, thana, photo_url FROM legacy_registrations WHERE user_id = ?1")?
        .query_row(params![user.to_string()], |r| {
            Ok(LegacyRegistration {
                district: r.get(0)?,
                thana: r.get(1)?,
                photo_url: r.get(2)?,
            })
        })
        .optional()
}

pub(super) fn login_attempt(c: &Connection, phone: &Phone, day: i64, max: u32) -> rusqlite::Result<bool> {
    c.prepare_cached("DELETE FROM legacy_login_days WHERE day < ?1")?
        .execute([day])?;
    let counted: Option<i64> = c
        .prepare_cached(
            "INSERT INTO legacy_login_days (day, phone, attempts) VALUES (?1, ?2, 1)
             ON CONFLICT (day, phone) DO UPDATE SET attempts = attempts + 1 WHERE attempts < ?3
             RETURNING attempts",
        )?
        .query_row(params![day, phone.as_str(), max.max(1)], |r| r.get(0))
        .optional()?;
    Ok(counted.is_some())
}

pub(super) fn login_refund(c: &Connection, phone: &Phone, day: i64) -> rusqlite::Result<()> {
    c.prepare_cached(
        "UPDATE legacy_login_days SET attempts = attempts - 1 WHERE day = ?1 AND phone = ?2 AND attempts > 0",
    )?
    .execute(params![day, phone.as_str()])?;
    Ok(())
}
