use crate::helpers::{spawn_app, Backend, TestApp};
use crate::on_both_databases;
use serde_json::Value;

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// Follows one local `$ref` (`#/components/schemas/X`) into the document.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => r
            .strip_prefix("#/")
            .map(|p| p.split('/').fold(doc, |v, k| &v[k]))
            .unwrap_or(&Value::Null),
        None => schema,
    }
}

/// An object schema that says nothing about its members: no properties, no
/// additionalProperties schema and no composition. Such a body is undocumented.
fn is_bare_object(doc: &Value, schema: &Value) -> bool {
    let s = resolve(doc, schema);
    let is_object = match &s["type"] {
        Value::String(t) => t == "object",
        Value::Array(ts) => ts.iter().any(|t| t == "object"),
        Value::Null => true,
        _ => false,
    };
    let described = [
        "properties",
        "additionalProperties",
        "oneOf",
        "anyOf",
        "allOf",
    ]
    .iter()
    .any(|k| s.get(*k).is_some());
    is_object && !described
}

/// Every request and response body schema, named `METHOD path (where)`.
fn bodies(doc: &Value) -> Vec<(String, &Value)> {
    let mut out = vec![];
    let Some(paths) = doc["paths"].as_object() else {
        return out;
    };
    for (path, item) in paths {
        for method in METHODS {
            let op = &item[method];
            if op.is_null() {
                continue;
            }
            let at = format!("{} {path}", method.to_uppercase());
            if let Some(content) = op["requestBody"]["content"].as_object() {
                for media in content.values().filter(|m| m.get("schema").is_some()) {
                    out.push((format!("{at} (request)"), &media["schema"]));
                }
            }
            for (status, response) in op["responses"].as_object().into_iter().flatten() {
                let content = response["content"].as_object().into_iter().flatten();
                // A stream (SSE) has a media type and no schema: nothing to type.
                for media in content
                    .map(|(_, m)| m)
                    .filter(|m| m.get("schema").is_some())
                {
                    out.push((format!("{at} ({status})"), &media["schema"]));
                }
            }
        }
    }
    out
}

async fn openapi(app: &TestApp) -> Value {
    app.client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .expect("GET /api/v1/openapi.json")
        .json()
        .await
        .expect("the OpenAPI document is JSON")
}

async fn no_request_or_response_body_is_a_bare_object(app: TestApp) {
    let doc = openapi(&app).await;
    let all = bodies(&doc);
    assert!(all.len() > 50, "the walk found the bodies: {}", all.len());
    let offenders: Vec<&str> = all
        .iter()
        .filter(|(_, schema)| is_bare_object(&doc, schema))
        .map(|(at, _)| at.as_str())
        .collect();
    assert!(
        offenders.is_empty(),
        "{} bodies are bare objects:\n{}",
        offenders.len(),
        offenders.join("\n")
    );
}

async fn every_operation_that_answers_json_says_what_it_answers(app: TestApp) {
    let doc = openapi(&app).await;
    let mut untyped = vec![];
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in METHODS {
            let responses = &item[method]["responses"];
            for (status, response) in responses.as_object().into_iter().flatten() {
                // 2xx answers with a body must carry a schema; 204 and 101 have none.
                let no_body = ["101", "204"].contains(&status.as_str());
                if status.starts_with('2') && !no_body && response.get("content").is_none() {
                    untyped.push(format!("{} {path} ({status})", method.to_uppercase()));
                }
            }
        }
    }
    assert!(
        untyped.is_empty(),
        "answers without a schema:\n{}",
        untyped.join("\n")
    );
}

on_both_databases!(
    no_request_or_response_body_is_a_bare_object,
    every_operation_that_answers_json_says_what_it_answers,
);

#[actix_web::rt::test(system = "crate::test_system::TestSystem")]
async fn the_docs_path_without_a_slash_redirects_to_swagger_ui() {
    let app = spawn_app(Backend::Sqlite).await.expect("sqlite app");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let res = client
        .get(app.url("/api/v1/docs"))
        .send()
        .await
        .expect("GET /api/v1/docs");
    assert!(
        [301, 308].contains(&res.status().as_u16()),
        "status {}",
        res.status()
    );
    assert_eq!(res.headers()["location"], "/api/v1/docs/");
}

/// The document is refined by a round trip through utoipa's types (see
/// `src/routes/openapi/mod.rs`); a schema they cannot read would silently
/// drop the shared 401/422 answers, so every one must read back.
#[actix_web::rt::test(system = "crate::test_system::TestSystem")]
async fn every_schema_reads_back_as_utoipa_so_the_document_is_refined() {
    let app = spawn_app(Backend::Sqlite).await.expect("sqlite app");
    let doc = openapi(&app).await;
    let unreadable: Vec<String> = doc["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, s)| {
            serde_json::from_value::<utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>>(
                (*s).clone(),
            )
            .is_err()
        })
        .map(|(name, _)| name.clone())
        .collect();
    assert!(
        unreadable.is_empty(),
        "schemas utoipa cannot read back: {unreadable:?}"
    );
    assert!(serde_json::from_value::<utoipa::openapi::OpenApi>(doc).is_ok());
}
