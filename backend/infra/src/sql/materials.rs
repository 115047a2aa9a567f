//! The materials repository: material types, materials and each unit's stock of them.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::AssertSqlSafe;
use tessera_domain::access::{UnitPath, UnitScope};
use tessera_domain::materials::{
    Material, MaterialChange, MaterialRepo, MaterialType, MaterialTypeChange, NewMaterial,
    StockLevel,
};
use tessera_domain::shared::{
    DomainError, DomainResult, ErrorCode, FileId, MaterialId, MaterialTypeId, OrgUnitId, Page,
    PageRequest,
};

use super::{
    bind, db_error, get, id_list, id_of, is_unique_violation, now_ms, scope_args, time, Arg, List,
    SqlStore, IN_SCOPE,
};

const TYPE_COLUMNS: &str = "t.id, t.name, t.description, t.created_at";
const MATERIAL_COLUMNS: &str = "m.id, m.material_type_id, m.title, m.edition, \
     m.unit_price_cents, m.currency, m.file_id, m.created_at";

fn type_from_row(row: &AnyRow) -> DomainResult<MaterialType> {
    Ok(MaterialType {
        id: MaterialTypeId(get(row, "id")?),
        name: get(row, "name")?,
        description: get(row, "description")?,
        created_at: time(get(row, "created_at")?),
    })
}

fn material_from_row(row: &AnyRow) -> DomainResult<Material> {
    Ok(Material {
        id: MaterialId(get(row, "id")?),
        material_type_id: MaterialTypeId(get(row, "material_type_id")?),
        title: get(row, "title")?,
        edition: get(row, "edition")?,
        unit_price_cents: get(row, "unit_price_cents")?,
        currency: get(row, "currency")?,
        file_id: get::<Option<i64>>(row, "file_id")?.map(FileId),
        created_at: time(get(row, "created_at")?),
    })
}

fn stock_from_row(row: &AnyRow) -> DomainResult<StockLevel> {
    Ok(StockLevel {
        material_id: MaterialId(get(row, "material_id")?),
        org_unit_id: OrgUnitId(get(row, "org_unit_id")?),
        unit_path: UnitPath::from_stored(get(row, "unit_path")?),
        quantity: get(row, "quantity")?,
    })
}

/// A taken type name is a 409 naming it; anything else as usual.
fn type_name_error(e: sqlx::Error, name: Option<&str>) -> DomainError {
    if is_unique_violation(&e) {
        DomainError::conflict(
            ErrorCode::MaterialTypeExists,
            format!(
                "a material type called {:?} exists",
                name.unwrap_or_default()
            ),
        )
    } else {
        db_error(e)
    }
}

#[async_trait]
impl MaterialRepo for SqlStore {
    async fn insert_material_type(
        &self,
        change: &MaterialTypeChange,
    ) -> DomainResult<MaterialType> {
        let row = sqlx::query(
            "INSERT INTO material_types (name, description, created_at) VALUES ($1, $2, $3) \
             RETURNING id",
        )
        .bind(change.name.as_deref())
        .bind(change.description.clone().flatten())
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await
        .map_err(|e| type_name_error(e, change.name.as_deref()))?;
        self.material_type(MaterialTypeId(id_of(&row)?))
            .await?
            .ok_or(DomainError::NotFound("material type"))
    }

    async fn material_type(&self, id: MaterialTypeId) -> DomainResult<Option<MaterialType>> {
        let sql = format!("SELECT {TYPE_COLUMNS} FROM material_types t WHERE t.id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(type_from_row).transpose()
    }

    async fn list_material_types(&self, page: PageRequest) -> DomainResult<Page<MaterialType>> {
        let list = List {
            columns: TYPE_COLUMNS,
            from: "material_types t",
            condition: "1 = 1",
            order: "t.name, t.id",
        };
        self.paged(list, &[], page, type_from_row).await
    }

    async fn update_material_type(
        &self,
        id: MaterialTypeId,
        change: &MaterialTypeChange,
    ) -> DomainResult<MaterialType> {
        // `$3` says whether the description is set at all: `None` leaves it, `Some(None)`
        // clears it.
        sqlx::query(
            "UPDATE material_types SET name = COALESCE($2, name), \
             description = CASE WHEN CAST($3 AS BIGINT) = 1 THEN $4 ELSE description END \
             WHERE id = $1",
        )
        .bind(id.0)
        .bind(change.name.as_deref())
        .bind(i64::from(change.description.is_some()))
        .bind(change.description.clone().flatten())
        .execute(&self.pool)
        .await
        .map_err(|e| type_name_error(e, change.name.as_deref()))?;
        self.material_type(id)
            .await?
            .ok_or(DomainError::NotFound("material type"))
    }

    async fn delete_material_type(&self, id: MaterialTypeId) -> DomainResult<bool> {
        self.delete_referenced(
            "DELETE FROM material_types WHERE id = $1",
            id.0,
            ErrorCode::MaterialTypeInUse,
            "materials are of this type: delete them or give them another type first",
        )
        .await
    }

    async fn insert_material(&self, material: &NewMaterial) -> DomainResult<Material> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "INSERT INTO materials (material_type_id, title, edition, unit_price_cents, currency, \
             file_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(material.material_type_id.0)
        .bind(&material.title)
        .bind(material.edition.as_deref())
        .bind(material.unit_price_cents)
        .bind(&material.currency)
        .bind(material.file_id.map(|f| f.0))
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
        let id = MaterialId(id_of(&row)?);
        for (unit, quantity) in &material.stock {
            sqlx::query(
                "INSERT INTO material_stock (material_id, org_unit_id, quantity) VALUES ($1, $2, $3)",
            )
            .bind(id.0)
            .bind(unit.0)
            .bind(*quantity)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)?;
        self.material(id)
            .await?
            .ok_or(DomainError::NotFound("material"))
    }

