//! A template whose tags or actions render to something `/send` would refuse
//! fails the event with the reason in its audit; nothing is stored.

use super::{audit, list, post_event, rule_with};
use crate::helpers::TestApp;
use crate::on_both_databases;
use reqwest::Method;
use serde_json::json;

async fn an_invalid_rendered_action_is_refused_with_a_clear_reason(app: TestApp) {
    rule_with(
        &app,
        "three",
        "order.three",
        json!({"title": "t", "actions": r#"[{% for i in [1, 2, 3] %}{% if not loop.first %},{% endif %}{"label": {{ "Button " ~ i }}, "url": {{ "/o/" ~ order }}}{% endfor %}]"#}),
    )
    .await;
    rule_with(
        &app,
        "both",
        "order.both",
        json!({"title": "t", "actions": r#"[{"label": "Go", "url": {{ "/o/" ~ order }}, "event": "order.go"}]"#}),
    )
    .await;
    let cases = [
        (
            "o-3",
            "order.three",
            "in_app.actions: invalid action: at most 2 actions per notification",
        ),
        (
            "o-b",
            "order.both",
            "in_app.actions: invalid action: an action needs exactly one of url and event",
        ),
    ];
    for (event_id, event_type, reason) in cases {
        let event =
            json!({"event_id": event_id, "event_type": event_type, "user_id": "cy", "order": 9});
        let (status, err) = post_event(&app, &event).await;
        assert_eq!(status, 422, "{err}");
        assert_eq!(err["error"]["code"], "event_rejected");
        let message = err["error"]["message"].as_str().expect("message");
        assert!(message.contains(reason), "{event_type}: {message}");
        let a = audit(&app, event_id).await;
        assert_eq!(a["status"], "dead_lettered", "{a}");
        let recorded = a["outcome"]["reason"].as_str().expect("reason");
        assert!(recorded.contains(reason), "{event_type}: {a}");
    }
    let token = app.token("cy").await;
    assert!(
        list(&app, &token, "").await.is_empty(),
        "nothing was stored"
    );
}

async fn a_quoted_value_in_the_new_parts_is_refused_when_the_template_is_saved(app: TestApp) {
    for part in ["tags", "actions"] {
        let source = if part == "tags" {
            r#"["{{ city }}"]"#
        } else {
            r#"[{"label": "View", "url": "/b/{{ id }}"}]"#
        };
        let res = app
            .admin(Method::POST, "/api/v1/templates")
            .json(
                &json!({"code": format!("quoted_{part}"), "in_app": {"title": "t", part: source}}),
            )
            .send()
            .await
            .expect("template");
        assert_eq!(res.status(), 422);
        let v: serde_json::Value = res.json().await.expect("json");
        assert_eq!(v["error"]["code"], "template_json_quoted_value", "{v}");
    }
}

on_both_databases!(
    an_invalid_rendered_action_is_refused_with_a_clear_reason,
    a_quoted_value_in_the_new_parts_is_refused_when_the_template_is_saved,
);
