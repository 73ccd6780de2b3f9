//! Transports: pooled SMTP (STARTTLS, implicit TLS or plain), or `.eml` files,
//! and how their errors are classified.

use crate::channels::ProviderError;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// `smtp://user:pass@host:587?tls=starttls` with `tls` one of `starttls`, `implicit`, `none`.
pub fn smtp_transport(url: &str) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("HERALD_SMTP_URL: {e}"))?;
    let host = parsed
        .host_str()
        .ok_or("HERALD_SMTP_URL has no host")?
        .to_string();
    let tls = parsed
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.to_string())
        .unwrap_or_else(|| "starttls".into());
    let mut builder = match tls.as_str() {
        "none" => {
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone()).tls(Tls::None)
        }
        "implicit" => {
            AsyncSmtpTransport::<Tokio1Executor>::relay(&host).map_err(|e| e.to_string())?
        }
        "starttls" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&host)
            .map_err(|e| e.to_string())?,
        other => {
            return Err(format!(
                "HERALD_SMTP_URL: tls={other}; expected starttls, implicit or none"
            ))
        }
    };
    if let Some(port) = parsed.port() {
        builder = builder.port(port);
    }
    if !parsed.username().is_empty() {
        let user = urlencoding::decode(parsed.username())
            .map_err(|e| e.to_string())?
            .into_owned();
        let pass = urlencoding::decode(parsed.password().unwrap_or_default())
            .map_err(|e| e.to_string())?
            .into_owned();
        builder = builder.credentials(Credentials::new(user, pass));
    }
    let _ = TlsParameters::new; // TLS parameters come from the relay builders (webpki roots).
    Ok(builder.build())
}

/// lettre's pooled SMTP transport spawns a cleanup task when dropped, which
/// panics (and, during unwinding, aborts) once the runtime is gone: at process
/// exit or test teardown. With no runtime left, the transport is leaked instead;
/// the process is ending anyway.
pub struct RuntimeBound<T>(Option<T>);

impl<T> RuntimeBound<T> {
    pub fn new(value: T) -> Self {
        Self(Some(value))
    }
}

impl<T> std::ops::Deref for RuntimeBound<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // Always Some until Drop runs.
        self.0
            .as_ref()
            .unwrap_or_else(|| unreachable!("RuntimeBound used after drop"))
    }
}

impl<T> Drop for RuntimeBound<T> {
    fn drop(&mut self) {
        if tokio::runtime::Handle::try_current().is_err() {
            if let Some(value) = self.0.take() {
                std::mem::forget(value);
            }
        }
    }
}

pub enum EmailTransport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// The embedded default: real RFC 5322 messages written as `.eml` files.
    Files(AsyncFileTransport<Tokio1Executor>),
}

pub(super) async fn deliver(
    transport: &EmailTransport,
    message: Message,
) -> Result<(), ProviderError> {
    match transport {
        EmailTransport::Smtp(t) => {
            t.send(message).await.map_err(classify)?;
        }
        EmailTransport::Files(t) => {
            t.send(message)
                .await
                .map_err(|e| ProviderError::Retryable {
                    reason: e.to_string(),
                    retry_after: None,
                })?;
        }
    }
    Ok(())
}

fn classify(e: lettre::transport::smtp::Error) -> ProviderError {
    if e.is_permanent() {
        ProviderError::Permanent(e.to_string())
    } else {
        ProviderError::Retryable {
            reason: e.to_string(),
            retry_after: None,
        }
    }
}
