//! The loop behind the batch schedulers (snoozes, digests): step, and sleep
//! only when the step did not fill its batch.

use std::future::Future;
use std::time::Duration;
use tokio::sync::watch;

/// Runs `step` until `shutdown` turns true. A step that handled `batch` items
/// is followed at once by another; otherwise the loop waits `interval`. A
/// failed step is logged under `what` and retried after the interval.
pub async fn step_until_stopped<F, Fut, E>(
    what: &'static str,
    interval: Duration,
    batch: usize,
    mut shutdown: watch::Receiver<bool>,
    mut step: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<usize, E>>,
    E: std::fmt::Display,
{
    loop {
        let full = match step().await {
            Ok(n) => n >= batch,
            Err(e) => {
                tracing::warn!(error = %e, "{what} step failed");
                false
            }
        };
        if *shutdown.borrow() {
            return;
        }
        if full {
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => return,
        }
    }
}
