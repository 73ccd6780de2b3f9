//! The payload and every APNs answer, through the `ApnsSender` trait.
use super::*;
use std::sync::Mutex;

fn content() -> PushMessage<'static> {
    static DATA: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    PushMessage {
        title: "Booking confirmed",
        body: "Inception, 8 PM",
        data: Some(DATA.get_or_init(|| json!({"k": "v"}))),
        action_url: Some("/bookings/1"),
        notification_id: Some("0197d8a2-0000-7000-8000-000000000001".into()),
        category: "booking",
        urgent: true,
    }
}

#[test]
fn the_payload_has_alert_badge_sound_thread_and_herald_data() {
    let c = content();
    let p = format("devtoken", "com.example.tickets", &c, 3).unwrap();
    let j = p.json();
    assert_eq!(j["aps"]["alert"]["title"], "Booking confirmed");
    assert_eq!(j["aps"]["alert"]["body"], "Inception, 8 PM");
    assert_eq!(j["aps"]["badge"], 3);
    assert_eq!(j["aps"]["sound"], "default");
    assert_eq!(j["aps"]["thread-id"], "booking");
    assert_eq!(j["herald"]["action_url"], "/bookings/1");
    assert_eq!(
        j["herald"]["notification_id"],
        "0197d8a2-0000-7000-8000-000000000001"
    );
    assert!(p.priority_high());
    assert_eq!(p.get_options().apns_topic, Some("com.example.tickets"));
    assert!(p.get_options().apns_collapse_id.is_some());
}

fn rejection(code: u16, reason: ErrorReason) -> Result<a2::Response, a2::Error> {
    Err(a2::Error::ResponseError(a2::Response {
        error: Some(a2::ErrorBody {
            reason,
            timestamp: None,
        }),
        apns_id: None,
        code,
    }))
}

/// A sender that answers from a script, as APNs would.
struct Scripted(Mutex<Vec<Result<a2::Response, a2::Error>>>);

impl ApnsSender for Scripted {
    fn send<'a>(&'a self, _: ApnsPayload<'a>) -> BoxFuture<'a, Result<a2::Response, a2::Error>> {
        let next = self.0.lock().unwrap().remove(0);
        Box::pin(async move { next })
    }
}

#[test]
fn both_token_and_certificate_auth_build_clients() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cert = include_str!("../../../../tests/fixtures/sns_cert.pem");
    let key = include_str!("../../../../tests/fixtures/rs256_private.pem");
    assert!(client_from_certificate(cert, key, true).is_ok());
    assert!(client("not a key", "KEYID", "TEAMID", true).is_err());
}

#[tokio::test]
async fn every_apns_answer_maps_through_the_sender_trait() {
    let ok = Ok(a2::Response {
        error: None,
        apns_id: Some("apns-1".into()),
        code: 200,
    });
    let apns = Apns {
        sender: Box::new(Scripted(Mutex::new(vec![
            ok,
            rejection(410, ErrorReason::Unregistered),
            rejection(400, ErrorReason::BadDeviceToken),
            rejection(429, ErrorReason::TooManyRequests),
            rejection(503, ErrorReason::ServiceUnavailable),
            rejection(400, ErrorReason::PayloadTooLarge),
        ]))),
        topic: "com.example".into(),
    };
    let c = content();
    assert_eq!(
        apns.send("t", &c, 0)
            .await
            .unwrap()
            .provider_message_id
            .as_deref(),
        Some("apns-1")
    );
    assert!(matches!(
        apns.send("t", &c, 0).await,
        Err(ProviderError::InvalidToken(_))
    ));
    assert!(matches!(
        apns.send("t", &c, 0).await,
        Err(ProviderError::InvalidToken(_))
    ));
    assert!(matches!(
        apns.send("t", &c, 0).await,
        Err(ProviderError::Retryable { .. })
    ));
    assert!(matches!(
        apns.send("t", &c, 0).await,
        Err(ProviderError::Retryable { .. })
    ));
    assert!(matches!(
        apns.send("t", &c, 0).await,
        Err(ProviderError::Permanent(_))
    ));
}
