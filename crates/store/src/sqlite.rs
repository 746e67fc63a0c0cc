//! The embedded engine: an append-only revision log in one SQLite file.
//!
//! Every write appends a row whose `id` is the new revision (the kine
//! layout): creates, updates and deletes are rows; `prev_revision` links a
//! row to the one it replaced; a delete is a row with `deleted = 1`. Reads at
//! a revision take, per key, the newest row at or below it.
//!
//! Several processes may share one file. Each process has one writer thread
//! that batches concurrent writes into a single `BEGIN IMMEDIATE`
//! transaction (group commit: one fsync acknowledges the whole batch), so all
//! writers of all processes are serialised by SQLite's write lock. Because an
//! id is assigned and committed under that one lock, ids become visible in
//! order: a reader never sees revision N+1 without N. Rows removed by
//! compaction leave holes, which readers simply step over.
//!
//! Watches are fed by one feed task per process that reads the log forward
//! from the last revision it delivered. The writer wakes it right after each
//! commit (no polling delay in-process); a short poll of the revision
//! counter picks up commits of other processes. The feed broadcasts
//! batches to the watch tasks; a watch that falls behind re-reads the log
//! from where it was instead of being dropped.
//!
//! This module must never hold the write lock across an await point or for
//! longer than one bounded batch (writes or compaction).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use tokio::sync::{Notify, broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::{
    Event, KeyValue, ListOptions, ListResult, Result, Revision, Store, StoreError, WATCH_QUEUE,
    Watch, WriteOptions, prefix_end,
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

/// Writes waiting for the writer thread at most; more wait on the channel.
const MAX_BATCH: usize = 512;
/// Log rows read per query by the feed and by catching-up watches.
const READ_PAGE: i64 = 1000;
/// Batches the feed keeps for watches that are briefly behind.
const FEED_BACKLOG: usize = 1024;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    created INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    create_revision INTEGER NOT NULL,
    prev_revision INTEGER NOT NULL,
    expires_at INTEGER NOT NULL DEFAULT 0,
    value BLOB NOT NULL,
    old_value BLOB
);
CREATE INDEX IF NOT EXISTS log_name_id ON log (name, id);
CREATE UNIQUE INDEX IF NOT EXISTS log_name_prev ON log (name, prev_revision);
CREATE INDEX IF NOT EXISTS log_expiring ON log (expires_at) WHERE expires_at > 0;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('compact_revision', 0);
";

/// The columns every log read selects, in the order [`row_event`] expects.
const ROW_COLUMNS: &str = "id, name, created, deleted, \
     CASE WHEN created = 1 THEN id ELSE create_revision END, prev_revision, value, old_value";

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

#[derive(Debug)]
struct ReaderPool {
    path: PathBuf,
    busy_timeout: Duration,
    idle: Mutex<Vec<Connection>>,
}

impl ReaderPool {
    fn take(&self) -> Result<Connection> {
        let idle = self.idle.lock().map_err(|_| poisoned())?.pop();
        match idle {
            Some(conn) => Ok(conn),
            None => open(&self.path, self.busy_timeout, false),
        }
    }

    fn put(&self, conn: Connection) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < 16
        {
            idle.push(conn);
        }
    }

    /// Runs `f` on a pooled connection inside one read transaction, so it
    /// sees a single snapshot of the log.
    async fn read<T: Send + 'static>(
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

