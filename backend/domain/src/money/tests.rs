//! The money rules with small fakes of the stores they read: what a payment settles, its
//! amount, its receipt; which dues may be generated, created or changed.

use std::sync::Arc;

use chrono::NaiveDate;
use serde_json::json;

use crate::access::Actor;
use crate::audit::AuditLog;
use crate::files::{FileRepo, FileStatus};
use crate::materials::MaterialRepo;
use crate::members::MemberRepo;
use crate::money::model::{NewPayment, Payment, PaymentFilter, PaymentInput, PaymentPurpose};
use crate::money::repo::MoneyRepo;
use crate::money::{DuesService, PaymentService};
use crate::shared::events::Events;
use crate::shared::{DomainError, DomainResult, MemberId, Page, PageRequest};

use std::sync::Mutex;

use async_trait::async_trait;
use chrono::Utc;

use crate::access::{UnitPath, UnitScope};
use crate::audit::AuditRepo;
use crate::files::{FileFilter, FileType, NewFile, StoredFile};
use crate::materials::{
    Material, MaterialChange, MaterialType, MaterialTypeChange, NewMaterial, StockLevel,
};
use crate::members::{Member, MemberFilter, MemberUpdate, NewMember};
use crate::money::model::{
    Dues, DuesFilter, DuesGenerated, DuesInput, DuesStatus, DuesUpdate, GenerateDues,
    GenerateInput, NewDues, PaymentMethod,
};
use crate::org::fakes::TwoCells;
use crate::org::OrgRepo;
use crate::shared::fakes::Recorded;
use crate::shared::time::SystemClock;
use crate::shared::{DuesId, FileId, MaterialId, MaterialTypeId, OrgUnitId, PaymentId, UserId};

fn unused<T>() -> DomainResult<T> {
    Err(DomainError::Unexpected(anyhow::anyhow!("not used here")))
}

/// Member 1 in cell 3 (`/1/2/3/`) with open dues 10 of 2500 BRL; material 20 at 1250 BRL;
/// file 30 a receipt of cell 3, file 31 an avatar of cell 3, file 32 a receipt of cell 4.
/// Payments handed to the store are kept.
/// Units: cell 3 (`/1/2/3/`) and cell 4 (`/1/2/4/`). Generations handed to the store are kept.
#[derive(Default)]
struct Store {
    inserted: Mutex<Vec<NewPayment>>,
    generated: Mutex<Vec<GenerateDues>>,
}

fn cell(path: &str) -> UnitPath {
    UnitPath::from_stored(path.into())
}

#[async_trait]
impl MemberRepo for Store {
    async fn insert_member(&self, _: NewMember) -> DomainResult<Member> {
        unused()
    }
    async fn member_by_id(&self, id: MemberId) -> DomainResult<Option<Member>> {
        // Through JSON, so fields the member gains later keep their defaults here.
        let member: Member = serde_json::from_value(json!({
            "id": 1, "name": "Ana", "email": null, "org_unit_id": 3,
            "unit_path": "/1/2/3/", "status": "active", "created_at": Utc::now(),
        }))
        .map_err(|e| DomainError::Unexpected(e.into()))?;
        Ok((id == MemberId(1)).then_some(member))
    }
    async fn member_has_money(&self, _: MemberId) -> DomainResult<bool> {
        unused()
    }
    async fn list_members(&self, _: MemberFilter, _: PageRequest) -> DomainResult<Page<Member>> {
        unused()
    }
    async fn update_member(&self, _: MemberId, _: &MemberUpdate) -> DomainResult<Member> {
        unused()
    }
    async fn delete_member(&self, _: MemberId) -> DomainResult<bool> {
        unused()
    }
}

