//! Hardening tests: callbacks. Providers' reports must come from the provider,
//! recently, once; SNS only from allow-listed topics and AWS hosts; user tokens
//! must carry the claims Herald is configured to require.

mod jwt;
mod signed;
mod sns;
