//! Which Redis channel carries a user's frames: one of a fixed set,
//! `{prefix}:bus:{n}`, that every node subscribes to at start; each node
//! drops frames for users it does not hold. (One channel per user, subscribed
//! on a node's first local session, was measured against this and removed:
//! see BENCHMARKS.md, "Several nodes".)

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    shards: u16,
}

impl Layout {
    pub fn new(shards: u16) -> Self {
        Self {
            shards: shards.max(1),
        }
    }

    /// The channel a frame for `user_id` is published on.
    pub fn channel(&self, prefix: &str, user_id: &str) -> String {
        format!("{prefix}:bus:{}", shard_of(user_id, self.shards))
    }

    /// Every channel, all of which each node subscribes to.
    pub fn channels(&self, prefix: &str) -> Vec<String> {
        (0..self.shards)
            .map(|n| format!("{prefix}:bus:{n}"))
            .collect()
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
        let l = Layout::new(16);
        assert_eq!(l.channel("herald", "alice"), "herald:bus:7");
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
    fn a_node_subscribes_to_every_shard() {
        assert_eq!(
            Layout::new(4).channels("p"),
            vec!["p:bus:0", "p:bus:1", "p:bus:2", "p:bus:3"]
        );
    }

    #[test]
    fn zero_shards_is_treated_as_one() {
        assert_eq!(Layout::new(0).channels("p"), vec!["p:bus:0"]);
    }
}
