//! Three real `herald serve` processes on one PostgreSQL database, sharing Redis
//! and RabbitMQ, acting as one server: frames and read state cross nodes,
//! presence names the nodes, rules converge, and clients survive `kill -9`, a
//! Redis restart and SIGTERM of a node without losing a notification.

mod follower;
mod harness;
mod kill;
mod load;
mod parts;
mod realtime;
mod redis_restart;
mod rules;
mod sigterm;
