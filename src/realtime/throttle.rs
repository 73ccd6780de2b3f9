//! The per-session limit on client frames: a token bucket, plus the rule
//! that turns a client which ignores `rate_limited` into a closed socket.
//!
//! "Sustained abuse" means: [`ABUSE_REFUSALS`] frames refused within one
//! [`ABUSE_WINDOW`], the window starting at the first refusal. The first
//! refusal of each window is answered with an error frame; the rest are
//! dropped silently, so a flood cannot make the server write a flood back.

use std::time::{Duration, Instant};

/// How long refusals are counted before the count starts over.
pub const ABUSE_WINDOW: Duration = Duration::from_secs(10);
/// Refused frames within one window that close the socket with 1008.
pub const ABUSE_REFUSALS: u32 = 50;

/// What to do with one client frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Admit,
    /// Drop the frame; `notify` says whether to send the `rate_limited` error frame.
    Refuse {
        notify: bool,
    },
    /// Sustained abuse: close with 1008.
    Close,
}

#[derive(Debug)]
pub struct FrameThrottle {
    per_sec: f64,
    burst: f64,
    tokens: f64,
    refilled_at: Instant,
    window_start: Option<Instant>,
    refusals: u32,
}

impl FrameThrottle {
    /// A full bucket of `burst` frames that refills at `per_sec`.
    pub fn new(per_sec: u32, burst: u32, now: Instant) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            per_sec: f64::from(per_sec.max(1)),
            burst,
            tokens: burst,
            refilled_at: now,
            window_start: None,
            refusals: 0,
        }
    }

    pub fn admit(&mut self, now: Instant) -> Verdict {
        let elapsed = now
            .saturating_duration_since(self.refilled_at)
            .as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.burst);
        self.refilled_at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Verdict::Admit;
        }
        let window_open = self
            .window_start
            .is_some_and(|start| now.saturating_duration_since(start) < ABUSE_WINDOW);
        if !window_open {
            self.window_start = Some(now);
            self.refusals = 0;
        }
        self.refusals += 1;
        if self.refusals >= ABUSE_REFUSALS {
            Verdict::Close
        } else {
            Verdict::Refuse {
                notify: self.refusals == 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_admitted_then_the_next_frame_is_refused_with_a_notice() {
        let t0 = Instant::now();
        let mut t = FrameThrottle::new(20, 5, t0);
        for _ in 0..5 {
            assert_eq!(t.admit(t0), Verdict::Admit);
        }
        assert_eq!(t.admit(t0), Verdict::Refuse { notify: true });
        assert_eq!(t.admit(t0), Verdict::Refuse { notify: false });
    }

    #[test]
    fn tokens_come_back_at_the_configured_rate() {
        let t0 = Instant::now();
        let mut t = FrameThrottle::new(10, 1, t0);
        assert_eq!(t.admit(t0), Verdict::Admit);
        assert!(matches!(t.admit(t0), Verdict::Refuse { .. }));
        assert_eq!(t.admit(t0 + Duration::from_millis(100)), Verdict::Admit);
    }

    #[test]
    fn refusals_past_the_threshold_within_the_window_close_the_socket() {
        let t0 = Instant::now();
        let mut t = FrameThrottle::new(1, 1, t0);
        assert_eq!(t.admit(t0), Verdict::Admit);
        for _ in 1..ABUSE_REFUSALS {
            assert!(matches!(t.admit(t0), Verdict::Refuse { .. }));
        }
        assert_eq!(t.admit(t0), Verdict::Close);
    }

    #[test]
    fn refusals_spread_over_longer_than_the_window_do_not_close() {
        let t0 = Instant::now();
        // No refill, so the bucket stays empty while the clock runs.
        let mut t = FrameThrottle::new(1, 1, t0);
        t.per_sec = 0.0;
        t.tokens = 0.0;
        let step = ABUSE_WINDOW / ABUSE_REFUSALS * 2;
        for i in 0..(ABUSE_REFUSALS * 3) {
            assert_ne!(t.admit(t0 + step * i), Verdict::Close, "refusal {i}");
        }
    }
}
