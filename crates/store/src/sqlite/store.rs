//! The [`SqliteStore`] handle and its [`Store`](crate::Store) implementation:
//! reads run on pooled connections, writes go to the writer thread, watches to
//! the feed.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use tokio::sync::{Notify, broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;

use super::read::ReaderPool;
use super::sql::{
    FEED_BACKLOG, ROW_COLUMNS, SCHEMA, check_key, check_revision, compacted_revision_tx,
    current_revision_tx, expiry, open, row_event, sql_err, text_prefix_end,
};
use super::ttl::ttl_sweeper;
use super::watch::{feed_loop, watch_loop};
use super::writer::{WriteOp, writer_loop};
use crate::{
    Event, KeyValue, ListOptions, ListResult, Result, Revision, Store, StoreError, WATCH_QUEUE,
    Watch, WriteOptions,
};

/// How the embedded engine behaves; the defaults suit an API server.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// The database file; created when missing.
    pub path: PathBuf,
    /// How often to look for writes made by other processes.
    pub poll_interval: Duration,
    /// How often to delete keys whose time-to-live has passed.
    pub ttl_sweep_interval: Duration,
    /// fsync the WAL on every commit (`synchronous=FULL`). With `false`
    /// (`NORMAL`) an acknowledged write still survives a crash of the
    /// process, but not of the machine.
    pub fsync_each_commit: bool,
    /// How long a writer waits for another process's write lock.
    pub busy_timeout: Duration,
    /// Revisions removed per compaction transaction: bounds how long one
    /// compaction step holds the write lock.
    pub compact_batch: i64,
}

impl SqliteOptions {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            poll_interval: Duration::from_millis(20),
            ttl_sweep_interval: Duration::from_millis(250),
            fsync_each_commit: true,
            busy_timeout: Duration::from_secs(30),
            compact_batch: 1000,
        }
    }
}

