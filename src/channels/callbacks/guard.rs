//! The replay defences every signed callback shares, built once from the
//! settings and kept in the app state.

use super::{CallbackError, ReplayCache, SignedAt, Window, REPLAY_CAPACITY};
use crate::channels::sns::{
    CertCache, SnsGate, TopicAllowList, TrustedOrigins, CERT_CACHE_CAPACITY, CERT_CACHE_TTL,
};
use crate::config::Settings;

pub struct CallbackGuard {
    pub window: Window,
    pub replay: ReplayCache,
    pub sns: SnsGate,
}

impl CallbackGuard {
    pub fn from_settings(s: &Settings) -> Result<Self, CallbackError> {
        let window = Window::new(s.callback_max_age_secs).ok_or(CallbackError::Setting {
            key: "callback_max_age_secs",
            reason: "must be at least 1 second".into(),
        })?;
        let sns = SnsGate::new(
            TopicAllowList::parse(&s.sns_topic_arns)?,
            TrustedOrigins::parse(&s.sns_cert_url_prefixes)?,
            window,
            CertCache::new(CERT_CACHE_CAPACITY, CERT_CACHE_TTL),
        )?;
        Ok(Self {
            window,
            replay: ReplayCache::new(REPLAY_CAPACITY),
            sns,
        })
    }

    /// Parses a Unix-seconds timestamp header and holds it to the window.
    pub fn signed_at(&self, raw: &str) -> Result<SignedAt, CallbackError> {
        let at = SignedAt::parse_unix(raw)?;
        self.window.check(at)?;
        Ok(at)
    }

    /// Accepts `signature` once while `at` is inside the window.
    pub fn claim_once(&self, signature: &str, at: SignedAt) -> Result<(), CallbackError> {
        let now = chrono::Utc::now().timestamp();
        if self
            .replay
            .claim(signature, self.window.last_accepted(at), now)
        {
            Ok(())
        } else {
            Err(CallbackError::Replayed)
        }
    }
}
