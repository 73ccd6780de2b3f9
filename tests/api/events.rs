//! Events become notifications exactly once: templates, rules, REST events,
//! audit and dead letters. (RabbitMQ and Redis paths are in `sources.rs`.)

use crate::helpers::TestApp;
use crate::on_both_databases;
use reqwest::Method;
use serde_json::{json, Value};

pub fn movie_pack() -> Value {
    serde_json::from_str(include_str!("../../examples/movie-booking/pack.json")).unwrap()
}

pub fn seed_events() -> Vec<(String, Value)> {
    let v: Value = serde_json::from_str(include_str!("../fixtures/seed001_events.json")).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["routing_key"].as_str().unwrap().to_string(),
                e["body"].clone(),
            )
        })
        .collect()
}

pub async fn import(app: &TestApp, pack: &Value) -> Value {
    let res = app
        .admin(Method::POST, "/api/v1/import")
        .json(pack)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

pub async fn post_event(app: &TestApp, body: &Value) -> (u16, Value) {
    let res = app
        .admin(Method::POST, "/api/v1/events")
        .json(body)
        .send()
        .await
        .unwrap();
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
}

pub async fn audit(app: &TestApp, event_id: &str) -> Value {
    let res = app
        .admin(Method::GET, &format!("/api/v1/events/{event_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "audit of {event_id}");
    res.json().await.unwrap()
}

/// Checks what the movie app's six events produced for user_123.
pub async fn assert_seed_001_outcome(app: &TestApp) {
    let token = app.token("user_123").await;
    let (_, page) = app.get_json(&token, "/api/v1/notifications?limit=50").await;
    let titles: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap())
        .collect();
    for expected in [
        "Booking confirmed: Inception",
        "Booking BOOK-789012 cancelled",
        "Refund of $30.00 processed",
        "Payment received: $30.00",
        "Payment failed for booking BOOK-789012",
    ] {
        assert!(titles.contains(&expected), "{expected} in {titles:?}");
    }
    assert_eq!(
        titles.len(),
        6,
        "one in-app notification per event: {titles:?}"
    );
    let confirmed = audit(app, "evt_booking_001").await;
    assert_eq!(confirmed["status"], "processed");
    let email = confirmed["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["channel"] == "email")
        .expect("email delivery");
    // With no SMTP configured the scheduler writes it as an .eml file at once.
    assert!(
        ["pending", "sending", "sent"].contains(&email["status"].as_str().unwrap()),
        "{email}"
    );
    assert_eq!(email["content"]["to"], "customer@example.com");
    assert_eq!(
        email["content"]["subject"],
        "Your tickets for Inception (BOOK-789012)"
    );
    assert!(email["content"]["html"]
        .as_str()
        .unwrap()
        .contains("B5, B6"));
    assert!(email["content"]["text"]
        .as_str()
        .unwrap()
        .contains("Total: $30.00"));
    assert_eq!(email["template_code"], "booking_confirmation");
    assert_eq!(email["template_version"], 1);
    let in_app = confirmed["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["channel"] == "in_app")
        .expect("in-app delivery");
    assert!(in_app["notification_id"].is_string());
    // The movie app's events carry no phone: SMS is skipped with a reason, not failed.
    assert_eq!(
        confirmed["outcome"]["rules"][0]["channels"]["sms"],
        "skipped: the user has no phone number"
    );
    let cancelled = audit(app, "evt_booking_002").await;
    let text = cancelled["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["channel"] == "email")
        .unwrap()["content"]["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        text.contains("A refund of $30.00 will be issued."),
        "{text}"
    );
    let failed = audit(app, "evt_payment_002").await;
    let html = failed["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["channel"] == "email")
        .unwrap()["content"]["html"]
        .as_str()
        .unwrap()
        .to_string();
    // HTML autoescape writes `/` as `&#x2f;`; browsers decode it in the href.
    assert!(
        html.contains("movieapp.com&#x2f;payment&#x2f;retry&#x2f;BOOK-789012"),
        "{html}"
    );
    let user: Value = app
        .admin(Method::GET, "/api/v1/users/user_123")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        user["email"], "customer@example.com",
        "the user was created on first sight with the event's email"
    );
}

async fn seed_001_events_over_rest_become_rendered_notifications(app: TestApp) {
    let summary = import(&app, &movie_pack()).await;
    assert_eq!(summary["rules"]["created"], 6);
    for (_, body) in seed_events() {
        let (s, out) = post_event(&app, &body).await;
        assert_eq!(s, 202, "{out}");
        assert_eq!(out["status"], "processed");
    }
    assert_seed_001_outcome(&app).await;
    // Importing again changes nothing.
    let again = import(&app, &movie_pack()).await;
    assert_eq!(again["rules"]["unchanged"], 6);
    assert_eq!(again["templates"]["unchanged"], 5);
}

async fn the_same_event_twice_notifies_once(app: TestApp) {
    import(&app, &movie_pack()).await;
    let (_, body) = &seed_events()[0];
    let sends = (0..8).map(|_| post_event(&app, body));
    let results = futures_util::future::join_all(sends).await;
    let processed = results
        .iter()
        .filter(|(_, o)| o["status"] == "processed")
        .count();
    assert_eq!(processed, 1, "{results:?}");
    assert!(results
        .iter()
        .all(|(s, o)| *s == 202 && (o["status"] == "processed" || o["status"] == "duplicate")));
    let token = app.token("user_123").await;
    let (_, page) = app.get_json(&token, "/api/v1/notifications").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
}

async fn an_event_no_rule_matches_is_audited_with_the_reason(app: TestApp) {
    let event = json!({"event_id": "e-none", "event_type": "inventory.restocked", "user_id": "u"});
    let (s, out) = post_event(&app, &event).await;
    assert_eq!((s, out["status"].as_str()), (202, Some("no_match")));
    let a = audit(&app, "e-none").await;
    assert_eq!(a["status"], "dead_lettered");
    assert!(a["outcome"]["reason"]
        .as_str()
        .unwrap()
        .contains("no enabled rule matches event type 'inventory.restocked'"));
    // Once a rule exists, replaying the parked event processes it.
    let tpl = json!({"code": "restock", "in_app": {"title": "Back in stock"}});
    assert_eq!(
        app.admin(Method::POST, "/api/v1/templates")
            .json(&tpl)
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    let rule = json!({"name": "restock", "event_pattern": "inventory.*", "channels": ["in_app"], "template_code": "restock"});
    assert_eq!(
        app.admin(Method::POST, "/api/v1/rules")
            .json(&rule)
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    let id = out["dead_letter_id"].as_str().unwrap();
    let res = app
        .admin(Method::POST, &format!("/api/v1/dead-letters/{id}/replay"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(audit(&app, "e-none").await["status"], "processed");
}

async fn bad_events_are_dead_lettered_with_a_reason_and_can_be_replayed(app: TestApp) {
    import(&app, &movie_pack()).await;
    let bodies = [
        (r#"{not json"#.to_string(), "malformed_event"),
        (
            json!({"event_id": "x1", "user_id": "u"}).to_string(),
            "malformed_event",
        ),
        (
            json!({"event_id": "x2", "event_type": "booking.confirmed", "movie_title": "M"})
                .to_string(),
            "event_rejected",
        ),
    ];
    for (body, code) in &bodies {
        let res = app
            .admin(Method::POST, "/api/v1/events")
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422);
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["error"]["code"], *code, "{v}");
    }
    // A template error (strict undefined: the event lacks `showtime`) is dead-lettered too.
    let partial = json!({"event_id": "x3", "event_type": "booking.confirmed", "user_id": "u9", "booking_id": "B1", "movie_title": "M"});
    let (s, err) = post_event(&app, &partial).await;
    assert_eq!(s, 422);
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("undefined"),
        "{err}"
    );
    let list: Value = app
        .admin(Method::GET, "/api/v1/dead-letters")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    assert!(items.iter().any(|d| d["event_id"] == "x3"));
    assert!(items
        .iter()
        .any(|d| d["reason"].as_str().unwrap().contains("missing user id")));
    assert!(items
        .iter()
        .any(|d| d["reason"].as_str().unwrap().contains("not JSON")));
    // Fix the template, then replay the dead letter.
    let tpl = json!({"locale": "en", "in_app": {"title": "Booked {{ movie_title }}", "body": "{{ booking_id }}"},
                     "email": {"subject": "Booked", "html": "<p>{{ booking_id }}</p>", "text": "{{ booking_id }}"}, "sms": {"text": "{{ booking_id }}"}});
    let res = app
        .admin(Method::PUT, "/api/v1/templates/booking_confirmation")
        .json(&tpl)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let dead = items
        .iter()
        .find(|d| d["payload"].as_str().unwrap().contains("\"x3\""))
        .unwrap();
    let res = app
        .admin(
            Method::POST,
            &format!(
                "/api/v1/dead-letters/{}/replay",
                dead["id"].as_str().unwrap()
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let token = app.token("u9").await;
    let (_, page) = app.get_json(&token, "/api/v1/notifications").await;
    assert_eq!(page["items"][0]["title"], "Booked M");
    let a = audit(&app, "x3").await;
    let email = a["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["channel"] == "email")
        .map(|d| d["template_version"].clone());
    assert_eq!(email, None, "u9 has no email: skipped");
    let list: Value = app
        .admin(Method::GET, "/api/v1/dead-letters?status=replayed")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

async fn templates_are_versioned_validated_and_previewed_safely(app: TestApp) {
    let create = json!({"code": "welcome", "description": "hi",
        "in_app": {"title": "Hi {{ name }}", "body": "Welcome"},
        "email": {"subject": "Hi {{ name }}", "html": "<p>Hello {{ name }}</p>", "text": "Hello {{ name }}"}});
    let res = app
        .admin(Method::POST, "/api/v1/templates")
        .json(&create)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(
        app.admin(Method::POST, "/api/v1/templates")
            .json(&create)
            .send()
            .await
            .unwrap()
            .status(),
        409
    );
    let update = json!({"in_app": {"title": "Hello {{ name }}", "body": "Welcome back"}});
    let v: Value = app
        .admin(Method::PUT, "/api/v1/templates/welcome")
        .json(&update)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["version"], 2);
    let versions: Value = app
        .admin(Method::GET, "/api/v1/templates/welcome/versions")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(versions["items"].as_array().unwrap().len(), 2);
    let listed: Value = app
        .admin(Method::GET, "/api/v1/templates")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"][0]["version"], 2);
    // A syntax error names the part and line.
    let bad = json!({"email": {"subject": "x", "html": "<p>\n{% if %}\n</p>"}});
    let res = app
        .admin(Method::PUT, "/api/v1/templates/welcome")
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let err: Value = res.json().await.unwrap();
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("email.html, line 2"),
        "{err}"
    );
    // Preview: HTML escapes, text does not.
    app.admin(Method::PUT, "/api/v1/templates/welcome")
        .json(&create)
        .send()
        .await
        .unwrap();
    let evil = json!({"variables": {"name": "<script>alert(1)</script>"}});
    let r: Value = app
        .admin(Method::POST, "/api/v1/templates/welcome/render")
        .json(&evil)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        r["channels"]["email"]["parts"]["html"],
        "<p>Hello &lt;script&gt;alert(1)&lt;&#x2f;script&gt;</p>"
    );
    assert_eq!(
        r["channels"]["email"]["parts"]["text"],
        "Hello <script>alert(1)</script>"
    );
    // The bare shape: the body is the variables.
    let r: Value = app
        .admin(Method::POST, "/api/v1/templates/welcome/render")
        .json(&json!({"name": "Ada"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["rendered"], "Welcome");
    // Strict undefined names the variable; a runaway loop is stopped.
    let res = app
        .admin(Method::POST, "/api/v1/templates/welcome/render")
        .json(&json!({"variables": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let runaway = json!({"sms": {"text": "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}"}});
    app.admin(Method::PUT, "/api/v1/templates/welcome")
        .json(&runaway)
        .send()
        .await
        .unwrap();
    let res = app
        .admin(Method::POST, "/api/v1/templates/welcome/render")
        .json(&json!({"variables": {}, "channel": "sms"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let err: Value = res.json().await.unwrap();
    assert!(
        err["error"]["message"].as_str().unwrap().contains("fuel"),
        "{err}"
    );
    // /send renders the in-app parts for the user.
    app.admin(Method::PUT, "/api/v1/templates/welcome")
        .json(&create)
        .send()
        .await
        .unwrap();
    let sent = app
        .send(json!({"user_id": "ada", "template_code": "welcome", "variables": {"name": "Ada"}}))
        .await;
    assert_eq!(sent.status(), 202);
    let token = app.token("ada").await;
    let (_, page) = app.get_json(&token, "/api/v1/notifications").await;
    assert_eq!(page["items"][0]["title"], "Hi Ada");
    assert_eq!(
        app.admin(Method::DELETE, "/api/v1/templates/welcome")
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        app.admin(Method::GET, "/api/v1/templates/welcome")
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

async fn rules_are_managed_and_conditions_filter_events(app: TestApp) {
    import(&app, &movie_pack()).await;
    let rule = json!({"name": "refund only when eligible", "event_pattern": "booking.*", "channels": ["in_app"],
                      "template_code": "booking_cancellation", "category": "refunds",
                      "condition": "refund_eligible and refund_amount > 0"});
    let res = app
        .admin(Method::POST, "/api/v1/rules")
        .json(&rule)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    let got: Value = app
        .admin(Method::GET, &format!("/api/v1/rules/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["condition"], "refund_eligible and refund_amount > 0");
    let mut not_eligible = seed_events()[1].1.clone();
    not_eligible["event_id"] = json!("evt_no_refund");
    not_eligible["refund_eligible"] = json!(false);
    post_event(&app, &not_eligible).await;
    let a = audit(&app, "evt_no_refund").await;
    assert!(
        a["outcome"]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["skipped"] == "condition is false"),
        "{a}"
    );
    for bad in [
        json!({"name": "x"}),
        json!({"name": "x", "event_pattern": "a..b", "channels": ["in_app"], "template_code": "t"}),
        json!({"name": "x", "event_pattern": "a", "channels": ["pigeon"], "template_code": "t"}),
        json!({"name": "x", "event_pattern": "a", "channels": ["in_app"], "template_code": "t", "condition": "a >"}),
    ] {
        let res = app
            .admin(Method::POST, "/api/v1/rules")
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422, "{bad}");
    }
    let mut disabled = rule.clone();
    disabled["enabled"] = json!(false);
    assert_eq!(
        app.admin(Method::PUT, &format!("/api/v1/rules/{id}"))
            .json(&disabled)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        app.admin(Method::DELETE, &format!("/api/v1/rules/{id}"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        app.admin(Method::GET, &format!("/api/v1/rules/{id}"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let list: Value = app
        .admin(Method::GET, "/api/v1/rules")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 6);
}

async fn preferences_and_quiet_hours_shape_event_deliveries(app: TestApp) {
    import(&app, &movie_pack()).await;
    let always_quiet = json!({"categories": {"booking": {"sms": false}},
                               "quiet_hours": {"start": "00:00", "end": "23:59", "timezone": "UTC"}});
    app.admin(Method::PUT, "/api/v1/users/user_123/preferences")
        .json(&always_quiet)
        .send()
        .await
        .unwrap();
    app.admin(Method::PUT, "/api/v1/users/user_123")
        .json(&json!({"email": "ada@example.com", "phone": "+14155550123"}))
        .send()
        .await
        .unwrap();
    post_event(&app, &seed_events()[0].1).await;
    let a = audit(&app, "evt_booking_001").await;
    let channels = &a["outcome"]["rules"][0]["channels"];
    assert_eq!(channels["sms"], "suppressed");
    assert_eq!(channels["email"], "pending (quiet hours)");
    let email = a["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["channel"] == "email")
        .unwrap();
    assert_eq!(
        email["content"]["to"], "ada@example.com",
        "the user's own email wins over the event's"
    );
    let at: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(email["next_attempt_at"].clone()).unwrap();
    assert!(
        at > chrono::Utc::now(),
        "deferred to the end of quiet hours"
    );
}

on_both_databases!(
    seed_001_events_over_rest_become_rendered_notifications,
    the_same_event_twice_notifies_once,
    an_event_no_rule_matches_is_audited_with_the_reason,
    bad_events_are_dead_lettered_with_a_reason_and_can_be_replayed,
    templates_are_versioned_validated_and_previewed_safely,
    rules_are_managed_and_conditions_filter_events,
    preferences_and_quiet_hours_shape_event_deliveries,
);
