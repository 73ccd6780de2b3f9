//! Quiet hours: a daily window of wall-clock times in the user's zone, turned
//! into real instants night by night so clock changes neither end it early
//! nor switch it off.

use crate::domain::DomainError;
use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::Value;
use std::str::FromStr;

/// The longest run of wall-clock time a zone has ever skipped (Samoa dropped
/// 30 December 2011 whole), with room to spare.
const MAX_GAP_MINUTES: i64 = 48 * 60;

/// Hours during which non-urgent email, push and SMS are held back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuietHours {
    start: NaiveTime,
    end: NaiveTime,
    timezone: Tz,
}

impl QuietHours {
    pub fn parse(start: &str, end: &str, timezone: &str) -> Result<Self, DomainError> {
        let time = |s: &str| {
            NaiveTime::parse_from_str(s, "%H:%M")
                .map_err(|_| DomainError::InvalidQuietHours(format!("'{s}' is not HH:MM")))
        };
        let timezone = Tz::from_str(timezone).map_err(|_| {
            DomainError::InvalidQuietHours(format!("'{timezone}' is not an IANA time zone"))
        })?;
        Ok(Self {
            start: time(start)?,
            end: time(end)?,
            timezone,
        })
    }

    /// Whether `now` falls inside the window. A window whose end is before its
    /// start wraps past midnight (22:00–07:00); equal start and end is no window.
    pub fn contains(&self, now: DateTime<Utc>) -> bool {
        self.defer_until(now).is_some()
    }

    /// When `now` is inside the window, the moment it ends (in UTC), always after `now`.
    pub fn defer_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let today = now.with_timezone(&self.timezone).date_naive();
        // A window that contains `now` began today or, wrapping, yesterday.
        [today.pred_opt(), Some(today)]
            .into_iter()
            .flatten()
            .filter_map(|day| self.window_starting(day))
            .find(|(start, end)| *start <= now && now < *end)
            .map(|(_, end)| end)
    }

    /// The instants the window that opens on local `day` starts and ends.
    fn window_starting(&self, day: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        if self.start == self.end {
            return None;
        }
        let end_day = if self.start < self.end {
            day
        } else {
            day.succ_opt()?
        };
        Some((
            first_instant_at(self.timezone, day.and_time(self.start)),
            first_instant_at(self.timezone, end_day.and_time(self.end)),
        ))
    }

    pub(super) fn to_json(&self) -> Value {
        serde_json::json!({
            "start": self.start(),
            "end": self.end(),
            "timezone": self.timezone(),
        })
    }

    pub fn start(&self) -> String {
        self.start.format("%H:%M").to_string()
    }
    pub fn end(&self) -> String {
        self.end.format("%H:%M").to_string()
    }
    pub fn timezone(&self) -> &'static str {
        self.timezone.name()
    }
}

