//! The legacy `/v1` API's own records (SPEC §12), on PostgreSQL: used upload names, legacy
//! registrations and login attempts by phone and day.

use deadpool_postgres::GenericClient;
use mpass_domain::ids::UserId;
use mpass_domain::legacy::LegacyRegistration;
use mpass_domain::phone::Phone;

use super::{PgError, exec, query_opt};

pub(super) async fn upload_use(c: &impl GenericClient, name: &str, now: i64) -> Result<bool, PgError> {
    let inserted = exec(
        c,
        "INSERT INTO legacy_uploads (name, used_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        &[&name, &now],
    )
    .await?;
    Ok(inserted == 1)
}

fn int(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

pub(super) async fn registration_put(
    c: &impl GenericClient,
    user: UserId,
    reg: &LegacyRegistration,
    now: i64,
) -> Result<bool, PgError> {
    let inserted = exec(
        c,
        "INSERT INTO legacy_registrations (user_id, district, thana, photo_url, created_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id) DO NOTHING",
        &[&user.0, &int(reg.district), &int(reg.thana), &reg.photo_url, &now],
    )
    .await?;
    Ok(inserted == 1)
}

pub(super) async fn registration(c: &impl GenericClient, user: UserId) -> Result<Option<LegacyRegistration>, PgError> {
    let row = query_opt(
        c,
        "SELECT district, thana, photo_url FROM legacy_registrations WHERE user_id = $1",
        &[&user.0],
    )
    .await?;
    row.map(|r| {
        let district: i32 = r.try_get(0)?;
        let thana: i32 = r.try_get(1)?;
        Ok(LegacyRegistration {
            district: u32::try_from(district).unwrap_or_default(),
            thana: u32::try_from(thana).unwrap_or_default(),
            photo_url: r.try_get(2)?,
        })
    })
    .transpose()
}

/// The upsert locks the phone's row for the day, so concurrent attempts are counted in turn.
pub(super) async fn login_attempt(c: &impl GenericClient, phone: &Phone, day: i64, max: u32) -> Result<bool, PgError> {
    let counted = query_opt(
        c,
        "INSERT INTO legacy_login_days (day, phone, attempts) VALUES ($1, $2, 1)
         ON CONFLICT (day, phone) DO UPDATE SET attempts = legacy_login_days.attempts + 1
         WHERE legacy_login_days.attempts < $3
         RETURNING attempts",
        &[&day, &phone.as_str(), &i64::from(max.max(1))],
    )
    .await?;
    Ok(counted.is_some())
}

pub(super) async fn login_refund(c: &impl GenericClient, phone: &Phone, day: i64) -> Result<(), PgError> {
    exec(
        c,
        "UPDATE legacy_login_days SET attempts = attempts - 1 WHERE day = $1 AND phone = $2 AND attempts > 0",
        &[&day, &phone.as_str()],
    )
    .await?;
    Ok(())
}
