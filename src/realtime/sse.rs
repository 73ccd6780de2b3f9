//! One actor per Server-Sent Events stream: the WebSocket session's
//! delivery half for clients whose upgrade is blocked. It registers with the
//! hub like a socket does, resumes gap-free from the database, and writes
//! into a bounded channel that the HTTP response body drains.

use super::catchup;
use super::limits::ConnectionSlot;
use super::messages::{Connect, Deliver, Disconnect, Evict, Resync};
use super::session::SessionDeps;
use super::sse_frame;
use crate::domain::{NotificationView, UserId};
use crate::persistence::{inbox, notifications};
use crate::protocol::ServerFrame;
use actix::prelude::*;
use bytes::Bytes;
use futures_util::Stream;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::{self, error::TrySendError};

/// A comment is written this often, so idle proxies keep the stream and a
/// vanished client is noticed by a failed write.
pub const SSE_HEARTBEAT: Duration = Duration::from_secs(15);

pub struct SseSession {
    id: u64,
    user: UserId,
    deps: Arc<SessionDeps>,
    /// The resume point, from `Last-Event-ID` or `?since=`.
    since: Option<i64>,
    /// Highest seq written to this stream (or known of, after hello).
    last_seq: i64,
    out: mpsc::Sender<Bytes>,
    /// This stream's place under the per-user and per-IP caps, given back in `stopping()`.
    slot: Option<ConnectionSlot>,
}

type SetupResult = Result<(i64, inbox::Counts, Vec<NotificationView>, bool), String>;

impl SseSession {
    /// Starts the actor and returns the response body it writes to. The
    /// stream ends when the actor stops; the actor stops when the client
    /// goes (the body is dropped), is too slow, or the hub evicts it.
    pub fn open(
        user: UserId,
        deps: Arc<SessionDeps>,
        since: Option<i64>,
        slot: ConnectionSlot,
    ) -> impl Stream<Item = Result<Bytes, Infallible>> {
        let (out, mut rx) = mpsc::channel(deps.config.outbound_queue.max(1));
        let session = Self {
            id: deps.next_session_id(),
            user,
            deps,
            since,
            last_seq: 0,
            out,
            slot: Some(slot),
        };
        session.start();
        futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx).map(|c| c.map(Ok)))
    }

    /// Queues one chunk; a full queue means the client stopped reading, so
    /// the stream ends and the browser reconnects with `Last-Event-ID`.
    fn write(&mut self, ctx: &mut Context<Self>, chunk: Bytes) {
        match self.out.try_send(chunk) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                tracing::info!(user = %self.user, "sse client too slow; stream ended for a resume");
                ctx.stop();
            }
            Err(TrySendError::Closed(_)) => ctx.stop(),
        }
    }

    fn encode(notifications: &[NotificationView]) -> String {
        notifications
            .iter()
            .map(|n| {
                let frame = ServerFrame::Notification { notification: n }.encode();
                sse_frame::event(&frame, Some(n.seq))
            })
            .collect()
    }

    /// Same order as the socket: register, wait for the shard, then read, so
    /// a notification committed after the read reaches us live.
    fn start_setup(&mut self, ctx: &mut Context<Self>) {
        let shard = self.deps.hub.shard_for(self.user.as_str()).clone();
        let connect = Connect {
            user_id: self.user.as_str().to_string(),
            session_id: self.id,
            deliver: ctx.address().recipient(),
            evict: ctx.address().recipient(),
            resync: ctx.address().recipient(),
        };
        let (db, user, since, max) = (
            self.deps.db.clone(),
            self.user.clone(),
            self.since,
            self.deps.config.max_replay,
        );
        let setup = async move {
            shard
                .send(connect)
                .await
                .map_err(|e| format!("hub unavailable: {e}"))?;
            let c = catchup::read(&db, &user, max, |last| {
                since.filter(|s| (0..=last).contains(s))
            })
            .await
            .map_err(|e| e.to_string())?;
            Ok((c.last_seq, c.counts, c.replay, c.recovered))
        };
        ctx.wait(setup.into_actor(self).map(|res: SetupResult, act, ctx| {
            let (last, counts, replay, recovered) = match res {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(user = %act.user, error = %e, "sse session setup failed");
                    return ctx.stop();
                }
            };
            act.last_seq = last;
            let hello = ServerFrame::Hello {
                user_id: act.user.as_str(),
                unread_count: counts.unread,
                unseen_count: counts.unseen,
                last_seq: last,
                recovered,
            }
            .encode();
            // Hello's id is where a reconnect must resume: after a full
            // replay that is the replay's end, which the replay frames
            // advance to; otherwise the client reloads and starts at `last`.
            let hello_id = match (recovered, act.since) {
                (true, Some(s)) => s,
                _ => last,
            };
            let mut chunk = sse_frame::preamble();
            chunk.push_str(&sse_frame::event(&hello, Some(hello_id)));
            chunk.push_str(&Self::encode(&replay));
            act.write(ctx, Bytes::from(chunk));
        }));
    }
}

