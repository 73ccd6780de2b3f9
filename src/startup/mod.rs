//! The only module that knows every concrete type: it builds the database,
//! auth, hub, bus and feed, and hands them to the HTTP server.

use crate::auth::Authenticator;
use crate::bus::DueSignal;
use crate::channels::email::UnsubscribeSigner;
use crate::channels::{self, Provider, Restart};
use crate::config::Settings;
use crate::domain::Channel;
use crate::feed::{Feed, FeedCommands};
use crate::persistence;
use crate::persistence::recipients::RecipientLoader;
use crate::persistence::writer::NotificationWriter;
use crate::pipeline::fast::FastIdempotency;
use crate::pipeline::{Catalog, Pipeline, PipelineDeps};
use crate::producer::{Producer, ProducerDeps};
use crate::ratelimit::RateLimits;
use crate::realtime::{Hub, MemoryTrimmer, SessionConfig, SessionDeps, SessionRegistry};
use crate::routes::{self, AppState};
use crate::shutdown::{Deadline, Drain, DrainPlan, Draining, SourceTasks};
use crate::sources::amqp::{AmqpConfig, AmqpSource};
use crate::sources::redis::{RedisIdempotency, RedisSource};
use crate::sources::{parse_list, parse_queues, Source, SourceHealth};
use crate::stats::Stats;
use crate::telemetry::RedactingRootSpan;
use actix::Recipient;
use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use secrecy::ExposeSecret;
use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::Arc;
use tracing_actix_web::TracingLogger;

mod credentials;

use credentials::bootstrap_admin;
pub use credentials::{jwt_keys, load_jwt_secret};

fn public_url(settings: &Settings) -> String {
    settings
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", settings.bind))
}

fn pipeline_has_fast(p: &Pipeline) -> bool {
    p.has_fast_path()
}

/// Batched recipient lookups in flight at once.
const RECIPIENT_LOADERS: usize = 4;

pub struct Application {
    port: u16,
    server: Server,
    restarts: HashMap<Channel, Recipient<Restart>>,
    /// What SIGTERM or SIGINT drains, in order (see `crate::shutdown`).
    drain: Drain,
}

/// Restarts channel actors by channel.
#[derive(Clone)]
pub struct ChannelHandles(HashMap<Channel, Recipient<Restart>>);

impl ChannelHandles {
    /// Asks a channel's actor to stop; its supervisor starts a fresh one. In-flight
    /// sends are dropped and come back when their leases run out.
    pub fn restart(&self, channel: Channel) -> bool {
        self.0
            .get(&channel)
            .is_some_and(|r| r.try_send(Restart).is_ok())
    }
}

/// What an embedding program (or a test) adds to the built-in parts.
#[derive(Default)]
pub struct Extensions {
    /// Providers for channels, replacing the built-in one for the same channel.
    pub providers: Vec<(Channel, Arc<dyn Provider>)>,
}

