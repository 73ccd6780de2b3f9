use crate::domain::UserId;
use chrono::{DateTime, Utc};
use jsonwebtoken::{
    decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("token expired")]
    Expired,
    #[error("invalid token: {0}")]
    Invalid(String),
    #[error("invalid RS256 public key: {0}")]
    BadKey(String),
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    exp: i64,
    /// Optional: identity providers do not all send it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    /// Set on minted tokens when an audience is configured, so Herald's own tokens pass its own check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    aud: Option<String>,
}

/// HS256 keys for tokens Herald mints, plus an optional RS256 public key for
/// tokens a platform's own identity provider issues.
pub struct JwtKeys {
    hs_encode: EncodingKey,
    hs_decode: DecodingKey,
    rs_decode: Option<DecodingKey>,
    issuer: Option<String>,
    audience: Option<String>,
}

impl JwtKeys {
    pub fn new(
        secret: &[u8],
        rs256_pem: Option<&[u8]>,
        issuer: Option<String>,
        audience: Option<String>,
    ) -> Result<Self, JwtError> {
        let rs_decode = rs256_pem
            .map(|pem| DecodingKey::from_rsa_pem(pem).map_err(|e| JwtError::BadKey(e.to_string())))
            .transpose()?;
        Ok(Self {
            hs_encode: EncodingKey::from_secret(secret),
            hs_decode: DecodingKey::from_secret(secret),
            rs_decode,
            issuer,
            audience,
        })
    }

    /// Mints an HS256 token for `user`, valid for `ttl_secs`.
    pub fn mint(&self, user: &UserId, ttl_secs: u64) -> Result<(String, DateTime<Utc>), JwtError> {
        let now = Utc::now();
        let exp = now + chrono::Duration::seconds(ttl_secs.min(i64::MAX as u64 / 2) as i64);
        let claims = Claims {
            sub: user.as_str().to_string(),
            exp: exp.timestamp(),
            iat: Some(now.timestamp()),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.hs_encode)
            .map_err(|e| JwtError::Invalid(e.to_string()))?;
        Ok((token, exp))
    }

    /// A configured issuer or audience is required, not merely checked when present:
    /// jsonwebtoken only compares `iss`/`aud` that a token carries, so a token
    /// without them would otherwise pass. `nbf` is honoured whenever a token has one.
    fn validation(&self, alg: Algorithm) -> Validation {
        let mut v = Validation::new(alg);
        v.leeway = 30;
        v.validate_nbf = true;
        let mut required = vec!["exp", "sub"];
        if let Some(iss) = &self.issuer {
            v.set_issuer(&[iss]);
            required.push("iss");
        }
        match &self.audience {
            Some(aud) => {
                v.set_audience(&[aud]);
                required.push("aud");
            }
            None => v.validate_aud = false,
        }
        v.set_required_spec_claims(&required);
        v
    }

    pub fn verify(&self, token: &str) -> Result<UserId, JwtError> {
        let header = decode_header(token).map_err(|e| JwtError::Invalid(e.to_string()))?;
        let key = match header.alg {
            Algorithm::HS256 => &self.hs_decode,
            Algorithm::RS256 => self
                .rs_decode
                .as_ref()
                .ok_or_else(|| JwtError::Invalid("RS256 tokens are not configured".into()))?,
            other => {
                return Err(JwtError::Invalid(format!(
                    "algorithm {other:?} is not accepted"
                )))
            }
        };
        let data =
            decode::<Claims>(token, key, &self.validation(header.alg)).map_err(|e| {
                match e.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => JwtError::Expired,
                    _ => JwtError::Invalid(e.to_string()),
                }
            })?;
        UserId::parse(data.claims.sub).map_err(|e| JwtError::Invalid(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> JwtKeys {
        JwtKeys::new(b"0123456789abcdef0123456789abcdef", None, None, None).unwrap()
    }

    #[test]
    fn minted_tokens_verify_to_their_user() {
        let user = UserId::parse("user_123").unwrap();
        let (token, _) = keys().mint(&user, 60).unwrap();
        assert_eq!(keys().verify(&token).unwrap(), user);
    }

    #[test]
    fn tokens_signed_with_another_secret_are_refused() {
        let other = JwtKeys::new(b"another-secret-another-secret-xx", None, None, None).unwrap();
        let (token, _) = other.mint(&UserId::parse("u").unwrap(), 60).unwrap();
        assert!(keys().verify(&token).is_err());
    }

    #[test]
    fn the_none_algorithm_is_refused() {
        // header {"alg":"none"} . {"sub":"u","exp":9999999999}
        let token = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1IiwiZXhwIjo5OTk5OTk5OTk5fQ.";
        assert!(keys().verify(token).is_err());
    }
}

#[cfg(test)]
mod claim_tests {
    use super::*;
    use serde_json::{json, Value};

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn strict() -> JwtKeys {
        JwtKeys::new(
            SECRET,
            None,
            Some("https://idp.example".into()),
            Some("herald".into()),
        )
        .unwrap()
    }

    fn token(claims: Value) -> String {
        let key = EncodingKey::from_secret(SECRET);
        encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap()
    }

    fn exp() -> i64 {
        Utc::now().timestamp() + 600
    }

    #[test]
    fn a_configured_audience_is_required() {
        let t = token(json!({"sub": "u", "exp": exp(), "iss": "https://idp.example"}));
        assert!(strict().verify(&t).is_err());
    }

    #[test]
    fn a_wrong_audience_is_refused() {
        let t =
            token(json!({"sub": "u", "exp": exp(), "iss": "https://idp.example", "aud": "other"}));
        assert!(strict().verify(&t).is_err());
    }

    #[test]
    fn a_configured_issuer_is_required() {
        let t = token(json!({"sub": "u", "exp": exp(), "aud": "herald"}));
        assert!(strict().verify(&t).is_err());
    }

    #[test]
    fn a_token_not_yet_valid_is_refused() {
        let nbf = Utc::now().timestamp() + 3600;
        let t = token(json!({"sub": "u", "exp": exp() + 3600, "nbf": nbf,
                             "iss": "https://idp.example", "aud": "herald"}));
        assert!(strict().verify(&t).is_err());
    }

    #[test]
    fn a_token_with_every_configured_claim_is_accepted() {
        let nbf = Utc::now().timestamp() - 10;
        let t = token(json!({"sub": "u", "exp": exp(), "nbf": nbf,
                             "iss": "https://idp.example", "aud": "herald"}));
        assert_eq!(strict().verify(&t).unwrap().as_str(), "u");
    }

    #[test]
    fn tokens_herald_mints_pass_its_own_claim_checks() {
        let user = UserId::parse("u").unwrap();
        let (t, _) = strict().mint(&user, 60).unwrap();
        assert_eq!(strict().verify(&t).unwrap(), user);
    }
}

#[cfg(test)]
mod rs_tests {
    use super::*;

    #[test]
    fn rs256_fixture_verifies() {
        let public = include_str!("../../tests/fixtures/rs256_public.pem");
        let private = include_str!("../../tests/fixtures/rs256_private.pem");
        let keys = JwtKeys::new(
            b"0123456789abcdef0123456789abcdef",
            Some(public.as_bytes()),
            None,
            None,
        )
        .unwrap();
        let claims =
            serde_json::json!({"sub": "idp-user", "exp": chrono::Utc::now().timestamp() + 600});
        let key = EncodingKey::from_rsa_pem(private.as_bytes()).unwrap();
        let token = encode(&Header::new(Algorithm::RS256), &claims, &key).unwrap();
        assert_eq!(keys.verify(&token).unwrap().as_str(), "idp-user");
    }
}
