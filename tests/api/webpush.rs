//! Web Push: subscriptions as devices, and delivery to a local push service
//! stand-in that checks VAPID and decrypts what it receives like a browser.

mod delivery;
mod service;
mod subscriptions;
