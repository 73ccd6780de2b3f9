//! Logging. Access logs carry the path and a redacted query: tokens may
//! arrive in `?token=` (browsers cannot set headers on WebSocket upgrades).

use crate::config::LogFormat;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::Error;
use tracing::Span;
use tracing_actix_web::RootSpanBuilder;
use tracing_subscriber::{fmt, EnvFilter};

/// Installs the global subscriber. Safe to call more than once (tests).
pub fn init(filter: &str, format: LogFormat) {
    let filter = with_quiet_parse_errors(filter);
    let filter = EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt().with_env_filter(filter).with_target(true);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

/// actix-http logs a connection it gave up on (a malformed request line or
/// header, a body cut short) at ERROR, though the client caused it and was
/// answered 400. Silenced unless the filter names actix_http itself.
pub(crate) fn with_quiet_parse_errors(filter: &str) -> String {
    if filter.contains("actix_http") {
        filter.to_string()
    } else {
        format!("{filter},actix_http::h1::dispatcher=off")
    }
}

/// Query parameters whose values are credentials. `s` is the unsubscribe
/// link's signature: with it, anyone reading the logs could unsubscribe the user.
const SECRET_PARAMS: [&str; 5] = ["token", "access_token", "api_key", "key", "s"];

/// Replaces the value of any credential-looking query parameter with `[redacted]`.
pub fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if SECRET_PARAMS.contains(&k.to_ascii_lowercase().as_str()) => {
                format!("{k}=[redacted]")
            }
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Root span for every request, without the raw query string.
pub struct RedactingRootSpan;

impl RootSpanBuilder for RedactingRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let query = redact_query(request.query_string());
        let span = tracing::info_span!(
            "http",
            method = %request.method(),
            path = %request.path(),
            query = %query,
            status = tracing::field::Empty,
        );
        // A caller's W3C `traceparent` makes this request part of its trace.
        let sent = crate::trace::from_headers(|name| {
            let value = request.headers().get(name)?.to_str().ok()?;
            Some(value.to_string())
        });
        crate::trace::continue_from(&span, sent.as_ref());
        span
    }

    fn on_request_end<B: actix_web::body::MessageBody>(
        span: Span,
        outcome: &Result<ServiceResponse<B>, Error>,
    ) {
        let status = match outcome {
            Ok(res) => res.status().as_u16(),
            Err(e) => e.as_response_error().status_code().as_u16(),
        };
        span.record("status", status);
        if status >= 500 {
            tracing::error!(parent: &span, status, "request failed");
        } else {
            tracing::info!(parent: &span, status, "request");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{redact_query, with_quiet_parse_errors};

    #[test]
    fn connection_parse_errors_are_silenced_unless_asked_for() {
        assert_eq!(
            with_quiet_parse_errors("info"),
            "info,actix_http::h1::dispatcher=off"
        );
        assert_eq!(
            with_quiet_parse_errors("info,actix_http=debug"),
            "info,actix_http=debug"
        );
    }

    #[test]
    fn tokens_in_query_strings_are_redacted() {
        assert_eq!(
            redact_query("token=abc.def&since=4"),
            "token=[redacted]&since=4"
        );
        assert_eq!(redact_query("since=4"), "since=4");
    }

    #[test]
    fn the_unsubscribe_signature_is_redacted_and_its_neighbours_kept() {
        assert_eq!(
            redact_query("u=alice&c=marketing&s=3f2a9c"),
            "u=alice&c=marketing&s=[redacted]"
        );
        assert_eq!(redact_query("S=3f2a9c"), "S=[redacted]");
        // Only the exact name: `sort` or `since` are not signatures.
        assert_eq!(redact_query("sort=asc&since=4"), "sort=asc&since=4");
    }
}
