//! The WebSocket wire protocol: frames the server sends and frames it accepts.
//! Frames are encoded once, then shared by every session that receives them.

use crate::domain::NotificationView;
use bytestring::ByteString;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Close code telling a client to reconnect and resume with `since` (4000–4499: reconnect).
pub const CLOSE_RECONNECT: u16 = 4000;
/// Close code for a client that stopped answering heartbeats.
pub const CLOSE_HEARTBEAT_TIMEOUT: u16 = 4001;
/// Close code for a server-side failure while setting up the session.
pub const CLOSE_SERVER_ERROR: u16 = 1011;

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame<'a> {
    Hello {
        user_id: &'a str,
        unread_count: u64,
        last_seq: i64,
        recovered: bool,
    },
    Notification {
        notification: &'a NotificationView,
    },
    Read {
        ids: &'a [Uuid],
        unread_count: u64,
    },
    Unread {
        ids: &'a [Uuid],
        unread_count: u64,
    },
    ReadAll {
        unread_count: u64,
    },
    Deleted {
        ids: &'a [Uuid],
        unread_count: u64,
    },
    Error {
        code: &'a str,
        message: &'a str,
    },
    Pong,
}

impl ServerFrame<'_> {
    pub fn encode(&self) -> ByteString {
        // Serialising these plain structs cannot fail; an empty object keeps the socket valid if it ever did.
        ByteString::from(serde_json::to_string(self).unwrap_or_else(|_| "{}".into()))
    }
}

/// Frames a client may send.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    MarkRead {
        ids: Vec<String>,
    },
    MarkAllRead,
    /// The client has shown these notifications: their in-app deliveries become `delivered`.
    Ack {
        ids: Vec<String>,
    },
    Ping,
}

impl ClientFrame {
    pub fn parse(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| {
            let msg = e.to_string();
            if msg.contains("unknown variant") {
                "unknown frame type; expected mark_read, mark_all_read, ack or ping".to_string()
            } else {
                format!("malformed frame: {msg}")
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_frames_parse_and_unknown_types_are_explained() {
        assert!(matches!(
            ClientFrame::parse(r#"{"type":"ping"}"#),
            Ok(ClientFrame::Ping)
        ));
        assert!(ClientFrame::parse(r#"{"type":"dance"}"#)
            .unwrap_err()
            .contains("unknown frame type"));
        assert!(ClientFrame::parse("not json").is_err());
    }

    #[test]
    fn server_frames_are_tagged_json() {
        let f = ServerFrame::ReadAll { unread_count: 0 }.encode();
        assert_eq!(&*f, r#"{"type":"read_all","unread_count":0}"#);
    }
}
