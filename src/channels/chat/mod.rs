//! Slack, Discord and Microsoft Teams. One provider per service, built from
//! the `HERALD_SLACK_*` / `HERALD_CHAT_*` settings. A delivery carries the
//! words; its destination (the rule's own, else the user's) is looked up when
//! it is sent, so a webhook URL, which is a credential, never sits in the
//! outbox and a fixed destination helps the retries still pending.

pub mod discord;
pub mod slack;
pub mod teams;
pub mod transport;

use super::start::{ChannelProvider, SetupError};
use super::{Provider, ProviderError, Sent};
use crate::domain::{Channel, ChatContent, ChatDestination, DeliveryContent};
use crate::persistence::chat;
use crate::persistence::deliveries::Delivery;
use futures_util::future::BoxFuture;
use sea_orm::DatabaseConnection;
use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;
use transport::{Answer, ChatRequest, ChatTransport, HttpTransport};

/// What every chat provider shares.
#[derive(Clone)]
pub struct ChatConfig {
    pub slack_api_base_url: url::Url,
    pub slack_bot_token: Option<SecretString>,
    pub allow_http: bool,
    /// Relative action URLs are resolved against it.
    pub public_url: Option<url::Url>,
}

pub struct ChatProvider {
    service: Channel,
    db: DatabaseConnection,
    cfg: ChatConfig,
    transport: Arc<dyn ChatTransport>,
}

/// The three chat providers, sharing one HTTP transport.
pub fn providers(
    settings: &crate::config::Settings,
    db: &DatabaseConnection,
) -> Result<Vec<ChannelProvider>, SetupError> {
    let base = url::Url::parse(&settings.slack_api_base_url)
        .map_err(|e| SetupError(format!("HERALD_SLACK_API_BASE_URL: {e}")))?;
    let public_url = match &settings.public_url {
        Some(raw) => {
            Some(url::Url::parse(raw).map_err(|e| SetupError(format!("HERALD_PUBLIC_URL: {e}")))?)
        }
        None => None,
    };
    let cfg = ChatConfig {
        slack_api_base_url: base,
        slack_bot_token: settings.slack_bot_token.clone(),
        allow_http: settings.chat_allow_http,
        public_url,
    };
    let transport: Arc<dyn ChatTransport> = Arc::new(
        HttpTransport::new(
            settings.webhook_allow_private,
            settings.chat_max_response_bytes,
            Duration::from_secs(settings.chat_timeout_secs.max(1)),
        )
        .map_err(|e| SetupError(format!("cannot build the chat HTTP client: {e}")))?,
    );
    Ok(Channel::CHAT
        .into_iter()
        .map(|service| {
            let p = ChatProvider::new(service, db.clone(), cfg.clone(), transport.clone());
            (service, Arc::new(p) as Arc<dyn Provider>)
        })
        .collect())
}

impl ChatProvider {
    pub fn new(
        service: Channel,
        db: DatabaseConnection,
        cfg: ChatConfig,
        transport: Arc<dyn ChatTransport>,
    ) -> Self {
        Self {
            service,
            db,
            cfg,
            transport,
        }
    }

    /// The action URL as an absolute http(s) link, or none: chat services
    /// refuse relative ones, so those are resolved against `HERALD_PUBLIC_URL`.
    fn link(&self, content: &ChatContent) -> Option<String> {
        link(content.action_url.as_deref(), self.cfg.public_url.as_ref())
    }

