//! OpenTelemetry tracing: an optional OTLP/HTTP (protobuf) exporter, and the
//! glue that carries one W3C trace from an event's source to the provider
//! call that delivers it. Without `HERALD_OTEL_ENDPOINT` nothing here is
//! installed: logging is set up exactly as before and every span helper is a
//! no-op, though the trace id a source sent is still kept in the audit.

use crate::config::LogFormat;
use crate::domain::{TraceContext, TraceParent};
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, TracerProvider as _,
};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider};
use std::str::FromStr;
use std::time::Duration;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{filter::Targets, fmt, EnvFilter, Layer};

/// `service.name` of exported spans unless `HERALD_OTEL_SERVICE_NAME` says otherwise.
pub const DEFAULT_SERVICE_NAME: &str = "herald";
/// How often queued spans are sent (`HERALD_OTEL_EXPORT_INTERVAL_MS`).
pub const DEFAULT_EXPORT_INTERVAL_MS: u64 = 5_000;
/// The OTLP/HTTP path for traces, added when the endpoint names only the collector.
const TRACES_PATH: &str = "/v1/traces";
/// The longest a shutdown waits for the last spans to reach the collector:
/// well inside the shutdown deadline, and a dead collector must not hold the exit.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);
/// One OTLP request's timeout.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

pub fn default_service_name() -> String {
    DEFAULT_SERVICE_NAME.into()
}

pub fn default_export_interval_ms() -> u64 {
    DEFAULT_EXPORT_INTERVAL_MS
}

#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("HERALD_OTEL_ENDPOINT must be an http(s) URL, not '{0}'")]
    Endpoint(String),
    #[error("HERALD_OTEL_SERVICE_NAME must be 1 to 255 printable characters")]
    ServiceName,
    #[error("HERALD_OTEL_EXPORT_INTERVAL_MS must be 1 to 60000")]
    Interval,
    #[error("could not build the OTLP exporter: {0}")]
    Exporter(String),
}

/// What the exporter is built from (the `otel_*` settings).
pub struct OtelConfig<'a> {
    pub endpoint: Option<&'a str>,
    pub service_name: &'a str,
    pub export_interval_ms: u64,
}

/// The installed exporter; [`Exporter::shutdown`] sends what is still queued.
pub struct Exporter(SdkTracerProvider);

impl Exporter {
    /// Called once the drain is over, so the spans of the last sends go out too.
    pub fn shutdown(self) {
        if let Err(e) = self.0.shutdown_with_timeout(FLUSH_TIMEOUT) {
            tracing::warn!(error = %e, "could not flush the last spans");
        }
    }
}

