//! One actor per WebSocket connection. It owns the `actix_ws::Session`,
//! writes frames strictly in mailbox order, and keeps the client's view of
//! the feed gap-free by tracking the per-user `seq`.

use super::hub::Hub;
use super::messages::{Connect, Deliver, Disconnect, Evict};
use crate::domain::{NotificationView, UserId};
use crate::persistence::notifications;
use crate::protocol::{
    ClientFrame, ServerFrame, CLOSE_HEARTBEAT_TIMEOUT, CLOSE_RECONNECT, CLOSE_SERVER_ERROR,
};
use actix::prelude::*;
use actix_ws::{AggregatedMessage, CloseCode, CloseReason, ProtocolError, Session};
use bytestring::ByteString;
use futures_util::future::BoxFuture;
use sea_orm::DatabaseConnection;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// How long a close frame may wait for room in the outbound buffer.
const CLOSE_GRACE: Duration = Duration::from_secs(5);
/// How long a control frame (ping/pong) may wait before it is dropped.
const CONTROL_SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// Most ids accepted in one `mark_read` frame.
const MAX_IDS_PER_FRAME: usize = 1000;

/// Tunables, from `[ws]` settings.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    pub heartbeat_interval: Duration,
    pub client_timeout: Duration,
    pub outbound_queue: usize,
    pub send_timeout: Duration,
    pub max_replay: u64,
}

/// An error a command reports back to the client as an `error` frame.
pub type CommandError = (&'static str, String);

/// What a session may ask the feed to do on its user's behalf. Implemented
/// by the feed service and injected by startup, so realtime does not depend
/// on the pipeline.
pub trait SessionCommands: Send + Sync + 'static {
    fn mark_read(
        &self,
        user: UserId,
        ids: Vec<Uuid>,
    ) -> BoxFuture<'static, Result<(), CommandError>>;
    fn mark_all_read(&self, user: UserId) -> BoxFuture<'static, Result<(), CommandError>>;
    fn ack(&self, user: UserId, ids: Vec<Uuid>) -> BoxFuture<'static, Result<(), CommandError>>;
}

/// Everything sessions share, built once in startup.
pub struct SessionDeps {
    pub db: DatabaseConnection,
    pub hub: Hub,
    pub commands: Arc<dyn SessionCommands>,
    pub config: SessionConfig,
    next_id: AtomicU64,
}

impl SessionDeps {
    pub fn new(
        db: DatabaseConnection,
        hub: Hub,
        commands: Arc<dyn SessionCommands>,
        config: SessionConfig,
    ) -> Self {
        Self {
            db,
            hub,
            commands,
            config,
            next_id: AtomicU64::new(1),
        }
    }
}

enum WriteOutcome {
    Written,
    Closed,
    Stalled,
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
}

impl WsSession {
    pub fn new(user: UserId, session: Session, deps: Arc<SessionDeps>, since: Option<i64>) -> Self {
        Self {
            id: deps.next_id.fetch_add(1, Ordering::Relaxed),
            user,
            session,
            deps,
            since,
            last_seq: 0,
            last_heard: Instant::now(),
            closing: false,
        }
    }

    /// Writes frames one after another; the caller runs this as an atomic
    /// future so nothing else the actor does can interleave (see DEPENDENCIES.md).
    fn write(&self, frames: Vec<ByteString>) -> ResponseActFuture<Self, ()> {
        let mut session = self.session.clone();
        let timeout = self.deps.config.send_timeout;
        let send = async move {
            for frame in frames {
                match tokio::time::timeout(timeout, session.text(frame)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => return WriteOutcome::Closed,
                    Err(_) => return WriteOutcome::Stalled,
                }
            }
            WriteOutcome::Written
        };
        Box::pin(
            send.into_actor(self)
                .map(|outcome, act, ctx| match outcome {
                    WriteOutcome::Written => {}
                    WriteOutcome::Closed => ctx.stop(),
                    WriteOutcome::Stalled => {
                        act.close(ctx, CLOSE_RECONNECT, "send timed out; reconnect with since")
                    }
                }),
        )
    }

    /// Queues a reply behind whatever is already queued, keeping order.
    fn reply(&self, ctx: &mut Context<Self>, frame: ByteString) {
        let _ = ctx.address().try_send(Deliver { seq: None, frame });
    }

    fn reply_error(&self, ctx: &mut Context<Self>, code: &str, message: &str) {
        self.reply(ctx, ServerFrame::Error { code, message }.encode());
    }

