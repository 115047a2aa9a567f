//! The benchmark data set: `tessera seed --members N --payments N --files N` adds, after the
//! demo organisation, N members spread over every cell, twelve months of dues for each, N
//! payments (dues payments, each marking its dues paid, and donations) and N small generated
//! PNG images in the object store (the first members' avatars). Rows stream into one
//! transaction through [`tessera_infra::sql::bulk`] (COPY on PostgreSQL) as they are
//! generated: every row is a pure function of its index, so nothing is collected, and the
//! passes over dues and payments regenerate the same plan per member instead of remembering it.
//! The images are uploaded while the rows are written, a bounded number at a time.
//!
//! The bulk part refuses to run twice on one database (it would double the data set the
//! benchmarks are measured on): members with emails at [`BULK_EMAIL_DOMAIN`] mark it.

use std::io::Cursor;
use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc};
use futures::{SinkExt, StreamExt, TryStreamExt};
use image::{ImageFormat, Rgb, RgbImage};
use indicatif::{ProgressBar, ProgressStyle};
use tessera_domain::access::Actor;
use tessera_domain::files::ObjectStore;
use tessera_domain::members::search_text;
use tessera_domain::org::OrgUnitKind;
use tessera_domain::shared::events::{Event, Listener};
use tessera_infra::sql::bulk::{BulkTable, BulkValue, BulkWriter, FirstIds};

use crate::seed::demo::slug;
use crate::state::AppState;

/// The email domain of every member the bulk seed creates: what marks the data set as there.
pub const BULK_EMAIL_DOMAIN: &str = "bench.tessera.example.org";

/// How many images are uploaded at once.
const UPLOAD_CONCURRENCY: usize = 16;

/// How many generated images may wait for their upload (bounds memory).
const UPLOAD_QUEUE: usize = 256;

/// Pixels per side of a generated image.
const IMAGE_SIZE: u32 = 16;

/// Dues tiers, in cents of BRL (by income bracket, as organisations usually set them).
const DUES_TIERS: [i64; 3] = [1500, 2500, 5000];

const FIRST_NAMES: [&str; 40] = [
    "Ana",
    "Antônio",
    "Beatriz",
    "Bruno",
    "Caio",
    "Camila",
    "Carla",
    "Cecília",
    "Daniel",
    "Débora",
    "Eduardo",
    "Elisa",
    "Fábio",
    "Fernanda",
    "Flávia",
    "Gabriel",
    "Helena",
    "Igor",
    "Iara",
    "João",
    "Joana",
    "Júlia",
    "Leandro",
    "Letícia",
    "Lucas",
    "Luíza",
    "Márcia",
    "Marcos",
    "Mariana",
    "Nathália",
    "Otávio",
    "Paula",
    "Pedro",
    "Raí",
    "Renata",
    "Sônia",
    "Tainá",
    "Tomás",
    "Valéria",
    "Yuri",
];

const LAST_NAMES: [&str; 48] = [
    "Almeida",
    "Alves",
    "Andrade",
    "Araújo",
    "Azevedo",
    "Barbosa",
    "Barros",
    "Batista",
    "Borges",
    "Campos",
    "Cardoso",
    "Carvalho",
    "Castro",
    "Conceição",
    "Costa",
    "Cunha",
    "Dias",
    "Falcão",
    "Farias",
    "Fernandes",
    "Freitas",
    "Gomes",
    "Gonçalves",
    "Lima",
    "Lopes",
    "Macêdo",
    "Machado",
    "Martins",
    "Melo",
    "Mendes",
    "Monteiro",
    "Moreira",
    "Nascimento",
    "Nunes",
    "Oliveira",
    "Pereira",
    "Pinto",
    "Ramos",
    "Reis",
    "Ribeiro",
    "Rocha",
    "Santos",
    "Silva",
    "Soares",
    "Souza",
    "Teixeira",
    "Vieira",
    "Xavier",
];

/// How much to create.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BulkOptions {
    /// Members.
    pub members: u64,
    /// Payments (dues payments and donations).
    pub payments: u64,
    /// Image files.
    pub files: u64,
}

impl BulkOptions {
    /// Whether anything is asked for.
    pub fn any(&self) -> bool {
        self.members > 0 || self.payments > 0 || self.files > 0
    }
}

/// What the bulk seed created.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BulkReport {
    /// Members.
    pub members: u64,
    /// Dues (twelve per member).
    pub dues: u64,
    /// Dues marked paid (one per dues payment).
    pub dues_paid: u64,
    /// Payments.
    pub payments: u64,
    /// Files (rows, and their objects in the store).
    pub files: u64,
}

