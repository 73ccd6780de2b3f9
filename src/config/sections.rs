//! The nested sections of [`super::Settings`]: `[http]`, `[ws]` and
//! `[rate_limit]` (`HERALD_HTTP__*`, `HERALD_WS__*`, `HERALD_RATE_LIMIT__*`).
//! Their defaults are set with the others in `Settings::from_builder`.

use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
pub struct HttpSettings {
    /// actix-web worker threads; defaults to the number of cores.
    pub workers: Option<usize>,
    /// Largest accepted JSON body.
    pub max_body_bytes: usize,
}

#[derive(Clone, Debug, Deserialize)]
pub struct WsSettings {
    /// Server ping every N seconds (each session starts at a random offset).
    pub heartbeat_interval_secs: u64,
    /// No traffic from the client for M seconds closes the socket.
    pub client_timeout_secs: u64,
    /// Frames a session may have queued before it is closed with 4000 (reconnect).
    pub outbound_queue: usize,
    /// A single frame write blocked longer than this closes the session with 4000.
    pub send_timeout_ms: u64,
    /// Largest inbound frame.
    pub max_frame_bytes: usize,
    /// Hub shard actors; users are spread over them by hash.
    pub hub_shards: usize,
    /// Most notifications replayed on `since` resume; beyond it `recovered` is false.
    pub max_replay: u64,
    /// Client commands (`mark_read`, `ack`, …) one session may have running at once;
    /// beyond it the command is refused with an error frame.
    pub commands_in_flight: usize,
    /// Sustained client frames per second per session (token bucket).
    pub frames_per_sec: u32,
    /// Client frames a session may send in a burst above the sustained rate.
    pub frames_burst: u32,
    /// Open sessions one user may hold; the next upgrade is refused.
    pub max_sessions_per_user: usize,
    /// Open WebSocket connections from one client IP address.
    pub max_connections_per_ip: usize,
}

#[derive(Clone, Debug, Deserialize)]
pub struct RateLimitSettings {
    /// Sustained requests per second per user token; 0 = unlimited.
    pub user_per_sec: u32,
    /// Requests a user token may send in a burst above the sustained rate.
    pub user_burst: u32,
    /// Sustained requests per second per API key; 0 = unlimited (the default).
    pub api_key_per_sec: u32,
    /// Burst per API key when `api_key_per_sec` is set.
    pub api_key_burst: u32,
    /// `POST /notifications/test` calls per user per hour.
    pub test_per_user_per_hour: u32,
}
