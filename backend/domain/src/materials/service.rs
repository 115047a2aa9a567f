//! The material catalogue: everyone reads the types and materials (organisation-wide), only
//! administrators write them; each unit's stock is read in the caller's scope and set by whoever
//! may write in that unit. Catalogue pages are cached (static data, one version for the whole
//! catalogue); stock is read fresh, since every material payment changes it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::json;

use crate::access::Actor;
use crate::audit::{AuditAction, AuditLog};
use crate::files::{FileRepo, FileStatus, FileType, FileUrls};
use crate::materials::model::{
    Material, MaterialChange, MaterialInput, MaterialType, MaterialTypeChange, MaterialWithStock,
    NewMaterial, StockLevel, MAX_QUANTITY,
};
use crate::materials::repo::MaterialRepo;
use crate::org::OrgRepo;
use crate::shared::cached::{CacheLayer, Invalidation, Namespace, TtlClass};
use crate::shared::validation::{self, parse_cents, parse_currency};
use crate::shared::{
    finish, DomainError, DomainResult, FieldError, FileId, MaterialId, MaterialTypeId, OrgUnitId,
    Page, PageRequest,
};

/// Cached pages of the catalogue, `materials:v<version>:types:p<page>x<per_page>` and
/// `materials:v<version>:list:type=<id|any>:p<page>x<per_page>` (static data, the same for
/// every caller: stock is not in them). Every write to a type or a material moves the version.
pub static MATERIALS: Namespace = Namespace {
    name: "materials",
    ttl: TtlClass::Static,
    invalidation: Invalidation::Version,
};

/// The longest description a type may have.
const MAX_DESCRIPTION: usize = 2000;
/// The longest edition a material may have.
const MAX_EDITION: usize = 100;

/// Material types, materials and their stock.
pub struct MaterialService {
    materials: Arc<dyn MaterialRepo>,
    units: Arc<dyn OrgRepo>,
    files: Arc<dyn FileRepo>,
    urls: Arc<FileUrls>,
    cache: CacheLayer,
    audit: Arc<AuditLog>,
}

impl MaterialService {
    /// The service over the catalogue, the units that hold stock and the files materials show
    /// (their view URLs from `urls`); catalogue pages are cached in `cache`; deletions and
    /// stock set by hand are recorded in `audit`.
    pub fn new(
        materials: Arc<dyn MaterialRepo>,
        units: Arc<dyn OrgRepo>,
        files: Arc<dyn FileRepo>,
        urls: Arc<FileUrls>,
        cache: CacheLayer,
        audit: Arc<AuditLog>,
    ) -> Self {
        cache.register(&MATERIALS);
        Self {
            materials,
            units,
            files,
            urls,
            cache,
            audit,
        }
    }

    /// Creates a material type (administrators).
    pub async fn create_type(
        &self,
        actor: &Actor,
        input: MaterialTypeChange,
    ) -> DomainResult<MaterialType> {
        actor.require_admin()?;
        let mut errors = Vec::new();
        let name = match input.name.as_deref() {
            Some(raw) => parse_text_name("name", raw, 200, &mut errors),
            None => {
                errors.push(FieldError::new("name", "is required"));
                None
            }
        };
        let description = input
            .description
            .map(|d| parse_note("description", d, MAX_DESCRIPTION, &mut errors));
        finish(errors)?;
        let created = self
            .materials
            .insert_material_type(&MaterialTypeChange { name, description })
            .await?;
        self.changed().await;
        Ok(created)
    }

    /// One material type (everyone reads the catalogue).
    pub async fn get_type(&self, _actor: &Actor, id: MaterialTypeId) -> DomainResult<MaterialType> {
        self.materials
            .material_type(id)
            .await?
            .ok_or(DomainError::NotFound("material type"))
    }

    /// The material types, by name; from the cache when asked since the last change.
    pub async fn list_types(
        &self,
        _actor: &Actor,
        page: PageRequest,
    ) -> DomainResult<Page<MaterialType>> {
        let key = format!("types:p{}x{}", page.page, page.per_page);
        self.cache
            .get_or_load(&MATERIALS, &key, || {
                self.materials.list_material_types(page)
            })
            .await
    }

