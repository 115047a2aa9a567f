//! The `tessera` command line: `serve` (the default), `migrate`, `openapi`, `admin create`,
//! `token create`, `seed`, and the ops verbs `doctor` and `cache …` (in `cli/`).

use std::path::PathBuf;
use std::process::ExitCode;
use tessera_domain::shared::cached::{CacheLayer, TtlClasses};

use std::sync::Arc;

use clap::{Parser, Subcommand};
use tessera_domain::accounts::otp::OtpSecret;
use tessera_domain::accounts::{
    AccountService, ApiTokenService, CreateApiToken, CreateUser, SessionLifetimes, SessionService,
    UserRepo,
};
use tessera_domain::audit::AuditLog;
use tessera_domain::shared::cache::Cache;
use tessera_domain::shared::events::Events;
use tessera_domain::shared::time::SystemClock;
use tessera_domain::shared::validation::Email;
use tessera_infra::cache::memory::MemoryCache;
use tessera_infra::sql::{DbKind, SqlStore};
use tessera_server::cli::{cache::CacheArgs, doctor::DoctorArgs};
use tessera_server::settings::Settings;
use tessera_server::startup::{connect_store, Application};
use tessera_server::{cli, openapi, telemetry};

#[derive(Parser)]
#[command(
    name = "tessera",
    version,
    about = "Membership, dues and files for hierarchical organisations"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Write the OpenAPI document.
    Openapi {
        /// Where to write it.
        #[arg(long, default_value = "openapi/openapi.json")]
        output: PathBuf,
    },
    /// Administrator accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// API tokens for scripts and third-party clients.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Create the demo organisation (units, 30 users, members, a year of dues and payments);
    /// running it again creates nothing new. Refused with APP_ENV=production unless --force.
    /// With --members, --payments or --files it then adds the benchmark data set (refused when
    /// the database already holds one).
    Seed {
        /// Seed even with APP_ENV=production.
        #[arg(long)]
        force: bool,
        /// Benchmark data set: members spread over every cell, with twelve months of dues.
        #[arg(long, default_value_t = 0)]
        members: u64,
        /// Benchmark data set: payments of those members (dues payments and donations over the
        /// last twelve months); needs --members.
        #[arg(long, default_value_t = 0)]
        payments: u64,
        /// Benchmark data set: small generated PNG images in the object store, the first
        /// members' avatars.
        #[arg(long, default_value_t = 0)]
        files: u64,
    },
    /// Check the database, Redis, the object store, the clocks and the settings; one line per
    /// check with what to do, exit 1 on any failure.
    Doctor(DoctorArgs),
    /// Cache statistics and maintenance: stats, clear, warm, refresh, keys, monitor. With
    /// REDIS_URL it talks to Redis directly; otherwise to the running server's admin API
    /// (API_URL, ADMIN_TOKEN).
    Cache(CacheArgs),
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token acting as an administrator; prints it once.
    Create {
        /// The email of the administrator the token acts as.
        #[arg(long)]
        email: String,
        /// What the token is for.
        #[arg(long)]
        name: String,
        /// Comma-separated scopes: cache:admin, read, write.
        #[arg(long, value_delimiter = ',', required = true)]
        scopes: Vec<String>,
        /// Days until it expires (1 to 365).
        #[arg(long, default_value_t = 90)]
        expires_in_days: i64,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an administrator, with one-time codes on: prints the secret, its otpauth URL and a
    /// QR code for an authenticator app (--no-otp for an account without them).
    Create {
        /// Login email.
        #[arg(long)]
        email: String,
        /// Password (8 to 256 characters).
        #[arg(long, env = "TESSERA_NEW_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
        /// Display name.
        #[arg(long, default_value = "Administrator")]
        name: String,
        /// Leave one-time codes off (the account then logs in with its password alone).
        #[arg(long)]
        no_otp: bool,
        /// One-time codes on: the default now, accepted so earlier scripts keep working.
        #[arg(long, hide = true, conflicts_with = "no_otp")]
        otp: bool,
        /// Also write the QR code as a PNG here; a temp file if this path fails.
        #[arg(long, conflicts_with = "no_otp")]
        qr_png: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    return_big_blocks_to_the_system();
    let cli = Cli::parse();
    let command = match cli.command {
        Some(Command::Doctor(args)) => return cli::doctor::main(args),
        Some(Command::Cache(args)) => return cli::cache::main(args),
        other => other,
    };
    if let Some(Command::Openapi { output }) = &command {
        return match std::fs::write(output, openapi::spec_json()) {
            Ok(()) => {
                println!("wrote {}", output.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", output.display());
                ExitCode::FAILURE
            }
        };
    }
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // Kept to the end of the process: it flushes the log.
    let _log_guards = match telemetry::init(settings.log_format, settings.log_file.as_ref()) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    let Some(runtime) = tessera_server::cli::runtime() else {
        return ExitCode::FAILURE;
    };
    let result = runtime.block_on(async move {
        match command.unwrap_or(Command::Serve) {
            Command::Serve => {
                if settings.frontend_build {
                    // Before anything listens: nothing else runs yet for the build to block.
                    tessera_server::frontend::build_if_stale(&settings.frontend_dir)?;
                }
                let app = Application::build(settings).await?;
                app.run_until_stopped().await?;
            }
            Command::Migrate => {
                open_database(&settings).await?;
                println!("migrations applied");
            }
            Command::Admin {
                command:
                    AdminCommand::Create {
                        email,
                        password,
                        name,
                        no_otp,
                        qr_png,
                        ..
                    },
            } => {
                let db = open_database(&settings).await?;
                let accounts = command_line_accounts(&settings, &db).await?;
                let user = accounts
                    .create_without_caller(CreateUser {
                        email,
                        password,
                        name,
                        is_admin: true,
                        is_treasurer: false,
                        org_unit_id: None,
                        member_id: None,
                    })
                    .await?;
                println!(
                    "created administrator {} (id {})",
                    user.email.as_str(),
                    user.id.0
                );
                if !no_otp {
                    let secret = OtpSecret::generate();
                    accounts.activate_otp(user.id, &secret).await?;
                    print_enrolment(&secret, user.email.as_str(), qr_png.as_deref())?;
                }
            }
            Command::Token {
                command:
                    TokenCommand::Create {
                        email,
                        name,
                        scopes,
                        expires_in_days,
                    },
            } => {
                let db = open_database(&settings).await?;
                let owner = db
                    .user_by_email(&Email::parse(&email)?)
                    .await?
                    .filter(|u| u.is_admin && u.is_active)
                    .ok_or_else(|| {
                        anyhow::anyhow!(
                            "no active administrator has the email {email} in this database"
                        )
                    })?;
                // No server runs here: an in-process cache is all the service needs. The token is
                // created as the administrator it acts as, and audited like one made over HTTP.
                let tokens = ApiTokenService::new(
                    db.clone(),
                    CacheLayer::new(
                        Arc::new(MemoryCache::new(16)),
                        Arc::new(SystemClock),
                        TtlClasses::default(),
                    ),
                    Arc::new(SystemClock),
                    Arc::new(AuditLog::new(db.clone())),
                );
                let (token, secret) = tokens
                    .create(
                        &owner.actor(),
                        CreateApiToken {
                            name,
                            scopes,
                            expires_in_days: Some(expires_in_days),
                        },
                    )
                    .await?;
                eprintln!(
                    "created API token {} ({}) for {}, expires {}; it is shown only now:",
                    token.id.0,
                    token
                        .scopes
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                    owner.email.as_str(),
                    token.expires_at.to_rfc3339()
                );
                println!("{}", secret.expose());
            }
            Command::Seed {
                force,
                members,
                payments,
                files,
            } => {
                let progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
                let bulk = tessera_server::seed::BulkOptions {
                    members,
                    payments,
                    files,
                };
                let tessera_server::seed::SeedReport { demo: report, bulk } =
                    tessera_server::seed::run(settings, force, progress, bulk).await?;
                println!("demo organisation ready: {report}");
                println!(
                    "every demo user's password is {} (docs/demo.md lists them):",
                    tessera_server::seed::DEMO_PASSWORD
                );
                print!("{}", tessera_server::seed::logins_table(&report.logins));
                if let Some(bulk) = bulk {
                    println!(
                        "benchmark data set created: {} members, {} dues ({} paid), {} payments, {} files",
                        bulk.members, bulk.dues, bulk.dues_paid, bulk.payments, bulk.files
                    );
                }
            }
            Command::Openapi { .. } | Command::Doctor(_) | Command::Cache(_) => {
                unreachable!("handled before the runtime starts")
            }
        }
        anyhow::Ok(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Prints what an authenticator needs: the secret, the otpauth URL and a QR code drawn in the
/// terminal; writes the PNG where asked, or to the temp dir when that fails (the seed's admins hit
/// permission errors there), and says where it went.
fn print_enrolment(
    secret: &OtpSecret,
    account: &str,
    png: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let url = secret.otpauth_url(account);
    println!("one-time codes enabled; add this account to an authenticator app:");
    println!("  secret: {}", secret.expose_base32());
    println!("  url:    {url}");
    println!("{}", terminal_qr(&url)?);
    let Some(path) = png else { return Ok(()) };
    let png = secret
        .qr_png_base64(account)
        .map_err(|e| anyhow::anyhow!("drawing the QR code failed: {e}"))?;
    let png = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, png)?;
    match std::fs::write(path, &png) {
        Ok(()) => println!("QR code written to {}", path.display()),
        Err(e) => {
            let fallback = std::env::temp_dir()
                .join(format!("tessera-otp-{}.png", uuid::Uuid::new_v4().simple()));
            std::fs::write(&fallback, &png)?;
            println!(
                "could not write {} ({e}); QR code written to {} instead",
                path.display(),
                fallback.display()
            );
        }
    }
    Ok(())
}

/// A QR code in half-block characters, light modules drawn, for dark terminals.
fn terminal_qr(text: &str) -> anyhow::Result<String> {
    use qrcodegen::{QrCode, QrCodeEcc};
    let qr = QrCode::encode_text(text, QrCodeEcc::Medium)
        .map_err(|e| anyhow::anyhow!("the URL does not fit a QR code: {e:?}"))?;
    let border = 2;
    let size = qr.size();
    let light = |x: i32, y: i32| !qr.get_module(x, y);
    let mut out = String::new();
    let mut y = -border;
    while y < size + border {
        for x in -border..size + border {
            out.push(match (light(x, y), light(x, y + 1)) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        out.push('\n');
        y += 2;
    }
    Ok(out)
}

/// Opens (and migrates) the database the settings name, and says which one on stderr: a command
/// run from another directory would otherwise open a new, empty `./data` without a word.
async fn open_database(settings: &Settings) -> anyhow::Result<Arc<SqlStore>> {
    let db = connect_store(settings).await?;
    let which = match db.kind() {
        DbKind::Sqlite => format!(
            "the SQLite database in {} (TESSERA_DATA_DIR)",
            settings.data_dir.display()
        ),
        DbKind::Postgres => "the PostgreSQL database of DATABASE_URL".to_owned(),
    };
    eprintln!("using {which}");
    Ok(Arc::new(db))
}

/// The account service as the command line needs it: no server runs here, so an in-process
/// cache is all it needs (and drops nothing a server holds: a new user has no cached profile).
async fn command_line_accounts(
    settings: &Settings,
    db: &Arc<SqlStore>,
) -> anyhow::Result<AccountService> {
    let cache: Arc<dyn Cache> = Arc::new(MemoryCache::new(16));
    let sessions = Arc::new(SessionService::new(
        db.clone(),
        Arc::clone(&cache),
        Arc::new(SystemClock),
        b"the command line issues no refresh tokens",
        SessionLifetimes {
            idle: settings.jwt_refresh_ttl,
            max_age: settings.session_max_age,
            access_token: settings.jwt_access_ttl,
        },
    ));
    Ok(AccountService::new(
        db.clone(),
        db.clone(),
        db.clone(),
        sessions,
        CacheLayer::new(cache, Arc::new(SystemClock), TtlClasses::default()),
        Arc::new(AuditLog::new(db.clone())),
        // The command line keeps no caches that events would invalidate.
        Events::default(),
    )
    .await?)
}

/// Makes glibc map every block of 1 MiB or more on its own and give it back when it is freed.
///
/// By default glibc raises this threshold to the size of the largest mapped block freed so far
/// (up to 32 MiB), so after the first password hash (argon2 takes 19 MiB) later ones come from
/// its heaps and stay there: four logins at once left an idle server at 116-154 MiB instead of
/// 40. A fixed threshold keeps it where it is.
fn return_big_blocks_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const THRESHOLD: libc::c_int = 1 << 20;
        // SAFETY: `mallopt` only changes a setting of the allocator; it is called before any
        // other thread exists, and a refusal (0) leaves glibc's default in place.
        #[allow(unsafe_code)]
        let accepted = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, THRESHOLD) };
        debug_assert_eq!(accepted, 1, "glibc refused M_MMAP_THRESHOLD");
    }
}
