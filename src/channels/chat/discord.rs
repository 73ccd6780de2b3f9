//! Discord webhooks. Pure: the payload, and what an answer means.

use super::transport::{excerpt, seconds, transient, Answer};
use crate::channels::{ProviderError, Sent};
use crate::domain::ChatContent;
use serde_json::{json, Value};

/// Discord's limits on an embed's title and description.
const MAX_TITLE_CHARS: usize = 256;
const MAX_DESCRIPTION_CHARS: usize = 4096;

/// The message: the template's `discord.embeds` when it has them, else one
/// embed with title, description and url. Mentions are never parsed, so a
/// value cannot ping `@everyone`.
pub fn format(content: &ChatContent, link: Option<&str>) -> Value {
    let embeds = match &content.part {
        Some(embeds) => embeds.clone(),
        None => {
            let mut embed = serde_json::Map::new();
            let title = content.title.trim();
            if !title.is_empty() {
                embed.insert("title".into(), json!(cut(title, MAX_TITLE_CHARS)));
            }
            let body = content.body.trim();
            if !body.is_empty() {
                embed.insert(
                    "description".into(),
                    json!(cut(body, MAX_DESCRIPTION_CHARS)),
                );
            }
            if let Some(url) = link {
                embed.insert("url".into(), json!(url));
            }
            json!([embed])
        }
    };
    json!({"embeds": embeds, "allowed_mentions": {"parse": []}})
}

fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// 2xx is sent. A 429 waits for the longer of `Retry-After` and the body's
/// `retry_after` (fractional seconds). Other 4xx (unknown webhook, bad token,
/// invalid form body) are permanent.
pub fn classify(answer: &Answer) -> Result<Sent, ProviderError> {
    let body: Option<Value> = serde_json::from_str(&answer.body).ok();
    let in_body = body
        .as_ref()
        .and_then(|b| b.get("retry_after"))
        .and_then(|v| {
            v.as_f64()
                .map(|f| f.to_string())
                .or(v.as_str().map(str::to_string))
        })
        .and_then(|s| seconds(&s));
    let wait = match (answer.retry_after, in_body) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    if let Some(e) = transient(answer, wait) {
        return Err(e);
    }
    match answer.status {
        200..=299 => Ok(Sent {
            provider_message_id: body
                .as_ref()
                .and_then(|b| b.get("id"))
                .and_then(Value::as_str)
                .map(str::to_string),
        }),
        status => {
            let message = body
                .as_ref()
                .and_then(|b| b.get("message"))
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| excerpt(&answer.body).to_string());
            Err(ProviderError::Permanent(format!(
                "discord HTTP {status}: {message}"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_default_message_is_one_embed_and_never_mentions_anyone() {
        let c = ChatContent {
            title: "t".repeat(300),
            body: "@everyone look".into(),
            action_url: None,
            part: None,
            rule: None,
        };
        let msg = format(&c, Some("https://x.example/1"));
        assert_eq!(
            msg["embeds"][0]["title"]
                .as_str()
                .map(|t| t.chars().count()),
            Some(256)
        );
        assert_eq!(msg["embeds"][0]["description"], "@everyone look");
        assert_eq!(msg["embeds"][0]["url"], "https://x.example/1");
        assert_eq!(msg["allowed_mentions"], json!({"parse": []}));
        let mut own = c.clone();
        own.part = Some(json!([{"title": "mine"}]));
        assert_eq!(format(&own, None)["embeds"], json!([{"title": "mine"}]));
    }

    #[test]
    fn a_429_waits_for_the_longer_of_the_header_and_the_body() {
        let a = Answer {
            status: 429,
            retry_after: Some(Duration::from_secs(1)),
            body: r#"{"message":"You are being rate limited.","retry_after":2.5,"global":false}"#
                .into(),
        };
        assert!(matches!(
            classify(&a),
            Err(ProviderError::Retryable { retry_after: Some(d), .. }) if d == Duration::from_millis(2500)
        ));
        let unknown = Answer {
            status: 404,
            retry_after: None,
            body: r#"{"message":"Unknown Webhook","code":10015}"#.into(),
        };
        assert_eq!(
            classify(&unknown).err(),
            Some(ProviderError::Permanent(
                "discord HTTP 404: Unknown Webhook".into()
            ))
        );
        let ok = Answer {
            status: 204,
            ..Answer::default()
        };
        assert!(classify(&ok).is_ok());
    }
}
