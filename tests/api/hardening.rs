//! Hardening: what an abusive client, a hostile webhook target or a malformed
//! input must not achieve. Each module holds the tests for one area.

mod callbacks;
mod gaps;
mod input;
mod ratelimit;
mod templates;
mod webhooks;
mod ws;
