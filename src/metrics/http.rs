//! The HTTP request duration middleware: labelled by the matched route
//! template (never the raw path, which carries user ids), method and status class.

use super::series::HttpLabels;
use crate::routes::AppState;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web;
use std::time::Instant;

/// The route label of a request no route matched (a 404 from the default service).
const UNMATCHED: &str = "unmatched";

/// Middleware, outermost: times each request from arrival to its response head,
/// including refusals by the rate limit and credential middlewares inside it.
pub async fn track<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let started = Instant::now();
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.stats.metrics.clone());
    let method = method_label(req.method());
    let res = next.call(req).await;
    if let Some(metrics) = metrics {
        let (route, status) = match &res {
            Ok(res) => (res.request().match_pattern(), status_class(res.status())),
            // An error not yet turned into a response: actix answers it with its status.
            Err(e) => (None, status_class(e.as_response_error().status_code())),
        };
        let labels = HttpLabels {
            route: route.unwrap_or_else(|| UNMATCHED.to_string()),
            method: method.to_string(),
            status,
        };
        metrics.http_request(labels, started.elapsed());
    }
    res
}

/// The standard methods by name; anything else is one bucket, since clients choose it.
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

fn status_class(s: StatusCode) -> &'static str {
    match s.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_classes_group_codes_by_their_first_digit() {
        assert_eq!(status_class(StatusCode::OK), "2xx");
        assert_eq!(status_class(StatusCode::SWITCHING_PROTOCOLS), "1xx");
        assert_eq!(status_class(StatusCode::TOO_MANY_REQUESTS), "4xx");
        assert_eq!(status_class(StatusCode::BAD_GATEWAY), "5xx");
    }

    #[test]
    fn unknown_methods_share_one_label() {
        let odd = Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&odd), "other");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
    }
}
