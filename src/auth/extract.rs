//! actix extractors. Handlers name the caller they need in their signature,
//! so a route cannot forget to authenticate. They fail with [`AuthError`];
//! `routes` alone decides how that looks over HTTP.

use super::{AuthError, Authenticator, KeyId, Scope, ServiceCaller};
use crate::domain::UserId;
use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};

pub fn bearer(req: &HttpRequest) -> Option<String> {
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, value) = header.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| value.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn authenticator(req: &HttpRequest) -> Result<web::Data<Authenticator>, AuthError> {
    req.app_data::<web::Data<Authenticator>>()
        .cloned()
        .ok_or(AuthError::Unconfigured)
}

/// The outcome of checking an API key, stored by [`resolve_credentials`] so
/// the extractors below answer synchronously.
struct ResolvedKey(Result<ServiceCaller, AuthError>);

/// Why a user token was refused; stored instead of [`AuthError`], which holds
/// store errors and so cannot be cloned.
#[derive(Clone, Copy)]
enum TokenRefused {
    Expired,
    Invalid,
}

/// The outcome of verifying a user token, stored once so the rate limiter
/// and [`AuthedUser`] do not verify the signature twice.
#[derive(Clone)]
struct ResolvedUser(Result<UserId, TokenRefused>);

/// JWTs have three dot-separated parts; API keys have none.
fn looks_like_jwt(token: &str) -> bool {
    token.matches('.').count() == 2
}

/// Middleware: checks bearer credentials before any extractor runs. Without
/// it, a handler's JSON extractor could answer 422 before a slow key lookup
/// answered 401, telling an unauthenticated caller about the body; and the
/// rate limiter, which runs next, would not know whom to count.
pub async fn resolve_credentials(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if let (Some(token), Some(auth)) = (
        bearer(req.request()),
        req.app_data::<web::Data<Authenticator>>().cloned(),
    ) {
        if looks_like_jwt(&token) {
            let outcome = auth.user(&token).map_err(|e| match e {
                AuthError::Expired => TokenRefused::Expired,
                _ => TokenRefused::Invalid,
            });
            req.extensions_mut().insert(ResolvedUser(outcome));
        } else {
            let outcome = auth.service(&token).await;
            req.extensions_mut().insert(ResolvedKey(outcome));
        }
    }
    next.call(req).await
}

/// Who a request's credentials verified as, for per-caller limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    User(UserId),
    Service(KeyId),
}

/// The verified caller of a request [`resolve_credentials`] has seen; `None`
/// when it carried no credentials or bad ones.
pub fn verified_caller(req: &HttpRequest) -> Option<Caller> {
    let ext = req.extensions();
    if let Some(ResolvedKey(Ok(caller))) = ext.get::<ResolvedKey>() {
        return Some(Caller::Service(caller.key));
    }
    match ext.get::<ResolvedUser>() {
        Some(ResolvedUser(Ok(user))) => Some(Caller::User(user.clone())),
        _ => None,
    }
}

fn service(req: &HttpRequest, scope: Scope) -> Result<ServiceCaller, AuthError> {
    bearer(req).ok_or(AuthError::Missing)?;
    let resolved = req.extensions_mut().remove::<ResolvedKey>();
    // No resolved key means the bearer was a JWT: not a service credential.
    let ResolvedKey(outcome) = resolved.ok_or(AuthError::Invalid)?;
    let caller = outcome?;
    caller.require(scope)?;
    Ok(caller)
}

/// A service holding an API key with the `admin` scope.
pub struct Admin(pub ServiceCaller);

impl FromRequest for Admin {
    type Error = AuthError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(service(req, Scope::Admin).map(Admin))
    }
}

/// A service holding an API key with the `send` (or `admin`) scope.
pub struct Sender(pub ServiceCaller);

impl FromRequest for Sender {
    type Error = AuthError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(service(req, Scope::Send).map(Sender))
    }
}

/// An end user, from a JWT whose `sub` is their id.
pub struct AuthedUser(pub UserId);

impl FromRequest for AuthedUser {
    type Error = AuthError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let result = (|| {
            let token = bearer(req).ok_or(AuthError::Missing)?;
            let resolved = req.extensions().get::<ResolvedUser>().cloned();
            match resolved {
                Some(ResolvedUser(Ok(user))) => Ok(AuthedUser(user)),
                Some(ResolvedUser(Err(TokenRefused::Expired))) => Err(AuthError::Expired),
                Some(ResolvedUser(Err(TokenRefused::Invalid))) => Err(AuthError::Invalid),
                // An API key where a user token belongs, or a route outside the middleware.
                None => Ok(AuthedUser(authenticator(req)?.user(&token)?)),
            }
        })();
        std::future::ready(result)
    }
}
