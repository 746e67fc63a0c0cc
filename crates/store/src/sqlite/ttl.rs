//! Time-to-live: the sweeper that deletes expired keys through the writer.

use std::sync::Arc;
use std::time::Duration;

use rusqlite::params;
use tokio::sync::{mpsc, oneshot};

use super::read::ReaderPool;
use super::sql::{now_millis, sql_err};
use super::writer::WriteOp;

// ---------------------------------------------------------------------------
// Time-to-live.

pub(crate) async fn ttl_sweeper(
    readers: Arc<ReaderPool>,
    writes: mpsc::UnboundedSender<WriteOp>,
    interval: Duration,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = now_millis();
        let expired = readers
            .read(move |tx| {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT l.name, l.id FROM log l
                         WHERE l.expires_at > 0 AND l.expires_at <= ?1 AND l.deleted = 0
                         AND NOT EXISTS (SELECT 1 FROM log n WHERE n.name = l.name AND n.id > l.id)",
                    )
                    .map_err(sql_err)?;
                let rows = stmt
                    .query_map(params![now], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))
                    .map_err(sql_err)?;
                rows.collect::<rusqlite::Result<Vec<(String, i64)>>>()
                    .map_err(sql_err)
            })
            .await;
        let expired = match expired {
            Ok(expired) => expired,
            Err(e) => {
                tracing::warn!(error = %e, "sqlite ttl sweep failed");
                continue;
            }
        };
        for (key, revision) in expired {
            // Guarded by revision: a refresh that raced the sweep wins, and
            // so does another process sweeping the same key.
            let (reply, _ignored) = oneshot::channel();
            if writes
                .send(WriteOp::Delete {
                    key,
                    expected: Some(revision),
                    reply,
                })
                .is_err()
            {
                return;
            }
        }
    }
}
