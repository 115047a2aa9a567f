//! The users' repository.

use std::str::FromStr;

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::AssertSqlSafe;
use tessera_domain::access::UnitPath;
use tessera_domain::accounts::{NewUser, User, UserRepo, UserUnit, UserUpdate};
use tessera_domain::org::OrgUnitKind;
use tessera_domain::shared::validation::Email;
use tessera_domain::shared::{
    DomainError, DomainResult, ErrorCode, MemberId, OrgUnitId, Page, PageRequest, UserId,
};

use super::{
    corrupt, db_error, get, get_bool, id_of, is_unique_violation, now_ms, time, List, SqlStore,
};

/// Users with their org unit's kind and path, which access needs on every request.
const USER_COLUMNS: &str = "u.id, u.email, u.name, u.password_hash, u.is_admin, u.is_treasurer, \
     u.is_active, u.otp_enabled, u.otp_secret, u.must_change_password, u.created_at, \
     u.org_unit_id, u.member_id, \
     ou.kind AS unit_kind, ou.path AS unit_path";
const USER_FROM: &str = "users u LEFT JOIN org_units ou ON ou.id = u.org_unit_id";

fn user_from_row(row: &AnyRow) -> DomainResult<User> {
    let email: String = get(row, "email")?;
    let org_unit = match get::<Option<i64>>(row, "org_unit_id")? {
        None => None,
        Some(id) => {
            let kind: String = get(row, "unit_kind")?;
            Some(UserUnit {
                id: OrgUnitId(id),
                kind: OrgUnitKind::from_str(&kind).map_err(|_| corrupt("unit kind", &kind))?,
                path: UnitPath::from_stored(get(row, "unit_path")?),
            })
        }
    };
    Ok(User {
        id: UserId(get(row, "id")?),
        email: Email::parse(&email).map_err(|_| corrupt("email", &email))?,
        name: get(row, "name")?,
        password_hash: get(row, "password_hash")?,
        is_admin: get_bool(row, "is_admin")?,
        is_treasurer: get_bool(row, "is_treasurer")?,
        is_active: get_bool(row, "is_active")?,
        otp_enabled: get_bool(row, "otp_enabled")?,
        must_change_password: get_bool(row, "must_change_password")?,
        otp_secret: get(row, "otp_secret")?,
        org_unit,
        member_id: get::<Option<i64>>(row, "member_id")?.map(MemberId),
        created_at: time(get(row, "created_at")?),
    })
}

/// A write to `users`: the only unique column besides the id is the email.
fn user_write_error(e: sqlx::Error) -> DomainError {
    if is_unique_violation(&e) {
        DomainError::conflict(
            ErrorCode::EmailTaken,
            "a user with this email already exists",
        )
    } else {
        db_error(e)
    }
}

