//! `herald events publish FILE`: events from a file or stdin, one JSON object,
//! a JSON array or NDJSON, published over HTTP (`POST /events`) or to RabbitMQ
//! (the configured exchange, routing key = the event type).

use super::client::{root_cause, Client, Target};
use crate::config::Settings;
use crate::domain::Event;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::Confirmation;
use lapin::{BasicProperties, Connection, ConnectionProperties};
use secrecy::ExposeSecret;
use serde_json::Value;
use std::io::Read;
use std::path::PathBuf;

#[derive(clap::Subcommand, Debug)]
pub enum EventsCommand {
    /// Publish events from FILE (`-` for stdin): a JSON object, an array, or one object per line.
    Publish(PublishArgs),
}

#[derive(clap::Args, Debug)]
pub struct PublishArgs {
    pub file: PathBuf,
    /// `http` (POST /api/v1/events on a running server) or `amqp` (HERALD_AMQP_URL, HERALD_AMQP_EXCHANGE).
    #[arg(long, value_enum, default_value_t = Via::Http)]
    pub via: Via,
    #[command(flatten)]
    pub target: Target,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    Http,
    Amqp,
}

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read {0}: {1}")]
    Read(String, String),
    #[error("line {line}: not JSON: {reason}")]
    NotJson { line: usize, reason: String },
    #[error("no events in the input")]
    Empty,
    #[error("HERALD_AMQP_URL is not set: --via amqp publishes to the broker Herald consumes")]
    NoAmqpUrl,
    #[error("RabbitMQ at {url}: {reason} — is it running? set HERALD_AMQP_URL")]
    Amqp { url: String, reason: String },
}

/// Every event in the text: a whole array is flattened, anything else is one
/// event per JSON value (one object, or NDJSON).
pub fn parse_input(text: &str) -> Result<Vec<Value>, InputError> {
    let mut out = vec![];
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    for item in stream.by_ref() {
        match item {
            Ok(Value::Array(items)) => out.extend(items),
            Ok(v) => out.push(v),
            Err(e) => {
                return Err(InputError::NotJson {
                    line: e.line(),
                    reason: e.to_string(),
                })
            }
        }
    }
    if out.is_empty() {
        return Err(InputError::Empty);
    }
    Ok(out)
}

fn read_input(file: &std::path::Path) -> Result<String, InputError> {
    let name = file.display().to_string();
    let mut text = String::new();
    let read = if name == "-" {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::read_to_string(file).map(|t| text = t)
    };
    read.map_err(|e| InputError::Read(name, e.to_string()))?;
    Ok(text)
}

/// One event's result, as printed.
#[derive(Debug, PartialEq, Eq)]
pub enum Published {
    Ok { id: String, detail: String },
    Failed { label: String, reason: String },
}

impl std::fmt::Display for Published {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Ok { id, detail } => write!(f, "ok    {id}: {detail}"),
            Self::Failed { label, reason } => write!(f, "FAIL  {label}: {reason}"),
        }
    }
}

/// "3 events: 2 ok, 1 failed".
pub fn summary(results: &[Published]) -> String {
    let failed = results
        .iter()
        .filter(|r| matches!(r, Published::Failed { .. }))
        .count();
    let total = results.len();
    let noun = if total == 1 { "event" } else { "events" };
    format!("{total} {noun}: {} ok, {failed} failed", total - failed)
}

pub async fn run(cmd: EventsCommand, settings: &Settings) -> anyhow::Result<()> {
    let EventsCommand::Publish(args) = cmd;
    let events = parse_input(&read_input(&args.file)?)?;
    let mut results = Vec::with_capacity(events.len());
    match args.via {
        Via::Http => {
            let client = Client::new(&args.target, settings)?;
            for (i, event) in events.iter().enumerate() {
                let r = publish_http(&client, i, event).await;
                println!("{r}");
                results.push(r);
            }
        }
        Via::Amqp => {
            let amqp = Amqp::connect(settings).await?;
            for (i, event) in events.iter().enumerate() {
                let r = amqp.publish(i, event).await;
                println!("{r}");
                results.push(r);
            }
            amqp.close().await;
        }
    }
    let line = summary(&results);
    println!("{line}");
    anyhow::ensure!(
        results.iter().all(|r| matches!(r, Published::Ok { .. })),
        "not every event was published (see the FAIL lines above)"
    );
    Ok(())
}

/// `#3` (1-based), with the event's id when it has one.
fn label(i: usize, event: &Value) -> String {
    match ["event_id", "id", "message_id"]
        .iter()
        .find_map(|k| event.get(*k).and_then(Value::as_str))
    {
        Some(id) => format!("#{} {id}", i + 1),
        None => format!("#{}", i + 1),
    }
}

