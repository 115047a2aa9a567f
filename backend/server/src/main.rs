//! The `tessera` command line: `serve` (the default), `migrate`, `openapi`, `admin create`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tessera_domain::accounts::{AccountService, CreateUser};
use tessera_infra::cache_memory::MemoryCache;
use tessera_server::settings::Settings;
use tessera_server::startup::{connect_store, Application};
use tessera_server::{openapi, telemetry};

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
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an administrator.
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
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Openapi { output }) = &cli.command {
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
    telemetry::init(settings.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => {
                let app = Application::build(settings).await?;
                app.run_until_stopped().await?;
            }
            Command::Migrate => {
                connect_store(&settings).await?;
                println!("migrations applied");
            }
            Command::Admin {
                command:
                    AdminCommand::Create {
                        email,
                        password,
                        name,
                    },
            } => {
                let store = std::sync::Arc::new(connect_store(&settings).await?);
                // No server runs here: an in-process cache is all the service needs.
                let accounts =
                    AccountService::new(store, std::sync::Arc::new(MemoryCache::new(16)))?;
                let user = accounts
                    .insert(CreateUser {
                        email,
                        password,
                        name,
                        is_admin: true,
                        is_treasurer: false,
                        org_unit_id: None,
                    })
                    .await?;
                println!(
                    "created administrator {} (id {})",
                    user.email.as_str(),
                    user.id.0
                );
            }
            Command::Openapi { .. } => unreachable!("handled before the runtime starts"),
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
