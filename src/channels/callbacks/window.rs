//! The replay window for signed callbacks: a provider's signed timestamp must
//! be within `callback_max_age_secs` of this node's clock, either way (a clock
//! ahead of ours is as suspect as a stale one, and both are bounded the same).

use chrono::{DateTime, Utc};

#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum WindowError {
    #[error("the signed timestamp is missing or malformed")]
    Malformed,
    #[error("the signed timestamp is more than {max_age_secs} s away from the server's clock")]
    Outside { max_age_secs: u64 },
}

/// When a provider says it signed a callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SignedAt(i64);

impl SignedAt {
    /// Whole seconds since the Unix epoch, as SendGrid and Herald's generic callback send them.
    pub fn parse_unix(raw: &str) -> Result<Self, WindowError> {
        let raw = raw.trim();
        if raw.is_empty() || raw.len() > 12 || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(WindowError::Malformed);
        }
        raw.parse().map(Self).map_err(|_| WindowError::Malformed)
    }

    /// RFC 3339, as SNS sends its `Timestamp` (`2026-11-22T10:00:00.000Z`).
    pub fn parse_rfc3339(raw: &str) -> Result<Self, WindowError> {
        DateTime::parse_from_rfc3339(raw)
            .map(|t| Self(t.timestamp()))
            .map_err(|_| WindowError::Malformed)
    }

    pub fn unix(self) -> i64 {
        self.0
    }
}

/// The accepted distance between a signed timestamp and now.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    max_age_secs: u64,
}

impl Window {
    /// Zero would refuse nearly everything; a window must be at least a second.
    pub fn new(max_age_secs: u64) -> Option<Self> {
        (max_age_secs > 0).then_some(Self { max_age_secs })
    }

    pub fn max_age_secs(self) -> u64 {
        self.max_age_secs
    }

    pub fn check(self, at: SignedAt) -> Result<(), WindowError> {
        self.check_at(at, Utc::now().timestamp())
    }

    fn check_at(self, at: SignedAt, now: i64) -> Result<(), WindowError> {
        let distance = now.abs_diff(at.0);
        if distance > self.max_age_secs {
            return Err(WindowError::Outside {
                max_age_secs: self.max_age_secs,
            });
        }
        Ok(())
    }

    /// The last second at which a callback signed at `at` is still accepted.
    pub fn last_accepted(self, at: SignedAt) -> i64 {
        at.0.saturating_add(i64::try_from(self.max_age_secs).unwrap_or(i64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_within_the_window_either_way_are_accepted() {
        let w = Window::new(300).unwrap();
        assert!(w.check_at(SignedAt(1_000), 1_300).is_ok());
        assert!(w.check_at(SignedAt(1_300), 1_000).is_ok());
    }

    #[test]
    fn timestamps_beyond_the_window_either_way_are_refused() {
        let w = Window::new(300).unwrap();
        let outside = Err(WindowError::Outside { max_age_secs: 300 });
        assert_eq!(w.check_at(SignedAt(1_000), 1_301), outside);
        assert_eq!(w.check_at(SignedAt(1_301), 1_000), outside);
    }

    #[test]
    fn only_plain_unix_seconds_parse() {
        assert_eq!(
            SignedAt::parse_unix("1700000000"),
            Ok(SignedAt(1_700_000_000))
        );
        for bad in ["", "-5", "1.5", "17e8", " ", "9999999999999999999"] {
            assert_eq!(
                SignedAt::parse_unix(bad),
                Err(WindowError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn sns_timestamps_parse_as_rfc3339() {
        let t = SignedAt::parse_rfc3339("2026-11-22T10:00:00.000Z").unwrap();
        assert_eq!(t.unix(), 1_795_341_600);
        assert!(SignedAt::parse_rfc3339("yesterday").is_err());
    }

    #[test]
    fn a_zero_window_is_not_a_window() {
        assert!(Window::new(0).is_none());
    }
}
