//! W3C Trace Context (`traceparent`, `tracestate`), parsed: what a source
//! hands the pipeline so one trace runs from the producer of an event to the
//! provider call that delivers it.

/// Why a `traceparent` (or `tracestate`) was not accepted. A bad one is
/// ignored by the sources (tracing must never refuse an event), so this is
/// only reported in logs and tests.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TraceContextError {
    #[error("traceparent must be version-traceid-parentid-flags (00-<32 hex>-<16 hex>-<2 hex>)")]
    Shape,
    #[error("traceparent version ff is forbidden")]
    Version,
    #[error("traceparent trace id and parent id must not be all zeros")]
    Zero,
    #[error("tracestate must be at most 512 printable ASCII characters")]
    State,
}

/// The longest `tracestate` kept (the W3C limit for a propagated value).
const MAX_TRACESTATE: usize = 512;

/// A valid `traceparent`: lower-case hex ids, neither all zeros.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceParent {
    trace_id: String,
    parent_id: String,
    flags: u8,
}

fn hex_of(s: &str, len: usize) -> Option<String> {
    (s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())).then(|| s.to_ascii_lowercase())
}

impl TraceParent {
    /// Version `00` exactly; a later version is read by its first four fields,
    /// as the specification asks of a parser that does not know it.
    pub fn parse(raw: &str) -> Result<Self, TraceContextError> {
        let raw = raw.trim();
        let mut parts = raw.split('-');
        let (Some(version), Some(trace), Some(parent), Some(flags)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TraceContextError::Shape);
        };
        let version = hex_of(version, 2).ok_or(TraceContextError::Shape)?;
        if version == "ff" {
            return Err(TraceContextError::Version);
        }
        if version == "00" && parts.next().is_some() {
            return Err(TraceContextError::Shape);
        }
        let trace_id = hex_of(trace, 32).ok_or(TraceContextError::Shape)?;
        let parent_id = hex_of(parent, 16).ok_or(TraceContextError::Shape)?;
        let flags = hex_of(flags, 2)
            .and_then(|f| u8::from_str_radix(&f, 16).ok())
            .ok_or(TraceContextError::Shape)?;
        if trace_id.bytes().all(|b| b == b'0') || parent_id.bytes().all(|b| b == b'0') {
            return Err(TraceContextError::Zero);
        }
        Ok(Self {
            trace_id,
            parent_id,
            flags,
        })
    }

    /// Built from ids a tracer produced (already valid hex of the right length).
    pub fn from_parts(
        trace_id: &str,
        parent_id: &str,
        sampled: bool,
    ) -> Result<Self, TraceContextError> {
        Self::parse(&format!("00-{trace_id}-{parent_id}-0{}", u8::from(sampled)))
    }

    pub fn trace_id(&self) -> &str {
        &self.trace_id
    }

    pub fn parent_id(&self) -> &str {
        &self.parent_id
    }

    pub fn sampled(&self) -> bool {
        self.flags & 1 == 1
    }

    /// The header value, always written as version `00`.
    pub fn header(&self) -> String {
        format!("00-{}-{}-{:02x}", self.trace_id, self.parent_id, self.flags)
    }
}

/// A `traceparent` with its optional vendor `tracestate`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceContext {
    parent: TraceParent,
    state: Option<String>,
}

impl TraceContext {
    /// A `tracestate` that is too long or not printable ASCII is dropped, not
    /// the whole context: the trace id is what matters for the audit.
    pub fn parse(traceparent: &str, tracestate: Option<&str>) -> Result<Self, TraceContextError> {
        let parent = TraceParent::parse(traceparent)?;
        let state = tracestate
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .and_then(|s| Self::state(s).ok());
        Ok(Self { parent, state })
    }

    fn state(raw: &str) -> Result<String, TraceContextError> {
        if raw.len() > MAX_TRACESTATE || !raw.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Err(TraceContextError::State);
        }
        Ok(raw.to_string())
    }

    pub fn new(parent: TraceParent, state: Option<String>) -> Self {
        let state = state.and_then(|s| Self::state(&s).ok());
        Self { parent, state }
    }

    pub fn parent(&self) -> &TraceParent {
        &self.parent
    }

    pub fn trace_id(&self) -> &str {
        self.parent.trace_id()
    }

    pub fn tracestate(&self) -> Option<&str> {
        self.state.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_w3c_traceparent_parses_into_its_ids() {
        let t = TraceParent::parse(GOOD).unwrap();
        assert_eq!(t.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(t.parent_id(), "00f067aa0ba902b7");
        assert!(t.sampled());
        assert_eq!(t.header(), GOOD);
        let upper = TraceParent::parse(&GOOD.to_ascii_uppercase()).unwrap();
        assert_eq!(upper.header(), GOOD, "hex is kept lower case");
    }

    #[test]
    fn malformed_traceparents_are_refused_with_a_reason() {
        assert_eq!(TraceParent::parse("nope"), Err(TraceContextError::Shape));
        assert_eq!(
            TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01"),
            Err(TraceContextError::Shape)
        );
        assert_eq!(
            TraceParent::parse("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
            Err(TraceContextError::Zero)
        );
        assert_eq!(
            TraceParent::parse("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            Err(TraceContextError::Version)
        );
        assert_eq!(
            TraceParent::parse(&format!("{GOOD}-extra")),
            Err(TraceContextError::Shape)
        );
    }

    #[test]
    fn a_later_version_is_read_by_its_first_four_fields() {
        let t =
            TraceParent::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-future")
                .unwrap();
        assert!(!t.sampled());
        assert_eq!(
            t.header(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
        );
    }

    #[test]
    fn a_bad_tracestate_is_dropped_and_the_traceparent_kept() {
        let ok = TraceContext::parse(GOOD, Some("vendor=abc")).unwrap();
        assert_eq!(ok.tracestate(), Some("vendor=abc"));
        let long = "x".repeat(MAX_TRACESTATE + 1);
        let dropped = TraceContext::parse(GOOD, Some(&long)).unwrap();
        assert_eq!(dropped.tracestate(), None);
        assert_eq!(dropped.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
    }
}
