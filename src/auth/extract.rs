//! actix extractors. Handlers name the caller they need in their signature,
//! so a route cannot forget to authenticate.

use super::{AuthError, Authenticator, Scope, ServiceCaller};
use crate::domain::UserId;
use crate::routes::ApiError;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

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

fn authenticator(req: &HttpRequest) -> Result<web::Data<Authenticator>, ApiError> {
    req.app_data::<web::Data<Authenticator>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("authenticator is not configured"))
}

async fn service(req: HttpRequest, scope: Scope) -> Result<ServiceCaller, ApiError> {
    let auth = authenticator(&req)?;
    let token = bearer(&req).ok_or(AuthError::Missing)?;
    let caller = auth.service(&token).await?;
    caller.require(scope)?;
    Ok(caller)
}

/// A service holding an API key with the `admin` scope.
pub struct Admin(pub ServiceCaller);

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { service(req, Scope::Admin).await.map(Admin) })
    }
}

/// A service holding an API key with the `send` (or `admin`) scope.
pub struct Sender(pub ServiceCaller);

impl FromRequest for Sender {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { service(req, Scope::Send).await.map(Sender) })
    }
}

/// An end user, from a JWT whose `sub` is their id.
pub struct AuthedUser(pub UserId);

impl FromRequest for AuthedUser {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let result = (|| {
            let auth = authenticator(req)?;
            let token = bearer(req).ok_or(AuthError::Missing)?;
            Ok(AuthedUser(auth.user(&token)?))
        })();
        std::future::ready(result)
    }
}
