//! Frames from the hub: in seq order, gaps filled from the database.

use super::WsSession;
use crate::persistence::notifications;
use crate::protocol::ServerFrame;
use crate::realtime::messages::{Deliver, Evict};
use actix::prelude::*;
use bytestring::ByteString;

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
                self.deps.metrics.notification_frame(&msg.frame);
                AtomicResponse::new(self.write(vec![msg.frame]))
            }
            None => AtomicResponse::new(self.write(vec![msg.frame])),
        }
    }
}

/// Sent by a shard whose queue for this session overflowed, and by the
/// session itself to close behind the frames it already queued.
impl Handler<Evict> for WsSession {
    type Result = ();
    fn handle(&mut self, msg: Evict, ctx: &mut Self::Context) {
        self.close(ctx, msg.code, msg.reason);
    }
}
