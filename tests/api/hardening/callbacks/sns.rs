//! SES through SNS: topic allow-list, replay window, parsed certificate hosts, certificate cache.

use crate::helpers::{spawn_app_with, Backend, TestApp};
use crate::on_both;
use crate::stubs::HttpStub;
use serde_json::{json, Value};

const TOPIC: &str = "arn:aws:sns:eu-west-1:123456789012:ses";

/// Signs an SNS message (SignatureVersion 2) with the key of the fixture certificate.
fn sign(msg: &mut Value) {
    use base64::Engine;
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::signature::{SignatureEncoding, Signer};
    let text = herald::channels::sns::string_to_sign(msg).unwrap();
    let pem = include_str!("../../../fixtures/rs256_private.pem");
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(pem).unwrap();
    let sig = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key).sign(text.as_bytes());
    msg["Signature"] = json!(base64::engine::general_purpose::STANDARD.encode(sig.to_bytes()));
}

/// A certificate host and a SubscribeURL host on loopback, both configured.
struct Aws {
    certs: HttpStub,
    confirm: HttpStub,
}

impl Aws {
    async fn start() -> Self {
        Self {
            certs: HttpStub::start(vec![(
                200,
                include_str!("../../../fixtures/sns_cert.pem").into(),
            )])
            .await,
            confirm: HttpStub::start(vec![(200, "<ConfirmSubscriptionResponse/>".into())]).await,
        }
    }

    fn origins(&self) -> String {
        format!(
            "http://127.0.0.1:{}/,http://127.0.0.1:{}/",
            self.certs.port, self.confirm.port
        )
    }

    fn cert_url(&self) -> String {
        format!(
            "http://127.0.0.1:{}/SimpleNotificationService.pem",
            self.certs.port
        )
    }

    /// A signed SubscriptionConfirmation for `topic`, stamped `at`.
    fn subscription(&self, topic: &str, at: chrono::DateTime<chrono::Utc>) -> Value {
        let mut m = json!({"Type": "SubscriptionConfirmation", "MessageId": uuid::Uuid::new_v4().to_string(),
            "Token": "tok", "TopicArn": topic, "Message": "confirm",
            "SubscribeURL": format!("http://127.0.0.1:{}/?Action=ConfirmSubscription", self.confirm.port),
            "Timestamp": at.to_rfc3339(), "SignatureVersion": "2", "SigningCertURL": self.cert_url()});
        sign(&mut m);
        m
    }
}

async fn app_for(backend: Backend, aws: &Aws, topics: &str) -> Option<TestApp> {
    let (origins, topics) = (aws.origins(), topics.to_string());
    spawn_app_with(backend, move |s| {
        s.sns_cert_url_prefixes = origins;
        s.sns_topic_arns = topics;
    })
    .await
}

async fn post(app: &TestApp, msg: &Value) -> (u16, Value) {
    let res = app
        .client
        .post(app.url("/api/v1/callbacks/ses"))
        .body(msg.to_string())
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

async fn an_empty_topic_allow_list_refuses_every_sns_message(backend: Backend) {
    let aws = Aws::start().await;
    let Some(app) = app_for(backend, &aws, "").await else {
        return;
    };
    let (status, body) = post(&app, &aws.subscription(TOPIC, now())).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "sns_not_configured");
    assert!(aws.certs.recorded().is_empty() && aws.confirm.recorded().is_empty());
}

on_both!(an_empty_topic_allow_list_refuses_every_sns_message);

async fn only_subscriptions_to_an_allow_listed_topic_are_confirmed(backend: Backend) {
    let aws = Aws::start().await;
    let Some(app) = app_for(backend, &aws, TOPIC).await else {
        return;
    };
    let other = "arn:aws:sns:eu-west-1:999999999999:attacker";
    let (status, body) = post(&app, &aws.subscription(other, now())).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "topic_not_allowed");
    assert!(aws.confirm.recorded().is_empty(), "not confirmed");
    let (status, body) = post(&app, &aws.subscription(TOPIC, now())).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["topic"], TOPIC);
    assert_eq!(aws.confirm.recorded().len(), 1, "confirmed");
}

on_both!(only_subscriptions_to_an_allow_listed_topic_are_confirmed);

async fn sns_messages_outside_the_replay_window_are_refused(backend: Backend) {
    let aws = Aws::start().await;
    let Some(app) = app_for(backend, &aws, TOPIC).await else {
        return;
    };
    // Well beyond the 300 s default either way, so a slow test machine cannot blur it.
    for at in [
        now() - chrono::Duration::seconds(900),
        now() + chrono::Duration::seconds(900),
    ] {
        let (status, body) = post(&app, &aws.subscription(TOPIC, at)).await;
        assert_eq!(status, 401, "{at}: {body}");
        assert_eq!(body["error"]["code"], "stale_timestamp");
    }
    assert!(aws.certs.recorded().is_empty(), "refused before any fetch");
    let (status, body) = post(
        &app,
        &aws.subscription(TOPIC, now() - chrono::Duration::seconds(200)),
    )
    .await;
    assert_eq!(status, 200, "inside the window: {body}");
}