    /// Renames a material type or changes its description (administrators).
    pub async fn update_type(
        &self,
        actor: &Actor,
        id: MaterialTypeId,
        input: MaterialTypeChange,
    ) -> DomainResult<MaterialType> {
        actor.require_admin()?;
        self.get_type(actor, id).await?;
        let mut errors = Vec::new();
        let name = input
            .name
            .as_deref()
            .map(|raw| parse_text_name("name", raw, 200, &mut errors));
        let description = input
            .description
            .map(|d| parse_note("description", d, MAX_DESCRIPTION, &mut errors));
        finish(errors)?;
        let updated = self
            .materials
            .update_material_type(
                id,
                &MaterialTypeChange {
                    name: name.flatten(),
                    description,
                },
            )
            .await?;
        self.changed().await;
        Ok(updated)
    }

    /// Deletes a material type no material refers to (administrators).
    pub async fn delete_type(&self, actor: &Actor, id: MaterialTypeId) -> DomainResult<()> {
        actor.require_admin()?;
        let before = self.get_type(actor, id).await?;
        if !self.materials.delete_material_type(id).await? {
            return Err(DomainError::NotFound("material type"));
        }
        self.changed().await;
        self.audit
            .act(
                actor,
                AuditAction::MaterialTypeDeleted,
                format!("material_type:{}", id.0),
                json!({"before": {"name": before.name, "description": before.description}}),
            )
            .await;
        Ok(())
    }

    /// Creates a material with its starting stock (administrators).
    pub async fn create(
        &self,
        actor: &Actor,
        input: MaterialInput,
    ) -> DomainResult<MaterialWithStock> {
        actor.require_admin()?;
        let mut errors = Vec::new();
        let material_type_id = match input.material_type_id {
            Some(id) => self.known_type(id, &mut errors).await?,
            None => {
                errors.push(FieldError::new("material_type_id", "is required"));
                None
            }
        };
        let title = match input.title.as_deref() {
            Some(raw) => parse_text_name("title", raw, 200, &mut errors),
            None => {
                errors.push(FieldError::new("title", "is required"));
                None
            }
        };
        let edition = input
            .edition
            .flatten()
            .and_then(|raw| parse_text_name("edition", &raw, MAX_EDITION, &mut errors));
        let unit_price_cents = match input.unit_price_cents {
            Some(cents) => parse_cents("unit_price_cents", cents, &mut errors),
            None => {
                errors.push(FieldError::new("unit_price_cents", "is required"));
                0
            }
        };
        let currency = parse_currency(input.currency.as_deref(), &mut errors);
        let file_id = match input.file_id.flatten() {
            Some(id) => self.material_file(id, &mut errors).await?,
            None => None,
        };
        let mut stock = Vec::with_capacity(input.stock.len());
        let mut seen = HashSet::new();
        for (i, entry) in input.stock.iter().enumerate() {
            if !(0..=MAX_QUANTITY).contains(&entry.quantity) {
                errors.push(FieldError::new(
                    format!("stock[{i}].quantity"),
                    format!("must be 0 to {MAX_QUANTITY}"),
                ));
            }
            if !seen.insert(entry.org_unit_id) {
                errors.push(FieldError::new(
                    format!("stock[{i}].org_unit_id"),
                    "names a unit a second time",
                ));
            } else if self.units.unit(entry.org_unit_id).await?.is_none() {
                errors.push(FieldError::new(
                    format!("stock[{i}].org_unit_id"),
                    "no such org unit",
                ));
            }
            stock.push((entry.org_unit_id, entry.quantity));
        }
        finish(errors)?;
        let (Some(material_type_id), Some(title)) = (material_type_id, title) else {
            return Err(DomainError::invalid("title", "is required"));
        };
        let material = self
            .materials
            .insert_material(&NewMaterial {
                material_type_id,
                title,
                edition,
                unit_price_cents,
                currency,
                file_id,
                stock,
            })
            .await?;
        self.changed().await;
        self.with_stock(actor, material).await
    }

