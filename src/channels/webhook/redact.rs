//! reqwest errors as text without the URL. Webhook URLs carry secrets in their
//! path (`https://hooks.example/T0/B0/secret`), and a provider's error text
//! reaches `last_error`, the delivery log and the logs. Shared by every HTTP
//! provider (webhook, SMS, FCM).

use super::super::ProviderError;
use std::fmt::Write;

/// The error and its causes, `: `-separated, with no URL. The causes are
/// hyper's and the OS's (connect refused, TLS, DNS); reqwest is the only layer that adds the URL.
pub fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        let _ = write!(text, ": {cause}");
        source = cause.source();
    }
    text
}

/// A network-level failure, retried with backoff; its text carries no URL.
pub fn network(e: reqwest::Error) -> ProviderError {
    if e.is_timeout() {
        return ProviderError::network("timed out");
    }
    ProviderError::network(describe(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_connection_error_names_the_cause_but_not_the_url() {
        // reqwest is built without a crypto provider; main installs ring, tests do it here.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or(9);
        let url = format!("http://127.0.0.1:{port}/T0/B0/very-secret-path?token=hush");
        let err = match reqwest::Client::new().post(url).send().await {
            Err(e) => e,
            Ok(r) => panic!("nothing listens, yet {}", r.status()),
        };
        let text = describe(err);
        assert!(!text.contains("very-secret-path"), "{text}");
        assert!(!text.contains("hush"), "{text}");
        assert!(text.contains("error sending request"), "{text}");
        let e = network_of(port).await;
        assert!(matches!(e, ProviderError::Retryable { .. }), "{e}");
        assert!(!e.to_string().contains("very-secret-path"), "{e}");
    }

    async fn network_of(port: u16) -> ProviderError {
        let url = format!("http://127.0.0.1:{port}/T0/B0/very-secret-path");
        match reqwest::Client::new().get(url).send().await {
            Err(e) => network(e),
            Ok(_) => ProviderError::network("unexpectedly connected"),
        }
    }
}
