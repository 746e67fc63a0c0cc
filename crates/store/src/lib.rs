//! Storage with etcd's semantics behind one narrow trait.
//!
//! Everything skewless keeps (API objects, identity leases, peer endpoints)
//! lives in a [`Store`]: a flat key space with a single, monotonically
//! increasing revision, compare-and-swap writes guarded by a key's last
//! modification revision, watches that replay history from a revision, and
//! compaction of old history. Two engines implement it and pass the same
//! conformance suite: [`sqlite::SqliteStore`] (embedded, the default; several
//! processes may share one file) and [`etcd::EtcdStore`].
//!
//! The trait is sized to what a Kubernetes API server needs (the "limited
//! etcd surface" kine accepts) and nothing more: no ranges other than
//! prefixes, no multi-key transactions, no sorting options. Errors are typed
//! ([`StoreError`]); callers never parse strings.

pub mod etcd;
pub mod sqlite;
pub mod testing;

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;

/// A point in the store's history. Every successful write gets a new,
/// strictly greater revision; `0` means "no revision" (nothing written yet).
pub type Revision = i64;

/// One key's value at some revision.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: Vec<u8>,
    /// Revision of the write that created this incarnation of the key.
    pub create_revision: Revision,
    /// Revision of the last write to the key.
    pub mod_revision: Revision,
}

impl fmt::Debug for KeyValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyValue")
            .field("key", &self.key)
            .field("value_len", &self.value.len())
            .field("create_revision", &self.create_revision)
            .field("mod_revision", &self.mod_revision)
            .finish()
    }
}

/// What a watch delivers, one per revision that touched a watched key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A create (`prev` is `None`) or an update (`prev` is the value before).
    Put {
        kv: KeyValue,
        prev: Option<KeyValue>,
    },
    /// A delete (explicit, or a time-to-live expiry). `prev` is the value
    /// that was deleted; `revision` is the revision of the delete itself.
    Delete { prev: KeyValue, revision: Revision },
}

impl Event {
    /// The revision at which this event happened.
    pub fn revision(&self) -> Revision {
        match self {
            Event::Put { kv, .. } => kv.mod_revision,
            Event::Delete { revision, .. } => *revision,
        }
    }

    /// The key this event is about.
    pub fn key(&self) -> &str {
        match self {
            Event::Put { kv, .. } => &kv.key,
            Event::Delete { prev, .. } => &prev.key,
        }
    }
}

/// The errors every engine reports, so callers can branch on them.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The key does not exist (at the revision asked for).
    #[error("key {0:?} not found")]
    NotFound(String),
    /// A create found the key already present.
    #[error("key {0:?} already exists")]
    Exists(String),
    /// An update or delete expected another modification revision. `current`
    /// is the key's present value, or `None` when it no longer exists.
    #[error("key {key:?} was modified: expected revision {expected}")]
    Conflict {
        key: String,
        expected: Revision,
        current: Option<Box<KeyValue>>,
    },
    /// The revision asked for has been compacted away.
    #[error("revision {requested} has been compacted (compacted up to {compacted})")]
    Compacted {
        requested: Revision,
        compacted: Revision,
    },
    /// The revision asked for is newer than anything written yet.
    #[error("revision {requested} is in the future (current is {current})")]
    FutureRevision {
        requested: Revision,
        current: Revision,
    },
    /// The request was not valid (an empty key, a zero TTL, ...).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The backend could not be reached or did not answer in time. The
    /// operation may or may not have happened when it was a write.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Anything else the backend reported.
    #[error("storage error: {0}")]
    Internal(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A prefix list, at the current revision or at a past one.
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    /// List at this revision; `0` means the current one.
    pub revision: Revision,
    /// At most this many items; `0` means no limit.
    pub limit: usize,
    /// Only keys strictly greater than this one (the continue token of a
    /// previous page: its last key, listed again at the same revision).
    pub start_after: Option<String>,
}

/// One page of a prefix list.
#[derive(Debug, Clone, Default)]
pub struct ListResult {
    /// Items in key order.
    pub items: Vec<KeyValue>,
    /// The revision the list was served at: pass it back with
    /// `start_after` to get the next page of the same snapshot.
    pub revision: Revision,
    /// Whether more items follow the last one.
    pub more: bool,
}

/// Options of a write.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteOptions {
    /// The key disappears this long after the write unless written again.
    pub ttl: Option<Duration>,
}

/// What a watch's queue carries: an event, or progress — every event up to
/// and including the revision has been delivered already (etcd's progress
/// notification; SQLite reports it after each batch it has looked at).
/// Progress is advisory: engines may drop it when the queue is full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    Event(Event),
    Progress(Revision),
}

