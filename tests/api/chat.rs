//! Slack, Discord and Teams channels, against local stand-ins that count
//! what they received. Each module holds the tests for one area.

mod common;
mod destinations;
mod retries;
mod sends;
