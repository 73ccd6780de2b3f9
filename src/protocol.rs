//! The WebSocket wire protocol: frames the server sends and frames it accepts.
//! Frames are encoded once, then shared by every session that receives them.

use crate::domain::{NotificationId, NotificationView};
use bytestring::ByteString;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Close code telling a client to reconnect and resume with `since` (4000–4499: reconnect).
pub const CLOSE_RECONNECT: u16 = 4000;
/// Close code for a client that stopped answering heartbeats.
pub const CLOSE_HEARTBEAT_TIMEOUT: u16 = 4001;
/// Close code for every session of a node that is shutting down: this node is
/// going away, reconnect (to any node) and resume with `since`.
pub const CLOSE_GOING_AWAY_RECONNECT: u16 = 4002;
/// Close code for a client that kept sending frames after being told it was
/// rate limited (RFC 6455 1008, policy violation). Reconnecting is allowed,
/// but a client that does so at once is likely to be closed again.
pub const CLOSE_POLICY_VIOLATION: u16 = 1008;
/// Close code for a server-side failure while setting up the session.
pub const CLOSE_SERVER_ERROR: u16 = 1011;

/// Most ids accepted in one `mark_read`, `mark_seen` or `ack` frame.
pub const MAX_IDS_PER_FRAME: usize = 1000;

/// Its utoipa schema is the AsyncAPI document's (`/api/v1/asyncapi.json`), so
/// the document cannot drift from what sessions send.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame<'a> {
    Hello {
        user_id: &'a str,
        unread_count: u64,
        unseen_count: u64,
        last_seq: i64,
        recovered: bool,
    },
    Notification {
        notification: &'a NotificationView,
    },
    Read {
        ids: &'a [Uuid],
        unread_count: u64,
        unseen_count: u64,
    },
    Unread {
        ids: &'a [Uuid],
        unread_count: u64,
        unseen_count: u64,
    },
    ReadAll {
        unread_count: u64,
        unseen_count: u64,
    },
    Deleted {
        ids: &'a [Uuid],
        unread_count: u64,
        unseen_count: u64,
    },
    Seen {
        ids: &'a [Uuid],
        unseen_count: u64,
    },
    SeenAll {
        unseen_count: u64,
    },
    Archived {
        ids: &'a [Uuid],
        unread_count: u64,
        unseen_count: u64,
    },
    Unarchived {
        ids: &'a [Uuid],
        unread_count: u64,
        unseen_count: u64,
    },
    Snoozed {
        ids: &'a [Uuid],
        until: chrono::DateTime<chrono::Utc>,
        unread_count: u64,
        unseen_count: u64,
    },
    /// A snooze ended (by time or by request): the item is back in the default list.
    Unsnoozed {
        notification: &'a NotificationView,
        unread_count: u64,
        unseen_count: u64,
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

/// Frames a client may send, with their ids already parsed: a frame that
/// reaches a command never needs the database to find out it was bad.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientFrame {
    MarkRead {
        ids: Vec<NotificationId>,
    },
    MarkAllRead,
    /// The client has listed these notifications: they become seen (not read).
    MarkSeen {
        ids: Vec<NotificationId>,
    },
    MarkAllSeen,
    /// The client has shown these notifications: their in-app deliveries become `delivered`.
    Ack {
        ids: Vec<NotificationId>,
    },
    Ping,
}

/// Why a client frame was refused; `code()` is the `error` frame's code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error(
        "unknown frame type; expected mark_read, mark_all_read, mark_seen, mark_all_seen, ack or ping"
    )]
    UnknownType,
    #[error("malformed frame: {0}")]
    Malformed(String),
    #[error("ids must be notification UUIDs; '{0}' is not one")]
    InvalidId(String),
    #[error("at most {MAX_IDS_PER_FRAME} ids per frame")]
    TooManyIds,
}

impl FrameError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownType | Self::Malformed(_) => "invalid_frame",
            Self::InvalidId(_) => "invalid_notification_id",
            Self::TooManyIds => "too_many_ids",
        }
    }
}

/// The frame as JSON has it, before its ids are parsed.
/// What a client may send, as read off the wire. Its schema is the AsyncAPI
/// document's client frame.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum RawFrame {
    MarkRead {
        #[schema(value_type = Vec<uuid::Uuid>, max_items = 1000)]
        ids: Vec<String>,
    },
    MarkAllRead,
    MarkSeen {
        #[schema(value_type = Vec<uuid::Uuid>, max_items = 1000)]
        ids: Vec<String>,
    },
    MarkAllSeen,
    Ack {
        #[schema(value_type = Vec<uuid::Uuid>, max_items = 1000)]
        ids: Vec<String>,
    },
    Ping,
}

