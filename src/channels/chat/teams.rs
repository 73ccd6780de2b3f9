//! Microsoft Teams incoming webhooks and Workflows: an Adaptive Card in a
//! message attachment. Pure: the payload, and what an answer means.

use super::transport::{excerpt, transient, Answer};
use crate::channels::{ProviderError, Sent};
use crate::domain::ChatContent;
use serde_json::{json, Value};

const CARD_TYPE: &str = "application/vnd.microsoft.card.adaptive";

/// The message: the template's `teams.card` when it has one, else a card
/// with the title and body as TextBlocks and an Action.OpenUrl to the link.
pub fn format(content: &ChatContent, link: Option<&str>) -> Value {
    let card = match &content.part {
        Some(card) => card.clone(),
        None => {
            let mut body = vec![];
            if !content.title.trim().is_empty() {
                body.push(json!({"type": "TextBlock", "text": content.title, "weight": "Bolder", "size": "Medium", "wrap": true}));
            }
            if !content.body.trim().is_empty() {
                body.push(json!({"type": "TextBlock", "text": content.body, "wrap": true}));
            }
            let mut card = json!({
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
            });
            if let (Some(url), Some(obj)) = (link, card.as_object_mut()) {
                obj.insert(
                    "actions".into(),
                    json!([{"type": "Action.OpenUrl", "title": "Open", "url": url}]),
                );
            }
            card
        }
    };
    json!({
        "type": "message",
        "attachments": [{"contentType": CARD_TYPE, "contentUrl": null, "content": card}]
    })
}

/// 2xx is sent, except that the older Office 365 connectors answer 200 with
/// a text that reports a throttle ("…returned HTTP error 429…"): retried.
pub fn classify(answer: &Answer) -> Result<Sent, ProviderError> {
    if let Some(e) = transient(answer, None) {
        return Err(e);
    }
    match answer.status {
        200..=299 if answer.body.contains("HTTP error 429") => Err(ProviderError::Retryable {
            reason: "teams: throttled".into(),
            retry_after: answer.retry_after,
        }),
        200..=299 => Ok(Sent::default()),
        status => {
            let body: Option<Value> = serde_json::from_str(&answer.body).ok();
            let message = body
                .as_ref()
                .and_then(|b| b.pointer("/error/message").or(b.get("message")))
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| excerpt(&answer.body).to_string());
            Err(ProviderError::Permanent(format!(
                "teams HTTP {status}: {message}"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_card_has_text_blocks_and_an_open_url_action() {
        let c = ChatContent {
            title: "Booked".into(),
            body: "Row B".into(),
            action_url: None,
            part: None,
            rule: None,
        };
        let msg = format(&c, Some("https://x.example/1"));
        assert_eq!(msg["attachments"][0]["contentType"], CARD_TYPE);
        let card = &msg["attachments"][0]["content"];
        assert_eq!(card["type"], "AdaptiveCard");
        assert_eq!(card["body"][0]["text"], "Booked");
        assert_eq!(card["body"][1]["text"], "Row B");
        assert_eq!(card["actions"][0]["type"], "Action.OpenUrl");
        let no_link = format(&c, None);
        assert!(no_link["attachments"][0]["content"]
            .get("actions")
            .is_none());
    }

    #[test]
    fn a_throttle_reported_inside_a_200_is_retried() {
        let a = |status, body: &str| Answer {
            status,
            retry_after: None,
            body: body.into(),
        };
        assert!(classify(&a(200, "1")).is_ok());
        assert!(classify(&a(202, "")).is_ok());
        assert!(matches!(
            classify(&a(
                200,
                "Microsoft Teams endpoint returned HTTP error 429 with ContextId x"
            )),
            Err(ProviderError::Retryable { .. })
        ));
        assert!(matches!(
            classify(&a(400, "Bad payload")),
            Err(ProviderError::Permanent(_))
        ));
    }
}
