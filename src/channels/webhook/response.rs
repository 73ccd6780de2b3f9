//! What a webhook endpoint's answer means. The body is read only up to a
//! bound: an endpoint that answers with gigabytes, or never stops, must cost
//! at most that much memory.

use super::super::{ProviderError, Sent};

/// The longest `Location` kept in an error; the endpoint chose it, not us.
const MAX_LOCATION_CHARS: usize = 512;

/// The first `max` bytes of the body, as text, reading no further. A read
/// error ends the excerpt: the status already says what happened.
pub async fn excerpt(res: &mut reqwest::Response, max: usize) -> String {
    let mut kept: Vec<u8> = Vec::with_capacity(max.min(16 * 1024));
    while kept.len() < max {
        match res.chunk().await {
            Ok(Some(chunk)) => {
                let room = max - kept.len();
                kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    text_within(&kept, max)
}

/// Lossy UTF-8 of at most `max` bytes, cut on a character boundary (a
/// multi-byte character split by the bound is dropped, not replaced).
fn text_within(bytes: &[u8], max: usize) -> String {
    let mut text = String::from_utf8_lossy(bytes).into_owned();
    let mut end = text.len().min(max);
    if let Err(e) = std::str::from_utf8(bytes) {
        if e.error_len().is_none() {
            // Only the tail is incomplete: drop it rather than show U+FFFD.
            text = String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned();
            end = text.len().min(max);
        }
    }
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text
}

/// Turns an endpoint's answer into the send's result. Redirects are never
/// followed (a public endpoint could bounce the signed body to an internal
/// one): they are a failed attempt, retried like a 5xx, naming where they pointed.
pub fn classify(
    status: u16,
    location: Option<&str>,
    excerpt: &str,
    msg_id: &str,
) -> Result<Sent, ProviderError> {
    match status {
        200..=299 => Ok(Sent {
            provider_message_id: Some(msg_id.to_string()),
        }),
        300..=399 => {
            let to: String = location
                .unwrap_or("(no Location)")
                .chars()
                .take(MAX_LOCATION_CHARS)
                .collect();
            Err(ProviderError::Retryable {
                reason: format!("HTTP {status}: redirect to {to} not followed"),
                retry_after: None,
            })
        }
        408 | 429 | 500..=599 => Err(ProviderError::Retryable {
            reason: format!("HTTP {status}: {excerpt}"),
            retry_after: None,
        }),
        _ => Err(ProviderError::Permanent(format!(
            "HTTP {status}: {excerpt}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_excerpt_never_exceeds_its_bound_nor_splits_a_character() {
        assert_eq!(text_within(b"hello", 10), "hello");
        assert_eq!(text_within(b"hello", 3), "hel");
        // "é" is two bytes; cut after its first byte.
        assert_eq!(text_within("aé".as_bytes(), 2), "a");
        assert_eq!(text_within(&"aé".as_bytes()[..2], 2), "a");
        // Invalid bytes in the middle become U+FFFD, still within the bound.
        let t = text_within(b"a\xffbcdef", 4);
        assert!(t.len() <= 4 && t.starts_with('a'), "{t:?}");
    }

    #[test]
    fn a_redirect_is_a_retried_failure_naming_its_location() {
        let r = classify(307, Some("http://127.0.0.1:9/x"), "", "msg_1");
        assert_eq!(
            r.err(),
            Some(ProviderError::Retryable {
                reason: "HTTP 307: redirect to http://127.0.0.1:9/x not followed".into(),
                retry_after: None
            })
        );
        let long = "h".repeat(5000);
        let Err(ProviderError::Retryable { reason, .. }) = classify(302, Some(&long), "", "m")
        else {
            panic!("a 302 is retried");
        };
        assert!(reason.len() < MAX_LOCATION_CHARS + 64);
    }

    #[test]
    fn statuses_keep_their_classes() {
        assert!(classify(204, None, "", "m").is_ok());
        assert!(matches!(
            classify(503, None, "busy", "m"),
            Err(ProviderError::Retryable { reason, .. }) if reason == "HTTP 503: busy"
        ));
        assert!(matches!(
            classify(410, None, "gone", "m"),
            Err(ProviderError::Permanent(r)) if r == "HTTP 410: gone"
        ));
    }
}
