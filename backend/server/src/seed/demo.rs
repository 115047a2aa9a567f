//! The demo organisation: 1 central committee, 3 regional committees, 6 sectors, 12 cells; 30
//! users across levels and roles; 25 members per cell with generated avatars; twelve months of
//! dues and most of them paid, with a few donations. Everything goes through the services, so
//! it is validated, audited and invalidates caches like any other write. Running it again
//! creates nothing new: units and users are found by name and email, a cell that already has
//! its members gets none, and dues that exist (with their payments) are left alone.

use std::collections::HashMap;

use bytes::Bytes;
use chrono::{Datelike, Days, Months, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tessera_domain::access::Actor;
use tessera_domain::accounts::{CreateUser, UserRepo};
use tessera_domain::files::FileType;
use tessera_domain::materials::{MaterialInput, MaterialTypeChange, MaterialWithStock, StockInput};
use tessera_domain::members::{fold, MemberInput, MemberQuery, MemberSort, MemberStatus};
use tessera_domain::money::{DuesInput, PaymentInput, PaymentMethod, PaymentPurpose};
use tessera_domain::org::{OrgUnit, OrgUnitKind};
use tessera_domain::posts::PostInput;
use tessera_domain::shared::validation::Email;
use tessera_domain::shared::{DomainError, ErrorCode, MaterialId, OrgUnitId, PageRequest};

use crate::seed::avatar::avatar_png;
use crate::state::AppState;

/// The password of every demo user (they are for trying the product, never for production).
pub const DEMO_PASSWORD: &str = "tessera-demo-2026";

/// Where the demo users' emails live.
const DOMAIN: &str = "demo.tessera.example.org";

/// The email of the demo's first administrator.
pub fn admin_email() -> String {
    format!("admin@{DOMAIN}")
}

/// Members created in each cell.
const MEMBERS_PER_CELL: i64 = 25;

/// A material of the demo catalogue: title, edition, price in cents.
type Item = (&'static str, &'static str, i64);

/// Material types, their descriptions, and their materials.
const CATALOGUE: [(&str, &str, [Item; 2]); 3] = [
    (
        "Jornal",
        "O jornal da organização",
        [
            ("Jornal Tessera", "nº 41", 300),
            ("Jornal Tessera", "nº 42", 300),
        ],
    ),
    (
        "Livro",
        "Livros de formação",
        [
            ("Manual de Organização", "2ª edição", 2500),
            ("História do Movimento", "1ª edição", 4000),
        ],
    ),
    (
        "Revista",
        "A revista trimestral",
        [
            ("Revista Debate", "outono", 1200),
            ("Revista Debate", "inverno", 1200),
        ],
    ),
];

/// Monthly dues, in cents of BRL.
const DUES_CENTS: i64 = 2500;

/// A sector and its two cells.
type Sector = (&'static str, [&'static str; 2]);

/// The regional committees, their sectors, and each sector's two cells.
const TREE: [(&str, [Sector; 2]); 3] = [
    (
        "Sul",
        [
            ("Porto Alegre", ["Bom Fim", "Restinga"]),
            ("Florianópolis", ["Trindade", "Estreito"]),
        ],
    ),
    (
        "Sudeste",
        [
            ("São Paulo", ["Brás", "Perus"]),
            ("Rio de Janeiro", ["Maré", "Lapa"]),
        ],
    ),
    (
        "Nordeste",
        [
            ("Recife", ["Boa Vista", "Casa Amarela"]),
            ("Salvador", ["Liberdade", "Itapuã"]),
        ],
    ),
];

const FIRST_NAMES: [&str; 24] = [
    "Ana", "Beatriz", "Bruno", "Caio", "Camila", "Cecília", "Daniel", "Débora", "Eduardo", "Fábio",
    "Flávia", "Gabriel", "Helena", "Iara", "João", "Júlia", "Letícia", "Lucas", "Márcia", "Otávio",
    "Paula", "Raí", "Sônia", "Tomás",
];

const LAST_NAMES: [&str; 20] = [
    "Araújo",
    "Barbosa",
    "Cardoso",
    "Conceição",
    "Costa",
    "Dias",
    "Falcão",
    "Gonçalves",
    "Lima",
    "Macêdo",
    "Melo",
    "Nascimento",
    "Oliveira",
    "Pereira",
    "Ribeiro",
    "Santos",
    "Silva",
    "Souza",
    "Teixeira",
    "Vieira",
];

