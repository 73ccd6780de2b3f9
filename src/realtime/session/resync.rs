//! Catching up after the bus between nodes was down: frames published while
//! this node could not hear them are read back from the database, and a
//! fresh `hello` carries the current unread count (read, unread and delete
//! frames missed in the outage are not replayed one by one).

use super::WsSession;
use crate::persistence::{inbox, notifications};
use crate::protocol::ServerFrame;
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
        let read = async move {
            let last = notifications::last_seq(&db, &user).await?;
            let counts = inbox::counts(&db, &user).await?;
            let rows = if last > from {
                notifications::range(&db, &user, from, last, max + 1).await?
            } else {
                vec![]
            };
            Ok::<_, crate::persistence::StoreError>((last, counts, rows))
        };
        AtomicResponse::new(Box::pin(read.into_actor(self).then(move |res, act, _| {
            let frames: Vec<ByteString> = match res {
                Ok((last, counts, rows)) => {
                    // More than a replay's worth missed: the client is told it is incomplete.
                    let recovered = rows.len() as u64 <= max;
                    let mut frames: Vec<ByteString> = if recovered {
                        rows.iter()
                            .map(|n| ServerFrame::Notification { notification: n }.encode())
                            .collect()
                    } else {
                        vec![]
                    };
                    act.last_seq = act.last_seq.max(last);
                    frames.push(
                        ServerFrame::Hello {
                            user_id: act.user.as_str(),
                            unread_count: counts.unread,
                            unseen_count: counts.unseen,
                            last_seq: act.last_seq,
                            recovered,
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
