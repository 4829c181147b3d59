//! Checkpoints on PostgreSQL: created and deleted (softly, so old scans keep their names),
//! each change audited in the same transaction.

use mpass_domain::audit::{Actor, AuditEvent};
use mpass_domain::checkpoint::Checkpoint;

use super::*;

const CHECKPOINT_COLUMNS: &str = "id, name, lat, lon, area, created_at";

fn checkpoint_from_row(r: &Row) -> Result<Checkpoint, PgError> {
    Ok(Checkpoint {
        id: CheckpointId(r.try_get(0)?),
        name: r.try_get(1)?,
        lat: r.try_get(2)?,
        lon: r.try_get(3)?,
        area: r.try_get(4)?,
        created_at: from_ms(r.try_get(5)?),
    })
}

pub(in crate::postgres) async fn checkpoint_create(
    c: &impl GenericClient,
    cp: &Checkpoint,
    actor: Actor,
) -> Result<(), PgError> {
    exec(
        c,
        "INSERT INTO checkpoints (id, name, lat, lon, area, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        &[&cp.id.0, &cp.name, &cp.lat, &cp.lon, &cp.area, &ms(cp.created_at)],
    )
    .await?;
    audit::append(c, AuditEvent::checkpoint_created(actor, cp)).await?;
    Ok(())
}

pub(in crate::postgres) async fn checkpoints(c: &impl GenericClient) -> Result<Vec<Checkpoint>, PgError> {
    let sql = format!("SELECT {CHECKPOINT_COLUMNS} FROM checkpoints WHERE deleted_at IS NULL ORDER BY name, id");
    query(c, &sql, &[]).await?.iter().map(checkpoint_from_row).collect()
}

pub(in crate::postgres) async fn checkpoint(
    c: &impl GenericClient,
    id: CheckpointId,
) -> Result<Option<Checkpoint>, PgError> {
    let sql = format!("SELECT {CHECKPOINT_COLUMNS} FROM checkpoints WHERE id = $1 AND deleted_at IS NULL");
    query_opt(c, &sql, &[&id.0])
        .await?
        .as_ref()
        .map(checkpoint_from_row)
        .transpose()
}

pub(in crate::postgres) async fn checkpoint_delete(
    c: &impl GenericClient,
    id: CheckpointId,
    actor: Actor,
    now: i64,
) -> Result<bool, PgError> {
    let n = exec(
        c,
        "UPDATE checkpoints SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL",
        &[&id.0, &now],
    )
    .await?;
    if n == 0 {
        return Ok(false);
    }
    audit::append(c, AuditEvent::checkpoint_deleted(from_ms(now), actor, id)).await?;
    Ok(true)
}

/// Every checkpoint ever created, with when it was deleted.
pub(in crate::postgres) async fn checkpoints_with_deleted(
    c: &impl GenericClient,
) -> Result<Vec<(Checkpoint, Option<i64>)>, PgError> {
    let sql = format!("SELECT {CHECKPOINT_COLUMNS}, deleted_at FROM checkpoints ORDER BY name, id");
    query(c, &sql, &[])
        .await?
        .iter()
        .map(|r| Ok((checkpoint_from_row(r)?, r.try_get(6)?)))
        .collect()
}
