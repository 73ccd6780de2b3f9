//! The command line: serve, migrate, import, API keys, user tokens, and the
//! operator's tools (send, events, deliveries, doctor), one submodule each.

mod client;
mod deliveries;
pub mod doctor;
mod events;
mod progress;
mod send;

use crate::auth::generate_api_key;
use crate::config::Settings;
use crate::domain::UserId;
use crate::persistence::{self, api_keys};
use crate::startup::{jwt_keys, load_jwt_secret, Application};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "herald", version, about = "Herald notification server")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// `doctor` loads and checks the settings itself.
    pub fn is_doctor(&self) -> bool {
        matches!(self.command, Some(Command::Doctor(_)))
    }
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage service API keys.
    #[command(subcommand)]
    ApiKey(ApiKeyCommand),
    /// Load a pack of templates and rules (DIR/pack.json, or a .json file), idempotently.
    Import {
        path: std::path::PathBuf,
        /// Print per-item counts to stderr even when it is not a terminal.
        #[arg(long)]
        progress: bool,
    },
    /// Mint a user token (JWT) for USER_ID.
    Token {
        user_id: String,
        /// Lifetime in seconds; defaults to `jwt_ttl_secs`.
        #[arg(long)]
        ttl: Option<u64>,
    },
    /// Send USER a notification through a running server (POST /send).
    Send(send::SendArgs),
    /// Publish events over HTTP or to RabbitMQ.
    #[command(subcommand)]
    Events(events::EventsCommand),
    /// Inspect deliveries in the database.
    #[command(subcommand)]
    Deliveries(deliveries::DeliveriesCommand),
    /// Check every setting and reach every configured service; exits 1 on any failure.
    Doctor(doctor::DoctorArgs),
}

#[derive(Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key and print it once.
    Create {
        #[arg(long)]
        name: String,
        /// `admin` or `send`; repeat for several.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
    },
    /// List keys (never the keys themselves).
    List,
    /// Revoke a key by id or prefix.
    Revoke { id_or_prefix: String },
}

/// Runs a command. `doctor` loads the settings itself, so it can report
/// invalid ones; every other command starts from loaded settings.
/// Runs a command. `settings` are loaded (and logging installed) by `main`
/// for every command but `doctor`, which checks them itself.
pub async fn main(cli: Cli, settings: Option<Settings>) -> anyhow::Result<std::process::ExitCode> {
    if let Some(Command::Doctor(args)) = cli.command {
        return Ok(doctor::run(args).await);
    }
    let settings = match settings {
        Some(settings) => settings,
        None => Settings::load()?,
    };
    run(cli, settings).await?;
    Ok(std::process::ExitCode::SUCCESS)
}

pub async fn run(cli: Cli, settings: Settings) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(settings).await?;
            app.run_until_stopped().await?;
        }
        Command::Migrate => progress::migrate(&settings).await?,
        Command::ApiKey(cmd) => api_key(cmd, &settings).await?,
        Command::Import { path, progress } => progress::import(path, progress, &settings).await?,
        Command::Token { user_id, ttl } => {
            let user = UserId::parse(user_id)?;
            let keys = jwt_keys(&settings, &load_jwt_secret(&settings)?)?;
            let (token, exp) = keys.mint(&user, ttl.unwrap_or(settings.jwt_ttl_secs))?;
            println!("{token}");
            eprintln!("expires at {exp}");
        }
        Command::Send(args) => send::run(args, &settings).await?,
        Command::Events(cmd) => events::run(cmd, &settings).await?,
        Command::Deliveries(cmd) => deliveries::run(cmd, &settings).await?,
        Command::Doctor(args) => {
            anyhow::ensure!(
                doctor::run(args).await == std::process::ExitCode::SUCCESS,
                "doctor found failures"
            )
        }
    }
    Ok(())
}

async fn api_key(cmd: ApiKeyCommand, settings: &Settings) -> anyhow::Result<()> {
    let db = persistence::connect(&settings.database_url()).await?;
    match cmd {
        ApiKeyCommand::Create { name, scopes } => {
            for s in &scopes {
                anyhow::ensure!(
                    crate::auth::Scope::parse(s).is_some(),
                    "unknown scope '{s}'; use admin or send"
                );
            }
            let key = generate_api_key();
            let row = api_keys::create(&db, &name, &key.prefix, &key.hash, &scopes).await?;
            println!("{}", key.plaintext);
            eprintln!(
                "created key {} ({}), scopes {:?}. Store it now: it is not shown again.",
                row.id, row.prefix, scopes
            );
        }
        ApiKeyCommand::List => {
            for k in api_keys::list(&db).await? {
                let state = if k.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                let used = k
                    .last_used_at
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_else(|| "never".into());
                println!(
                    "{}  {}  {:<20}  {}  {}  last used {}",
                    k.id, k.prefix, k.name, k.scopes, state, used
                );
            }
        }
        ApiKeyCommand::Revoke { id_or_prefix } => {
            anyhow::ensure!(
                api_keys::revoke(&db, &id_or_prefix).await?,
                "no active key matches '{id_or_prefix}'"
            );
            println!("revoked");
        }
    }
    Ok(())
}
