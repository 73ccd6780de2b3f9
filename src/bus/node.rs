//! A node's id: how nodes tell their own bus echoes apart and how presence
//! says where a user is connected.

use rand::Rng;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NodeId(String);

impl NodeId {
    pub const MAX_LEN: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let ok = |c: char| c.is_ascii_alphanumeric() || "-_.".contains(c);
        if raw.is_empty() || raw.len() > Self::MAX_LEN {
            return Err(format!("must be 1 to {} characters", Self::MAX_LEN));
        }
        if !raw.chars().all(ok) {
            return Err("may contain only letters, digits and - _ .".into());
        }
        Ok(Self(raw.to_string()))
    }

    /// The hostname plus a short random suffix: two processes on one host
    /// (or a restarted one) never share an id.
    pub fn generate() -> Self {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_default();
        let host: String = host
            .trim()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
            .take(Self::MAX_LEN - 7)
            .collect();
        let host = if host.is_empty() {
            "herald".into()
        } else {
            host
        };
        let suffix: u32 = rand::rng().random_range(0..0x100_0000);
        Self(format!("{host}-{suffix:06x}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_id_is_a_valid_one() {
        let id = NodeId::generate();
        assert_eq!(NodeId::parse(id.as_str()), Ok(id));
    }

    #[test]
    fn ids_with_separators_of_the_wire_format_are_refused() {
        assert!(NodeId::parse("a|b").is_err());
        assert!(NodeId::parse("").is_err());
        assert!(NodeId::parse(&"x".repeat(65)).is_err());
    }
}