/// The embedded SQLite engine. Cheap to clone; background work stops when
/// the last clone is dropped.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    writes: mpsc::UnboundedSender<WriteOp>,
    readers: Arc<ReaderPool>,
    feed: broadcast::Sender<Arc<[Event]>>,
    compact_batch: i64,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl SqliteStore {
    /// Opens (creating when needed) the database and starts the writer
    /// thread, the watch feed and the time-to-live sweeper. Must be called
    /// inside a tokio runtime.
    pub async fn open(opts: SqliteOptions) -> Result<Self> {
        if let Some(dir) = opts.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Unavailable(format!("creating {}: {e}", dir.display())))?;
        }
        let path = opts.path.clone();
        let busy = opts.busy_timeout;
        let fsync = opts.fsync_each_commit;
        let writer_conn = tokio::task::spawn_blocking(move || -> Result<Connection> {
            let mut conn = open(&path, busy, true)?;
            conn.pragma_update(None, "synchronous", if fsync { "FULL" } else { "NORMAL" })
                .map_err(sql_err)?;
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_err)?;
            tx.execute_batch(SCHEMA).map_err(sql_err)?;
            tx.commit().map_err(sql_err)?;
            Ok(conn)
        })
        .await
        .map_err(|e| StoreError::Internal(format!("open task failed: {e}")))??;

        let readers = Arc::new(ReaderPool {
            path: opts.path.clone(),
            busy_timeout: opts.busy_timeout,
            idle: Mutex::new(Vec::new()),
            inline: Mutex::new(None),
        });
        let start = {
            let pool = Arc::clone(&readers);
            readers
                .read(move |tx| {
                    pool.open_inline()?;
                    current_revision_tx(tx)
                })
                .await?
        };

        let committed = Arc::new(Notify::new());
        let (writes, write_rx) = mpsc::unbounded_channel();
        let writer_committed = Arc::clone(&committed);
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer_loop(writer_conn, write_rx, &writer_committed))
            .map_err(|e| StoreError::Internal(format!("spawning writer: {e}")))?;

        let (feed, _) = broadcast::channel(FEED_BACKLOG);
        let feed_task = tokio::spawn(feed_loop(
            Arc::clone(&readers),
            feed.clone(),
            committed,
            opts.poll_interval,
            start,
        ));
        let sweeper = tokio::spawn(ttl_sweeper(
            Arc::clone(&readers),
            writes.clone(),
            opts.ttl_sweep_interval,
        ));
        Ok(Self {
            inner: Arc::new(Inner {
                writes,
                readers,
                feed,
                compact_batch: opts.compact_batch.max(1),
                tasks: vec![feed_task, sweeper],
            }),
        })
    }

    async fn submit<T>(&self, op: WriteOp, rx: oneshot::Receiver<Result<T>>) -> Result<T> {
        self.inner
            .writes
            .send(op)
            .map_err(|_| StoreError::Unavailable("the writer has stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Unavailable("the writer stopped mid-write".into()))?
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        let key = key.to_owned();
        self.inner
            .readers
            .read(move |tx| {
                let sql = format!(
                    "SELECT {ROW_COLUMNS} FROM log WHERE name = ?1 ORDER BY id DESC LIMIT 1"
                );
                let event = tx
                    .prepare_cached(&sql)
                    .map_err(sql_err)?
                    .query_row(params![key], row_event)
                    .optional()
                    .map_err(sql_err)?;
                Ok(match event {
                    Some(Event::Put { kv, .. }) => Some(kv),
                    _ => None,
                })
            })
            .await
    }

    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListResult> {
        let prefix = prefix.to_owned();
        self.inner
            .readers
            .read(move |tx| {
                let current = current_revision_tx(tx)?;
                let revision = if opts.revision <= 0 {
                    current
                } else {
                    check_revision(tx, opts.revision, current)?;
                    opts.revision
                };
                let end = text_prefix_end(&prefix);
                let mut start = opts.start_after.unwrap_or_default();
                // With a limit, walk the keys in batches so the query stops
                // after enough keys instead of grouping the whole prefix;
                // keys deleted at `revision` are stepped over, and one item
                // beyond the limit tells whether more follow.
                let want = if opts.limit == 0 {
                    usize::MAX
                } else {
                    opts.limit + 1
                };
                let batch: i64 = if opts.limit == 0 {
                    -1
                } else {
                    (opts.limit as i64 + 1).max(64)
                };
                let sql = format!(
                    "SELECT {ROW_COLUMNS} FROM log WHERE id IN (
                         SELECT MAX(id) FROM log
                         WHERE name >= ?1 AND name < ?2 AND name > ?3 AND id <= ?4
                         GROUP BY name ORDER BY name LIMIT ?5)
                     ORDER BY name"
                );
                let mut stmt = tx.prepare_cached(&sql).map_err(sql_err)?;
                let mut items = Vec::new();
                loop {
                    let rows = stmt
                        .query_map(params![prefix, end, start, revision, batch], row_event)
                        .map_err(sql_err)?;
                    let mut seen: i64 = 0;
                    let mut last = None;
                    for row in rows {
                        seen += 1;
                        match row.map_err(sql_err)? {
                            Event::Put { kv, .. } => {
                                last = Some(kv.key.clone());
                                if items.len() < want {
                                    items.push(kv);
                                }
                            }
                            Event::Delete { prev, .. } => last = Some(prev.key),
                        }
                    }
                    let exhausted = batch < 0 || seen < batch;
                    match last {
                        Some(key) if !exhausted && items.len() < want => start = key,
                        _ => break,
                    }
                }
                let more = opts.limit > 0 && items.len() > opts.limit;
                items.truncate(if more { opts.limit } else { items.len() });
                Ok(ListResult {
                    items,
                    revision,
                    more,
                })
            })
            .await
    }

    async fn count(&self, prefix: &str) -> Result<i64> {
        let prefix = prefix.to_owned();
        self.inner
            .readers
            .read(move |tx| {
                let end = text_prefix_end(&prefix);
                tx.query_row(
                    "SELECT COUNT(*) FROM log WHERE id IN (
                         SELECT MAX(id) FROM log WHERE name >= ?1 AND name < ?2 GROUP BY name)
                     AND deleted = 0",
                    params![prefix, end],
                    |r| r.get(0),
                )
                .map_err(sql_err)
            })
            .await
    }

    async fn create(&self, key: &str, value: Vec<u8>, opts: WriteOptions) -> Result<KeyValue> {
        check_key(key)?;
        let (reply, rx) = oneshot::channel();
        let op = WriteOp::Create {
            key: key.to_owned(),
            value,
            expires_at: expiry(opts)?,
            reply,
        };
        self.submit(op, rx).await
    }

    async fn update(
        &self,
        key: &str,
        value: Vec<u8>,
        expected: Revision,
        opts: WriteOptions,
    ) -> Result<KeyValue> {
        check_key(key)?;
        let (reply, rx) = oneshot::channel();
        let op = WriteOp::Update {
            key: key.to_owned(),
            value,
            expected,
            expires_at: expiry(opts)?,
            reply,
        };
        self.submit(op, rx).await
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<(KeyValue, Revision)> {
        check_key(key)?;
        let (reply, rx) = oneshot::channel();
        let op = WriteOp::Delete {
            key: key.to_owned(),
            expected,
            reply,
        };
        self.submit(op, rx).await
    }

    async fn watch(&self, prefix: &str, after: Revision) -> Result<Watch> {
        // Subscribe before reading history so nothing committed in between
        // is missed; duplicates are dropped by revision.
        let live = self.inner.feed.subscribe();
        let (tx, rx) = mpsc::channel(WATCH_QUEUE);
        let readers = Arc::clone(&self.inner.readers);
        let prefix = prefix.to_owned();
        tokio::spawn(watch_loop(readers, live, prefix, after.max(0), tx));
        Ok(Watch::from_receiver(rx))
    }

    async fn current_revision(&self) -> Result<Revision> {
        // Asked before every consistent read from a watch cache: a lookup
        // of one tiny row, answered on this thread when it can be.
        if let Some(found) = self.inner.readers.read_inline(current_revision_tx) {
            return found;
        }
        self.inner.readers.read(|tx| current_revision_tx(tx)).await
    }

    async fn compacted_revision(&self) -> Result<Revision> {
        self.inner
            .readers
            .read(|tx| compacted_revision_tx(tx))
            .await
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        let current = self.current_revision().await?;
        if revision > current {
            return Err(StoreError::FutureRevision {
                requested: revision,
                current,
            });
        }
        loop {
            let (reply, rx) = oneshot::channel();
            let op = WriteOp::Compact {
                target: revision,
                batch: self.inner.compact_batch,
                reply,
            };
            if self.submit(op, rx).await? {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WriteOptions;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    // Holding the inline connection across the pool's read is the point:
    // the pool never takes it.
    #[allow(clippy::await_holding_lock)]
    async fn the_current_revision_is_read_inline_or_from_the_pool_alike() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| StoreError::Internal(e.to_string()))?;
        let store = SqliteStore::open(SqliteOptions::new(dir.path().join("state.db"))).await?;
        let other = SqliteStore::open(SqliteOptions::new(dir.path().join("state.db"))).await?;
        let kv = store
            .create("/a/one", b"{}".to_vec(), WriteOptions::default())
            .await?;
        assert_eq!(store.current_revision().await?, kv.mod_revision);
        // Another process's write (another store on the file) is seen.
        let kv = other
            .create("/a/two", b"{}".to_vec(), WriteOptions::default())
            .await?;
        assert_eq!(store.current_revision().await?, kv.mod_revision);
        // While the inline connection is held, the pool answers the same.
        let held = store
            .inner
            .readers
            .inline
            .lock()
            .map_err(|_| StoreError::Internal("poisoned".into()))?;
        assert!(
            held.is_some(),
            "the inline connection is opened with the store"
        );
        assert!(
            store
                .inner
                .readers
                .read_inline(current_revision_tx)
                .is_none()
        );
        assert_eq!(store.current_revision().await?, kv.mod_revision);
        drop(held);
        assert_eq!(
            store
                .inner
                .readers
                .read_inline(current_revision_tx)
                .transpose()?,
            Some(kv.mod_revision)
        );
        Ok(())
    }
}
