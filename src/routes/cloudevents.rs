//! CloudEvents over HTTP (the HTTP protocol binding): which mode a request to
//! `POST /events` is in, and batch mode. Structured mode is declared by
//! `Content-Type: application/cloudevents+json` (or just sent as JSON with a
//! `specversion`), binary mode by `ce-*` headers around a JSON body.

use super::{ApiError, AppState};
use crate::domain::{cloudevents_batch, EventError};
use crate::pipeline::ingress::{binary_attributes, Inbound, Shape};
use crate::pipeline::PipelineError;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{json, Value};

/// The HTTP binding's prefix for context attributes in binary mode.
const CE_PREFIX: &str = "ce-";
const STRUCTURED: &str = "application/cloudevents+json";
const BATCH: &str = "application/cloudevents-batch+json";

fn content_type(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn essence(content_type: Option<&str>) -> String {
    content_type
        .and_then(|c| c.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Whether the body is a batch of structured CloudEvents.
pub fn is_batch(req: &HttpRequest) -> bool {
    essence(content_type(req).as_deref()) == BATCH
}

/// Reads the request's mode and trace headers into what the pipeline takes.
pub fn inbound<'a>(req: &HttpRequest, body: &'a [u8]) -> Inbound<'a> {
    let ct = content_type(req);
    let headers = req
        .headers()
        .iter()
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?.to_string())));
    let shape = match binary_attributes(headers, &[CE_PREFIX]) {
        Some(attributes) => Shape::BinaryCloudEvent {
            attributes,
            content_type: ct.clone(),
        },
        None if essence(ct.as_deref()) == STRUCTURED => Shape::StructuredCloudEvent,
        None => Shape::Json {
            fallback_type: None,
        },
    };
    let trace = crate::trace::from_headers(|name| {
        let value = req.headers().get(name)?.to_str().ok()?;
        Some(value.to_string())
    });
    Inbound {
        body,
        shape,
        source: "rest",
        trace,
    }
}

/// A batch: every element must be a valid CloudEvent, or nothing is
/// processed (422 naming the first bad element). Then each is processed in
/// turn; one refused by the rules is dead-lettered like a single event, and
/// its error is reported in its place.
pub async fn publish_batch(state: &AppState, body: &[u8]) -> Result<HttpResponse, ApiError> {
    let parsed = cloudevents_batch(body).map_err(PipelineError::Malformed)?;
    let mut events = Vec::with_capacity(parsed.len());
    for (i, item) in parsed.into_iter().enumerate() {
        events.push(item.map_err(|e| {
            ApiError::unprocessable("malformed_event", format!("element {i}: {e}"))
        })?);
    }
    let elements: Vec<Value> = serde_json::from_slice(body)
        .map_err(|e| PipelineError::Malformed(EventError::NotJson(e.to_string())))?;
    let mut items = Vec::with_capacity(events.len());
    for (event, element) in events.into_iter().zip(elements) {
        let event_id = event.id.clone();
        match state.pipeline.ingest_event(event, "rest").await {
            Ok(outcome) => items.push(json!(outcome)),
            Err(e) if e.is_transient() => return Err(e.into()),
            Err(e) => {
                let id = state
                    .pipeline
                    .dead_letter(
                        "rest",
                        &e.to_string(),
                        element.to_string().as_bytes(),
                        json!({}),
                    )
                    .await?;
                let message = e.to_string();
                let code = ApiError::from(e).code();
                items.push(json!({"event_id": event_id, "error": {"code": code, "message": message}, "dead_letter_id": id}));
            }
        }
    }
    Ok(HttpResponse::Accepted().json(json!({ "items": items })))
}