enum WriteOp {
    Create {
        key: String,
        value: Vec<u8>,
        expires_at: i64,
        reply: oneshot::Sender<Result<KeyValue>>,
    },
    Update {
        key: String,
        value: Vec<u8>,
        expected: Revision,
        expires_at: i64,
        reply: oneshot::Sender<Result<KeyValue>>,
    },
    Delete {
        key: String,
        expected: Option<Revision>,
        reply: oneshot::Sender<Result<(KeyValue, Revision)>>,
    },
    /// One bounded compaction step; replies whether the target is reached.
    Compact {
        target: Revision,
        batch: i64,
        reply: oneshot::Sender<Result<bool>>,
    },
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
        });
        let start = readers.read(|tx| current_revision_tx(tx)).await?;

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
        Ok(Watch::new(rx))
    }

    async fn current_revision(&self) -> Result<Revision> {
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

fn open(path: &Path, busy_timeout: Duration, create: bool) -> Result<Connection> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| StoreError::Unavailable(format!("opening {}: {e}", path.display())))?;
    conn.busy_timeout(busy_timeout).map_err(sql_err)?;
    // Switching a new file to WAL takes an exclusive lock, and SQLite does
    // not wait for it with the busy handler: processes opening one new file
    // together retry here instead of failing.
    let deadline = std::time::Instant::now() + busy_timeout;
    loop {
        let mode = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0))
            .and_then(|mode| {
                if mode.eq_ignore_ascii_case("wal") {
                    Ok(mode)
                } else {
                    conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get::<_, String>(0))
                }
            });
        match mode.map_err(sql_err) {
            Ok(_) => break,
            Err(StoreError::Unavailable(_)) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(e),
        }
    }
    // Truncate the WAL back to this size after each checkpoint so churn
    // does not leave a huge file behind.
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)
        .map_err(sql_err)?;
    Ok(conn)
}

/// The exclusive end of `prefix`'s key range as TEXT: SQLite orders TEXT
/// bytewise but puts every BLOB after every TEXT, so the bound must be TEXT.
fn text_prefix_end(prefix: &str) -> String {
    if prefix.is_empty() {
        return char::MAX.to_string().repeat(4);
    }
    String::from_utf8(prefix_end(prefix)).unwrap_or_else(|_| format!("{prefix}{}", char::MAX))
}

fn sql_err(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseBusy
                    | rusqlite::ErrorCode::DatabaseLocked
                    | rusqlite::ErrorCode::CannotOpen
                    | rusqlite::ErrorCode::SystemIoFailure
                    | rusqlite::ErrorCode::DiskFull
            ) =>
        {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Internal(e.to_string()),
    }
}

fn poisoned() -> StoreError {
    StoreError::Internal("connection pool lock poisoned".into())
}

fn check_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(StoreError::Invalid("empty key".into()));
    }
    Ok(())
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn expiry(opts: WriteOptions) -> Result<i64> {
    match opts.ttl {
        None => Ok(0),
        Some(ttl) if ttl.is_zero() => Err(StoreError::Invalid("zero time-to-live".into())),
        Some(ttl) => Ok(now_millis() + ttl.as_millis() as i64),
    }
}

/// Decodes a row selected with [`ROW_COLUMNS`] into the event it records.
fn row_event(row: &rusqlite::Row<'_>) -> rusqlite::Result<Event> {
    let id: i64 = row.get(0)?;
    let key: String = row.get(1)?;
    let created: bool = row.get(2)?;
    let deleted: bool = row.get(3)?;
    let create_revision: i64 = row.get(4)?;
    let prev_revision: i64 = row.get(5)?;
    let value: Vec<u8> = row.get(6)?;
    let old_value: Option<Vec<u8>> = row.get(7)?;
    let prev = (!created).then(|| KeyValue {
        key: key.clone(),
        value: old_value.unwrap_or_default(),
        create_revision,
        mod_revision: prev_revision,
    });
    Ok(match (deleted, prev) {
        (true, Some(prev)) => Event::Delete { prev, revision: id },
        (_, prev) => Event::Put {
            kv: KeyValue {
                key,
                value,
                create_revision,
                mod_revision: id,
            },
            prev,
        },
    })
}

fn current_revision_tx(tx: &Connection) -> Result<Revision> {
    // The AUTOINCREMENT counter, not MAX(id): compaction may remove the
    // newest row (a delete), but its revision still happened.
    tx.query_row(
        "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'log'), 0)",
        [],
        |r| r.get(0),
    )
    .map_err(sql_err)
}

