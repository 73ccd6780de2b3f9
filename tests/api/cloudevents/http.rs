//! CloudEvents over `POST /api/v1/events`: structured, binary and batch mode.

use super::{dead_letter_reasons, greeting_pack, structured, titles};
use crate::events::audit;
use crate::helpers::TestApp;
use crate::on_both_databases;
use reqwest::Method;
use serde_json::{json, Value};

async fn post_raw(
    app: &TestApp,
    content_type: &str,
    headers: &[(&str, &str)],
    body: String,
) -> (u16, Value) {
    let mut req = app
        .admin(Method::POST, "/api/v1/events")
        .header("content-type", content_type)
        .body(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
}

async fn a_structured_cloudevent_over_http_notifies_once_however_often_it_is_sent(app: TestApp) {
    greeting_pack(&app).await;
    let user = format!("ce-s-{}", uuid::Uuid::new_v4().simple());
    let event = structured("ce-http-1", &user).to_string();
    let (status, first) = post_raw(&app, "application/cloudevents+json", &[], event.clone()).await;
    assert_eq!(status, 202, "{first}");
    assert_eq!(first["status"], "processed");
    let (status, again) = post_raw(
        &app,
        "application/cloudevents+json; charset=utf-8",
        &[],
        event,
    )
    .await;
    assert_eq!((status, again["status"].as_str()), (202, Some("duplicate")));
    assert_eq!(titles(&app, &user).await, vec!["Hello Ada"]);
    let trail = audit(&app, "ce-http-1").await;
    assert_eq!(trail["event_type"], "ce.greeting");
    assert_eq!(trail["outcome"]["meta"]["source"], "/tests/cloudevents");
    assert_eq!(trail["outcome"]["meta"]["subject"], "greeting-1");
}

async fn a_binary_cloudevent_over_http_routes_by_ce_type_and_dedupes_by_ce_id(app: TestApp) {
    greeting_pack(&app).await;
    let user = format!("ce-b-{}", uuid::Uuid::new_v4().simple());
    let headers = [
        ("ce-specversion", "1.0"),
        ("ce-id", "ce-bin-1"),
        ("ce-type", "ce.greeting"),
        ("ce-source", "urn:tests"),
        ("ce-subject", "bin"),
    ];
    let data = json!({"user_id": user, "name": "Grace"}).to_string();
    for expected in ["processed", "duplicate"] {
        let (status, body) = post_raw(&app, "application/json", &headers, data.clone()).await;
        assert_eq!(
            (status, body["status"].as_str()),
            (202, Some(expected)),
            "{body}"
        );
    }
    assert_eq!(titles(&app, &user).await, vec!["Hello Grace"]);
    let trail = audit(&app, "ce-bin-1").await;
    assert_eq!(trail["outcome"]["meta"]["source"], "urn:tests");
    assert_eq!(trail["outcome"]["meta"]["subject"], "bin");
}

async fn a_malformed_cloudevent_over_http_is_refused_with_422_and_the_reason(app: TestApp) {
    greeting_pack(&app).await;
    let mut wrong = structured("ce-bad-1", "u");
    wrong["specversion"] = json!("0.3");
    let (status, body) =
        post_raw(&app, "application/cloudevents+json", &[], wrong.to_string()).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "malformed_event");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("specversion must be \"1.0\""),
        "{body}"
    );
    let headers = [
        ("ce-specversion", "1.0"),
        ("ce-type", "ce.greeting"),
        ("ce-source", "s"),
    ];
    let (status, body) = post_raw(&app, "application/json", &headers, "{}".into()).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("'id' is missing"),
        "{body}"
    );
    // Declared a CloudEvent, but a plain flat event is not one.
    let flat = json!({"event_type": "ce.greeting", "user_id": "u"}).to_string();
    let (status, body) = post_raw(&app, "application/cloudevents+json", &[], flat).await;
    assert_eq!(status, 422, "{body}");
    // All three are parked as dead letters, like any refused REST event.
    assert!(dead_letter_reasons(&app).await.len() >= 3);
}

async fn a_cloudevents_batch_processes_each_event_and_refuses_a_bad_one_as_a_whole(app: TestApp) {
    greeting_pack(&app).await;
    let user = format!("ce-batch-{}", uuid::Uuid::new_v4().simple());
    let batch = json!([
        structured("ce-batch-1", &user),
        structured("ce-batch-2", &user),
        structured("ce-batch-1", &user)
    ]);
    let (status, body) = post_raw(
        &app,
        "application/cloudevents-batch+json",
        &[],
        batch.to_string(),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let statuses: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, vec!["processed", "processed", "duplicate"]);
    assert_eq!(titles(&app, &user).await.len(), 2);
    let bad = json!([structured("ce-batch-3", &user), {"specversion": "1.0", "type": "ce.greeting", "source": "s"}]);
    let (status, body) = post_raw(
        &app,
        "application/cloudevents-batch+json",
        &[],
        bad.to_string(),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("element 1"),
        "{body}"
    );
    assert_eq!(
        titles(&app, &user).await.len(),
        2,
        "nothing of a refused batch is processed"
    );
}

on_both_databases!(
    a_structured_cloudevent_over_http_notifies_once_however_often_it_is_sent,
    a_binary_cloudevent_over_http_routes_by_ce_type_and_dedupes_by_ce_id,
    a_malformed_cloudevent_over_http_is_refused_with_422_and_the_reason,
    a_cloudevents_batch_processes_each_event_and_refuses_a_bad_one_as_a_whole,
);
