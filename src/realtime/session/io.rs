//! Writing to the socket: frames in order, replies, close, heartbeat.

use super::WsSession;
use crate::protocol::{ServerFrame, CLOSE_HEARTBEAT_TIMEOUT, CLOSE_RECONNECT};
use crate::realtime::messages::Deliver;
use actix::prelude::*;
use actix_ws::{CloseCode, CloseReason};
use bytestring::ByteString;
use std::time::Duration;

/// How long a close frame may wait for room in the outbound buffer.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

enum WriteOutcome {
    Written,
    Closed,
    Stalled,
}

impl WsSession {
    /// Writes frames one after another; the caller runs this as an atomic
    /// future so nothing else the actor does can interleave: actix-ws's
    /// `Session` is one sink, and two writers would interleave frames.
    pub(super) fn write(&self, frames: Vec<ByteString>) -> ResponseActFuture<Self, ()> {
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

    /// Queues a reply behind whatever is already queued, keeping order. A
    /// full mailbox drops it: that client is not reading and will be evicted.
    pub(super) fn reply(&self, ctx: &mut Context<Self>, frame: ByteString) {
        let _ = ctx.address().try_send(Deliver { seq: None, frame });
    }

    pub(super) fn reply_error(&self, ctx: &mut Context<Self>, code: &str, message: &str) {
        self.reply(ctx, ServerFrame::Error { code, message }.encode());
    }

    pub(super) fn close(&mut self, ctx: &mut Context<Self>, code: u16, reason: &str) {
        if self.closing {
            return;
        }
        self.closing = true;
        self.close_code = Some(code);
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

    pub(super) fn start_heartbeat(&self, ctx: &mut Context<Self>) {
        let interval = self.deps.config.heartbeat_interval;
        // A random phase spreads pings out, so sessions that connected
        // together do not ping together (bursts pushed p99 up in the spike).
        let phase =
            Duration::from_millis(rand::random_range(0..interval.as_millis().max(1) as u64));
        self.schedule_beat(ctx, phase);
    }

    /// The next ping, on the shared grid (see `beat`): every beat is placed
    /// from the epoch, so a late wake-up does not shift the session's phase.
    fn schedule_beat(&self, ctx: &mut Context<Self>, wait: Duration) {
        let delay = super::beat::until_grid(self.deps.epoch.elapsed(), wait);
        ctx.run_later(delay, |act, ctx| {
            act.beat(ctx);
            if !act.closing {
                act.schedule_beat(ctx, act.deps.config.heartbeat_interval);
            }
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
}