fn compacted_revision_tx(tx: &Connection) -> Result<Revision> {
    tx.query_row(
        "SELECT value FROM meta WHERE key = 'compact_revision'",
        [],
        |r| r.get(0),
    )
    .map_err(sql_err)
}

fn check_revision(tx: &Connection, requested: Revision, current: Revision) -> Result<()> {
    if requested > current {
        return Err(StoreError::FutureRevision { requested, current });
    }
    let compacted = compacted_revision_tx(tx)?;
    if requested < compacted {
        return Err(StoreError::Compacted {
            requested,
            compacted,
        });
    }
    Ok(())
}

/// Log rows after `after` (and under `prefix` when given), oldest first.
fn read_after(
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

// ---------------------------------------------------------------------------
// The writer thread.

fn writer_loop(mut conn: Connection, mut rx: mpsc::UnboundedReceiver<WriteOp>, committed: &Notify) {
    let mut batch: Vec<WriteOp> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        // Compaction steps run in transactions of their own so that one
        // step bounds how long writers wait.
        let mut writes = Vec::with_capacity(batch.len());
        for op in batch.drain(..) {
            match op {
                WriteOp::Compact {
                    target,
                    batch,
                    reply,
                } => {
                    let _ = reply.send(compact_step(&mut conn, target, batch));
                }
                op => writes.push(op),
            }
        }
        if !writes.is_empty() {
            commit_batch(&mut conn, writes);
            committed.notify_one();
        }
    }
}

/// The outcome of one write inside a batch, held until the commit decides.
enum Pending {
    Kv(oneshot::Sender<Result<KeyValue>>, Result<KeyValue>),
    Deleted(
        oneshot::Sender<Result<(KeyValue, Revision)>>,
        Result<(KeyValue, Revision)>,
    ),
}

fn commit_batch(conn: &mut Connection, ops: Vec<WriteOp>) {
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            fail_all(ops, &sql_err(e));
            return;
        }
    };
    let mut pending = Vec::with_capacity(ops.len());
    for op in ops {
        match op {
            WriteOp::Create {
                key,
                value,
                expires_at,
                reply,
            } => pending.push(Pending::Kv(
                reply,
                apply_create(&tx, key, value, expires_at),
            )),
            WriteOp::Update {
                key,
                value,
                expected,
                expires_at,
                reply,
            } => pending.push(Pending::Kv(
                reply,
                apply_update(&tx, key, value, expected, expires_at),
            )),
            WriteOp::Delete {
                key,
                expected,
                reply,
            } => pending.push(Pending::Deleted(reply, apply_delete(&tx, key, expected))),
            WriteOp::Compact { reply, .. } => {
                let _ = reply.send(Err(StoreError::Internal("compaction in a batch".into())));
            }
        }
    }
    // Acknowledge only after the commit: an acknowledged write is durable.
    let commit = tx.commit().map_err(sql_err);
    for p in pending {
        match (p, &commit) {
            (Pending::Kv(reply, result), Ok(())) => {
                let _ = reply.send(result);
            }
            (Pending::Deleted(reply, result), Ok(())) => {
                let _ = reply.send(result);
            }
            (Pending::Kv(reply, _), Err(e)) => {
                let _ = reply.send(Err(copy_err(e)));
            }
            (Pending::Deleted(reply, _), Err(e)) => {
                let _ = reply.send(Err(copy_err(e)));
            }
        }
    }
}

fn copy_err(e: &StoreError) -> StoreError {
    match e {
        StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
        other => StoreError::Internal(other.to_string()),
    }
}