impl Actor for SseSession {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(self.deps.config.outbound_queue);
        ctx.run_interval(SSE_HEARTBEAT, |act, ctx| {
            act.write(ctx, sse_frame::heartbeat())
        });
        // The response body is dropped when the client disconnects.
        let out = self.out.clone();
        ctx.spawn(
            async move { out.closed().await }
                .into_actor(self)
                .map(|(), _, ctx| ctx.stop()),
        );
        self.start_setup(ctx);
    }

    fn stopping(&mut self, _: &mut Self::Context) -> Running {
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

impl Handler<Deliver> for SseSession {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, msg: Deliver, ctx: &mut Self::Context) -> Self::Result {
        let done = || AtomicResponse::new(Box::pin(fut::ready(())));
        match msg.seq {
            Some(seq) if seq <= self.last_seq => done(),
            // A later publish overtook earlier ones; those are committed, so
            // read them and write everything in order.
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
                AtomicResponse::new(Box::pin(fill.into_actor(self).map(move |res, act, ctx| {
                    let mut chunk = match res {
                        Ok(rows) => Self::encode(&rows),
                        Err(e) => {
                            tracing::warn!(user = %act.user, error = %e, "sse gap fill failed");
                            String::new()
                        }
                    };
                    chunk.push_str(&sse_frame::event(&msg.frame, Some(seq)));
                    act.write(ctx, Bytes::from(chunk));
                })))
            }
            seq => {
                if let Some(seq) = seq {
                    self.last_seq = seq;
                }
                let chunk = sse_frame::event(&msg.frame, seq);
                self.write(ctx, Bytes::from(chunk));
                done()
            }
        }
    }
}

/// Sent by a shard whose queue for this stream overflowed: end the stream,
/// and the browser resumes from its `Last-Event-ID`.
impl Handler<Evict> for SseSession {
    type Result = ();
    fn handle(&mut self, msg: Evict, ctx: &mut Self::Context) {
        tracing::info!(user = %self.user, reason = msg.reason, "sse stream evicted");
        ctx.stop();
    }
}

/// After the bus between nodes was down: read back what this stream missed,
/// then a fresh `hello` with the current counts (as the WebSocket does).
impl Handler<Resync> for SseSession {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, _: Resync, _: &mut Self::Context) -> Self::Result {
        let (db, user, from, max) = (
            self.deps.db.clone(),
            self.user.clone(),
            self.last_seq,
            self.deps.config.max_replay,
        );
        let read = async move { catchup::read(&db, &user, max, |last| Some(from.min(last))).await };
        AtomicResponse::new(Box::pin(read.into_actor(self).map(move |res, act, ctx| {
            let c = match res {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(user = %act.user, error = %e, "sse resync after a bus outage failed");
                    return;
                }
            };
            let mut chunk = Self::encode(&c.replay);
            act.last_seq = act.last_seq.max(c.last_seq);
            let hello = ServerFrame::Hello {
                user_id: act.user.as_str(),
                unread_count: c.counts.unread,
                unseen_count: c.counts.unseen,
                last_seq: act.last_seq,
                recovered: c.recovered,
            }
            .encode();
            chunk.push_str(&sse_frame::event(&hello, Some(act.last_seq)));
            act.write(ctx, Bytes::from(chunk));
        })))
    }
}
