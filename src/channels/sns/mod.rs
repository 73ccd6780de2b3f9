//! AWS SES status through SNS. A message is admitted only from an allow-listed
//! topic, inside the replay window, with a signing certificate from an SNS host
//! ([`trust`]); the certificate is cached per URL ([`cache`]) and the signature
//! checked against it. SubscriptionConfirmation is handled by visiting
//! SubscribeURL (held to the same hosts) once all of that holds ([`gate`]).

mod cache;
mod gate;
mod trust;

pub use cache::{
    CertCache, FetchBudget, CERT_CACHE_CAPACITY, CERT_CACHE_TTL, CERT_FETCHES_PER_MINUTE,
};
pub use gate::{Admitted, SnsGate, SnsKind, CERT_MAX_BYTES};
pub use trust::{TopicAllowList, TopicArn, TrustedOrigins, TrustedUrl, UrlKind};

use crate::channels::callbacks::WindowError;
use crate::domain::DeliveryStatus;
use base64::Engine;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use rsa::RsaPublicKey;
use serde_json::Value;
use x509_cert::der::{DecodePem, Encode};

#[derive(Debug, thiserror::Error)]
pub enum SnsError {
    #[error("no SNS topic is allow-listed (HERALD_SNS_TOPIC_ARNS is empty), so every SNS message is refused")]
    NoTopics,
    #[error("TopicArn is not an SNS topic ARN")]
    InvalidTopicArn,
    #[error("messages from this SNS topic are not accepted")]
    TopicNotAllowed,
    #[error("the message is not an SNS message: {0}")]
    Malformed(&'static str),
    #[error("Timestamp: {0}")]
    Window(#[from] WindowError),
    #[error("SigningCertURL is not trusted: {0}")]
    UntrustedCertUrl(&'static str),
    #[error("SubscribeURL is not trusted: {0}")]
    UntrustedSubscribeUrl(&'static str),
    #[error("the SNS signature does not verify")]
    InvalidSignature,
    /// The certificate host answered badly or not at all (details for the log only).
    #[error("signing certificate unavailable: {0}")]
    CertificateUnavailable(String),
    #[error("too many signing certificate fetches this minute")]
    FetchBudgetSpent,
    #[error("subscription confirmation failed: {0}")]
    ConfirmationFailed(String),
    #[error("invalid setting {key}: {reason}")]
    Setting { key: &'static str, reason: String },
}

/// The canonical string SNS signs, for a message of `Type` Notification or (Un)SubscriptionConfirmation.
pub fn string_to_sign(msg: &Value) -> Option<String> {
    let kind = msg["Type"].as_str()?;
    let keys: &[&str] = match kind {
        "Notification" => &[
            "Message",
            "MessageId",
            "Subject",
            "Timestamp",
            "TopicArn",
            "Type",
        ],
        "SubscriptionConfirmation" | "UnsubscribeConfirmation" => &[
            "Message",
            "MessageId",
            "SubscribeURL",
            "Timestamp",
            "Token",
            "TopicArn",
            "Type",
        ],
        _ => return None,
    };
    let mut out = String::new();
    for k in keys {
        if let Some(v) = msg[*k].as_str() {
            out.push_str(k);
            out.push('\n');
            out.push_str(v);
            out.push('\n');
        } else if *k != "Subject" {
            return None;
        }
    }
    Some(out)
}

/// The RSA public key of a PEM signing certificate.
pub fn public_key(cert_pem: &str) -> Result<RsaPublicKey, SnsError> {
    let bad = |e: &dyn std::fmt::Display| SnsError::CertificateUnavailable(e.to_string());
    let cert = x509_cert::Certificate::from_pem(cert_pem.as_bytes()).map_err(|e| bad(&e))?;
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| bad(&e))?;
    RsaPublicKey::from_public_key_der(&spki).map_err(|e| bad(&e))
}

/// Checks the message's signature with the certificate's key. SignatureVersion 1 is
/// SHA1withRSA, 2 is SHA256withRSA.
pub fn verify_with(msg: &Value, key: &RsaPublicKey) -> bool {
    let (Some(text), Some(sig_b64)) = (string_to_sign(msg), msg["Signature"].as_str()) else {
        return false;
    };
    let Ok(sig_bytes) = base64::engine::general_purpose::STANDARD.decode(sig_b64) else {
        return false;
    };
    let Ok(sig) = Signature::try_from(sig_bytes.as_slice()) else {
        return false;
    };
    match msg["SignatureVersion"].as_str() {
        Some("2") => VerifyingKey::<sha2::Sha256>::new(key.clone())
            .verify(text.as_bytes(), &sig)
            .is_ok(),
        Some("1") => VerifyingKey::<sha1::Sha1>::new(key.clone())
            .verify(text.as_bytes(), &sig)
            .is_ok(),
        _ => false,
    }
}

/// Checks the message's signature with a PEM certificate.
pub fn verify(msg: &Value, cert_pem: &str) -> bool {
    public_key(cert_pem).is_ok_and(|key| verify_with(msg, &key))
}

/// An SES notification (the SNS `Message`) → (Herald's Message-ID, status, detail).
pub fn ses_status(message: &str) -> Option<(String, DeliveryStatus, Option<String>)> {
    let m: Value = serde_json::from_str(message).ok()?;
    let kind = m["notificationType"].as_str().or(m["eventType"].as_str())?;
    let status = match kind {
        "Delivery" => DeliveryStatus::Delivered,
        "Bounce" => DeliveryStatus::Bounced,
        "Complaint" | "Reject" => DeliveryStatus::Failed,
        "Open" => DeliveryStatus::Opened,
        "Click" => DeliveryStatus::Clicked,
        _ => return None,
    };
    let id = m["mail"]["commonHeaders"]["messageId"]
        .as_str()?
        .to_string();
    let detail = m["bounce"]["bounceType"]
        .as_str()
        .map(|t| format!("bounce: {t}"));
    Some((id, status, detail))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_string_to_sign_follows_the_sns_field_order() {
        let m = json!({"Type": "Notification", "MessageId": "m", "TopicArn": "t", "Message": "hi", "Timestamp": "ts", "Signature": "x"});
        assert_eq!(
            string_to_sign(&m).unwrap(),
            "Message\nhi\nMessageId\nm\nTimestamp\nts\nTopicArn\nt\nType\nNotification\n"
        );
        assert!(string_to_sign(&json!({"Type": "Other"})).is_none());
    }

    #[test]
    fn ses_notifications_map_to_statuses() {
        let msg = json!({"notificationType": "Bounce", "bounce": {"bounceType": "Permanent"},
                         "mail": {"commonHeaders": {"messageId": "<abc@herald>"}}})
        .to_string();
        assert_eq!(
            ses_status(&msg),
            Some((
                "<abc@herald>".into(),
                DeliveryStatus::Bounced,
                Some("bounce: Permanent".into())
            ))
        );
    }

    #[test]
    fn a_message_signed_by_another_key_does_not_verify() {
        let m = json!({"Type": "Notification", "MessageId": "m", "TopicArn": "t", "Message": "hi",
                       "Timestamp": "ts", "SignatureVersion": "2", "Signature": "AAAA"});
        assert!(!verify(
            &m,
            include_str!("../../../tests/fixtures/sns_cert.pem")
        ));
        assert!(!verify(&m, "not a certificate"));
    }
}
