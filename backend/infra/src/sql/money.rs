//! The money repository: dues and payments.

use std::str::FromStr;

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::AssertSqlSafe;
use tessera_domain::access::UnitPath;
use tessera_domain::money::{
    Dues, DuesFilter, DuesStatus, DuesUpdate, MoneyRepo, NewDues, NewPayment, Payment,
    PaymentFilter, PaymentMethod, PaymentPurpose,
};
use tessera_domain::shared::{
    DomainError, DomainResult, DuesId, ErrorCode, MemberId, Page, PageRequest, PaymentId, UserId,
};

use super::{
    corrupt, date_of, date_text, db_error, get, id_of, is_unique_violation, now_ms, scope_args,
    time, Arg, List, SqlStore, IN_SCOPE,
};

/// Dues with their member's cell path.
const DUES_COLUMNS: &str = "d.id, d.member_id, d.period, d.amount_cents, d.currency, \
     d.due_date, d.status, d.created_at, ou.path AS unit_path";
const DUES_FROM: &str = "dues d JOIN members m ON m.id = d.member_id \
     JOIN org_units ou ON ou.id = m.org_unit_id";
/// Payments with their member's cell path.
const PAYMENT_COLUMNS: &str = "p.id, p.member_id, p.dues_id, p.purpose, p.amount_cents, \
     p.currency, p.method, p.paid_on, p.recorded_by, p.created_at, ou.path AS unit_path";
const PAYMENT_FROM: &str = "payments p JOIN members m ON m.id = p.member_id \
     JOIN org_units ou ON ou.id = m.org_unit_id";

fn dues_from_row(row: &AnyRow) -> DomainResult<Dues> {
    let status: String = get(row, "status")?;
    Ok(Dues {
        id: DuesId(get(row, "id")?),
        member_id: MemberId(get(row, "member_id")?),
        unit_path: UnitPath::from_stored(get(row, "unit_path")?),
        period: get(row, "period")?,
        amount_cents: get(row, "amount_cents")?,
        currency: get(row, "currency")?,
        due_date: date_of(row, "due_date")?,
        status: DuesStatus::from_str(&status).map_err(|_| corrupt("dues status", &status))?,
        created_at: time(get(row, "created_at")?),
    })
}

fn payment_from_row(row: &AnyRow) -> DomainResult<Payment> {
    let purpose: String = get(row, "purpose")?;
    let method: String = get(row, "method")?;
    Ok(Payment {
        id: PaymentId(get(row, "id")?),
        member_id: MemberId(get(row, "member_id")?),
        unit_path: UnitPath::from_stored(get(row, "unit_path")?),
        dues_id: get::<Option<i64>>(row, "dues_id")?.map(DuesId),
        purpose: PaymentPurpose::from_str(&purpose)
            .map_err(|_| corrupt("payment purpose", &purpose))?,
        amount_cents: get(row, "amount_cents")?,
        currency: get(row, "currency")?,
        method: PaymentMethod::from_str(&method).map_err(|_| corrupt("payment method", &method))?,
        paid_on: date_of(row, "paid_on")?,
        recorded_by: UserId(get(row, "recorded_by")?),
        created_at: time(get(row, "created_at")?),
    })
}

