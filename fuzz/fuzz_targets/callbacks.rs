//! Provider callback signature helpers: SendGrid's ECDSA check, Twilio's and
//! the generic HMAC signatures, and the comparison they are checked with.
//! Input: `a` NUL `b` NUL `c` NUL `body` (`c` doubles as the signed timestamp).
#![no_main]

use herald::channels::callbacks::{
    constant_time_eq, generic_signature, sendgrid_verify, twilio_signature,
};
use herald_fuzz::fields;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [a, b, c, body] = fields::<4>(data);
    let (Ok(a), Ok(b), Ok(c)) = (
        std::str::from_utf8(a),
        std::str::from_utf8(b),
        std::str::from_utf8(c),
    ) else {
        return;
    };
    let text_body = std::str::from_utf8(body).unwrap_or_default();

    // SendGrid: public key, signature, timestamp header, raw body.
    let _ = sendgrid_verify(a, b, c, body);

    assert_eq!(constant_time_eq(a, b), a == b);

    let generic = generic_signature(a, c, body);
    assert!(
        generic.starts_with("sha256=") && generic.len() == 7 + 64,
        "{generic}"
    );
    assert!(constant_time_eq(&generic, &generic_signature(a, c, body)));

    // Twilio posts form parameters: `k=v&k=v`.
    let params: Vec<(String, String)> = text_body
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_string(), v.to_string())
        })
        .collect();
    let signature = twilio_signature(a, b, &params);
    // Base64 of an HMAC-SHA1 is always 28 characters.
    assert_eq!(signature.len(), 28, "{signature}");
    let mut keys: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    if keys.len() == params.len() {
        // Parameters are signed sorted by name, whatever order they arrive in.
        let reversed: Vec<(String, String)> = params.iter().rev().cloned().collect();
        assert_eq!(twilio_signature(a, b, &reversed), signature);
    }
});
