//! The bus's own settings, read from the `HERALD_BUS*`, `HERALD_NODE_ID` and
//! `HERALD_PRESENCE_*` block of [`crate::config::Settings`].

use super::node::NodeId;
use super::redis::Layout;
use crate::config::Settings;
use serde::Deserialize;

/// `HERALD_BUS`: which bus carries frames to sessions.
#[derive(
    Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, serde::Serialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum BusKind {
    /// One node: frames go straight to the local hub.
    #[default]
    Memory,
    /// Several nodes: frames are delivered locally and published over Redis pub/sub.
    Redis,
}

#[derive(Debug, thiserror::Error)]
pub enum BusSettingsError {
    #[error("HERALD_BUS=redis needs HERALD_REDIS_URL")]
    NoRedisUrl,
    #[error("invalid HERALD_NODE_ID: {0}")]
    NodeId(String),
    #[error("invalid setting {0}: {1}")]
    Invalid(&'static str, &'static str),
}

/// Everything the bus needs, parsed once.
#[derive(Clone, Debug)]
pub struct BusSettings {
    pub kind: BusKind,
    pub node: NodeId,
    pub layout: Layout,
    /// Prefix of every Redis channel and presence key, so deployments can share a Redis.
    pub prefix: String,
    /// Frames waiting to be published to Redis before new ones are dropped.
    pub publish_queue: usize,
    pub presence_ttl: std::time::Duration,
    /// How long a user's presence record (and so `last_seen`) outlives the last heartbeat.
    pub last_seen_retention: std::time::Duration,
}

impl BusSettings {
    pub fn from_settings(s: &Settings) -> Result<Self, BusSettingsError> {
        if s.bus == BusKind::Redis && s.redis_url.is_none() {
            return Err(BusSettingsError::NoRedisUrl);
        }
        let node = match &s.node_id {
            Some(raw) => NodeId::parse(raw).map_err(BusSettingsError::NodeId)?,
            None => NodeId::generate(),
        };
        if s.bus_shards == 0 {
            return Err(BusSettingsError::Invalid(
                "bus_shards",
                "must be at least 1",
            ));
        }
        if s.presence_ttl_secs < 3 {
            return Err(BusSettingsError::Invalid(
                "presence_ttl_secs",
                "must be at least 3 (the heartbeat runs every third of it)",
            ));
        }
        if s.bus_publish_queue == 0 {
            return Err(BusSettingsError::Invalid(
                "bus_publish_queue",
                "must be at least 1",
            ));
        }
        if s.bus_channel_prefix.is_empty() || s.bus_channel_prefix.len() > 64 {
            return Err(BusSettingsError::Invalid(
                "bus_channel_prefix",
                "must be 1 to 64 characters",
            ));
        }
        Ok(Self {
            kind: s.bus,
            node,
            layout: Layout::new(s.bus_shards),
            prefix: s.bus_channel_prefix.clone(),
            publish_queue: s.bus_publish_queue,
            presence_ttl: std::time::Duration::from_secs(s.presence_ttl_secs),
            last_seen_retention: std::time::Duration::from_secs(
                s.presence_last_seen_secs.max(s.presence_ttl_secs),
            ),
        })
    }
}
