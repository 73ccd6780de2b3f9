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
    pub resync: Recipient<Resync>,
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

/// A user's local session count went 0→1 (`online`) or 1→0: sent by a shard
/// to its observer (presence, or anything else that follows who is connected here).
#[derive(Message, Clone, Debug)]
#[rtype(result = "()")]
pub struct UserPresenceChanged {
    pub user_id: String,
    pub online: bool,
}

/// Sets (or, with `None`, clears) a shard's presence observer. Sent by the
/// observer from its `started()` and `stopping()`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Observe {
    pub observer: Option<Recipient<UserPresenceChanged>>,
}

/// Asks a shard to tell each of its sessions to [`Resync`].
#[derive(Message)]
#[rtype(result = "()")]
pub struct ResyncAll;

/// Frames may have been missed (the bus between nodes was down): re-read the
/// notifications after the last delivered seq, then send a fresh `hello` with
/// the current unread count.
#[derive(Message, Clone, Copy)]
#[rtype(result = "()")]
pub struct Resync;

/// Each user with sessions on a shard, with their count (presence heartbeat).
#[derive(Message)]
#[rtype(result = "Vec<(String, usize)>")]
pub struct LocalUsers;

/// How many sessions one user has on this node.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct UserSessions {
    pub user_id: String,
}
