//! The money repository: dues and payments.

use std::str::FromStr;

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use tessera_domain::access::UnitPath;
use tessera_domain::money::{
    Dues, DuesFilter, DuesGenerated, DuesStatus, DuesUpdate, GenerateDues, MoneyRepo, NewDues,
    NewPayment, Payment, PaymentFilter, PaymentMethod, PaymentPurpose,
};
use tessera_domain::shared::{
    DomainError, DomainResult, DuesId, ErrorCode, FileId, MaterialId, MemberId, OrgUnitId, Page,
    PageRequest, PaymentId, UserId,
};

use super::{
    bind, corrupt, date_of, date_text, db_error, get, id_of, is_unique_violation, now_ms,
    scope_args, time, Arg, List, SqlStore, IN_SCOPE,
};

/// Dues with their member's cell path.
const DUES_COLUMNS: &str = "d.id, d.member_id, d.period, d.amount_cents, d.currency, \
     d.due_date, d.status, d.created_at, ou.path AS unit_path";
const DUES_FROM: &str = "dues d JOIN members m ON m.id = d.member_id \
     JOIN org_units ou ON ou.id = m.org_unit_id";
/// Payments with their member's cell path.
const PAYMENT_COLUMNS: &str = "p.id, p.member_id, p.dues_id, p.purpose, p.material_id, \
     p.quantity, p.stock_org_unit_id, p.amount_cents, p.currency, p.method, p.paid_on, p.note, \
     p.receipt_file_id, p.recorded_by, p.created_at, ou.path AS unit_path";
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
        material_id: get::<Option<i64>>(row, "material_id")?.map(MaterialId),
        quantity: get(row, "quantity")?,
        stock_org_unit_id: get::<Option<i64>>(row, "stock_org_unit_id")?.map(OrgUnitId),
        amount_cents: get(row, "amount_cents")?,
        currency: get(row, "currency")?,
        method: PaymentMethod::from_str(&method).map_err(|_| corrupt("payment method", &method))?,
        paid_on: date_of(row, "paid_on")?,
        note: get(row, "note")?,
        receipt_file_id: get::<Option<i64>>(row, "receipt_file_id")?.map(FileId),
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

    async fn generate_dues(&self, generate: &GenerateDues) -> DomainResult<DuesGenerated> {
        let [all, start, end] = scope_args(&generate.units);
        let mut tx = self.begin_write().await?;
        // SQLite needs the WHERE of an INSERT … SELECT before ON CONFLICT (it has one); ids follow
        // the members' order.
        let insert = format!(
            "INSERT INTO dues (member_id, period, amount_cents, currency, due_date, status, created_at) \
             SELECT m.id, $4, $5, $6, $7, 'open', $8 \
             FROM members m JOIN org_units ou ON ou.id = m.org_unit_id \
             WHERE m.status = 'active' AND {IN_SCOPE} ORDER BY m.id \
             ON CONFLICT (member_id, period) DO NOTHING"
        );
        let created = bind(sqlx::query(AssertSqlSafe(insert)), &[all, start, end])
            .bind(&generate.period)
            .bind(generate.amount_cents)
            .bind(&generate.currency)
            .bind(date_text(generate.due_date))
            .bind(now_ms())
            .execute(&mut *tx)
            .await
            .map_err(db_error)?
            .rows_affected();
        // Counted after the insert, in its transaction: the active members in scope that have
        // dues for the period now; those not created just now had them already.
        let count = format!(
            "SELECT COUNT(*) AS n FROM members m JOIN org_units ou ON ou.id = m.org_unit_id \
             WHERE m.status = 'active' AND {IN_SCOPE} \
             AND EXISTS (SELECT 1 FROM dues d WHERE d.member_id = m.id AND d.period = $4)"
        );
        let [all, start, end] = scope_args(&generate.units);
        let with_dues: i64 = bind(sqlx::query(AssertSqlSafe(count)), &[all, start, end])
            .bind(&generate.period)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_error)?
            .try_get("n")
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        let created = i64::try_from(created).unwrap_or(i64::MAX);
        Ok(DuesGenerated {
            created,
            skipped: (with_dues - created).max(0),
        })
    }

    async fn update_dues(&self, id: DuesId, change: &DuesUpdate) -> DomainResult<Dues> {
        // Dues a payment paid change only by deleting the payment: the condition is in the
        // statement, so a payment racing this change cannot be overwritten.
        let result = sqlx::query(
            "UPDATE dues SET amount_cents = COALESCE($2, amount_cents), \
             due_date = COALESCE($3, due_date), status = COALESCE($4, status) \
             WHERE id = $1 AND status <> 'paid'",
        )
        .bind(id.0)
        .bind(change.amount_cents)
        .bind(change.due_date.map(date_text))
        .bind(change.status.map(DuesStatus::as_str))
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        let dues = self
            .dues_by_id(id)
            .await?
            .ok_or(DomainError::NotFound("dues"))?;
        if result.rows_affected() == 0 {
            return Err(DomainError::conflict(
                ErrorCode::DuesInUse,
                "a payment paid these dues: delete the payment to open them again",
            ));
        }
        Ok(dues)
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
        if let Some((material, quantity, unit)) = payment.material {
            // One conditional update: two payments for the last ones cannot both take them.
            let taken = sqlx::query(
                "UPDATE material_stock SET quantity = quantity - $3 \
                 WHERE material_id = $1 AND org_unit_id = $2 AND quantity >= $3",
            )
            .bind(material.0)
            .bind(unit.0)
            .bind(quantity)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?
            .rows_affected();
            if taken == 0 {
                let available: Option<i64> = sqlx::query(
                    "SELECT quantity FROM material_stock WHERE material_id = $1 AND org_unit_id = $2",
                )
                .bind(material.0)
                .bind(unit.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_error)?
                .map(|row| get(&row, "quantity"))
                .transpose()?;
                tx.rollback().await.map_err(db_error)?;
                return Err(DomainError::InsufficientStock {
                    available: available.unwrap_or(0),
                });
            }
        }
        if let Some(dues) = payment.dues_id {
            // Amount and currency are checked again here: a change to the dues after the
            // service read them must not leave a payment that does not pay them whole.
            let paid = sqlx::query(
                "UPDATE dues SET status = 'paid' WHERE id = $1 AND member_id = $2 \
                 AND status = 'open' AND amount_cents = $3 AND currency = $4",
            )
            .bind(dues.0)
            .bind(payment.member_id.0)
            .bind(payment.amount_cents)
            .bind(&payment.currency)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?
            .rows_affected();
            if paid == 0 {
                tx.rollback().await.map_err(db_error)?;
                return Err(DomainError::conflict(
                    ErrorCode::DuesNotOpen,
                    "these dues are not open (paid or waived), or changed meanwhile: nothing was recorded",
                ));
            }
        }
        let (material_id, quantity, stock_unit) = match payment.material {
            Some((m, q, u)) => (Some(m.0), Some(q), Some(u.0)),
            None => (None, None, None),
        };
        let row = sqlx::query(
            "INSERT INTO payments (member_id, dues_id, purpose, material_id, quantity, stock_org_unit_id, \
             amount_cents, currency, method, paid_on, note, receipt_file_id, recorded_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
        )
        .bind(payment.member_id.0)
        .bind(payment.dues_id.map(|d| d.0))
        .bind(payment.purpose.as_str())
        .bind(material_id)
        .bind(quantity)
        .bind(stock_unit)
        .bind(payment.amount_cents)
        .bind(&payment.currency)
        .bind(payment.method.as_str())
        .bind(date_text(payment.paid_on))
        .bind(payment.note.as_deref())
        .bind(payment.receipt_file_id.map(|f| f.0))
        .bind(payment.recorded_by.0)
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
        let id = PaymentId(id_of(&row)?);
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
        let condition = format!(
            "{IN_SCOPE} AND (CAST($4 AS BIGINT) IS NULL OR p.member_id = $4) \
             AND (CAST($5 AS TEXT) IS NULL OR p.purpose = $5)"
        );
        let [all, start, end] = scope_args(&filter.units);
        let args = [
            all,
            start,
            end,
            Arg::Int(filter.member_id.map(|m| m.0)),
            Arg::Text(filter.purpose.map(|p| p.as_str().to_owned())),
        ];
        let list = List {
            columns: PAYMENT_COLUMNS,
            from: PAYMENT_FROM,
            condition: &condition,
            order: "p.id DESC",
        };
        self.paged(list, &args, page, payment_from_row).await
    }

    async fn delete_payment(&self, id: PaymentId) -> DomainResult<bool> {
        let mut tx = self.begin_write().await?;
        // What to revert is read first and the payment deleted last, so this transaction
        // touches stock, dues and the dashboard's summaries (their triggers) in the order a
        // payment's creation does: two of them in one unit queue instead of deadlocking. Two
        // deletions of one payment both revert, but only one deletes: the other rolls back.
        let row = sqlx::query(
            "SELECT dues_id, material_id, quantity, stock_org_unit_id FROM payments WHERE id = $1",
        )
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
        let Some(row) = row else {
            tx.rollback().await.map_err(db_error)?;
            return Ok(false);
        };
        let material: Option<i64> = get(&row, "material_id")?;
        let quantity: Option<i64> = get(&row, "quantity")?;
        let unit: Option<i64> = get(&row, "stock_org_unit_id")?;
        // A unit deleted since took its stock along: there is nothing to put back.
        if let (Some(material), Some(quantity), Some(unit)) = (material, quantity, unit) {
            sqlx::query(
                "INSERT INTO material_stock (material_id, org_unit_id, quantity) VALUES ($1, $2, $3) \
                 ON CONFLICT (material_id, org_unit_id) \
                 DO UPDATE SET quantity = material_stock.quantity + excluded.quantity",
            )
            .bind(material)
            .bind(unit)
            .bind(quantity)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        }
        if let Some(dues) = get::<Option<i64>>(&row, "dues_id")? {
            sqlx::query("UPDATE dues SET status = 'open' WHERE id = $1 AND status = 'paid'")
                .bind(dues)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        let deleted = sqlx::query("DELETE FROM payments WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?
            .rows_affected();
        if deleted == 0 {
            tx.rollback().await.map_err(db_error)?;
            return Ok(false);
        }
        tx.commit().await.map_err(db_error)?;
        Ok(true)
    }
}
