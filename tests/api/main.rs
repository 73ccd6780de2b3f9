//! Integration tests against the real server over real HTTP and WebSockets.

mod helpers;
mod test_system;

mod auth;
mod bad_input;
mod catalog_sync;
mod chat;
mod cluster;
mod cluster_bus;
mod delivery;
mod events;
mod feed;
mod hardening;
mod hygiene;
mod inbox;
mod openapi;
mod operations;
mod outbox;
mod outbox_faults;
mod preferences_and_devices;
mod processes;
mod rulesinbox;
mod send;
mod shutdown;
mod sources;
mod sse;
mod stubs;
mod webpush;
mod websocket;