#[async_trait]
impl MoneyRepo for Store {
    async fn insert_dues(&self, _: NewDues) -> DomainResult<Dues> {
        unused()
    }
    async fn dues_by_id(&self, id: DuesId) -> DomainResult<Option<Dues>> {
        Ok((id == DuesId(10)).then(|| Dues {
            id,
            member_id: MemberId(1),
            unit_path: cell("/1/2/3/"),
            period: "2026-11".into(),
            amount_cents: 2500,
            currency: "BRL".into(),
            due_date: chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap_or_default(),
            status: DuesStatus::Open,
            created_at: Utc::now(),
        }))
    }
    async fn list_dues(&self, _: DuesFilter, _: PageRequest) -> DomainResult<Page<Dues>> {
        unused()
    }
    async fn generate_dues(&self, generate: &GenerateDues) -> DomainResult<DuesGenerated> {
        self.generated.lock().unwrap().push(generate.clone());
        Ok(DuesGenerated {
            created: 1,
            skipped: 0,
        })
    }
    async fn update_dues(&self, _: DuesId, _: &DuesUpdate) -> DomainResult<Dues> {
        unused()
    }
    async fn delete_dues(&self, _: DuesId) -> DomainResult<bool> {
        unused()
    }
    async fn insert_payment(&self, payment: NewPayment) -> DomainResult<Payment> {
        let stored = Payment {
            id: PaymentId(1),
            member_id: payment.member_id,
            unit_path: cell("/1/2/3/"),
            dues_id: payment.dues_id,
            purpose: payment.purpose,
            material_id: payment.material.map(|m| m.0),
            quantity: payment.material.map(|m| m.1),
            stock_org_unit_id: payment.material.map(|m| m.2),
            amount_cents: payment.amount_cents,
            currency: payment.currency.clone(),
            method: payment.method,
            paid_on: payment.paid_on,
            note: payment.note.clone(),
            receipt_file_id: payment.receipt_file_id,
            recorded_by: payment.recorded_by,
            created_at: Utc::now(),
        };
        self.inserted.lock().unwrap().push(payment);
        Ok(stored)
    }
    async fn payment_by_id(&self, _: PaymentId) -> DomainResult<Option<Payment>> {
        unused()
    }
    async fn list_payments(&self, _: PaymentFilter, _: PageRequest) -> DomainResult<Page<Payment>> {
        unused()
    }
    async fn delete_payment(&self, _: PaymentId) -> DomainResult<bool> {
        unused()
    }
}

