//! The admin pages' queries: role grants, revoking a role, the audited application search.

use mpass_domain::audit::{Actor, AuditEvent};
use mpass_domain::ids::UserId;
use mpass_domain::phone::Phone;
use mpass_domain::ports::{AdminSearch, GrantRow, Role, RoleGrant, SearchHit};
use mpass_domain::profile::IdType;
use rusqlite::{Connection, params};

use super::applications::{APP_COLUMNS, app_from_row};
use super::{from_ms, json_col};

pub(super) fn grants_list(c: &Connection) -> rusqlite::Result<Vec<GrantRow>> {
    let mut st = c.prepare_cached(
        "SELECT g.user_id, u.phone, g.role, g.districts, g.granted_at FROM role_grants g
         JOIN users u ON u.id = g.user_id WHERE g.role <> 'citizen' ORDER BY g.role, u.phone",
    )?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, i64>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (user, phone, role, districts, at) = row?;
        let (Some(user), Some(role)) = (UserId::parse(&user), Role::parse(&role)) else {
            continue;
        };
        out.push(GrantRow {
            user,
            phone: Phone::from_stored(phone),
            grant: RoleGrant {
                role,
                districts: json_col(&districts)?,
            },
            granted_at: from_ms(at),
        });
    }
    Ok(out)
}

pub(super) fn revoke_role(c: &Connection, user: UserId, role: Role, actor: Actor, now: i64) -> rusqlite::Result<bool> {
    let n = c
        .prepare_cached("DELETE FROM role_grants WHERE user_id = ?1 AND role = ?2")?
        .execute(params![user.to_string(), role.as_str()])?;
    if n == 0 {
        return Ok(false);
    }
    super::audit::append(c, AuditEvent::role_revoked(from_ms(now), actor, user, role))?;
    Ok(true)
}

/// The document types as a SQL list, so `(id_type, id_number)` is an index lookup per type.
pub(crate) fn id_types_sql() -> String {
    [
        IdType::NID,
        IdType::BR,
        IdType::PP,
        IdType::DL,
        IdType::SID,
        IdType::EID,
    ]
    .iter()
    .map(|t| format!("'{}'", t.as_str()))
    .collect::<Vec<_>>()
    .join(", ")
}

pub(super) fn search(
    c: &Connection,
    q: &AdminSearch,
    actor: Actor,
    now: i64,
    limit: u32,
) -> rusqlite::Result<Vec<SearchHit>> {
    let (filter, value) = match q {
        AdminSearch::Phone(p) => (
            "user_id IN (SELECT id FROM users WHERE phone = ?1)".to_string(),
            p.as_str().to_string(),
        ),
        AdminSearch::Document(d) => (
            format!(
                "user_id IN (SELECT user_id FROM profiles WHERE id_type IN ({}) AND id_number = ?1)",
                id_types_sql()
            ),
            d.clone(),
        ),
        AdminSearch::Id(id) => ("id = ?1".to_string(), id.to_string()),
    };
    let sql =
        format!("SELECT {APP_COLUMNS} FROM applications WHERE {filter} ORDER BY id DESC LIMIT CAST(?2 AS INTEGER)");
    let apps: Vec<_> = c
        .prepare(&sql)?
        .query_map(params![value, limit], app_from_row)?
        .collect::<rusqlite::Result<_>>()?;
    let mut hits = Vec::with_capacity(apps.len());
    let mut phone_st = c.prepare_cached("SELECT phone FROM users WHERE id = ?1")?;
    for application in apps {
        let phone: String = phone_st.query_row([application.user_id.to_string()], |r| r.get(0))?;
        hits.push(SearchHit {
            application,
            phone: Phone::from_stored(phone),
        });
    }
    super::audit::append(
        c,
        AuditEvent::admin_search(from_ms(now), actor, q.field(), &q.value(), hits.len()),
    )?;
    Ok(hits)
}
