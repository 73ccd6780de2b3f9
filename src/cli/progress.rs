//! `herald import` and `herald migrate`, with progress on stderr: counts per
//! item on a terminal or with `--progress`, so piped output stays the summary.

use crate::config::Settings;
use crate::packs::Progress;
use crate::persistence::{self, files};
use migration::MigratorTrait;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, Statement};
use std::io::IsTerminal;
use std::path::PathBuf;

/// Counts go out at most once per this many items (and for the first and last).
const PROGRESS_EVERY: usize = 50;

/// Whether to print progress: asked for, or stderr is a terminal.
pub fn wanted(flag: bool) -> bool {
    flag || std::io::stderr().is_terminal()
}

/// "file: templates 50/120" for the items worth a line, else None.
pub fn line(file: &str, p: Progress) -> Option<String> {
    let (kind, n, of) = match p {
        Progress::Template { n, of } => ("templates", n, of),
        Progress::Rule { n, of } => ("rules", n, of),
    };
    (n == 1 || n == of || n.is_multiple_of(PROGRESS_EVERY))
        .then(|| format!("{file}: {kind} {n}/{of}"))
}

pub async fn import(path: PathBuf, progress: bool, settings: &Settings) -> anyhow::Result<()> {
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
    let name = file.display().to_string();
    let show = wanted(progress);
    let summary = crate::packs::import_with_progress(&db, &pack, &mut |p| {
        if let Some(l) = line(&name, p).filter(|_| show) {
            eprintln!("{l}");
        }
    })
    .await?;
    println!("{summary}");
    Ok(())
}

/// Names the migrations a database lacks, applies them (with the other nodes'
/// lock, as `serve` does), then prints each one applied.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let url = settings.database_url();
    let pending = pending(&url).await;
    if !pending.is_empty() {
        eprintln!("applying {} migration(s)", pending.len());
    }
    persistence::connect(&url).await?;
    for name in &pending {
        println!("applied {name}");
    }
    println!(
        "migrations applied ({} new, {} in all)",
        pending.len(),
        migration::Migrator::migrations().len()
    );
    Ok(())
}

/// Known migrations the database has not recorded; every one for a database
/// that does not exist yet or cannot be read (connecting reports why).
async fn pending(url: &str) -> Vec<String> {
    if files::sqlite_path(url).is_some_and(|p| !p.exists()) {
        return known_migrations();
    }
    let mut opts = ConnectOptions::new(url.to_string());
    opts.sqlx_logging(false).max_connections(1);
    let Ok(db) = Database::connect(opts).await else {
        return known_migrations();
    };
    let pending = pending_in(&db).await;
    let _ = db.close().await;
    pending
}

fn known_migrations() -> Vec<String> {
    migration::Migrator::migrations()
        .iter()
        .map(|m| m.name().to_string())
        .collect()
}

/// Read, never written (unlike sea-orm's own status, which creates its table),
/// so `herald doctor` can ask a read-only database.
pub(super) async fn pending_in(db: &impl ConnectionTrait) -> Vec<String> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT version FROM seaql_migrations",
        ))
        .await
        // No table yet: a database no Herald has migrated.
        .unwrap_or_default();
    let applied: Vec<String> = rows
        .iter()
        .filter_map(|r| r.try_get::<String>("", "version").ok())
        .collect();
    known_migrations()
        .into_iter()
        .filter(|k| !applied.contains(k))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_shows_the_first_every_fiftieth_and_the_last_item() {
        let t = |n| line("pack.json", Progress::Template { n, of: 120 });
        assert_eq!(t(1).as_deref(), Some("pack.json: templates 1/120"));
        assert_eq!(t(2), None);
        assert_eq!(t(100).as_deref(), Some("pack.json: templates 100/120"));
        assert_eq!(
            line("p", Progress::Rule { n: 3, of: 3 }).as_deref(),
            Some("p: rules 3/3")
        );
    }
}
