//! `tessera seed`: demo data for trying the product. It builds the same state the server runs
//! with (the database, the cache and the object store of the settings), so the data it writes
//! goes through the services and every cache a running server shares is invalidated. With
//! `--members`, `--payments` or `--files` it then adds the benchmark data set (bulk.rs).

mod avatar;
pub mod bulk;
pub mod demo;

use anyhow::Context;
use tessera_domain::accounts::{CreateUser, UserRepo};
use tessera_domain::shared::validation::Email;

use crate::settings::{AppEnv, Settings};
use crate::startup::build_state;

pub use bulk::{BulkOptions, BulkReport};
pub use demo::{DemoLogin, DemoReport, DEMO_PASSWORD};

/// What `tessera seed` did.
#[derive(Debug)]
pub struct SeedReport {
    /// The demo organisation.
    pub demo: DemoReport,
    /// The benchmark data set, when one was asked for.
    pub bulk: Option<BulkReport>,
}

/// Seeds the demo organisation, then the benchmark data set `bulk` asks for (none when it is
/// all zeros); refuses a production environment unless `force`.
pub async fn run(
    settings: Settings,
    force: bool,
    progress: bool,
    bulk: BulkOptions,
) -> anyhow::Result<SeedReport> {
    if settings.app_env == AppEnv::Production && !force {
        anyhow::bail!(
            "APP_ENV=production: demo data (with known passwords) is not seeded into production; \
             pass --force if you mean it"
        );
    }
    let public_url = settings
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", settings.addr));
    let state = build_state(settings, &public_url)
        .await
        .context("connecting to the database, cache and object store")?;
    // The demo's first administrator acts for the rest.
    let email = demo::admin_email();
    let admin = match state.db.user_by_email(&Email::parse(&email)?).await? {
        Some(user) => user,
        None => {
            state
                .accounts
                .create_without_caller(CreateUser {
                    email: email.clone(),
                    password: DEMO_PASSWORD.into(),
                    name: "Administrator".into(),
                    is_admin: true,
                    is_treasurer: false,
                    org_unit_id: None,
                    member_id: None,
                })
                .await?
        }
    };
    if !admin.is_admin || !admin.is_active {
        anyhow::bail!("{email} exists but is not an active administrator");
    }
    let actor = admin.actor();
    let demo = demo::seed_demo(&state, &actor, progress).await?;
    let bulk = if bulk.any() {
        Some(bulk::seed_bulk(&state, &actor, bulk, progress).await?)
    } else {
        None
    };
    Ok(SeedReport { demo, bulk })
}

/// The logins as a Markdown table (what `docs/demo.md` lists).
pub fn logins_table(logins: &[DemoLogin]) -> String {
    let mut table = String::from("| email | role | unit |\n| --- | --- | --- |\n");
    for login in logins {
        table.push_str(&format!(
            "| `{}` | {} | {} |\n",
            login.email,
            login.role,
            login.unit.as_deref().unwrap_or("—")
        ));
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_demo_md_lists_every_login_the_seed_creates() {
        let doc = include_str!("../../../../docs/demo.md");
        let table = logins_table(&demo::expected_logins());
        assert!(
            doc.contains(&table),
            "docs/demo.md must contain this table:\n{table}"
        );
        assert!(doc.contains(DEMO_PASSWORD));
    }
}