#[async_trait]
impl MoneyRepo for SqlStore {
    async fn insert_dues(&self, dues: NewDues) -> DomainResult<Dues> {
        let row = sqlx::query(
            "INSERT INTO dues (member_id, period, amount_cents, currency, due_date, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(dues.member_id.0)
        .bind(&dues.period)
        .bind(dues.amount_cents)
        .bind(&dues.currency)
        .bind(date_text(dues.due_date))
        .bind(dues.status.as_str())
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                DomainError::conflict(
                    ErrorCode::DuesExist,
                    format!("the member already has dues for {}", dues.period),
                )
            } else {
                db_error(e)
            }
        })?;
        self.dues_by_id(DuesId(id_of(&row)?))
            .await?
            .ok_or(DomainError::NotFound("dues"))
    }

    async fn dues_by_id(&self, id: DuesId) -> DomainResult<Option<Dues>> {
        let sql = format!("SELECT {DUES_COLUMNS} FROM {DUES_FROM} WHERE d.id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(dues_from_row).transpose()
    }

    async fn list_dues(&self, filter: DuesFilter, page: PageRequest) -> DomainResult<Page<Dues>> {
        let condition = format!(
            "{IN_SCOPE} AND (CAST($4 AS BIGINT) IS NULL OR d.member_id = $4) \
             AND (CAST($5 AS TEXT) IS NULL OR d.status = $5) \
             AND (CAST($6 AS TEXT) IS NULL OR d.period = $6)"
        );
        let [all, start, end] = scope_args(&filter.units);
        let args = [
            all,
            start,
            end,
            Arg::Int(filter.member_id.map(|m| m.0)),
            Arg::Text(filter.status.map(|s| s.as_str().to_owned())),
            Arg::Text(filter.period),
        ];
        let list = List {
            columns: DUES_COLUMNS,
            from: DUES_FROM,
            condition: &condition,
            order: "d.period DESC, d.id DESC",
        };
        self.paged(list, &args, page, dues_from_row).await
    }

    async fn update_dues(&self, id: DuesId, change: &DuesUpdate) -> DomainResult<Dues> {
        sqlx::query(
            "UPDATE dues SET amount_cents = COALESCE($2, amount_cents), \
             due_date = COALESCE($3, due_date), status = COALESCE($4, status) WHERE id = $1",
        )
        .bind(id.0)
        .bind(change.amount_cents)
        .bind(change.due_date.map(date_text))
        .bind(change.status.map(DuesStatus::as_str))
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        self.dues_by_id(id)
            .await?
            .ok_or(DomainError::NotFound("dues"))
    }

    async fn delete_dues(&self, id: DuesId) -> DomainResult<bool> {
        self.delete_referenced(
            "DELETE FROM dues WHERE id = $1",
            id.0,
            ErrorCode::DuesInUse,
            "payments refer to these dues: waive them instead",
        )
        .await
    }

    async fn insert_payment(&self, payment: NewPayment) -> DomainResult<Payment> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "INSERT INTO payments (member_id, dues_id, purpose, amount_cents, currency, method, paid_on, recorded_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(payment.member_id.0)
        .bind(payment.dues_id.map(|d| d.0))
        .bind(payment.purpose.as_str())
        .bind(payment.amount_cents)
        .bind(&payment.currency)
        .bind(payment.method.as_str())
        .bind(date_text(payment.paid_on))
        .bind(payment.recorded_by.0)
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
        let id = PaymentId(id_of(&row)?);
        if let Some(dues) = payment.dues_id {
            sqlx::query("UPDATE dues SET status = 'paid' WHERE id = $1 AND status = 'open'")
                .bind(dues.0)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)?;
        self.payment_by_id(id)
            .await?
            .ok_or(DomainError::NotFound("payment"))
    }

    async fn payment_by_id(&self, id: PaymentId) -> DomainResult<Option<Payment>> {
        let sql = format!("SELECT {PAYMENT_COLUMNS} FROM {PAYMENT_FROM} WHERE p.id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(payment_from_row).transpose()
    }

    async fn list_payments(
        &self,
        filter: PaymentFilter,
        page: PageRequest,
    ) -> DomainResult<Page<Payment>> {
        let condition = format!("{IN_SCOPE} AND (CAST($4 AS BIGINT) IS NULL OR p.member_id = $4)");
        let [all, start, end] = scope_args(&filter.units);
        let args = [all, start, end, Arg::Int(filter.member_id.map(|m| m.0))];
        let list = List {
            columns: PAYMENT_COLUMNS,
            from: PAYMENT_FROM,
            condition: &condition,
            order: "p.id DESC",
        };
        self.paged(list, &args, page, payment_from_row).await
    }

    async fn delete_payment(&self, id: PaymentId) -> DomainResult<bool> {
        let result = sqlx::query("DELETE FROM payments WHERE id = $1")
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(result.rows_affected() > 0)
    }
}
