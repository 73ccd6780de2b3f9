//! A minimal `text/event-stream` reader over reqwest, parsed the way a
//! browser's `EventSource` does (fields per line, a blank line ends an event).

use crate::helpers::TestApp;
use serde_json::Value;
use std::time::Duration;

/// One dispatched event.
#[derive(Debug)]
pub struct Event {
    pub event: String,
    pub id: Option<String>,
    pub data: Value,
}

pub struct SseStream {
    response: reqwest::Response,
    buffer: String,
}

/// Opens a stream; `since` goes in the query, `last_event_id` in the header.
pub async fn request(
    app: &TestApp,
    token: &str,
    since: Option<&str>,
    last_event_id: Option<&str>,
) -> reqwest::Response {
    let mut url = format!("{}/api/v1/sse?token={token}", app.address);
    if let Some(s) = since {
        url.push_str(&format!("&since={s}"));
    }
    let mut req = app.client.get(url).header("accept", "text/event-stream");
    if let Some(id) = last_event_id {
        req = req.header("last-event-id", id);
    }
    req.send().await.expect("sse request")
}

/// Opens a stream that must be accepted, and returns it with its hello event.
pub async fn open(
    app: &TestApp,
    token: &str,
    since: Option<&str>,
    last_event_id: Option<&str>,
) -> (SseStream, Event) {
    let response = request(app, token, since, last_event_id).await;
    assert_eq!(response.status(), 200, "sse refused");
    let mut stream = SseStream {
        response,
        buffer: String::new(),
    };
    let hello = stream.next().await;
    assert_eq!(hello.event, "hello", "first event must be hello: {hello:?}");
    (stream, hello)
}

impl SseStream {
    pub fn content_type(&self) -> String {
        self.response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }

    /// The next event with data, within 5 seconds (comments and `retry:` are skipped).
    pub async fn next(&mut self) -> Event {
        self.next_within(Duration::from_secs(5))
            .await
            .expect("timed out waiting for an sse event")
    }

    /// The next event of `kind`, skipping others.
    pub async fn next_of(&mut self, kind: &str) -> Event {
        loop {
            let e = self.next().await;
            if e.event == kind {
                return e;
            }
        }
    }

    pub async fn next_within(&mut self, wait: Duration) -> Option<Event> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(event) = self.take_event() {
                return Some(event);
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .ok()?
                .expect("sse stream error")
                .expect("sse stream ended");
            self.buffer
                .push_str(std::str::from_utf8(&chunk).expect("utf-8 stream"));
        }
    }

    fn take_event(&mut self) -> Option<Event> {
        loop {
            let end = self.buffer.find("\n\n")?;
            let block: String = self.buffer.drain(..end + 2).collect();
            let (mut event, mut id, mut data) = ("message".to_string(), None, Vec::new());
            for line in block.lines() {
                let (field, value) = line.split_once(": ").unwrap_or((line, ""));
                match field {
                    "event" => event = value.to_string(),
                    "id" => id = Some(value.to_string()),
                    "data" => data.push(value),
                    _ => {} // comments, retry
                }
            }
            if !data.is_empty() {
                let data = serde_json::from_str(&data.join("\n")).expect("data is JSON");
                return Some(Event { event, id, data });
            }
        }
    }
}
