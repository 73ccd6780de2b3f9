//! Each service receives the message it expects, from a `/send`, from a rule
//! and from a template's own chat part.

use super::common::*;
use crate::events::post_event;
use crate::helpers::{wait_for, Backend};
use crate::on_both;
use crate::stubs::HttpStub;
use reqwest::Method;
use serde_json::{json, Value};

async fn every_service_receives_its_default_message_from_a_send(backend: Backend) {
    let Some(app) = chat_app(backend, None).await else {
        return;
    };
    let slack = HttpStub::start(vec![(200, "ok".into())]).await;
    let discord = HttpStub::start(vec![(204, String::new())]).await;
    let teams = HttpStub::start(vec![(200, "1".into())]).await;
    for (service, stub) in [("slack", &slack), ("discord", &discord), ("teams", &teams)] {
        let (s, _) = set_destination(
            &app,
            "ada",
            service,
            json!({"webhook_url": hook(stub, "/hook/secret")}),
        )
        .await;
        assert_eq!(s, 200);
    }
    let answer = send_chat(&app, "ada", "r1", &["slack", "discord", "teams"]).await;
    for service in ["slack", "discord", "teams"] {
        assert_eq!(answer["channels"][service], "queued", "{answer}");
    }
    for stub in [&slack, &discord, &teams] {
        wait_for_requests(stub, 1).await;
        assert_eq!(stub.recorded()[0].path, "/hook/secret");
    }
    let s = body_of(&slack, 0);
    assert_eq!(s["text"], "Booking confirmed: Inception, 8 PM");
    assert_eq!(
        s["blocks"][0]["text"]["text"],
        "*Booking confirmed*\nInception, 8 PM"
    );
    assert_eq!(
        s["blocks"][1]["elements"][0]["url"],
        "https://movies.example/b/789"
    );
    let d = body_of(&discord, 0);
    assert_eq!(
        d["embeds"],
        json!([{"title": "Booking confirmed", "description": "Inception, 8 PM", "url": "https://movies.example/b/789"}])
    );
    assert_eq!(d["allowed_mentions"], json!({"parse": []}));
    let t = body_of(&teams, 0);
    let card = &t["attachments"][0]["content"];
    assert_eq!(
        t["attachments"][0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(card["body"][0]["text"], "Booking confirmed");
    assert_eq!(card["actions"][0]["url"], "https://movies.example/b/789");
    for service in ["slack", "discord", "teams"] {
        wait_for_status(&app, "ada", "r1", service, "sent").await;
    }
}

async fn a_rule_posts_to_its_own_destination_rather_than_the_users(backend: Backend) {
    let Some(app) = chat_app(backend, None).await else {
        return;
    };
    let users_hook = HttpStub::start(vec![(204, String::new())]).await;
    let rules_hook = HttpStub::start(vec![(204, String::new())]).await;
    set_destination(
        &app,
        "bob",
        "discord",
        json!({"webhook_url": hook(&users_hook, "/u")}),
    )
    .await;
    let tpl = json!({"code": "booked", "in_app": {"title": "Booked {{ movie }}", "body": "Seat {{ seat }}"}});
    let res = app
        .admin(Method::POST, "/api/v1/templates")
        .json(&tpl)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let rule = json!({"name": "booked to discord", "event_pattern": "booking.confirmed",
                      "channels": ["discord"], "template_code": "booked",
                      "chat": {"discord": {"webhook_url": hook(&rules_hook, "/rule/very-secret")}}});
    let res = app
        .admin(Method::POST, "/api/v1/rules")
        .json(&rule)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    let shown = created["chat"]["discord"]["destination"]
        .as_str()
        .unwrap_or_default();
    assert!(
        !shown.contains("very-secret") && shown.ends_with("cret"),
        "{created}"
    );
    let event = json!({"event_id": "e-1", "event_type": "booking.confirmed", "user_id": "bob",
                       "movie": "Dune", "seat": "B7"});
    let (s, out) = post_event(&app, &event).await;
    assert_eq!(
        (s, out["status"].as_str()),
        (202, Some("processed")),
        "{out}"
    );
    wait_for_requests(&rules_hook, 1).await;
    let d = body_of(&rules_hook, 0);
    assert_eq!(d["embeds"][0]["title"], "Booked Dune");
    assert_eq!(d["embeds"][0]["description"], "Seat B7");
    assert!(
        users_hook.recorded().is_empty(),
        "the rule's destination wins"
    );
}

async fn a_slack_blocks_template_renders_with_json_escaped_values(backend: Backend) {
    let Some(app) = chat_app(backend, None).await else {
        return;
    };
    let slack = HttpStub::start(vec![(200, "ok".into())]).await;
    set_destination(
        &app,
        "cy",
        "slack",
        json!({"webhook_url": hook(&slack, "/h")}),
    )
    .await;
    let quoted = json!({"code": "bad", "slack": {"blocks": r#"[{"type": "section", "text": {"type": "mrkdwn", "text": "{{ name }}"}}]"#}});
    let res = app
        .admin(Method::POST, "/api/v1/templates")
        .json(&quoted)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"]["code"], "template_json_quoted_value", "{err}");
    let tpl = json!({"code": "hello", "in_app": {"title": "Hello"},
                     "slack": {"blocks": r#"[{"type": "section", "text": {"type": "mrkdwn", "text": {{ name }}}}]"#}});
    let res = app
        .admin(Method::POST, "/api/v1/templates")
        .json(&tpl)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let hostile = r#"Ada"}]},{"type":"image","image_url":"https://evil.example/x.png"#;
    let res = app
        .send(
            json!({"user_id": "cy", "channels": ["slack"], "template_code": "hello",
                     "variables": {"name": hostile}, "request_id": "t1"}),
        )
        .await;
    assert_eq!(res.status(), 202);
    wait_for_requests(&slack, 1).await;
    let b = body_of(&slack, 0);
    assert_eq!(
        b["blocks"].as_array().map(Vec::len),
        Some(1),
        "a value cannot add blocks: {b}"
    );
    assert_eq!(b["blocks"][0]["text"]["text"], hostile);
    assert_eq!(b["text"], "Hello");
    wait_for("the slack delivery to be sent", 20, || async {
        deliveries(&app, "cy", "t1")
            .await
            .first()
            .is_some_and(|d| d["status"] == "sent")
    })
    .await;
}

on_both!(
    every_service_receives_its_default_message_from_a_send,
    a_rule_posts_to_its_own_destination_rather_than_the_users,
    a_slack_blocks_template_renders_with_json_escaped_values,
);
