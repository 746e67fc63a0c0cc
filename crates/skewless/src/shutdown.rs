//! Waiting for the signal that asks a long-running command (`serve`,
//! `metrics-server`) to stop: SIGTERM or SIGINT.

/// Returns once SIGTERM or SIGINT arrives.
pub async fn terminated() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
