//! Compaction: removing history up to a revision in bounded steps.

use rusqlite::{Connection, TransactionBehavior, params};

use super::sql::{compacted_revision_tx, sql_err};
use crate::{Result, Revision};

/// Removes history up to `target` in one bounded step: rows replaced by a
/// newer row at or below `target`, and delete markers at or below it.
/// Returns whether `target` has been reached.
pub(crate) fn compact_step(conn: &mut Connection, target: Revision, batch: i64) -> Result<bool> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql_err)?;
    let from = compacted_revision_tx(&tx)?;
    if from >= target {
        return Ok(true);
    }
    let to = target.min(from + batch);
    tx.execute(
        "DELETE FROM log WHERE id IN (
             SELECT prev_revision FROM log WHERE id > ?1 AND id <= ?2 AND prev_revision > 0)",
        params![from, to],
    )
    .map_err(sql_err)?;
    tx.execute(
        "DELETE FROM log WHERE id > ?1 AND id <= ?2 AND deleted = 1",
        params![from, to],
    )
    .map_err(sql_err)?;
    tx.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'compact_revision'",
        params![to],
    )
    .map_err(sql_err)?;
    tx.commit().map_err(sql_err)?;
    let done = to >= target;
    if done {
        // Fold the WAL back into the database so the files stay bounded.
        let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    }
    Ok(done)
}