on_both!(sns_messages_outside_the_replay_window_are_refused);

async fn look_alike_certificate_urls_are_refused_without_being_fetched(backend: Backend) {
    let aws = Aws::start().await;
    let Some(app) = app_for(backend, &aws, TOPIC).await else {
        return;
    };
    let port = aws.certs.port;
    for url in [
        "https://sns.us-east-1.amazonaws.com.evil.com/x.pem".to_string(),
        "https://sns.us-east-1.amazonaws.com@evil.com/x.pem".to_string(),
        "https://sns.us-east-1.amazonaws.com:8443/x.pem".to_string(),
        "http://sns.us-east-1.amazonaws.com/x.pem".to_string(),
        format!("http://127.0.0.1:{port}@127.0.0.2/x.pem"),
        format!("http://127.0.0.1:{port}/x.txt"),
        "http://127.0.0.1:1/x.pem".to_string(),
        "http://127.0.0.2:1/evil.pem".to_string(),
    ] {
        let mut m = aws.subscription(TOPIC, now());
        m["SigningCertURL"] = json!(url);
        sign(&mut m);
        let (status, body) = post(&app, &m).await;
        assert_eq!(status, 401, "{url}: {body}");
        assert_eq!(body["error"]["code"], "untrusted_certificate_url", "{url}");
    }
    assert!(aws.certs.recorded().is_empty(), "nothing was fetched");
    assert!(aws.confirm.recorded().is_empty(), "nothing was confirmed");
}

on_both!(look_alike_certificate_urls_are_refused_without_being_fetched);

async fn the_signing_certificate_is_fetched_once_for_two_messages(backend: Backend) {
    let aws = Aws::start().await;
    let Some(app) = app_for(backend, &aws, TOPIC).await else {
        return;
    };
    let (first, _) = post(&app, &aws.subscription(TOPIC, now())).await;
    let mut unsubscribe = json!({"Type": "UnsubscribeConfirmation", "MessageId": "m2", "Token": "tok",
        "TopicArn": TOPIC, "Message": "bye", "SubscribeURL": format!("http://127.0.0.1:{}/", aws.confirm.port),
        "Timestamp": now().to_rfc3339(), "SignatureVersion": "2", "SigningCertURL": aws.cert_url()});
    sign(&mut unsubscribe);
    let (second, body) = post(&app, &unsubscribe).await;
    assert_eq!((first, second), (200, 200), "{body}");
    assert_eq!(
        aws.certs.recorded().len(),
        1,
        "the second message used the cached certificate"
    );
}

on_both!(the_signing_certificate_is_fetched_once_for_two_messages);

async fn a_subscribe_url_off_the_sns_hosts_is_not_visited(backend: Backend) {
    let aws = Aws::start().await;
    let elsewhere = HttpStub::start(vec![(200, "{}".into())]).await;
    let Some(app) = app_for(backend, &aws, TOPIC).await else {
        return;
    };
    let mut m = aws.subscription(TOPIC, now());
    m["SubscribeURL"] = json!(format!("http://127.0.0.1:{}/internal", elsewhere.port));
    sign(&mut m);
    let (status, body) = post(&app, &m).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "untrusted_subscribe_url");
    assert!(elsewhere.recorded().is_empty());
}

on_both!(a_subscribe_url_off_the_sns_hosts_is_not_visited);

async fn new_certificate_urls_are_fetched_at_most_thirty_times_a_minute(backend: Backend) {
    let aws = Aws::start().await;
    let Some(app) = app_for(backend, &aws, TOPIC).await else {
        return;
    };
    // 31 requests on loopback take a few seconds; the budget's minute is the generous bound.
    let mut last = 0;
    for n in 0..31 {
        let mut m = aws.subscription(TOPIC, now());
        m["SigningCertURL"] = json!(format!("http://127.0.0.1:{}/cert-{n}.pem", aws.certs.port));
        sign(&mut m);
        last = post(&app, &m).await.0;
        if n < 30 {
            assert_eq!(last, 200, "fetch {n} is within the budget");
        }
    }
    assert_eq!(last, 503, "the 31st new URL in a minute is not fetched");
    assert_eq!(aws.certs.recorded().len(), 30);
    // A certificate already cached still verifies.
    let mut m = aws.subscription(TOPIC, now());
    m["SigningCertURL"] = json!(format!("http://127.0.0.1:{}/cert-0.pem", aws.certs.port));
    sign(&mut m);
    assert_eq!(post(&app, &m).await.0, 200);
}

on_both!(new_certificate_urls_are_fetched_at_most_thirty_times_a_minute);