/// One demo login, for the summary and `docs/demo.md`.
#[derive(Debug, Clone)]
pub struct DemoLogin {
    /// Login email.
    pub email: String,
    /// What the user is.
    pub role: String,
    /// Its unit, if any.
    pub unit: Option<String>,
}

/// What the seed did.
#[derive(Debug, Default)]
pub struct DemoReport {
    /// Units created (0 on a second run).
    pub units_created: usize,
    /// Users created.
    pub users_created: usize,
    /// Members created.
    pub members_created: usize,
    /// Dues created.
    pub dues_created: usize,
    /// Payments created.
    pub payments_created: usize,
    /// Material types and materials created.
    pub materials_created: usize,
    /// Posts created.
    pub posts_created: usize,
    /// Every demo login.
    pub logins: Vec<DemoLogin>,
}

impl std::fmt::Display for DemoReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "created {} units, {} users, {} members, {} dues, {} payments, {} material types and \
             materials, {} posts",
            self.units_created,
            self.users_created,
            self.members_created,
            self.dues_created,
            self.payments_created,
            self.materials_created,
            self.posts_created
        )
    }
}

/// Creates what is missing of the demo organisation, acting as `admin`.
pub async fn seed_demo(
    state: &AppState,
    admin: &Actor,
    progress: bool,
) -> anyhow::Result<DemoReport> {
    let mut report = DemoReport::default();
    let mut rng = StdRng::seed_from_u64(2026);
    let today = Utc::now().date_naive();

    // The tree.
    let existing = state.org_units.list(admin).await?;
    let mut units = Units {
        existing,
        created: 0,
    };
    let cc = units
        .ensure(state, admin, "Comitê Central", OrgUnitKind::Central, None)
        .await?;
    let mut cells: Vec<OrgUnit> = Vec::new();
    let mut regions = Vec::new();
    let mut sectors = Vec::new();
    for (region, region_sectors) in TREE {
        let cr = units
            .ensure(
                state,
                admin,
                &format!("CR {region}"),
                OrgUnitKind::Regional,
                Some(cc.id),
            )
            .await?;
        for (sector, sector_cells) in region_sectors {
            let s = units
                .ensure(
                    state,
                    admin,
                    &format!("Setor {sector}"),
                    OrgUnitKind::Sector,
                    Some(cr.id),
                )
                .await?;
            for cell in sector_cells {
                let c = units
                    .ensure(
                        state,
                        admin,
                        &format!("Célula {cell}"),
                        OrgUnitKind::Cell,
                        Some(s.id),
                    )
                    .await?;
                cells.push(c);
            }
            sectors.push(s);
        }
        regions.push(cr);
    }
    report.units_created = units.created;

    for Person {
        local,
        role,
        unit,
        is_admin,
        is_treasurer,
    } in people(&cc, &regions, &sectors, &cells)
    {
        let email = format!("{local}@{DOMAIN}");
        let parsed = Email::parse(&email)?;
        if state.db.user_by_email(&parsed).await?.is_none() {
            state
                .accounts
                .create_without_caller(CreateUser {
                    email: email.clone(),
                    password: DEMO_PASSWORD.into(),
                    name: display_name(&role, unit),
                    is_admin,
                    is_treasurer,
                    org_unit_id: unit.map(|u| u.id),
                    member_id: None,
                })
                .await?;
            report.users_created += 1;
        }
        report.logins.push(DemoLogin {
            email,
            role,
            unit: unit.map(|u| u.name.clone()),
        });
    }

    // Members, with avatars, in every cell that has none yet.
    let members_bar = progress_bar(progress, cells.len() as u64, "members");
    let mut members_by_cell: HashMap<
        OrgUnitId,
        Vec<(tessera_domain::shared::MemberId, MemberStatus)>,
    > = HashMap::new();
    for cell in &cells {
        let existing = state
            .members
            .list(
                admin,
                MemberQuery {
                    status: None,
                    org_unit_id: Some(cell.id),
                    q: None,
                    sort: MemberSort::default(),
                },
                PageRequest {
                    page: 1,
                    per_page: 1,
                },
            )
            .await?;
        if existing.total >= MEMBERS_PER_CELL {
            members_bar.inc(1);
            continue;
        }
        for i in 0..MEMBERS_PER_CELL {
            let first = FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())];
            let last = LAST_NAMES[rng.random_range(0..LAST_NAMES.len())];
            let name = format!("{first} {last}");
            let status = match rng.random_range(0..100) {
                0..=4 => MemberStatus::Suspended,
                5..=14 => MemberStatus::Inactive,
                _ => MemberStatus::Active,
            };
            let email = rng.random_bool(0.8).then(|| {
                format!(
                    "{}.{}.{}{i}@membros.example.org",
                    slug(first),
                    slug(last),
                    cell.id.0
                )
            });
            // The avatar is stored like any upload, in the member's cell.
            let avatar = state
                .files
                .upload(
                    admin,
                    Some(cell.id),
                    FileType::Avatar,
                    &format!("{}.png", slug(&name)),
                    Bytes::from(avatar_png(&name)?),
                )
                .await?;
            let joined_on = today
                .checked_sub_days(Days::new(rng.random_range(30..3650)))
                .map(|d| d.to_string());
            let phone = rng.random_bool(0.7).then(|| {
                format!(
                    "+55 {} 9{:04}-{:04}",
                    rng.random_range(11..99),
                    rng.random_range(0..10000),
                    rng.random_range(0..10000)
                )
            });
            let notes = rng
                .random_bool(0.1)
                .then(|| "Prefere contato por telefone.".to_owned());
            let member = state
                .members
                .create(
                    admin,
                    MemberInput {
                        name: Some(name.clone()),
                        email: Some(email),
                        org_unit_id: Some(cell.id),
                        status: Some(status),
                        phone: Some(phone),
                        joined_on: Some(joined_on),
                        notes: Some(notes),
                        avatar_file_id: Some(Some(avatar.file.id)),
                    },
                )
                .await?;
            members_by_cell
                .entry(cell.id)
                .or_default()
                .push((member.member.id, status));
            report.members_created += 1;
        }
        members_bar.inc(1);
    }
    members_bar.finish_and_clear();

    // The catalogue, with stock in every cell.
    let catalogue = seed_materials(state, admin, &cells, &mut report).await?;

    // Twelve months of dues for the members created now, most of them paid, and now and then a
    // material bought from the cell's stock.
    let first_month = today
        .with_day(1)
        .and_then(|d| d.checked_sub_months(Months::new(11)))
        .ok_or_else(|| anyhow::anyhow!("no month eleven months before {today}"))?;
    let total: u64 = members_by_cell
        .values()
        .map(|m| m.len() as u64)
        .sum::<u64>()
        * 12;
    let money_bar = progress_bar(progress, total, "dues and payments");
    for members in members_by_cell.values() {
        for (member_id, status) in members {
            for offset in 0..12 {
                let month = first_month
                    .checked_add_months(Months::new(offset))
                    .ok_or_else(|| anyhow::anyhow!("month out of range"))?;
                money_bar.inc(1);
                if *status != MemberStatus::Active && offset > 8 {
                    continue;
                }
                let due = month.with_day(10).unwrap_or(month);
                let created = state
                    .dues
                    .create(
                        admin,
                        DuesInput {
                            member_id: Some(*member_id),
                            period: Some(month.format("%Y-%m").to_string()),
                            amount_cents: Some(DUES_CENTS),
                            currency: Some("BRL".into()),
                            due_date: Some(due.to_string()),
                            status: None,
                        },
                    )
                    .await;
                let dues = match created {
                    Ok(dues) => dues,
                    Err(DomainError::Conflict {
                        code: ErrorCode::DuesExist,
                        ..
                    }) => continue,
                    Err(e) => return Err(e.into()),
                };
                report.dues_created += 1;
                let current = offset == 11;
                let paid = rng.random_bool(if current { 0.4 } else { 0.85 });
                if !paid {
                    continue;
                }
                let day = rng.random_range(1..=if current { today.day() } else { 28 });
                let paid_on = month.with_day(day).unwrap_or(month);
                let method = [
                    PaymentMethod::Pix,
                    PaymentMethod::Cash,
                    PaymentMethod::Transfer,
                ][rng.random_range(0..3)];
                state
                    .payments
                    .create(
                        admin,
                        PaymentInput {
                            member_id: Some(*member_id),
                            dues_id: Some(dues.id),
                            purpose: Some(PaymentPurpose::Dues),
                            amount_cents: Some(DUES_CENTS),
                            currency: Some("BRL".into()),
                            method: Some(method),
                            paid_on: Some(paid_on.to_string()),
                            material_id: None,
                            quantity: None,
                            note: None,
                            receipt_file_id: None,
                        },
                        today,
                    )
                    .await?;
                report.payments_created += 1;
                if rng.random_bool(0.05) {
                    state
                        .payments
                        .create(
                            admin,
                            PaymentInput {
                                member_id: Some(*member_id),
                                dues_id: None,
                                purpose: Some(PaymentPurpose::Donation),
                                amount_cents: Some(rng.random_range(10..=100) * 100),
                                currency: Some("BRL".into()),
                                method: Some(PaymentMethod::Pix),
                                paid_on: Some(paid_on.to_string()),
                                material_id: None,
                                quantity: None,
                                note: None,
                                receipt_file_id: None,
                            },
                            today,
                        )
                        .await?;
                    report.payments_created += 1;
                }
                if !catalogue.is_empty() && rng.random_bool(0.08) {
                    let (material_id, price) = catalogue[rng.random_range(0..catalogue.len())];
                    let quantity = rng.random_range(1..=2);
                    let bought = state
                        .payments
                        .create(
                            admin,
                            PaymentInput {
                                member_id: Some(*member_id),
                                dues_id: None,
                                purpose: Some(PaymentPurpose::Material),
                                amount_cents: Some(price * quantity),
                                currency: Some("BRL".into()),
                                method: Some(PaymentMethod::Cash),
                                paid_on: Some(paid_on.to_string()),
                                material_id: Some(material_id),
                                quantity: Some(quantity),
                                note: None,
                                receipt_file_id: None,
                            },
                            today,
                        )
                        .await;
                    match bought {
                        Ok(_) => report.payments_created += 1,
                        // A cell that sold out sells no more.
                        Err(DomainError::InsufficientStock { .. }) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
    }
    money_bar.finish_and_clear();

    seed_posts(state, &cc, &regions, &cells, &mut rng, &mut report).await?;
    Ok(report)
}

/// Material types, and materials with a cover and 200 of each in every cell's stock; answers
/// every demo material's id and unit price. Types are found by name, materials by title and
/// edition.
async fn seed_materials(
    state: &AppState,
    admin: &Actor,
    cells: &[OrgUnit],
    report: &mut DemoReport,
) -> anyhow::Result<Vec<(MaterialId, i64)>> {
    let all = PageRequest {
        page: 1,
        per_page: PageRequest::MAX_PER_PAGE,
    };
    let mut types = state.materials.list_types(admin, all).await?.items;
    let mut materials: Vec<MaterialWithStock> = state.materials.list(admin, None, all).await?.items;
    let mut catalogue = Vec::new();
    for (type_name, description, titles) in CATALOGUE {
        let type_id = match types.iter().find(|t| t.name == type_name) {
            Some(t) => t.id,
            None => {
                let created = state
                    .materials
                    .create_type(
                        admin,
                        MaterialTypeChange {
                            name: Some(type_name.into()),
                            description: Some(Some(description.into())),
                        },
                    )
                    .await?;
                report.materials_created += 1;
                types.push(created.clone());
                created.id
            }
        };
        for (title, edition, price) in titles {
            if let Some(m) = materials.iter().find(|m| {
                m.material.title == title && m.material.edition.as_deref() == Some(edition)
            }) {
                catalogue.push((m.material.id, m.material.unit_price_cents));
                continue;
            }
            let cover = state
                .files
                .upload(
                    admin,
                    None,
                    FileType::Material,
                    &format!("{}.png", slug(title)),
                    Bytes::from(avatar_png(title)?),
                )
                .await?;
            let created = state
                .materials
                .create(
                    admin,
                    MaterialInput {
                        material_type_id: Some(type_id),
                        title: Some(title.into()),
                        edition: Some(Some(edition.into())),
                        unit_price_cents: Some(price),
                        currency: Some("BRL".into()),
                        file_id: Some(Some(cover.file.id)),
                        stock: cells
                            .iter()
                            .map(|c| StockInput {
                                org_unit_id: c.id,
                                quantity: 200,
                            })
                            .collect(),
                    },
                )
                .await?;
            report.materials_created += 1;
            catalogue.push((created.material.id, price));
            materials.push(created);
        }
    }
    Ok(catalogue)
}

/// A post on the central committee's board (pinned), one on each region's and one on each
/// cell's, each by the unit's lead with a picture, read a few times; boards that have posts
/// get none.
async fn seed_posts(
    state: &AppState,
    cc: &OrgUnit,
    regions: &[OrgUnit],
    cells: &[OrgUnit],
    rng: &mut StdRng,
    report: &mut DemoReport,
) -> anyhow::Result<()> {
    let boards = std::iter::once((cc, "cc".to_owned(), true))
        .chain(regions.iter().map(|r| (r, slug(&r.name), false)))
        .chain(cells.iter().map(|c| (c, slug(&c.name), false)));
    for (unit, local, pinned) in boards {
        let Some(author) = state
            .db
            .user_by_email(&Email::parse(&format!("{local}@{DOMAIN}"))?)
            .await?
        else {
            continue;
        };
        let actor = author.actor();
        let existing = state
            .posts
            .list(
                &actor,
                Some(unit.id),
                PageRequest {
                    page: 1,
                    per_page: 1,
                },
            )
            .await?;
        if existing.total > 0 {
            continue;
        }
        let (title, body) = if pinned {
            (
                "Calendário de reuniões do ano".to_owned(),
                "As reuniões ordinárias acontecem na **primeira segunda-feira** de cada mês.\n\n\
                 - Pauta enviada com uma semana de antecedência\n- Atas publicadas neste mural"
                    .to_owned(),
            )
        } else {
            (
                format!("Notícias da {}", unit.name),
                format!(
                    "Bem-vindas e bem-vindos ao mural da **{}**.\n\nAs cotas do mês vencem no dia 10; \
                     o material novo já chegou.",
                    unit.name
                ),
            )
        };
        let image = state
            .files
            .upload(
                &actor,
                Some(unit.id),
                FileType::PostImage,
                &format!("{}.png", slug(&title)),
                Bytes::from(avatar_png(&title)?),
            )
            .await?;
        let post = state
            .posts
            .create(
                &actor,
                PostInput {
                    org_unit_id: Some(unit.id),
                    title: Some(title),
                    body: Some(body),
                    image_file_ids: Some(vec![image.file.id]),
                    pinned: Some(pinned),
                },
            )
            .await?;
        report.posts_created += 1;
        // A few readings, so the popular list has an order.
        for _ in 0..rng.random_range(1..15) {
            state.posts.get(&actor, post.post.id).await?;
        }
    }
    state.posts.flush_views().await?;
    Ok(())
}

/// The logins the seed creates, in its order (what `docs/demo.md` lists).
pub fn expected_logins() -> Vec<DemoLogin> {
    let unit = |id: i64, name: String, kind: OrgUnitKind| OrgUnit {
        id: OrgUnitId(id),
        name,
        kind,
        parent_id: None,
        path: tessera_domain::access::UnitPath::root(OrgUnitId(id)),
    };
    let cc = unit(1, "Comitê Central".into(), OrgUnitKind::Central);
    let mut regions = Vec::new();
    let mut sectors = Vec::new();
    let mut cells = Vec::new();
    for (region, region_sectors) in TREE {
        regions.push(unit(0, format!("CR {region}"), OrgUnitKind::Regional));
        for (sector, sector_cells) in region_sectors {
            sectors.push(unit(0, format!("Setor {sector}"), OrgUnitKind::Sector));
            for cell in sector_cells {
                cells.push(unit(0, format!("Célula {cell}"), OrgUnitKind::Cell));
            }
        }
    }
    people(&cc, &regions, &sectors, &cells)
        .into_iter()
        .map(|p| DemoLogin {
            email: format!("{}@{DOMAIN}", p.local),
            role: p.role,
            unit: p.unit.map(|u| u.name.clone()),
        })
        .collect()
}

/// A demo user to create.
struct Person<'a> {
    /// The part of the email before `@`.
    local: String,
    /// What the user is.
    role: String,
    unit: Option<&'a OrgUnit>,
    is_admin: bool,
    is_treasurer: bool,
}

/// Thirty users: 2 administrators, the central committee's lead and treasurer, each region's
/// lead and treasurer, each sector's and each cell's lead, the first cell's treasurer and a user
/// without a unit.
fn people<'a>(
    cc: &'a OrgUnit,
    regions: &'a [OrgUnit],
    sectors: &'a [OrgUnit],
    cells: &'a [OrgUnit],
) -> Vec<Person<'a>> {
    let person =
        |local: String, role: &str, unit: Option<&'a OrgUnit>, is_admin, is_treasurer| Person {
            local,
            role: role.to_owned(),
            unit,
            is_admin,
            is_treasurer,
        };
    let mut people = vec![
        person("admin".into(), "administrator", None, true, false),
        person("admin2".into(), "administrator", None, true, false),
        person(
            "cc".into(),
            "central committee lead",
            Some(cc),
            false,
            false,
        ),
        person(
            "cc.tesouraria".into(),
            "central committee treasurer",
            Some(cc),
            false,
            true,
        ),
    ];
    for cr in regions {
        people.push(person(
            slug(&cr.name),
            "regional lead",
            Some(cr),
            false,
            false,
        ));
        people.push(person(
            format!("{}.tesouraria", slug(&cr.name)),
            "regional treasurer",
            Some(cr),
            false,
            true,
        ));
    }
    for s in sectors {
        people.push(person(slug(&s.name), "sector lead", Some(s), false, false));
    }
    for c in cells {
        people.push(person(slug(&c.name), "cell lead", Some(c), false, false));
    }
    if let Some(first) = cells.first() {
        people.push(person(
            format!("{}.tesouraria", slug(&first.name)),
            "cell treasurer",
            Some(first),
            false,
            true,
        ));
    }
    people.push(person(
        "visitante".into(),
        "user without a unit",
        None,
        false,
        false,
    ));
    people
}

