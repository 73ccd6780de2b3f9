//! Who is connected where. On the memory bus this is the local hub; on the
//! Redis bus every node records its users with an expiry (`redis/presence.rs`).

use super::{BusError, NodeId};
use crate::domain::UserId;
use crate::realtime::Hub;
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use serde::Serialize;

/// `GET /api/v1/users/{user_id}/presence`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct PresenceView {
    pub online: bool,
    /// Open WebSocket sessions over every node.
    pub sessions: usize,
    /// Ids of the nodes holding those sessions.
    pub nodes: Vec<String>,
    /// The last time a node reported the user connected; `null` if none did
    /// within the retention window (always `null` when offline on the memory bus).
    pub last_seen: Option<DateTime<Utc>>,
}

pub trait Presence: Send + Sync + 'static {
    fn lookup(&self, user: &UserId) -> BoxFuture<'static, Result<PresenceView, BusError>>;
}

/// One node: presence is the local hub's session count.
pub struct LocalPresence {
    hub: Hub,
    node: NodeId,
}

impl LocalPresence {
    pub fn new(hub: Hub, node: NodeId) -> Self {
        Self { hub, node }
    }
}

impl Presence for LocalPresence {
    fn lookup(&self, user: &UserId) -> BoxFuture<'static, Result<PresenceView, BusError>> {
        let (hub, node, user) = (self.hub.clone(), self.node.clone(), user.clone());
        Box::pin(async move {
            let sessions = hub
                .user_sessions(user.as_str())
                .await
                .ok_or(BusError::Hub)?;
            let online = sessions > 0;
            Ok(PresenceView {
                online,
                sessions,
                nodes: if online {
                    vec![node.as_str().to_string()]
                } else {
                    vec![]
                },
                last_seen: online.then(Utc::now),
            })
        })
    }
}
