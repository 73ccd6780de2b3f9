//! Load tool: connects N WebSocket users to a running Herald, sends
//! notifications through `POST /api/v1/send` at a fixed rate, and reports
//! delivery latency (send -> frame received) plus the server's memory per
//! connection and idle CPU (heartbeats). With `--ws-urls` the connections are
//! spread over several nodes while sends go through `--url`, and `--pid`
//! takes every node's PID, so CPU and memory are summed over the cluster.
//! See BENCHMARKS.md for how to run it.

#[path = "herald_bench/readings.rs"]
mod readings;
#[path = "herald_bench/topic.rs"]
mod topic;

use readings::{cpu_ticks, redis_cpu, rss_kib, summed};

use clap::Parser;
use futures_util::StreamExt;
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

#[derive(Parser, Debug)]
#[command(about = "Herald WebSocket delivery benchmark")]
struct Args {
    /// Base URL of the server that sends go through.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Base URLs the WebSocket connections are spread over, comma-separated
    /// (connection i goes to the i-th modulo their number); default `--url`.
    #[arg(long, value_delimiter = ',')]
    ws_urls: Vec<String>,
    /// Admin API key (or one with the send scope, plus admin for token minting).
    #[arg(long, env = "HERALD_ADMIN_API_KEY")]
    admin_key: String,
    /// The server's JWT secret: tokens are minted locally instead of over HTTP.
    #[arg(long, env = "HERALD_JWT_SECRET")]
    jwt_secret: Option<String>,
    /// WebSocket connections, one user each.
    #[arg(long, default_value_t = 1000)]
    connections: usize,
    /// Notifications per second during the load phase.
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    /// Seconds of load.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Seconds to stay idle after connecting, to measure heartbeat CPU.
    #[arg(long, default_value_t = 10)]
    idle: u64,
    /// Server PIDs, comma-separated, to read their RSS and CPU time from /proc (summed).
    #[arg(long, value_delimiter = ',')]
    pid: Vec<u32>,
    /// Concurrent in-flight sends.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Connections opened at once while ramping up.
    #[arg(long, default_value_t = 200)]
    connect_batch: usize,
    /// `send` (POST /api/v1/send), `ingest` (events published to RabbitMQ) or
    /// `topic` (one send to a topic every connection subscribes to).
    #[arg(long, default_value = "send")]
    mode: String,
    /// RabbitMQ for `--mode ingest`.
    #[arg(long, default_value = "amqp://guest:guest@127.0.0.1:5672/%2f")]
    amqp_url: String,
    /// Exchange the server consumes from (HERALD_AMQP_EXCHANGE).
    #[arg(long, default_value = "herald.events")]
    exchange: String,
    /// The bus's Redis: its `INFO cpu` is read before and after the load phase.
    #[arg(long)]
    redis_url: Option<String>,
    /// `herald`, or `nchan` for the same workload against nginx's nchan module
    /// (`scripts/nchan.conf`): one channel per user, subscribed at `/sub/{user}`
    /// and published at `/pub/{user}`, for `scripts/compare.sh`.
    #[arg(long, default_value = "herald")]
    target: String,
    /// Bytes of the body of each send (`load` when 0).
    #[arg(long, default_value_t = 0)]
    body_bytes: usize,
}

/// Creates the template and rule that turn `bench.event` into an in-app notification.
async fn prepare_ingest(http: &reqwest::Client, args: &Args) -> anyhow::Result<()> {
    let tpl = json!({"code": "bench", "in_app": {"title": "bench", "body": "{{ sent_us }}", "data": "{\"sent_us\": {{ sent_us }}}"}});
    http.post(format!("{}/api/v1/templates", args.url))
        .bearer_auth(&args.admin_key)
        .json(&tpl)
        .send()
        .await?;
    let rule = json!({"name": "bench", "event_pattern": "bench.event", "channels": ["in_app"], "template_code": "bench"});
    http.post(format!("{}/api/v1/rules", args.url))
        .bearer_auth(&args.admin_key)
        .json(&rule)
        .send()
        .await?;
    Ok(())
}

fn mint(secret: &str, user: &str) -> anyhow::Result<String> {
    let claims = json!({"sub": user, "exp": chrono::Utc::now().timestamp() + 86_400});
    Ok(jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )?)
}

