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
//!
//! The handle is in `store`, the schema and shared SQL helpers in `sql`,
//! reading in `read`, the writer thread in `writer` (compaction steps in
//! `compact`), watch fan-out in `watch`, and expiry in `ttl`.

mod compact;
mod read;
mod sql;
mod store;
mod ttl;
mod watch;
mod writer;

pub use store::{SqliteOptions, SqliteStore};
