//! Hardening tests: templates.
