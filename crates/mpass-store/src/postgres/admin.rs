//! The admin pages' queries on PostgreSQL: role grants, revoking a role, the audited search.

use deadpool_postgres::GenericClient;
use mpass_domain::audit::{Actor, AuditEvent};
use mpass_domain::ids::UserId;
use mpass_domain::phone::Phone;
use mpass_domain::ports::{AdminSearch, GrantRow, Role, RoleGrant, SearchHit};
use mpass_domain::profile::IdType;
use uuid::Uuid;

use super::applications::{SELECT_APP, app_from_row};
use super::{PgError, big, exec, from_json, from_ms, query, query_one};

pub(super) async fn grants_list(c: &impl GenericClient) -> Result<Vec<GrantRow>, PgError> {
    let rows = query(
        c,
        "SELECT g.user_id, u.phone, g.role, g.districts::text, g.granted_at FROM role_grants g
         JOIN users u ON u.id = g.user_id WHERE g.role <> 'citizen' ORDER BY g.role, u.phone",
        &[],
    )
    .await?;
    let mut out = Vec::new();
    for r in rows {
        let role: String = r.try_get(2)?;
        let Some(role) = Role::parse(&role) else { continue };
        let districts: String = r.try_get(3)?;
        out.push(GrantRow {
            user: UserId(r.try_get(0)?),
            phone: Phone::from_stored(r.try_get(1)?),
            grant: RoleGrant {
                role,
                districts: from_json(&districts, "role grant districts")?,
            },
            granted_at: from_ms(r.try_get(4)?),
        });
    }
    Ok(out)
}

pub(super) async fn revoke_role(
    c: &impl GenericClient,
    user: UserId,
    role: Role,
    actor: Actor,
    now: i64,
) -> Result<bool, PgError> {
    let n = exec(
        c,
        "DELETE FROM role_grants WHERE user_id = $1 AND role = $2",
        &[&user.0, &role.as_str()],
    )
    .await?;
    if n == 0 {
        return Ok(false);
    }
    super::audit::append(c, AuditEvent::role_revoked(from_ms(now), actor, user, role)).await?;
    Ok(true)
}

pub(super) async fn search(
    c: &impl GenericClient,
    q: &AdminSearch,
    actor: Actor,
    now: i64,
    limit: u32,
) -> Result<Vec<SearchHit>, PgError> {
    let limit = big(limit);
    let rows = match q {
        AdminSearch::Phone(p) => {
            let sql = format!(
                "{SELECT_APP} WHERE user_id IN (SELECT id FROM users WHERE phone = $1) ORDER BY id DESC LIMIT $2"
            );
            query(c, &sql, &[&p.as_str(), &limit]).await?
        }
        AdminSearch::Document(d) => {
            let types: Vec<&str> = [
                IdType::NID,
                IdType::BR,
                IdType::PP,
                IdType::DL,
                IdType::SID,
                IdType::EID,
            ]
            .iter()
            .map(|t| t.as_str())
            .collect();
            let sql = format!(
                "{SELECT_APP} WHERE user_id IN (SELECT user_id FROM profiles WHERE id_type = ANY($1) AND id_number = $2)
                 ORDER BY id DESC LIMIT $3"
            );
            query(c, &sql, &[&types, &d.as_str(), &limit]).await?
        }
        AdminSearch::Id(id) => {
            let sql = format!("{SELECT_APP} WHERE id = $1 LIMIT $2");
            query(c, &sql, &[&id.0, &limit]).await?
        }
    };
    let mut hits = Vec::with_capacity(rows.len());
    for r in &rows {
        let application = app_from_row(r)?;
        let user: Uuid = application.user_id.0;
        let row = query_one(c, "SELECT phone FROM users WHERE id = $1", &[&user]).await?;
        hits.push(SearchHit {
            application,
            phone: Phone::from_stored(row.try_get(0)?),
        });
    }
    super::audit::append(
        c,
        AuditEvent::admin_search(from_ms(now), actor, q.field(), &q.value(), hits.len()),
    )
    .await?;
    Ok(hits)
}
