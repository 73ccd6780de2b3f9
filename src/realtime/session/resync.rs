//! Catching up after the bus between nodes was down: frames published while
//! this node could not hear them are read back from the database, and a
//! fresh `hello` carries the current unread count (read, unread and delete
//! frames missed in the outage are not replayed one by one).

use super::WsSession;
use crate::protocol::ServerFrame;
use crate::realtime::catchup;
use crate::realtime::messages::Resync;
use actix::prelude::*;
use bytestring::ByteString;

impl Handler<Resync> for WsSession {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, _: Resync, _: &mut Self::Context) -> Self::Result {
        if self.closing {
            return AtomicResponse::new(Box::pin(fut::ready(())));
        }
        let (db, user, from, max) = (
            self.deps.db.clone(),
            self.user.clone(),
            self.last_seq,
            self.deps.config.max_replay,
        );
        let read = async move { catchup::read(&db, &user, max, |last| Some(from.min(last))).await };
        AtomicResponse::new(Box::pin(read.into_actor(self).then(move |res, act, _| {
            let frames: Vec<ByteString> = match res {
                Ok(c) => {
                    // More than a replay's worth missed: the client is told it is incomplete.
                    let mut frames: Vec<ByteString> = c
                        .replay
                        .iter()
                        .map(|n| ServerFrame::Notification { notification: n }.encode())
                        .collect();
                    act.last_seq = act.last_seq.max(c.last_seq);
                    frames.push(
                        ServerFrame::Hello {
                            user_id: act.user.as_str(),
                            unread_count: c.counts.unread,
                            unseen_count: c.counts.unseen,
                            last_seq: act.last_seq,
                            recovered: c.recovered,
                        }
                        .encode(),
                    );
                    frames
                }
                Err(e) => {
                    tracing::warn!(user = %act.user, error = %e, "resync after a bus outage failed");
                    vec![]
                }
            };
            act.write(frames)
        })))
    }
}