/// Creates the benchmark data set over the cells of the organisation, acting as `admin`; then
/// moves the member-list and dashboard caches to a new version, so a running server that shares
/// the cache reads fresh figures.
pub async fn seed_bulk(
    state: &AppState,
    admin: &Actor,
    options: BulkOptions,
    progress: bool,
) -> anyhow::Result<BulkReport> {
    if options.payments > 0 && options.members == 0 {
        anyhow::bail!("--payments needs --members: the payments are those of the new members");
    }
    let cells: Vec<i64> = state
        .org_units
        .list(admin)
        .await?
        .into_iter()
        .filter(|u| u.kind == OrgUnitKind::Cell)
        .map(|u| u.id.0)
        .collect();
    if cells.is_empty() {
        anyhow::bail!("the organisation has no cell to put members and files in");
    }
    let now = Utc::now();
    let today = now.with_timezone(&state.settings.time_zone).date_naive();
    let plan = Plan::new(options, cells, admin.user_id.0, now, today)?;

    let mut loader = state
        .db
        .bulk_loader(&state.settings.database_url)
        .await
        .context("starting the bulk load")?;
    let existing = loader
        .count("SELECT COUNT(*) AS n FROM members WHERE email LIKE '%@bench.tessera.example.org'")
        .await?;
    if existing > 0 {
        anyhow::bail!(
            "the benchmark data set is already in this database ({existing} members with \
             @{BULK_EMAIL_DOMAIN} emails); seed an empty database to make another"
        );
    }
    let ids = loader.first_ids().await?;
    let mut report = BulkReport::default();

    // Files first (members point at them), their objects uploaded while the rows go on.
    let (queue, uploads) = futures::channel::mpsc::channel::<(String, Bytes)>(UPLOAD_QUEUE);
    let objects = Arc::clone(&state.objects);
    let uploader = tokio::spawn(upload_all(objects, uploads));
    let bar = progress_bar(progress, options.files, "files");
    let mut writer = loader.writer(BulkTable::Files).await?;
    let written = write_files(&plan, &ids, &mut writer, queue, &bar).await;
    bar.finish_and_clear();
    let files_written = match written {
        Ok(()) => writer.finish().await?,
        Err(e) => {
            uploader.abort();
            return Err(e);
        }
    };
    report.files = files_written;

    let bar = progress_bar(progress, options.members, "members");
    let mut writer = loader.writer(BulkTable::Members).await?;
    for i in 0..options.members {
        writer.push(plan.member_row(&ids, i)).await?;
        bar.inc(1);
    }
    report.members = writer.finish().await?;
    bar.finish_and_clear();

    let bar = progress_bar(progress, options.members * 12, "dues");
    let mut writer = loader.writer(BulkTable::Dues).await?;
    for i in 0..options.members {
        let money = plan.money(i);
        for month in 0..12 {
            let row = plan.dues_row(&ids, i, &money, month);
            if money.paid(month) {
                report.dues_paid += 1;
            }
            writer.push(row).await?;
        }
        bar.inc(12);
    }
    report.dues = writer.finish().await?;
    bar.finish_and_clear();

    let bar = progress_bar(progress, options.payments, "payments");
    let mut writer = loader.writer(BulkTable::Payments).await?;
    let mut next_payment = ids.payments;
    for i in 0..options.members {
        let money = plan.money(i);
        for month in (0..12).filter(|m| money.paid(*m)) {
            writer
                .push(plan.dues_payment_row(&ids, i, &money, month, next_payment))
                .await?;
            next_payment += 1;
        }
        for donation in 0..money.donations {
            writer
                .push(plan.donation_row(&ids, i, donation, next_payment))
                .await?;
            next_payment += 1;
        }
        bar.inc(money.payments);
    }
    report.payments = writer.finish().await?;
    bar.finish_and_clear();

    // Every object must be stored before the rows that name them are committed.
    uploader
        .await
        .context("the upload task failed")?
        .context("uploading the generated images")?;
    let spinner = progress_bar(progress, 0, "commit and analyze");
    loader.commit().await.context("committing the bulk load")?;
    spinner.finish_and_clear();

    // Figures and lists cached before the load are stale now.
    state.dashboard.on(Event::MembersChanged).await;
    state.members.on(Event::MoneyChanged).await;
    Ok(report)
}

