//! Request extractors every handler uses instead of actix's own, so that
//! what no handler should ever see is refused in one place: a body that is
//! not a JSON object, and text that a database cannot store.

use super::ApiError;
use crate::domain::{find_nul, has_control, DomainError};
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::ops::Deref;

/// A JSON object body, free of U+0000, deserialised into `T`.
///
/// actix's `Json<T>` alone lets serde read a struct from a JSON array
/// (`[null, null]` fills the fields in order), so the shape is checked on the
/// parsed value first. Size, content type and syntax errors still come from
/// the app's `JsonConfig`.
pub struct Body<T>(pub T);

impl<T> Body<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Body<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Body<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = web::Json::<Value>::from_request(req, payload);
        Box::pin(async move {
            let value = json.await?.into_inner();
            Ok(Body(parse_object(value)?))
        })
    }
}

/// Refuses anything but a NUL-free JSON object, then reads it as `T`.
pub(crate) fn parse_object<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    if !value.is_object() {
        return Err(ApiError::unprocessable(
            "invalid_body",
            "the body must be a JSON object",
        ));
    }
    if let Some(field) = find_nul(&value) {
        return Err(DomainError::NulByte { field }.into());
    }
    serde_json::from_value(value)
        .map_err(|e| ApiError::unprocessable("invalid_body", e.to_string()))
}

/// One path segment (an id chosen by a client: event id, device token, code)
/// without control characters. The route's own parser still checks its format.
#[derive(Debug)]
pub struct Segment(String);

impl Segment {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for Segment {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Segment {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        if has_control(&raw) {
            return Err(serde::de::Error::custom(
                "a path id contains a control character",
            ));
        }
        Ok(Self(raw))
    }
}

/// The path error for a request: a control character in any segment is a 422
/// naming the parameter; any other mismatch is a 400.
pub(crate) fn path_error(err: actix_web::error::PathError, req: &HttpRequest) -> actix_web::Error {
    let bad = req
        .match_info()
        .iter()
        .find(|(_, v)| has_control(v))
        .map(|(k, _)| k.to_string());
    match bad {
        Some(field) => ApiError::from(DomainError::ControlCharacter { field }).into(),
        None => ApiError::bad_request("invalid_path", err.to_string()).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Pair {
        a: Option<String>,
        b: Option<String>,
    }

    #[test]
    fn an_array_is_not_read_as_a_struct() {
        let err = parse_object::<Pair>(json!([null, null])).unwrap_err();
        assert_eq!(err.code(), "invalid_body");
        assert!(serde_json::from_value::<Pair>(json!([null, null])).is_ok());
    }

    #[test]
    fn a_nul_anywhere_is_refused_naming_the_field() {
        let err = parse_object::<Pair>(json!({"a": "x\u{0}"})).unwrap_err();
        assert_eq!(err.code(), "nul_byte");
        assert!(err.to_string().contains("'a'") || err.to_string().contains(" a "));
    }

    #[test]
    fn an_object_is_read() {
        assert!(parse_object::<Pair>(json!({"a": "x"})).is_ok());
    }

    #[test]
    fn a_segment_refuses_control_characters() {
        let ok: Result<Segment, _> = serde_json::from_value(json!("evt-1"));
        assert!(ok.is_ok());
        let bad: Result<Segment, _> = serde_json::from_value(json!("a\u{0}b"));
        assert!(bad.is_err());
    }
}
