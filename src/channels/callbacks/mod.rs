//! Provider status callbacks. Each provider's signature is
//! verified first; a bad one records nothing. Signed timestamps must fall in
//! the replay window ([`window`]) and a generic callback's signature is
//! accepted once ([`replay`]). Pure helpers, tested here.

mod guard;
mod replay;
mod window;

pub use guard::CallbackGuard;
pub use replay::{ReplayCache, REPLAY_CAPACITY};
pub use window::{SignedAt, Window, WindowError};

use crate::domain::DeliveryStatus;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Twilio's `X-Twilio-Signature`: base64 HMAC-SHA1, keyed by the auth token,
/// over the full callback URL followed by every POST parameter's name and
/// value, sorted by name.
pub fn twilio_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut data = url.to_string();
    for (k, v) in sorted {
        data.push_str(k);
        data.push_str(v);
    }
    let Ok(mut mac) = <Hmac<sha1::Sha1> as Mac>::new_from_slice(auth_token.as_bytes()) else {
        return String::new();
    };
    mac.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    #[error("the callback signature does not verify")]
    InvalidSignature,
    #[error(transparent)]
    Window(#[from] WindowError),
    #[error("this callback was already accepted (same signature within the replay window)")]
    Replayed,
    #[error(transparent)]
    Sns(#[from] crate::channels::sns::SnsError),
    #[error("invalid setting {key}: {reason}")]
    Setting { key: &'static str, reason: String },
}

/// The generic callback's `X-Herald-Signature: sha256=<hex HMAC-SHA256 of "{timestamp}.{body}">`,
/// `timestamp` being the `X-Herald-Timestamp` header exactly as sent (Unix seconds).
/// Signing the timestamp with the body, as Standard Webhooks does, is what lets the window hold.
pub fn generic_signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Twilio's message status → Herald's delivery status.
pub fn twilio_status(s: &str) -> Option<DeliveryStatus> {
    match s {
        "delivered" | "read" => Some(DeliveryStatus::Delivered),
        "undelivered" | "failed" => Some(DeliveryStatus::Failed),
        "sent" => Some(DeliveryStatus::Sent),
        _ => None,
    }
}

/// SendGrid's Event Webhook signature: ECDSA P-256 with SHA-256 over the
/// timestamp header followed by the raw body. The key is the base64 DER public
/// key from SendGrid's settings; the signature is base64 DER.
pub fn sendgrid_verify(
    public_key_b64: &str,
    signature_b64: &str,
    timestamp: &str,
    body: &[u8],
) -> bool {
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::{Signature, VerifyingKey};
    use p256::pkcs8::DecodePublicKey;
    let b64 = base64::engine::general_purpose::STANDARD;
    let (Ok(key_der), Ok(sig_der)) = (
        b64.decode(public_key_b64.trim()),
        b64.decode(signature_b64.trim()),
    ) else {
        return false;
    };
    let (Ok(key), Ok(sig)) = (
        VerifyingKey::from_public_key_der(&key_der),
        Signature::from_der(&sig_der),
    ) else {
        return false;
    };
    let mut message = timestamp.as_bytes().to_vec();
    message.extend_from_slice(body);
    key.verify(&message, &sig).is_ok()
}

/// A SendGrid event → Herald's delivery status.
pub fn sendgrid_status(event: &str) -> Option<DeliveryStatus> {
    match event {
        "delivered" => Some(DeliveryStatus::Delivered),
        "bounce" | "blocked" => Some(DeliveryStatus::Bounced),
        "dropped" | "deferred_final" => Some(DeliveryStatus::Failed),
        "open" => Some(DeliveryStatus::Opened),
        "click" => Some(DeliveryStatus::Clicked),
        _ => None,
    }
}

/// Statuses a provider report may set.
pub const CALLBACK_STATUSES: [DeliveryStatus; 6] = [
    DeliveryStatus::Sent,
    DeliveryStatus::Delivered,
    DeliveryStatus::Bounced,
    DeliveryStatus::Failed,
    DeliveryStatus::Opened,
    DeliveryStatus::Clicked,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twilio_signatures_match_twilios_documented_example() {
        // From Twilio's "Validating requests" documentation.
        let params: Vec<(String, String)> = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let sig = twilio_signature(
            "12345",
            "https://mycompany.com/myapp.php?foo=1&bar=2",
            &params,
        );
        assert_eq!(sig, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
    }

    #[test]
    fn sendgrid_signatures_verify_with_the_public_key_and_nothing_else() {
        use p256::ecdsa::signature::Signer;
        use p256::ecdsa::{Signature, SigningKey};
        use p256::pkcs8::EncodePublicKey;
        let b64 = base64::engine::general_purpose::STANDARD;
        let key = SigningKey::from_slice(&[7u8; 32]).unwrap();
        let public = b64.encode(key.verifying_key().to_public_key_der().unwrap().as_bytes());
        let body = br#"[{"event":"delivered"}]"#;
        let sig: Signature = key.sign(&[b"1700000000".as_slice(), body].concat());
        let sig = b64.encode(sig.to_der().as_bytes());
        assert!(sendgrid_verify(&public, &sig, "1700000000", body));
        assert!(!sendgrid_verify(&public, &sig, "1700000001", body));
        assert!(!sendgrid_verify(
            &public,
            &sig,
            "1700000000",
            br#"[{"event":"bounce"}]"#
        ));
        assert!(!sendgrid_verify(&public, "bogus", "1700000000", body));
    }

    #[test]
    fn generic_signatures_are_hmac_sha256_hex_over_the_timestamp_and_body() {
        let s = generic_signature("k", "1700000000", b"{}");
        assert!(s.starts_with("sha256=") && s.len() == 7 + 64);
        assert!(constant_time_eq(
            &s,
            &generic_signature("k", "1700000000", b"{}")
        ));
        assert!(!constant_time_eq(
            &s,
            &generic_signature("k", "1700000000", b"{ }")
        ));
        assert!(!constant_time_eq(
            &s,
            &generic_signature("k", "1700000001", b"{}")
        ));
        // HMAC-SHA256("k", "1700000000.{}"), computed independently with openssl.
        assert_eq!(
            s,
            "sha256=c6ef4734033cee2367414a0939385eca0397754aa7a59716da7463a9298b5146"
        );
    }
}