struct Shared {
    start: Instant,
    hist: Mutex<Histogram<u64>>,
    received: AtomicU64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args = Args::parse();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let bases = if args.ws_urls.is_empty() {
        vec![args.url.clone()]
    } else {
        args.ws_urls.clone()
    };
    let ws_bases: Vec<String> = bases.iter().map(|u| u.replacen("http", "ws", 1)).collect();
    let run = uuid::Uuid::new_v4().simple().to_string()[..6].to_string();
    let users: Vec<String> = (0..args.connections)
        .map(|i| format!("bench-{run}-{i}"))
        .collect();

    let nchan = args.target == "nchan";
    let rss_before = summed(&args.pid, rss_kib);
    println!("minting {} tokens", users.len());
    let mut tokens = Vec::with_capacity(users.len());
    for u in &users {
        tokens.push(match &args.jwt_secret {
            // nchan has no authentication: its subscribers need no token.
            _ if nchan => String::new(),
            Some(s) => mint(s, u)?,
            None => {
                let v: Value = http
                    .post(format!("{}/api/v1/users/{u}/token", args.url))
                    .bearer_auth(&args.admin_key)
                    .send()
                    .await?
                    .json()
                    .await?;
                v["token"].as_str().unwrap_or_default().to_string()
            }
        });
    }