async fn publish_http(client: &Client, i: usize, event: &Value) -> Published {
    match client.post("events", event).await {
        Ok(a) => Published::Ok {
            id: a["event_id"].as_str().unwrap_or("?").to_string(),
            detail: format!(
                "{} ({} notifications, {} deliveries)",
                a["status"].as_str().unwrap_or("?"),
                a["notifications"].as_u64().unwrap_or(0),
                a["deliveries"].as_u64().unwrap_or(0)
            ),
        },
        Err(e) => Published::Failed {
            label: label(i, event),
            reason: e.to_string(),
        },
    }
}

struct Amqp {
    conn: Connection,
    channel: lapin::Channel,
    exchange: String,
}

impl Amqp {
    async fn connect(settings: &Settings) -> Result<Self, InputError> {
        let url = settings
            .amqp_url
            .as_ref()
            .ok_or(InputError::NoAmqpUrl)?
            .expose_secret()
            .to_string();
        let err = |e: lapin::Error| InputError::Amqp {
            url: super::doctor::mask_url(&url),
            reason: root_cause(&e),
        };
        let conn = Connection::connect(&url, ConnectionProperties::default())
            .await
            .map_err(err)?;
        let channel = conn.create_channel().await.map_err(err)?;
        // Confirms, so "ok" means the broker took the message.
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(err)?;
        Ok(Self {
            conn,
            channel,
            exchange: settings.amqp_exchange.clone(),
        })
    }

    #[tracing::instrument(skip_all)]
    async fn publish(&self, i: usize, event: &Value) -> Published {
        let body = event.to_string();
        // The same reading Herald gives it, so a bad event fails here, not as a dead letter.
        let parsed = match Event::normalise(body.as_bytes(), None) {
            Ok(p) => p,
            Err(e) => {
                return Published::Failed {
                    label: label(i, event),
                    reason: e.to_string(),
                }
            }
        };
        let props = BasicProperties::default()
            .with_content_type("application/json".into())
            .with_delivery_mode(2);
        // `mandatory`: a message no queue is bound for comes back instead of vanishing.
        let options = BasicPublishOptions {
            mandatory: true,
            ..Default::default()
        };
        let sent = self
            .channel
            .basic_publish(
                self.exchange.as_str().into(),
                parsed.event_type.as_str().into(),
                options,
                body.as_bytes(),
                props,
            )
            .await;
        let confirm = match sent {
            Ok(c) => c.await,
            Err(e) => Err(e),
        };
        let failed = |reason: String| Published::Failed {
            label: label(i, event),
            reason,
        };
        match confirm {
            Ok(Confirmation::Ack(None)) => Published::Ok {
                id: parsed.id,
                detail: format!(
                    "published to {} with routing key {}",
                    self.exchange, parsed.event_type
                ),
            },
            Ok(Confirmation::Ack(Some(_))) => failed(format!(
                "no queue is bound to {} for routing key {}; start `herald serve` with HERALD_AMQP_URL first",
                self.exchange, parsed.event_type
            )),
            Ok(_) => failed("the broker refused the message".into()),
            Err(e) => failed(root_cause(&e)),
        }
    }

    async fn close(self) {
        let _ = self.channel.close(200, "done".into()).await;
        let _ = self.conn.close(200, "done".into()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_object_an_array_and_ndjson_all_read_as_events() {
        assert_eq!(parse_input(r#"{"a":1}"#).unwrap(), vec![json!({"a":1})]);
        assert_eq!(parse_input(r#"[{"a":1},{"a":2}]"#).unwrap().len(), 2);
        assert_eq!(parse_input("{\"a\":1}\n\n{\"a\":2}\n").unwrap().len(), 2);
    }

    #[test]
    fn a_broken_line_is_named_and_empty_input_is_refused() {
        let e = parse_input("{\"a\":1}\n{\"a\":\n").unwrap_err();
        assert!(matches!(e, InputError::NotJson { line: 3, .. }), "{e}");
        assert!(matches!(parse_input("  \n"), Err(InputError::Empty)));
    }

    #[test]
    fn each_result_is_one_line_and_the_summary_counts_them() {
        let results = [
            Published::Ok {
                id: "e1".into(),
                detail: "processed".into(),
            },
            Published::Failed {
                label: "#2".into(),
                reason: "no type".into(),
            },
        ];
        assert_eq!(results[0].to_string(), "ok    e1: processed");
        assert_eq!(results[1].to_string(), "FAIL  #2: no type");
        assert_eq!(summary(&results), "2 events: 1 ok, 1 failed");
        assert_eq!(label(0, &json!({"event_id": "x"})), "#1 x");
    }
}
