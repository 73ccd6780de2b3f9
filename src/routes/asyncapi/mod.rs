//! The AsyncAPI 3.0 document at `GET /api/v1/asyncapi.json`: the WebSocket
//! protocol, its SSE fallback, and RabbitMQ and Redis ingestion.
//!
//! Frame schemas come from the frame types themselves ([`ServerFrame`],
//! [`RawFrame`]) through utoipa, and each frame type becomes one message, so
//! a frame added to the protocol appears here without anyone editing a file.
//! What the types cannot say (close codes, query parameters, broker names)
//! lives in [`transport`].

mod transport;

use crate::protocol::{RawFrame, ServerFrame};
use actix_web::HttpResponse;
use serde_json::{json, Map, Value};
use std::sync::OnceLock;
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

/// The document, built once: it depends on nothing but the types.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(build)
}

/// Serves the document (no auth, like the OpenAPI JSON).
#[tracing::instrument(skip_all)]
pub async fn serve() -> HttpResponse {
    HttpResponse::Ok().json(document())
}

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    // Schemas are plain data; a failure would be a utoipa bug, shown as null.
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// The schemas a frame type refers to (`NotificationView`, `Priority`, …).
fn referenced<T: ToSchema>(into: &mut Map<String, Value>) {
    let mut found: Vec<(String, RefOr<Schema>)> = vec![];
    T::schemas(&mut found);
    for (name, schema) in found {
        into.insert(name, to_json(&schema));
    }
}

/// Splits a tagged enum's `oneOf` into one schema per frame, keyed by its `type`.
fn frames(schema: Value) -> Vec<(String, Value)> {
    schema["oneOf"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|variant| {
            let name = variant["properties"]["type"]["enum"][0].as_str()?;
            Some((name.to_string(), variant.clone()))
        })
        .collect()
}

/// AsyncAPI message ids are the frame types; schema names are CamelCase.
fn schema_name(prefix: &str, frame: &str) -> String {
    let camel: String = frame
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect();
    format!("{prefix}{camel}")
}

fn build() -> Value {
    let mut schemas = Map::new();
    referenced::<ServerFrame<'static>>(&mut schemas);
    referenced::<RawFrame>(&mut schemas);
    let mut messages = Map::new();
    let mut server = vec![];
    let mut client = vec![];
    for (side, frames, out) in [
        (
            "Server",
            frames(to_json(&ServerFrame::schema())),
            &mut server,
        ),
        ("Client", frames(to_json(&RawFrame::schema())), &mut client),
    ] {
        for (frame, schema) in frames {
            let name = schema_name(side, &frame);
            schemas.insert(name.clone(), schema);
            let id = message_id(side, &frame);
            messages.insert(
                id.clone(),
                json!({"name": frame, "title": frame, "contentType": "application/json",
                       "summary": transport::summary(side, &frame),
                       "payload": {"$ref": format!("#/components/schemas/{name}")}}),
            );
            out.push(id);
        }
    }
    transport::ingestion_components(&mut schemas, &mut messages);
    json!({
        "asyncapi": "3.0.0",
        "info": {
            "title": "Herald realtime and ingestion",
            "version": env!("CARGO_PKG_VERSION"),
            "description": transport::DESCRIPTION,
        },
        "defaultContentType": "application/json",
        "servers": transport::servers(),
        "channels": transport::channels(&server, &client),
        "operations": transport::operations(&server, &client),
        "components": {"schemas": schemas, "messages": messages},
    })
}

/// A message's id: the frame type, prefixed for client frames so that the
/// two directions never collide.
pub(crate) fn message_id(side: &str, frame: &str) -> String {
    match side {
        "Client" => format!("client_{frame}"),
        _ => frame.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_server_frame_type_is_a_message() {
        let doc = document();
        for frame in [
            "hello",
            "notification",
            "read",
            "read_all",
            "error",
            "pong",
            "unsnoozed",
        ] {
            let payload = &doc["components"]["messages"][frame]["payload"]["$ref"];
            assert!(payload.is_string(), "{frame}");
        }
        assert!(doc["components"]["schemas"]["NotificationView"].is_object());
        assert!(doc["components"]["messages"]["client_mark_read"].is_object());
    }

    #[test]
    fn schema_names_are_camel_case() {
        assert_eq!(schema_name("Server", "read_all"), "ServerReadAll");
    }
}