/// Generates the file rows and queues each image for upload.
async fn write_files(
    plan: &Plan,
    ids: &FirstIds,
    writer: &mut BulkWriter<'_>,
    mut queue: futures::channel::mpsc::Sender<(String, Bytes)>,
    bar: &ProgressBar,
) -> anyhow::Result<()> {
    for i in 0..plan.options.files {
        let (row, key, png) = plan.file_row(ids, i)?;
        writer.push(row).await?;
        // A closed queue means the uploader stopped on an error, which its result reports.
        if queue.send((key, png)).await.is_err() {
            break;
        }
        bar.inc(1);
    }
    Ok(())
}

/// Uploads what arrives on `uploads`, [`UPLOAD_CONCURRENCY`] at a time; stops at the first
/// failure.
async fn upload_all(
    objects: Arc<dyn ObjectStore>,
    uploads: futures::channel::mpsc::Receiver<(String, Bytes)>,
) -> anyhow::Result<()> {
    uploads
        .map(|(key, png)| {
            let objects = Arc::clone(&objects);
            async move { objects.put(&key, png, "image/png").await }
        })
        .buffer_unordered(UPLOAD_CONCURRENCY)
        .try_for_each(|()| async { Ok(()) })
        .await?;
    Ok(())
}

/// Everything the rows are computed from; row `i` of any table is a function of this and `i`.
struct Plan {
    options: BulkOptions,
    cells: Vec<i64>,
    admin: i64,
    now_ms: i64,
    today: NaiveDate,
    /// The first day of each of the twelve months, oldest first (the last is this month).
    months: [NaiveDate; 12],
    object_prefix: String,
}

/// A member's dues and payments.
struct Money {
    /// Monthly dues in cents.
    amount: i64,
    /// Months `paid_from..paid_until` (0 = eleven months ago) are paid.
    paid_from: u64,
    paid_until: u64,
    /// Donations.
    donations: u64,
    /// Payments in all.
    payments: u64,
}

impl Money {
    fn paid(&self, month: u64) -> bool {
        (self.paid_from..self.paid_until).contains(&month)
    }
}

impl Plan {
    fn new(
        options: BulkOptions,
        cells: Vec<i64>,
        admin: i64,
        now: DateTime<Utc>,
        today: NaiveDate,
    ) -> anyhow::Result<Self> {
        let this_month = today
            .with_day(1)
            .ok_or_else(|| anyhow::anyhow!("no first day of {today}"))?;
        let mut months = [this_month; 12];
        for (offset, month) in months.iter_mut().enumerate() {
            *month = this_month
                .checked_sub_months(Months::new(11 - offset as u32))
                .ok_or_else(|| anyhow::anyhow!("month out of range"))?;
        }
        Ok(Self {
            options,
            cells,
            admin,
            now_ms: now.timestamp_millis(),
            today,
            months,
            object_prefix: now.format("%Y/%m").to_string(),
        })
    }

    fn cell(&self, i: u64) -> i64 {
        self.cells[(i % self.cells.len() as u64) as usize]
    }

    /// File `i`: the avatar of member `i` (a general image in a cell when there are more files
    /// than members), its object key and its bytes.
    fn file_row(&self, ids: &FirstIds, i: u64) -> anyhow::Result<(Vec<BulkValue>, String, Bytes)> {
        let avatar = i < self.options.members;
        let file_type = if avatar { "avatar" } else { "general" };
        let key = format!(
            "{file_type}/{}/{}.png",
            self.object_prefix,
            uuid::Uuid::new_v4()
        );
        let png = Bytes::from(image_png(i)?);
        let row = vec![
            BulkValue::Int(ids.files + i as i64),
            file_type.into(),
            key.clone().into(),
            format!("bench-{}.png", i + 1).into(),
            "image/png".into(),
            BulkValue::Int(png.len() as i64),
            "uploaded".into(),
            BulkValue::Int(self.admin),
            BulkValue::Int(self.cell(i)),
            BulkValue::Int(self.now_ms),
        ];
        Ok((row, key, png))
    }

