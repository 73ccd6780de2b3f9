//! `--mode topic`: one send to a topic every connected user subscribes to.
//! Reports the time from the send to the last frame and the server's CPU
//! (utime + stime from /proc) per delivery.

use super::{cpu_ticks, summed, Args, Shared};
use serde_json::json;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Subscribers named per subscribe request (the server's default limit).
const SUBSCRIBE_CHUNK: usize = 1000;
/// How often the frame count is read while waiting for the last frame.
const POLL: Duration = Duration::from_millis(1);
/// Longest wait for the last frame.
const DEADLINE: Duration = Duration::from_secs(120);

pub async fn run(
    http: &reqwest::Client,
    args: &Args,
    users: &[String],
    shared: &Shared,
    run: &str,
) -> anyhow::Result<()> {
    let topic = format!("bench-{run}");
    let base = format!("{}/api/v1/topics/{topic}", args.url);
    http.put(&base)
        .bearer_auth(&args.admin_key)
        .json(&json!({}))
        .send()
        .await?
        .error_for_status()?;
    for chunk in users.chunks(SUBSCRIBE_CHUNK) {
        http.post(format!("{base}/subscribers"))
            .bearer_auth(&args.admin_key)
            .json(&json!({"user_ids": chunk}))
            .send()
            .await?
            .error_for_status()?;
    }
    println!("topic {topic}: {} subscribers", users.len());
    let before = shared.received.load(Ordering::Relaxed);
    let cpu0 = summed(&args.pid, cpu_ticks);
    let sent_us = shared.start.elapsed().as_micros() as u64;
    let t0 = Instant::now();
    let res = http
        .post(format!("{}/api/v1/send", args.url))
        .bearer_auth(&args.admin_key)
        .json(&json!({"topic": topic, "title": "bench", "body": "fan-out", "data": {"sent_us": sent_us}}))
        .send()
        .await?;
    let accepted = t0.elapsed();
    anyhow::ensure!(
        res.status().as_u16() == 202,
        "topic send answered {}",
        res.status()
    );
    let want = before + users.len() as u64;
    while shared.received.load(Ordering::Relaxed) < want && t0.elapsed() < DEADLINE {
        tokio::time::sleep(POLL).await;
    }
    let last = t0.elapsed();
    let cpu1 = summed(&args.pid, cpu_ticks);
    let got = shared.received.load(Ordering::Relaxed) - before;
    println!(
        "topic send accepted in {:.1} ms; {got} of {} frames, the last after {:.1} ms ({:.0} deliveries/s)",
        accepted.as_secs_f64() * 1000.0,
        users.len(),
        last.as_secs_f64() * 1000.0,
        got as f64 / last.as_secs_f64()
    );
    if let (Some(c0), Some(c1)) = (cpu0, cpu1) {
        // Clock ticks are 10 ms each.
        let us = (c1 - c0) as f64 * 10_000.0 / got.max(1) as f64;
        println!(
            "server CPU for the fan-out: {} ms, {us:.1} us per delivery",
            (c1 - c0) * 10
        );
    }
    Ok(())
}