/// The tree as it is, and what this run added to it.
struct Units {
    existing: Vec<OrgUnit>,
    created: usize,
}

impl Units {
    /// The unit of this name under `parent`, created when missing.
    async fn ensure(
        &mut self,
        state: &AppState,
        admin: &Actor,
        name: &str,
        kind: OrgUnitKind,
        parent: Option<OrgUnitId>,
    ) -> anyhow::Result<OrgUnit> {
        if let Some(unit) = self
            .existing
            .iter()
            .find(|u| u.name == name && u.parent_id == parent)
        {
            return Ok(unit.clone());
        }
        let unit = state.org_units.create(admin, name, kind, parent).await?;
        self.existing.push(unit.clone());
        self.created += 1;
        Ok(unit)
    }
}

/// A display name for a demo user.
fn display_name(role: &str, unit: Option<&OrgUnit>) -> String {
    let mut name = match unit {
        Some(unit) => format!("{role}, {}", unit.name),
        None => role.to_owned(),
    };
    if let Some(first) = name.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    name
}

/// `Célula Bom Fim` → `celula-bom-fim`: folded as member search folds, words joined by dashes.
pub fn slug(name: &str) -> String {
    fold(name)
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// A progress bar on the terminal, or a hidden one.
fn progress_bar(visible: bool, len: u64, what: &str) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{msg:>20} [{bar:40}] {pos}/{len} ({eta})") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_owned());
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_ascii_words_joined_by_dashes() {
        assert_eq!(slug("Célula Itapuã"), "celula-itapua");
        assert_eq!(slug("CR Sul"), "cr-sul");
        assert_eq!(slug("Setor São Paulo"), "setor-sao-paulo");
    }

    #[test]
    fn the_tree_has_3_regions_6_sectors_and_12_cells() {
        let sectors: usize = TREE.iter().map(|(_, s)| s.len()).sum();
        let cells: usize = TREE
            .iter()
            .flat_map(|(_, s)| s.iter())
            .map(|(_, c)| c.len())
            .sum();
        assert_eq!((TREE.len(), sectors, cells), (3, 6, 12));
    }

    fn unit(id: i64, name: &str, kind: OrgUnitKind) -> OrgUnit {
        OrgUnit {
            id: OrgUnitId(id),
            name: name.into(),
            kind,
            parent_id: None,
            path: tessera_domain::access::UnitPath::root(OrgUnitId(id)),
        }
    }

    #[test]
    fn thirty_demo_users_with_distinct_emails_across_levels_and_roles() {
        let cc = unit(1, "Comitê Central", OrgUnitKind::Central);
        let regions: Vec<OrgUnit> = (0..3)
            .map(|i| {
                unit(
                    10 + i,
                    &format!("CR {}", TREE[i as usize].0),
                    OrgUnitKind::Regional,
                )
            })
            .collect();
        let sectors: Vec<OrgUnit> = (0..6)
            .map(|i| unit(20 + i, &format!("Setor {i}"), OrgUnitKind::Sector))
            .collect();
        let cells: Vec<OrgUnit> = (0..12)
            .map(|i| unit(40 + i, &format!("Célula {i}"), OrgUnitKind::Cell))
            .collect();
        let people = people(&cc, &regions, &sectors, &cells);
        assert_eq!(people.len(), 30);
        let emails: std::collections::HashSet<&str> =
            people.iter().map(|p| p.local.as_str()).collect();
        assert_eq!(emails.len(), 30);
        assert_eq!(people.iter().filter(|p| p.is_admin).count(), 2);
        assert_eq!(people.iter().filter(|p| p.is_treasurer).count(), 5);
        assert_eq!(people.iter().filter(|p| p.unit.is_none()).count(), 3);
    }
}