    fn member_row(&self, ids: &FirstIds, i: u64) -> Vec<BulkValue> {
        let mut draw = Draw::new(i, 1);
        let first = FIRST_NAMES[draw.below(FIRST_NAMES.len() as u64) as usize];
        let last = LAST_NAMES[draw.below(LAST_NAMES.len() as u64) as usize];
        let name = if draw.chance(50) {
            let middle = LAST_NAMES[draw.below(LAST_NAMES.len() as u64) as usize];
            format!("{first} {middle} {last}")
        } else {
            format!("{first} {last}")
        };
        let email = format!(
            "{}.{}.{}@{BULK_EMAIL_DOMAIN}",
            slug(first),
            slug(last),
            i + 1
        );
        let status = match draw.below(100) {
            0..=4 => "suspended",
            5..=14 => "inactive",
            _ => "active",
        };
        let phone = draw.chance(70).then(|| {
            format!(
                "+55 {} 9{:04}-{:04}",
                11 + draw.below(88),
                draw.below(10000),
                draw.below(10000)
            )
        });
        // Created over the last year (so about a twelfth is new this month), joined earlier.
        let created_days_ago = draw.below(365);
        let joined_on = self
            .today
            .checked_sub_days(Days::new(created_days_ago + draw.below(3650)))
            .map(|d| d.to_string());
        let notes = draw
            .chance(5)
            .then_some("Prefere contato por telefone.".to_owned());
        let avatar = (i < self.options.files).then(|| ids.files + i as i64);
        let search = search_text(&name, Some(&email));
        vec![
            BulkValue::Int(ids.members + i as i64),
            name.into(),
            email.into(),
            BulkValue::Int(self.cell(i)),
            status.into(),
            phone.into(),
            joined_on.into(),
            notes.into(),
            avatar.into(),
            search.into(),
            BulkValue::Int(self.now_ms - created_days_ago as i64 * 86_400_000),
        ]
    }

    /// Member `i`'s dues and payments: its share of the payments (they are spread evenly),
    /// paid months in a run ending this month or a little before, the rest donations.
    fn money(&self, i: u64) -> Money {
        let mut draw = Draw::new(i, 2);
        let members = self.options.members.max(1);
        let payments =
            self.options.payments / members + u64::from(i < self.options.payments % members);
        let mut donations = payments.saturating_sub(12);
        if payments >= 2 && draw.chance(8) {
            donations += 1;
        }
        let paid = payments - donations;
        let lag = draw.below((12 - paid).min(2) + 1);
        Money {
            amount: DUES_TIERS[draw.below(DUES_TIERS.len() as u64) as usize],
            paid_from: 12 - paid - lag,
            paid_until: 12 - lag,
            donations,
            payments,
        }
    }

    fn dues_id(&self, ids: &FirstIds, i: u64, month: u64) -> i64 {
        ids.dues + (i * 12 + month) as i64
    }

    fn dues_row(&self, ids: &FirstIds, i: u64, money: &Money, month: u64) -> Vec<BulkValue> {
        let start = self.months[month as usize];
        let status = if money.paid(month) {
            "paid"
        } else if month < 9 && Draw::new(i, 100 + month).chance(5) {
            "waived"
        } else {
            "open"
        };
        vec![
            BulkValue::Int(self.dues_id(ids, i, month)),
            BulkValue::Int(ids.members + i as i64),
            start.format("%Y-%m").to_string().into(),
            BulkValue::Int(money.amount),
            "BRL".into(),
            start.with_day(10).unwrap_or(start).to_string().into(),
            status.into(),
            BulkValue::Int(millis(start)),
        ]
    }

    fn dues_payment_row(
        &self,
        ids: &FirstIds,
        i: u64,
        money: &Money,
        month: u64,
        id: i64,
    ) -> Vec<BulkValue> {
        let mut draw = Draw::new(i, 200 + month);
        let start = self.months[month as usize];
        let last_day = if month == 11 {
            u64::from(self.today.day())
        } else {
            28
        };
        let paid_on = start
            .with_day(1 + draw.below(last_day) as u32)
            .unwrap_or(start);
        vec![
            BulkValue::Int(id),
            BulkValue::Int(ids.members + i as i64),
            BulkValue::Int(self.dues_id(ids, i, month)),
            "dues".into(),
            BulkValue::Int(money.amount),
            "BRL".into(),
            method(&mut draw).into(),
            paid_on.to_string().into(),
            BulkValue::Int(self.admin),
            BulkValue::Int(millis(paid_on)),
        ]
    }

    fn donation_row(&self, ids: &FirstIds, i: u64, donation: u64, id: i64) -> Vec<BulkValue> {
        let mut draw = Draw::new(i, 1000 + donation);
        let paid_on = self
            .today
            .checked_sub_days(Days::new(draw.below(365)))
            .unwrap_or(self.today)
            .max(self.months[0]);
        vec![
            BulkValue::Int(id),
            BulkValue::Int(ids.members + i as i64),
            BulkValue::Null,
            "donation".into(),
            BulkValue::Int((1 + draw.below(20)) as i64 * 1000),
            "BRL".into(),
            method(&mut draw).into(),
            paid_on.to_string().into(),
            BulkValue::Int(self.admin),
            BulkValue::Int(millis(paid_on)),
        ]
    }
}

/// How members pay: mostly Pix, as in Brazil.
fn method(draw: &mut Draw) -> &'static str {
    match draw.below(100) {
        0..=59 => "pix",
        60..=79 => "cash",
        80..=94 => "transfer",
        _ => "card",
    }
}