    async fn material(&self, id: MaterialId) -> DomainResult<Option<Material>> {
        let sql = format!("SELECT {MATERIAL_COLUMNS} FROM materials m WHERE m.id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(material_from_row).transpose()
    }

    async fn list_materials(
        &self,
        material_type_id: Option<MaterialTypeId>,
        page: PageRequest,
    ) -> DomainResult<Page<Material>> {
        let list = List {
            columns: MATERIAL_COLUMNS,
            from: "materials m",
            condition: "(CAST($1 AS BIGINT) IS NULL OR m.material_type_id = $1)",
            order: "m.title, m.id",
        };
        let args = [Arg::Int(material_type_id.map(|t| t.0))];
        self.paged(list, &args, page, material_from_row).await
    }

    async fn update_material(
        &self,
        id: MaterialId,
        change: &MaterialChange,
    ) -> DomainResult<Material> {
        // `$5` and `$8` say whether the optional edition and file are set at all.
        sqlx::query(
            "UPDATE materials SET material_type_id = COALESCE($2, material_type_id), \
             title = COALESCE($3, title), \
             unit_price_cents = COALESCE($4, unit_price_cents), \
             edition = CASE WHEN CAST($5 AS BIGINT) = 1 THEN $6 ELSE edition END, \
             currency = COALESCE($7, currency), \
             file_id = CASE WHEN CAST($8 AS BIGINT) = 1 THEN $9 ELSE file_id END \
             WHERE id = $1",
        )
        .bind(id.0)
        .bind(change.material_type_id.map(|t| t.0))
        .bind(change.title.as_deref())
        .bind(change.unit_price_cents)
        .bind(i64::from(change.edition.is_some()))
        .bind(change.edition.clone().flatten())
        .bind(change.currency.as_deref())
        .bind(i64::from(change.file_id.is_some()))
        .bind(change.file_id.flatten().map(|f| f.0))
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        self.material(id)
            .await?
            .ok_or(DomainError::NotFound("material"))
    }

    async fn delete_material(&self, id: MaterialId) -> DomainResult<bool> {
        self.delete_referenced(
            "DELETE FROM materials WHERE id = $1",
            id.0,
            ErrorCode::MaterialInUse,
            "payments refer to this material",
        )
        .await
    }

    async fn stock(&self, ids: &[MaterialId], scope: &UnitScope) -> DomainResult<Vec<StockLevel>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT s.material_id, s.org_unit_id, s.quantity, ou.path AS unit_path \
             FROM material_stock s JOIN org_units ou ON ou.id = s.org_unit_id \
             WHERE {IN_SCOPE} AND {} \
             ORDER BY s.material_id, s.org_unit_id",
            self.one_of("s.material_id", 4)
        );
        let [all, start, end] = scope_args(scope);
        let query = bind(sqlx::query(AssertSqlSafe(sql)), &[all, start, end])
            .bind(id_list(ids.iter().map(|id| id.0)));
        let rows = query.fetch_all(&self.pool).await.map_err(db_error)?;
        rows.iter().map(stock_from_row).collect()
    }

    async fn set_stock(
        &self,
        material: MaterialId,
        unit: OrgUnitId,
        quantity: i64,
    ) -> DomainResult<StockLevel> {
        sqlx::query(
            "INSERT INTO material_stock (material_id, org_unit_id, quantity) VALUES ($1, $2, $3) \
             ON CONFLICT (material_id, org_unit_id) DO UPDATE SET quantity = excluded.quantity",
        )
        .bind(material.0)
        .bind(unit.0)
        .bind(quantity)
        .execute(&self.pool)
        .await
        .map_err(|e| {
            if super::is_foreign_key_violation(&e) {
                DomainError::NotFound("material")
            } else {
                db_error(e)
            }
        })?;
        let row = sqlx::query(
            "SELECT s.material_id, s.org_unit_id, s.quantity, ou.path AS unit_path \
             FROM material_stock s JOIN org_units ou ON ou.id = s.org_unit_id \
             WHERE s.material_id = $1 AND s.org_unit_id = $2",
        )
        .bind(material.0)
        .bind(unit.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .ok_or(DomainError::NotFound("material"))?;
        stock_from_row(&row)
    }
}