fn fail_all(ops: Vec<WriteOp>, e: &StoreError) {
    for op in ops {
        match op {
            WriteOp::Create { reply, .. } | WriteOp::Update { reply, .. } => {
                let _ = reply.send(Err(copy_err(e)));
            }
            WriteOp::Delete { reply, .. } => {
                let _ = reply.send(Err(copy_err(e)));
            }
            WriteOp::Compact { reply, .. } => {
                let _ = reply.send(Err(copy_err(e)));
            }
        }
    }
}

/// The newest row of `key`: (id, deleted, create_revision, value).
struct Latest {
    id: i64,
    deleted: bool,
    create_revision: i64,
    value: Vec<u8>,
}

fn latest(tx: &Connection, key: &str) -> Result<Option<Latest>> {
    tx.prepare_cached(
        "SELECT id, deleted, CASE WHEN created = 1 THEN id ELSE create_revision END, value
         FROM log WHERE name = ?1 ORDER BY id DESC LIMIT 1",
    )
    .map_err(sql_err)?
    .query_row(params![key], |r| {
        Ok(Latest {
            id: r.get(0)?,
            deleted: r.get(1)?,
            create_revision: r.get(2)?,
            value: r.get(3)?,
        })
    })
    .optional()
    .map_err(sql_err)
}

#[allow(clippy::too_many_arguments)]
fn insert(
    tx: &Connection,
    key: &str,
    created: bool,
    deleted: bool,
    create_revision: i64,
    prev_revision: i64,
    expires_at: i64,
    value: &[u8],
    old_value: Option<&[u8]>,
) -> Result<i64> {
    tx.prepare_cached(
        "INSERT INTO log (name, created, deleted, create_revision, prev_revision, expires_at, value, old_value)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .map_err(sql_err)?
    .execute(params![
        key,
        created,
        deleted,
        create_revision,
        prev_revision,
        expires_at,
        value,
        old_value
    ])
    .map_err(sql_err)?;
    Ok(tx.last_insert_rowid())
}

fn apply_create(tx: &Connection, key: String, value: Vec<u8>, expires_at: i64) -> Result<KeyValue> {
    let prev = latest(tx, &key)?;
    let prev_revision = match prev {
        Some(l) if !l.deleted => return Err(StoreError::Exists(key)),
        Some(l) => l.id,
        None => 0,
    };
    let id = insert(
        tx,
        &key,
        true,
        false,
        0,
        prev_revision,
        expires_at,
        &value,
        None,
    )?;
    Ok(KeyValue {
        key,
        value,
        create_revision: id,
        mod_revision: id,
    })
}

fn current_of(l: &Latest, key: &str) -> Option<Box<KeyValue>> {
    (!l.deleted).then(|| {
        Box::new(KeyValue {
            key: key.to_owned(),
            value: l.value.clone(),
            create_revision: l.create_revision,
            mod_revision: l.id,
        })
    })
}

fn apply_update(
    tx: &Connection,
    key: String,
    value: Vec<u8>,
    expected: Revision,
    expires_at: i64,
) -> Result<KeyValue> {
    let Some(prev) = latest(tx, &key)?.filter(|l| !l.deleted) else {
        return Err(StoreError::NotFound(key));
    };
    if prev.id != expected {
        let current = current_of(&prev, &key);
        return Err(StoreError::Conflict {
            key,
            expected,
            current,
        });
    }
    let id = insert(
        tx,
        &key,
        false,
        false,
        prev.create_revision,
        prev.id,
        expires_at,
        &value,
        Some(&prev.value),
    )?;
    Ok(KeyValue {
        key,
        value,
        create_revision: prev.create_revision,
        mod_revision: id,
    })
}

fn apply_delete(
    tx: &Connection,
    key: String,
    expected: Option<Revision>,
) -> Result<(KeyValue, Revision)> {
    let Some(prev) = latest(tx, &key)?.filter(|l| !l.deleted) else {
        return Err(StoreError::NotFound(key));
    };
    if let Some(expected) = expected.filter(|e| *e != prev.id) {
        let current = current_of(&prev, &key);
        return Err(StoreError::Conflict {
            key,
            expected,
            current,
        });
    }
    let id = insert(
        tx,
        &key,
        false,
        true,
        prev.create_revision,
        prev.id,
        0,
        &[],
        Some(&prev.value),
    )?;
    Ok((
        KeyValue {
            key,
            value: prev.value,
            create_revision: prev.create_revision,
            mod_revision: prev.id,
        },
        id,
    ))
}

/// Removes history up to `target` in one bounded step: rows replaced by a
/// newer row at or below `target`, and delete markers at or below it.
/// Returns whether `target` has been reached.
fn compact_step(conn: &mut Connection, target: Revision, batch: i64) -> Result<bool> {
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

// ---------------------------------------------------------------------------
// Watch fan-out.

async fn feed_loop(
    readers: Arc<ReaderPool>,
    feed: broadcast::Sender<Arc<[Event]>>,
    committed: Arc<Notify>,
    poll_interval: Duration,
    mut last: Revision,
) {
    loop {
        // Either our writer committed, or it is time to look for commits
        // made by other processes (one indexed lookup of the id counter).
        let woken = tokio::select! {
            _ = committed.notified() => true,
            _ = tokio::time::sleep(poll_interval) => false,
        };
        if !woken {
            match readers.read(|tx| current_revision_tx(tx)).await {
                Ok(current) if current > last => {}
                Ok(_) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "sqlite watch feed: polling failed");
                    continue;
                }
            }
        }
        loop {
            let from = last;
            let page = readers
                .read(move |tx| {
                    let compacted = compacted_revision_tx(tx)?;
                    let events = read_after(tx, from.max(compacted), None, READ_PAGE)?;
                    Ok((compacted, events))
                })
                .await;
            let (compacted, events) = match page {
                Ok(page) => page,
                Err(e) => {
                    tracing::warn!(error = %e, "sqlite watch feed: reading the log failed");
                    break;
                }
            };
            if compacted > last {
                // History the feed had not delivered yet is gone: watches
                // re-read from their own position and learn of it there.
                last = compacted;
            }
            let Some(newest) = events.last().map(Event::revision) else {
                break;
            };
            last = newest;
            let full = events.len() as i64 == READ_PAGE;
            // No receivers is fine: nobody is watching.
            let _ = feed.send(events.into());
            if !full {
                break;
            }
        }
    }
}