fn millis(date: NaiveDate) -> i64 {
    date.and_hms_opt(12, 0, 0)
        .map(|t| t.and_utc().timestamp_millis())
        .unwrap_or_default()
}

/// A small symmetric pattern (an identicon) in a colour drawn from `i`, as a PNG of a few
/// hundred bytes: cheap to make and to store a hundred thousand of.
fn image_png(i: u64) -> anyhow::Result<Vec<u8>> {
    let mut draw = Draw::new(i, 3);
    let bits = draw.next();
    let colour = Rgb([
        64 + draw.below(128) as u8,
        64 + draw.below(128) as u8,
        64 + draw.below(128) as u8,
    ]);
    let background = Rgb([240, 240, 240]);
    let cell = IMAGE_SIZE / 4;
    let image = RgbImage::from_fn(IMAGE_SIZE, IMAGE_SIZE, |x, y| {
        let (col, row) = (x / cell, y / cell);
        let col = if col > 1 { 3 - col } else { col };
        if bits & (1 << (row * 2 + col)) != 0 {
            colour
        } else {
            background
        }
    });
    let mut png = Cursor::new(Vec::new());
    image.write_to(&mut png, ImageFormat::Png)?;
    Ok(png.into_inner())
}

/// A small deterministic generator (SplitMix64) seeded by a row's index and a stream number,
/// so any row can be made again without remembering it.
struct Draw(u64);

impl Draw {
    fn new(index: u64, stream: u64) -> Self {
        Self(
            index
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .wrapping_add(stream.wrapping_mul(0xD1B5_4A32_D192_ED03))
                ^ 2026,
        )
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// True `percent` times in a hundred.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// A progress bar on the terminal, or a hidden one.
fn progress_bar(visible: bool, len: u64, what: &str) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    let bar = if len == 0 {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::new(len)
    };
    if let Ok(style) = ProgressStyle::with_template("{msg:>20} [{bar:40}] {pos}/{len} ({eta})") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_owned());
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(members: u64, payments: u64, files: u64) -> Plan {
        let today = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        Plan::new(
            BulkOptions {
                members,
                payments,
                files,
            },
            vec![5, 6, 7],
            1,
            today.and_hms_opt(12, 0, 0).unwrap().and_utc(),
            today,
        )
        .unwrap()
    }

    #[test]
    fn the_payments_asked_for_are_spread_over_the_members_exactly() {
        for (members, payments) in [(200, 1000), (7, 100), (10, 3), (3, 0)] {
            let plan = plan(members, payments, 0);
            let total: u64 = (0..members).map(|i| plan.money(i).payments).sum();
            assert_eq!(total, payments, "{members} members, {payments} payments");
            for i in 0..members {
                let money = plan.money(i);
                let paid = (0..12).filter(|m| money.paid(*m)).count() as u64;
                assert_eq!(paid + money.donations, money.payments);
                assert!(money.paid_until <= 12);
            }
        }
    }

    #[test]
    fn rows_are_the_same_every_time_they_are_made() {
        let plan = plan(10, 50, 0);
        let ids = FirstIds {
            files: 1,
            members: 1,
            dues: 1,
            payments: 1,
        };
        assert_eq!(plan.member_row(&ids, 3), plan.member_row(&ids, 3));
        assert_ne!(plan.member_row(&ids, 3), plan.member_row(&ids, 4));
        let money = plan.money(3);
        assert_eq!(
            plan.dues_row(&ids, 3, &money, 11),
            plan.dues_row(&ids, 3, &money, 11)
        );
    }

    #[test]
    fn generated_images_are_pngs() {
        let png = image_png(42).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert!(png.len() < 1024);
    }

    #[test]
    fn no_payment_is_dated_after_today_or_before_the_window() {
        let plan = plan(50, 800, 0);
        let ids = FirstIds {
            files: 1,
            members: 1,
            dues: 1,
            payments: 1,
        };
        for i in 0..50 {
            let money = plan.money(i);
            let rows = (0..12)
                .filter(|m| money.paid(*m))
                .map(|m| plan.dues_payment_row(&ids, i, &money, m, 1))
                .chain((0..money.donations).map(|d| plan.donation_row(&ids, i, d, 1)));
            for row in rows {
                let BulkValue::Text(paid_on) = &row[7] else {
                    panic!("paid_on is text")
                };
                assert!(paid_on.as_str() <= "2026-12-03", "{paid_on}");
                assert!(paid_on.as_str() >= "2026-01-01", "{paid_on}");
            }
        }
    }
}
