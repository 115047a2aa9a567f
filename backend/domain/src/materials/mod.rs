//! Materials: the organisation-wide catalogue of material types and materials (publications and
//! supplies with a price), and each org unit's stock of them.

pub mod model;
pub mod repo;
pub mod service;

pub use model::{
    Material, MaterialChange, MaterialInput, MaterialType, MaterialTypeChange, MaterialWithStock,
    NewMaterial, StockInput, StockLevel, MAX_QUANTITY,
};
pub use repo::MaterialRepo;
pub use service::{MaterialService, MATERIALS};
