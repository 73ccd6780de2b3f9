//! The command line: serve, migrate, API keys, user tokens.

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
    Import { path: std::path::PathBuf },
    /// Mint a user token (JWT) for USER_ID.
    Token {
        user_id: String,
        /// Lifetime in seconds; defaults to `jwt_ttl_secs`.
        #[arg(long)]
        ttl: Option<u64>,
    },
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

pub async fn run(cli: Cli, settings: Settings) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(settings).await?;
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            persistence::connect(&settings.database_url()).await?;
            println!("migrations applied");
        }
        Command::ApiKey(cmd) => api_key(cmd, &settings).await?,
        Command::Import { path } => {
            let file = if path.is_dir() {
                path.join("pack.json")
            } else {
                path
            };
            let text = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let pack: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("{} is not JSON: {e}", file.display()))?;
            let db = persistence::connect(&settings.database_url()).await?;
            let summary = crate::packs::import(&db, &pack).await?;
            println!("{summary}");
        }
        Command::Token { user_id, ttl } => {
            let user = UserId::parse(user_id)?;
            let keys = jwt_keys(&settings, &load_jwt_secret(&settings)?)?;
            let (token, exp) = keys.mint(&user, ttl.unwrap_or(settings.jwt_ttl_secs))?;
            println!("{token}");
            eprintln!("expires at {exp}");
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
