//! Typed request and response bodies for the routes whose domain parsers
//! read JSON (rules, templates, packs, preferences, webhooks, events).
//!
//! serde fixes each body's shape (and the OpenAPI schema comes from the same
//! type); the domain's `parse()` functions stay the one place that checks
//! values. Where a parser reads JSON (packs share it with `herald import`),
//! the typed body is handed to it re-encoded, with absent fields left out.

pub mod events;
pub mod preferences;
pub mod rules;
pub mod templates;
pub mod views;
pub mod webhooks;

use super::ApiError;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// The body as the JSON its domain parser reads.
pub(crate) fn encoded<T: Serialize>(body: &T) -> Result<Value, ApiError> {
    serde_json::to_value(body).map_err(ApiError::internal)
}

/// For `Option<Option<T>>` fields: absent is `None`, `null` is `Some(None)`,
/// so a PATCH can tell "leave it" from "clear it".
pub(crate) fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
