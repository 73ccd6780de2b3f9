//! Graceful shutdown of real `herald serve` processes: SIGTERM drains a node
//! (WebSockets closed with 4002, `/ready` 503, sources and sends settled)
//! and it exits within `HERALD_SHUTDOWN_DEADLINE_SECS`.

mod load;
mod node;
mod sessions;
mod streams;
