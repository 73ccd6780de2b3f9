//! Actor messages between hub shards and sessions. One struct per message.

use actix::prelude::*;
use bytestring::ByteString;

/// A session announces itself to its user's shard. Answered once registered,
/// so the session can read the database knowing no later publish will miss it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Connect {
    pub user_id: String,
    pub session_id: u64,
    pub deliver: Recipient<Deliver>,
    pub evict: Recipient<Evict>,
}

/// A session leaves (sent from `stopping()`).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Disconnect {
    pub user_id: String,
    pub session_id: u64,
}

/// A frame for every session of a user, sent to that user's shard.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct Publish {
    pub user_id: String,
    pub seq: Option<i64>,
    pub frame: ByteString,
}

/// One frame for one session. `frame` shares its buffer with every other recipient.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct Deliver {
    pub seq: Option<i64>,
    pub frame: ByteString,
}

/// Close the session with `code`: sent by a shard that dropped it for an
/// overflowing queue, and by the session itself (through its mailbox, so
/// frames queued before it are written first) when it closes a flooder.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Evict {
    pub code: u16,
    pub reason: &'static str,
}

/// Counts for `/ready` and metrics.
#[derive(Message)]
#[rtype(result = "ShardStats")]
pub struct GetStats;

#[derive(Debug, Default, Clone, Copy, MessageResponse)]
pub struct ShardStats {
    pub users: usize,
    pub sessions: usize,
    pub evicted: u64,
}
