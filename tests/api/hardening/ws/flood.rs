//! One client floods frames as fast as it can while another user is sent
//! notifications: the flooder is told off and closed, the other user keeps
//! getting frames promptly.

use super::app_with;
use crate::helpers::{next_of_type, Backend};
use crate::on_both;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// The most a notification may take from `/send` to the calm user's socket
/// while the flood runs. Unloaded it takes a few milliseconds; the bound is
/// generous because the test machine is shared, and a starved server (the
/// flood holding every database connection or the worker) takes far longer.
const LATENCY_BOUND: Duration = Duration::from_secs(2);
/// Notifications measured.
const SAMPLES: usize = 10;

/// What one flooding connection saw before its socket ended.
#[derive(Debug, Default)]
struct Round {
    rate_limited: bool,
    close: Option<u16>,
    ended: Option<String>,
}

/// One connection: write frames flat out, read until the server closes.
async fn flood_once(url: &str) -> Round {
    let (ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("flooder connects");
    let (mut sink, mut stream) = ws.split();
    let writer = tokio::spawn(async move {
        for i in 0u64.. {
            // Half of them cost a database command, half are pings.
            let frame = if i % 2 == 0 {
                json!({"type": "mark_read", "ids": [uuid::Uuid::now_v7()]})
            } else {
                json!({"type": "ping"})
            };
            if sink.send(Message::text(frame.to_string())).await.is_err() {
                break;
            }
        }
    });
    let mut round = Round::default();
    while let Ok(Some(msg)) = tokio::time::timeout(Duration::from_secs(10), stream.next()).await {
        match msg {
            Ok(Message::Text(t)) => {
                if t.as_str().contains(r#""code":"rate_limited""#) {
                    round.rate_limited = true;
                }
            }
            Ok(Message::Close(frame)) => {
                round.close = frame.map(|f| u16::from(f.code));
                break;
            }
            Ok(_) => {}
            Err(e) => {
                round.ended = Some(e.to_string());
                break;
            }
        }
    }
    writer.abort();
    round
}

async fn a_frame_flooder_is_closed_while_another_users_notifications_stay_prompt(backend: Backend) {
    let Some(app) = app_with(backend, |_| {}).await else {
        return;
    };
    let flooder = app.token("flooder").await;
    let calm = app.token("calm").await;
    let (mut ws, _) = app.ws(&calm, None).await;

    // The flooder reconnects each time it is closed, so the flood lasts the
    // whole measurement. It runs on a thread of its own: on the test's thread
    // its busy loop would delay the calm client's reads, and the measurement
    // would be of the test, not of the server.
    let stop = Arc::new(AtomicBool::new(false));
    let flood = std::thread::spawn({
        let (url, stop) = (app.ws_url(&flooder, None), stop.clone());
        move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("flooder runtime");
            rt.block_on(async move {
                let mut rounds = vec![];
                while !stop.load(Ordering::Relaxed) {
                    rounds.push(flood_once(&url).await);
                }
                rounds
            })
        }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;

    let mut worst = Duration::ZERO;
    for i in 0..SAMPLES {
        let started = Instant::now();
        app.notify("calm", &format!("during the flood {i}")).await;
        let frame = next_of_type(&mut ws, "notification").await;
        let took = started.elapsed();
        assert_eq!(
            frame["notification"]["title"],
            format!("during the flood {i}")
        );
        assert!(took < LATENCY_BOUND, "notification {i} took {took:?}");
        worst = worst.max(took);
    }
    stop.store(true, Ordering::Relaxed);
    // Joined off the test's thread: the hub's shard actors run on it, and the
    // flooder's last round needs them to get its hello.
    let rounds = tokio::task::spawn_blocking(move || flood.join())
        .await
        .expect("join task")
        .expect("flooder thread");
    eprintln!(
        "{backend:?}: worst latency {worst:?} over {} flood rounds",
        rounds.len()
    );
    assert!(!rounds.is_empty());
    for (i, r) in rounds.iter().enumerate() {
        assert!(r.rate_limited, "round {i}: no rate_limited frame: {r:?}");
        assert_eq!(r.close, Some(1008), "round {i}: {r:?}");
    }
}

on_both!(a_frame_flooder_is_closed_while_another_users_notifications_stay_prompt);
