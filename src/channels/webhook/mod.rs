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
use std::time::Duration;

mod guard;
pub mod redact;
mod response;
mod ssrf;

pub use guard::{client as guarded_client, refusal, UrlError, WebhookUrl};
pub use ssrf::is_private;

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

pub struct WebhookProvider {
    db: DatabaseConnection,
    http: reqwest::Client,
    allow_private: bool,
    max_response_bytes: usize,
}

impl WebhookProvider {
    /// From `HERALD_WEBHOOK_ALLOW_PRIVATE` and `HERALD_WEBHOOK_MAX_RESPONSE_BYTES`,
    /// with its own client: the private-address guard lives in its resolver.
    pub fn from_settings(
        settings: &crate::config::Settings,
        db: &DatabaseConnection,
    ) -> Result<Self, super::start::SetupError> {
        let http = guard::client(settings.webhook_allow_private).map_err(|e| {
            super::start::SetupError(format!("cannot build the webhook HTTP client: {e}"))
        })?;
        Ok(Self {
            db: db.clone(),
            http,
            allow_private: settings.webhook_allow_private,
            max_response_bytes: settings.webhook_max_response_bytes,
        })
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
        let outcome = self.post(&endpoint, &content.payload, delivery).await;
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

    /// One signed POST. A refused target (private literal, or a name the
    /// resolver refused while connecting) fails for good without any contact.
    #[tracing::instrument(skip_all, fields(endpoint = %endpoint.id))]
    async fn post(
        &self,
        endpoint: &entity::webhook_endpoints::Model,
        payload: &serde_json::Value,
        delivery: &Delivery,
    ) -> Result<Sent, ProviderError> {
        let refused = |e: UrlError| ProviderError::Unsendable(format!("refused: {e}"));
        let url = WebhookUrl::parse(&endpoint.url).map_err(refused)?;
        url.check_literal(self.allow_private).map_err(refused)?;
        let body = payload.to_string();
        let msg_id = format!("msg_{}", delivery.id.simple());
        let ts = chrono::Utc::now().timestamp();
        let signature =
            sign(&endpoint.secret, &msg_id, ts, &body).map_err(ProviderError::Unsendable)?;
        let res = self
            .http
            .post(url.as_str())
            .header("content-type", "application/json")
            .header("webhook-id", &msg_id)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        let mut res = match res {
            Ok(r) => r,
            Err(e) => {
                return Err(match guard::refusal(&e) {
                    Some(why) => refused(why.clone()),
                    None => redact::network(e),
                })
            }
        };
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        // Read even on success, within the bound: a drained body lets the connection be reused.
        let excerpt = match status {
            300..=399 => String::new(),
            _ => response::excerpt(&mut res, self.max_response_bytes).await,
        };
        response::classify(status, location.as_deref(), &excerpt, &msg_id)
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
}
