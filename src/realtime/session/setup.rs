//! Registering with the hub, then hello and the `since` replay.

use super::WsSession;
use crate::domain::NotificationView;
use crate::persistence::{inbox, notifications};
use crate::protocol::{ServerFrame, CLOSE_SERVER_ERROR};
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
            let last = notifications::last_seq(&db, &user)
                .await
                .map_err(|e| e.to_string())?;
            let counts = inbox::counts(&db, &user).await.map_err(|e| e.to_string())?;
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
            Ok((last, counts, replay, recovered))
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