async fn watch_loop(
    readers: Arc<ReaderPool>,
    mut live: broadcast::Receiver<Arc<[Event]>>,
    prefix: String,
    mut last: Revision,
    out: mpsc::Sender<Result<Event>>,
) {
    let end = text_prefix_end(&prefix);
    let in_range = |key: &str| key >= prefix.as_str() && key < end.as_str();
    'catch_up: loop {
        // Replay history from the log until it is exhausted.
        loop {
            let from = last;
            let p = prefix.clone();
            let page = readers
                .read(move |tx| {
                    let compacted = compacted_revision_tx(tx)?;
                    if from < compacted {
                        return Err(StoreError::Compacted {
                            requested: from,
                            compacted,
                        });
                    }
                    read_after(tx, from, Some(&p), READ_PAGE)
                })
                .await;
            let events = match page {
                Ok(events) => events,
                Err(e) => {
                    let _ = out.send(Err(e)).await;
                    return;
                }
            };
            let full = events.len() as i64 == READ_PAGE;
            for event in events {
                last = event.revision();
                if out.send(Ok(event)).await.is_err() {
                    return;
                }
            }
            if !full {
                break;
            }
        }
        // Then follow the live feed.
        loop {
            match live.recv().await {
                Ok(batch) => {
                    for event in batch.iter() {
                        if event.revision() <= last {
                            continue;
                        }
                        if in_range(event.key()) && out.send(Ok(event.clone())).await.is_err() {
                            return;
                        }
                        last = event.revision();
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue 'catch_up,
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Time-to-live.

async fn ttl_sweeper(
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
