//! The material catalogue as the organisation keeps it: material types, materials (publications
//! and supplies with a unit price in integer cents and an ISO currency), and each org unit's
//! stock of a material, which never goes below zero.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::access::UnitPath;
use crate::shared::{FileId, MaterialId, MaterialTypeId, OrgUnitId};

/// The most a stock level or a payment's quantity may be.
pub const MAX_QUANTITY: i64 = 1_000_000_000;

/// A kind of material (books, newspapers, badges…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaterialType {
    /// Id.
    pub id: MaterialTypeId,
    /// Its name, unique.
    pub name: String,
    /// What it covers.
    pub description: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A material type as sent (unparsed) or to store (parsed): on update, `None` leaves a field
/// as it is.
#[derive(Debug, Clone, Default)]
pub struct MaterialTypeChange {
    /// The name.
    pub name: Option<String>,
    /// The description; `Some(None)` removes it.
    pub description: Option<Option<String>>,
}

/// A material of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Material {
    /// Id.
    pub id: MaterialId,
    /// Its type.
    pub material_type_id: MaterialTypeId,
    /// Its title.
    pub title: String,
    /// Its edition, if it has one.
    pub edition: Option<String>,
    /// The price of one, in cents.
    pub unit_price_cents: i64,
    /// ISO currency code of the price.
    pub currency: String,
    /// Its cover or document (a file of type `material`).
    pub file_id: Option<FileId>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// One unit's stock of one material.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLevel {
    /// The material.
    pub material_id: MaterialId,
    /// The unit that holds it.
    pub org_unit_id: OrgUnitId,
    /// That unit's path (who sees the stock).
    pub unit_path: UnitPath,
    /// How many the unit holds.
    pub quantity: i64,
}

/// A material to store, with the stock each unit starts with.
#[derive(Debug, Clone)]
pub struct NewMaterial {
    /// Its type.
    pub material_type_id: MaterialTypeId,
    /// Its title.
    pub title: String,
    /// Its edition.
    pub edition: Option<String>,
    /// The price of one, in cents.
    pub unit_price_cents: i64,
    /// Currency.
    pub currency: String,
    /// Its cover or document.
    pub file_id: Option<FileId>,
    /// The starting stock, one entry per unit.
    pub stock: Vec<(OrgUnitId, i64)>,
}

/// A change to a material; `None` leaves a field as it is, `Some(None)` removes an optional one.
#[derive(Debug, Clone, Default)]
pub struct MaterialChange {
    /// New type.
    pub material_type_id: Option<MaterialTypeId>,
    /// New title.
    pub title: Option<String>,
    /// New edition.
    pub edition: Option<Option<String>>,
    /// New price of one.
    pub unit_price_cents: Option<i64>,
    /// New currency.
    pub currency: Option<String>,
    /// New cover or document.
    pub file_id: Option<Option<FileId>>,
}

/// One entry of a material's starting stock, still unparsed.
#[derive(Debug, Clone, Copy)]
pub struct StockInput {
    /// The unit.
    pub org_unit_id: OrgUnitId,
    /// How many it holds.
    pub quantity: i64,
}

/// Input for a material, still unparsed; on update `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct MaterialInput {
    /// Its type.
    pub material_type_id: Option<MaterialTypeId>,
    /// Its title.
    pub title: Option<String>,
    /// Its edition; `Some(None)` removes it.
    pub edition: Option<Option<String>>,
    /// The price of one, in cents.
    pub unit_price_cents: Option<i64>,
    /// Currency (`BRL` when absent on creation).
    pub currency: Option<String>,
    /// Its cover or document; `Some(None)` removes it.
    pub file_id: Option<Option<FileId>>,
    /// The starting stock (creation only).
    pub stock: Vec<StockInput>,
}

/// A material with the stock the caller sees of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaterialWithStock {
    /// The material.
    pub material: Material,
    /// The stock of the units in the caller's scope that hold a row for it, by unit id.
    pub stock: Vec<StockLevel>,
    /// A signed view URL of its cover or document (from the file-URL cache), when it has one.
    pub file_url: Option<String>,
}
