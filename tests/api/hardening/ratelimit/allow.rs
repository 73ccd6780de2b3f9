//! Each path answers OPTIONS and wrong methods with its own `Allow`.

use super::header;
use crate::helpers::{spawn_app_with, Backend};
use crate::on_both;
use reqwest::Method;
use serde_json::Value;

/// Each path with the methods it serves, in registration order.
const PATHS: &[(&str, &str)] = &[
    ("/api/v1/notifications/mark-read", "POST, OPTIONS"),
    ("/api/v1/notifications/delete", "POST, OPTIONS"),
    ("/api/v1/notifications/mark-all-read", "POST, OPTIONS"),
    ("/api/v1/notifications/test", "POST, OPTIONS"),
    ("/api/v1/notifications/unread-count", "GET, OPTIONS"),
    ("/api/v1/notifications", "GET, OPTIONS"),
    (
        "/api/v1/notifications/0190c6a0-0000-7000-8000-000000000000",
        "GET, DELETE, OPTIONS",
    ),
    (
        "/api/v1/notifications/0190c6a0-0000-7000-8000-000000000000/read",
        "POST, OPTIONS",
    ),
    (
        "/api/v1/notifications/0190c6a0-0000-7000-8000-000000000000/unread",
        "POST, OPTIONS",
    ),
    ("/api/v1/send", "POST, OPTIONS"),
    ("/api/v1/ws", "GET, OPTIONS"),
    ("/health", "GET, OPTIONS"),
    ("/ready", "GET, OPTIONS"),
    ("/metrics", "GET, OPTIONS"),
    ("/api/v1/events", "POST, OPTIONS"),
    ("/api/v1/events/e-1", "GET, OPTIONS"),
    ("/api/v1/dead-letters", "GET, OPTIONS"),
    (
        "/api/v1/dead-letters/0190c6a0-0000-7000-8000-000000000000/replay",
        "POST, OPTIONS",
    ),
    ("/api/v1/import", "POST, OPTIONS"),
    ("/api/v1/templates", "POST, GET, OPTIONS"),
    ("/api/v1/templates/t/versions", "GET, OPTIONS"),
    ("/api/v1/templates/t/render", "POST, OPTIONS"),
    ("/api/v1/templates/t", "GET, PUT, DELETE, OPTIONS"),
    ("/api/v1/rules", "POST, GET, OPTIONS"),
    (
        "/api/v1/rules/0190c6a0-0000-7000-8000-000000000000",
        "GET, PUT, DELETE, OPTIONS",
    ),
    ("/api/v1/users/u", "PUT, GET, DELETE, OPTIONS"),
    ("/api/v1/users/u/token", "POST, OPTIONS"),
    ("/api/v1/users/u/preferences", "GET, PUT, PATCH, OPTIONS"),
    ("/api/v1/users/u/devices", "GET, POST, OPTIONS"),
    ("/api/v1/users/u/devices/tok", "DELETE, OPTIONS"),
    ("/api/v1/preferences", "GET, PUT, PATCH, OPTIONS"),
    ("/api/v1/devices", "GET, POST, OPTIONS"),
    ("/api/v1/devices/tok", "DELETE, OPTIONS"),
    ("/api/v1/webhooks", "POST, GET, OPTIONS"),
    (
        "/api/v1/webhooks/0190c6a0-0000-7000-8000-000000000000/test",
        "POST, OPTIONS",
    ),
    (
        "/api/v1/webhooks/0190c6a0-0000-7000-8000-000000000000",
        "GET, PUT, DELETE, OPTIONS",
    ),
    ("/api/v1/deliveries", "GET, OPTIONS"),
    ("/api/v1/callbacks/generic", "POST, OPTIONS"),
    ("/api/v1/unsubscribe", "GET, POST, OPTIONS"),
];

async fn options_answers_each_paths_own_methods(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |_| {}).await else {
        return;
    };
    for (path, allow) in PATHS {
        let res = app
            .client
            .request(Method::OPTIONS, app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204, "OPTIONS {path}");
        assert_eq!(header(&res, "allow"), *allow, "OPTIONS {path}");
    }
}

on_both!(options_answers_each_paths_own_methods);

async fn trace_and_other_wrong_methods_get_405_with_each_paths_own_allow(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |_| {}).await else {
        return;
    };
    let token = app.token("prober").await;
    for (path, allow) in PATHS {
        let wrong = [Method::PUT, Method::GET, Method::PATCH, Method::POST]
            .into_iter()
            .find(|m| !allow.split(", ").any(|a| a == m.as_str()))
            .expect("some method is not allowed");
        for method in [Method::TRACE, wrong] {
            let res = app
                .as_user(&token, method.clone(), path)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 405, "{method} {path}");
            assert_eq!(header(&res, "allow"), *allow, "{method} {path}");
            let body: Value = res.json().await.expect("405 body is JSON");
            assert_eq!(
                body["error"]["code"], "method_not_allowed",
                "{method} {path}"
            );
        }
    }
}

on_both!(trace_and_other_wrong_methods_get_405_with_each_paths_own_allow);
