//! Realtime delivery: hub shards map users to sessions; one actor per
//! WebSocket session writes frames in order and resumes gap-free.

mod hub;
mod limits;
mod messages;
mod session;
mod throttle;
mod trim;

pub use hub::{Hub, HubShard, InProcessBus};
pub use limits::{ConnectionLimits, ConnectionSlot, LimitError};
pub use messages::{
    Connect, Deliver, Disconnect, Evict, Publish, Resync, ShardStats, UserPresenceChanged,
};
pub use session::{CommandError, SessionCommands, SessionConfig, SessionDeps, WsSession};
pub use throttle::{ABUSE_REFUSALS, ABUSE_WINDOW};
pub use trim::MemoryTrimmer;