impl Application {
    /// Builds everything and binds the listener (port 0 picks a free one).
    /// Must run inside an actix `System`, which owns the hub actors.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with(settings, Extensions::default()).await
    }

    /// [`Application::build`] with extra parts.
    pub async fn build_with(settings: Settings, extensions: Extensions) -> anyhow::Result<Self> {
        let plan = DrainPlan::new(Deadline::parse(settings.shutdown_deadline_secs)?);
        let db =
            persistence::connect_with(&settings.database_url(), settings.database_max_connections)
                .await
                .context("cannot open the database")?;
        tracing::info!(backend = persistence::describe(&db), "database ready");
        let secret = load_jwt_secret(&settings)?;
        let jwt = jwt_keys(&settings, &secret)?;
        bootstrap_admin(&db, &settings, &jwt).await?;
        let admin_key = settings
            .admin_api_key
            .as_ref()
            .map(|k| k.expose_secret().to_string());
        let auth = web::Data::new(Authenticator::new(db.clone(), admin_key.as_deref(), jwt));
        let limits = web::Data::new(
            RateLimits::new(&settings.rate_limit).context("invalid rate limit settings")?,
        );

        let hub = Hub::start(settings.ws.hub_shards);
        actix_web::rt::spawn(MemoryTrimmer::new(hub.clone()).run());
        let stats = Arc::new(Stats::default());
        // Background loops stop last in a drain (see `crate::shutdown`).
        let (shutdown, stopping) = tokio::sync::watch::channel(false);
        let crate::bus::BusParts {
            bus,
            handles: bus_handles,
        } = crate::bus::start(&settings, &hub, stopping.clone())?;
        let (writer, writer_tasks) = NotificationWriter::new(db.clone());
        for task in writer_tasks {
            actix_web::rt::spawn(task.run());
        }
        let due = DueSignal::default();
        let feed = Arc::new(Feed::new(db.clone(), bus.clone(), &settings.inbox));

        let catalog = Catalog::new(
            db.clone(),
            settings.template_max_output_bytes,
            &settings.catalog,
        );
        catalog
            .reload()
            .await
            .context("cannot load rules and templates")?;
        let (deliveries_stop, deliveries) = tokio::sync::watch::channel(false);
        let mut sources = SourceTasks::default();
        crate::pipeline::catalog_sync::start(&catalog, &settings.catalog, stopping.clone());
        actix_web::rt::spawn(
            limits
                .clone()
                .into_inner()
                .sweep_until_stopped(stopping.clone()),
        );
        actix_web::rt::spawn(
            crate::retention::Retention::new(db.clone(), &settings.retention).run(stopping.clone()),
        );
        actix_web::rt::spawn(crate::feed::SnoozeScheduler::new(feed.clone()).run(stopping.clone()));
        let health = Arc::new(SourceHealth::default());
        let redis_client = match &settings.redis_url {
            Some(url) => {
                Some(redis::Client::open(url.expose_secret()).context("invalid HERALD_REDIS_URL")?)
            }
            None => None,
        };
        // Created here, on the runtime that lives as long as the server: a connection
        // manager made on a short-lived runtime dies with it.
        let fast: Option<Arc<dyn FastIdempotency>> = match &redis_client {
            Some(client) => match redis::aio::ConnectionManager::new(client.clone()).await {
                Ok(conn) => Some(Arc::new(RedisIdempotency::new(conn))),
                Err(e) => {
                    tracing::warn!(error = %e, "redis unreachable: event dedupe uses the database guard alone");
                    health.down(Source::Redis);
                    None
                }
            },
            None => None,
        };
        // Reads run concurrently on both databases (SQLite in WAL mode), so several
        // lookup loops keep a batch from waiting behind the one in flight.
        let (recipients, loaders) = RecipientLoader::new(db.clone(), RECIPIENT_LOADERS);
        for task in loaders {
            actix_web::rt::spawn(task.run());
        }
        let producer = Arc::new(Producer::new(ProducerDeps {
            db: db.clone(),
            writer,
            recipients,
            bus,
            due: due.clone(),
            stats: stats.clone(),
            templates: catalog.templates.clone(),
            push_per_hour: settings.push_per_user_per_hour,
        }));
        // A node with `flush_batch = 0` takes events but leaves flushing to the others.
        if settings.digest.flush_batch > 0 {
            actix_web::rt::spawn(
                crate::digest::DigestFlusher::new(db.clone(), producer.clone(), &settings.digest)
                    .run(stopping.clone()),
            );
        }
        let fanout_wake = crate::topics::FanoutWake::default();
        actix_web::rt::spawn(
            crate::topics::FanoutRunner::new(
                db.clone(),
                producer.clone(),
                settings.topics.clone(),
                fanout_wake.clone(),
            )
            .run(stopping.clone()),
        );
        let pipeline = Arc::new(Pipeline::new(PipelineDeps {
            db: db.clone(),
            producer,
            catalog,
            fast,
            stats: stats.clone(),
            digest: settings.digest.clone(),
            presence: Some(bus_handles.presence.clone()),
        }));
        let schedule = crate::schedule::Schedules::new(db.clone(), &settings.schedule);
        actix_web::rt::spawn(schedule.runner(pipeline.clone()).run(stopping.clone()));
        if let Some(url) = &settings.amqp_url {
            let cfg = AmqpConfig {
                url: url.expose_secret().to_string(),
                exchange: settings.amqp_exchange.clone(),
                queues: parse_queues(&settings.amqp_queues).map_err(anyhow::Error::msg)?,
                prefetch: settings.amqp_prefetch,
                max_redeliveries: settings.amqp_max_redeliveries,
            };
            let source = AmqpSource::new(cfg, pipeline.clone(), health.clone());
            sources.spawn(source.run(sources.shutdown()));
        }
        if let Some(client) = redis_client {
            let (channels, streams) = (
                parse_list(&settings.redis_channels),
                parse_list(&settings.redis_streams),
            );
            if !channels.is_empty() || !streams.is_empty() {
                sources.spawn(
                    RedisSource::new(
                        client,
                        channels,
                        streams,
                        settings.redis_claim_idle_ms,
                        settings.redis_max_deliveries,
                        pipeline.clone(),
                        health.clone(),
                    )
                    .run(sources.shutdown()),
                );
            } else if pipeline_has_fast(&pipeline) {
                health.connected(Source::Redis);
            }
        }
        let session_config = SessionConfig::from_settings(&settings.ws);
        let draining = Draining::default();
        let registry = SessionRegistry::new(draining.clone());
        let sessions = Arc::new(SessionDeps::new(
            db.clone(),
            hub.clone(),
            Arc::new(FeedCommands(feed.clone())),
            session_config,
            registry.clone(),
            stats.metrics.clone(),
        ));
        let unsubscribe = UnsubscribeSigner::new(&secret, &public_url(&settings));
        let due_for_routes = due.clone();
        let breakers = channels::start::breakers(&settings);
        let providers = channels::start::providers(&settings, &db, &unsubscribe, &breakers)?;
        let channels::start::Channels {
            breakers,
            restarts,
            inflight,
            scheduler,
        } = channels::start::start(
            &settings,
            &db,
            providers,
            extensions.providers,
            due,
            deliveries,
            breakers,
            stats.metrics.clone(),
        );
        let drain = Drain {
            plan,
            draining: draining.clone(),
            sessions: registry,
            sources,
            deliveries: deliveries_stop,
            scheduler,
            inflight,
            db: db.clone(),
            background: shutdown,
        };
        let state = web::Data::new(AppState {
            db,
            feed,
            pipeline,
            sources: health,
            unsubscribe,
            webhook_allow_private: settings.webhook_allow_private,
            chat_allow_http: settings.chat_allow_http,
            due: due_for_routes,
            breakers,
            public_url: settings.public_url.clone(),
            twilio_auth_token: settings.twilio_auth_token.clone(),
            callback_secret: settings.callback_secret.clone(),
            sendgrid_public_key: settings.sendgrid_webhook_public_key.clone(),
            callback_guard: Arc::new(channels::callbacks::CallbackGuard::from_settings(
                &settings,
            )?),
            http: reqwest::Client::builder()
                .build()
                .context("cannot build an HTTP client")?,
            hub,
            bus: bus_handles,
            sessions,
            stats,
            jwt_ttl_secs: settings.jwt_ttl_secs,
            max_frame_bytes: settings.ws.max_frame_bytes,
            draining,
            web_push: channels::web_push::WebPushRoutes::from_settings(&settings)?,
            topics: settings.topics.clone(),
            fanout_wake,
            schedule,
        });

        let listener = TcpListener::bind(&settings.bind)
            .with_context(|| format!("cannot bind {}", settings.bind))?;
        let port = listener.local_addr()?.port();
        let max_body = settings.http.max_body_bytes;
        let static_dir = settings.static_dir.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                // The last `wrap` runs first: credentials are resolved, then counted.
                .wrap(actix_web::middleware::from_fn(routes::enforce_rate_limits))
                .wrap(actix_web::middleware::from_fn(
                    crate::auth::resolve_credentials,
                ))
                .wrap(TracingLogger::<RedactingRootSpan>::new())
                // Outermost: request durations include the middlewares' refusals.
                .wrap(actix_web::middleware::from_fn(crate::metrics::http::track))
                .app_data(state.clone())
                .app_data(auth.clone())
                .app_data(limits.clone())
                .configure(routes::configure(max_body))
                .configure(routes::static_files(static_dir.clone()))
        })
        // Nagle's delay cost a hot user's p99 1 ms and stalled pipelined publishes (measured).
        .tcp_nodelay(true)
        // Signals start our own drain; the HTTP server is one of its steps.
        .disable_signals()
        .shutdown_timeout(drain.plan.http_grace_secs())
        .listen(listener)?;
        if let Some(w) = settings.http.workers {
            server = server.workers(w);
        }
        tracing::info!(port, "herald listening");
        Ok(Self {
            port,
            server: server.run(),
            restarts,
            drain,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle that asks channel actors to restart, usable while the server runs.
    pub fn channels(&self) -> ChannelHandles {
        ChannelHandles(self.restarts.clone())
    }

    /// Serves until SIGTERM or SIGINT, then drains within the shutdown deadline.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        crate::shutdown::serve(self.server, self.drain).await
    }
}
