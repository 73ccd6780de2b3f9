//! Which Redis channel carries a user's frames.
//!
//! - `sharded`: a fixed set of channels, `{prefix}:bus:{n}`, that every node
//!   subscribes to at start; each node drops frames for users it does not hold.
//! - `per_user`: one channel per user, `{prefix}:user:{id}`, subscribed on a
//!   node's first local session of that user and unsubscribed on its last.

use serde::Deserialize;

/// `HERALD_BUS_LAYOUT`.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LayoutKind {
    #[default]
    Sharded,
    PerUser,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    Sharded { shards: u16 },
    PerUser,
}

impl Layout {
    pub fn new(kind: LayoutKind, shards: u16) -> Self {
        match kind {
            LayoutKind::Sharded => Self::Sharded {
                shards: shards.max(1),
            },
            LayoutKind::PerUser => Self::PerUser,
        }
    }

    /// The channel a frame for `user_id` is published on.
    pub fn channel(&self, prefix: &str, user_id: &str) -> String {
        match *self {
            Self::Sharded { shards } => {
                format!("{prefix}:bus:{}", shard_of(user_id, shards))
            }
            Self::PerUser => format!("{prefix}:user:{user_id}"),
        }
    }

    /// Channels a node subscribes to whatever users it holds.
    pub fn fixed_channels(&self, prefix: &str) -> Vec<String> {
        match *self {
            Self::Sharded { shards } => (0..shards).map(|n| format!("{prefix}:bus:{n}")).collect(),
            Self::PerUser => vec![],
        }
    }

    /// Whether a node follows its local users one channel each.
    pub fn per_user(&self) -> bool {
        matches!(self, Self::PerUser)
    }
}

/// FNV-1a: every node, whatever its build, must pick the same shard for a
/// user, which `std`'s hasher does not promise across Rust versions.
pub fn shard_of(user_id: &str, shards: u16) -> u16 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in user_id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h % u64::from(shards.max(1))) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_always_maps_to_the_same_shard_channel() {
        let l = Layout::new(LayoutKind::Sharded, 16);
        assert_eq!(l.channel("herald", "alice"), l.channel("herald", "alice"));
        // Pinned: a change here would split a cluster running mixed versions.
        assert_eq!(shard_of("alice", 16), 7);
        assert_eq!(shard_of("", 16), (0xcbf2_9ce4_8422_2325u64 % 16) as u16);
    }

    #[test]
    fn users_spread_over_every_shard() {
        let mut seen = [0u32; 16];
        for i in 0..1600 {
            seen[shard_of(&format!("user-{i}"), 16) as usize] += 1;
        }
        assert!(seen.iter().all(|&n| (50..=150).contains(&n)), "{seen:?}");
    }

    #[test]
    fn sharded_nodes_subscribe_to_every_shard_and_per_user_nodes_to_none_up_front() {
        let sharded = Layout::new(LayoutKind::Sharded, 4);
        assert_eq!(
            sharded.fixed_channels("p"),
            vec!["p:bus:0", "p:bus:1", "p:bus:2", "p:bus:3"]
        );
        assert!(Layout::new(LayoutKind::PerUser, 4)
            .fixed_channels("p")
            .is_empty());
        assert_eq!(Layout::PerUser.channel("p", "bob"), "p:user:bob");
    }

    #[test]
    fn zero_shards_is_treated_as_one() {
        assert_eq!(
            Layout::new(LayoutKind::Sharded, 0),
            Layout::Sharded { shards: 1 }
        );
    }
}
