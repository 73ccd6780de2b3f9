//! sea-orm entities shared by the server and the migration crate.
//!
//! The schema is kept portable between SQLite (embedded default) and
//! PostgreSQL: JSON is stored as text, enums as strings, ids as UUIDs or the
//! platform's own string user id.

pub mod api_keys;
pub mod catalog_version;
pub mod chat_destinations;
pub mod dead_letters;
pub mod deliveries;
pub mod delivery_attempts;
pub mod devices;
pub mod digest_buckets;
pub mod digest_items;
pub mod events;
pub mod notifications;
pub mod preference_history;
pub mod preferences;
pub mod rules;
pub mod scheduled_sends;
pub mod send_requests;
pub mod template_versions;
pub mod templates;
pub mod topic_fanouts;
pub mod topic_subscribers;
pub mod topics;
pub mod users;
pub mod webhook_endpoints;

pub mod prelude {
    pub use super::api_keys::Entity as ApiKeys;
    pub use super::devices::Entity as Devices;
    pub use super::notifications::Entity as Notifications;
    pub use super::preferences::Entity as Preferences;
    pub use super::users::Entity as Users;
}
