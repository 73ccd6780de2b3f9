//! When a send goes out and where a scheduled send is in its life: the pure
//! parts, parsed once at the edge and unit-tested here.

use crate::domain::Span;
use chrono::{DateTime, Utc};

/// Why a `send_at` / `delay` pair was refused (a 422).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimingError {
    #[error("give send_at or delay, not both")]
    Both,
    #[error("send_at '{0}' is not an RFC 3339 time (for example 2026-12-24T18:00:00Z)")]
    BadTime(String),
    #[error("delay: {0}")]
    BadDelay(String),
    #[error("the send is due more than {0} days from now (HERALD_SCHEDULE__MAX_DAYS)")]
    TooFar(u32),
}

/// When a send goes out: now, or at a due time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendTiming {
    Now,
    At(DateTime<Utc>),
}

impl SendTiming {
    /// Reads `send_at` (RFC 3339) or `delay` (a span such as `15m`). A time
    /// that is not after `now` means now; one beyond `max_days` is refused.
    pub fn parse(
        send_at: Option<&str>,
        delay: Option<&str>,
        now: DateTime<Utc>,
        max_days: u32,
    ) -> Result<Self, TimingError> {
        let due = match (send_at, delay) {
            (Some(_), Some(_)) => return Err(TimingError::Both),
            (None, None) => return Ok(Self::Now),
            (Some(raw), None) => DateTime::parse_from_rfc3339(raw.trim())
                .map_err(|_| TimingError::BadTime(raw.to_string()))?
                .with_timezone(&Utc),
            (None, Some(raw)) => {
                let span = Span::parse(raw).map_err(|e| TimingError::BadDelay(e.to_string()))?;
                now + span.to_chrono()
            }
        };
        if due > now + chrono::Duration::days(i64::from(max_days)) {
            return Err(TimingError::TooFar(max_days));
        }
        Ok(if due <= now { Self::Now } else { Self::At(due) })
    }
}

/// Where a scheduled send is. `Sending` is the leased middle step: a claimed
/// row is no longer cancellable, which is what lets a cancel that succeeded
/// promise the send never goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleStatus {
    Pending,
    Sending,
    Sent,
    Cancelled,
    /// The intent could not be sent at its time (its template was deleted, say).
    Failed,
    /// An escalation step whose notification was handled before it was due.
    Skipped,
}

impl ScheduleStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Cancelled => "cancelled",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Sending,
            Self::Sent,
            Self::Cancelled,
            Self::Failed,
            Self::Skipped,
        ]
        .into_iter()
        .find(|s| s.as_str() == raw)
    }

    /// Every allowed transition, in one place; the stored queries guard each
    /// UPDATE with the `from` status this allows.
    pub fn can_move_to(self, to: Self) -> bool {
        use ScheduleStatus::*;
        matches!(
            (self, to),
            (Pending, Sending) | (Pending, Cancelled)
            // A lease that ran out is taken over by the next claim.
            | (Sending, Sending)
            | (Sending, Sent)
            | (Sending, Failed)
            | (Sending, Skipped)
        )
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Sent | Self::Cancelled | Self::Failed | Self::Skipped
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_delay_is_due_that_long_from_now() {
        let t = SendTiming::parse(None, Some("15m"), now(), 30).unwrap();
        assert_eq!(t, SendTiming::At(now() + chrono::Duration::minutes(15)));
    }

    #[test]
    fn send_at_reads_rfc3339_with_an_offset() {
        let t = SendTiming::parse(Some("2026-12-01T14:00:00+01:00"), None, now(), 30).unwrap();
        assert_eq!(t, SendTiming::At(now() + chrono::Duration::hours(1)));
    }

    #[test]
    fn a_time_in_the_past_or_now_sends_at_once() {
        for raw in ["2026-12-01T12:00:00Z", "2020-01-01T00:00:00Z"] {
            assert_eq!(
                SendTiming::parse(Some(raw), None, now(), 30),
                Ok(SendTiming::Now)
            );
        }
        assert_eq!(
            SendTiming::parse(None, None, now(), 30),
            Ok(SendTiming::Now)
        );
    }

    #[test]
    fn both_bad_and_too_far_timings_are_refused() {
        assert_eq!(
            SendTiming::parse(Some("2026-12-02T00:00:00Z"), Some("1m"), now(), 30),
            Err(TimingError::Both)
        );
        assert!(matches!(
            SendTiming::parse(Some("tomorrow"), None, now(), 30),
            Err(TimingError::BadTime(_))
        ));
        for bad in ["15", "0m", "-1m", "1w"] {
            assert!(matches!(
                SendTiming::parse(None, Some(bad), now(), 30),
                Err(TimingError::BadDelay(_))
            ));
        }
        assert_eq!(
            SendTiming::parse(None, Some("31d"), now(), 30),
            Err(TimingError::TooFar(30))
        );
        assert!(SendTiming::parse(None, Some("30d"), now(), 30).is_ok());
    }

    #[test]
    fn only_a_pending_send_can_be_cancelled_and_final_states_stay_final() {
        use ScheduleStatus::*;
        assert!(Pending.can_move_to(Cancelled));
        assert!(!Sending.can_move_to(Cancelled));
        assert!(!Sent.can_move_to(Cancelled));
        for done in [Sent, Cancelled, Failed] {
            assert!(done.is_final());
            for to in [Pending, Sending, Sent, Cancelled, Failed] {
                assert!(!done.can_move_to(to), "{done:?} -> {to:?}");
            }
        }
        for s in [Pending, Sending, Sent, Cancelled, Failed] {
            assert_eq!(ScheduleStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(ScheduleStatus::parse("queued"), None);
    }
}