#[async_trait]
impl MaterialRepo for Store {
    async fn insert_material_type(&self, _: &MaterialTypeChange) -> DomainResult<MaterialType> {
        unused()
    }
    async fn material_type(&self, _: MaterialTypeId) -> DomainResult<Option<MaterialType>> {
        unused()
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
    async fn insert_material(&self, _: &NewMaterial) -> DomainResult<Material> {
        unused()
    }
    async fn material(&self, id: MaterialId) -> DomainResult<Option<Material>> {
        Ok((id == MaterialId(20)).then(|| Material {
            id,
            material_type_id: MaterialTypeId(1),
            title: "Manifesto".into(),
            edition: None,
            unit_price_cents: 1250,
            currency: "BRL".into(),
            file_id: None,
            created_at: Utc::now(),
        }))
    }
    async fn list_materials(
        &self,
        _: Option<MaterialTypeId>,
        _: PageRequest,
    ) -> DomainResult<Page<Material>> {
        unused()
    }
    async fn update_material(&self, _: MaterialId, _: &MaterialChange) -> DomainResult<Material> {
        unused()
    }
    async fn delete_material(&self, _: MaterialId) -> DomainResult<bool> {
        unused()
    }
    async fn stock(&self, _: &[MaterialId], _: &UnitScope) -> DomainResult<Vec<StockLevel>> {
        unused()
    }
    async fn set_stock(&self, _: MaterialId, _: OrgUnitId, _: i64) -> DomainResult<StockLevel> {
        unused()
    }
}

#[async_trait]
impl FileRepo for Store {
    async fn insert_file(&self, _: NewFile) -> DomainResult<StoredFile> {
        unused()
    }
    async fn file_by_id(&self, id: FileId) -> DomainResult<Option<StoredFile>> {
        let (file_type, path) = match id.0 {
            30 => (FileType::Receipt, "/1/2/3/"),
            31 => (FileType::Avatar, "/1/2/3/"),
            32 => (FileType::Receipt, "/1/2/4/"),
            _ => return Ok(None),
        };
        Ok(Some(StoredFile {
            id,
            file_type,
            object_key: format!("k{id}"),
            original_name: "r.pdf".into(),
            content_type: "application/pdf".into(),
            size: 1,
            status: FileStatus::Uploaded,
            uploaded_by: UserId(99),
            org_unit_id: None,
            unit_path: Some(cell(path)),
            created_at: Utc::now(),
        }))
    }
    async fn files_by_ids(&self, _: &[FileId]) -> DomainResult<Vec<StoredFile>> {
        unused()
    }
    async fn list_files(&self, _: FileFilter, _: PageRequest) -> DomainResult<Page<StoredFile>> {
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

fn dues_service(store: &Arc<Store>) -> DuesService {
    DuesService::new(
        Arc::clone(store) as Arc<dyn MoneyRepo>,
        Arc::clone(store) as Arc<dyn MemberRepo>,
        Arc::new(TwoCells) as Arc<dyn OrgRepo>,
        Arc::new(SystemClock),
        Events::default(),
        Arc::new(AuditLog::new(
            Arc::new(Recorded::default()) as Arc<dyn AuditRepo>
        )),
    )
}

fn service(store: &Arc<Store>) -> PaymentService {
    PaymentService::new(
        Arc::clone(store) as Arc<dyn MoneyRepo>,
        Arc::clone(store) as Arc<dyn MemberRepo>,
        Arc::clone(store) as Arc<dyn MaterialRepo>,
        Arc::clone(store) as Arc<dyn FileRepo>,
        Events::default(),
        Arc::new(AuditLog::new(
            Arc::new(Recorded::default()) as Arc<dyn AuditRepo>
        )),
    )
}

/// A user of cell 3.
fn cell_user() -> Actor {
    Actor {
        user_id: UserId(7),
        is_admin: false,
        is_treasurer: false,
        org_unit_id: Some(OrgUnitId(3)),
        units: UnitScope::Subtree(cell("/1/2/3/")),
        ip: None,
    }
}

fn input(purpose: PaymentPurpose, amount_cents: i64) -> PaymentInput {
    PaymentInput {
        member_id: Some(MemberId(1)),
        purpose: Some(purpose),
        amount_cents: Some(amount_cents),
        method: Some(PaymentMethod::Cash),
        ..PaymentInput::default()
    }
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 3).unwrap_or_default()
}

/// The fields a refusal names.
fn refused(result: DomainResult<Payment>) -> Vec<String> {
    match result {
        Err(DomainError::Validation(fields)) => fields.into_iter().map(|f| f.field).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_material_costs_price_times_quantity_unless_a_note_says_why_not() {
    let store = Arc::new(Store::default());
    let payments = service(&store);
    let material = |amount, note: Option<&str>| PaymentInput {
        material_id: Some(MaterialId(20)),
        quantity: Some(2),
        note: note.map(str::to_owned),
        ..input(PaymentPurpose::Material, amount)
    };
    let actor = cell_user();
    assert_eq!(
        refused(payments.create(&actor, material(2400, None), today()).await),
        ["note"]
    );
    assert_eq!(
        refused(
            payments
                .create(&actor, material(2400, Some(" \n ")), today())
                .await
        ),
        ["note"]
    );
    let usd = PaymentInput {
        currency: Some("USD".into()),
        ..material(2500, None)
    };
    assert_eq!(
        refused(payments.create(&actor, usd, today()).await),
        ["currency"]
    );
    assert!(store.inserted.lock().unwrap().is_empty());

    payments
        .create(&actor, material(2500, None), today())
        .await
        .unwrap();
    let paid = payments
        .create(&actor, material(2000, Some(" member discount ")), today())
        .await
        .unwrap();
    assert_eq!(paid.note.as_deref(), Some("member discount"));
    let inserted = store.inserted.lock().unwrap();
    // The stock of the member's own cell gives the material.
    assert_eq!(
        inserted[0].material,
        Some((MaterialId(20), 2, OrgUnitId(3)))
    );
    assert_eq!(inserted[0].paid_on, today());
    assert_eq!(inserted[1].amount_cents, 2000);
}

#[tokio::test]
async fn what_a_payment_settles_must_fit_its_purpose() {
    let store = Arc::new(Store::default());
    let payments = service(&store);
    let actor = cell_user();
    let dues = |amount| PaymentInput {
        dues_id: Some(DuesId(10)),
        ..input(PaymentPurpose::Dues, amount)
    };
    assert_eq!(
        refused(payments.create(&actor, dues(2000), today()).await),
        ["amount_cents"],
        "no partial payment"
    );
    let both = PaymentInput {
        material_id: Some(MaterialId(20)),
        quantity: Some(1),
        ..dues(2500)
    };
    assert_eq!(
        refused(payments.create(&actor, both, today()).await),
        ["material_id", "quantity"]
    );
    let bare = input(PaymentPurpose::Material, 1250);
    assert_eq!(
        refused(payments.create(&actor, bare, today()).await),
        ["material_id", "quantity"]
    );
    let unknown = PaymentInput {
        material_id: Some(MaterialId(21)),
        quantity: Some(0),
        ..input(PaymentPurpose::Material, 1250)
    };
    assert_eq!(
        refused(payments.create(&actor, unknown, today()).await),
        ["quantity", "material_id"]
    );
    assert!(store.inserted.lock().unwrap().is_empty());
    payments.create(&actor, dues(2500), today()).await.unwrap();
    assert_eq!(store.inserted.lock().unwrap()[0].material, None);
}

#[tokio::test]
async fn a_receipt_is_a_receipt_file_inside_the_callers_scope() {
    let store = Arc::new(Store::default());
    let payments = service(&store);
    let actor = cell_user();
    let with = |file| PaymentInput {
        receipt_file_id: Some(FileId(file)),
        ..input(PaymentPurpose::Donation, 100)
    };
    for file in [31, 32, 33] {
        assert_eq!(
            refused(payments.create(&actor, with(file), today()).await),
            ["receipt_file_id"],
            "file {file}"
        );
    }
    let paid = payments.create(&actor, with(30), today()).await.unwrap();
    assert_eq!(paid.receipt_file_id, Some(FileId(30)));
}

#[tokio::test]
async fn dues_are_generated_in_the_scope_asked_for_and_never_outside_the_callers() {
    let store = Arc::new(Store::default());
    let dues = dues_service(&store);
    let actor = cell_user();
    let input = |unit: Option<i64>| GenerateInput {
        period: Some("2026-11".into()),
        amount_cents: Some(2500),
        org_unit_id: unit.map(OrgUnitId),
        ..GenerateInput::default()
    };
    for unit in [4, 5] {
        match dues.generate(&actor, input(Some(unit))).await {
            Err(DomainError::Validation(fields)) => {
                assert_eq!(fields[0].field, "org_unit_id", "unit {unit}");
            }
            other => panic!("unit {unit}: {other:?}"),
        }
    }
    assert!(store.generated.lock().unwrap().is_empty());
    dues.generate(&actor, input(None)).await.unwrap();
    dues.generate(&actor, input(Some(3))).await.unwrap();
    // A treasurer's money scope is the organisation: any unit narrows it.
    let treasurer = Actor {
        is_treasurer: true,
        ..cell_user()
    };
    dues.generate(&treasurer, input(Some(4))).await.unwrap();
    dues.generate(&treasurer, input(None)).await.unwrap();
    let generated = store.generated.lock().unwrap();
    let scopes: Vec<&UnitScope> = generated.iter().map(|g| &g.units).collect();
    assert_eq!(
        scopes,
        [
            &UnitScope::Subtree(cell("/1/2/3/")),
            &UnitScope::Subtree(cell("/1/2/3/")),
            &UnitScope::Subtree(cell("/1/2/4/")),
            &UnitScope::All,
        ]
    );
    assert_eq!(generated[0].currency, "BRL");
    assert_eq!(generated[0].due_date.to_string(), "2026-11-30");
}

#[tokio::test]
async fn no_one_marks_dues_paid_but_a_payment() {
    let store = Arc::new(Store::default());
    let dues = dues_service(&store);
    let actor = cell_user();
    let paid = DuesInput {
        status: Some(DuesStatus::Paid),
        ..DuesInput::default()
    };
    for result in [
        dues.update(&actor, DuesId(10), paid.clone()).await,
        dues.create(
            &actor,
            DuesInput {
                member_id: Some(MemberId(1)),
                period: Some("2026-12".into()),
                amount_cents: Some(100),
                ..paid
            },
        )
        .await,
    ] {
        match result {
            Err(DomainError::Validation(fields)) => assert_eq!(fields[0].field, "status"),
            other => panic!("{other:?}"),
        }
    }
}