#[async_trait]
impl UserRepo for SqlStore {
    async fn insert_user(&self, user: NewUser) -> DomainResult<User> {
        let row = sqlx::query(
            "INSERT INTO users (email, name, password_hash, is_admin, is_treasurer, org_unit_id, member_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(user.email.as_str())
        .bind(user.name.as_str())
        .bind(&user.password_hash)
        .bind(user.is_admin)
        .bind(user.is_treasurer)
        .bind(user.org_unit_id.map(|u| u.0))
        .bind(user.member_id.map(|m| m.0))
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await
        .map_err(user_write_error)?;
        self.user_by_id(UserId(id_of(&row)?))
            .await?
            .ok_or(DomainError::NotFound("user"))
    }

    async fn user_by_email(&self, email: &Email) -> DomainResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM {USER_FROM} WHERE u.email = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(email.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn user_by_id(&self, id: UserId) -> DomainResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM {USER_FROM} WHERE u.id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn admin_exists(&self) -> DomainResult<bool> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE is_admin = $1")
            .bind(true)
            .fetch_one(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(get::<i64>(&row, "n")? > 0)
    }

    async fn set_otp(&self, id: UserId, secret: Option<&str>, enabled: bool) -> DomainResult<()> {
        // A new secret starts with no step used; enabling the enrolled one keeps the step its
        // first code used.
        sqlx::query(
            "UPDATE users SET otp_last_step = CASE WHEN otp_secret = $2 THEN otp_last_step END, \
             otp_secret = $2, otp_enabled = $3 WHERE id = $1",
        )
        .bind(id.0)
        .bind(secret)
        .bind(enabled)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn advance_otp_step(&self, id: UserId, step: u64) -> DomainResult<bool> {
        let step = i64::try_from(step).unwrap_or(i64::MAX);
        let result = sqlx::query(
            "UPDATE users SET otp_last_step = $2 \
             WHERE id = $1 AND (otp_last_step IS NULL OR otp_last_step < $2)",
        )
        .bind(id.0)
        .bind(step)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(result.rows_affected() == 1)
    }

    async fn replace_recovery_codes(&self, id: UserId, hashes: &[String]) -> DomainResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        for hash in hashes {
            sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                .bind(id.0)
                .bind(hash)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)
    }

    async fn use_recovery_code(&self, id: UserId, hash: &str) -> DomainResult<bool> {
        let result = sqlx::query(
            "UPDATE recovery_codes SET used_at = $3 \
             WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
        )
        .bind(id.0)
        .bind(hash)
        .bind(now_ms())
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(result.rows_affected() == 1)
    }

    async fn list_users(&self, page: PageRequest) -> DomainResult<Page<User>> {
        let list = List {
            columns: USER_COLUMNS,
            from: USER_FROM,
            condition: "1 = 1",
            order: "u.id",
        };
        self.paged(list, &[], page, user_from_row).await
    }

    async fn update_user(&self, id: UserId, change: &UserUpdate) -> DomainResult<User> {
        // COALESCE keeps what the change leaves out; the org unit and the member link need a flag
        // because "remove it" (NULL) is a change of its own.
        let (set_unit, unit) = match change.org_unit_id {
            None => (0_i64, None),
            Some(unit) => (1, unit.map(|u| u.0)),
        };
        let (set_member, member) = match change.member_id {
            None => (0_i64, None),
            Some(member) => (1, member.map(|m| m.0)),
        };
        sqlx::query(
            "UPDATE users SET email = COALESCE($2, email), name = COALESCE($3, name), \
             password_hash = COALESCE($4, password_hash), is_admin = COALESCE($5, is_admin), \
             is_treasurer = COALESCE($6, is_treasurer), is_active = COALESCE($7, is_active), \
             org_unit_id = CASE WHEN CAST($8 AS BIGINT) = 1 THEN CAST($9 AS BIGINT) ELSE org_unit_id END, \
             member_id = CASE WHEN CAST($10 AS BIGINT) = 1 THEN CAST($11 AS BIGINT) ELSE member_id END, \
             must_change_password = COALESCE($12, must_change_password) \
             WHERE id = $1",
        )
        .bind(id.0)
        .bind(change.email.as_ref().map(Email::as_str))
        .bind(change.name.as_ref().map(|n| n.as_str()))
        .bind(change.password_hash.as_deref())
        .bind(change.is_admin)
        .bind(change.is_treasurer)
        .bind(change.is_active)
        .bind(set_unit)
        .bind(unit)
        .bind(set_member)
        .bind(member)
        .bind(change.must_change_password)
        .execute(&self.pool)
        .await
        .map_err(user_write_error)?;
        self.user_by_id(id)
            .await?
            .ok_or(DomainError::NotFound("user"))
    }

    async fn delete_user(&self, id: UserId) -> DomainResult<bool> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM files WHERE uploaded_by = $1")
            .bind(id.0)
            .fetch_one(&self.pool)
            .await
            .map_err(db_error)?;
        let files: i64 = get(&row, "n")?;
        if files > 0 {
            return Err(DomainError::conflict(
                ErrorCode::UserInUse,
                format!("the user uploaded {files} files: deactivate it instead (is_active false)"),
            ));
        }
        self.delete_referenced(
            "DELETE FROM users WHERE id = $1",
            id.0,
            ErrorCode::UserInUse,
            "the user recorded payments: deactivate it instead (is_active false)",
        )
        .await
    }
}
