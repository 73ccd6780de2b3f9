//! kill -9 one of three nodes while 20,000 events flow in through RabbitMQ.
//! Every event makes one in-app notification (exactly once: its dedupe guard
//! commits with it) and one email (at least once: a send the relay accepted
//! before the kill has no recorded outcome and is sent again). A socket on the
//! killed node resumes on another with `since` and misses nothing.

use super::follower::Follower;
use super::harness::{tag, Cluster, ClusterSpec};
use super::parts::scalar;
use crate::processes::header;
use crate::sources::{amqp_url, reachable, BROKER};
use crate::stubs::SmtpServer;
use futures_util::stream::FuturesUnordered;
use futures_util::StreamExt;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::{BasicProperties, Connection, ConnectionProperties};
use serde_json::json;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Events in the run; `HERALD_CLUSTER_EVENTS` overrides (a multiple of `USERS`).
const EVENTS: usize = 20_000;
/// Few recipients, many events each: the load is in the pipeline, not in user rows.
const USERS: usize = 100;
const KILLED: usize = 2;
/// Publishes awaiting their broker confirm.
const CONFIRM_WINDOW: usize = 512;
/// Ends every email text: a message cut off mid-DATA by the kill lacks it.
const END: &str = "-end-of-message";
/// Bounded waits for the drain (2 shared cores, debug build).
const DRAIN_SECS: u64 = 900;

