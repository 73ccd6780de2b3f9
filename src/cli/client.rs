//! The HTTP side of the command line: which server (`--url`, `HERALD_URL`) and
//! which API key (`--api-key`, `HERALD_API_KEY`), and calls that turn Herald's
//! `{"error":{"code","message"}}` answers into plain errors.
//!
//! `send` and `events publish --via http` talk to a running server rather than
//! the database: the producer publishes to the sockets of the node that runs it,
//! so only a request to a running node reaches a user's open browser tabs.

use crate::config::Settings;
use secrecy::ExposeSecret;
use serde_json::Value;
use std::time::Duration;

/// How long one CLI request to Herald may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(clap::Args, Clone, Debug)]
pub struct Target {
    /// The Herald server; defaults to HERALD_PUBLIC_URL, else http://<HERALD_BIND>.
    #[arg(long, env = "HERALD_URL")]
    pub url: Option<String>,
    /// An API key with the `send` or `admin` scope; defaults to HERALD_ADMIN_API_KEY.
    #[arg(long, env = "HERALD_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("no API key: pass --api-key or set HERALD_API_KEY (create one with `herald api-key create`)")]
    NoApiKey,
    #[error("invalid server URL '{0}': {1}")]
    BadUrl(String, String),
    #[error("cannot reach Herald at {url}: {reason} — is `herald serve` running? set --url or HERALD_URL")]
    Unreachable { url: String, reason: String },
    #[error("{status} {code}: {message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    #[error("unreadable answer from {url}: {reason}")]
    BadAnswer { url: String, reason: String },
}

/// A server and a key, resolved and checked once.
pub struct Client {
    http: reqwest::Client,
    base: url::Url,
    key: String,
}

impl Client {
    pub fn new(target: &Target, settings: &Settings) -> Result<Self, ClientError> {
        let raw = target.url.clone().unwrap_or_else(|| default_url(settings));
        let base =
            url::Url::parse(&raw).map_err(|e| ClientError::BadUrl(raw.clone(), e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(ClientError::BadUrl(raw, "use http:// or https://".into()));
        }
        let key = target
            .api_key
            .clone()
            .or_else(|| {
                settings
                    .admin_api_key
                    .as_ref()
                    .map(|k| k.expose_secret().to_string())
            })
            .filter(|k| !k.is_empty())
            .ok_or(ClientError::NoApiKey)?;
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| ClientError::BadUrl(raw, e.to_string()))?;
        Ok(Self { http, base, key })
    }

    /// `path` is below `/api/v1/`, e.g. `send`.
    fn endpoint(&self, path: &str) -> String {
        format!("{}/api/v1/{path}", self.base.as_str().trim_end_matches('/'))
    }

    #[tracing::instrument(skip(self, body))]
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, ClientError> {
        let url = self.endpoint(path);
        let res = self
            .http
            .post(&url)
            .bearer_auth(&self.key)
            .json(body)
            .send()
            .await
            .map_err(|e| ClientError::Unreachable {
                url: crate::cli::doctor::mask_url(&url),
                reason: root_cause(&e),
            })?;
        let status = res.status().as_u16();
        let answer: Value = res.json().await.map_err(|e| ClientError::BadAnswer {
            url: url.clone(),
            reason: e.to_string(),
        })?;
        if status >= 400 {
            return Err(refused(status, &answer));
        }
        Ok(answer)
    }
}

fn default_url(settings: &Settings) -> String {
    if let Some(public) = &settings.public_url {
        return public.clone();
    }
    // A server listening on every interface is reached on loopback from here.
    let bind = settings.bind.replace("0.0.0.0:", "127.0.0.1:");
    format!("http://{bind}")
}

/// Herald's error document as one error; any other body keeps its status.
fn refused(status: u16, answer: &Value) -> ClientError {
    let field = |k: &str| {
        answer["error"][k]
            .as_str()
            .map(str::to_string)
            .unwrap_or_default()
    };
    ClientError::Refused {
        status,
        code: field("code"),
        message: field("message"),
    }
}

/// The innermost cause ("connection refused"), not reqwest's outer wrapper.
pub(crate) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_keeps_the_code_and_the_message() {
        let e = refused(
            422,
            &serde_json::json!({"error": {"code": "invalid_channel", "message": "unknown channel 'fax'"}}),
        );
        assert_eq!(e.to_string(), "422 invalid_channel: unknown channel 'fax'");
    }

    #[test]
    fn a_server_on_every_interface_is_reached_on_loopback() {
        let mut s = Settings::defaults().unwrap();
        s.bind = "0.0.0.0:9000".into();
        assert_eq!(default_url(&s), "http://127.0.0.1:9000");
        s.public_url = Some("https://herald.example.com".into());
        assert_eq!(default_url(&s), "https://herald.example.com");
    }
}
