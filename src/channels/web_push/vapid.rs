//! VAPID (RFC 8292): Herald's P-256 key pair identifies it to push services.
//! The browser subscribes with the public key; each request carries an ES256
//! JWT for the push service's origin, signed with the private key.
//!
//! The key is generated on first run and kept owner-only in the data
//! directory, like the JWT secret. Nodes sharing a database must share it
//! (`HERALD_VAPID_PRIVATE_KEY`): a subscription made with one node's public
//! key is refused by the push service when another node signs for it.

use crate::config::Settings;
use crate::persistence::files;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::SecretKey;
use secrecy::ExposeSecret;
use std::path::Path;

/// How long a VAPID token is valid. RFC 8292 allows at most 24 hours; half
/// of that leaves room for clock skew between Herald and the push service.
pub const TOKEN_LIFETIME_SECS: i64 = 12 * 3600;
/// Where a generated key is kept, inside the data directory.
const KEY_FILE: &str = "vapid_private_key";

#[derive(Debug, thiserror::Error)]
pub enum VapidError {
    #[error("{origin} is not a P-256 private key (32 bytes, base64url)")]
    BadKey { origin: String },
    #[error("cannot keep the VAPID key at {path}: {reason}")]
    Io { path: String, reason: String },
    #[error("HERALD_VAPID_SUBJECT must be a mailto: or https: URL, got '{0}'")]
    BadSubject(String),
}

/// Herald's VAPID identity: the signing key, its public key as browsers want
/// it (base64url uncompressed point) and the contact (`sub`) push services see.
#[derive(Clone)]
pub struct Vapid {
    key: SigningKey,
    public_key: String,
    subject: String,
}

impl std::fmt::Debug for Vapid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vapid")
            .field("public_key", &self.public_key)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

fn parse_key(raw: &str, origin: &str) -> Result<SecretKey, VapidError> {
    URL_SAFE_NO_PAD
        .decode(raw.trim().trim_end_matches('='))
        .ok()
        .and_then(|bytes| SecretKey::from_slice(&bytes).ok())
        .ok_or_else(|| VapidError::BadKey {
            origin: origin.to_string(),
        })
}

/// The key from `data_dir`, generated and written (0600, atomically) when there is none.
fn stored_key(data_dir: &Path) -> Result<SecretKey, VapidError> {
    let path = data_dir.join(KEY_FILE);
    let io = |e: std::io::Error| VapidError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let read = |path: &Path| std::fs::read_to_string(path);
    match read(&path) {
        Ok(existing) => {
            if let Err(e) = files::restrict(&path) {
                tracing::warn!(path = %path.display(), error = %e, "could not make the VAPID key owner-only (0600)");
            }
            return parse_key(&existing, &path.display().to_string());
        }
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
        Err(_) => {}
    }
    files::private_dir(data_dir).map_err(io)?;
    let secret = super::crypto::random_secret();
    let encoded = URL_SAFE_NO_PAD.encode(secret.to_bytes());
    match files::write_private(&path, encoded.as_bytes()) {
        Ok(()) => {
            tracing::info!(path = %path.display(), "generated a VAPID key pair for Web Push");
            Ok(secret)
        }
        // Another process wrote one first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            parse_key(&read(&path).map_err(io)?, &path.display().to_string())
        }
        Err(e) => Err(io(e)),
    }
}

/// `HERALD_VAPID_SUBJECT`, else the public URL when it is https, else a mailto: at its host.
fn subject(settings: &Settings) -> Result<String, VapidError> {
    if let Some(s) = &settings.vapid_subject {
        let s = s.trim();
        if s.starts_with("mailto:") || s.starts_with("https://") {
            return Ok(s.to_string());
        }
        return Err(VapidError::BadSubject(s.to_string()));
    }
    let public = settings.public_url.as_deref().unwrap_or_default();
    if public.starts_with("https://") {
        return Ok(public.trim_end_matches('/').to_string());
    }
    let host = url::Url::parse(public)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "localhost".into());
    Ok(format!("mailto:webpush@{host}"))
}

