//! Provider status callbacks (seed 000 §3.2). Each provider's signature is
//! verified first; a bad one records nothing. Pure helpers, tested here.

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

/// The generic callback's `X-Herald-Signature: sha256=<hex HMAC-SHA256 of the body>`.
pub fn generic_signature(secret: &str, body: &[u8]) -> String {
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
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
pub fn twilio_status(s: &str) -> Option<&'static str> {
    match s {
        "delivered" | "read" => Some("delivered"),
        "undelivered" | "failed" => Some("failed"),
        "sent" => Some("sent"),
        _ => None,
    }
}

/// Statuses a callback may set.
pub const CALLBACK_STATUSES: [&str; 5] = ["delivered", "bounced", "failed", "opened", "clicked"];

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
    fn generic_signatures_are_hmac_sha256_hex() {
        let s = generic_signature("k", b"{}");
        assert!(s.starts_with("sha256=") && s.len() == 7 + 64);
        assert!(constant_time_eq(&s, &generic_signature("k", b"{}")));
        assert!(!constant_time_eq(&s, &generic_signature("k", b"{ }")));
    }
}
