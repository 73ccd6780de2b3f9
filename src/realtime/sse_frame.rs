//! The `text/event-stream` wire format for the frames the WebSocket sends.
//! Pure functions: the stream actor only decides *when* to write.

use bytes::Bytes;

/// How long a browser's `EventSource` waits before reconnecting on its own.
pub const RETRY_MS: u64 = 2000;

/// The first bytes of every stream: the reconnect delay, as a field no event carries.
pub fn preamble() -> String {
    format!("retry: {RETRY_MS}\n\n")
}

/// A comment line: keeps proxies from timing the stream out, and makes a
/// write fail soon after the client has gone.
pub fn heartbeat() -> Bytes {
    Bytes::from_static(b": heartbeat\n\n")
}

/// The frame's `type`, used as the SSE `event:` name so a client can
/// `addEventListener("notification", …)`. Frames are encoded by serde with
/// the tag first, so the prefix is read without parsing the whole frame;
/// anything unexpected falls back to the default event name.
pub fn frame_type(frame: &str) -> &str {
    const PREFIX: &str = "{\"type\":\"";
    frame
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_once('"'))
        .map(|(kind, _)| kind)
        .filter(|kind| {
            !kind.is_empty()
                && kind.len() <= 32
                && kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        })
        .unwrap_or("message")
}

/// One event: `event:` is the frame type, `id:` the resume point (when the
/// frame has one), and the JSON frame as `data:`. A line break inside the
/// frame starts a new `data:` line, which the browser joins back with `\n`,
/// so no frame can end an event early or inject a field.
pub fn event(frame: &str, id: Option<i64>) -> String {
    let mut out = String::with_capacity(frame.len() + 48);
    out.push_str("event: ");
    out.push_str(frame_type(frame));
    out.push('\n');
    if let Some(id) = id {
        out.push_str("id: ");
        out.push_str(&id.to_string());
        out.push('\n');
    }
    for line in frame.split(['\n', '\r']) {
        out.push_str("data: ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notification_frame_carries_its_type_and_seq() {
        let frame = r#"{"type":"notification","notification":{"seq":7}}"#;
        assert_eq!(
            event(frame, Some(7)),
            format!("event: notification\nid: 7\ndata: {frame}\n\n")
        );
    }

    #[test]
    fn a_frame_without_seq_has_no_id_line() {
        let frame = r#"{"type":"read_all","unread_count":0}"#;
        assert_eq!(
            event(frame, None),
            format!("event: read_all\ndata: {frame}\n\n")
        );
    }

    #[test]
    fn line_breaks_in_a_frame_cannot_end_the_event_or_add_fields() {
        let text = event("{\"type\":\"x\"}\n\nid: 99\r\nevent: evil", None);
        let blank_lines = text.matches("\n\n").count();
        assert_eq!(blank_lines, 1, "only the terminator: {text:?}");
        assert!(!text.contains("\nid: "), "{text:?}");
        assert!(text
            .lines()
            .skip(1)
            .all(|l| l.is_empty() || l.starts_with("data: ")));
    }

    #[test]
    fn odd_or_missing_types_fall_back_to_the_default_event() {
        assert_eq!(frame_type("{}"), "message");
        assert_eq!(frame_type(r#"{"type":"Bad Type"}"#), "message");
        assert_eq!(frame_type(r#"{"type":""}"#), "message");
        assert_eq!(
            frame_type(r#"{"type":"seen_all","unseen_count":0}"#),
            "seen_all"
        );
    }

    #[test]
    fn the_preamble_sets_the_reconnect_delay() {
        assert_eq!(preamble(), format!("retry: {RETRY_MS}\n\n"));
    }
}
