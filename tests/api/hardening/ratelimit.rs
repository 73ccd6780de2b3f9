//! Hardening tests: ratelimit.
