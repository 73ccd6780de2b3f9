//! Where a session stands against the database: the user's newest seq, the
//! counts, and the notifications it missed. WebSocket and SSE sessions read
//! it on setup (`since`) and again after the bus between nodes was down.

use crate::domain::{NotificationView, UserId};
use crate::persistence::{inbox, notifications, StoreResult};
use sea_orm::DatabaseConnection;

pub struct CatchUp {
    pub last_seq: i64,
    pub counts: inbox::Counts,
    /// The missed notifications in seq order; empty unless `recovered`.
    pub replay: Vec<NotificationView>,
    /// The replay is complete: at most `max` were missed from where it started.
    pub recovered: bool,
}

/// Reads the user's position; `start(last_seq)` says which seq to replay
/// after (none: no replay, and `recovered` is false).
pub async fn read(
    db: &DatabaseConnection,
    user: &UserId,
    max: u64,
    start: impl FnOnce(i64) -> Option<i64>,
) -> StoreResult<CatchUp> {
    let last_seq = notifications::last_seq(db, user).await?;
    let counts = inbox::counts(db, user).await?;
    let (replay, recovered) = match start(last_seq) {
        // Nothing after it: no query needed.
        Some(from) if from >= last_seq => (vec![], true),
        Some(from) => {
            let rows = notifications::range(db, user, from, last_seq, max + 1).await?;
            if rows.len() as u64 > max {
                (vec![], false)
            } else {
                (rows, true)
            }
        }
        None => (vec![], false),
    };
    Ok(CatchUp {
        last_seq,
        counts,
        replay,
        recovered,
    })
}
