//! FCM HTTP v1 (Android, web, and iOS apps that use FCM). The legacy `fcm`
//! crate speaks an API Google shut down, so this is a small client over reqwest
//! with OAuth2 service-account tokens from `gcp_auth` (cached until expiry).
//! Base URL and token URI are configurable, so tests run the whole path
//! against local servers.

use super::PushMessage;
use crate::channels::ProviderError;
use gcp_auth::TokenProvider;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::Duration;

pub const FCM_SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";

/// The `message` for one device. Pure. FCM `data` values must be strings.
pub fn fcm_message(token: &str, platform: &str, m: &PushMessage) -> Value {
    let mut data: Map<String, Value> = m
        .data
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        Value::String(
                            v.as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| v.to_string()),
                        ),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if let Some(id) = &m.notification_id {
        data.insert("notification_id".into(), json!(id));
    }
    if let Some(url) = m.action_url {
        data.insert("action_url".into(), json!(url));
    }
    let urgent = m.urgent;
    let mut message = json!({
        "token": token,
        "notification": {"title": m.title, "body": m.body},
        "data": data,
    });
    match platform {
        "android" => {
            message["android"] = json!({"priority": if urgent { "high" } else { "normal" }})
        }
        "web" => {
            message["webpush"] =
                json!({"headers": {"Urgency": if urgent { "high" } else { "normal" }}})
        }
        "ios" => {
            message["apns"] = json!({"headers": {"apns-priority": if urgent { "10" } else { "5" }}})
        }
        _ => {}
    }
    json!({"message": message})
}

/// Maps an FCM answer. `UNREGISTERED`, and `INVALID_ARGUMENT` about the token, mean the token is dead.
pub fn classify(status: u16, body: &Value) -> Result<(), ProviderError> {
    let err = &body["error"];
    let code = err["status"].as_str().unwrap_or_default();
    let detail = err["details"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["errorCode"].as_str())
        .next()
        .unwrap_or_default();
    let message = err["message"].as_str().unwrap_or_default();
    match status {
        200..=299 => Ok(()),
        _ if detail == "UNREGISTERED" || code == "NOT_FOUND" => Err(ProviderError::InvalidToken(
            format!("{code} {detail}: {message}"),
        )),
        400 if code == "INVALID_ARGUMENT" && message.to_ascii_lowercase().contains("token") => {
            Err(ProviderError::InvalidToken(message.to_string()))
        }
        429 | 500..=599 => Err(ProviderError::Retryable {
            reason: format!("HTTP {status} {code}: {message}"),
            retry_after: None,
        }),
        _ => Err(ProviderError::Permanent(format!(
            "HTTP {status} {code}: {message}"
        ))),
    }
}

pub struct FcmClient {
    base_url: String,
    project_id: String,
    auth: Arc<dyn TokenProvider>,
    http: reqwest::Client,
}

impl FcmClient {
    /// `service_account_json` is the Firebase service-account key; its `token_uri` is used as is.
    pub fn new(
        base_url: &str,
        service_account_json: &str,
        http: reqwest::Client,
    ) -> Result<Self, String> {
        let sa = gcp_auth::CustomServiceAccount::from_json(service_account_json)
            .map_err(|e| format!("FCM service account: {e}"))?;
        let project_id: Value =
            serde_json::from_str(service_account_json).map_err(|e| e.to_string())?;
        let project_id = project_id["project_id"]
            .as_str()
            .ok_or("FCM service account has no project_id")?
            .to_string();
        Ok(Self {
            base_url: base_url.trim_end_matches('/').to_string(),
            project_id,
            auth: Arc::new(sa),
            http,
        })
    }

    pub(super) async fn send(
        &self,
        token: &str,
        platform: &str,
        content: &PushMessage<'_>,
    ) -> Result<String, ProviderError> {
        let access = self
            .auth
            .token(&[FCM_SCOPE])
            .await
            .map_err(|e| ProviderError::Retryable {
                reason: format!("FCM auth: {e}"),
                retry_after: None,
            })?;
        let url = format!(
            "{}/v1/projects/{}/messages:send",
            self.base_url, self.project_id
        );
        let res = self
            .http
            .post(url)
            .bearer_auth(access.as_str())
            .json(&fcm_message(token, platform, content))
            .timeout(Duration::from_secs(15))
            .send()
            .await
            .map_err(crate::channels::webhook::redact::network)?;
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        classify(status, &body)?;
        Ok(body["name"].as_str().unwrap_or_default().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_carry_platform_blocks_and_string_data() {
        let data = json!({"n": 1});
        let content = PushMessage {
            title: "T",
            body: "B",
            data: Some(&data),
            action_url: None,
            notification_id: Some("abc".into()),
            category: "general",
            urgent: true,
        };
        let m = fcm_message("tok", "android", &content);
        assert_eq!(m["message"]["token"], "tok");
        assert_eq!(m["message"]["android"]["priority"], "high");
        assert_eq!(m["message"]["data"]["n"], "1");
        assert_eq!(m["message"]["data"]["notification_id"], "abc");
        assert_eq!(
            fcm_message(
                "t",
                "web",
                &PushMessage {
                    urgent: false,
                    ..content.clone()
                }
            )["message"]["webpush"]["headers"]["Urgency"],
            "normal"
        );
    }

    #[test]
    fn fcm_errors_are_classified() {
        assert!(classify(200, &json!({})).is_ok());
        let unreg =
            json!({"error": {"status": "NOT_FOUND", "details": [{"errorCode": "UNREGISTERED"}]}});
        assert!(matches!(
            classify(404, &unreg),
            Err(ProviderError::InvalidToken(_))
        ));
        let bad = json!({"error": {"status": "INVALID_ARGUMENT", "message": "The registration token is not a valid FCM registration token"}});
        assert!(matches!(
            classify(400, &bad),
            Err(ProviderError::InvalidToken(_))
        ));
        assert!(matches!(
            classify(503, &json!({})),
            Err(ProviderError::Retryable { .. })
        ));
        assert!(matches!(
            classify(403, &json!({"error": {"status": "PERMISSION_DENIED"}})),
            Err(ProviderError::Permanent(_))
        ));
    }
}
