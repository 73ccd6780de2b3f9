//! Waiting for the signal that starts the drain. actix-web's own handling is
//! turned off (it stops at once on SIGINT and knows nothing of the drain).

/// Resolves on the first SIGTERM or SIGINT, with the signal's name. If the
/// handlers cannot be installed the node would never drain, so it says so and
/// waits for Ctrl-C alone.
pub async fn terminated() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                return tokio::select! {
                    _ = term.recv() => "SIGTERM",
                    _ = int.recv() => "SIGINT",
                };
            }
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM; only Ctrl-C starts a drain");
            }
        }
    }
    match tokio::signal::ctrl_c().await {
        Ok(()) => "SIGINT",
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for signals; this node will not drain");
            std::future::pending().await
        }
    }
}
