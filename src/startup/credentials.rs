//! Credentials at startup: the HS256 secret (from settings, or generated and
//! kept owner-only in the data directory), the JWT keys, and the first run's
//! admin key.

use crate::auth::{generate_api_key, JwtKeys};
use crate::config::Settings;
use crate::persistence::{self, api_keys};
use anyhow::Context;
use secrecy::ExposeSecret;

/// Reads the HS256 secret from settings, else from `data_dir/jwt_secret`,
/// generating and persisting one (mode 0600) on first run.
pub fn load_jwt_secret(settings: &Settings) -> anyhow::Result<Vec<u8>> {
    if let Some(s) = &settings.jwt_secret {
        let s = s.expose_secret();
        anyhow::ensure!(
            s.len() >= 32,
            "HERALD_JWT_SECRET must be at least 32 characters"
        );
        return Ok(s.as_bytes().to_vec());
    }
    let path = settings.data_dir.join("jwt_secret");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        // A secret mounted read-only (a Kubernetes secret, say) cannot be changed: warn, go on.
        if let Err(e) = persistence::files::restrict(&path) {
            tracing::warn!(path = %path.display(), error = %e, "could not make the JWT secret owner-only (0600)");
        }
        let existing = existing.trim().to_string();
        anyhow::ensure!(
            existing.len() >= 32,
            "{} is too short; delete it to regenerate",
            path.display()
        );
        return Ok(existing.into_bytes());
    }
    persistence::files::private_dir(&settings.data_dir).with_context(|| {
        format!(
            "cannot create data directory {}",
            settings.data_dir.display()
        )
    })?;
    let secret = generate_api_key().plaintext;
    persistence::files::write_private(&path, secret.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    tracing::info!(path = %path.display(), "generated a JWT secret");
    Ok(secret.into_bytes())
}

pub fn jwt_keys(settings: &Settings, secret: &[u8]) -> anyhow::Result<JwtKeys> {
    let pem = match (
        &settings.jwt_rs256_public_key,
        &settings.jwt_rs256_public_key_file,
    ) {
        (Some(inline), _) => Some(inline.clone().into_bytes()),
        (None, Some(file)) => {
            Some(std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?)
        }
        (None, None) => None,
    };
    Ok(JwtKeys::new(
        secret,
        pem.as_deref(),
        settings.jwt_issuer.clone(),
        settings.jwt_audience.clone(),
    )?)
}

/// On a first run with no admin key configured and none stored, creates one
/// and prints it with a demo user token, once.
pub(super) async fn bootstrap_admin(
    db: &sea_orm::DatabaseConnection,
    settings: &Settings,
    jwt: &JwtKeys,
) -> anyhow::Result<()> {
    if settings.admin_api_key.is_some() || !api_keys::list(db).await?.is_empty() {
        return Ok(());
    }
    let key = generate_api_key();
    api_keys::create(
        db,
        "bootstrap-admin",
        &key.prefix,
        &key.hash,
        &["admin".to_string()],
    )
    .await?;
    if settings.first_run_banner {
        let demo = crate::domain::UserId::parse("demo-user")?;
        let (token, _) = jwt.mint(&demo, settings.jwt_ttl_secs)?;
        println!(
            "\n  Herald first run: an admin API key was created. It is shown only this once.\n\n    \
             admin API key:     {}\n    demo user token:   {}   (user \"demo-user\")\n\n  \
             Try: curl -H 'Authorization: Bearer <admin key>' -H 'Content-Type: application/json' \\\n       \
             -d '{{\"user_id\":\"demo-user\",\"title\":\"Hello\",\"body\":\"It works\"}}' http://{}/api/v1/send\n",
            key.plaintext, token, settings.bind
        );
    }
    Ok(())
}
