//! A length of time written the way rules and requests write it: `"90s"`,
//! `"15m"`, `"2h"`, `"1d"`. Delays, digest windows, throttle windows and
//! escalation steps all share this one parser.

use super::DomainError;
use std::fmt;

/// A positive whole number of seconds, parsed from `<n><unit>` with unit
/// `s`, `m`, `h` or `d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span(u64);

/// The longest span accepted anywhere (a year); callers may cap it lower.
pub const MAX_SPAN_SECS: u64 = 366 * 24 * 3600;

impl Span {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let bad = |why: &str| DomainError::InvalidSpan(format!("'{raw}' {why}"));
        let raw_trimmed = raw.trim();
        let split = raw_trimmed
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(|| bad("needs a unit: s, m, h or d (for example 15m)"))?;
        let (digits, unit) = raw_trimmed.split_at(split);
        let n: u64 = digits
            .parse()
            .map_err(|_| bad("must start with a whole number (for example 15m)"))?;
        let per = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return Err(bad("has an unknown unit; use s, m, h or d")),
        };
        let secs = n.checked_mul(per).ok_or_else(|| bad("is too long"))?;
        if secs == 0 {
            return Err(bad("must be longer than zero"));
        }
        if secs > MAX_SPAN_SECS {
            return Err(bad("is longer than a year"));
        }
        Ok(Self(secs))
    }

    pub fn from_secs(secs: u64) -> Option<Self> {
        (secs > 0 && secs <= MAX_SPAN_SECS).then_some(Self(secs))
    }

    pub fn as_secs(self) -> u64 {
        self.0
    }

    pub fn to_chrono(self) -> chrono::Duration {
        // At most a year of seconds, which always fits.
        chrono::Duration::seconds(self.0 as i64)
    }

    pub fn to_std(self) -> std::time::Duration {
        std::time::Duration::from_secs(self.0)
    }
}

/// Prints the largest unit that divides the span exactly, so `parse` reads it back.
impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        match () {
            _ if s % 86_400 == 0 => write!(f, "{}d", s / 86_400),
            _ if s % 3600 == 0 => write!(f, "{}h", s / 3600),
            _ if s % 60 == 0 => write!(f, "{}m", s / 60),
            _ => write!(f, "{s}s"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_each_unit() {
        assert_eq!(Span::parse("90s").unwrap().as_secs(), 90);
        assert_eq!(Span::parse("15m").unwrap().as_secs(), 900);
        assert_eq!(Span::parse("2h").unwrap().as_secs(), 7200);
        assert_eq!(Span::parse("1d").unwrap().as_secs(), 86_400);
    }

    #[test]
    fn spans_refuse_zero_missing_units_and_overflow() {
        for bad in ["", "0m", "15", "m", "15x", "-5m", "1.5h", "400d", "99999999999999999999d"] {
            assert!(Span::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn a_span_prints_in_its_largest_exact_unit() {
        for raw in ["90s", "15m", "2h", "3d"] {
            assert_eq!(Span::parse(raw).unwrap().to_string(), raw);
        }
        assert_eq!(Span::parse("120m").unwrap().to_string(), "2h");
    }
}
