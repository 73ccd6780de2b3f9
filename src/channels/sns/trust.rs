//! Which URLs SNS messages may send Herald to, and which topics it listens to.
//! URLs are parsed and compared by scheme, host and port, never by string
//! prefix: `https://sns.us-east-1.amazonaws.com.evil.com/` and
//! `https://sns.us-east-1.amazonaws.com@evil.com/` are other hosts.

use super::SnsError;
use url::{Host, Url};

/// An origin named in `sns_cert_url_prefixes`, beyond AWS's own `sns.<region>.amazonaws.com`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Origin {
    https: bool,
    host: Host<String>,
    port: Option<u16>,
}

/// The hosts SNS certificates and subscription URLs may come from.
#[derive(Clone, Debug, Default)]
pub struct TrustedOrigins {
    extra: Vec<Origin>,
}

/// What a URL is for: a signing certificate must name a `.pem` file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlKind {
    SigningCert,
    Subscribe,
}

/// A URL that passed [`TrustedOrigins::check`]; only these are ever fetched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedUrl(Url);

impl TrustedUrl {
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl TrustedOrigins {
    /// Parses the comma-separated `sns_cert_url_prefixes`. Only each entry's
    /// scheme, host and port count; a path in an entry is ignored. Plain http is
    /// accepted only for a loopback host (tests, a local mirror).
    pub fn parse(list: &str) -> Result<Self, SnsError> {
        let mut extra = vec![];
        for raw in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let bad = |reason: &str| SnsError::Setting {
                key: "sns_cert_url_prefixes",
                reason: format!("'{raw}': {reason}"),
            };
            let url = Url::parse(raw).map_err(|e| bad(&e.to_string()))?;
            let host = url
                .host()
                .map(|h| h.to_owned())
                .ok_or_else(|| bad("no host"))?;
            if !url.username().is_empty() || url.password().is_some() {
                return Err(bad("user info is not allowed"));
            }
            let https = match url.scheme() {
                "https" => true,
                "http" if is_loopback(&host) => false,
                "http" => return Err(bad("plain http is only allowed for a loopback host")),
                _ => return Err(bad("the scheme must be https")),
            };
            extra.push(Origin {
                https,
                host,
                port: url.port(),
            });
        }
        Ok(Self { extra })
    }

    /// Parses `raw` and accepts it only from an AWS SNS host or a configured origin.
    pub fn check(&self, raw: &str, kind: UrlKind) -> Result<TrustedUrl, SnsError> {
        let refuse = |reason: &'static str| match kind {
            UrlKind::SigningCert => SnsError::UntrustedCertUrl(reason),
            UrlKind::Subscribe => SnsError::UntrustedSubscribeUrl(reason),
        };
        let url = Url::parse(raw).map_err(|_| refuse("not a URL"))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse("user info is not allowed"));
        }
        let host = url.host().map(|h| h.to_owned()).ok_or(refuse("no host"))?;
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            _ => return Err(refuse("the scheme must be https")),
        };
        let candidate = Origin {
            https,
            host,
            port: url.port(),
        };
        if !(is_aws_sns(&candidate) || self.extra.contains(&candidate)) {
            return Err(refuse("not an SNS host"));
        }
        if kind == UrlKind::SigningCert
            && (!url.path().ends_with(".pem") || url.query().is_some() || url.fragment().is_some())
        {
            return Err(refuse("a signing certificate URL names a .pem file"));
        }
        Ok(TrustedUrl(url))
    }
}

fn is_loopback(host: &Host<String>) -> bool {
    match host {
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
        Host::Domain(d) => d == "localhost",
    }
}

/// `https://sns.<region>.amazonaws.com` on the default port, region like `eu-west-1` or `us-gov-west-1`.
fn is_aws_sns(o: &Origin) -> bool {
    let Host::Domain(d) = &o.host else {
        return false;
    };
    let Some(region) = d
        .strip_prefix("sns.")
        .and_then(|r| r.strip_suffix(".amazonaws.com"))
    else {
        return false;
    };
    let parts: Vec<&str> = region.split('-').collect();
    o.https
        && o.port.is_none()
        && region.len() <= 32
        && parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts
            .first()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

/// An SNS topic ARN, `arn:<partition>:sns:<region>:<account>:<name>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicArn(String);

impl TopicArn {
    pub fn parse(raw: &str) -> Result<Self, SnsError> {
        let parts: Vec<&str> = raw.split(':').collect();
        let ok = parts.len() == 6
            && parts[0] == "arn"
            && parts[1].starts_with("aws")
            && parts[2] == "sns"
            && parts[3..].iter().all(|p| !p.is_empty())
            && raw.len() <= 512;
        ok.then(|| Self(raw.to_string()))
            .ok_or(SnsError::InvalidTopicArn)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The topics whose messages are accepted (`sns_topic_arns`); empty accepts none.
#[derive(Clone, Debug, Default)]
pub struct TopicAllowList(Vec<TopicArn>);

impl TopicAllowList {
    pub fn parse(list: &str) -> Result<Self, SnsError> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|raw| {
                TopicArn::parse(raw).map_err(|_| SnsError::Setting {
                    key: "sns_topic_arns",
                    reason: format!("'{raw}' is not an SNS topic ARN"),
                })
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn admit(&self, raw: &str) -> Result<TopicArn, SnsError> {
        if self.0.is_empty() {
            return Err(SnsError::NoTopics);
        }
        let arn = TopicArn::parse(raw)?;
        if !self.0.contains(&arn) {
            return Err(SnsError::TopicNotAllowed);
        }
        Ok(arn)
    }
}

#[cfg(test)]
mod tests;
