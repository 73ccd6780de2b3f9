//! Realtime delivery: hub shards map users to sessions; one actor per
//! WebSocket session (or Server-Sent Events stream) writes frames in order
//! and resumes gap-free.

mod catchup;
mod drain;
mod hub;
mod limits;
mod messages;
mod session;
mod sse;
mod sse_frame;
mod throttle;
mod trim;

pub use drain::{NodeDraining, SessionRegistry, GOING_AWAY_REASON};
pub use hub::{Hub, HubShard, InProcessBus};
pub use limits::{ConnectionLimits, ConnectionSlot, LimitError};
pub use messages::{
    Connect, Deliver, Disconnect, Evict, Publish, Resync, ShardStats, UserPresenceChanged,
};
pub use session::{CommandError, SessionCommands, SessionConfig, SessionDeps, WsSession};
pub use sse::{SseSession, SSE_HEARTBEAT};
pub use throttle::{ABUSE_REFUSALS, ABUSE_WINDOW};
pub use trim::MemoryTrimmer;
