//! Presence in Redis. Each user has one hash, `{prefix}:presence:{user}`,
//! with one field per node: `"{sessions}:{refreshed_at_ms}"`. A field counts
//! as live until `refreshed_at + ttl`, so a node that dies (kill -9) drops
//! out within one TTL without anyone cleaning up after it; the newest field
//! gives `last_seen`. The hash itself expires `last_seen_retention` after its
//! last write.
//!
//! Writes for one node are serialised through [`PresenceObserver`]: the hub's
//! 0→1 / 1→0 events and the heartbeat's refreshes share one mailbox, so a
//! refresh can never overwrite a later "gone" with a stale "here".

use super::super::{BusError, NodeId, Presence, PresenceView};
use crate::domain::UserId;
use crate::realtime::{Hub, UserPresenceChanged};
use actix::prelude::*;
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use redis::aio::ConnectionManager;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::watch;

/// The heartbeat refreshes every `ttl / HEARTBEAT_FRACTION`: two refreshes
/// may be lost before a live node's users look offline.
pub const HEARTBEAT_FRACTION: u32 = 3;
/// Users refreshed per pipelined round trip.
const HEARTBEAT_BATCH: usize = 500;

fn key(prefix: &str, user: &str) -> String {
    format!("{prefix}:presence:{user}")
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// Reads and writes presence records.
#[derive(Clone)]
pub struct RedisPresence {
    conn: ConnectionManager,
    prefix: String,
    ttl: Duration,
    retention: Duration,
}

impl RedisPresence {
    pub fn new(
        conn: ConnectionManager,
        prefix: String,
        ttl: Duration,
        retention: Duration,
    ) -> Self {
        Self {
            conn,
            prefix,
            ttl,
            retention,
        }
    }

    /// Records that `node` holds `sessions` of each user, now.
    pub async fn write(&self, node: &NodeId, users: &[(String, usize)]) -> Result<(), BusError> {
        let (at, keep) = (now_ms(), self.retention.as_millis() as i64);
        let mut pipe = redis::pipe();
        for (user, sessions) in users {
            let k = key(&self.prefix, user);
            pipe.hset(&k, node.as_str(), format!("{sessions}:{at}"))
                .ignore()
                .pexpire(&k, keep)
                .ignore();
        }
        let mut conn = self.conn.clone();
        pipe.query_async::<()>(&mut conn).await?;
        Ok(())
    }

    async fn read(&self, user: &UserId) -> Result<PresenceView, BusError> {
        let k = key(&self.prefix, user.as_str());
        let mut conn = self.conn.clone();
        let fields: HashMap<String, String> =
            redis::cmd("HGETALL").arg(&k).query_async(&mut conn).await?;
        let view = summarise(&fields, now_ms(), self.ttl.as_millis() as i64);
        // Fields of dead nodes older than the newest one say nothing `last_seen` does not.
        if !view.stale.is_empty() {
            let _: Result<(), _> = redis::cmd("HDEL")
                .arg(&k)
                .arg(&view.stale)
                .query_async(&mut conn)
                .await;
        }
        Ok(view.view)
    }
}

impl Presence for RedisPresence {
    fn lookup(&self, user: &UserId) -> BoxFuture<'static, Result<PresenceView, BusError>> {
        let (this, user) = (self.clone(), user.clone());
        Box::pin(async move { this.read(&user).await })
    }
}

struct Summary {
    view: PresenceView,
    stale: Vec<String>,
}

/// The pure part of a lookup: which fields are live, and which can go.
fn summarise(fields: &HashMap<String, String>, now_ms: i64, ttl_ms: i64) -> Summary {
    let parsed: Vec<(&str, usize, i64)> = fields
        .iter()
        .filter_map(|(node, v)| {
            let (n, at) = v.split_once(':')?;
            Some((node.as_str(), n.parse().ok()?, at.parse().ok()?))
        })
        .collect();
    let newest = parsed.iter().map(|p| p.2).max();
    let mut nodes: Vec<String> = Vec::new();
    let mut sessions = 0;
    let mut stale = Vec::new();
    for &(node, n, at) in &parsed {
        let live = at + ttl_ms > now_ms;
        if live && n > 0 {
            nodes.push(node.to_string());
            sessions += n;
        } else if !live && Some(at) != newest {
            stale.push(node.to_string());
        }
    }
    // Fields that do not parse were not written by Herald: they go too.
    stale.extend(
        fields
            .keys()
            .filter(|k| !parsed.iter().any(|p| p.0 == k.as_str()))
            .cloned(),
    );
    nodes.sort();
    Summary {
        view: PresenceView {
            online: !nodes.is_empty(),
            sessions,
            nodes,
            last_seen: newest.and_then(DateTime::from_timestamp_millis),
        },
        stale,
    }
}

