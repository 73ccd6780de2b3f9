//! What an AMQP delivery carries besides its body: binary-mode CloudEvents
//! attributes in its application properties (the AMQP binding names them
//! `cloudEvents:id`; `cloudEvents_id` and `ce_id` are the forms JMS and
//! other clients use), its content type, and a W3C `traceparent` header.

use crate::pipeline::ingress::{binary_attributes, Inbound, Shape};
use lapin::message::Delivery;
use lapin::types::AMQPValue;

/// Prefixes of CloudEvents attributes in application properties.
const PREFIXES: [&str; 4] = ["cloudEvents:", "cloudEvents_", "ce_", "ce-"];

/// A header's text, when it is a string.
fn text(v: &AMQPValue) -> Option<String> {
    match v {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_string()),
        _ => None,
    }
}

/// The delivery as the pipeline reads it; the routing key is the type of a body without one.
pub fn inbound<'a>(d: &'a Delivery, routing_key: &'a str, source: &'a str) -> Inbound<'a> {
    let headers: Vec<(&str, String)> = d
        .properties
        .headers()
        .as_ref()
        .map(|h| {
            h.inner()
                .iter()
                .filter_map(|(k, v)| Some((k.as_str(), text(v)?)))
                .collect()
        })
        .unwrap_or_default();
    let content_type = d
        .properties
        .content_type()
        .as_ref()
        .map(|c| c.as_str().to_string());
    let shape = match binary_attributes(headers.iter().cloned(), &PREFIXES) {
        Some(attributes) => Shape::BinaryCloudEvent {
            attributes,
            content_type,
        },
        None => Shape::Json {
            fallback_type: Some(routing_key),
        },
    };
    let trace = crate::trace::from_headers(|name| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    });
    Inbound {
        body: &d.data,
        shape,
        source,
        trace,
    }
}
