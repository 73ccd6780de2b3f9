//! `herald send USER …`: one `POST /send` to a running server, and its outcome
//! per channel.

use super::client::{Client, Target};
use crate::config::Settings;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

#[derive(clap::Args, Debug)]
pub struct SendArgs {
    /// The user to notify (created when seen for the first time).
    pub user: String,
    #[arg(long)]
    pub title: Option<String>,
    #[arg(long)]
    pub body: Option<String>,
    /// Channels, comma-separated (in_app, email, sms, push, web_push, slack, discord, teams); default in_app.
    #[arg(long = "channel", value_delimiter = ',')]
    pub channels: Vec<String>,
    #[arg(long)]
    pub category: Option<String>,
    /// low, normal, high or critical (or 1-10).
    #[arg(long)]
    pub priority: Option<String>,
    /// Idempotency key: a repeat returns the original outcome and sends nothing.
    #[arg(long)]
    pub request_id: Option<String>,
    /// A JSON object stored with the notification.
    #[arg(long)]
    pub data: Option<String>,
    #[command(flatten)]
    pub target: Target,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("--data is not a JSON object: {0}")]
    BadData(String),
    #[error("give --title or --body (or both)")]
    NoText,
}

/// The answer of `POST /send`, as far as the command line shows it.
#[derive(Debug, Deserialize)]
pub struct SendAnswer {
    pub notification_id: Option<uuid::Uuid>,
    pub request_id: Option<String>,
    pub status: String,
    #[serde(default)]
    pub duplicate: bool,
    pub seq: Option<i64>,
    #[serde(default)]
    pub channels: BTreeMap<String, String>,
}

pub async fn run(args: SendArgs, settings: &Settings) -> anyhow::Result<()> {
    let body = request_body(&args)?;
    let client = Client::new(&args.target, settings)?;
    let answer = client.post("send", &body).await?;
    let answer: SendAnswer = serde_json::from_value(answer)
        .map_err(|e| anyhow::anyhow!("unexpected answer to POST /send: {e}"))?;
    print!("{}", render(&answer));
    Ok(())
}

/// The `/send` body: only what was given, so the server's defaults apply.
pub fn request_body(args: &SendArgs) -> Result<Value, SendError> {
    if args.title.is_none() && args.body.is_none() {
        return Err(SendError::NoText);
    }
    let mut body = Map::new();
    body.insert("user_id".into(), json!(args.user));
    let mut put = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            body.insert(k.into(), json!(v));
        }
    };
    put("title", &args.title);
    put("body", &args.body);
    put("category", &args.category);
    put("priority", &args.priority);
    put("request_id", &args.request_id);
    if !args.channels.is_empty() {
        body.insert("channels".into(), json!(args.channels));
    }
    if let Some(raw) = &args.data {
        let data: Value =
            serde_json::from_str(raw).map_err(|e| SendError::BadData(e.to_string()))?;
        if !data.is_object() {
            return Err(SendError::BadData("expected {…}".into()));
        }
        body.insert("data".into(), data);
    }
    Ok(Value::Object(body))
}

/// One header line, then one line per channel.
pub fn render(a: &SendAnswer) -> String {
    let mut out = match a.notification_id {
        Some(id) => format!("notification {id}"),
        None => "no in-app notification".to_string(),
    };
    if let Some(seq) = a.seq {
        out.push_str(&format!(" (seq {seq})"));
    }
    out.push_str(&format!(": {}", a.status));
    if a.duplicate {
        let id = a.request_id.as_deref().unwrap_or("?");
        out.push_str(&format!(
            " — request id {id} was sent before; this is its original outcome, nothing new was sent"
        ));
    }
    out.push('\n');
    let width = a.channels.keys().map(String::len).max().unwrap_or(0);
    for (channel, outcome) in &a.channels {
        out.push_str(&format!("  {channel:<width$}  {outcome}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(v: Value) -> SendAnswer {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn the_outcome_reads_one_line_per_channel() {
        let a = answer(
            json!({"notification_id": "0193a4f2-0000-7000-8000-000000000001", "request_id": null,
            "status": "accepted", "duplicate": false, "seq": 3, "channels": {"in_app": "accepted", "email": "skipped"}}),
        );
        assert_eq!(
            render(&a),
            "notification 0193a4f2-0000-7000-8000-000000000001 (seq 3): accepted\n  email   skipped\n  in_app  accepted\n"
        );
    }

    #[test]
    fn a_duplicate_says_nothing_new_was_sent() {
        let a = answer(
            json!({"notification_id": null, "request_id": "r1", "status": "accepted",
            "duplicate": true, "seq": null, "channels": {"sms": "queued"}}),
        );
        let text = render(&a);
        assert!(
            text.starts_with("no in-app notification: accepted — request id r1 was sent before")
        );
        assert!(text.ends_with("  sms  queued\n"));
    }

    #[test]
    fn data_must_be_a_json_object() {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct T {
            #[command(flatten)]
            a: SendArgs,
        }
        let parse = |extra: &[&str]| {
            let mut argv = vec!["t", "u1", "--title", "Hi", "--channel", "in_app,email"];
            argv.extend_from_slice(extra);
            request_body(&T::try_parse_from(argv).unwrap().a)
        };
        assert!(matches!(
            parse(&["--data", "[1]"]),
            Err(SendError::BadData(_))
        ));
        let body = parse(&["--data", r#"{"k":1}"#]).unwrap();
        assert_eq!(body["channels"], json!(["in_app", "email"]));
        assert_eq!(body["data"], json!({"k": 1}));
        assert!(body.get("body").is_none());
    }
}