    let shared = Arc::new(Shared {
        start: Instant::now(),
        hist: Mutex::new(Histogram::new_with_bounds(1, 60_000_000, 3)?),
        received: AtomicU64::new(0),
    });
    println!("connecting {} websockets", users.len());
    let t0 = Instant::now();
    let mut connected = 0usize;
    for (c, chunk) in tokens.chunks(args.connect_batch).enumerate() {
        let conns = chunk.iter().enumerate().map(|(j, t)| {
            let base = &ws_bases[(c * args.connect_batch + j) % ws_bases.len()];
            let url = match nchan {
                true => format!("{base}/sub/{}", users[c * args.connect_batch + j]),
                false => format!("{base}/api/v1/ws?token={t}"),
            };
            tokio_tungstenite::connect_async(url)
        });
        for res in futures_util::future::join_all(conns).await {
            let (ws, _) = res?;
            connected += 1;
            let shared = shared.clone();
            tokio::spawn(async move {
                let (_, mut read) = ws.split();
                while let Some(Ok(msg)) = read.next().await {
                    let Message::Text(text) = msg else { continue };
                    let Ok(v) = serde_json::from_str::<Value>(text.as_str()) else {
                        continue;
                    };
                    if v["type"] != "notification" {
                        continue;
                    }
                    let data = &v["notification"]["data"];
                    if let Some(sent) = data["sent_us"].as_u64() {
                        let now = shared.start.elapsed().as_micros() as u64;
                        let _ = shared
                            .hist
                            .lock()
                            .map(|mut h| h.record(now.saturating_sub(sent).max(1)));
                        shared.received.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    }
    println!(
        "connected {connected} in {:.1}s",
        t0.elapsed().as_secs_f64()
    );

    // Idle phase: memory per connection and heartbeat CPU.
    tokio::time::sleep(Duration::from_secs(3)).await;
    if !args.pid.is_empty() {
        let ticks0 = summed(&args.pid, cpu_ticks);
        tokio::time::sleep(Duration::from_secs(args.idle)).await;
        let rss_after = summed(&args.pid, rss_kib);
        if let (Some(b), Some(a)) = (rss_before, rss_after) {
            println!(
                "server RSS {} KiB -> {} KiB: {:.1} KB per idle connection",
                b,
                a,
                (a.saturating_sub(b) as f64 * 1024.0) / connected as f64 / 1000.0
            );
        }
        if let (Some(c0), Some(c1)) = (ticks0, summed(&args.pid, cpu_ticks)) {
            let pct = (c1 - c0) as f64 / args.idle as f64; // ticks/s == % of one core
            println!(
                "idle server CPU over {}s: {:.2}% of one core",
                args.idle, pct
            );
        }
    }

    if args.mode == "topic" {
        return topic::run(&http, &args, &users, &shared, &run).await;
    }

    // Load phase: fixed-rate sends to random connected users.
    let ingest = args.mode == "ingest";
    let amqp = if ingest {
        prepare_ingest(&http, &args).await?;
        let conn =
            lapin::Connection::connect(&args.amqp_url, lapin::ConnectionProperties::default())
                .await?;
        let ch = conn.create_channel().await?;
        Some((conn, ch))
    } else {
        None
    };
    let verb = if ingest {
        "publishing events for"
    } else {
        "sending"
    };
    println!(
        "{verb} {} notifications/s for {}s",
        args.rate, args.duration
    );
    let total = args.rate * args.duration;
    let sem = Arc::new(tokio::sync::Semaphore::new(args.concurrency));
    let failures = Arc::new(AtomicU64::new(0));
    let cpu0 = summed(&args.pid, cpu_ticks);
    let redis0 = redis_cpu(&args.redis_url).await;
    let body_text: Arc<str> = match args.body_bytes {
        0 => "load".into(),
        n => "x".repeat(n).into(),
    };
    let mut tick = tokio::time::interval(Duration::from_nanos(1_000_000_000 / args.rate.max(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let load_start = Instant::now();
    for i in 0..total {
        tick.tick().await;
        let permit = sem.clone().acquire_owned().await?;
        let (http, url, key, failures, shared, text) = (
            http.clone(),
            args.url.clone(),
            args.admin_key.clone(),
            failures.clone(),
            shared.clone(),
            body_text.clone(),
        );
        let user = users[(i as usize * 7919) % users.len()].clone();
        if let Some((_, ch)) = &amqp {
            let sent_us = shared.start.elapsed().as_micros() as u64;
            let body = json!({"event_id": format!("bench-{run}-{i}"), "event_type": "bench.event", "user_id": user, "sent_us": sent_us});
            let published = ch
                .basic_publish(
                    args.exchange.as_str().into(),
                    "bench.event".into(),
                    lapin::options::BasicPublishOptions::default(),
                    body.to_string().as_bytes(),
                    lapin::BasicProperties::default().with_delivery_mode(2),
                )
                .await;
            if published.is_err() {
                failures.fetch_add(1, Ordering::Relaxed);
            }
            drop(permit);
            continue;
        }
        tokio::spawn(async move {
            let sent_us = shared.start.elapsed().as_micros() as u64;
            let data = json!({"sent_us": sent_us});
            // nchan relays the body as it is: publish the frame the readers expect.
            let request = match nchan {
                true => http.post(format!("{url}/pub/{user}")).json(&json!({
                    "type": "notification",
                    "notification": {"title": "bench", "body": &*text, "data": data}
                })),
                false => http
                    .post(format!("{url}/api/v1/send"))
                    .bearer_auth(key)
                    .json(
                        &json!({"user_id": user, "title": "bench", "body": &*text, "data": data}),
                    ),
            };
            let ok = request
                .send()
                .await
                .map(|r| r.status().is_success())
                .unwrap_or(false);
            if !ok {
                failures.fetch_add(1, Ordering::Relaxed);
            }
            drop(permit);
        });
    }
    let _ = sem.acquire_many(args.concurrency as u32).await;
    let send_secs = load_start.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let cpu1 = summed(&args.pid, cpu_ticks);
    let redis1 = redis_cpu(&args.redis_url).await;

    let h = shared
        .hist
        .lock()
        .map_err(|_| anyhow::anyhow!("histogram lock"))?;
    let received = shared.received.load(Ordering::Relaxed);
    println!(
        "sent {total} in {send_secs:.1}s ({:.0}/s), failed {}",
        total as f64 / send_secs,
        failures.load(Ordering::Relaxed)
    );
    println!(
        "received {received} frames ({} missing)",
        total.saturating_sub(received)
    );
    println!(
        "delivery latency: p50 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.3} ms",
        h.value_at_quantile(0.50) as f64 / 1000.0,
        h.value_at_quantile(0.99) as f64 / 1000.0,
        h.value_at_quantile(0.999) as f64 / 1000.0,
        h.max() as f64 / 1000.0
    );
    if let (Some(c0), Some(c1)) = (cpu0, cpu1) {
        let secs = send_secs + 2.0;
        println!(
            "server CPU under load: {:.0}% of one core, {:.1} us per notification",
            (c1 - c0) as f64 / secs,
            (c1 - c0) as f64 * 10_000.0 / total as f64
        );
    }
    if let (Some(r0), Some(r1)) = (redis0, redis1) {
        println!(
            "redis CPU under load: {:.0} ms, {:.1} us per notification",
            (r1 - r0) * 1000.0,
            (r1 - r0) * 1_000_000.0 / total as f64
        );
    }
    Ok(())
}
