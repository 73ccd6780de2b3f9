//! Registering with the hub, then hello and the `since` replay.

use super::WsSession;
use crate::domain::NotificationView;
use crate::persistence::inbox;
use crate::protocol::{ServerFrame, CLOSE_SERVER_ERROR};
use crate::realtime::catchup;
use crate::realtime::messages::Connect;
use actix::prelude::*;

type SetupResult = Result<(i64, inbox::Counts, Vec<NotificationView>, bool), String>;

impl WsSession {
    pub(super) fn start_setup(&mut self, ctx: &mut Context<Self>) {
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
            let c = catchup::read(&db, &user, max, |last| {
                since.filter(|s| (0..=last).contains(s))
            })
            .await
            .map_err(|e| e.to_string())?;
            Ok((c.last_seq, c.counts, c.replay, c.recovered))
        };
        ctx.wait(setup.into_actor(self).then(|res: SetupResult, act, ctx| {
            match res {
                Ok((last, counts, replay, recovered)) => {
                    act.last_seq = last;
                    let mut frames = Vec::with_capacity(replay.len() + 1);
                    frames.push(
                        ServerFrame::Hello {
                            user_id: act.user.as_str(),
                            unread_count: counts.unread,
                            unseen_count: counts.unseen,
                            last_seq: last,
                            recovered,
                        }
                        .encode(),
                    );
                    frames.extend(
                        replay
                            .iter()
                            .map(|n| ServerFrame::Notification { notification: n }.encode()),
                    );
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
}
