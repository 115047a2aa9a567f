//! The org units' repository: a materialized path per unit (`/1/4/9/`, `COLLATE "C"` on
//! PostgreSQL), so a subtree is one range scan and a move one `UPDATE`.

use std::str::FromStr;

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::AssertSqlSafe;
use tessera_domain::access::{UnitPath, UnitScope};
use tessera_domain::org::{Dependents, MoveCheck, OrgRepo, OrgUnit, OrgUnitKind};
use tessera_domain::shared::{DomainError, DomainResult, OrgUnitId};

use super::{bind, corrupt, db_error, get, id_of, now_ms, scope_args, DbKind, SqlStore};

const UNIT_COLUMNS: &str = "id, name, kind, parent_id, path";

/// The PostgreSQL advisory lock that serialises the writes which derive a path from another
/// unit's (inserts and moves). Moves are rare; one lock is simpler and safer than locking each
/// row a move's range update touches, which can deadlock against a move inside that range.
const TREE_LOCK: i64 = 7_465_737_367;

impl SqlStore {
    /// Starts a write transaction that holds the tree lock: on SQLite `BEGIN IMMEDIATE` already
    /// serialises writers; on PostgreSQL an advisory lock held until the transaction ends.
    /// Every read after it sees the moves committed before it.
    async fn begin_tree_write(&self) -> DomainResult<sqlx::Transaction<'static, sqlx::Any>> {
        let mut tx = self.begin_write().await?;
        if self.kind == DbKind::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(TREE_LOCK)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        Ok(tx)
    }
}

fn unit_from_row(row: &AnyRow) -> DomainResult<OrgUnit> {
    let kind: String = get(row, "kind")?;
    Ok(OrgUnit {
        id: OrgUnitId(get(row, "id")?),
        name: get(row, "name")?,
        kind: OrgUnitKind::from_str(&kind).map_err(|_| corrupt("unit kind", &kind))?,
        parent_id: get::<Option<i64>>(row, "parent_id")?.map(OrgUnitId),
        path: UnitPath::from_stored(get(row, "path")?),
    })
}

#[async_trait]
impl OrgRepo for SqlStore {
    async fn insert_unit(
        &self,
        name: &str,
        kind: OrgUnitKind,
        parent: Option<&OrgUnit>,
    ) -> DomainResult<OrgUnit> {
        // The path holds the unit's own id, known only after the insert: a placeholder first,
        // then the real path, in one transaction. The parent's path is read again under the
        // tree lock: the caller's copy may predate a move of the parent or one of its ancestors.
        let mut tx = self.begin_tree_write().await?;
        let parent_path = match parent {
            Some(parent) => {
                let row = sqlx::query("SELECT path FROM org_units WHERE id = $1")
                    .bind(parent.id.0)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_error)?
                    .ok_or(DomainError::NotFound("org unit"))?;
                Some(UnitPath::from_stored(get(&row, "path")?))
            }
            None => None,
        };
        let placeholder = format!("pending:{}", uuid::Uuid::new_v4());
        let row = sqlx::query(
            "INSERT INTO org_units (name, kind, parent_id, path, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(name)
        .bind(kind.as_str())
        .bind(parent.map(|p| p.id.0))
        .bind(&placeholder)
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
        let id = OrgUnitId(id_of(&row)?);
        let path = match parent_path {
            Some(parent) => parent.child(id),
            None => UnitPath::root(id),
        };
        sqlx::query("UPDATE org_units SET path = $2 WHERE id = $1")
            .bind(id.0)
            .bind(path.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(OrgUnit {
            id,
            name: name.to_owned(),
            kind,
            parent_id: parent.map(|p| p.id),
            path,
        })
    }

    async fn unit(&self, id: OrgUnitId) -> DomainResult<Option<OrgUnit>> {
        let sql = format!("SELECT {UNIT_COLUMNS} FROM org_units WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(unit_from_row).transpose()
    }

    async fn units(&self, scope: &UnitScope) -> DomainResult<Vec<OrgUnit>> {
        let sql = format!(
            "SELECT {UNIT_COLUMNS} FROM org_units \
             WHERE CAST($1 AS BIGINT) = 1 OR (path >= $2 AND path < $3) ORDER BY path"
        );
        let rows = bind(sqlx::query(AssertSqlSafe(sql)), &scope_args(scope))
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter().map(unit_from_row).collect()
    }

    async fn rename_unit(&self, id: OrgUnitId, name: &str) -> DomainResult<OrgUnit> {
        sqlx::query("UPDATE org_units SET name = $2 WHERE id = $1")
            .bind(id.0)
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        self.unit(id)
            .await?
            .ok_or(DomainError::NotFound("org unit"))
    }

    async fn move_unit(
        &self,
        id: OrgUnitId,
        parent: OrgUnitId,
        check: MoveCheck,
    ) -> DomainResult<OrgUnit> {
        // Both rows are read under the tree lock, so the rule is checked against the tree as it
        // is now, not as another move left it, and the subtree's paths are rewritten from them.
        let mut tx = self.begin_tree_write().await?;
        let sql = format!("SELECT {UNIT_COLUMNS} FROM org_units WHERE id IN ($1, $2)");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(id.0)
            .bind(parent.0)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error)?;
        let units = rows
            .iter()
            .map(unit_from_row)
            .collect::<DomainResult<Vec<_>>>()?;
        let find = |wanted: OrgUnitId| {
            units
                .iter()
                .find(|u| u.id == wanted)
                .cloned()
                .ok_or(DomainError::NotFound("org unit"))
        };
        let (unit, new_parent) = (find(id)?, find(parent)?);
        check(&unit, &new_parent)?;
        let new_path = new_parent.path.child(unit.id);
        let (start, end) = unit.path.subtree_range();
        sqlx::query("UPDATE org_units SET parent_id = $2 WHERE id = $1")
            .bind(unit.id.0)
            .bind(new_parent.id.0)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        // Every path in the subtree swaps its old prefix for the new one, in one statement.
        sqlx::query(
            "UPDATE org_units SET path = CAST($1 AS TEXT) || substr(path, CAST($2 AS INTEGER)) \
             WHERE path >= $3 AND path < $4",
        )
        .bind(new_path.as_str())
        .bind(unit.path.as_str().len() as i64 + 1)
        .bind(start)
        .bind(end)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(OrgUnit {
            parent_id: Some(new_parent.id),
            path: new_path,
            ..unit
        })
    }

    async fn dependents(&self, id: OrgUnitId) -> DomainResult<Dependents> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM org_units WHERE parent_id = $1) AS units, \
                    (SELECT COUNT(*) FROM users WHERE org_unit_id = $1) AS users, \
                    (SELECT COUNT(*) FROM files WHERE org_unit_id = $1) AS files, \
                    (SELECT COUNT(*) FROM members WHERE org_unit_id = $1) AS members",
        )
        .bind(id.0)
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(Dependents {
            units: get(&row, "units")?,
            users: get(&row, "users")?,
            members: get(&row, "members")?,
            files: get(&row, "files")?,
        })
    }

    async fn delete_unit(&self, id: OrgUnitId) -> DomainResult<bool> {
        let result = sqlx::query("DELETE FROM org_units WHERE id = $1")
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(result.rows_affected() > 0)
    }
}
