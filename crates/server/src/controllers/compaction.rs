//! History compaction, as kube-apiserver drives it for etcd
//! (`--etcd-compaction-interval`, default 5 minutes): at every tick, compact
//! up to the revision that was current at the previous tick. A client can
//! therefore resume a watch or continue a list from any revision younger
//! than one interval; older ones get `410 Expired`.
//!
//! Every server may run it: compacting to a revision already compacted is a
//! no-op, so servers sharing one storage need no coordination.

use std::sync::Arc;
use std::time::Duration;

use crate::state::State;

/// Runs until shutdown; `interval` of zero disables compaction.
pub(crate) async fn run(api: Arc<State>, interval: Duration) {
    if interval.is_zero() {
        return;
    }
    let mut shutdown = api.shutdown.subscribe();
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut previous = None;
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tick.tick() => {}
        }
        let current = match api.store.current_revision().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "compaction: reading the current revision failed");
                continue;
            }
        };
        if let Some(target) = previous.filter(|t| *t > 0) {
            match api.store.compact(target).await {
                Ok(()) => tracing::debug!(revision = target, "compacted"),
                Err(e) => tracing::warn!(error = %e, revision = target, "compaction failed"),
            }
        }
        previous = Some(current);
    }
}
