//! The `aes128gcm` content coding for Web Push (RFC 8291 over RFC 8188): an
//! ephemeral ECDH key per message, the subscriber's auth secret mixed in, one
//! record. `decrypt` is the browser's side, for tests and stand-ins.

use aes_gcm::aead::Aead;
use aes_gcm::{Aes128Gcm, KeyInit, Nonce};
use hkdf::Hkdf;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::{PublicKey, SecretKey};
use sha2::Sha256;

/// The record size announced in the header. One record carries the whole message.
pub const RECORD_SIZE: u32 = 4096;
/// Push services must accept 4096 bytes of body (RFC 8030 §7.2): that less the
/// 86-byte header, the 16-byte tag and the 1-byte delimiter is the largest payload.
pub const MAX_PLAINTEXT: usize = 4096 - HEADER_LEN - 16 - 1;
const HEADER_LEN: usize = 16 + 4 + 1 + 65;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("the payload is {0} bytes; Web Push carries at most {MAX_PLAINTEXT}")]
    TooLarge(usize),
    #[error("the subscriber's key is not a P-256 point")]
    BadPublicKey,
    #[error("the message is malformed: {0}")]
    Malformed(&'static str),
    #[error("the message does not decrypt with this key")]
    Unauthentic,
}

/// Encrypts `plaintext` to a subscriber with a fresh salt and ephemeral key.
pub fn encrypt(plaintext: &[u8], ua_public: &[u8], auth: &[u8]) -> Result<Vec<u8>, CryptoError> {
    use rand::RngCore;
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    encrypt_with(plaintext, ua_public, auth, &random_secret(), &salt)
}

/// A random P-256 private key from the thread's CSPRNG.
pub fn random_secret() -> SecretKey {
    use rand::RngCore;
    loop {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        // Fails only for zero or a value past the group order: vanishingly rare.
        if let Ok(key) = SecretKey::from_slice(&bytes) {
            return key;
        }
    }
}

/// The uncompressed point of a private key's public half (65 bytes).
pub fn public_bytes(secret: &SecretKey) -> Vec<u8> {
    secret
        .public_key()
        .to_encoded_point(false)
        .as_bytes()
        .to_vec()
}

/// The content key and nonce both sides derive (RFC 8291 §3.3–3.4).
fn derive(
    ecdh_secret: &[u8],
    auth: &[u8],
    ua_public: &[u8],
    as_public: &[u8],
    salt: &[u8],
) -> Result<([u8; 16], [u8; 12]), CryptoError> {
    let mut key_info = b"WebPush: info\0".to_vec();
    key_info.extend_from_slice(ua_public);
    key_info.extend_from_slice(as_public);
    let mut ikm = [0u8; 32];
    Hkdf::<Sha256>::new(Some(auth), ecdh_secret)
        .expand(&key_info, &mut ikm)
        .map_err(|_| CryptoError::Malformed("key derivation"))?;
    let prk = Hkdf::<Sha256>::new(Some(salt), &ikm);
    let (mut cek, mut nonce) = ([0u8; 16], [0u8; 12]);
    prk.expand(b"Content-Encoding: aes128gcm\0", &mut cek)
        .and_then(|()| prk.expand(b"Content-Encoding: nonce\0", &mut nonce))
        .map_err(|_| CryptoError::Malformed("key derivation"))?;
    Ok((cek, nonce))
}

fn ecdh(secret: &SecretKey, public: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let public = PublicKey::from_sec1_bytes(public).map_err(|_| CryptoError::BadPublicKey)?;
    let shared = p256::ecdh::diffie_hellman(secret.to_nonzero_scalar(), public.as_affine());
    Ok(shared.raw_secret_bytes().to_vec())
}

