use super::DomainError;
use std::fmt;

/// The platform's own id for a user. 1–128 characters from a URL-safe set,
/// so it can sit in a path segment, a log line or a Redis key unescaped.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(String);

impl UserId {
    pub const MAX_LEN: usize = 128;

    pub fn parse(raw: impl Into<String>) -> Result<Self, DomainError> {
        let raw = raw.into();
        let ok_char = |c: char| c.is_ascii_alphanumeric() || "-_.:@+|=".contains(c);
        if raw.is_empty() || raw.len() > Self::MAX_LEN {
            return Err(DomainError::InvalidUserId(format!(
                "must be 1 to {} characters",
                Self::MAX_LEN
            )));
        }
        if !raw.chars().all(ok_char) {
            return Err(DomainError::InvalidUserId(
                "may contain only letters, digits and - _ . : @ + | =".into(),
            ));
        }
        // `.` and `..` are path traversal once the id sits in a URL or a file name.
        if raw.chars().all(|c| c == '.') {
            return Err(DomainError::InvalidUserId(
                "may not be made of dots only".into(),
            ));
        }
        Ok(Self(raw))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A notification's id (UUID v7: time-ordered).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NotificationId(uuid::Uuid);

impl NotificationId {
    pub fn new() -> Self {
        Self(uuid::Uuid::now_v7())
    }

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        uuid::Uuid::parse_str(raw)
            .map(Self)
            .map_err(|_| DomainError::InvalidNotificationId(format!("'{raw}' is not a UUID")))
    }

    pub fn from_uuid(id: uuid::Uuid) -> Self {
        Self(id)
    }

    pub fn as_uuid(&self) -> uuid::Uuid {
        self.0
    }
}

impl Default for NotificationId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for NotificationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_accept_platform_shapes() {
        for ok in [
            "user_123",
            "5f0c3a1e-9f7b-4a57-8a55-0e4b2c1d2e3f",
            "a@b.c",
            "auth0|42",
            "a.b",
            ".hidden",
        ] {
            assert!(UserId::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn user_ids_refuse_empty_long_and_path_characters() {
        for bad in [
            "",
            "a/b",
            "a b",
            "ü",
            ".",
            "..",
            "...",
            "a\u{0}",
            &"x".repeat(129),
        ] {
            assert!(UserId::parse(bad).is_err(), "{bad}");
        }
    }
}
