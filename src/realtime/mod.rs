//! Realtime delivery: hub shards map users to sessions; one actor per
//! WebSocket session writes frames in order and resumes gap-free.

mod hub;
mod messages;
mod session;
mod trim;

pub use hub::{Hub, HubShard, InProcessBus};
pub use messages::{Connect, Deliver, Disconnect, Evict, Publish, ShardStats};
pub use session::{CommandError, SessionCommands, SessionConfig, SessionDeps, WsSession};
pub use trim::MemoryTrimmer;
