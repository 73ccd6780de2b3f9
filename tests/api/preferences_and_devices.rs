use crate::helpers::TestApp;
use crate::on_both_databases;
use reqwest::Method;
use serde_json::{json, Value};

async fn preferences_default_to_everything_on_and_put_replaces(app: TestApp) {
    let token = app.token("p").await;
    let (s, prefs) = app.get_json(&token, "/api/v1/preferences").await;
    assert_eq!(s, 200);
    assert_eq!(
        prefs["channels"],
        json!({"in_app": true, "email": true, "push": true, "sms": true, "webhook": true, "web_push": true,
               "slack": true, "discord": true, "teams": true})
    );
    assert_eq!(prefs["quiet_hours"], Value::Null);
    let doc = json!({"channels": {"in_app": true, "email": true, "push": true, "sms": false, "webhook": true, "web_push": true,
                                  "slack": true, "discord": false, "teams": true},
                     "categories": {"marketing": {"email": false, "in_app": false}},
                     "quiet_hours": {"start": "22:00", "end": "07:00", "timezone": "Europe/Paris"}});
    let res = app
        .as_user(&token, Method::PUT, "/api/v1/preferences")
        .json(&doc)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (_, prefs) = app.get_json(&token, "/api/v1/preferences").await;
    assert_eq!(prefs, doc);
    // PUT replaces: what is not sent goes back to the default.
    let res = app
        .as_user(&token, Method::PUT, "/api/v1/preferences")
        .json(&json!({"channels": {"push": false}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (_, prefs) = app.get_json(&token, "/api/v1/preferences").await;
    assert_eq!(prefs["channels"]["sms"], true);
    assert_eq!(prefs["channels"]["push"], false);
    assert_eq!(prefs["categories"], json!({}));
    assert_eq!(prefs["quiet_hours"], Value::Null);
}

async fn patch_merges_into_stored_preferences(app: TestApp) {
    let token = app.token("p").await;
    let patch = |body: Value| {
        app.as_user(&token, Method::PATCH, "/api/v1/preferences")
            .json(&body)
            .send()
    };
    assert_eq!(
        patch(json!({"channels": {"sms": false}}))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        patch(json!({"categories": {"marketing": {"email": false}}}))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(patch(json!({"quiet_hours": {"start": "23:00", "end": "06:30", "timezone": "America/New_York"}})).await.unwrap().status(), 200);
    let (_, prefs) = app.get_json(&token, "/api/v1/preferences").await;
    assert_eq!(prefs["channels"]["sms"], false);
    assert_eq!(prefs["categories"]["marketing"]["email"], false);
    assert_eq!(prefs["quiet_hours"]["timezone"], "America/New_York");
    assert_eq!(
        patch(json!({"quiet_hours": null})).await.unwrap().status(),
        200
    );
    let (_, prefs) = app.get_json(&token, "/api/v1/preferences").await;
    assert_eq!(prefs["quiet_hours"], Value::Null);
    assert_eq!(prefs["channels"]["sms"], false, "earlier patches survive");
}

async fn services_manage_preferences_including_seed_002s_flat_form(app: TestApp) {
    let flat = json!({"email_notifications": true, "push_notifications": false, "sms_notifications": false, "categories": ["promotions"]});
    let res = app
        .admin(Method::PUT, "/api/v1/users/flat/preferences")
        .json(&flat)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let prefs: Value = app
        .admin(Method::GET, "/api/v1/users/flat/preferences")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(prefs["channels"]["push"], false);
    assert_eq!(prefs["channels"]["sms"], false);
    assert_eq!(prefs["channels"]["email"], true);
    assert_eq!(prefs["categories"]["promotions"]["in_app"], false);
    let res = app
        .admin(Method::PATCH, "/api/v1/users/flat/preferences")
        .json(&json!({"push_notifications": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let prefs: Value = res.json().await.unwrap();
    assert_eq!(prefs["channels"]["push"], true);
}

async fn users_are_upserted_read_and_erased_with_their_data(app: TestApp) {
    let profile = json!({"email": "customer@example.com", "phone": "+14155550123", "locale": "fr-CA",
                         "timezone": "Europe/Paris", "name": "Ada", "data": {"tier": "gold"}});
    let res = app
        .admin(Method::PUT, "/api/v1/users/user_123")
        .json(&profile)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let user: Value = app
        .admin(Method::GET, "/api/v1/users/user_123")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(user["email"], "customer@example.com");
    assert_eq!(user["data"]["tier"], "gold");
    let res = app
        .admin(Method::PUT, "/api/v1/users/user_123")
        .json(&json!({"email": "new@example.com"}))
        .send()
        .await
        .unwrap();
    let user: Value = res.json().await.unwrap();
    assert_eq!(user["email"], "new@example.com");
    assert_eq!(user["phone"], Value::Null, "PUT replaces the profile");
    app.notify("user_123", "hello").await;
    app.admin(Method::POST, "/api/v1/users/user_123/devices")
        .json(&json!({"token": "t1", "platform": "ios"}))
        .send()
        .await
        .unwrap();
    let res = app
        .admin(Method::DELETE, "/api/v1/users/user_123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(
        app.admin(Method::GET, "/api/v1/users/user_123")
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let token = app.token("user_123").await;
    let (_, page) = app.get_json(&token, "/api/v1/notifications").await;
    assert!(
        page["items"].as_array().unwrap().is_empty(),
        "notifications were erased"
    );
    let (_, devs) = app.get_json(&token, "/api/v1/devices").await;
    assert!(
        devs["items"].as_array().unwrap().is_empty(),
        "devices were erased"
    );
    assert_eq!(
        app.admin(Method::DELETE, "/api/v1/users/user_123")
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

async fn devices_register_in_both_shapes_and_can_be_removed(app: TestApp) {
    let res = app
        .admin(Method::POST, "/api/v1/users/dev/devices")
        .json(&json!({"fcm_token": "fcm-abc", "platform": "android", "device_id": "pixel-8"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let d: Value = res.json().await.unwrap();
    assert_eq!(
        (d["provider"].as_str(), d["active"].as_bool()),
        (Some("fcm"), Some(true))
    );
    let token = app.token("dev").await;
    let (s, d) = app
        .post_json(
            &token,
            "/api/v1/devices",
            json!({"token": "apns-hex", "platform": "ios"}),
        )
        .await;
    assert_eq!((s, d["provider"].as_str()), (201, Some("apns")));
    let (_, list) = app.get_json(&token, "/api/v1/devices").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    let svc: Value = app
        .admin(Method::GET, "/api/v1/users/dev/devices")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(svc["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        app.as_user(&token, Method::DELETE, "/api/v1/devices/apns-hex")
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        app.admin(Method::DELETE, "/api/v1/users/dev/devices/fcm-abc")
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let (_, list) = app.get_json(&token, "/api/v1/devices").await;
    assert!(list["items"].as_array().unwrap().is_empty());
    // Re-registering the same token is idempotent.
    for _ in 0..2 {
        let (s, _) = app
            .post_json(
                &token,
                "/api/v1/devices",
                json!({"token": "again", "platform": "web"}),
            )
            .await;
        assert_eq!(s, 201);
    }
    let (_, list) = app.get_json(&token, "/api/v1/devices").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

on_both_databases!(
    preferences_default_to_everything_on_and_put_replaces,
    patch_merges_into_stored_preferences,
    services_manage_preferences_including_seed_002s_flat_form,
    users_are_upserted_read_and_erased_with_their_data,
    devices_register_in_both_shapes_and_can_be_removed,
);