impl Vapid {
    /// From `HERALD_VAPID_PRIVATE_KEY`, else the key file in the data directory.
    pub fn from_settings(settings: &Settings) -> Result<Self, VapidError> {
        let secret = match &settings.vapid_private_key {
            Some(raw) => parse_key(raw.expose_secret(), "HERALD_VAPID_PRIVATE_KEY")?,
            None => stored_key(&settings.data_dir)?,
        };
        Ok(Self::new(&secret, subject(settings)?))
    }

    pub fn new(secret: &SecretKey, subject: String) -> Self {
        Self {
            key: SigningKey::from(secret),
            public_key: URL_SAFE_NO_PAD.encode(super::crypto::public_bytes(secret)),
            subject,
        }
    }

    /// The application server key browsers subscribe with.
    pub fn public_key(&self) -> &str {
        &self.public_key
    }

    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The `Authorization` header for a push service at `audience` (its origin).
    pub fn authorization(&self, audience: &str, now_unix: i64) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = serde_json::json!({
            "aud": audience,
            "exp": now_unix + TOKEN_LIFETIME_SECS,
            "sub": self.subject,
        });
        let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signing_input = format!("{header}.{claims}");
        let signature: Signature = self.key.sign(signing_input.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(signature.to_bytes());
        format!("vapid t={signing_input}.{signature}, k={}", self.public_key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::VerifyingKey;

    #[test]
    fn the_token_verifies_with_the_public_key_and_names_the_push_service() {
        let vapid = Vapid::new(
            &super::super::crypto::random_secret(),
            "mailto:ops@example.com".into(),
        );
        let auth = vapid.authorization("https://push.example", 1_000);
        let (t, k) = auth
            .strip_prefix("vapid t=")
            .and_then(|rest| rest.split_once(", k="))
            .unwrap_or_else(|| panic!("{auth}"));
        assert_eq!(k, vapid.public_key());
        let (signed, sig) = t.rsplit_once('.').unwrap_or_else(|| panic!("{t}"));
        let public = URL_SAFE_NO_PAD.decode(k).unwrap_or_default();
        let verifier = VerifyingKey::from_sec1_bytes(&public).unwrap_or_else(|e| panic!("{e}"));
        let sig = Signature::from_slice(&URL_SAFE_NO_PAD.decode(sig).unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(verifier.verify(signed.as_bytes(), &sig).is_ok());
        let claims = signed.split('.').nth(1).unwrap_or_default();
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).unwrap_or_default())
                .unwrap_or_default();
        assert_eq!(claims["aud"], "https://push.example");
        assert_eq!(claims["sub"], "mailto:ops@example.com");
        assert_eq!(claims["exp"], 1_000 + TOKEN_LIFETIME_SECS);
        const { assert!(TOKEN_LIFETIME_SECS <= 24 * 3600) };
    }

    #[test]
    fn a_generated_key_is_kept_private_and_reused() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let first = stored_key(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let again = stored_key(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(first.to_bytes(), again.to_bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or_default();
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn the_subject_comes_from_settings_or_the_public_url() {
        let mut s = Settings::defaults().unwrap_or_else(|e| panic!("{e}"));
        s.public_url = Some("https://herald.example.com/".into());
        assert_eq!(
            subject(&s).ok().as_deref(),
            Some("https://herald.example.com")
        );
        s.public_url = Some("http://10.0.0.5:8080".into());
        assert_eq!(subject(&s).ok().as_deref(), Some("mailto:webpush@10.0.0.5"));
        s.vapid_subject = Some("ops@example.com".into());
        assert!(subject(&s).is_err(), "neither mailto: nor https:");
        s.vapid_subject = Some("mailto:ops@example.com".into());
        assert_eq!(subject(&s).ok().as_deref(), Some("mailto:ops@example.com"));
        assert!(parse_key("not a key", "test").is_err());
    }
}
