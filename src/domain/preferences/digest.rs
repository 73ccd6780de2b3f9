//! A user's digest windows by category (`"marketing": "daily@08:00"`,
//! `"social": "1h"`), which override a rule's window for that category.

use super::quiet_hours::first_instant_at;
use crate::domain::{Category, DomainError, Span};
use chrono::{DateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::str::FromStr;

/// How long a digest bucket stays open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DigestWindow {
    /// A fixed length from the bucket's first event.
    Every(Span),
    /// Until the next time the user's wall clock reads this time.
    Daily(NaiveTime),
}

const DAILY: &str = "daily@";

impl DigestWindow {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        if let Some(at) = raw.trim().strip_prefix(DAILY) {
            return NaiveTime::parse_from_str(at, "%H:%M")
                .map(Self::Daily)
                .map_err(|_| DomainError::InvalidSpan(format!("'{raw}': daily@ needs HH:MM")));
        }
        Span::parse(raw).map(Self::Every)
    }

    /// When a bucket opened at `opened` is due. A daily time is the next one
    /// strictly after `opened` in `zone`; a time the clocks skip is the instant
    /// they land, a time read twice is its first reading.
    pub fn due(&self, opened: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
        match self {
            Self::Every(span) => opened + span.to_chrono(),
            Self::Daily(at) => {
                let today = opened.with_timezone(&zone).date_naive();
                [
                    Some(today),
                    today.succ_opt(),
                    today.succ_opt().and_then(|d| d.succ_opt()),
                ]
                .into_iter()
                .flatten()
                .map(|day| first_instant_at(zone, day.and_time(*at)))
                .find(|due| *due > opened)
                // Three local days always hold a later reading; this keeps the type total.
                .unwrap_or(opened + chrono::Duration::days(1))
            }
        }
    }
}

impl std::fmt::Display for DigestWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Every(span) => write!(f, "{span}"),
            Self::Daily(at) => write!(f, "{DAILY}{}", at.format("%H:%M")),
        }
    }
}

/// The zone digest times are read in: the profile's, else the quiet hours', else UTC.
pub fn digest_zone(profile: Option<&str>, quiet_hours_zone: Option<&str>) -> Tz {
    profile
        .or(quiet_hours_zone)
        .and_then(|z| Tz::from_str(z).ok())
        .unwrap_or(Tz::UTC)
}

/// A `digest` section of a preference patch: category -> window, `null` removes it.
pub fn parse_digest_section(
    v: &Value,
) -> Result<BTreeMap<Category, Option<DigestWindow>>, DomainError> {
    let obj = v.as_object().ok_or_else(|| DomainError::InvalidField {
        field: "digest",
        reason: "must be an object of category -> window (1h, daily@08:00)".into(),
    })?;
    obj.iter()
        .map(|(cat, w)| {
            let window = match w {
                Value::Null => None,
                Value::String(s) => Some(DigestWindow::parse(s)?),
                _ => {
                    return Err(DomainError::InvalidField {
                        field: "digest",
                        reason: format!("'{cat}' must be a window like 1h or daily@08:00"),
                    })
                }
            };
            Ok((Category::parse(cat.clone())?, window))
        })
        .collect()
}

pub fn digest_value(windows: &BTreeMap<Category, DigestWindow>) -> Value {
    Value::Object(
        windows
            .iter()
            .map(|(c, w)| (c.as_str().to_string(), Value::String(w.to_string())))
            .collect::<Map<_, _>>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    #[test]
    fn windows_read_spans_and_daily_times() {
        assert_eq!(
            DigestWindow::parse("1h").unwrap(),
            DigestWindow::Every(Span::parse("1h").unwrap())
        );
        assert_eq!(
            DigestWindow::parse("daily@08:00").unwrap().to_string(),
            "daily@08:00"
        );
        for bad in ["daily@8", "daily@25:00", "weekly", "0m", ""] {
            assert!(DigestWindow::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_daily_window_is_due_at_the_next_local_time() {
        let w = DigestWindow::parse("daily@08:00").unwrap();
        let paris: Tz = "Europe/Paris".parse().unwrap();
        // 06:00 UTC in winter is 07:00 in Paris: due at 08:00 Paris, 07:00 UTC.
        assert_eq!(w.due(utc(2026, 1, 10, 6, 0), paris), utc(2026, 1, 10, 7, 0));
        // Past 08:00 Paris: tomorrow.
        assert_eq!(w.due(utc(2026, 1, 10, 7, 0), paris), utc(2026, 1, 11, 7, 0));
        let tokyo: Tz = "Asia/Tokyo".parse().unwrap();
        // 23:30 UTC is 08:30 next morning in Tokyo: the following day's 08:00.
        assert_eq!(
            w.due(utc(2026, 1, 10, 23, 30), tokyo),
            utc(2026, 1, 11, 23, 0)
        );
        assert_eq!(
            w.due(utc(2026, 1, 10, 12, 0), Tz::UTC),
            utc(2026, 1, 11, 8, 0)
        );
    }

    #[test]
    fn a_daily_window_follows_the_clock_across_daylight_saving() {
        let w = DigestWindow::parse("daily@08:00").unwrap();
        let ny: Tz = "America/New_York".parse().unwrap();
        // 8 March 2026 the clocks spring forward: 08:00 EST the day before is
        // 13:00 UTC, 08:00 EDT that day is 12:00 UTC.
        assert_eq!(w.due(utc(2026, 3, 7, 14, 0), ny), utc(2026, 3, 8, 12, 0));
        assert_eq!(w.due(utc(2026, 3, 6, 14, 0), ny), utc(2026, 3, 7, 13, 0));
        // A time inside the spring-forward gap is due when the clocks land (03:00 EDT = 07:00 UTC).
        let gap = DigestWindow::parse("daily@02:30").unwrap();
        assert_eq!(gap.due(utc(2026, 3, 8, 5, 0), ny), utc(2026, 3, 8, 7, 0));
        // Berlin falls back on 25 October 2026: 02:30 happens twice, the first reading counts.
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(
            gap.due(utc(2026, 10, 24, 22, 0), berlin),
            utc(2026, 10, 25, 0, 30)
        );
    }

    #[test]
    fn a_due_time_is_always_later_than_the_opening_for_a_year() {
        let zones = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe"];
        for zone in zones {
            let tz: Tz = zone.parse().unwrap();
            let w = DigestWindow::parse("daily@02:30").unwrap();
            let mut now = utc(2026, 1, 1, 0, 0);
            while now < utc(2027, 1, 1, 0, 0) {
                let due = w.due(now, tz);
                assert!(
                    due > now && due - now <= chrono::Duration::hours(25),
                    "{zone} {now}"
                );
                now += chrono::Duration::minutes(37);
            }
        }
    }

    #[test]
    fn the_digest_zone_prefers_the_profile_then_quiet_hours() {
        assert_eq!(
            digest_zone(Some("Asia/Tokyo"), Some("Europe/Paris")).name(),
            "Asia/Tokyo"
        );
        assert_eq!(
            digest_zone(None, Some("Europe/Paris")).name(),
            "Europe/Paris"
        );
        assert_eq!(digest_zone(Some("Mars/Base"), None).name(), "UTC");
    }
}
