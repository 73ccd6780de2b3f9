//! SNS message signature checks: the canonical string, the certificate and
//! signature parsing, the trusted-origin rules for certificate and subscribe
//! URLs, and the topic allow-list.
//! Input: `message (JSON)` NUL `certificate (PEM)` NUL `url` NUL `origins and topics, comma-separated`.
#![no_main]

use herald::channels::sns::{string_to_sign, verify, TopicAllowList, TrustedOrigins, UrlKind};
use herald_fuzz::text_fields;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some([message, cert_pem, url, prefixes]) = text_fields::<4>(data) else {
        return;
    };
    // Whatever the settings say, a URL is trusted only if it parses, and only as https or loopback http.
    if let Ok(origins) = TrustedOrigins::parse(prefixes) {
        for kind in [UrlKind::SigningCert, UrlKind::Subscribe] {
            if let Ok(trusted) = origins.check(url, kind) {
                let parsed = url::Url::parse(trusted.as_str()).expect("a trusted URL parses");
                assert!(parsed.username().is_empty() && parsed.password().is_none());
                assert!(matches!(parsed.scheme(), "https" | "http"));
            }
        }
    }
    if let Ok(topics) = TopicAllowList::parse(prefixes) {
        if topics.is_empty() {
            assert!(
                topics.admit(url).is_err(),
                "an empty allow-list admits nothing"
            );
        }
    }

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
