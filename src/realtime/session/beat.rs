//! When a session's next ping is due. Every session pings on one shared grid
//! (steps of [`HEARTBEAT_GRID`] since the node's epoch), so the sessions due
//! within one step are pinged in one wake-up of their worker, and their pongs
//! come back together. Each session still has its own random phase on the
//! grid, so 10k sessions that connected together do not ping together.
//! Measured: with a timer per session at its own instant, 10k idle sessions
//! woke the worker ~2,000 times a second and most of the heartbeat's CPU was
//! context switching (BENCHMARKS.md).

use std::time::Duration;

/// The grid pings are aligned to. Coarse enough to group wake-ups, fine
/// enough that a step's pings (10k sessions ÷ 10 s × 50 ms = 50) make no burst.
pub const HEARTBEAT_GRID: Duration = Duration::from_millis(50);

/// The delay from `since_epoch` to the first grid point at or after
/// `since_epoch + wait`.
pub fn until_grid(since_epoch: Duration, wait: Duration) -> Duration {
    let grid = HEARTBEAT_GRID.as_nanos();
    let target = (since_epoch + wait).as_nanos();
    let aligned = target.div_ceil(grid) * grid;
    Duration::from_nanos((aligned - since_epoch.as_nanos()) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_ping_is_moved_to_the_next_grid_point() {
        assert_eq!(until_grid(ms(10), ms(0)), ms(40));
        assert_eq!(until_grid(ms(10), ms(1000)), ms(1040));
        assert_eq!(until_grid(ms(50), ms(0)), ms(0));
    }

    #[test]
    fn sessions_started_at_different_moments_meet_on_the_same_grid_point() {
        let a = ms(3) + until_grid(ms(3), ms(10_000));
        let b = ms(17) + until_grid(ms(17), ms(9_990));
        assert_eq!(a, b);
        assert_eq!(a.as_millis() % HEARTBEAT_GRID.as_millis(), 0);
    }

    #[test]
    fn a_beat_never_comes_early() {
        for start in 0..100 {
            let d = until_grid(ms(start), ms(10_000));
            assert!(d >= ms(10_000) && d < ms(10_000) + HEARTBEAT_GRID);
        }
    }
}
