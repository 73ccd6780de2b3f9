//! A browser's Web Push subscription (`PushSubscription.toJSON()`): the push
//! service endpoint and the keys the payload is encrypted to (RFC 8291).

use super::DomainError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// The longest endpoint accepted; real ones are a few hundred characters.
const MAX_ENDPOINT_LEN: usize = 2048;

/// A parsed subscription. The endpoint is http(s) with a host; whether its
/// address may be reached is for the caller to check (it depends on settings and DNS).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebPushSubscription {
    endpoint: url::Url,
    p256dh: [u8; 65],
    auth: [u8; 16],
}

/// The keys as stored beside the endpoint, base64url like the browser sends them.
#[derive(Serialize, Deserialize)]
struct StoredKeys {
    p256dh: String,
    auth: String,
}

fn bad(reason: impl Into<String>) -> DomainError {
    DomainError::InvalidField {
        field: "subscription",
        reason: reason.into(),
    }
}

fn decode<const N: usize>(name: &str, raw: &str) -> Result<[u8; N], DomainError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(raw.trim().trim_end_matches('='))
        .map_err(|_| bad(format!("keys.{name} is not base64url")))?;
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| {
        bad(format!(
            "keys.{name} must be {N} bytes, got {}",
            bytes.len()
        ))
    })
}

impl WebPushSubscription {
    /// `allow_http` is for local push services in tests; browsers only hand out https endpoints.
    pub fn parse(
        endpoint: &str,
        p256dh: &str,
        auth: &str,
        allow_http: bool,
    ) -> Result<Self, DomainError> {
        if endpoint.len() > MAX_ENDPOINT_LEN {
            return Err(bad(format!(
                "endpoint is longer than {MAX_ENDPOINT_LEN} characters"
            )));
        }
        let url =
            url::Url::parse(endpoint).map_err(|e| bad(format!("endpoint is not a URL: {e}")))?;
        match url.scheme() {
            "https" => {}
            "http" if allow_http => {}
            _ => return Err(bad("endpoint must be an https URL")),
        }
        if url.host().is_none() || !url.username().is_empty() || url.password().is_some() {
            return Err(bad("endpoint must name a host and carry no credentials"));
        }
        let p256dh = decode::<65>("p256dh", p256dh)?;
        if p256::PublicKey::from_sec1_bytes(&p256dh).is_err() {
            return Err(bad("keys.p256dh is not an uncompressed P-256 point"));
        }
        Ok(Self {
            endpoint: url,
            p256dh,
            auth: decode::<16>("auth", auth)?,
        })
    }

    /// Reads a stored subscription back (the endpoint is the device's token).
    pub fn from_stored(endpoint: &str, keys_json: &str) -> Result<Self, DomainError> {
        let keys: StoredKeys =
            serde_json::from_str(keys_json).map_err(|e| bad(format!("stored keys: {e}")))?;
        Self::parse(endpoint, &keys.p256dh, &keys.auth, true)
    }

    /// The keys as stored: `{"p256dh","auth"}` in base64url.
    pub fn keys_json(&self) -> String {
        serde_json::json!({
            "p256dh": URL_SAFE_NO_PAD.encode(self.p256dh),
            "auth": URL_SAFE_NO_PAD.encode(self.auth),
        })
        .to_string()
    }

    pub fn endpoint(&self) -> &str {
        self.endpoint.as_str()
    }

    /// The push service's origin: the VAPID token's audience.
    pub fn origin(&self) -> String {
        self.endpoint.origin().ascii_serialization()
    }

    /// The subscriber's public key, an uncompressed P-256 point.
    pub fn p256dh(&self) -> &[u8; 65] {
        &self.p256dh
    }

    pub fn auth(&self) -> &[u8; 16] {
        &self.auth
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P256DH: &str =
        "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";

    #[test]
    fn a_browser_subscription_parses_and_round_trips_through_storage() {
        let s = WebPushSubscription::parse("https://push.example/send/abc", P256DH, AUTH, false);
        let s = s.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.origin(), "https://push.example");
        let back = WebPushSubscription::from_stored(s.endpoint(), &s.keys_json());
        assert_eq!(back, Ok(s));
    }

    #[test]
    fn bad_endpoints_and_keys_are_refused() {
        let parse = |e: &str, k: &str, a: &str| WebPushSubscription::parse(e, k, a, false);
        assert!(
            parse("http://push.example/x", P256DH, AUTH).is_err(),
            "http"
        );
        assert!(parse("https://u:p@push.example/x", P256DH, AUTH).is_err());
        assert!(parse("not a url", P256DH, AUTH).is_err());
        assert!(
            parse("https://push.example/x", AUTH, AUTH).is_err(),
            "short key"
        );
        assert!(parse("https://push.example/x", P256DH, "c2hvcnQ").is_err());
        let off_curve = format!("BA{}", &P256DH[2..]);
        assert!(parse("https://push.example/x", &off_curve, AUTH).is_err());
        assert!(WebPushSubscription::parse("http://127.0.0.1:1/x", P256DH, AUTH, true).is_ok());
    }
}
