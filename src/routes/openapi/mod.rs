//! The OpenAPI document, generated from the handlers' annotations, then
//! refined with what every operation shares (see [`refine`]).

mod refine;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

#[derive(OpenApi)]
#[openapi(
    info(title = "Herald", description = "Notification server: in-app feed over REST and WebSocket."),
    paths(
        super::health::health, super::health::ready, super::health::metrics,
        super::send::send,
        super::scheduled::list, super::scheduled::cancel, super::scheduled::cancel_by_id,
        super::users::upsert, super::users::get, super::users::delete, super::users::mint_token,
        super::presence::get,
        super::feed::list, super::feed::unread_count, super::feed::get_one,
        super::feed::mark_read_one, super::feed::mark_unread_one, super::feed::mark_read_many,
        super::feed::mark_all_read, super::feed::delete_one, super::feed::delete_many, super::feed::send_test,
        super::inbox::mark_seen, super::inbox::mark_all_seen, super::inbox::archive_many, super::inbox::archive_one,
        super::inbox::unarchive_one, super::inbox::snooze, super::inbox::unsnooze, super::inbox::categories,
        super::inbox::take_action,
        super::preferences::my_get, super::preferences::my_put, super::preferences::my_patch,
        super::preferences::svc_get, super::preferences::svc_put, super::preferences::svc_patch,
        super::devices::my_list, super::devices::my_register, super::devices::my_delete,
        super::devices::svc_list, super::devices::svc_register, super::devices::svc_delete,
        super::chat::my_list, super::chat::my_put, super::chat::my_delete,
        super::chat::svc_list, super::chat::svc_put, super::chat::svc_delete,
        super::web_push::public_key, super::web_push::clicked,
        super::ws::connect,
        super::sse::stream,
        super::templates::create, super::templates::list, super::templates::get, super::templates::update,
        super::templates::delete, super::templates::versions, super::templates::render,
        super::rules::create, super::rules::list, super::rules::get, super::rules::update, super::rules::delete,
        super::webhooks::create, super::webhooks::list, super::webhooks::get, super::webhooks::update,
        super::webhooks::delete, super::webhooks::rotate, super::webhooks::test, super::webhooks::log,
        super::callbacks::callback, super::deliveries::for_notification, super::deliveries::by_request,
        super::events::publish, super::events::audit, super::events::dead_letters, super::events::replay, super::events::import,
        super::preference_history::mine, super::preference_history::theirs,
        super::topics::put, super::topics::list, super::topics::get_one, super::topics::delete,
        super::topics::subscribe, super::topics::unsubscribe, super::topics::subscribers,
        super::topic_sends::progress,
    ),
    components(schemas(super::ErrorBody, super::ErrorDetail, crate::domain::NotificationView, crate::domain::Priority)),
    modifiers(&Security, &Shared),
    tags(
        (name = "send", description = "Services send notifications (API key)"),
        (name = "users", description = "Services manage users (API key)"),
        (name = "feed", description = "A user's own feed (user JWT)"),
        (name = "preferences", description = "Channel, category and quiet-hours preferences"),
        (name = "devices", description = "Push device registration"),
        (name = "chat", description = "Slack, Discord and Teams destinations"),
        (name = "realtime", description = "WebSocket feed"),
        (name = "operations", description = "Health, readiness, metrics"),
        (name = "templates", description = "Versioned templates and render previews (API key, admin)"),
        (name = "rules", description = "Event-to-notification rules (API key, admin)"),
        (name = "events", description = "Events over REST, audit, dead letters"),
        (name = "webhooks", description = "Outbound webhook endpoints, signed per Standard Webhooks"),
        (name = "deliveries", description = "Delivery status and attempt history"),
        (name = "topics", description = "Topics, their subscribers and the progress of sends to them (API key, admin)"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("Service API key"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "user_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "ws_token",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::new("token"))),
        );
    }
}

struct Shared;

impl Modify for Shared {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        // A round trip through JSON: the typed builders keep security
        // requirements private. It cannot fail for a document utoipa built;
        // if it ever did, the unrefined document is still served.
        let refined = serde_json::to_value(&*openapi).ok().and_then(|mut doc| {
            refine::refine(&mut doc);
            serde_json::from_value(doc).ok()
        });
        match refined {
            Some(doc) => *openapi = doc,
            None => tracing::warn!("could not refine the OpenAPI document"),
        }
    }
}

/// Serves `/api/v1/openapi.json` and Swagger UI at `/api/v1/docs/` (vendored: works offline).
pub fn swagger() -> SwaggerUi {
    SwaggerUi::new("/api/v1/docs/{_:.*}").url("/api/v1/openapi.json", ApiDoc::openapi())
}
