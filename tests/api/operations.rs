use crate::helpers::{spawn_app, Backend};
use serde_json::Value;

#[actix_web::rt::test(system = "crate::test_system::TestSystem")]
async fn health_answers_and_ready_reports_components_and_counters() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let res = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    app.notify("u", "x").await;
    let ready = app.ready().await;
    assert_eq!(ready["status"], "healthy");
    assert_eq!(ready["service"], "herald");
    assert!(ready["components"]["database"]
        .as_str()
        .unwrap()
        .starts_with("connected"));
    assert_eq!(ready["processed_count"], 1);
    assert_eq!(ready["failed_count"], 0);
    assert!(ready["last_processed"].is_string());
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("herald_notifications_processed_total 1"));
}

#[actix_web::rt::test(system = "crate::test_system::TestSystem")]
async fn the_openapi_document_and_swagger_ui_are_served() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let spec: Value = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/send",
        "/api/v1/notifications",
        "/api/v1/preferences",
        "/api/v1/ws",
        "/api/v1/users/{user_id}",
    ] {
        assert!(spec["paths"][path].is_object(), "{path} is documented");
    }
    let res = app
        .client
        .get(app.url("/api/v1/docs/"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("swagger"));
}

#[actix_web::rt::test(system = "crate::test_system::TestSystem")]
async fn unknown_routes_answer_json_404() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let res = app
        .client
        .get(app.url("/api/v1/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
}
