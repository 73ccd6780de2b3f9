//! The browser SDK, the `@herald/client` package in `sdk/js/src/`, compiled
//! into the binary. `/static/herald*.js` and the service worker at
//! `/herald-sw.js` are the package's own files byte for byte, so the served
//! SDK cannot drift from the published one, and every build (the Docker image
//! included) serves the SDK of its own version whatever `static_dir` holds.

use actix_web::http::header::{self, EntityTag, IfNoneMatch};
use actix_web::{guard, web, HttpMessage, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// One module of the package: the file name it is served under and its text.
struct Module {
    name: &'static str,
    text: &'static str,
}

macro_rules! module {
    ($name:literal) => {
        Module {
            name: $name,
            text: include_str!(concat!("../../sdk/js/src/", $name)),
        }
    };
}

/// Every file of `sdk/js/src/` (`tests/api/sdk.rs` fails when one is left
/// out). The service worker is served from the root too: a service worker
/// controls only its own path and below.
static MODULES: [Module; 7] = [
    module!("herald.js"),
    module!("herald-feed.js"),
    module!("herald-store.js"),
    module!("herald-ws.js"),
    module!("herald-sse.js"),
    module!("herald-web-push.js"),
    module!("herald-sw.js"),
];

const SERVICE_WORKER: &str = "herald-sw.js";
const CONTENT_TYPE: &str = "text/javascript; charset=utf-8";

/// A strong ETag per module, from its bytes, so browsers revalidate cheaply.
static ETAGS: LazyLock<Vec<EntityTag>> = LazyLock::new(|| {
    MODULES
        .iter()
        .map(|m| EntityTag::new_strong(hex::encode(&Sha256::digest(m.text)[..16])))
        .collect()
});

pub fn configure(cfg: &mut web::ServiceConfig) {
    for (index, module) in MODULES.iter().enumerate() {
        let serve = move |req: HttpRequest| async move { serve(&req, index) };
        let get_or_head = || web::route().guard(guard::Any(guard::Get()).or(guard::Head()));
        cfg.route(&format!("/static/{}", module.name), get_or_head().to(serve));
        if module.name == SERVICE_WORKER {
            cfg.route("/herald-sw.js", get_or_head().to(serve));
        }
    }
}

/// The module's text, or 304 when the browser already holds these bytes.
/// `no-cache` makes browsers ask each time, so a new Herald's SDK is used at once.
fn serve(req: &HttpRequest, index: usize) -> HttpResponse {
    let Some((module, etag)) = MODULES.get(index).zip(ETAGS.get(index)) else {
        return HttpResponse::NotFound().finish();
    };
    let fresh = match req.get_header::<IfNoneMatch>() {
        Some(IfNoneMatch::Any) => true,
        Some(IfNoneMatch::Items(tags)) => tags.iter().any(|t| t.weak_eq(etag)),
        None => false,
    };
    let mut res = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header(header::ETag(etag.clone()))
        .insert_header((header::CACHE_CONTROL, "no-cache"));
    if fresh {
        return res.finish();
    }
    res.content_type(CONTENT_TYPE).body(module.text)
}
