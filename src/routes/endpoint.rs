//! One resource per path, answering for its own methods only.
//!
//! `ServiceConfig::route` moves the method guard onto the resource, so a
//! request with another method falls through to the next pattern that
//! matches the path: `OPTIONS /notifications/mark-read` answered with
//! `/notifications/{id}`'s `Allow: GET, DELETE`, and `TRACE /send` with 404.
//! An [`Endpoint`] matches on the path alone, answers `OPTIONS` with 204 and
//! every other method with a JSON 405, both with its own `Allow`.

use super::{ErrorBody, ErrorDetail};
use actix_web::dev::{AppService, HttpServiceFactory};
use actix_web::http::header::ALLOW;
use actix_web::http::Method;
use actix_web::{web, FromRequest, Handler, HttpResponse, Resource, Responder};

pub(crate) struct Endpoint {
    resource: Resource,
    methods: Vec<Method>,
}

impl Endpoint {
    pub(crate) fn new(path: &str) -> Self {
        Self {
            resource: web::resource(path),
            methods: vec![],
        }
    }

    pub(crate) fn on<F, Args>(mut self, method: Method, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.resource = self.resource.route(web::method(method.clone()).to(handler));
        self.methods.push(method);
        self
    }

    pub(crate) fn get<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.on(Method::GET, handler)
    }

    pub(crate) fn post<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.on(Method::POST, handler)
    }

    pub(crate) fn put<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.on(Method::PUT, handler)
    }

    pub(crate) fn patch<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.on(Method::PATCH, handler)
    }

    pub(crate) fn delete<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.on(Method::DELETE, handler)
    }
}

fn options(allow: String) -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((ALLOW, allow))
        .finish()
}

fn method_not_allowed(method: &Method, allow: String) -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header((ALLOW, allow.clone()))
        .json(ErrorBody {
            error: ErrorDetail {
                code: "method_not_allowed".into(),
                message: format!("{method} is not allowed here; allowed: {allow}"),
            },
        })
}

impl HttpServiceFactory for Endpoint {
    fn register(self, config: &mut AppService) {
        let mut methods = self.methods;
        methods.push(Method::OPTIONS);
        let allow = methods
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        let for_options = allow.clone();
        self.resource
            .route(web::method(Method::OPTIONS).to(move || {
                let allow = for_options.clone();
                async move { options(allow) }
            }))
            .default_service(web::to(move |req: actix_web::HttpRequest| {
                let allow = allow.clone();
                async move { method_not_allowed(req.method(), allow) }
            }))
            .register(config)
    }
}
