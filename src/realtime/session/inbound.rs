//! Client frames. Each passes the frame throttle first; a command that
//! needs the database also needs one of the session's command slots, so a
//! flood can neither queue work without bound nor hold the pool.

use super::WsSession;
use crate::protocol::{ClientFrame, ServerFrame, CLOSE_POLICY_VIOLATION};
use crate::realtime::messages::{Deliver, Evict};
use crate::realtime::throttle::Verdict;
use actix::prelude::*;
use actix_ws::{AggregatedMessage, ProtocolError};
use std::time::{Duration, Instant};

/// How long a control frame (pong) may wait before it is dropped.
const CONTROL_SEND_TIMEOUT: Duration = Duration::from_secs(5);

impl WsSession {
    /// Applies the frame throttle; false means drop the frame.
    fn admit_frame(&mut self, ctx: &mut Context<Self>) -> bool {
        if self.condemned || self.closing {
            return false;
        }
        match self.throttle.admit(Instant::now()) {
            Verdict::Admit => true,
            Verdict::Refuse { notify } => {
                if notify {
                    let message = format!(
                        "more than {} frames per second (burst {}); frames are dropped, and a client that keeps sending is closed",
                        self.deps.config.frames_per_sec, self.deps.config.frames_burst
                    );
                    let frame = ServerFrame::Error {
                        code: "rate_limited",
                        message: &message,
                    }
                    .encode();
                    // do_send: at most one notice per abuse window, and it must not be lost to a full mailbox.
                    ctx.address().do_send(Deliver { seq: None, frame });
                }
                false
            }
            Verdict::Close => {
                tracing::info!(user = %self.user, "websocket client closed for sustained frame flooding");
                self.condemned = true;
                // Through the mailbox, so the notice queued before it is written first.
                ctx.address().do_send(Evict {
                    code: CLOSE_POLICY_VIOLATION,
                    reason: "rate limit exceeded",
                });
                false
            }
        }
    }

    fn on_text(&mut self, text: &str, ctx: &mut Context<Self>) {
        let frame = match ClientFrame::parse(text) {
            Ok(f) => f,
            Err(e) => return self.reply_error(ctx, e.code(), &e.to_string()),
        };
        if frame.is_command() && self.in_flight >= self.deps.config.commands_in_flight {
            let message = format!(
                "{} commands are already running on this socket; retry when one is answered",
                self.deps.config.commands_in_flight
            );
            return self.reply_error(ctx, "busy", &message);
        }
        let commands = self.deps.commands.clone();
        let user = self.user.clone();
        let uuids = |ids: Vec<crate::domain::NotificationId>| {
            ids.iter().map(|id| id.as_uuid()).collect::<Vec<_>>()
        };
        let fut = match frame {
            ClientFrame::Ping => return self.reply(ctx, ServerFrame::Pong.encode()),
            ClientFrame::MarkAllRead => commands.mark_all_read(user),
            ClientFrame::Ack { ids } => commands.ack(user, uuids(ids)),
            ClientFrame::MarkRead { ids } => commands.mark_read(user, uuids(ids)),
            ClientFrame::MarkSeen { ids } => commands.mark_seen(user, uuids(ids)),
            ClientFrame::MarkAllSeen => commands.mark_all_seen(user),
        };
        self.in_flight += 1;
        // The resulting read frame reaches every session (this one too) through the bus.
        ctx.spawn(fut.into_actor(self).map(|res, act, ctx| {
            act.in_flight = act.in_flight.saturating_sub(1);
            if let Err((code, message)) = res {
                act.reply_error(ctx, code, &message);
            }
        }));
    }
}

impl StreamHandler<Result<AggregatedMessage, ProtocolError>> for WsSession {
    fn handle(&mut self, item: Result<AggregatedMessage, ProtocolError>, ctx: &mut Self::Context) {
        self.last_heard = Instant::now();
        // A close is always honoured and errors always end the socket; every
        // other frame, control frames included, is paid for from the bucket.
        let counted = matches!(
            item,
            Ok(AggregatedMessage::Text(_)
                | AggregatedMessage::Binary(_)
                | AggregatedMessage::Ping(_)
                | AggregatedMessage::Pong(_))
        );
        if counted && !self.admit_frame(ctx) {
            return;
        }
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
