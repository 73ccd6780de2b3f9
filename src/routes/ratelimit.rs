//! Rate limits over HTTP: the per-caller middleware, and how a refusal looks.
//!
//! Fields follow draft-ietf-httpapi-ratelimit-headers (-09/-10), one policy
//! per response, named `user`, `api_key` or `test`:
//!
//! ```text
//! RateLimit-Policy: "user";q=100;w=5   (q requests per w seconds: the burst, and the seconds it takes to refill)
//! RateLimit: "user";r=37;t=4           (r requests left; the whole quota is back within t seconds)
//! Retry-After: 1                       (429 only: whole seconds until one more request fits, at least 1)
//! ```

use super::{ErrorBody, ErrorDetail};
use crate::auth::{verified_caller, Caller};
use crate::ratelimit::{RateLimitError, RateLimits, Standing};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse, ResponseError};

const POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
const STATE: HeaderName = HeaderName::from_static("ratelimit");

fn fields(standing: &Standing) -> [(HeaderName, String); 2] {
    let name = standing.policy.name();
    [
        (
            POLICY,
            format!("\"{name}\";q={};w={}", standing.quota, standing.window_secs),
        ),
        (
            STATE,
            format!(
                "\"{name}\";r={};t={}",
                standing.remaining, standing.reset_secs
            ),
        ),
    ]
}

/// Adds the fields unless a handler already described a stricter policy.
fn annotate(headers: &mut HeaderMap, standing: &Standing) {
    if headers.contains_key(STATE) {
        return;
    }
    for (name, value) in fields(standing) {
        if let Ok(value) = HeaderValue::try_from(value) {
            headers.insert(name, value);
        }
    }
}

impl ResponseError for RateLimitError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Exceeded { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::InvalidSetting { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Exceeded {
                standing,
                retry_after_secs,
            } => {
                let mut res = HttpResponse::TooManyRequests()
                    .insert_header((RETRY_AFTER, retry_after_secs.to_string()))
                    .json(ErrorBody {
                        error: ErrorDetail {
                            code: "rate_limited".into(),
                            message: self.to_string(),
                        },
                    });
                annotate(res.headers_mut(), standing);
                res
            }
            Self::InvalidSetting { .. } => super::ApiError::internal(self).error_response(),
        }
    }
}

/// Middleware, inside [`crate::auth::resolve_credentials`]: counts each
/// request against its verified caller's bucket and refuses it with 429
/// before the handler (or its body extractor) runs. Requests without valid
/// credentials are not counted here: they are refused with 401 anyway.
pub async fn enforce<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let verdict = match (
        req.app_data::<web::Data<RateLimits>>(),
        verified_caller(req.request()),
    ) {
        (Some(limits), Some(Caller::User(user))) => limits.user(&user),
        (Some(limits), Some(Caller::Service(key))) => limits.api_key(&key),
        _ => Ok(None),
    };
    match verdict {
        Err(refused) => {
            // Debug, not info: a flood would otherwise become a log flood.
            tracing::debug!(path = req.path(), error = %refused, "rate limited");
            if let (Some(state), RateLimitError::Exceeded { standing, .. }) =
                (req.app_data::<web::Data<super::AppState>>(), &refused)
            {
                state.stats.metrics.refused(standing.policy.name());
            }
            Ok(req
                .into_response(refused.error_response())
                .map_into_right_body())
        }
        Ok(standing) => {
            let mut res = next.call(req).await?;
            if let Some(standing) = standing {
                annotate(res.headers_mut(), &standing);
            }
            Ok(res.map_into_left_body())
        }
    }
}
