//! What the materials context needs from storage.

use async_trait::async_trait;

use crate::access::UnitScope;
use crate::materials::model::{
    Material, MaterialChange, MaterialType, MaterialTypeChange, NewMaterial, StockLevel,
};
use crate::shared::{DomainResult, MaterialId, MaterialTypeId, OrgUnitId, Page, PageRequest};

/// Material types, materials and their stock.
#[async_trait]
pub trait MaterialRepo: Send + Sync {
    /// Creates a type (its name set); `Conflict` `material_type_exists` when the name is taken.
    async fn insert_material_type(&self, change: &MaterialTypeChange)
        -> DomainResult<MaterialType>;
    /// The type with this id, if any.
    async fn material_type(&self, id: MaterialTypeId) -> DomainResult<Option<MaterialType>>;
    /// A page of types, by name.
    async fn list_material_types(&self, page: PageRequest) -> DomainResult<Page<MaterialType>>;
    /// Applies a change to a type; `Conflict` `material_type_exists` when the new name is taken.
    async fn update_material_type(
        &self,
        id: MaterialTypeId,
        change: &MaterialTypeChange,
    ) -> DomainResult<MaterialType>;
    /// Deletes a type; `Conflict` `material_type_in_use` while materials refer to it; `false`
    /// when absent.
    async fn delete_material_type(&self, id: MaterialTypeId) -> DomainResult<bool>;

    /// Creates a material and its starting stock, in one transaction.
    async fn insert_material(&self, material: &NewMaterial) -> DomainResult<Material>;
    /// The material with this id, if any.
    async fn material(&self, id: MaterialId) -> DomainResult<Option<Material>>;
    /// A page of materials, optionally of one type, by title.
    async fn list_materials(
        &self,
        material_type_id: Option<MaterialTypeId>,
        page: PageRequest,
    ) -> DomainResult<Page<Material>>;
    /// Applies a change to a material.
    async fn update_material(
        &self,
        id: MaterialId,
        change: &MaterialChange,
    ) -> DomainResult<Material>;
    /// Deletes a material and its stock; `Conflict` `material_in_use` while payments refer to
    /// it; `false` when absent.
    async fn delete_material(&self, id: MaterialId) -> DomainResult<bool>;

    /// The stock rows of these materials held by units inside `scope`, by material then unit.
    async fn stock(&self, ids: &[MaterialId], scope: &UnitScope) -> DomainResult<Vec<StockLevel>>;
    /// Sets a unit's stock of a material (creating the row when there is none).
    async fn set_stock(
        &self,
        material: MaterialId,
        unit: OrgUnitId,
        quantity: i64,
    ) -> DomainResult<StockLevel>;
}