    fn close(&mut self, ctx: &mut Context<Self>, code: u16, reason: &str) {
        if self.closing {
            return;
        }
        self.closing = true;
        let session = self.session.clone();
        let reason = CloseReason {
            code: CloseCode::from(code),
            description: Some(reason.to_string()),
        };
        actix::spawn(async move {
            let _ = tokio::time::timeout(CLOSE_GRACE, session.close(Some(reason))).await;
        });
        ctx.stop();
    }

    fn start_heartbeat(&self, ctx: &mut Context<Self>) {
        let interval = self.deps.config.heartbeat_interval;
        // A random first beat spreads pings out, so sessions that connected
        // together do not ping together (bursts pushed p99 up in the spike).
        let offset_ms = rand::random_range(0..interval.as_millis().max(1) as u64);
        ctx.run_later(Duration::from_millis(offset_ms), move |act, ctx| {
            act.beat(ctx);
            ctx.run_interval(interval, |act, ctx| act.beat(ctx));
        });
    }

    fn beat(&mut self, ctx: &mut Context<Self>) {
        if self.last_heard.elapsed() > self.deps.config.client_timeout {
            self.close(ctx, CLOSE_HEARTBEAT_TIMEOUT, "heartbeat timeout");
            return;
        }
        // Inside the actor's context: no task and no timer per ping. A ping
        // stuck behind a full buffer just waits; the timeout above ends it.
        let mut session = self.session.clone();
        ctx.spawn(
            async move {
                let _ = session.ping(b"").await;
            }
            .into_actor(self),
        );
    }

    fn on_text(&mut self, text: &str, ctx: &mut Context<Self>) {
        let frame = match ClientFrame::parse(text) {
            Ok(f) => f,
            Err(message) => return self.reply_error(ctx, "invalid_frame", &message),
        };
        let commands = self.deps.commands.clone();
        let user = self.user.clone();
        let fut = match frame {
            ClientFrame::Ping => return self.reply(ctx, ServerFrame::Pong.encode()),
            ClientFrame::MarkAllRead => commands.mark_all_read(user),
            ClientFrame::Ack { ids } => match ids
                .iter()
                .map(|s| Uuid::parse_str(s))
                .collect::<Result<Vec<_>, _>>()
            {
                Ok(ids) if ids.len() <= MAX_IDS_PER_FRAME => commands.ack(user, ids),
                _ => {
                    return self.reply_error(
                        ctx,
                        "invalid_notification_id",
                        "ack ids must be at most 1000 UUIDs",
                    )
                }
            },
            ClientFrame::MarkRead { ids } => {
                if ids.len() > MAX_IDS_PER_FRAME {
                    let msg = format!("at most {MAX_IDS_PER_FRAME} ids per frame");
                    return self.reply_error(ctx, "too_many_ids", &msg);
                }
                match ids
                    .iter()
                    .map(|s| Uuid::parse_str(s))
                    .collect::<Result<Vec<_>, _>>()
                {
                    Ok(ids) => commands.mark_read(user, ids),
                    Err(_) => {
                        return self.reply_error(
                            ctx,
                            "invalid_notification_id",
                            "ids must be UUIDs",
                        )
                    }
                }
            }
        };
        // The resulting read frame reaches every session (this one too) through the bus.
        ctx.spawn(fut.into_actor(self).map(|res, act, ctx| {
            if let Err((code, message)) = res {
                act.reply_error(ctx, code, &message);
            }
        }));
    }
}

type SetupResult = Result<(i64, u64, Vec<NotificationView>, bool), String>;

