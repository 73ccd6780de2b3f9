//! The supervised pub/sub connection: connect, subscribe, tell local
//! sessions to resync (frames may have been missed while it was down), then
//! hand every foreign envelope to the local hub until the connection ends;
//! then back off and start again.

use super::super::{Bus, BusError, BusHealth, Envelope, LinkState, NodeId};
use super::{Layout, RECONNECT_MAX, RECONNECT_MIN};
use crate::realtime::{Hub, InProcessBus};
use futures_util::StreamExt;
use rand::Rng;
use std::time::Duration;
use tokio::sync::watch;

/// Most channels named in one SUBSCRIBE.
const SUBSCRIBE_CHUNK: usize = 1000;

/// What happened to one received payload.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivered {
    Local,
    /// This node published it and delivered it already.
    OwnEcho,
    Malformed,
}

pub struct SubscriberParts {
    pub client: redis::Client,
    pub hub: Hub,
    pub local: InProcessBus,
    pub node: NodeId,
    pub layout: Layout,
    pub prefix: String,
    pub health: BusHealth,
}

pub struct Subscriber(SubscriberParts);

impl Subscriber {
    pub fn new(parts: SubscriberParts) -> Self {
        Self(parts)
    }

    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut failures = 0u32;
        loop {
            let outcome = tokio::select! {
                _ = shutdown.changed() => return,
                r = self.connection(&mut failures) => r,
            };
            self.0.health.set(LinkState::Degraded);
            match outcome {
                Ok(()) => tracing::warn!("bus subscription ended; reconnecting"),
                Err(e) => tracing::warn!(error = %e, failures, "bus subscription failed; retrying"),
            }
            let wait = backoff(failures);
            failures = failures.saturating_add(1);
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// One connection's life. Returns when the server closes it.
    async fn connection(&self, failures: &mut u32) -> Result<(), BusError> {
        let p = &self.0;
        let (mut sink, mut stream) = p.client.get_async_pubsub().await?.split();
        let channels = p.layout.channels(&p.prefix);
        for chunk in channels.chunks(SUBSCRIBE_CHUNK) {
            sink.subscribe(chunk).await?;
        }
        p.health.set(LinkState::Connected);
        *failures = 0;
        tracing::info!(node = %p.node, channels = channels.len(), "bus subscribed");
        // Subscribed first, then resync: a frame published from here on arrives
        // live, one published before is committed already and read back.
        p.hub.resync_all();
        while let Some(msg) = stream.next().await {
            self.deliver(msg.get_payload_bytes());
        }
        Ok(())
    }

    /// The single step: one payload from Redis to the local hub.
    pub fn deliver(&self, payload: &[u8]) -> Delivered {
        deliver(&self.0.node, &self.0.local, payload)
    }
}

fn deliver(node: &NodeId, local: &InProcessBus, payload: &[u8]) -> Delivered {
    let env = match Envelope::decode(payload) {
        Ok(e) => e,
        Err(e) => {
            tracing::debug!(error = %e, "malformed bus envelope ignored");
            return Delivered::Malformed;
        }
    };
    if env.node == node.as_str() {
        return Delivered::OwnEcho;
    }
    match env.into_message() {
        Ok(msg) => {
            local.publish(msg);
            Delivered::Local
        }
        Err(_) => Delivered::Malformed,
    }
}

/// Exponential from [`RECONNECT_MIN`] up to [`RECONNECT_MAX`], with full jitter
/// on the upper half so restarted nodes do not reconnect in step.
fn backoff(failures: u32) -> Duration {
    let exp = RECONNECT_MIN.saturating_mul(1u32 << failures.min(10));
    let cap = exp.min(RECONNECT_MAX);
    let half = cap / 2;
    half + half.mul_f64(rand::rng().random::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_capped() {
        assert!(backoff(0) <= RECONNECT_MIN);
        assert!(backoff(0) >= RECONNECT_MIN / 2);
        assert!(backoff(3) >= RECONNECT_MIN * 4);
        for f in [10, 20, u32::MAX] {
            assert!(backoff(f) <= RECONNECT_MAX);
            assert!(backoff(f) >= RECONNECT_MAX / 2);
        }
    }

    #[actix_web::test]
    async fn a_node_ignores_its_own_echo_and_garbage() {
        let hub = Hub::start(1);
        let local = InProcessBus::new(hub);
        let me = NodeId::parse("me").unwrap();
        let msg = crate::bus::BusMessage {
            user_id: crate::domain::UserId::parse("u").unwrap(),
            seq: Some(1),
            frame: "{}".into(),
        };
        let own = Envelope::encode(&me, &msg);
        assert_eq!(deliver(&me, &local, &own), Delivered::OwnEcho);
        let other = Envelope::encode(&NodeId::parse("other").unwrap(), &msg);
        assert_eq!(deliver(&me, &local, &other), Delivered::Local);
        assert_eq!(deliver(&me, &local, b"\x01\xff"), Delivered::Malformed);
    }
}