/// The first instant at which the wall clock in `tz` reads `local`. A time
/// read twice (clocks going back) means its first reading; a time never read
/// (clocks jumping forward over it) means the instant the jump lands, which is
/// the first moment the clock shows a later time.
pub(super) fn first_instant_at(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let exists = |t: NaiveDateTime| match tz.from_local_datetime(&t) {
        LocalResult::Single(x) | LocalResult::Ambiguous(x, _) => Some(x.with_timezone(&Utc)),
        LocalResult::None => None,
    };
    if let Some(at) = exists(local) {
        return at;
    }
    // Inside a gap: find the first existing minute, then the first existing
    // second before it, for the rare historical offsets that are not whole minutes.
    let landing = (1..=MAX_GAP_MINUTES)
        .map(|m| local + Duration::minutes(m))
        .find(|t| exists(*t).is_some())
        .map(|minute| {
            (1..60)
                .map(|s| minute - Duration::seconds(s))
                .take_while(|t| *t > local && exists(*t).is_some())
                .last()
                .unwrap_or(minute)
        });
    match landing.and_then(exists) {
        Some(at) => at,
        // No zone skips this much; if one did, reading the time with the
        // zone's offset at that moment keeps quiet hours on rather than off.
        None => {
            let offset = chrono::Offset::fix(&tz.offset_from_utc_datetime(&local));
            Utc.from_utc_datetime(&(local - Duration::seconds(i64::from(offset.local_minus_utc()))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    #[test]
    fn quiet_hours_wrap_past_midnight_in_the_users_zone() {
        let q = QuietHours::parse("22:00", "07:00", "Europe/Paris").unwrap();
        // 21:30 UTC in winter is 22:30 in Paris.
        assert!(q.contains(utc(2026, 1, 10, 21, 30)));
        assert!(!q.contains(utc(2026, 1, 10, 12, 0)));
        assert_eq!(
            q.defer_until(utc(2026, 1, 10, 21, 30)),
            Some(utc(2026, 1, 11, 6, 0))
        );
    }

    #[test]
    fn an_end_inside_the_spring_forward_gap_holds_until_the_clocks_land() {
        // Berlin, 29 March 2026: 02:00 CET (01:00 UTC) becomes 03:00 CEST; 02:30 never happens.
        let q = QuietHours::parse("22:00", "02:30", "Europe/Berlin").unwrap();
        let landing = utc(2026, 3, 29, 1, 0);
        // 23:00 CET the evening before, and 01:30 CET just before the jump.
        assert_eq!(q.defer_until(utc(2026, 3, 28, 22, 0)), Some(landing));
        assert_eq!(q.defer_until(utc(2026, 3, 29, 0, 30)), Some(landing));
        assert!(q.contains(utc(2026, 3, 29, 0, 59)));
        // 03:00 CEST: the first instant after the gap ends the window.
        assert!(!q.contains(landing));
    }

    #[test]
    fn a_start_inside_the_gap_opens_the_window_when_the_clocks_land() {
        // New York, 8 March 2026: 02:00 EST (07:00 UTC) becomes 03:00 EDT.
        let q = QuietHours::parse("02:15", "06:00", "America/New_York").unwrap();
        assert!(!q.contains(utc(2026, 3, 8, 6, 59)));
        assert_eq!(
            q.defer_until(utc(2026, 3, 8, 7, 0)),
            Some(utc(2026, 3, 8, 10, 0))
        );
    }

    #[test]
    fn an_end_inside_the_fall_back_overlap_ends_at_its_first_reading() {
        // Berlin, 25 October 2026: 03:00 CEST (01:00 UTC) becomes 02:00 CET; 02:30 happens twice.
        let q = QuietHours::parse("22:00", "02:30", "Europe/Berlin").unwrap();
        let first_reading = utc(2026, 10, 25, 0, 30);
        assert_eq!(q.defer_until(utc(2026, 10, 24, 21, 0)), Some(first_reading));
        assert!(!q.contains(first_reading));
        // 02:15 CET, the second pass through the repeated hour: the night's
        // window is over and does not reopen with a deferral into the past.
        assert_eq!(q.defer_until(utc(2026, 10, 25, 1, 15)), None);
    }

    #[test]
    fn a_deferral_is_always_later_than_now_across_a_whole_year_of_clock_changes() {
        for zone in ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe"] {
            for (start, end) in [("22:00", "02:30"), ("01:30", "02:30"), ("02:30", "01:00")] {
                let q = QuietHours::parse(start, end, zone).unwrap();
                let mut now = utc(2026, 1, 1, 0, 0);
                while now < utc(2027, 1, 1, 0, 0) {
                    if let Some(until) = q.defer_until(now) {
                        assert!(until > now, "{zone} {start}-{end} at {now}: {until}");
                        assert!(until - now <= Duration::hours(25), "{zone} at {now}");
                    }
                    now += Duration::minutes(15);
                }
            }
        }
    }
}
