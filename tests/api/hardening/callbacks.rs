//! Hardening tests: callbacks.
