//! AWS SES status through SNS: the message signature is checked against the
//! signing certificate, which is fetched only from allow-listed URLs.
//! SubscriptionConfirmation is handled by visiting SubscribeURL (also
//! allow-listed) once the signature holds.

use crate::domain::DeliveryStatus;
use base64::Engine;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use serde_json::Value;
use x509_cert::der::{DecodePem, Encode};

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

/// Whether `url` starts with one of the allowed prefixes.
pub fn allowed(url: &str, prefixes: &[String]) -> bool {
    prefixes.iter().any(|p| url.starts_with(p.as_str()))
}

/// Checks the message's signature with the certificate (PEM). SignatureVersion 1 is
/// SHA1withRSA, 2 is SHA256withRSA.
pub fn verify(msg: &Value, cert_pem: &str) -> bool {
    let (Some(text), Some(sig_b64)) = (string_to_sign(msg), msg["Signature"].as_str()) else {
        return false;
    };
    let Ok(sig_bytes) = base64::engine::general_purpose::STANDARD.decode(sig_b64) else {
        return false;
    };
    let Ok(cert) = x509_cert::Certificate::from_pem(cert_pem.as_bytes()) else {
        return false;
    };
    let Ok(spki) = cert.tbs_certificate.subject_public_key_info.to_der() else {
        return false;
    };
    let Ok(key) = rsa::RsaPublicKey::from_public_key_der(&spki) else {
        return false;
    };
    let Ok(sig) = Signature::try_from(sig_bytes.as_slice()) else {
        return false;
    };
    match msg["SignatureVersion"].as_str() {
        Some("2") => VerifyingKey::<sha2::Sha256>::new(key)
            .verify(text.as_bytes(), &sig)
            .is_ok(),
        Some("1") => VerifyingKey::<sha1::Sha1>::new(key)
            .verify(text.as_bytes(), &sig)
            .is_ok(),
        _ => false,
    }
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
    fn certificate_urls_must_be_allow_listed() {
        let allow = vec!["https://sns.eu-west-1.amazonaws.com/".to_string()];
        assert!(allowed(
            "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-x.pem",
            &allow
        ));
        assert!(!allowed(
            "https://evil.example/sns.eu-west-1.amazonaws.com/x.pem",
            &allow
        ));
    }
}
