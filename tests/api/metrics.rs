//! `/metrics`: the series move by what happened (`series`), the outbox gauges
//! show queued work (`outbox`), and the Grafana dashboard queries only series
//! a real scrape has (`dashboard`).

mod dashboard;
mod outbox;
mod series;

use crate::helpers::{spawn_app_with, Backend, TestApp};
use crate::stubs::SmtpServer;
use herald::config::Settings;
use secrecy::SecretString;
use std::collections::BTreeSet;

/// An app whose email goes to `smtp`, with `tweak` applied after.
pub async fn app_with_smtp(
    backend: Backend,
    smtp: &SmtpServer,
    tweak: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    let port = smtp.port;
    spawn_app_with(backend, move |s| {
        s.smtp_url = Some(SecretString::from(format!(
            "smtp://127.0.0.1:{port}?tls=none"
        )));
        tweak(s);
    })
    .await
}

/// One `/metrics` answer: its text, parsed into samples.
pub struct Scrape {
    pub text: String,
    samples: Vec<Sample>,
}

/// One sample line: `name{label="value",…} value`.
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

impl Scrape {
    /// The sum of every sample of `name` whose labels include all of `labels`.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|s| {
                s.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .map(|s| s.value)
            .sum()
    }

    /// The metric families the scrape declares, by `# TYPE` line: (name, type).
    pub fn families(&self) -> BTreeSet<(String, String)> {
        self.text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split_once(' '))
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect()
    }
}

/// Gives `user` the address `{user}@example.com` and sends them `channels`; answers 202.
pub async fn send_with_email(app: &TestApp, user: &str, channels: &[&str]) {
    let res = app
        .admin(reqwest::Method::PUT, &format!("/api/v1/users/{user}"))
        .json(&serde_json::json!({"email": format!("{user}@example.com")}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let sent = app
        .send(serde_json::json!({"user_id": user, "title": "Hi", "channels": channels}))
        .await;
    assert_eq!(sent.status(), 202);
}

/// Scrapes `/metrics` without credentials, as Prometheus does.
pub async fn scrape(app: &TestApp) -> Scrape {
    let res = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    let samples = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(parse_sample)
        .collect();
    Scrape { text, samples }
}

fn parse_sample(line: &str) -> Option<Sample> {
    let (series, value) = line.rsplit_once(' ')?;
    let value: f64 = value.parse().ok()?;
    let (name, labels) = match series.split_once('{') {
        Some((name, rest)) => {
            let inner = rest.strip_suffix('}')?;
            let labels = inner
                .split("\",")
                .filter_map(|kv| kv.split_once("=\""))
                .map(|(k, v)| (k.to_string(), v.trim_end_matches('"').to_string()))
                .collect();
            (name, labels)
        }
        None => (series, vec![]),
    };
    Some(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}
