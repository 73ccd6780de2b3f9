//! `GET /api/v1/sse`: the realtime feed as Server-Sent Events.

mod access;
mod client;
mod delivery;
