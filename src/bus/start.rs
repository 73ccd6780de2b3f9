//! Builds the bus chosen by `HERALD_BUS` and starts its background parts.
//! Startup calls [`start`] and does not know what is inside.

use super::presence::LocalPresence;
use super::redis::{
    PresenceHeartbeat, PresenceObserver, Publisher, RedisBus, RedisPresence, Subscriber,
    SubscriberParts,
};
use super::{Bus, BusHealth, BusKind, BusSettings, NodeId, Presence};
use crate::config::Settings;
use crate::realtime::{Hub, InProcessBus};
use actix::Actor;
use anyhow::Context;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::ExposeSecret;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// A Redis command that takes longer than this fails (and is retried by whoever issued it).
const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

/// What routes need from the bus: its health for `/ready`, presence, this node's id.
#[derive(Clone)]
pub struct BusHandles {
    pub health: BusHealth,
    pub presence: Arc<dyn Presence>,
    pub node: NodeId,
}

pub struct BusParts {
    pub bus: Arc<dyn Bus>,
    pub handles: BusHandles,
}

/// Builds the bus; with Redis, also the subscriber, publisher, presence
/// observer and heartbeat, all stopping with `shutdown`.
pub fn start(
    settings: &Settings,
    hub: &Hub,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<BusParts> {
    let cfg = BusSettings::from_settings(settings)?;
    let health = BusHealth::new(cfg.kind);
    let local = InProcessBus::new(hub.clone());
    let url = match (cfg.kind, &settings.redis_url) {
        (BusKind::Redis, Some(url)) => url,
        _ => {
            return Ok(BusParts {
                bus: Arc::new(local),
                handles: BusHandles {
                    health,
                    presence: Arc::new(LocalPresence::new(hub.clone(), cfg.node.clone())),
                    node: cfg.node,
                },
            })
        }
    };
    let client = redis::Client::open(url.expose_secret()).context("invalid HERALD_REDIS_URL")?;
    // Lazy: a node starts (degraded) while Redis is down and connects once it is back.
    let conn = ConnectionManager::new_lazy_with_config(
        client.clone(),
        ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_number_of_retries(1),
    )
    .context("cannot set up the Redis connection for the bus")?;
    let (queue, outgoing) = tokio::sync::mpsc::channel(cfg.publish_queue);
    actix_web::rt::spawn(
        Subscriber::new(SubscriberParts {
            client,
            hub: hub.clone(),
            local: local.clone(),
            node: cfg.node.clone(),
            layout: cfg.layout,
            prefix: cfg.prefix.clone(),
            health: health.clone(),
        })
        .run(shutdown.clone()),
    );
    actix_web::rt::spawn(
        Publisher::new(conn.clone(), outgoing, health.clone()).run(shutdown.clone()),
    );
    let store = RedisPresence::new(
        conn,
        cfg.prefix.clone(),
        cfg.presence_ttl,
        cfg.last_seen_retention,
    );
    let observer = PresenceObserver::new(hub.clone(), cfg.node.clone(), store.clone()).start();
    actix_web::rt::spawn(PresenceHeartbeat::new(observer, cfg.presence_ttl).run(shutdown));
    tracing::info!(node = %cfg.node, layout = ?cfg.layout, "realtime bus on redis");
    Ok(BusParts {
        bus: Arc::new(RedisBus::new(
            local,
            cfg.node.clone(),
            cfg.layout,
            cfg.prefix,
            queue,
        )),
        handles: BusHandles {
            health,
            presence: Arc::new(store),
            node: cfg.node,
        },
    })
}
