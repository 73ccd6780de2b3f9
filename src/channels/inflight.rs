//! The leases this node holds for sends in flight. A drain waits for them to
//! settle, and ends the leases of those that do not in time, so another node
//! retries them at once instead of after the lease runs out.

use crate::persistence::deliveries::{self, Delivery};
use crate::persistence::StoreResult;
use sea_orm::DatabaseConnection;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;
use uuid::Uuid;

/// Cheap to clone; every clone sees the same leases.
#[derive(Clone, Default)]
pub struct InFlight {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Delivery id → the lease token it was claimed with.
    held: Mutex<HashMap<Uuid, Uuid>>,
    /// Set by [`InFlight::release_all`]: a send still running must not renew a lease given up.
    released: AtomicBool,
    emptied: Notify,
}

/// One send's place in [`InFlight`]: taken when the row is claimed, given
/// back when it is dropped, however the send ends (settled, panicked, or its
/// actor stopped).
pub struct Tracked {
    inflight: InFlight,
    id: Uuid,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        let mut held = self.inflight.lock();
        held.remove(&self.id);
        if held.is_empty() {
            self.inflight.inner.emptied.notify_waiters();
        }
    }
}

impl InFlight {
    /// Tracks a claimed delivery; `None` when it carries no lease (nothing to release).
    pub fn track(&self, delivery: &Delivery) -> Option<Tracked> {
        let lease = delivery.lease?;
        Some(self.track_lease(delivery.id, lease.token))
    }

    fn track_lease(&self, id: Uuid, token: Uuid) -> Tracked {
        self.lock().insert(id, token);
        Tracked {
            inflight: self.clone(),
            id,
        }
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// False once the leases were released: renewing one would hold it again.
    pub fn renewing(&self) -> bool {
        !self.inner.released.load(Ordering::SeqCst)
    }

    /// Resolves once no send is in flight.
    pub async fn emptied(&self) {
        loop {
            let notified = self.inner.emptied.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_empty() {
                return;
            }
            notified.await;
        }
    }

    /// Ends the lease of every send still in flight (fenced by its token) and
    /// stops renewals; returns how many rows another node may now claim. A
    /// send that still finishes first settles as usual; one that finishes
    /// after another node claimed the row is refused as stale.
    pub async fn release_all(&self, db: &DatabaseConnection) -> StoreResult<usize> {
        self.inner.released.store(true, Ordering::SeqCst);
        let held: Vec<(Uuid, Uuid)> = self.lock().iter().map(|(d, t)| (*d, *t)).collect();
        let mut released = 0;
        for (id, token) in held {
            if deliveries::release(db, id, token, chrono::Utc::now()).await? {
                released += 1;
            }
        }
        Ok(released)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Uuid>> {
        self.inner
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_send_is_in_flight_until_its_tracker_drops() {
        let inflight = InFlight::default();
        inflight.emptied().await;
        let a = inflight.track_lease(Uuid::now_v7(), Uuid::now_v7());
        let b = inflight.track_lease(Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(inflight.len(), 2);
        let waiter = tokio::spawn({
            let i = inflight.clone();
            async move { i.emptied().await }
        });
        drop(a);
        assert_eq!(inflight.len(), 1);
        drop(b);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("emptied in time")
            .expect("join");
        assert!(inflight.is_empty());
    }

    #[test]
    fn leases_are_renewed_until_released() {
        let inflight = InFlight::default();
        assert!(inflight.renewing());
        inflight.inner.released.store(true, Ordering::SeqCst);
        assert!(!inflight.clone().renewing());
    }
}
