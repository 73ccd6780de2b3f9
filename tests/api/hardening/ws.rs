//! Hardening tests: ws.
