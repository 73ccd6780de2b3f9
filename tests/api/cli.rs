//! The `herald` binary's operator commands, run as a child process against a
//! real server and the real services: send, events publish, deliveries show
//! and doctor. Each module holds the tests for one command.

mod common;
mod deliveries;
mod doctor;
mod events;
mod send;
