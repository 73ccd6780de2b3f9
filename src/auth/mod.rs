//! Who is calling: services with API keys, end users with JWTs.

mod extract;
mod jwt;
mod keys;

pub use extract::{
    bearer as bearer_token, resolve_credentials, verified_caller, Admin, AuthedUser, Caller, Sender,
};
pub use jwt::{JwtError, JwtKeys};
pub use keys::{generate_api_key, hash_api_key, GeneratedKey};

use crate::domain::UserId;
use crate::persistence::{api_keys, StoreError};
use sea_orm::DatabaseConnection;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("missing bearer credentials")]
    Missing,
    #[error("invalid credentials")]
    Invalid,
    #[error("token expired")]
    Expired,
    #[error("this credential lacks the '{0}' scope")]
    Forbidden(&'static str),
    /// Startup did not register an [`Authenticator`]: a wiring bug, not the caller's fault.
    #[error("authenticator is not configured")]
    Unconfigured,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an API key may do. `admin` implies every other scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Admin,
    Send,
}

impl Scope {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "admin" => Some(Self::Admin),
            "send" => Some(Self::Send),
            _ => None,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Send => "send",
        }
    }
}

/// Which API key a service used: what per-key state (rate limits) is keyed
/// by, so no table ever holds a secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyId {
    /// `HERALD_ADMIN_API_KEY`, which has no row.
    Configured,
    Stored(uuid::Uuid),
}

/// An authenticated service.
#[derive(Clone, Debug)]
pub struct ServiceCaller {
    pub key: KeyId,
    pub key_name: String,
    pub scopes: Vec<Scope>,
}

impl ServiceCaller {
    pub fn require(&self, scope: Scope) -> Result<(), AuthError> {
        if self.scopes.contains(&Scope::Admin) || self.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(AuthError::Forbidden(scope.as_str()))
        }
    }
}

/// Verifies credentials. Built once in startup and shared.
pub struct Authenticator {
    db: DatabaseConnection,
    /// Hash of `HERALD_ADMIN_API_KEY`, when set; the plain key is not kept.
    admin_key_hash: Option<String>,
    jwt: JwtKeys,
}

impl Authenticator {
    pub fn new(db: DatabaseConnection, admin_key: Option<&str>, jwt: JwtKeys) -> Self {
        Self {
            db,
            admin_key_hash: admin_key.map(hash_api_key),
            jwt,
        }
    }

    pub fn jwt(&self) -> &JwtKeys {
        &self.jwt
    }

    pub async fn service(&self, bearer: &str) -> Result<ServiceCaller, AuthError> {
        let hash = hash_api_key(bearer);
        if let Some(admin) = &self.admin_key_hash {
            if keys::constant_time_eq(admin.as_bytes(), hash.as_bytes()) {
                return Ok(ServiceCaller {
                    key: KeyId::Configured,
                    key_name: "HERALD_ADMIN_API_KEY".into(),
                    scopes: vec![Scope::Admin],
                });
            }
        }
        let row = api_keys::find_active(&self.db, &hash)
            .await?
            .ok_or(AuthError::Invalid)?;
        let names: Vec<String> = serde_json::from_str(&row.scopes).unwrap_or_default();
        Ok(ServiceCaller {
            key: KeyId::Stored(row.id),
            key_name: row.name,
            scopes: names.iter().filter_map(|s| Scope::parse(s)).collect(),
        })
    }

    pub fn user(&self, token: &str) -> Result<UserId, AuthError> {
        self.jwt.verify(token).map_err(|e| match e {
            JwtError::Expired => AuthError::Expired,
            _ => AuthError::Invalid,
        })
    }
}
