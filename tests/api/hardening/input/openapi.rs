//! The OpenAPI document says what the server does: which fields are optional,
//! which errors each operation can answer, and the formats ids must have.

use crate::helpers::{spawn_app, Backend};
use serde_json::Value;

async fn document() -> Value {
    let app = spawn_app(Backend::Sqlite).await.expect("sqlite app");
    app.client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .expect("GET openapi.json")
        .json()
        .await
        .expect("a JSON document")
}

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = vec![];
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                out.push((method.clone(), path.clone(), op));
            }
        }
    }
    out
}

#[actix_web::rt::test(system = "crate::test_system::TestSystem")]
async fn only_the_fields_the_server_needs_are_required() {
    let doc = document().await;
    let send = &doc["components"]["schemas"]["SendRequest"];
    // The recipient is `user_id` or `topic`, exactly one, which the handler checks.
    assert!(
        send["required"].as_array().is_none_or(Vec::is_empty),
        "{send}"
    );
    let rule = &doc["components"]["schemas"]["RuleBody"];
    assert_eq!(
        rule["required"],
        serde_json::json!(["name", "event_pattern", "channels", "template_code"]),
        "{rule}"
    );
    for optional in ["variables", "priority", "data", "metadata"] {
        assert!(
            send["properties"][optional].to_string().contains("null"),
            "{optional} is nullable: {}",
            send["properties"][optional]
        );
    }
}

#[actix_web::rt::test(system = "crate::test_system::TestSystem")]
async fn every_authenticated_operation_declares_401_and_every_body_422() {
    let doc = document().await;
    for (method, path, op) in operations(&doc) {
        let responses = &op["responses"];
        let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
        if secured {
            assert!(responses["401"].is_object(), "{method} {path} declares 401");
        }
        if op.get("requestBody").is_some() {
            for status in ["400", "413", "415", "422"] {
                assert!(
                    responses[status].is_object(),
                    "{method} {path} declares {status}"
                );
            }
        }
    }
}

#[actix_web::rt::test(system = "crate::test_system::TestSystem")]
async fn path_ids_and_query_limits_carry_their_formats() {
    let doc = document().await;
    let param = |method: &str, path: &str, name: &str| -> Value {
        doc["paths"][path][method]["parameters"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == name).cloned())
            .unwrap_or(Value::Null)
    };
    let user = param("put", "/api/v1/users/{user_id}", "user_id");
    assert_eq!(user["schema"]["maxLength"], 128, "{user}");
    assert!(user["schema"]["pattern"].is_string(), "{user}");
    let rule = param("get", "/api/v1/rules/{id}", "id");
    assert_eq!(rule["schema"]["format"], "uuid", "{rule}");
    let limit = param("get", "/api/v1/notifications", "limit");
    assert_eq!(limit["schema"]["minimum"], 1, "{limit}");
    assert_eq!(limit["schema"]["maximum"], 100, "{limit}");
    let status = param("get", "/api/v1/dead-letters", "status");
    assert!(status.to_string().contains("replayed"), "{status}");
}
