//! Slack: incoming webhooks, or `chat.postMessage` with a bot token. Pure:
//! the payload, and what an answer means.

use super::transport::{excerpt, transient, Answer};
use crate::channels::{ProviderError, Sent};
use crate::domain::{ChatContent, SlackChannelId};
use serde_json::{json, Value};

/// Slack's limit on a section's text and on fallback text we send.
const MAX_TEXT_CHARS: usize = 3000;

/// Errors `chat.postMessage` reports that are worth trying again.
const RETRYABLE: [&str; 6] = [
    "ratelimited",
    "rate_limited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
];

/// `&`, `<` and `>` are Slack's control characters in text: escaped, a value
/// cannot mention `<!channel>` or hide a link.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The message: the template's `slack.blocks` when it has them, else a
/// section with the title in bold and the body, and a button to the link.
/// `text` is always set: it is the notification and screen-reader fallback.
pub fn format(
    content: &ChatContent,
    link: Option<&str>,
    channel: Option<&SlackChannelId>,
) -> Value {
    let fallback = match (content.title.trim(), content.body.trim()) {
        ("", body) => body.to_string(),
        (title, "") => title.to_string(),
        (title, body) => format!("{title}: {body}"),
    };
    let blocks = match &content.part {
        Some(blocks) => blocks.clone(),
        None => {
            let text = match (content.title.trim(), content.body.trim()) {
                ("", body) => escape(body),
                (title, "") => format!("*{}*", escape(title)),
                (title, body) => format!("*{}*\n{}", escape(title), escape(body)),
            };
            let mut blocks = vec![json!({
                "type": "section",
                "text": {"type": "mrkdwn", "text": cut(&text, MAX_TEXT_CHARS)}
            })];
            if let Some(url) = link {
                blocks.push(json!({
                    "type": "actions",
                    "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Open"}, "url": url}]
                }));
            }
            Value::Array(blocks)
        }
    };
    let mut msg = json!({"text": cut(&escape(&fallback), MAX_TEXT_CHARS), "blocks": blocks});
    if let (Some(c), Some(obj)) = (channel, msg.as_object_mut()) {
        obj.insert("channel".into(), json!(c.as_str()));
    }
    msg
}

fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// An incoming webhook's answer: `200 ok`, or a status with an error word
/// (`invalid_payload`, `channel_not_found`, `no_service`…) that will not change.
pub fn classify_webhook(answer: &Answer) -> Result<Sent, ProviderError> {
    if let Some(e) = transient(answer, None) {
        return Err(e);
    }
    match answer.status {
        200..=299 => Ok(Sent::default()),
        status => Err(ProviderError::Permanent(format!(
            "slack HTTP {status}: {}",
            excerpt(&answer.body)
        ))),
    }
}

/// A `chat.postMessage` answer: Slack says 200 with `{"ok": false, "error"}`
/// on failure. `ratelimited` and server-side errors are retried; the rest
/// (`channel_not_found`, `invalid_auth`, `not_in_channel`…) are permanent.
pub fn classify_api(answer: &Answer) -> Result<Sent, ProviderError> {
    if let Some(e) = transient(answer, None) {
        return Err(e);
    }
    let parsed: Option<Value> = serde_json::from_str(&answer.body).ok();
    let Some(body) = parsed.filter(|_| (200..=299).contains(&answer.status)) else {
        return Err(ProviderError::Permanent(format!(
            "slack HTTP {}: {}",
            answer.status,
            excerpt(&answer.body)
        )));
    };
    if body.get("ok").and_then(Value::as_bool) == Some(true) {
        return Ok(Sent {
            provider_message_id: body.get("ts").and_then(Value::as_str).map(str::to_string),
        });
    }
    let error = body
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or("unknown_error");
    if RETRYABLE.contains(&error) {
        Err(ProviderError::Retryable {
            reason: format!("slack: {error}"),
            retry_after: answer.retry_after,
        })
    } else {
        Err(ProviderError::Permanent(format!("slack: {error}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn content(title: &str, body: &str) -> ChatContent {
        ChatContent {
            title: title.into(),
            body: body.into(),
            action_url: None,
            part: None,
            rule: None,
        }
    }

    #[test]
    fn the_default_message_is_a_bold_title_section_and_a_button() {
        let msg = format(
            &content("Booked <!channel>", "Row B & C"),
            Some("https://x.example/b/1"),
            None,
        );
        assert_eq!(msg["text"], "Booked &lt;!channel&gt;: Row B &amp; C");
        assert_eq!(
            msg["blocks"][0]["text"]["text"],
            "*Booked &lt;!channel&gt;*\nRow B &amp; C"
        );
        assert_eq!(
            msg["blocks"][1]["elements"][0]["url"],
            "https://x.example/b/1"
        );
        assert!(msg.get("channel").is_none());
        let no_link = format(&content("T", ""), None, None);
        assert_eq!(no_link["blocks"].as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn template_blocks_are_sent_as_they_are_and_bot_mode_names_the_channel() {
        let mut c = content("T", "B");
        c.part = Some(json!([{"type": "divider"}]));
        let id = SlackChannelId::parse("C0123ABCD").ok();
        let msg = format(&c, None, id.as_ref());
        assert_eq!(msg["blocks"], json!([{"type": "divider"}]));
        assert_eq!(msg["channel"], "C0123ABCD");
        assert_eq!(msg["text"], "T: B");
    }

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            retry_after: Some(Duration::from_secs(7)),
            body: body.into(),
        }
    }

    #[test]
    fn api_errors_are_classified_by_their_error_word() {
        let ok = classify_api(&answer(200, r#"{"ok":true,"ts":"1700.01"}"#));
        assert_eq!(
            ok.ok().and_then(|s| s.provider_message_id).as_deref(),
            Some("1700.01")
        );
        assert!(matches!(
            classify_api(&answer(200, r#"{"ok":false,"error":"ratelimited"}"#)),
            Err(ProviderError::Retryable { retry_after: Some(d), .. }) if d == Duration::from_secs(7)
        ));
        for permanent in ["channel_not_found", "invalid_auth", "not_in_channel"] {
            let body = format!(r#"{{"ok":false,"error":"{permanent}"}}"#);
            assert_eq!(
                classify_api(&answer(200, &body)).err(),
                Some(ProviderError::Permanent(format!("slack: {permanent}")))
            );
        }
        assert!(matches!(
            classify_api(&answer(429, "")),
            Err(ProviderError::Retryable { .. })
        ));
        assert!(matches!(
            classify_api(&answer(200, "<html>")),
            Err(ProviderError::Permanent(_))
        ));
    }

    #[test]
    fn webhook_answers_are_ok_retried_or_permanent() {
        assert!(classify_webhook(&answer(200, "ok")).is_ok());
        assert!(matches!(
            classify_webhook(&answer(503, "")),
            Err(ProviderError::Retryable { .. })
        ));
        assert_eq!(
            classify_webhook(&answer(404, "no_service")).err(),
            Some(ProviderError::Permanent(
                "slack HTTP 404: no_service".into()
            ))
        );
    }
}