impl Actor for WsSession {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(self.deps.config.outbound_queue);
        self.start_heartbeat(ctx);
        let shard = self.deps.hub.shard_for(self.user.as_str()).clone();
        let connect = Connect {
            user_id: self.user.as_str().to_string(),
            session_id: self.id,
            deliver: ctx.address().recipient(),
            evict: ctx.address().recipient(),
        };
        let (db, user, since, max) = (
            self.deps.db.clone(),
            self.user.clone(),
            self.since,
            self.deps.config.max_replay,
        );
        // Register first and wait for the shard's answer; only then read the
        // database. A notification committed after the read is published
        // after registration, so it reaches us live; one caught by both is
        // dropped by seq. `ctx.wait` holds live frames back until hello and
        // the replay are written.
        let setup = async move {
            shard
                .send(connect)
                .await
                .map_err(|e| format!("hub unavailable: {e}"))?;
            let last = notifications::last_seq(&db, &user)
                .await
                .map_err(|e| e.to_string())?;
            let unread = notifications::unread_count(&db, &user)
                .await
                .map_err(|e| e.to_string())?;
            let (replay, recovered) = match since {
                Some(s) if (0..=last).contains(&s) => {
                    let rows = notifications::range(&db, &user, s, last, max + 1)
                        .await
                        .map_err(|e| e.to_string())?;
                    if rows.len() as u64 > max {
                        (vec![], false)
                    } else {
                        (rows, true)
                    }
                }
                _ => (vec![], false),
            };
            Ok((last, unread, replay, recovered))
        };
        ctx.wait(setup.into_actor(self).then(|res: SetupResult, act, ctx| {
            match res {
                Ok((last, unread, replay, recovered)) => {
                    act.last_seq = last;
                    let mut frames = Vec::with_capacity(replay.len() + 1);
                    frames.push(
                        ServerFrame::Hello { user_id: act.user.as_str(), unread_count: unread, last_seq: last, recovered }
                            .encode(),
                    );
                    frames.extend(replay.iter().map(|n| ServerFrame::Notification { notification: n }.encode()));
                    act.write(frames)
                }
                Err(e) => {
                    tracing::error!(user = %act.user, error = %e, "websocket session setup failed");
                    act.close(ctx, CLOSE_SERVER_ERROR, "session setup failed");
                    Box::pin(fut::ready(()))
                }
            }
        }));
    }

    fn stopping(&mut self, _: &mut Self::Context) -> Running {
        self.deps
            .hub
            .shard_for(self.user.as_str())
            .do_send(Disconnect {
                user_id: self.user.as_str().to_string(),
                session_id: self.id,
            });
        Running::Stop
    }
}

impl Handler<Deliver> for WsSession {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, msg: Deliver, _: &mut Self::Context) -> Self::Result {
        let done = || AtomicResponse::new(Box::pin(fut::ready(())));
        if self.closing {
            return done();
        }
        match msg.seq {
            // Already sent, by the replay or by a gap fill.
            Some(seq) if seq <= self.last_seq => done(),
            // Publishes of one user's notifications can overtake each other;
            // the missing ones are committed already, so read them and send in order.
            Some(seq) if seq > self.last_seq + 1 => {
                let (db, user, from, limit) = (
                    self.deps.db.clone(),
                    self.user.clone(),
                    self.last_seq,
                    self.deps.config.max_replay,
                );
                self.last_seq = seq;
                let fill =
                    async move { notifications::range(&db, &user, from, seq - 1, limit).await };
                AtomicResponse::new(Box::pin(fill.into_actor(self).then(move |res, act, _| {
                    let mut frames: Vec<ByteString> = match res {
                        Ok(rows) => rows
                            .iter()
                            .map(|n| ServerFrame::Notification { notification: n }.encode())
                            .collect(),
                        Err(e) => {
                            tracing::warn!(user = %act.user, error = %e, "gap fill failed");
                            vec![]
                        }
                    };
                    frames.push(msg.frame);
                    act.write(frames)
                })))
            }
            Some(seq) => {
                self.last_seq = seq;
                AtomicResponse::new(self.write(vec![msg.frame]))
            }
            None => AtomicResponse::new(self.write(vec![msg.frame])),
        }
    }
}

impl Handler<Evict> for WsSession {
    type Result = ();
    fn handle(&mut self, msg: Evict, ctx: &mut Self::Context) {
        self.close(ctx, msg.code, msg.reason);
    }
}

impl StreamHandler<Result<AggregatedMessage, ProtocolError>> for WsSession {
    fn handle(&mut self, item: Result<AggregatedMessage, ProtocolError>, ctx: &mut Self::Context) {
        self.last_heard = Instant::now();
        match item {
            Ok(AggregatedMessage::Text(text)) => self.on_text(&text, ctx),
            Ok(AggregatedMessage::Binary(_)) => self.reply_error(
                ctx,
                "unsupported_frame",
                "binary frames are not supported; send JSON text",
            ),
            Ok(AggregatedMessage::Ping(payload)) => {
                let mut session = self.session.clone();
                actix::spawn(async move {
                    let _ =
                        tokio::time::timeout(CONTROL_SEND_TIMEOUT, session.pong(&payload)).await;
                });
            }
            Ok(AggregatedMessage::Pong(_)) => {}
            Ok(AggregatedMessage::Close(_)) => self.close(ctx, 1000, "closing"),
            Err(ProtocolError::Overflow) => self.close(ctx, 1009, "frame too large"),
            Err(e) => {
                tracing::debug!(user = %self.user, error = %e, "websocket protocol error");
                self.close(ctx, 1002, "protocol error");
            }
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        ctx.stop();
    }
}