/// Refresh every local user now (sent by [`PresenceHeartbeat`]).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Refresh;

/// The hub's observer on a Redis-bus node: writes presence on 0→1 and 1→0,
/// and refreshes it on [`Refresh`].
pub struct PresenceObserver {
    hub: Hub,
    node: NodeId,
    store: RedisPresence,
}

impl PresenceObserver {
    pub fn new(hub: Hub, node: NodeId, store: RedisPresence) -> Self {
        Self { hub, node, store }
    }
}

impl Actor for PresenceObserver {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.hub.observe(Some(ctx.address().recipient()));
    }

    fn stopping(&mut self, _: &mut Self::Context) -> Running {
        self.hub.observe(None);
        Running::Stop
    }
}

impl Handler<UserPresenceChanged> for PresenceObserver {
    type Result = AtomicResponse<Self, ()>;

    #[tracing::instrument(skip_all, fields(user = %msg.user_id, online = msg.online))]
    fn handle(&mut self, msg: UserPresenceChanged, _: &mut Self::Context) -> Self::Result {
        let (hub, store, node) = (self.hub.clone(), self.store.clone(), self.node.clone());
        AtomicResponse::new(Box::pin(
            async move {
                // The count now, not the transition's: more sessions may have come since.
                let n = hub
                    .user_sessions(&msg.user_id)
                    .await
                    .unwrap_or(usize::from(msg.online));
                if let Err(e) = store.write(&node, &[(msg.user_id, n)]).await {
                    tracing::debug!(error = %e, "presence write failed; the heartbeat retries");
                }
            }
            .into_actor(self),
        ))
    }
}

impl Handler<Refresh> for PresenceObserver {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, _: Refresh, _: &mut Self::Context) -> Self::Result {
        let (hub, store, node) = (self.hub.clone(), self.store.clone(), self.node.clone());
        AtomicResponse::new(Box::pin(
            async move {
                let users = hub.local_users().await;
                for batch in users.chunks(HEARTBEAT_BATCH) {
                    if let Err(e) = store.write(&node, batch).await {
                        tracing::warn!(error = %e, "presence heartbeat failed");
                        return;
                    }
                }
            }
            .into_actor(self),
        ))
    }
}

/// Ticks every `ttl / HEARTBEAT_FRACTION` and asks the observer to refresh.
pub struct PresenceHeartbeat {
    observer: Addr<PresenceObserver>,
    every: Duration,
}

impl PresenceHeartbeat {
    pub fn new(observer: Addr<PresenceObserver>, ttl: Duration) -> Self {
        Self {
            observer,
            every: ttl / HEARTBEAT_FRACTION,
        }
    }

    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(self.every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = tick.tick() => self.step().await,
            }
        }
    }

    /// One refresh of every local user, finished when it returns.
    pub async fn step(&self) {
        let _ = self.observer.send(Refresh).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(entries: &[(&str, &str)]) -> HashMap<String, String> {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn live_nodes_with_sessions_count_and_others_do_not() {
        let f = fields(&[
            ("a", "2:1100"),
            ("b", "1:1500"),
            ("c", "0:1900"),
            ("d", "3:100"),
        ]);
        let s = summarise(&f, 2000, 1000);
        assert_eq!(s.view.nodes, vec!["a", "b"]);
        assert_eq!(s.view.sessions, 3);
        assert!(s.view.online);
        assert_eq!(s.view.last_seen.map(|t| t.timestamp_millis()), Some(1900));
        // d is dead and not the newest: it goes; c is the newest, kept for last_seen.
        assert_eq!(s.stale, vec!["d"]);
    }

    #[test]
    fn a_node_drops_out_once_its_ttl_has_passed() {
        let f = fields(&[("a", "1:1000")]);
        assert!(summarise(&f, 1999, 1000).view.online);
        let gone = summarise(&f, 2000, 1000);
        assert!(!gone.view.online);
        assert_eq!(gone.view.sessions, 0);
        assert!(
            gone.stale.is_empty(),
            "the newest field stays for last_seen"
        );
    }

    #[test]
    fn no_record_is_offline_and_never_seen() {
        let s = summarise(&HashMap::new(), 5, 10);
        assert_eq!(
            s.view,
            PresenceView {
                online: false,
                sessions: 0,
                nodes: vec![],
                last_seen: None
            }
        );
    }

    #[test]
    fn foreign_fields_are_ignored_and_removed() {
        let f = fields(&[("x", "garbage"), ("a", "1:10")]);
        let s = summarise(&f, 10, 100);
        assert_eq!(s.view.nodes, vec!["a"]);
        assert_eq!(s.stale, vec!["x"]);
    }
}
