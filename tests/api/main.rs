//! Integration tests against the real server over real HTTP and WebSockets.

mod helpers;

mod auth;
mod bad_input;
mod cluster;
mod delivery;
mod events;
mod feed;
mod hardening;
mod hygiene;
mod operations;
mod outbox;
mod outbox_faults;
mod preferences_and_devices;
mod processes;
mod send;
mod sources;
mod stubs;
mod websocket;
