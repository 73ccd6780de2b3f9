//! Outbound webhooks signed per the Standard Webhooks spec: headers
//! `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`
//! over `{id}.{timestamp}.{body}`, keyed by the base64 part of a `whsec_` secret.

use super::{Provider, ProviderError, Sent};
use crate::domain::DeliveryContent;
use crate::persistence::deliveries::Delivery;
use crate::persistence::webhooks;
use base64::Engine;
use futures_util::future::BoxFuture;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sea_orm::DatabaseConnection;

use sha2::Sha256;
use std::net::IpAddr;
use std::time::Duration;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

pub fn new_secret() -> String {
    let mut key = [0u8; 24];
    rand::rng().fill_bytes(&mut key);
    format!("whsec_{}", B64.encode(key))
}

/// The `webhook-signature` value for a message. Pure.
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &str) -> Result<String, String> {
    let key = B64
        .decode(secret.trim_start_matches("whsec_"))
        .map_err(|e| format!("bad secret: {e}"))?;
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).map_err(|e| e.to_string())?;
    mac.update(format!("{msg_id}.{timestamp}.{body}").as_bytes());
    Ok(format!("v1,{}", B64.encode(mac.finalize().into_bytes())))
}

/// Whether an address is one a webhook must not reach: loopback, private,
/// link-local (cloud metadata lives at 169.254.169.254), unspecified, multicast, CGNAT.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || o[0] == 0
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00
                || (seg[0] & 0xffc0) == 0xfe80
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| is_private(IpAddr::V4(v4)))
        }
    }
}

/// Resolves the URL's host and refuses private targets unless allowed.
pub async fn check_url(url: &str, allow_private: bool) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("invalid URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("the URL must be http or https".into());
    }
    let host = parsed
        .host_str()
        .ok_or("the URL has no host")?
        .trim_matches(['[', ']'])
        .to_string();
    let port = parsed.port_or_known_default().unwrap_or(443);
    if allow_private {
        return Ok(());
    }
    let addrs: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| format!("cannot resolve {host}: {e}"))?
            .map(|s| s.ip())
            .collect(),
    };
    if addrs.is_empty() || addrs.iter().any(|ip| is_private(*ip)) {
        return Err(format!("{host} resolves to a private, loopback, link-local or metadata address; set HERALD_WEBHOOK_ALLOW_PRIVATE=true to allow it"));
    }
    Ok(())
}

pub struct WebhookProvider {
    db: DatabaseConnection,
    http: reqwest::Client,
    allow_private: bool,
}

impl WebhookProvider {
    pub fn new(db: DatabaseConnection, http: reqwest::Client, allow_private: bool) -> Self {
        Self {
            db,
            http,
            allow_private,
        }
    }

    /// From `HERALD_WEBHOOK_ALLOW_PRIVATE`.
    pub fn from_settings(
        settings: &crate::config::Settings,
        db: &DatabaseConnection,
    ) -> Result<Self, super::start::SetupError> {
        Ok(Self::new(
            db.clone(),
            super::start::http_client()?,
            settings.webhook_allow_private,
        ))
    }

    async fn deliver(&self, delivery: &Delivery) -> Result<Sent, ProviderError> {
        let DeliveryContent::Webhook(content) = &delivery.content else {
            return Err(ProviderError::Unsendable(format!(
                "{} content on the webhook channel",
                delivery.channel
            )));
        };
        let endpoint_id = content.endpoint;
        let store = |e: crate::persistence::StoreError| ProviderError::Retryable {
            reason: e.to_string(),
            retry_after: None,
        };
        let endpoint = webhooks::get(&self.db, endpoint_id)
            .await
            .map_err(store)?
            .ok_or_else(|| ProviderError::Unsendable("endpoint deleted".into()))?;
        if !endpoint.enabled {
            return Err(ProviderError::Unsendable(format!(
                "endpoint disabled: {}",
                endpoint.disabled_reason.unwrap_or_default()
            )));
        }
        // Checked at send time too: DNS can change after the endpoint was saved.
        check_url(&endpoint.url, self.allow_private)
            .await
            .map_err(ProviderError::Unsendable)?;
        let body = content.payload.to_string();
        let msg_id = format!("msg_{}", delivery.id.simple());
        let ts = chrono::Utc::now().timestamp();
        let signature =
            sign(&endpoint.secret, &msg_id, ts, &body).map_err(ProviderError::Unsendable)?;
        let res = self
            .http
            .post(&endpoint.url)
            .header("content-type", "application/json")
            .header("webhook-id", &msg_id)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        let outcome = match res {
            Err(e) => Err(ProviderError::network(e)),
            Ok(r) => {
                let status = r.status().as_u16();
                let excerpt: String = r
                    .text()
                    .await
                    .unwrap_or_default()
                    .chars()
                    .take(200)
                    .collect();
                match status {
                    200..=299 => Ok(Sent {
                        provider_message_id: Some(msg_id.clone()),
                    }),
                    408 | 429 | 500..=599 => Err(ProviderError::Retryable {
                        reason: format!("HTTP {status}: {excerpt}"),
                        retry_after: None,
                    }),
                    _ => Err(ProviderError::Permanent(format!(
                        "HTTP {status}: {excerpt}"
                    ))),
                }
            }
        };
        // The endpoint's own bookkeeping must not change what the send came to:
        // turning a 2xx into a retry would post it again.
        match &outcome {
            Ok(_) => {
                if let Err(e) = webhooks::record_success(&self.db, endpoint_id).await {
                    tracing::warn!(endpoint = %endpoint_id, error = %e, "could not record a webhook success");
                }
            }
            Err(failure) => {
                match webhooks::record_failure(&self.db, endpoint_id, &failure.to_string()).await {
                    Ok(true) => {
                        tracing::warn!(endpoint = %endpoint_id, "webhook endpoint disabled after repeated failures")
                    }
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(endpoint = %endpoint_id, error = %e, "could not record a webhook failure")
                    }
                }
            }
        }
        outcome
    }
}

impl Provider for WebhookProvider {
    fn name(&self) -> &'static str {
        "webhook"
    }

    /// One breaker per endpoint: one customer's failing endpoint defers only its own deliveries.
    fn breaker_key(&self, delivery: &Delivery) -> Option<String> {
        match &delivery.content {
            DeliveryContent::Webhook(w) => Some(format!("webhook:{}", w.endpoint)),
            _ => None,
        }
    }

    fn send<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<Sent, ProviderError>> {
        use tracing::Instrument;
        let span = tracing::info_span!("webhook_send", delivery = %delivery.id);
        Box::pin(async move { self.deliver(delivery).await }.instrument(span))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_spec_example() {
        // The example from the Standard Webhooks specification.
        let sig = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn private_and_metadata_addresses_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.4",
            "169.254.169.254",
            "::1",
            "fd00::1",
            "100.64.0.1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:2800:220:1::1"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }
}
