//! One actor per WebSocket connection. It owns the `actix_ws::Session`,
//! writes frames strictly in mailbox order, and keeps the client's view of
//! the feed gap-free by tracking the per-user `seq`.
//!
//! Submodules: `setup` (register, hello and replay), `io` (writes, close,
//! heartbeat), `inbound` (client frames and their limits), `outbound`
//! (frames from the hub), `resync` (catching up after the bus between nodes was down).

mod beat;
mod inbound;
mod io;
mod outbound;
mod resync;
mod setup;

use super::drain::{SessionRegistry, GOING_AWAY_REASON};
use super::hub::Hub;
use super::limits::{ConnectionLimits, ConnectionSlot};
use super::messages::Disconnect;
use super::throttle::FrameThrottle;
use crate::domain::UserId;
use actix::prelude::*;
use actix_ws::Session;
use futures_util::future::BoxFuture;
use sea_orm::DatabaseConnection;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Tunables, from `[ws]` settings.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    pub heartbeat_interval: Duration,
    pub client_timeout: Duration,
    pub outbound_queue: usize,
    pub send_timeout: Duration,
    pub max_replay: u64,
    /// Database commands one session may have running; more are answered `busy`.
    pub commands_in_flight: usize,
    /// Token bucket for client frames: sustained rate and burst.
    pub frames_per_sec: u32,
    pub frames_burst: u32,
    pub max_sessions_per_user: usize,
    pub max_connections_per_ip: usize,
}

impl SessionConfig {
    /// Built from its own `[ws]` section, so startup need not know the fields.
    pub fn from_settings(ws: &crate::config::WsSettings) -> Self {
        Self {
            heartbeat_interval: Duration::from_secs(ws.heartbeat_interval_secs),
            client_timeout: Duration::from_secs(ws.client_timeout_secs),
            outbound_queue: ws.outbound_queue,
            send_timeout: Duration::from_millis(ws.send_timeout_ms),
            max_replay: ws.max_replay,
            commands_in_flight: ws.commands_in_flight,
            frames_per_sec: ws.frames_per_sec,
            frames_burst: ws.frames_burst,
            max_sessions_per_user: ws.max_sessions_per_user,
            max_connections_per_ip: ws.max_connections_per_ip,
        }
    }
}

/// An error a command reports back to the client as an `error` frame.
pub type CommandError = (&'static str, String);

/// What a session may ask the feed to do on its user's behalf. Implemented
/// by the feed service and injected by startup, so realtime does not depend
/// on the pipeline. Ids arrive parsed: a bad one never reaches the database.
pub trait SessionCommands: Send + Sync + 'static {
    fn mark_read(
        &self,
        user: UserId,
        ids: Vec<Uuid>,
    ) -> BoxFuture<'static, Result<(), CommandError>>;
    fn mark_all_read(&self, user: UserId) -> BoxFuture<'static, Result<(), CommandError>>;
    /// Seen is not read: the client listed them, the user has not opened them.
    fn mark_seen(
        &self,
        user: UserId,
        ids: Vec<Uuid>,
    ) -> BoxFuture<'static, Result<(), CommandError>>;
    fn mark_all_seen(&self, user: UserId) -> BoxFuture<'static, Result<(), CommandError>>;
    fn ack(&self, user: UserId, ids: Vec<Uuid>) -> BoxFuture<'static, Result<(), CommandError>>;
}

/// Everything sessions share, built once in startup.
pub struct SessionDeps {
    pub db: DatabaseConnection,
    pub hub: Hub,
    pub commands: Arc<dyn SessionCommands>,
    pub config: SessionConfig,
    /// Per-user and per-IP connection caps; the route takes a slot before upgrading.
    pub limits: ConnectionLimits,
    /// Every open session, for a drain to close them all.
    pub registry: SessionRegistry,
    /// Connects, disconnects and commit-to-frame latency.
    pub metrics: crate::metrics::Metrics,
    next_id: AtomicU64,
    /// Where the heartbeat grid starts: one instant for every session of this node.
    epoch: Instant,
}

impl SessionDeps {
    pub fn new(
        db: DatabaseConnection,
        hub: Hub,
        commands: Arc<dyn SessionCommands>,
        config: SessionConfig,
        registry: SessionRegistry,
        metrics: crate::metrics::Metrics,
    ) -> Self {
        let limits =
            ConnectionLimits::new(config.max_sessions_per_user, config.max_connections_per_ip);
        Self {
            db,
            hub,
            commands,
            config,
            limits,
            registry,
            metrics,
            next_id: AtomicU64::new(1),
            epoch: Instant::now(),
        }
    }

    /// A node-wide unique id, so a user's WebSocket and SSE sessions never share one at the hub.
    pub fn next_session_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }
}

pub struct WsSession {
    id: u64,
    user: UserId,
    session: Session,
    deps: Arc<SessionDeps>,
    /// The client's resume point, from `?since=`.
    since: Option<i64>,
    /// Highest seq this client has been sent (or knows of, after hello).
    last_seq: i64,
    last_heard: Instant,
    closing: bool,
    /// Set once the client is to be closed for abuse: its frames are ignored from then on.
    condemned: bool,
    /// Database commands started and not yet answered.
    in_flight: usize,
    throttle: FrameThrottle,
    /// This connection's place under the caps, given back in `stopping()`.
    slot: Option<ConnectionSlot>,
    /// The close code this side sent, for the disconnect counter.
    close_code: Option<u16>,
}

impl WsSession {
    pub fn new(
        user: UserId,
        session: Session,
        deps: Arc<SessionDeps>,
        since: Option<i64>,
        slot: ConnectionSlot,
    ) -> Self {
        let now = Instant::now();
        let throttle =
            FrameThrottle::new(deps.config.frames_per_sec, deps.config.frames_burst, now);
        Self {
            id: deps.next_id.fetch_add(1, Ordering::Relaxed),
            user,
            session,
            deps,
            since,
            last_seq: 0,
            last_heard: now,
            closing: false,
            condemned: false,
            in_flight: 0,
            throttle,
            slot: Some(slot),
            close_code: None,
        }
    }
}

impl Actor for WsSession {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(self.deps.config.outbound_queue);
        self.deps.metrics.ws_connected();
        if self
            .deps
            .registry
            .register(self.id, ctx.address().recipient())
            .is_err()
        {
            // Upgraded just as the drain began: send the client on before any setup.
            return self.close(
                ctx,
                crate::protocol::CLOSE_GOING_AWAY_RECONNECT,
                GOING_AWAY_REASON,
            );
        }
        self.start_heartbeat(ctx);
        self.start_setup(ctx);
    }

    fn stopping(&mut self, _: &mut Self::Context) -> Running {
        self.deps.registry.deregister(self.id);
        self.deps.metrics.ws_disconnected(self.close_code);
        self.deps
            .hub
            .shard_for(self.user.as_str())
            .do_send(Disconnect {
                user_id: self.user.as_str().to_string(),
                session_id: self.id,
            });
        self.slot = None;
        Running::Stop
    }
}