/// A watch of a key prefix. Events arrive in revision order, each revision
/// once; an `Err` is always the last item (the watch has ended: resume with
/// a new watch from the last revision seen).
#[derive(Debug)]
pub struct Watch {
    rx: mpsc::Receiver<Result<Update>>,
    progress: Option<mpsc::Sender<()>>,
}

impl Watch {
    /// A watch fed through `rx`; engines create these, and so may a layer
    /// that serves watches from its own copy of the store (a watch cache).
    pub fn from_receiver(rx: mpsc::Receiver<Result<Update>>) -> Self {
        Self { rx, progress: None }
    }

    /// A watch whose engine answers progress requests sent on `requests`.
    pub(crate) fn with_progress_requests(
        rx: mpsc::Receiver<Result<Update>>,
        requests: mpsc::Sender<()>,
    ) -> Self {
        Self {
            rx,
            progress: Some(requests),
        }
    }

    /// The next event, or `None` once the watch has ended (the store shut
    /// down). An error ends the watch too. Progress is skipped.
    pub async fn next(&mut self) -> Option<Result<Event>> {
        loop {
            match self.rx.recv().await? {
                Ok(Update::Event(e)) => return Some(Ok(e)),
                Ok(Update::Progress(_)) => continue,
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// The next event or progress report, or `None` once the watch ended.
    pub async fn next_update(&mut self) -> Option<Result<Update>> {
        self.rx.recv().await
    }

    /// A handle that asks the engine for a progress report soon (etcd's
    /// `RequestProgress`). Engines that report progress on their own
    /// (SQLite) give a handle that does nothing.
    pub fn progress_requester(&self) -> ProgressRequester {
        ProgressRequester(self.progress.clone())
    }
}

/// Asks a watch's engine for a progress report; requests made while one is
/// pending are merged into it.
#[derive(Debug, Clone, Default)]
pub struct ProgressRequester(Option<mpsc::Sender<()>>);

impl ProgressRequester {
    pub fn request(&self) {
        if let Some(tx) = &self.0 {
            // Full means a request is pending already.
            let _ = tx.try_send(());
        }
    }
}

/// Capacity of a single watch's queue. A consumer that falls behind by more
/// than this holds back only its own feed; engines catch it up from history.
pub const WATCH_QUEUE: usize = 256;

/// The storage contract. Keys are UTF-8 strings (Kubernetes keys are paths
/// like `/registry/configmaps/default/foo`); a prefix selects a subtree.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The key's current value, or `None`.
    async fn get(&self, key: &str) -> Result<Option<KeyValue>>;

    /// Keys under `prefix`, in key order, at the current or a past revision.
    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListResult>;

    /// How many keys exist under `prefix` now.
    async fn count(&self, prefix: &str) -> Result<i64>;

    /// Creates `key`; fails with [`StoreError::Exists`] if it is present.
    async fn create(&self, key: &str, value: Vec<u8>, opts: WriteOptions) -> Result<KeyValue>;

    /// Replaces `key` if its modification revision is still `expected`;
    /// otherwise [`StoreError::Conflict`] (or [`StoreError::NotFound`]).
    async fn update(
        &self,
        key: &str,
        value: Vec<u8>,
        expected: Revision,
        opts: WriteOptions,
    ) -> Result<KeyValue>;

    /// Deletes `key`, if `expected` is given only at that modification
    /// revision. Returns the deleted value and the delete's revision.
    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<(KeyValue, Revision)>;

    /// Every change under `prefix` with a revision greater than `after`, in
    /// order, then live changes. `after` older than the compacted revision
    /// gives a watch whose first item is [`StoreError::Compacted`].
    async fn watch(&self, prefix: &str, after: Revision) -> Result<Watch>;

    /// The newest revision.
    async fn current_revision(&self) -> Result<Revision>;

    /// Whether a watch's progress reports can be trusted: every event up to
    /// a reported revision has really been delivered before the report.
    /// Only then may a cache fed by a watch serve reads that must be
    /// current. Engines whose reports may run ahead of their events say
    /// `false`.
    async fn progress_is_reliable(&self) -> bool {
        true
    }

    /// The oldest revision that can still be read or watched from.
    async fn compacted_revision(&self) -> Result<Revision>;

    /// Discards history older than `revision` (the values current at
    /// `revision` stay readable).
    async fn compact(&self, revision: Revision) -> Result<()>;
}

/// The exclusive end of the key range that `prefix` selects.
pub(crate) fn prefix_end(prefix: &str) -> Vec<u8> {
    let mut end = prefix.as_bytes().to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    // An empty prefix (or all 0xff) selects everything: "\0" is etcd's
    // convention for "to the end of the key space".
    vec![0]
}
