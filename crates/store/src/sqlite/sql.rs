//! The log's schema and the SQL helpers shared by readers, the writer and
//! watches: opening a connection, revisions, row decoding, error mapping.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OpenFlags};

use crate::{Event, KeyValue, Result, Revision, StoreError, WriteOptions, prefix_end};

/// Writes waiting for the writer thread at most; more wait on the channel.
pub(crate) const MAX_BATCH: usize = 512;
/// Log rows read per query by the feed and by catching-up watches.
pub(crate) const READ_PAGE: i64 = 1000;
/// Batches the feed keeps for watches that are briefly behind.
pub(crate) const FEED_BACKLOG: usize = 1024;

pub(crate) const SCHEMA: &str = "
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
pub(crate) const ROW_COLUMNS: &str = "id, name, created, deleted, \
     CASE WHEN created = 1 THEN id ELSE create_revision END, prev_revision, value, old_value";

pub(crate) fn open(path: &Path, busy_timeout: Duration, create: bool) -> Result<Connection> {
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
pub(crate) fn text_prefix_end(prefix: &str) -> String {
    if prefix.is_empty() {
        return char::MAX.to_string().repeat(4);
    }
    String::from_utf8(prefix_end(prefix)).unwrap_or_else(|_| format!("{prefix}{}", char::MAX))
}

pub(crate) fn sql_err(e: rusqlite::Error) -> StoreError {
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

pub(crate) fn poisoned() -> StoreError {
    StoreError::Internal("connection pool lock poisoned".into())
}

pub(crate) fn check_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(StoreError::Invalid("empty key".into()));
    }
    Ok(())
}

pub(crate) fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub(crate) fn expiry(opts: WriteOptions) -> Result<i64> {
    match opts.ttl {
        None => Ok(0),
        Some(ttl) if ttl.is_zero() => Err(StoreError::Invalid("zero time-to-live".into())),
        Some(ttl) => Ok(now_millis() + ttl.as_millis() as i64),
    }
}

/// Decodes a row selected with [`ROW_COLUMNS`] into the event it records.
pub(crate) fn row_event(row: &rusqlite::Row<'_>) -> rusqlite::Result<Event> {
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

pub(crate) fn current_revision_tx(tx: &Connection) -> Result<Revision> {
    // The AUTOINCREMENT counter, not MAX(id): compaction may remove the
    // newest row (a delete), but its revision still happened.
    tx.prepare_cached("SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'log'), 0)")
        .and_then(|mut stmt| stmt.query_row([], |r| r.get(0)))
        .map_err(sql_err)
}

pub(crate) fn compacted_revision_tx(tx: &Connection) -> Result<Revision> {
    tx.query_row(
        "SELECT value FROM meta WHERE key = 'compact_revision'",
        [],
        |r| r.get(0),
    )
    .map_err(sql_err)
}

pub(crate) fn check_revision(
    tx: &Connection,
    requested: Revision,
    current: Revision,
) -> Result<()> {
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
