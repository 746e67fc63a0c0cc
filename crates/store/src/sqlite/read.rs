//! Reading the log: the pool of reader connections (one read transaction per
//! call) and reading rows forward from a revision.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior, params};

use super::sql::{ROW_COLUMNS, open, poisoned, row_event, sql_err, text_prefix_end};
use crate::{Event, Result, Revision, StoreError};

#[derive(Debug)]
pub(crate) struct ReaderPool {
    pub(crate) path: PathBuf,
    pub(crate) busy_timeout: Duration,
    pub(crate) idle: Mutex<Vec<Connection>>,
    /// One connection for tiny reads run on the caller's thread
    /// ([`ReaderPool::read_inline`]), opened with the pool.
    pub(crate) inline: Mutex<Option<Connection>>,
}

impl ReaderPool {
    pub(crate) fn take(&self) -> Result<Connection> {
        let idle = self.idle.lock().map_err(|_| poisoned())?.pop();
        match idle {
            Some(conn) => Ok(conn),
            None => open(&self.path, self.busy_timeout, false),
        }
    }

    pub(crate) fn put(&self, conn: Connection) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < 16
        {
            idle.push(conn);
        }
    }

    /// Runs `f` (a read of a few rows through an indexed or tiny table:
    /// microseconds) on the inline connection, on the caller's thread,
    /// without a hand-off to the blocking pool. `None` when that is not
    /// possible at once: another caller holds the connection, or SQLite
    /// would have to wait for a lock (the connection never waits: its busy
    /// timeout is zero). The caller then uses [`ReaderPool::read`].
    pub(crate) fn read_inline<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T>,
    ) -> Option<Result<T>> {
        let guard = self.inline.try_lock().ok()?;
        let conn = guard.as_ref()?;
        match f(conn) {
            Err(StoreError::Unavailable(_)) => None,
            other => Some(other),
        }
    }

    /// Opens the inline connection (blocking: call off the async workers).
    pub(crate) fn open_inline(&self) -> Result<()> {
        let conn = open(&self.path, self.busy_timeout, false)?;
        conn.busy_timeout(Duration::ZERO).map_err(sql_err)?;
        *self.inline.lock().map_err(|_| poisoned())? = Some(conn);
        Ok(())
    }

    /// Runs `f` on a pooled connection inside one read transaction, so it
    /// sees a single snapshot of the log.
    pub(crate) async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let pool = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.take()?;
            let result = (|| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Deferred)
                    .map_err(sql_err)?;
                let out = f(&tx)?;
                tx.finish().map_err(sql_err)?;
                Ok(out)
            })();
            pool.put(conn);
            result
        })
        .await
        .map_err(|e| StoreError::Internal(format!("read task failed: {e}")))?
    }
}

/// Log rows after `after` (and under `prefix` when given), oldest first.
pub(crate) fn read_after(
    tx: &Connection,
    after: Revision,
    prefix: Option<&str>,
    limit: i64,
) -> Result<Vec<Event>> {
    let mut out = Vec::new();
    match prefix {
        None => {
            let sql = format!("SELECT {ROW_COLUMNS} FROM log WHERE id > ?1 ORDER BY id LIMIT ?2");
            let mut stmt = tx.prepare_cached(&sql).map_err(sql_err)?;
            for row in stmt
                .query_map(params![after, limit], row_event)
                .map_err(sql_err)?
            {
                out.push(row.map_err(sql_err)?);
            }
        }
        Some(prefix) => {
            let sql = format!(
                "SELECT {ROW_COLUMNS} FROM log WHERE id > ?1 AND name >= ?2 AND name < ?3
                 ORDER BY id LIMIT ?4"
            );
            let mut stmt = tx.prepare_cached(&sql).map_err(sql_err)?;
            let end = text_prefix_end(prefix);
            for row in stmt
                .query_map(params![after, prefix, end, limit], row_event)
                .map_err(sql_err)?
            {
                out.push(row.map_err(sql_err)?);
            }
        }
    }
    Ok(out)
}