fn events() -> usize {
    std::env::var("HERALD_CLUSTER_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(|n: usize| n.max(USERS) / USERS * USERS)
        .unwrap_or(EVENTS)
}

/// Publishes `n` events as fast as publisher confirms allow; the time it took.
async fn publish_all(exchange: String, tag: String, n: usize) -> Duration {
    let started = Instant::now();
    let conn = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .expect("amqp connect");
    let ch = conn.create_channel().await.expect("channel");
    ch.confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirm mode");
    let mut pending = FuturesUnordered::new();
    for k in 0..n {
        let u = k % USERS;
        let body = json!({"event_id": format!("{tag}-e{k}"), "event_type": "order.placed",
                          "user_id": format!("{tag}-u{u}"), "user_email": format!("u{u}-{tag}@example.com"),
                          "n": k});
        let confirm = ch
            .basic_publish(
                exchange.as_str().into(),
                "order.placed".into(),
                BasicPublishOptions::default(),
                body.to_string().as_bytes(),
                BasicProperties::default().with_delivery_mode(2),
            )
            .await
            .expect("publish");
        pending.push(confirm);
        while pending.len() >= CONFIRM_WINDOW {
            let c = pending.next().await.expect("a confirm").expect("confirm");
            assert!(c.is_ack(), "broker refused a publish");
        }
    }
    while let Some(c) = pending.next().await {
        assert!(c.expect("confirm").is_ack(), "broker refused a publish");
    }
    let _ = conn.close(200, "bye".into()).await;
    started.elapsed()
}

/// Complete messages by event number: the Message-IDs of every copy. Also how many were cut mid-DATA.
fn mail_by_event(smtp: &SmtpServer) -> (HashMap<usize, Vec<String>>, usize) {
    let messages = smtp.messages.lock().expect("messages");
    let (mut map, mut cut) = (HashMap::<usize, Vec<String>>::new(), 0);
    for raw in messages.iter() {
        let Some(end) = raw.find(END) else {
            cut += 1;
            continue;
        };
        let digits = raw[..end].rsplit("mark-").next().unwrap_or_default();
        let Ok(k) = digits.parse::<usize>() else {
            continue; // a readiness probe's email
        };
        let id = header(raw, "Message-ID").unwrap_or_default().to_string();
        map.entry(k).or_default().push(id);
    }
    (map, cut)
}

async fn poll<F, Fut>(secs: u64, mut done: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if done().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    done().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_one_of_three_nodes_under_20000_events_loses_nothing_and_doubles_no_notification() {
    let _shared = BROKER.read().await;
    if !reachable("RabbitMQ", "127.0.0.1:5672").await || !reachable("Redis", "127.0.0.1:6379").await
    {
        return;
    }
    let n = events();
    let tag = tag();
    let exchange = format!("cluster_{tag}");
    let smtp = SmtpServer::start_slow(Duration::from_millis(1)).await;
    let mut spec = ClusterSpec::new(3).with("HERALD_AMQP_PREFETCH", 64);
    // All three compete for one queue.
    spec.amqp = Some((
        exchange.clone(),
        vec![format!("cluster_{tag}_events=order.#"); 3],
    ));
    spec.smtp_port = Some(smtp.port);
    let Some(mut c) = Cluster::start(&tag, spec).await else {
        return;
    };
    let template = json!({"code": format!("order_{tag}"),
        "in_app": {"title": "order {{ n }}", "data": "{\"n\": {{ n }}}"},
        "email": {"subject": "order {{ n }}", "text": "mark-{{ n }}-end-of-message"}});
    let rule = json!({"name": "orders", "event_pattern": "order.*", "channels": ["in_app", "email"],
                      "template_code": format!("order_{tag}")});
    c.create_rule(0, &template, &rule).await;
    let probe = format!("{tag}-probe");
    for i in 0..c.size() {
        let fields =
            json!({"event_type": "order.probe", "n": -1, "user_email": "probe@example.com"});
        c.await_rules_applied(i, &probe, fields).await;
    }
    let watched = format!("{tag}-u0");
    let token = c.token(&watched).await;
    let others: Vec<u16> = (0..c.size())
        .filter(|&i| i != KILLED)
        .map(|i| c.port(i))
        .collect();
    let follower = Follower::start(&watched, &token, [vec![c.port(KILLED)], others].concat());
    assert!(
        follower.connected(1, 10).await,
        "the watched user's socket never opened"
    );

    let db = c.db().await;
    let in_app = format!("SELECT count(*) FROM notifications WHERE user_id LIKE '{tag}-u%'");
    let started = Instant::now();
    let publisher = tokio::spawn(publish_all(exchange, tag.clone(), n));
    assert!(
        poll(DRAIN_SECS, || async {
            scalar(&db, &in_app).await >= (n / 4) as i64
        })
        .await,
        "a quarter of the events never became notifications"
    );
    c.kill9(KILLED);
    let killed_at = started.elapsed();
    let notified_at_kill = scalar(&db, &in_app).await;
    let mailed_at_kill = smtp.messages.lock().expect("messages").len();
    let published = publisher.await.expect("publisher");
    // Back in the cluster for the rest of the drain, on the same database, while the others write.
    c.restart(KILLED).await;

    let all_in_app = poll(DRAIN_SECS, || async {
        scalar(&db, &in_app).await >= n as i64
    })
    .await;
    let in_app_done = started.elapsed();
    assert!(
        all_in_app,
        "only {} of {n} notifications",
        scalar(&db, &in_app).await
    );
    let all_mail = poll(DRAIN_SECS, || async { mail_by_event(&smtp).0.len() >= n }).await;
    let mail_done = started.elapsed();
    assert!(
        all_mail,
        "only {} of {n} events got an email",
        mail_by_event(&smtp).0.len()
    );
    // Late copies: a lease taken over after the kill resends within a few seconds.
    tokio::time::sleep(Duration::from_secs(5)).await;

    // Exactly once in-app: as many notifications as events, one per event.
    let distinct = format!(
        "SELECT count(DISTINCT (user_id, title)) FROM notifications WHERE user_id LIKE '{tag}-u%'"
    );
    assert_eq!(scalar(&db, &in_app).await, n as i64, "notifications");
    assert_eq!(
        scalar(&db, &distinct).await,
        n as i64,
        "distinct notifications"
    );
    let rows = format!(
        "SELECT count(*) FROM deliveries WHERE channel = 'email' AND user_id LIKE '{tag}-u%'"
    );
    assert_eq!(
        scalar(&db, &rows).await,
        n as i64,
        "one email delivery row per event"
    );

    // At least once by email: every event mailed; a copy beyond the first is a resend of the same delivery.
    let (mail, cut) = mail_by_event(&smtp);
    assert!(
        (0..n).all(|k| mail.contains_key(&k)),
        "an event got no email"
    );
    let mut duplicates = 0;
    let mut unrecorded = 0;
    let mut examples = vec![];
    for (k, ids) in mail.iter().filter(|(_, ids)| ids.len() > 1) {
        assert!(
            ids.iter().all(|id| id == &ids[0]),
            "event {k} mailed by two deliveries: {ids:?}"
        );
        duplicates += ids.len() - 1;
        let delivery = ids[0].trim_end_matches("@herald");
        let recorded = scalar(
            &db,
            &format!("SELECT count(*) FROM delivery_attempts WHERE delivery_id = '{delivery}' AND outcome = 'sent'"),
        )
        .await as usize;
        unrecorded += ids.len().saturating_sub(recorded);
        if examples.len() < 3 {
            examples.push(format!(
                "event {k}: {} copies, {recorded} recorded as sent",
                ids.len()
            ));
        }
    }
    println!(
        "MEASURED: {n} events over 3 nodes, node {KILLED} killed at {killed_at:.1?} \
         ({notified_at_kill} notifications, {mailed_at_kill} emails by then); published in {published:.1?}; \
         all notifications after {in_app_done:.1?}, all emails after {mail_done:.1?}. \
         In-app: exactly {n}. Email: {duplicates} duplicates, every one a second copy of the same delivery \
         (same Message-ID); {unrecorded} copies have no 'sent' attempt: the relay accepted them but the \
         kill came before their status commit, so the lease ran out and they were sent again. \
         {cut} cut off mid-DATA (not counted). e.g. {examples:?}"
    );

    // The killed node's socket resumed elsewhere and missed nothing.
    let expected = (n / USERS) as i64;
    assert!(
        follower.reached(expected, 60).await,
        "the watched user saw up to seq {} of {expected}: {:?}",
        follower.seen().last(),
        follower.seen().hellos
    );
    follower.assert_gap_free(expected);
    let seen = follower.seen();
    assert!(
        seen.hellos.len() >= 2
            && seen.hellos[1..]
                .iter()
                .all(|(port, _)| *port != c.port(KILLED)),
        "no reconnect to another node: {:?}",
        seen.hellos
    );
    assert!(
        seen.hellos[1].1,
        "the resume after the kill was not complete: {:?}",
        seen.hellos
    );
}