    /// The request for one delivery: a webhook POST, or Slack's Web API.
    fn request(
        &self,
        content: &ChatContent,
        destination: &ChatDestination,
    ) -> Result<ChatRequest, ProviderError> {
        let link = self.link(content);
        let link = link.as_deref();
        match destination {
            ChatDestination::Webhook(url) => {
                if url.scheme() != "https" && !self.cfg.allow_http {
                    return Err(ProviderError::Unsendable(
                        "refused: chat webhooks must be https (HERALD_CHAT_ALLOW_HTTP is off)"
                            .into(),
                    ));
                }
                let body = match self.service {
                    Channel::Slack => slack::format(content, link, None),
                    Channel::Discord => discord::format(content, link),
                    _ => teams::format(content, link),
                };
                Ok(ChatRequest {
                    url: url.clone(),
                    bearer: None,
                    body,
                })
            }
            ChatDestination::SlackChannel(channel) => {
                let token = self.cfg.slack_bot_token.clone().ok_or_else(|| {
                    ProviderError::Unsendable(
                        "a Slack channel destination needs HERALD_SLACK_BOT_TOKEN".into(),
                    )
                })?;
                let url = self
                    .cfg
                    .slack_api_base_url
                    .join("/api/chat.postMessage")
                    .map_err(|e| ProviderError::Unsendable(format!("Slack API URL: {e}")))?;
                Ok(ChatRequest {
                    url,
                    bearer: Some(token),
                    body: slack::format(content, link, Some(channel)),
                })
            }
        }
    }

    fn classify(
        &self,
        destination: &ChatDestination,
        answer: &Answer,
    ) -> Result<Sent, ProviderError> {
        match (self.service, destination) {
            (Channel::Slack, ChatDestination::SlackChannel(_)) => slack::classify_api(answer),
            (Channel::Slack, _) => slack::classify_webhook(answer),
            (Channel::Discord, _) => discord::classify(answer),
            _ => teams::classify(answer),
        }
    }

    #[tracing::instrument(skip_all, fields(service = %self.service, delivery = %delivery.id))]
    async fn deliver(&self, delivery: &Delivery) -> Result<Sent, ProviderError> {
        let content = match (&delivery.content, self.service) {
            (DeliveryContent::Slack(c), Channel::Slack)
            | (DeliveryContent::Discord(c), Channel::Discord)
            | (DeliveryContent::Teams(c), Channel::Teams) => c,
            (other, service) => {
                return Err(ProviderError::Unsendable(format!(
                    "{} content on the {service} channel",
                    other.channel()
                )))
            }
        };
        let destination = chat::resolve(&self.db, delivery.user.as_ref(), content.rule, self.service)
            .await
            .map_err(|e| ProviderError::Retryable {
                reason: e.to_string(),
                retry_after: None,
            })?
            .ok_or_else(|| {
                ProviderError::Unsendable(format!(
                    "no {} destination for the user or the rule (it was removed after the message was queued)",
                    self.service
                ))
            })?;
        tracing::debug!(destination = %destination.redacted(), "sending");
        let request = self.request(content, &destination)?;
        let answer = self.transport.post(request).await?;
        self.classify(&destination, &answer)
    }
}

/// An absolute http(s) link from an action URL, resolving a relative one
/// against the public URL. Pure.
pub fn link(action_url: Option<&str>, public_url: Option<&url::Url>) -> Option<String> {
    let raw = action_url?.trim();
    let absolute = match url::Url::parse(raw) {
        Ok(u) => u,
        Err(url::ParseError::RelativeUrlWithoutBase) => public_url?.join(raw).ok()?,
        Err(_) => return None,
    };
    matches!(absolute.scheme(), "http" | "https").then(|| absolute.to_string())
}

impl Provider for ChatProvider {
    fn name(&self) -> &'static str {
        self.service.as_str()
    }

    fn send<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<Sent, ProviderError>> {
        Box::pin(self.deliver(delivery))
    }
}

#[cfg(test)]
mod tests {
    use super::link;

    #[test]
    fn links_are_absolute_http_urls_or_nothing() {
        let base = url::Url::parse("https://app.example/").ok();
        assert_eq!(
            link(Some("/bookings/1"), base.as_ref()).as_deref(),
            Some("https://app.example/bookings/1")
        );
        assert_eq!(link(Some("/bookings/1"), None), None);
        assert_eq!(
            link(Some("https://x.example/a"), None).as_deref(),
            Some("https://x.example/a")
        );
        assert_eq!(link(Some("javascript:alert(1)"), base.as_ref()), None);
        assert_eq!(link(None, base.as_ref()), None);
    }
}