    /// One material, with the stock of the units in the caller's scope.
    pub async fn get(&self, actor: &Actor, id: MaterialId) -> DomainResult<MaterialWithStock> {
        let material = self.material(id).await?;
        self.with_stock(actor, material).await
    }

    /// The material itself, whoever asks (the catalogue is organisation-wide).
    pub async fn material(&self, id: MaterialId) -> DomainResult<Material> {
        self.materials
            .material(id)
            .await?
            .ok_or(DomainError::NotFound("material"))
    }

    /// The materials, optionally of one type, by title, each with the stock of the units in the
    /// caller's scope: the catalogue page from the cache, the stock fresh in one query.
    pub async fn list(
        &self,
        actor: &Actor,
        material_type_id: Option<MaterialTypeId>,
        page: PageRequest,
    ) -> DomainResult<Page<MaterialWithStock>> {
        let key = format!(
            "list:type={}:p{}x{}",
            material_type_id.map_or("any".into(), |t| t.0.to_string()),
            page.page,
            page.per_page
        );
        let found: Page<Material> = self
            .cache
            .get_or_load(&MATERIALS, &key, || {
                self.materials.list_materials(material_type_id, page)
            })
            .await?;
        let ids: Vec<MaterialId> = found.items.iter().map(|m| m.id).collect();
        let mut stock = self.materials.stock(&ids, &actor.units).await?;
        let urls = self.file_urls(&found.items).await?;
        Ok(found.map(|material| {
            let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut stock)
                .into_iter()
                .partition(|s| s.material_id == material.id);
            stock = rest;
            let file_url = material.file_id.and_then(|f| urls.get(&f).cloned());
            // A cached page may still name a file deleted since (files do not move the
            // catalogue's version): it is shown as gone.
            let material = Material {
                file_id: material.file_id.filter(|_| file_url.is_some()),
                ..material
            };
            MaterialWithStock {
                material,
                stock: mine,
                file_url,
            }
        }))
    }

    /// Changes a material (administrators); its stock changes through [`Self::set_stock`].
    pub async fn update(
        &self,
        actor: &Actor,
        id: MaterialId,
        input: MaterialInput,
    ) -> DomainResult<MaterialWithStock> {
        actor.require_admin()?;
        self.material(id).await?;
        let mut errors = Vec::new();
        let material_type_id = match input.material_type_id {
            Some(t) => self.known_type(t, &mut errors).await?,
            None => None,
        };
        let title = input
            .title
            .as_deref()
            .and_then(|raw| parse_text_name("title", raw, 200, &mut errors));
        let edition = input
            .edition
            .map(|e| e.and_then(|raw| parse_text_name("edition", &raw, MAX_EDITION, &mut errors)));
        let unit_price_cents = input
            .unit_price_cents
            .map(|c| parse_cents("unit_price_cents", c, &mut errors));
        let currency = input
            .currency
            .as_deref()
            .map(|c| parse_currency(Some(c), &mut errors));
        let file_id = match input.file_id {
            Some(Some(file)) => Some(self.material_file(file, &mut errors).await?),
            Some(None) => Some(None),
            None => None,
        };
        finish(errors)?;
        let material = self
            .materials
            .update_material(
                id,
                &MaterialChange {
                    material_type_id,
                    title,
                    edition,
                    unit_price_cents,
                    currency,
                    file_id,
                },
            )
            .await?;
        self.changed().await;
        self.with_stock(actor, material).await
    }

    /// Deletes a material no payment refers to, with its stock (administrators).
    pub async fn delete(&self, actor: &Actor, id: MaterialId) -> DomainResult<()> {
        actor.require_admin()?;
        let before = self.material(id).await?;
        if !self.materials.delete_material(id).await? {
            return Err(DomainError::NotFound("material"));
        }
        self.changed().await;
        self.audit
            .act(
                actor,
                AuditAction::MaterialDeleted,
                format!("material:{}", id.0),
                json!({"before": {"title": before.title, "edition": before.edition,
                       "material_type_id": before.material_type_id.0,
                       "unit_price_cents": before.unit_price_cents, "currency": before.currency}}),
            )
            .await;
        Ok(())
    }

    /// Sets a unit's stock of a material, for whoever may write in that unit (the unit is in
    /// its scope); a unit outside the scope is not found, as the material is for everyone.
    pub async fn set_stock(
        &self,
        actor: &Actor,
        id: MaterialId,
        unit: OrgUnitId,
        quantity: i64,
    ) -> DomainResult<StockLevel> {
        self.material(id).await?;
        self.units
            .unit(unit)
            .await?
            .filter(|u| actor.units.contains(Some(&u.path)))
            .ok_or(DomainError::NotFound("org unit"))?;
        if !(0..=MAX_QUANTITY).contains(&quantity) {
            return Err(DomainError::invalid(
                "quantity",
                format!("must be 0 to {MAX_QUANTITY}"),
            ));
        }
        let level = self.materials.set_stock(id, unit, quantity).await?;
        self.audit
            .act(
                actor,
                AuditAction::StockSet,
                format!("material:{}", id.0),
                json!({"org_unit_id": unit.0, "quantity": quantity}),
            )
            .await;
        Ok(level)
    }

    /// The material with the stock of the units in the caller's scope.
    async fn with_stock(
        &self,
        actor: &Actor,
        material: Material,
    ) -> DomainResult<MaterialWithStock> {
        let stock = self.materials.stock(&[material.id], &actor.units).await?;
        let file_url = self
            .file_urls(std::slice::from_ref(&material))
            .await?
            .into_values()
            .next();
        Ok(MaterialWithStock {
            material,
            stock,
            file_url,
        })
    }

    /// The view URLs of the materials' files, by file id: one query for the rows and one cache
    /// round trip for the URLs. The file is part of the catalogue, so whoever reads the
    /// catalogue sees it, whatever unit uploaded it.
    async fn file_urls(&self, materials: &[Material]) -> DomainResult<HashMap<FileId, String>> {
        let ids: Vec<FileId> = materials.iter().filter_map(|m| m.file_id).collect();
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let files = self.files.files_by_ids(&ids).await?;
        Ok(self
            .urls
            .urls_for(&files)
            .await?
            .into_iter()
            .map(|(id, signed)| (id, signed.url.to_string()))
            .collect())
    }

    /// The type's id if it exists, or a field error.
    async fn known_type(
        &self,
        id: MaterialTypeId,
        errors: &mut Vec<FieldError>,
    ) -> DomainResult<Option<MaterialTypeId>> {
        if self.materials.material_type(id).await?.is_some() {
            Ok(Some(id))
        } else {
            errors.push(FieldError::new("material_type_id", "no such material type"));
            Ok(None)
        }
    }

    /// The file's id if it is an uploaded file of type `material` (a cover or a document), or
    /// a field error. Only administrators write materials, and they see every file.
    async fn material_file(
        &self,
        id: FileId,
        errors: &mut Vec<FieldError>,
    ) -> DomainResult<Option<FileId>> {
        match self.files.file_by_id(id).await? {
            Some(f) if f.status == FileStatus::Uploaded && f.file_type == FileType::Material => {
                Ok(Some(id))
            }
            Some(f) if f.status == FileStatus::Uploaded => {
                errors.push(FieldError::new(
                    "file_id",
                    "must be a file of type material (a cover or a document)",
                ));
                Ok(None)
            }
            _ => {
                errors.push(FieldError::new("file_id", "no such file"));
                Ok(None)
            }
        }
    }

    /// Drops every cached catalogue page.
    async fn changed(&self) {
        self.cache.invalidate(&MATERIALS).await;
    }
}