/// Longest id echoed back in an error message, so a huge bogus id is not reflected whole.
const MAX_ECHOED_ID: usize = 64;

fn parse_ids(raw: Vec<String>) -> Result<Vec<NotificationId>, FrameError> {
    if raw.len() > MAX_IDS_PER_FRAME {
        return Err(FrameError::TooManyIds);
    }
    raw.iter()
        .map(|s| {
            NotificationId::parse(s)
                .map_err(|_| FrameError::InvalidId(s.chars().take(MAX_ECHOED_ID).collect()))
        })
        .collect()
}

impl ClientFrame {
    /// Pure: no I/O and no panics on any input (a fuzz target calls it).
    pub fn parse(text: &str) -> Result<Self, FrameError> {
        let raw: RawFrame = serde_json::from_str(text).map_err(|e| {
            let msg = e.to_string();
            if msg.contains("unknown variant") {
                FrameError::UnknownType
            } else {
                FrameError::Malformed(msg)
            }
        })?;
        Ok(match raw {
            RawFrame::MarkRead { ids } => Self::MarkRead {
                ids: parse_ids(ids)?,
            },
            RawFrame::MarkAllRead => Self::MarkAllRead,
            RawFrame::MarkSeen { ids } => Self::MarkSeen {
                ids: parse_ids(ids)?,
            },
            RawFrame::MarkAllSeen => Self::MarkAllSeen,
            RawFrame::Ack { ids } => Self::Ack {
                ids: parse_ids(ids)?,
            },
            RawFrame::Ping => Self::Ping,
        })
    }

    /// Whether the frame needs the database (and so a command slot).
    pub fn is_command(&self) -> bool {
        !matches!(self, Self::Ping)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_frames_parse_and_unknown_types_are_explained() {
        assert_eq!(
            ClientFrame::parse(r#"{"type":"ping"}"#),
            Ok(ClientFrame::Ping)
        );
        assert_eq!(
            ClientFrame::parse(r#"{"type":"dance"}"#),
            Err(FrameError::UnknownType)
        );
        assert!(matches!(
            ClientFrame::parse("not json"),
            Err(FrameError::Malformed(_))
        ));
    }

    #[test]
    fn ack_ids_that_are_not_uuids_are_refused_while_parsing() {
        let err = ClientFrame::parse(r#"{"type":"ack","ids":["1 OR 1=1"]}"#).unwrap_err();
        assert_eq!(err.code(), "invalid_notification_id");
        let id = Uuid::now_v7();
        assert_eq!(
            ClientFrame::parse(&format!(r#"{{"type":"ack","ids":["{id}"]}}"#)),
            Ok(ClientFrame::Ack {
                ids: vec![NotificationId::from_uuid(id)]
            })
        );
    }

    #[test]
    fn more_ids_than_the_limit_are_refused_before_any_is_parsed() {
        let ids = vec!["x"; MAX_IDS_PER_FRAME + 1];
        for kind in ["ack", "mark_read", "mark_seen"] {
            let text = serde_json::json!({"type": kind, "ids": ids}).to_string();
            assert_eq!(ClientFrame::parse(&text), Err(FrameError::TooManyIds));
        }
    }

    #[test]
    fn a_huge_bad_id_is_not_echoed_whole() {
        let long = "z".repeat(10_000);
        let text = serde_json::json!({"type": "mark_read", "ids": [long]}).to_string();
        let msg = ClientFrame::parse(&text).unwrap_err().to_string();
        assert!(msg.len() < 200, "{msg}");
    }

    #[test]
    fn mark_seen_frames_parse_their_ids() {
        let id = Uuid::now_v7();
        assert_eq!(
            ClientFrame::parse(&format!(r#"{{"type":"mark_seen","ids":["{id}"]}}"#)),
            Ok(ClientFrame::MarkSeen {
                ids: vec![NotificationId::from_uuid(id)]
            })
        );
        assert_eq!(
            ClientFrame::parse(r#"{"type":"mark_all_seen"}"#),
            Ok(ClientFrame::MarkAllSeen)
        );
    }

    #[test]
    fn server_frames_are_tagged_json() {
        let f = ServerFrame::ReadAll {
            unread_count: 0,
            unseen_count: 0,
        }
        .encode();
        assert_eq!(
            &*f,
            r#"{"type":"read_all","unread_count":0,"unseen_count":0}"#
        );
    }
}
