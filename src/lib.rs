//! Herald: a notification server. See README.md for the architecture.

pub mod auth;
pub mod bus;
pub mod channels;
pub mod cli;
pub mod config;
pub mod digest;
pub mod domain;
pub mod feed;
pub mod packs;
pub mod persistence;
pub mod pipeline;
pub mod producer;
pub mod protocol;
pub mod ratelimit;
pub mod realtime;
pub mod retention;
pub mod routes;
pub mod schedule;
pub mod shutdown;
pub mod sources;
pub mod startup;
pub mod stats;
pub mod telemetry;
pub mod templates;