/// The traces URL: a bare collector address gets `/v1/traces`.
fn traces_url(endpoint: &str) -> Result<String, TraceError> {
    let url = url::Url::parse(endpoint).map_err(|_| TraceError::Endpoint(endpoint.into()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(TraceError::Endpoint(endpoint.into()));
    }
    let base = endpoint.trim_end_matches('/');
    Ok(if url.path().trim_end_matches('/').is_empty() {
        format!("{base}{TRACES_PATH}")
    } else {
        base.to_string()
    })
}

/// Installs logging, and with an endpoint the OpenTelemetry layer beside it.
/// Only Herald's own spans are exported (the log filter still decides what is logged).
pub fn init(
    filter: &str,
    format: LogFormat,
    cfg: &OtelConfig<'_>,
) -> Result<Option<Exporter>, TraceError> {
    let Some(endpoint) = cfg.endpoint.map(str::trim).filter(|e| !e.is_empty()) else {
        crate::telemetry::init(filter, format);
        return Ok(None);
    };
    let name = cfg.service_name.trim();
    if name.is_empty() || name.len() > 255 || name.chars().any(char::is_control) {
        return Err(TraceError::ServiceName);
    }
    if !(1..=60_000).contains(&cfg.export_interval_ms) {
        return Err(TraceError::Interval);
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(traces_url(endpoint)?)
        .with_timeout(EXPORT_TIMEOUT)
        .build()
        .map_err(|e| TraceError::Exporter(e.to_string()))?;
    let batch = BatchConfigBuilder::default()
        .with_scheduled_delay(Duration::from_millis(cfg.export_interval_ms))
        .build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(
            BatchSpanProcessor::builder(exporter)
                .with_batch_config(batch)
                .build(),
        )
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name(name.to_string())
                .build(),
        )
        .build();
    let otel = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("herald"))
        .with_filter(Targets::new().with_target("herald", tracing::Level::INFO));
    let filter = crate::telemetry::with_quiet_parse_errors(filter);
    let filter = EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = match format {
        LogFormat::Json => fmt::layer().json().with_target(true).boxed(),
        LogFormat::Pretty => fmt::layer().with_target(true).boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(logs.with_filter(filter))
        .with(otel)
        .try_init();
    Ok(Some(Exporter(provider)))
}

/// An OpenTelemetry parent for a context a source sent or the outbox kept.
fn remote(t: &TraceContext) -> Option<opentelemetry::Context> {
    let trace_id = TraceId::from_hex(t.trace_id()).ok()?;
    let span_id = SpanId::from_hex(t.parent().parent_id()).ok()?;
    let flags = if t.parent().sampled() {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    let state = t
        .tracestate()
        .and_then(|s| TraceState::from_str(s).ok())
        .unwrap_or_default();
    let cx = SpanContext::new(trace_id, span_id, flags, true, state);
    Some(opentelemetry::Context::new().with_remote_span_context(cx))
}

/// Makes `span` (not yet entered) a child of `parent`. Without the layer, or
/// with no parent, the span stays as it is.
pub fn continue_from(span: &Span, parent: Option<&TraceContext>) {
    if let Some(cx) = parent.and_then(remote) {
        let _ = span.set_parent(cx);
    }
}

/// The context the current span runs under, when OpenTelemetry is on.
fn current_span() -> Option<TraceContext> {
    let cx = Span::current().context();
    let span = cx.span();
    let sc = span.span_context();
    if !sc.is_valid() {
        return None;
    }
    let parent = TraceParent::from_parts(
        &sc.trace_id().to_string(),
        &sc.span_id().to_string(),
        sc.is_sampled(),
    )
    .ok()?;
    let state = Some(sc.trace_state().header()).filter(|s| !s.is_empty());
    Some(TraceContext::new(parent, state))
}

/// What an event's unit records: the span processing it when OpenTelemetry is
/// on (its deliveries become that span's descendants), else the context the
/// source sent, so the audit shows the trace id either way.
pub fn for_unit(sent: Option<&TraceContext>) -> Option<TraceContext> {
    current_span().or_else(|| sent.cloned())
}

/// The span one event is processed in. A source's context is its parent
/// unless the span around already belongs to a trace (an HTTP request whose
/// `traceparent` the root span took).
pub fn event_span(event_id: &str, event_type: &str, sent: Option<&TraceContext>) -> Span {
    let span = tracing::info_span!("event", event_id = %event_id, event_type = %event_type);
    if current_span().is_none() {
        continue_from(&span, sent);
    }
    span
}

/// The span one delivery's send runs in, continuing its event's trace.
pub fn delivery_span(
    delivery: uuid::Uuid,
    channel: &str,
    traceparent: Option<&TraceParent>,
) -> Span {
    let span = tracing::info_span!("delivery", delivery = %delivery, channel = %channel);
    let kept = traceparent.map(|t| TraceContext::new(t.clone(), None));
    continue_from(&span, kept.as_ref());
    span
}

/// Reads `traceparent` and `tracestate` from a source's headers; a malformed
/// one is ignored (and logged at debug), since tracing never refuses an event.
pub fn from_headers(get: impl Fn(&str) -> Option<String>) -> Option<TraceContext> {
    let parent = get("traceparent")?;
    TraceContext::parse(&parent, get("tracestate").as_deref())
        .map_err(|e| tracing::debug!(error = %e, "ignoring a malformed traceparent"))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_collector_address_gets_the_traces_path() {
        assert_eq!(
            traces_url("http://otel:4318").unwrap(),
            "http://otel:4318/v1/traces"
        );
        assert_eq!(
            traces_url("http://otel:4318/").unwrap(),
            "http://otel:4318/v1/traces"
        );
        assert_eq!(
            traces_url("https://c.example/custom/v1/traces").unwrap(),
            "https://c.example/custom/v1/traces"
        );
        assert!(traces_url("otel:4318").is_err());
        assert!(traces_url("ftp://otel").is_err());
    }

    #[test]
    fn without_the_layer_the_unit_keeps_the_context_the_source_sent() {
        let sent = TraceContext::parse(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            None,
        )
        .unwrap();
        assert_eq!(for_unit(Some(&sent)), Some(sent));
        assert_eq!(for_unit(None), None);
    }
}