/// A one-line name (title, edition, type name), trimmed; a field error otherwise.
fn parse_text_name(
    field: &str,
    raw: &str,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    crate::shared::collect_field(validation::name(field, raw, max), errors)
}

/// Free text (a description, a payment's note): at most `max` characters, line breaks and tabs
/// allowed but no other control characters, trimmed; empty is none.
pub fn parse_note(
    field: &str,
    raw: Option<String>,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let raw = raw?;
    if raw
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        errors.push(FieldError::new(
            field,
            "must not contain control characters",
        ));
        return None;
    }
    if raw.chars().count() > max {
        errors.push(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
        return None;
    }
    let text = raw.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::Mutex;
    use std::time::Duration;

    use async_trait::async_trait;
    use bytes::Bytes;
    use chrono::Utc;

    use crate::access::{UnitPath, UnitScope};
    use crate::files::{
        FileFilter, GetUrlOptions, NewFile, ObjectMeta, ObjectStore, SignedUrl, StoredFile,
        UrlPolicy,
    };
    use crate::materials::model::StockInput;
    use crate::org::fakes::TwoCells;
    use crate::shared::cached::TtlClasses;
    use crate::shared::fakes::{MapCache, Recorded};
    use crate::shared::time::SystemClock;
    use crate::shared::UserId;

    fn unused<T>() -> DomainResult<T> {
        Err(DomainError::Unexpected(anyhow::anyhow!("not used here")))
    }

    fn path(raw: &str) -> UnitPath {
        UnitPath::from_stored(raw.into())
    }

    /// One type (1), materials and stock in memory; cells 3 (`/1/2/3/`) and 4 (`/1/2/4/`);
    /// no files. Counts catalogue reads, to tell a cached page from a loaded one.
    #[derive(Default)]
    struct Store {
        materials: Mutex<Vec<Material>>,
        stock: Mutex<Vec<StockLevel>>,
        catalogue_reads: Mutex<u32>,
    }

    #[async_trait]
    impl MaterialRepo for Store {
        async fn insert_material_type(&self, _: &MaterialTypeChange) -> DomainResult<MaterialType> {
            unused()
        }
        async fn material_type(&self, id: MaterialTypeId) -> DomainResult<Option<MaterialType>> {
            Ok((id == MaterialTypeId(1)).then(|| MaterialType {
                id,
                name: "Books".into(),
                description: None,
                created_at: Utc::now(),
            }))
        }
        async fn list_material_types(&self, _: PageRequest) -> DomainResult<Page<MaterialType>> {
            unused()
        }
        async fn update_material_type(
            &self,
            _: MaterialTypeId,
            _: &MaterialTypeChange,
        ) -> DomainResult<MaterialType> {
            unused()
        }
        async fn delete_material_type(&self, _: MaterialTypeId) -> DomainResult<bool> {
            unused()
        }
        async fn insert_material(&self, new: &NewMaterial) -> DomainResult<Material> {
            let mut materials = self.materials.lock().unwrap();
            let material = Material {
                id: MaterialId(materials.len() as i64 + 1),
                material_type_id: new.material_type_id,
                title: new.title.clone(),
                edition: new.edition.clone(),
                unit_price_cents: new.unit_price_cents,
                currency: new.currency.clone(),
                file_id: new.file_id,
                created_at: Utc::now(),
            };
            materials.push(material.clone());
            for (unit, quantity) in &new.stock {
                self.stock.lock().unwrap().push(StockLevel {
                    material_id: material.id,
                    org_unit_id: *unit,
                    unit_path: path(&format!("/1/2/{unit}/")),
                    quantity: *quantity,
                });
            }
            Ok(material)
        }
        async fn material(&self, id: MaterialId) -> DomainResult<Option<Material>> {
            Ok(self
                .materials
                .lock()
                .unwrap()
                .iter()
                .find(|m| m.id == id)
                .cloned())
        }
        async fn list_materials(
            &self,
            _: Option<MaterialTypeId>,
            _: PageRequest,
        ) -> DomainResult<Page<Material>> {
            *self.catalogue_reads.lock().unwrap() += 1;
            let items = self.materials.lock().unwrap().clone();
            let total = items.len() as i64;
            Ok(Page { items, total })
        }
        async fn update_material(
            &self,
            _: MaterialId,
            _: &MaterialChange,
        ) -> DomainResult<Material> {
            unused()
        }
        async fn delete_material(&self, _: MaterialId) -> DomainResult<bool> {
            unused()
        }
        async fn stock(
            &self,
            ids: &[MaterialId],
            scope: &UnitScope,
        ) -> DomainResult<Vec<StockLevel>> {
            Ok(self
                .stock
                .lock()
                .unwrap()
                .iter()
                .filter(|s| ids.contains(&s.material_id) && scope.contains(Some(&s.unit_path)))
                .cloned()
                .collect())
        }
        async fn set_stock(
            &self,
            material: MaterialId,
            unit: OrgUnitId,
            quantity: i64,
        ) -> DomainResult<StockLevel> {
            let mut stock = self.stock.lock().unwrap();
            stock.retain(|s| !(s.material_id == material && s.org_unit_id == unit));
            let level = StockLevel {
                material_id: material,
                org_unit_id: unit,
                unit_path: path(&format!("/1/2/{unit}/")),
                quantity,
            };
            stock.push(level.clone());
            Ok(level)
        }
    }

    #[async_trait]
    impl FileRepo for Store {
        async fn insert_file(&self, _: NewFile) -> DomainResult<StoredFile> {
            unused()
        }
        async fn file_by_id(&self, _: FileId) -> DomainResult<Option<StoredFile>> {
            Ok(None)
        }
        async fn files_by_ids(&self, _: &[FileId]) -> DomainResult<Vec<StoredFile>> {
            Ok(Vec::new())
        }
        async fn list_files(
            &self,
            _: FileFilter,
            _: PageRequest,
        ) -> DomainResult<Page<StoredFile>> {
            unused()
        }
        async fn newest_files(&self, _: Option<FileType>, _: u32) -> DomainResult<Vec<StoredFile>> {
            unused()
        }
        async fn mark_uploaded(
            &self,
            _: FileId,
            _: i64,
            _: &str,
            _: &str,
        ) -> DomainResult<Option<StoredFile>> {
            unused()
        }
        async fn delete_file(&self, _: FileId) -> DomainResult<bool> {
            unused()
        }
    }

    /// No object is ever signed here: these materials have no file.
    struct NoObjects;

    #[async_trait]
    impl ObjectStore for NoObjects {
        fn kind(&self) -> &'static str {
            "none"
        }
        async fn ping(&self) -> DomainResult<()> {
            Ok(())
        }
        async fn put(&self, _: &str, _: Bytes, _: &str) -> DomainResult<()> {
            unused()
        }
        async fn head(&self, _: &str) -> DomainResult<Option<ObjectMeta>> {
            unused()
        }
        async fn read_prefix(&self, _: &str, _: usize) -> DomainResult<Bytes> {
            unused()
        }
        async fn delete(&self, _: &str) -> DomainResult<()> {
            unused()
        }
        async fn presign_get(
            &self,
            _: &str,
            _: Duration,
            _: &GetUrlOptions,
        ) -> DomainResult<SignedUrl> {
            unused()
        }
    }

    fn service(store: &Arc<Store>) -> MaterialService {
        let layer = CacheLayer::new(
            Arc::new(MapCache::default()),
            Arc::new(SystemClock),
            TtlClasses::default(),
        );
        MaterialService::new(
            Arc::clone(store) as Arc<dyn MaterialRepo>,
            Arc::new(TwoCells) as Arc<dyn OrgRepo>,
            Arc::clone(store) as Arc<dyn FileRepo>,
            Arc::new(FileUrls::new(
                layer.clone(),
                Arc::new(NoObjects),
                UrlPolicy::default(),
            )),
            layer,
            Arc::new(AuditLog::new(Arc::new(Recorded::default()))),
        )
    }

    fn actor(is_admin: bool, units: UnitScope) -> Actor {
        Actor {
            user_id: UserId(1),
            is_admin,
            is_treasurer: false,
            org_unit_id: None,
            units,
            ip: None,
        }
    }

    fn new_material(stock: Vec<StockInput>) -> MaterialInput {
        MaterialInput {
            material_type_id: Some(MaterialTypeId(1)),
            title: Some(" Capital ".into()),
            unit_price_cents: Some(4500),
            stock,
            ..MaterialInput::default()
        }
    }

    #[tokio::test]
    async fn only_administrators_write_the_catalogue_and_its_pages_are_cached_until_they_do() {
        let store = Arc::new(Store::default());
        let materials = service(&store);
        let admin = actor(true, UnitScope::All);
        let cell = actor(false, UnitScope::Subtree(path("/1/2/3/")));
        assert!(matches!(
            materials.create(&cell, new_material(Vec::new())).await,
            Err(DomainError::Forbidden {
                code: crate::shared::ErrorCode::AdminRequired,
                ..
            })
        ));
        let created = materials
            .create(
                &admin,
                new_material(vec![
                    StockInput {
                        org_unit_id: OrgUnitId(3),
                        quantity: 5,
                    },
                    StockInput {
                        org_unit_id: OrgUnitId(4),
                        quantity: 2,
                    },
                ]),
            )
            .await
            .unwrap();
        assert_eq!(created.material.title, "Capital");
        assert_eq!(created.material.currency, "BRL");
        let page = PageRequest::parse(None, None).unwrap();
        for _ in 0..3 {
            let listed = materials.list(&cell, None, page).await.unwrap();
            assert_eq!(listed.items.len(), 1);
            // Stock is the caller's scope's, and read fresh beside the cached page.
            assert_eq!(listed.items[0].stock.len(), 1);
            assert_eq!(listed.items[0].stock[0].org_unit_id, OrgUnitId(3));
        }
        assert_eq!(*store.catalogue_reads.lock().unwrap(), 1);
        materials
            .set_stock(&cell, created.material.id, OrgUnitId(3), 0)
            .await
            .unwrap();
        let listed = materials.list(&cell, None, page).await.unwrap();
        assert_eq!(listed.items[0].stock[0].quantity, 0);
        assert_eq!(
            *store.catalogue_reads.lock().unwrap(),
            1,
            "stock moves no version"
        );
        materials
            .create(&admin, new_material(Vec::new()))
            .await
            .unwrap();
        assert_eq!(
            materials.list(&cell, None, page).await.unwrap().items.len(),
            2
        );
        assert_eq!(*store.catalogue_reads.lock().unwrap(), 2);
    }

    #[tokio::test]
    async fn stock_is_set_only_in_the_callers_units_and_never_below_zero() {
        let store = Arc::new(Store::default());
        let materials = service(&store);
        let admin = actor(true, UnitScope::All);
        let id = materials
            .create(&admin, new_material(Vec::new()))
            .await
            .unwrap()
            .material
            .id;
        let cell = actor(false, UnitScope::Subtree(path("/1/2/3/")));
        for unit in [4, 5] {
            assert!(matches!(
                materials.set_stock(&cell, id, OrgUnitId(unit), 1).await,
                Err(DomainError::NotFound("org unit"))
            ));
        }
        assert!(matches!(
            materials
                .set_stock(&cell, MaterialId(99), OrgUnitId(3), 1)
                .await,
            Err(DomainError::NotFound("material"))
        ));
        assert!(matches!(
            materials.set_stock(&cell, id, OrgUnitId(3), -1).await,
            Err(DomainError::Validation(_))
        ));
        assert!(store.stock.lock().unwrap().is_empty());
        let level = materials
            .set_stock(&cell, id, OrgUnitId(3), 7)
            .await
            .unwrap();
        assert_eq!(level.quantity, 7);
        // Starting stock is checked entry by entry, and nothing is created when one is wrong.
        let bad = new_material(vec![
            StockInput {
                org_unit_id: OrgUnitId(3),
                quantity: -2,
            },
            StockInput {
                org_unit_id: OrgUnitId(3),
                quantity: 1,
            },
            StockInput {
                org_unit_id: OrgUnitId(9),
                quantity: 1,
            },
        ]);
        match materials.create(&admin, bad).await {
            Err(DomainError::Validation(fields)) => {
                let named: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
                assert_eq!(
                    named,
                    [
                        "stock[0].quantity",
                        "stock[1].org_unit_id",
                        "stock[2].org_unit_id"
                    ]
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(store.materials.lock().unwrap().len(), 1);
    }
}
