//! The legacy `/v1` API's own records (SPEC §12), on SQLite: used upload names and
//! legacy registrations.

use mpass_domain::ids::UserId;
use mpass_domain::legacy::LegacyRegistration;
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