/// [`encrypt`] with the salt and the sender's ephemeral key given: deterministic, for the RFC's test vector.
pub fn encrypt_with(
    plaintext: &[u8],
    ua_public: &[u8],
    auth: &[u8],
    as_secret: &SecretKey,
    salt: &[u8; 16],
) -> Result<Vec<u8>, CryptoError> {
    if plaintext.len() > MAX_PLAINTEXT {
        return Err(CryptoError::TooLarge(plaintext.len()));
    }
    let as_public = public_bytes(as_secret);
    let shared = ecdh(as_secret, ua_public)?;
    let (cek, nonce) = derive(&shared, auth, ua_public, &as_public, salt)?;
    let mut record = plaintext.to_vec();
    record.push(2); // the last (and only) record's delimiter, no padding
    let cipher = Aes128Gcm::new_from_slice(&cek).map_err(|_| CryptoError::Malformed("key"))?;
    let sealed = cipher
        .encrypt(&Nonce::from(nonce), record.as_slice())
        .map_err(|_| CryptoError::Malformed("encryption"))?;
    let mut out = Vec::with_capacity(HEADER_LEN + sealed.len());
    out.extend_from_slice(salt);
    out.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    out.push(65);
    out.extend_from_slice(&as_public);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Decrypts a single-record `aes128gcm` message with the subscriber's private key.
pub fn decrypt(body: &[u8], ua_secret: &SecretKey, auth: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if body.len() < 21 {
        return Err(CryptoError::Malformed("shorter than its header"));
    }
    let (salt, rest) = body.split_at(16);
    let idlen = usize::from(rest[4]);
    let rest = &rest[5..];
    if rest.len() < idlen + 17 {
        return Err(CryptoError::Malformed("shorter than its key id and tag"));
    }
    let (as_public, sealed) = rest.split_at(idlen);
    let ua_public = public_bytes(ua_secret);
    let shared = ecdh(ua_secret, as_public)?;
    let (cek, nonce) = derive(&shared, auth, &ua_public, as_public, salt)?;
    let cipher = Aes128Gcm::new_from_slice(&cek).map_err(|_| CryptoError::Malformed("key"))?;
    let mut record = cipher
        .decrypt(&Nonce::from(nonce), sealed)
        .map_err(|_| CryptoError::Unauthentic)?;
    while record.last() == Some(&0) {
        record.pop();
    }
    match record.pop() {
        Some(2) => Ok(record),
        _ => Err(CryptoError::Malformed("no last-record delimiter")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    /// RFC 8291 Appendix A.
    const PLAINTEXT: &str = "When I grow up, I want to be a watermelon";
    const AS_PRIVATE: &str = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
    const AS_PUBLIC: &str =
        "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
    const UA_PRIVATE: &str = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94";
    const UA_PUBLIC: &str =
        "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    const SALT: &str = "DGv6ra1nlYgDCS1FRnbzlw";
    const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";
    const HEADER: &str = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
    const CIPHERTEXT: &str =
        "8pfeW0KbunFT06SuDKoJH9Ql87S1QUrdirN6GcG7sFz1y1sqLgVi1VhjVkHsUoEsbI_0LpXMuGvnzQ";

    fn b(s: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD
            .decode(s)
            .unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn key(s: &str) -> SecretKey {
        SecretKey::from_slice(&b(s)).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn encryption_reproduces_the_rfc_8291_example_byte_for_byte() {
        let salt: [u8; 16] = b(SALT).try_into().unwrap_or_else(|_| panic!("salt"));
        let as_secret = key(AS_PRIVATE);
        assert_eq!(public_bytes(&as_secret), b(AS_PUBLIC));
        let body = encrypt_with(
            PLAINTEXT.as_bytes(),
            &b(UA_PUBLIC),
            &b(AUTH),
            &as_secret,
            &salt,
        );
        let body = body.unwrap_or_else(|e| panic!("{e}"));
        let mut expected = b(HEADER);
        expected.extend(b(CIPHERTEXT));
        assert_eq!(body, expected);
    }

    #[test]
    fn the_subscriber_decrypts_the_rfc_example_and_a_fresh_message() {
        let mut example = b(HEADER);
        example.extend(b(CIPHERTEXT));
        let ua = key(UA_PRIVATE);
        assert_eq!(
            decrypt(&example, &ua, &b(AUTH)).as_deref(),
            Ok(PLAINTEXT.as_bytes())
        );
        let fresh = encrypt(b"hello", &b(UA_PUBLIC), &b(AUTH)).unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(fresh[..16], example[..16], "a new salt per message");
        assert_eq!(decrypt(&fresh, &ua, &b(AUTH)).as_deref(), Ok(&b"hello"[..]));
        let wrong_auth = [0u8; 16];
        assert_eq!(
            decrypt(&fresh, &ua, &wrong_auth),
            Err(CryptoError::Unauthentic)
        );
    }

    #[test]
    fn payloads_past_one_record_and_bad_keys_are_refused() {
        let too_big = vec![b'x'; MAX_PLAINTEXT + 1];
        assert_eq!(
            encrypt(&too_big, &b(UA_PUBLIC), &b(AUTH)),
            Err(CryptoError::TooLarge(MAX_PLAINTEXT + 1))
        );
        let fits = encrypt(&too_big[1..], &b(UA_PUBLIC), &b(AUTH)).unwrap_or_default();
        assert_eq!(
            fits.len(),
            4096,
            "the largest payload fills the 4096-byte body"
        );
        assert_eq!(
            encrypt(b"x", &[4u8; 65], &b(AUTH)),
            Err(CryptoError::BadPublicKey)
        );
        assert!(decrypt(&[0u8; 10], &key(UA_PRIVATE), &b(AUTH)).is_err());
    }
}
