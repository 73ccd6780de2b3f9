//! Where a webhook may go. The URL is parsed once into a [`WebhookUrl`];
//! names are checked when the connection is made, by the client's own
//! resolver, because a check at save time (or just before sending) can be
//! undone by DNS answering differently a moment later (rebinding). IP-literal
//! hosts never reach a resolver, so they are checked before the request.

use super::ssrf::is_private;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};

/// Why a webhook URL is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("invalid URL: {0}")]
    Invalid(#[from] url::ParseError),
    #[error("the URL must be http or https")]
    Scheme,
    #[error("the URL has no host")]
    NoHost,
    #[error("cannot resolve {host}: {reason}")]
    Unresolvable { host: String, reason: String },
    #[error("{host} resolves to {ip}, a private, loopback, link-local or reserved address; set HERALD_WEBHOOK_ALLOW_PRIVATE=true to allow it")]
    Private { host: String, ip: IpAddr },
}

/// An http(s) URL with a host. Private targets are refused separately, since
/// whether they are depends on the setting and, for names, on DNS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookUrl(url::Url);

impl WebhookUrl {
    pub fn parse(raw: &str) -> Result<Self, UrlError> {
        let url = url::Url::parse(raw)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(UrlError::Scheme);
        }
        if url.host().is_none() {
            return Err(UrlError::NoHost);
        }
        Ok(Self(url))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    fn host_name(&self) -> String {
        self.0
            .host_str()
            .unwrap_or_default()
            .trim_matches(['[', ']'])
            .to_string()
    }

    /// The host when it is an IP literal (the URL parser normalises forms such as `0x7f.1`).
    fn literal(&self) -> Option<IpAddr> {
        match self.0.host()? {
            url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
            url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
            url::Host::Domain(_) => None,
        }
    }

    /// Refuses a private IP-literal host; names are left to the resolver.
    pub fn check_literal(&self, allow_private: bool) -> Result<(), UrlError> {
        match self.literal() {
            Some(ip) if !allow_private && is_private(ip) => Err(UrlError::Private {
                host: self.host_name(),
                ip,
            }),
            _ => Ok(()),
        }
    }

    /// Resolves the host now and refuses private targets: an early answer for
    /// whoever saves the endpoint. Sending does not rely on it.
    pub async fn check_resolved(&self, allow_private: bool) -> Result<(), UrlError> {
        if allow_private {
            return Ok(());
        }
        self.check_literal(false)?;
        if self.literal().is_some() {
            return Ok(());
        }
        let host = self.host_name();
        let port = self.0.port_or_known_default().unwrap_or(443);
        checked_lookup(&host, port, false).await.map(|_| ())
    }
}

/// Resolves `host` and refuses the answer if any address is private. One
/// private address in a mixed answer is enough: the client may pick it.
async fn checked_lookup(
    host: &str,
    port: u16,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, UrlError> {
    let unresolvable = |reason: String| UrlError::Unresolvable {
        host: host.to_string(),
        reason,
    };
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| unresolvable(e.to_string()))?
        .collect();
    if addrs.is_empty() {
        return Err(unresolvable("no addresses".into()));
    }
    if !allow_private {
        if let Some(bad) = addrs.iter().find(|a| is_private(a.ip())) {
            return Err(UrlError::Private {
                host: host.to_string(),
                ip: bad.ip(),
            });
        }
    }
    Ok(addrs)
}

/// The webhook client's resolver: the connection only ever goes to an address checked here.
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            // Port 0: reqwest puts the URL's port in.
            let addrs = checked_lookup(&host, 0, allow_private).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// The refusal behind a failed request, when the guarded resolver refused it.
pub fn refusal(e: &reqwest::Error) -> Option<&UrlError> {
    let mut source = std::error::Error::source(e);
    while let Some(err) = source {
        if let Some(refused @ UrlError::Private { .. }) = err.downcast_ref::<UrlError>() {
            return Some(refused);
        }
        source = err.source();
    }
    None
}

/// The client webhooks are sent with: no redirects (a public endpoint could
/// bounce the signed body to an internal one), no proxy from the environment
/// (the proxy, not this process, would resolve the target), and the guarded resolver.
pub fn client(allow_private: bool) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(GuardedResolver { allow_private })
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn only_http_urls_with_a_host_parse() {
        assert!(WebhookUrl::parse("https://hooks.example/T0/B0/x").is_ok());
        assert_eq!(
            WebhookUrl::parse("ftp://example.com/"),
            Err(UrlError::Scheme)
        );
        assert!(matches!(
            WebhookUrl::parse("not a url"),
            Err(UrlError::Invalid(_))
        ));
        assert!(WebhookUrl::parse("unix:/run/x.sock").is_err());
    }

    #[test]
    fn private_literals_are_refused_in_every_spelling() {
        for raw in [
            "http://127.0.0.1/",
            "http://0x7f.1/",
            "http://2130706433/",
            "http://[::ffff:127.0.0.1]/",
            "http://[64:ff9b::a9fe:a9fe]/",
        ] {
            let url = WebhookUrl::parse(raw).map_err(|e| e.to_string());
            let refused = url.and_then(|u| u.check_literal(false).map_err(|e| e.to_string()));
            assert!(refused.is_err(), "{raw} must be refused");
            let allowed = WebhookUrl::parse(raw).map(|u| u.check_literal(true));
            assert_eq!(allowed, Ok(Ok(())), "{raw} is allowed when private is");
        }
    }

    /// Counts connections on a loopback listener, answering each with a 200.
    async fn counting_listener() -> (u16, Arc<AtomicUsize>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        // reqwest is built without a crypto provider; main installs ring, tests do it here.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await;
        let listener = listener.unwrap_or_else(|e| panic!("bind: {e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
        let count = Arc::new(AtomicUsize::new(0));
        let seen = count.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                seen.fetch_add(1, Ordering::SeqCst);
                // The request has no body: its head is all there is to read.
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = sock
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                    .await;
            }
        });
        (port, count)
    }

    #[tokio::test]
    async fn the_client_refuses_a_name_that_resolves_to_loopback_when_it_connects() {
        let (port, count) = counting_listener().await;
        let client = client(false).unwrap_or_else(|e| panic!("client: {e}"));
        // No check before the send: the resolver alone must stop it.
        let res = client
            .post(format!("http://localhost:{port}/rebound"))
            .send()
            .await;
        let err = match res {
            Ok(r) => panic!("reached loopback: {}", r.status()),
            Err(e) => e,
        };
        assert!(
            matches!(refusal(&err), Some(UrlError::Private { host, .. }) if host == "localhost"),
            "{err:?}"
        );
        assert_eq!(count.load(Ordering::SeqCst), 0, "nothing may connect");
    }

    #[tokio::test]
    async fn the_client_reaches_loopback_names_when_private_targets_are_allowed() {
        let (port, count) = counting_listener().await;
        let client = client(true).unwrap_or_else(|e| panic!("client: {e}"));
        let res = client
            .post(format!("http://localhost:{port}/ok"))
            .send()
            .await;
        assert!(
            matches!(&res, Ok(r) if r.status() == 200),
            "{:?}",
            res.map(|r| r.status())
        );
        assert_eq!(count.load(Ordering::SeqCst), 1);
    }
}
