//! Contact and locale fields of a user profile.

use super::DomainError;
use std::str::FromStr;

fn invalid(field: &'static str, reason: impl Into<String>) -> DomainError {
    DomainError::InvalidField {
        field,
        reason: reason.into(),
    }
}

/// An email address: one `@`, a dotted domain, no spaces, at most 254 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let raw = raw.trim();
        let ok = raw.len() <= 254
            && !raw
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
            && matches!(raw.split_once('@'), Some((local, domain))
                if !local.is_empty() && domain.contains('.') && !domain.contains('@')
                   && !domain.starts_with('.') && !domain.ends_with('.'));
        if !ok {
            return Err(invalid("email", format!("'{raw}' is not an email address")));
        }
        Ok(Self(raw.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number in E.164: `+` then 8 to 15 digits, the first not 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let digits = raw.strip_prefix('+').unwrap_or("");
        let ok = (8..=15).contains(&digits.len())
            && digits.chars().all(|c| c.is_ascii_digit())
            && !digits.starts_with('0');
        if !ok {
            return Err(invalid(
                "phone",
                format!("'{raw}' is not an E.164 number like +14155550123"),
            ));
        }
        Ok(Self(raw.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A BCP 47 language tag such as `en`, `fr-CA` or `zh-Hant-TW`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Locale(String);

impl Locale {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let mut parts = raw.split(['-', '_']);
        let lang_ok = parts.next().is_some_and(|l| {
            (2..=3).contains(&l.len()) && l.chars().all(|c| c.is_ascii_alphabetic())
        });
        let rest_ok = parts
            .all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
        if !lang_ok || !rest_ok || raw.len() > 35 {
            return Err(invalid(
                "locale",
                format!("'{raw}' is not a language tag like en or fr-CA"),
            ));
        }
        Ok(Self(raw.replace('_', "-")))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An IANA time zone name such as `Europe/Paris`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeZone(chrono_tz::Tz);

impl TimeZone {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        chrono_tz::Tz::from_str(raw)
            .map(Self)
            .map_err(|_| invalid("timezone", format!("'{raw}' is not an IANA time zone")))
    }
    pub fn as_str(&self) -> &'static str {
        self.0.name()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_fields_parse_real_values_and_refuse_junk() {
        assert!(Email::parse("customer@example.com").is_ok());
        assert!(Email::parse("nope").is_err());
        assert!(Email::parse("a@b").is_err());
        assert!(PhoneNumber::parse("+14155550123").is_ok());
        assert!(PhoneNumber::parse("4155550123").is_err());
        assert!(Locale::parse("fr-CA").is_ok());
        assert!(Locale::parse("english please").is_err());
        assert!(TimeZone::parse("Europe/Paris").is_ok());
        assert!(TimeZone::parse("Paris").is_err());
    }
}
