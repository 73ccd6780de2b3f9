//! Hardening tests: gaps.
