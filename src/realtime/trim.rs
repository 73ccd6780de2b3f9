//! Gives freed memory back to the OS after waves of connections close.
//! glibc keeps freed heap pages; measured here, RSS stayed at 139 MiB after
//! 10k clients left until `malloc_trim(0)` ran. Trimming every tick would
//! cost CPU, so it only runs when the session count moved a lot.

use super::Hub;
use std::time::Duration;

/// How often the session count is looked at.
pub const TRIM_CHECK_INTERVAL: Duration = Duration::from_secs(5);
/// Sessions opened or closed since the last trim that justify another one.
pub const TRIM_AFTER_CHANGE: usize = 500;

pub struct MemoryTrimmer {
    hub: Hub,
    last_sessions: usize,
}

impl MemoryTrimmer {
    pub fn new(hub: Hub) -> Self {
        Self {
            hub,
            last_sessions: 0,
        }
    }

    /// One check; returns whether it trimmed.
    pub async fn step(&mut self) -> bool {
        let now = self.hub.stats().await.sessions;
        if now.abs_diff(self.last_sessions) < TRIM_AFTER_CHANGE {
            return false;
        }
        self.last_sessions = now;
        trim();
        true
    }

    pub async fn run(mut self) {
        let mut tick = tokio::time::interval(TRIM_CHECK_INTERVAL);
        loop {
            tick.tick().await;
            self.step().await;
        }
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim only walks glibc's own free lists; it takes no pointers from us.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}
