//! Hardening tests: webhooks.
