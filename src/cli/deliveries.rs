//! `herald deliveries show ID`: one delivery, its attempts and the provider's
//! answers, read from the database like `herald api-key list`.

use crate::config::Settings;
use crate::persistence::{self, deliveries};
use entity::{deliveries as d, delivery_attempts as a};
use sea_orm::EntityTrait;
use serde_json::{json, Value};

#[derive(clap::Subcommand, Debug)]
pub enum DeliveriesCommand {
    /// Show a delivery: status, content, every attempt and the provider's answers.
    Show {
        id: String,
        /// Print the same JSON as the API's delivery status.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ShowError {
    #[error("'{0}' is not a delivery id (a UUID)")]
    BadId(String),
    #[error("no delivery {0}")]
    NotFound(uuid::Uuid),
}

pub async fn run(cmd: DeliveriesCommand, settings: &Settings) -> anyhow::Result<()> {
    let DeliveriesCommand::Show { id, json } = cmd;
    let id = uuid::Uuid::parse_str(id.trim()).map_err(|_| ShowError::BadId(id.clone()))?;
    let db = persistence::connect(&settings.database_url()).await?;
    let row = d::Entity::find_by_id(id)
        .one(&db)
        .await?
        .ok_or(ShowError::NotFound(id))?;
    let attempts = deliveries::attempts(&db, id).await?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&as_json(&row, &attempts))?
        );
    } else {
        print!("{}", render(&row, &attempts));
    }
    Ok(())
}

/// Stored content is JSON; shown as text if it somehow is not.
fn content(row: &d::Model) -> Value {
    serde_json::from_str(&row.content).unwrap_or_else(|_| Value::String(row.content.clone()))
}

pub fn as_json(row: &d::Model, attempts: &[a::Model]) -> Value {
    json!({
        "id": row.id, "channel": row.channel, "user_id": row.user_id, "status": row.status,
        "notification_id": row.notification_id, "event_id": row.event_id, "request_id": row.request_id,
        "rule_id": row.rule_id, "endpoint_id": row.endpoint_id,
        "template_code": row.template_code, "template_version": row.template_version,
        "category": row.category, "priority": row.priority, "content": content(row),
        "attempts": row.attempts, "next_attempt_at": row.next_attempt_at, "last_error": row.last_error,
        "provider_message_id": row.provider_message_id, "created_at": row.created_at, "updated_at": row.updated_at,
        "attempts_history": attempts.iter().map(|a| json!({
            "attempt": a.attempt, "outcome": a.outcome, "error": a.error,
            "provider_message_id": a.provider_message_id, "latency_ms": a.latency_ms, "at": a.created_at,
        })).collect::<Vec<_>>(),
    })
}

/// A labelled block, then the attempts oldest first.
pub fn render(row: &d::Model, attempts: &[a::Model]) -> String {
    let mut out = format!("delivery {}  {}  {}\n", row.id, row.channel, row.status);
    let mut field = |label: &str, value: Option<String>| {
        if let Some(v) = value {
            out.push_str(&format!("  {label:<13} {v}\n"));
        }
    };
    field("user", row.user_id.clone());
    field("notification", row.notification_id.map(|n| n.to_string()));
    field("event", row.event_id.clone());
    field("request id", row.request_id.clone());
    field("webhook", row.endpoint_id.map(|e| e.to_string()));
    field(
        "template",
        row.template_code
            .as_ref()
            .map(|c| match row.template_version {
                Some(v) => format!("{c} v{v}"),
                None => c.clone(),
            }),
    );
    field(
        "category",
        Some(format!("{} ({} priority)", row.category, row.priority)),
    );
    field("created", Some(row.created_at.to_rfc3339()));
    field("updated", Some(row.updated_at.to_rfc3339()));
    field(
        "attempts",
        Some(format!(
            "{} (next attempt at {})",
            row.attempts,
            row.next_attempt_at.to_rfc3339()
        )),
    );
    field("provider id", row.provider_message_id.clone());
    field("last error", row.last_error.clone());
    field("content", Some(content(row).to_string()));
    if attempts.is_empty() {
        out.push_str("history: no attempts yet\n");
        return out;
    }
    out.push_str("history:\n");
    for a in attempts {
        let mut line = format!(
            "  #{:<3} {}  {:<14} {:>6} ms",
            a.attempt,
            a.created_at.to_rfc3339(),
            a.outcome,
            a.latency_ms
        );
        if let Some(id) = &a.provider_message_id {
            line.push_str(&format!("  provider id {id}"));
        }
        if let Some(e) = &a.error {
            line.push_str(&format!("  {e}"));
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(secs: i64) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc.timestamp_opt(1_790_000_000 + secs, 0).unwrap()
    }

    fn row() -> d::Model {
        d::Model {
            id: uuid::Uuid::nil(),
            event_id: None,
            notification_id: None,
            rule_id: None,
            user_id: Some("u1".into()),
            traceparent: None,
            channel: "email".into(),
            status: "sent".into(),
            content: r#"{"to":"a@example.com"}"#.into(),
            template_code: Some("welcome".into()),
            template_version: Some(2),
            attempts: 2,
            next_attempt_at: at(0),
            last_error: None,
            provider_message_id: Some("m-1".into()),
            created_at: at(0),
            updated_at: at(9),
            lease_token: None,
            category: "general".into(),
            priority: "normal".into(),
            endpoint_id: None,
            request_id: Some("r1".into()),
        }
    }

    #[test]
    fn a_delivery_reads_as_labelled_lines_and_its_attempts() {
        let attempt = |n, outcome: &str, error: Option<&str>| a::Model {
            id: uuid::Uuid::nil(),
            delivery_id: uuid::Uuid::nil(),
            attempt: n,
            outcome: outcome.into(),
            error: error.map(str::to_string),
            provider_message_id: (outcome == "sent").then(|| "m-1".into()),
            latency_ms: 12,
            created_at: at(i64::from(n)),
        };
        let text = render(
            &row(),
            &[
                attempt(1, "retry", Some("421 try later")),
                attempt(2, "sent", None),
            ],
        );
        assert!(
            text.starts_with(
                "delivery 00000000-0000-0000-0000-000000000000  email  sent\n  user          u1\n"
            ),
            "{text}"
        );
        assert!(text.contains("  template      welcome v2\n"));
        assert!(text.contains("  request id    r1\n"));
        assert!(
            text.contains("retry              12 ms  421 try later\n"),
            "{text}"
        );
        assert!(
            text.contains("sent               12 ms  provider id m-1\n"),
            "{text}"
        );
        assert!(!text.contains("notification"));
    }

    #[test]
    fn json_keeps_the_content_as_an_object() {
        let v = as_json(&row(), &[]);
        assert_eq!(v["content"]["to"], "a@example.com");
        assert_eq!(v["attempts_history"], json!([]));
        assert!(render(&row(), &[]).ends_with("history: no attempts yet\n"));
    }
}
