//! Every open session on this node, so a drain can close them all with
//! [`CLOSE_GOING_AWAY_RECONNECT`]. Kept apart from the hub shards: the
//! shards index sessions by user for publishing, this only needs to reach
//! each one once, and it also turns away sessions that start mid-drain.

use super::messages::Evict;
use crate::protocol::CLOSE_GOING_AWAY_RECONNECT;
use crate::shutdown::Draining;
use actix::Recipient;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// The close reason sent with 4002.
pub const GOING_AWAY_REASON: &str = "this node is going away; reconnect with since";

/// Cheap to clone; every clone sees the same sessions.
#[derive(Clone)]
pub struct SessionRegistry {
    inner: Arc<Inner>,
}

struct Inner {
    draining: Draining,
    sessions: Mutex<HashMap<u64, Recipient<Evict>>>,
    emptied: Notify,
}

/// Registration refused: the node is draining and the session must close with 4002.
#[derive(Debug, PartialEq, Eq)]
pub struct NodeDraining;

impl SessionRegistry {
    pub fn new(draining: Draining) -> Self {
        Self {
            inner: Arc::new(Inner {
                draining,
                sessions: Mutex::new(HashMap::new()),
                emptied: Notify::new(),
            }),
        }
    }

    /// Called from a session's `started()`.
    pub fn register(&self, id: u64, evict: Recipient<Evict>) -> Result<(), NodeDraining> {
        let mut sessions = self.lock();
        // Checked under the lock: a drain that began takes this lock to evict,
        // so a session either sees the flag or is in the map it evicts.
        if self.inner.draining.is_draining() {
            return Err(NodeDraining);
        }
        sessions.insert(id, evict);
        Ok(())
    }

    /// Called from a session's `stopping()`.
    pub fn deregister(&self, id: u64) {
        let mut sessions = self.lock();
        sessions.remove(&id);
        if sessions.is_empty() {
            self.inner.emptied.notify_waiters();
        }
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Marks the node draining and asks every session to close with 4002.
    /// Returns how many were asked. `do_send` ignores the mailbox bound, so a
    /// session with a full queue is still told; frames queued before it are
    /// written first.
    pub fn evict_all(&self) -> usize {
        let sessions = self.lock();
        self.inner.draining.start();
        for evict in sessions.values() {
            evict.do_send(Evict {
                code: CLOSE_GOING_AWAY_RECONNECT,
                reason: GOING_AWAY_REASON,
            });
        }
        sessions.len()
    }

    /// Resolves once no session is left.
    pub async fn emptied(&self) {
        loop {
            let notified = self.inner.emptied.notified();
            tokio::pin!(notified);
            // Registered before the check, so a deregister in between is not missed.
            notified.as_mut().enable();
            if self.is_empty() {
                return;
            }
            notified.await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Recipient<Evict>>> {
        // A panic elsewhere while holding the lock leaves a usable map.
        self.inner
            .sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix::prelude::*;
    use std::sync::atomic::{AtomicU16, Ordering};

    struct Probe(Arc<AtomicU16>);
    impl Actor for Probe {
        type Context = Context<Self>;
    }
    impl Handler<Evict> for Probe {
        type Result = ();
        fn handle(&mut self, msg: Evict, _: &mut Self::Context) {
            self.0.store(msg.code, Ordering::SeqCst);
        }
    }

    #[actix::test]
    async fn evicting_all_sessions_sends_4002_and_refuses_later_ones() {
        let registry = SessionRegistry::new(Draining::default());
        let codes: Vec<Arc<AtomicU16>> = (0..3).map(|_| Arc::default()).collect();
        for (id, code) in codes.iter().enumerate() {
            let probe = Probe(code.clone()).start();
            registry
                .register(id as u64, probe.recipient())
                .expect("not draining yet");
        }
        assert_eq!(registry.evict_all(), 3);
        let late = Probe(Arc::default()).start();
        assert_eq!(registry.register(9, late.recipient()), Err(NodeDraining));
        for _ in 0..100 {
            if codes.iter().all(|c| c.load(Ordering::SeqCst) == 4002) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(codes.iter().all(|c| c.load(Ordering::SeqCst) == 4002));
    }

    #[actix::test]
    async fn emptied_resolves_once_the_last_session_deregisters() {
        let registry = SessionRegistry::new(Draining::default());
        registry.emptied().await;
        let probe = Probe(Arc::default()).start();
        registry
            .register(1, probe.clone().recipient())
            .expect("open");
        registry.register(2, probe.recipient()).expect("open");
        let waiter = tokio::spawn({
            let r = registry.clone();
            async move { r.emptied().await }
        });
        registry.deregister(1);
        assert!(!waiter.is_finished());
        registry.deregister(2);
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("emptied in time")
            .expect("join");
    }
}
