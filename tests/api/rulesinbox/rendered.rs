//! A rule's template renders tags and actions from the event's values; they
//! reach the row, the REST view and the WebSocket frame as a `/send`'s do.

use super::{audit, list, post_event, rule_with};
use crate::helpers::{next_of_type, TestApp};
use crate::on_both_databases;
use serde_json::{json, Value};

fn booking_parts() -> Value {
    json!({
        "title": "Booking {{ booking_id }}",
        "body": "See you in {{ city }}",
        "tags": r#"["booking", {{ "city:" ~ city }}]"#,
        "actions": r#"[{"label": "View", "url": {{ "/bookings/" ~ booking_id }}},
                       {"label": "Cancel", "event": "booking.cancel_requested"}]"#,
    })
}

async fn an_event_rule_gives_its_notification_the_templates_tags_and_actions(app: TestApp) {
    rule_with(&app, "booked", "booking.confirmed", booking_parts()).await;
    rule_with(
        &app,
        "cancel_ack",
        "booking.cancel_requested",
        json!({"title": "Cancellation requested", "body": "from {{ label }}"}),
    )
    .await;
    let token = app.token("ada").await;
    let (mut ws, _) = app.ws(&token, None).await;
    let event = json!({"event_id": "b-1", "event_type": "booking.confirmed", "user_id": "ada",
                       "booking_id": "BK-7", "city": "paris"});
    let (status, out) = post_event(&app, &event).await;
    assert_eq!(status, 202, "{out}");

    let want_tags = json!(["booking", "city:paris"]);
    let want_actions = json!([
        {"label": "View", "url": "/bookings/BK-7"},
        {"label": "Cancel", "event": "booking.cancel_requested"},
    ]);
    let frame = next_of_type(&mut ws, "notification").await;
    let n = &frame["notification"];
    assert_eq!(n["title"], "Booking BK-7");
    assert_eq!(
        (&n["tags"], &n["actions"]),
        (&want_tags, &want_actions),
        "{frame}"
    );
    let id = n["id"].as_str().expect("id").to_string();

    let items = list(&app, &token, "").await;
    assert_eq!(items.len(), 1);
    assert_eq!(
        (&items[0]["tags"], &items[0]["actions"]),
        (&want_tags, &want_actions)
    );
    let tagged = list(&app, &token, "?tag=city:paris").await;
    assert_eq!(tagged.len(), 1, "the tag filter finds it");
    assert_eq!(tagged[0]["id"], id.as_str());
    assert!(list(&app, &token, "?tag=city:rome").await.is_empty());

    // The event button posts back through the pipeline; its rule answers the user.
    let (status, v) = app
        .post_json(
            &token,
            &format!("/api/v1/notifications/{id}/actions/1"),
            json!({}),
        )
        .await;
    let event_id = format!("action:{id}:1");
    assert_eq!((status, v), (202, json!({"event_id": event_id})));
    let a = audit(&app, &event_id).await;
    assert_eq!(
        (&a["event_type"], &a["source"], &a["status"]),
        (
            &json!("booking.cancel_requested"),
            &json!("action"),
            &json!("processed")
        ),
        "{a}"
    );
    assert_eq!(a["outcome"]["rules"][0]["rule"], "cancel_ack", "{a}");
    let frame = next_of_type(&mut ws, "notification").await;
    assert_eq!(frame["notification"]["body"], "from Cancel");
    // A url button answers with the rendered URL.
    let (status, v) = app
        .post_json(
            &token,
            &format!("/api/v1/notifications/{id}/actions/0"),
            json!({}),
        )
        .await;
    assert_eq!((status, v), (200, json!({"url": "/bookings/BK-7"})));
}

async fn hostile_event_values_stay_single_json_values(app: TestApp) {
    rule_with(
        &app,
        "invite",
        "invite.sent",
        json!({
            "title": "Invitation",
            "tags": r#"["invite"]"#,
            "actions": r#"[{"label": {{ inviter }}, "url": {{ "/invites/" ~ invite_id }}}]"#,
        }),
    )
    .await;
    // Each value tries to close its string and add a button of its own.
    let inviter = r#"x"},{"label":"E","url":"http://e.io"#;
    let invite_id = r#"1"},{"label":"Pay","event":"pay.now"#;
    let event = json!({"event_id": "i-1", "event_type": "invite.sent", "user_id": "bob",
                       "inviter": inviter, "invite_id": invite_id});
    let (status, out) = post_event(&app, &event).await;
    assert_eq!(status, 202, "{out}");
    let token = app.token("bob").await;
    let items = list(&app, &token, "").await;
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0]["actions"],
        json!([{"label": inviter, "url": format!("/invites/{invite_id}")}]),
        "one button, its label and URL exactly the event's strings"
    );
    assert_eq!(items[0]["tags"], json!(["invite"]));

    // A hostile tag is one (invalid) tag, never a list of new ones.
    rule_with(
        &app,
        "labelled",
        "doc.labelled",
        json!({"title": "Labelled", "tags": "[{{ label }}]"}),
    )
    .await;
    let event = json!({"event_id": "l-1", "event_type": "doc.labelled", "user_id": "bob",
                       "label": r#"a", "admin", "b"#});
    let (status, err) = post_event(&app, &event).await;
    assert_eq!(status, 422, "{err}");
    let message = err["error"]["message"].as_str().expect("message");
    assert!(
        message
            .contains(r#"in_app.tags: invalid tag: 'a", "admin", "b' must be 1 to 32 characters"#),
        "{err}"
    );
    assert_eq!(list(&app, &token, "?tag=admin").await.len(), 0);
}

async fn a_send_naming_the_template_gets_its_tags_unless_it_brings_its_own(app: TestApp) {
    rule_with(&app, "booked", "booking.confirmed", booking_parts()).await;
    let vars = json!({"booking_id": "BK-9", "city": "oslo"});
    let sent = |extra: Value| {
        let mut body = json!({"user_id": "eve", "template_code": "booked", "variables": vars});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        body
    };
    for body in [sent(json!({})), sent(json!({"tags": ["mine"]}))] {
        let res = app.send(body).await;
        assert_eq!(res.status(), 202, "{:?}", res.text().await);
    }
    let token = app.token("eve").await;
    let items = list(&app, &token, "").await;
    assert_eq!(items.len(), 2);
    // Newest first: the send with its own tags, then the template's.
    assert_eq!(items[0]["tags"], json!(["mine"]));
    assert_eq!(items[1]["tags"], json!(["booking", "city:oslo"]));
    for n in &items {
        assert_eq!(n["actions"][0]["url"], "/bookings/BK-9", "{n}");
    }
}

on_both_databases!(
    an_event_rule_gives_its_notification_the_templates_tags_and_actions,
    hostile_event_values_stay_single_json_values,
    a_send_naming_the_template_gets_its_tags_unless_it_brings_its_own,
);
