//! CloudEvents 1.0, read into the one [`Event`]: structured mode (a JSON
//! object naming `specversion`), batch mode (a JSON array of those) and
//! binary mode (attributes in transport headers, the body is `data`). The
//! `id` is the dedupe key, `type` routes the rules, `data` is the payload, and
//! the context attributes (`source`, `subject`, `time`, …) go to the audit.

use super::event::{first_string, trace_of, valid_id, valid_type};
use super::{Event, EventError};
use base64::Engine;
use serde_json::{Map, Value};

/// The attribute whose presence makes a body a structured CloudEvent.
pub const SPECVERSION: &str = "specversion";
/// The only version this reader knows.
const VERSION: &str = "1.0";
/// Context attributes kept in the event's audit `meta` when present.
const KEPT: [&str; 6] = [
    "specversion",
    "source",
    "subject",
    "time",
    "datacontenttype",
    "dataschema",
];
/// Most events one batch may hold: each is processed in turn within one request.
pub const MAX_BATCH: usize = 100;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CloudEventError {
    #[error("specversion must be \"1.0\", not {0}")]
    SpecVersion(String),
    #[error("required attribute '{0}' is missing")]
    Missing(&'static str),
    #[error("attribute '{0}' is invalid: {1}")]
    Invalid(&'static str, &'static str),
    #[error("data must be a JSON object (datacontenttype application/json)")]
    DataNotObject,
    #[error("a batch must be a JSON array of 1 to {MAX_BATCH} structured CloudEvents")]
    Batch,
}

use CloudEventError::{Invalid, Missing};

fn string_attr(v: Option<&Value>, name: &'static str) -> Result<Option<String>, CloudEventError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Invalid(name, "must be a string")),
    }
}

/// The attributes every mode shares, checked once.
struct Context {
    id: String,
    event_type: String,
    meta: Map<String, Value>,
}

impl Context {
    fn into_event(self, payload: Map<String, Value>, trace: Option<super::TraceContext>) -> Event {
        Event {
            id: self.id,
            event_type: self.event_type,
            payload,
            meta: self.meta,
            trace,
        }
    }
}

/// `attr` answers a context attribute by its CloudEvents name, in either mode.
fn context(
    attr: &dyn Fn(&'static str) -> Result<Option<String>, CloudEventError>,
) -> Result<Context, CloudEventError> {
    match attr(SPECVERSION)? {
        Some(v) if v == VERSION => {}
        Some(v) => return Err(CloudEventError::SpecVersion(format!("\"{v}\""))),
        None => return Err(Missing(SPECVERSION)),
    }
    let id = attr("id")?.ok_or(Missing("id"))?;
    if !valid_id(&id) {
        return Err(Invalid("id", "must be 1 to 255 printable characters"));
    }
    let event_type = attr("type")?.ok_or(Missing("type"))?;
    if !valid_type(&event_type) {
        return Err(Invalid(
            "type",
            "must be 1 to 255 letters, digits or _ - . :",
        ));
    }
    match attr("source")? {
        Some(s) if !s.is_empty() => {}
        Some(_) => return Err(Invalid("source", "must not be empty")),
        None => return Err(Missing("source")),
    }
    if let Some(t) = attr("time")? {
        chrono::DateTime::parse_from_rfc3339(&t)
            .map_err(|_| Invalid("time", "must be an RFC 3339 timestamp"))?;
    }
    if let Some(ct) = attr("datacontenttype")? {
        if !is_json(&ct) {
            return Err(Invalid("datacontenttype", "only JSON data is accepted"));
        }
    }
    let mut meta = Map::new();
    for k in KEPT {
        if let Some(v) = attr(k)? {
            meta.insert(k.to_string(), Value::String(v));
        }
    }
    Ok(Context {
        id,
        event_type,
        meta,
    })
}

/// `application/json`, `text/json` and any `…+json`, parameters aside.
fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || essence == "text/json" || essence.ends_with("+json")
}

fn data_object(data: Value) -> Result<Map<String, Value>, CloudEventError> {
    match data {
        Value::Object(m) => Ok(m),
        _ => Err(CloudEventError::DataNotObject),
    }
}

/// A structured-mode CloudEvent (the caller saw `specversion` in the object).
pub(crate) fn structured(obj: Map<String, Value>) -> Result<Event, EventError> {
    let ctx = context(&|name| string_attr(obj.get(name), name))?;
    let payload = match (obj.get("data"), obj.get("data_base64")) {
        (Some(_), Some(_)) => return Err(Invalid("data_base64", "cannot come with data").into()),
        (Some(d), None) => data_object(d.clone())?,
        (None, Some(Value::String(b64))) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|_| Invalid("data_base64", "is not base64"))?;
            let value =
                serde_json::from_slice(&bytes).map_err(|_| CloudEventError::DataNotObject)?;
            data_object(value)?
        }
        (None, Some(_)) => return Err(Invalid("data_base64", "must be a string").into()),
        (None, None) => Map::new(),
    };
    let trace = trace_of(&(
        first_string(&obj, &["traceparent"]),
        first_string(&obj, &["tracestate"]),
    ));
    Ok(ctx.into_event(payload, trace))
}

/// A binary-mode CloudEvent: `attr` reads a context attribute from the
/// transport (HTTP `ce-*` headers, AMQP `cloudEvents:*` properties), and the
/// body is the data, JSON by its content type.
pub fn binary(
    attr: impl Fn(&str) -> Option<String>,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Event, EventError> {
    let get = |name: &'static str| Ok(attr(name));
    let mut ctx = context(&get)?;
    if let Some(ct) = content_type.filter(|ct| !ct.trim().is_empty()) {
        if !is_json(ct) {
            return Err(Invalid("datacontenttype", "only JSON data is accepted").into());
        }
        ctx.meta
            .entry("datacontenttype")
            .or_insert_with(|| Value::String(ct.to_string()));
    }
    let payload = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        let value: Value =
            serde_json::from_slice(body).map_err(|e| EventError::NotJson(e.to_string()))?;
        if let Some(at) = super::find_nul(&value) {
            return Err(EventError::NulCharacter(at));
        }
        data_object(value)?
    };
    let trace = trace_of(&(attr("traceparent"), attr("tracestate")));
    Ok(ctx.into_event(payload, trace))
}

/// A batch-mode body (`application/cloudevents-batch+json`): each element is
/// read as a structured CloudEvent on its own, so one bad element does not
/// hide the others' outcomes.
pub fn batch(body: &[u8]) -> Result<Vec<Result<Event, EventError>>, EventError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| EventError::NotJson(e.to_string()))?;
    let Value::Array(items) = value else {
        return Err(CloudEventError::Batch.into());
    };
    if items.is_empty() || items.len() > MAX_BATCH {
        return Err(CloudEventError::Batch.into());
    }
    Ok(items
        .into_iter()
        .map(|item| match item {
            Value::Object(obj) if obj.contains_key(SPECVERSION) => {
                if let Some(at) = super::find_nul(&Value::Object(obj.clone())) {
                    return Err(EventError::NulCharacter(at));
                }
                structured(obj)
            }
            Value::Object(_) => Err(Missing(SPECVERSION).into()),
            _ => Err(EventError::NotObject),
        })
        .collect())
}

#[cfg(test)]
#[path = "cloudevents_tests.rs"]
mod tests;
