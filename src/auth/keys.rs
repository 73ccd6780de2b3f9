use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A freshly generated API key. `plaintext` is shown once and never stored.
pub struct GeneratedKey {
    pub plaintext: String,
    /// Shown in listings so keys can be told apart and revoked.
    pub prefix: String,
    pub hash: String,
}

const KEY_PREFIX: &str = "hk_";

/// 256 bits from the OS RNG. A key this long needs no slow password hash:
/// SHA-256 of it cannot be brute-forced, and lookups stay one index probe.
pub fn generate_api_key() -> GeneratedKey {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let plaintext = format!(
        "{KEY_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    GeneratedKey {
        prefix: plaintext.chars().take(KEY_PREFIX.len() + 8).collect(),
        hash: hash_api_key(&plaintext),
        plaintext,
    }
}

pub fn hash_api_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

pub(super) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_unique_and_hash_to_what_is_stored() {
        let a = generate_api_key();
        let b = generate_api_key();
        assert_ne!(a.plaintext, b.plaintext);
        assert_eq!(hash_api_key(&a.plaintext), a.hash);
        assert!(!a.hash.contains(&a.plaintext));
        assert!(a.plaintext.starts_with(&a.prefix));
    }
}
