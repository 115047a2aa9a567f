//! The members' repository.

use std::str::FromStr;

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::AssertSqlSafe;
use tessera_domain::access::UnitPath;
use tessera_domain::members::{
    Member, MemberFilter, MemberRepo, MemberStatus, MemberUpdate, NewMember,
};
use tessera_domain::shared::{
    DomainError, DomainResult, ErrorCode, MemberId, OrgUnitId, Page, PageRequest,
};

use super::{
    corrupt, db_error, get, get_bool, id_of, now_ms, scope_args, time, Arg, List, SqlStore,
    IN_SCOPE,
};

/// Members with their cell's path, which decides who sees them.
const MEMBER_COLUMNS: &str =
    "m.id, m.name, m.email, m.org_unit_id, m.status, m.created_at, ou.path AS unit_path";
const MEMBER_FROM: &str = "members m JOIN org_units ou ON ou.id = m.org_unit_id";

fn member_from_row(row: &AnyRow) -> DomainResult<Member> {
    let status: String = get(row, "status")?;
    Ok(Member {
        id: MemberId(get(row, "id")?),
        name: get(row, "name")?,
        email: get(row, "email")?,
        org_unit_id: OrgUnitId(get(row, "org_unit_id")?),
        unit_path: UnitPath::from_stored(get(row, "unit_path")?),
        status: MemberStatus::from_str(&status).map_err(|_| corrupt("member status", &status))?,
        created_at: time(get(row, "created_at")?),
    })
}

#[async_trait]
impl MemberRepo for SqlStore {
    async fn insert_member(&self, member: NewMember) -> DomainResult<Member> {
        let row = sqlx::query(
            "INSERT INTO members (name, email, org_unit_id, status, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&member.name)
        .bind(&member.email)
        .bind(member.org_unit_id.0)
        .bind(member.status.as_str())
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?;
        self.member_by_id(MemberId(id_of(&row)?))
            .await?
            .ok_or(DomainError::NotFound("member"))
    }

    async fn member_by_id(&self, id: MemberId) -> DomainResult<Option<Member>> {
        let sql = format!("SELECT {MEMBER_COLUMNS} FROM {MEMBER_FROM} WHERE m.id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(member_from_row).transpose()
    }

    async fn member_has_money(&self, id: MemberId) -> DomainResult<bool> {
        let row = sqlx::query(
            "SELECT (EXISTS (SELECT 1 FROM dues WHERE member_id = $1) \
                  OR EXISTS (SELECT 1 FROM payments WHERE member_id = $1)) AS referred",
        )
        .bind(id.0)
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?;
        get_bool(&row, "referred")
    }

    async fn list_members(
        &self,
        filter: MemberFilter,
        page: PageRequest,
    ) -> DomainResult<Page<Member>> {
        // A treasurer also sees every member that dues or payments refer to.
        let condition = format!(
            "({IN_SCOPE} OR (CAST($4 AS BIGINT) = 1 AND (EXISTS (SELECT 1 FROM dues d WHERE d.member_id = m.id) \
                 OR EXISTS (SELECT 1 FROM payments p WHERE p.member_id = m.id)))) \
             AND (CAST($5 AS TEXT) IS NULL OR m.status = $5) \
             AND (CAST($6 AS BIGINT) IS NULL OR m.org_unit_id = $6)"
        );
        let [all, start, end] = scope_args(&filter.units);
        let args = [
            all,
            start,
            end,
            Arg::Int(Some(i64::from(filter.with_money))),
            Arg::Text(filter.status.map(|s| s.as_str().to_owned())),
            Arg::Int(filter.org_unit_id.map(|u| u.0)),
        ];
        let list = List {
            columns: MEMBER_COLUMNS,
            from: MEMBER_FROM,
            condition: &condition,
            order: "m.id",
        };
        self.paged(list, &args, page, member_from_row).await
    }

    async fn update_member(&self, id: MemberId, change: &MemberUpdate) -> DomainResult<Member> {
        let (set_email, email) = match &change.email {
            None => (0_i64, None),
            Some(email) => (1, email.clone()),
        };
        sqlx::query(
            "UPDATE members SET name = COALESCE($2, name), \
             email = CASE WHEN CAST($3 AS BIGINT) = 1 THEN CAST($4 AS TEXT) ELSE email END, \
             org_unit_id = COALESCE($5, org_unit_id), status = COALESCE($6, status) WHERE id = $1",
        )
        .bind(id.0)
        .bind(&change.name)
        .bind(set_email)
        .bind(email)
        .bind(change.org_unit_id.map(|u| u.0))
        .bind(change.status.map(MemberStatus::as_str))
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        self.member_by_id(id)
            .await?
            .ok_or(DomainError::NotFound("member"))
    }

    async fn delete_member(&self, id: MemberId) -> DomainResult<bool> {
        self.delete_referenced(
            "DELETE FROM members WHERE id = $1",
            id.0,
            ErrorCode::MemberInUse,
            "dues or payments refer to this member: set its status to inactive instead",
        )
        .await
    }
}
