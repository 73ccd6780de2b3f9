//! SNS message signature checks: the canonical string, the certificate and
//! signature parsing, and the certificate URL allow-list.
//! Input: `message (JSON)` NUL `certificate (PEM)` NUL `url` NUL `prefixes, one a line`.
#![no_main]

use herald::channels::sns::{allowed, string_to_sign, verify};
use herald_fuzz::text_fields;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some([message, cert_pem, url, prefixes]) = text_fields::<4>(data) else {
        return;
    };
    let prefixes: Vec<String> = prefixes.lines().map(str::to_string).collect();
    let ok = allowed(url, &prefixes);
    assert_eq!(ok, prefixes.iter().any(|p| url.starts_with(p.as_str())));
    assert!(!allowed(url, &[]), "an empty allow-list allows nothing");

    let Ok(msg) = serde_json::from_str::<Value>(message) else {
        return;
    };
    let canonical = string_to_sign(&msg);
    if let Some(text) = &canonical {
        // The canonical string always ends with the message's own type.
        let kind = msg["Type"].as_str().unwrap_or_default();
        assert!(text.ends_with(&format!("Type\n{kind}\n")), "{text:?}");
    }
    let verified = verify(&msg, cert_pem);
    assert!(
        !verified || canonical.is_some(),
        "verified without a canonical string"
    );
});
