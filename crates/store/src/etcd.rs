//! The etcd v3 engine: the [`Store`] contract mapped onto etcd's own
//! revisions, transactions and watches.
//!
//! Keys live under a configurable prefix (default `/registry`). Creates and
//! guarded writes are single transactions comparing `mod_revision` (0 for
//! "absent"), exactly the shapes kube-apiserver sends. Time-to-live is an
//! etcd lease granted per write. Watches ask for `prev_kv` so updates and
//! deletes carry the previous value.
//!
//! Reads are retried a few times when a member is unreachable (a cluster
//! with one member down stays usable); writes are never retried here,
//! because a write that timed out may have been applied.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use etcd_client::{
    Client, Compare, CompareOp, ConnectOptions, EventType, GetOptions, PutOptions, Txn, TxnOp,
    TxnOpResponse, WatchOptions,
};
use tokio::sync::mpsc;

use crate::{
    Event, KeyValue, ListOptions, ListResult, Result, Revision, Store, StoreError, Update,
    WATCH_QUEUE, Watch, WriteOptions, prefix_end,
};

/// Where the etcd engine connects and how it names keys.
#[derive(Debug, Clone)]
pub struct EtcdOptions {
    /// `http://host:port` of each member.
    pub endpoints: Vec<String>,
    /// Prepended to every key (kube-apiserver's `--etcd-prefix`).
    pub prefix: String,
    /// How long to wait for a connection to a member.
    pub connect_timeout: Duration,
}

impl EtcdOptions {
    pub fn new(endpoints: Vec<String>) -> Self {
        Self {
            endpoints,
            prefix: "/registry".into(),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// The etcd engine. Cheap to clone (the gRPC channel is shared).
#[derive(Clone)]
pub struct EtcdStore {
    client: Client,
    prefix: String,
    /// Whether the cluster's progress notifications can be trusted, once
    /// a member told its version.
    progress_reliable: Arc<tokio::sync::OnceCell<bool>>,
}

impl std::fmt::Debug for EtcdStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Where the last compaction's revision is recorded: outside every key
/// prefix (compaction is global to the cluster), under the name
/// kube-apiserver uses for its own compaction bookkeeping.
const COMPACT_KEY: &str = "compact_rev_key";

/// Whether etcd `version` (`3.4.23`) has the fix for progress
/// notifications sent ahead of events: 3.4.31+, 3.5.13+, and 3.6 and
/// later. A version that cannot be read is taken as lacking it.
fn progress_fixed_in(version: &str) -> bool {
    let mut parts = version
        .split(['.', '-', '+'])
        .map(|p| p.parse::<u32>().ok());
    let (Some(Some(major)), Some(Some(minor)), Some(Some(patch))) =
        (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    match (major, minor) {
        (3, 4) => patch >= 31,
        (3, 5) => patch >= 13,
        (3, m) => m >= 6,
        (m, _) => m > 3,
    }
}

/// How often a read is tried when members are unreachable.
const READ_ATTEMPTS: u32 = 5;

impl EtcdStore {
    /// Connects to the cluster (lazily: members are dialled on first use).
    pub async fn connect(opts: EtcdOptions) -> Result<Self> {
        if opts.endpoints.is_empty() {
            return Err(StoreError::Invalid("no etcd endpoints given".into()));
        }
        let connect = ConnectOptions::new()
            .with_connect_timeout(opts.connect_timeout)
            .with_keep_alive(Duration::from_secs(10), Duration::from_secs(5))
            .with_keep_alive_while_idle(true);
        let client = Client::connect(&opts.endpoints, Some(connect))
            .await
            .map_err(etcd_err)?;
        Ok(Self {
            client,
            prefix: opts.prefix,
            progress_reliable: Arc::default(),
        })
    }

    fn full(&self, key: &str) -> String {
        format!("{}{}", self.prefix, key)
    }

    fn strip(&self, key: &[u8]) -> Result<String> {
        let key = std::str::from_utf8(key)
            .map_err(|_| StoreError::Internal("etcd returned a key that is not UTF-8".into()))?;
        key.strip_prefix(&self.prefix)
            .map(str::to_owned)
            .ok_or_else(|| StoreError::Internal(format!("etcd returned a foreign key {key:?}")))
    }

    fn kv(&self, kv: &etcd_client::KeyValue) -> Result<KeyValue> {
        Ok(KeyValue {
            key: self.strip(kv.key())?,
            value: kv.value().to_vec(),
            create_revision: kv.create_revision(),
            mod_revision: kv.mod_revision(),
        })
    }

    /// Runs a read, retrying while the cluster is unreachable.
    async fn read<T, F, Fut>(&self, f: F) -> Result<T>
    where
        F: Fn(Client) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let mut delay = Duration::from_millis(50);
        let mut attempt = 1;
        loop {
            match f(self.client.clone()).await {
                Err(StoreError::Unavailable(e)) if attempt < READ_ATTEMPTS => {
                    tracing::debug!(error = %e, attempt, "etcd read failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn put_options(&self, opts: WriteOptions) -> Result<Option<PutOptions>> {
        let Some(ttl) = opts.ttl else {
            return Ok(None);
        };
        if ttl.is_zero() {
            return Err(StoreError::Invalid("zero time-to-live".into()));
        }
        let seconds = ttl.as_secs() as i64 + i64::from(ttl.subsec_nanos() > 0);
        let lease = self
            .client
            .clone()
            .lease_grant(seconds, None)
            .await
            .map_err(etcd_err)?;
        Ok(Some(PutOptions::new().with_lease(lease.id())))
    }

    /// The compacted revision as recorded by [`Store::compact`] in
    /// [`COMPACT_KEY`] (etcd itself only reveals it by refusing requests).
    async fn recorded_compaction(&self) -> Result<Revision> {
        self.read(|mut c| async move {
            let resp = c.get(COMPACT_KEY, None).await.map_err(etcd_err)?;
            Ok(resp
                .kvs()
                .first()
                .and_then(|kv| std::str::from_utf8(kv.value()).ok()?.parse().ok())
                .unwrap_or(0))
        })
        .await
    }

    async fn compacted_error(&self, requested: Revision) -> StoreError {
        match self.recorded_compaction().await {
            Ok(compacted) => StoreError::Compacted {
                requested,
                compacted,
            },
            Err(e) => e,
        }
    }
}

fn etcd_err(e: etcd_client::Error) -> StoreError {
    use etcd_client::Error as E;
    match e {
        E::GRpcStatus(status) => {
            use tonic::Code;
            let message = status.message().to_owned();
            match status.code() {
                Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Aborted => {
                    StoreError::Unavailable(message)
                }
                _ => StoreError::Internal(message),
            }
        }
        E::TransportError(e) => StoreError::Unavailable(e.to_string()),
        E::IoError(e) => StoreError::Unavailable(e.to_string()),
        E::InvalidArgs(m) => StoreError::Invalid(m),
        other => StoreError::Internal(other.to_string()),
    }
}

fn is_compacted(e: &etcd_client::Error) -> bool {
    matches!(e, etcd_client::Error::GRpcStatus(s) if s.message().contains("compacted"))
}

fn is_future(e: &etcd_client::Error) -> bool {
    matches!(e, etcd_client::Error::GRpcStatus(s) if s.message().contains("future revision"))
}

#[async_trait]
impl Store for EtcdStore {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        let full = self.full(key);
        self.read(|mut c| {
            let full = full.clone();
            async move {
                let resp = c.get(full, None).await.map_err(etcd_err)?;
                resp.kvs().first().map(|kv| self.kv(kv)).transpose()
            }
        })
        .await
    }

    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListResult> {
        let full = self.full(prefix);
        let end = prefix_end(&full);
        let start = match &opts.start_after {
            // The smallest key after `after`.
            Some(after) => {
                let mut k = self.full(after).into_bytes();
                k.push(0);
                k
            }
            None => full.clone().into_bytes(),
        };
        let outcome = self
            .read(|mut c| {
                let mut get = GetOptions::new().with_range(end.clone());
                if opts.revision > 0 {
                    get = get.with_revision(opts.revision);
                }
                if opts.limit > 0 {
                    get = get.with_limit(opts.limit as i64);
                }
                let start = start.clone();
                async move {
                    match c.get(start, Some(get)).await {
                        Ok(resp) => Ok(Ok(resp)),
                        Err(e) if is_compacted(&e) || is_future(&e) => Ok(Err(e)),
                        Err(e) => Err(etcd_err(e)),
                    }
                }
            })
            .await?;
        let resp = match outcome {
            Ok(resp) => resp,
            Err(e) if is_compacted(&e) => return Err(self.compacted_error(opts.revision).await),
            Err(_) => {
                let current = self.current_revision().await?;
                return Err(StoreError::FutureRevision {
                    requested: opts.revision,
                    current,
                });
            }
        };
        let revision = if opts.revision > 0 {
            opts.revision
        } else {
            resp.header().map(|h| h.revision()).unwrap_or_default()
        };
        let items = resp
            .kvs()
            .iter()
            .map(|kv| self.kv(kv))
            .collect::<Result<Vec<_>>>()?;
        Ok(ListResult {
            items,
            revision,
            more: resp.more(),
        })
    }

    async fn count(&self, prefix: &str) -> Result<i64> {
        let full = self.full(prefix);
        self.read(|mut c| {
            let full = full.clone();
            async move {
                let opts = GetOptions::new().with_prefix().with_count_only();
                let resp = c.get(full, Some(opts)).await.map_err(etcd_err)?;
                Ok(resp.count())
            }
        })
        .await
    }

    async fn create(&self, key: &str, value: Vec<u8>, opts: WriteOptions) -> Result<KeyValue> {
        if key.is_empty() {
            return Err(StoreError::Invalid("empty key".into()));
        }
        let full = self.full(key);
        let put = self.put_options(opts).await?;
        let txn = Txn::new()
            .when([Compare::mod_revision(full.clone(), CompareOp::Equal, 0)])
            .and_then([TxnOp::put(full, value.clone(), put)]);
        let resp = self.client.clone().txn(txn).await.map_err(etcd_err)?;
        if !resp.succeeded() {
            return Err(StoreError::Exists(key.to_owned()));
        }
        let revision = resp.header().map(|h| h.revision()).unwrap_or_default();
        Ok(KeyValue {
            key: key.to_owned(),
            value,
            create_revision: revision,
            mod_revision: revision,
        })
    }

    async fn update(
        &self,
        key: &str,
        value: Vec<u8>,
        expected: Revision,
        opts: WriteOptions,
    ) -> Result<KeyValue> {
        if expected <= 0 {
            // etcd would treat revision 0 as "absent" and create the key.
            return match self.get(key).await? {
                None => Err(StoreError::NotFound(key.to_owned())),
                Some(current) => Err(StoreError::Conflict {
                    key: key.to_owned(),
                    expected,
                    current: Some(Box::new(current)),
                }),
            };
        }
        let full = self.full(key);
        let put = self
            .put_options(opts)
            .await?
            .unwrap_or_default()
            .with_prev_key();
        let txn = Txn::new()
            .when([Compare::mod_revision(
                full.clone(),
                CompareOp::Equal,
                expected,
            )])
            .and_then([TxnOp::put(full.clone(), value.clone(), Some(put))])
            .or_else([TxnOp::get(full, None)]);
        let resp = self.client.clone().txn(txn).await.map_err(etcd_err)?;
        let revision = resp.header().map(|h| h.revision()).unwrap_or_default();
        let responses = resp.op_responses();
        if resp.succeeded() {
            let prev = responses.first().and_then(|r| match r {
                TxnOpResponse::Put(p) => p.prev_key().cloned(),
                _ => None,
            });
            let Some(prev) = prev else {
                return Err(StoreError::Internal(format!(
                    "etcd applied the update of {key:?} without a previous value"
                )));
            };
            return Ok(KeyValue {
                key: key.to_owned(),
                value,
                create_revision: prev.create_revision(),
                mod_revision: revision,
            });
        }
        let current = match responses.first() {
            Some(TxnOpResponse::Get(g)) => g.kvs().first().map(|kv| self.kv(kv)).transpose()?,
            _ => None,
        };
        match current {
            None => Err(StoreError::NotFound(key.to_owned())),
            Some(current) => Err(StoreError::Conflict {
                key: key.to_owned(),
                expected,
                current: Some(Box::new(current)),
            }),
        }
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<(KeyValue, Revision)> {
        let full = self.full(key);
        let delete = etcd_client::DeleteOptions::new().with_prev_key();
        let compare = match expected {
            Some(rev) => Compare::mod_revision(full.clone(), CompareOp::Equal, rev),
            // "exists": any modification revision above zero.
            None => Compare::mod_revision(full.clone(), CompareOp::Greater, 0),
        };
        let txn = Txn::new()
            .when([compare])
            .and_then([TxnOp::delete(full.clone(), Some(delete))])
            .or_else([TxnOp::get(full, None)]);
        let resp = self.client.clone().txn(txn).await.map_err(etcd_err)?;
        let revision = resp.header().map(|h| h.revision()).unwrap_or_default();
        let responses = resp.op_responses();
        if resp.succeeded() {
            let prev = match responses.first() {
                Some(TxnOpResponse::Delete(d)) => d.prev_kvs().first().map(|kv| self.kv(kv)),
                _ => None,
            };
            return match prev {
                Some(prev) => Ok((prev?, revision)),
                None => Err(StoreError::NotFound(key.to_owned())),
            };
        }
        let current = match responses.first() {
            Some(TxnOpResponse::Get(g)) => g.kvs().first().map(|kv| self.kv(kv)).transpose()?,
            _ => None,
        };
        match (current, expected) {
            (Some(current), Some(expected)) => Err(StoreError::Conflict {
                key: key.to_owned(),
                expected,
                current: Some(Box::new(current)),
            }),
            _ => Err(StoreError::NotFound(key.to_owned())),
        }
    }

    async fn watch(&self, prefix: &str, after: Revision) -> Result<Watch> {
        let full = self.full(prefix);
        let opts = WatchOptions::new()
            .with_range(prefix_end(&full))
            .with_start_revision(after.max(0) + 1)
            .with_prev_key();
        // Opening a watch changes nothing: retried like a read while the
        // member the client picked cannot be reached (one just died).
        let stream = self
            .read(|mut c| {
                let (full, opts) = (full.clone(), opts.clone());
                async move { c.watch(full, Some(opts)).await.map_err(etcd_err) }
            })
            .await?;
        let (tx, rx) = mpsc::channel(WATCH_QUEUE);
        let (progress_tx, progress_rx) = mpsc::channel(1);
        let this = self.clone();
        tokio::spawn(async move { this.pump(stream, after, tx, progress_rx).await });
        Ok(Watch::with_progress_requests(rx, progress_tx))
    }

    async fn current_revision(&self) -> Result<Revision> {
        self.read(|mut c| async move {
            let resp = c
                .get(
                    "\u{0}",
                    Some(GetOptions::new().with_count_only().with_limit(1)),
                )
                .await
                .map_err(etcd_err)?;
            Ok(resp.header().map(|h| h.revision()).unwrap_or_default())
        })
        .await
    }

    /// etcd before 3.4.31 and 3.5.13 may send a progress notification ahead
    /// of events it has still to deliver on that watch, so a cache could
    /// claim a revision whose events it lacks: consistent reads then go to
    /// etcd, as kube-apiserver does on those releases. Asked of the member
    /// the client reaches; unknown (unreachable) counts as unreliable and
    /// is asked again next time.
    async fn progress_is_reliable(&self) -> bool {
        if let Some(known) = self.progress_reliable.get() {
            return *known;
        }
        let mut client = self.client.clone();
        match client.status().await {
            Ok(status) => {
                let reliable = progress_fixed_in(status.version());
                if !reliable {
                    tracing::info!(
                        version = status.version(),
                        "etcd's watch progress notifications may run ahead of its events before 3.4.31 and 3.5.13: reads that must be current go to etcd, not the watch cache"
                    );
                }
                *self
                    .progress_reliable
                    .get_or_init(|| async { reliable })
                    .await
            }
            Err(_) => false,
        }
    }

    async fn compacted_revision(&self) -> Result<Revision> {
        self.recorded_compaction().await
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        match self.client.clone().compact(revision, None).await {
            Ok(_) => {
                if revision > self.recorded_compaction().await? {
                    self.client
                        .clone()
                        .put(COMPACT_KEY, revision.to_string(), None)
                        .await
                        .map_err(etcd_err)?;
                }
                Ok(())
            }
            // Compacting to a point already compacted is not an error.
            Err(e) if is_compacted(&e) => Ok(()),
            Err(e) if is_future(&e) => Err(StoreError::FutureRevision {
                requested: revision,
                current: self.current_revision().await?,
            }),
            Err(e) => Err(etcd_err(e)),
        }
    }
}

impl EtcdStore {
    /// Forwards one etcd watch stream into a [`Watch`] until either side ends.
    async fn pump(
        &self,
        mut stream: etcd_client::WatchStream,
        after: Revision,
        tx: mpsc::Sender<Result<Update>>,
        mut progress: mpsc::Receiver<()>,
    ) {
        let mut last = after;
        loop {
            let resp = tokio::select! {
                resp = stream.message() => resp,
                // The consumer went away: stop watching.
                () = tx.closed() => return,
                Some(()) = progress.recv() => {
                    // A failed request only means no report: the stream's
                    // own errors surface through `message`.
                    let _ = stream.request_progress().await;
                    continue;
                }
            };
            let resp = match resp {
                Ok(Some(resp)) => resp,
                Ok(None) => {
                    let _ = tx
                        .send(Err(StoreError::Unavailable("etcd ended the watch".into())))
                        .await;
                    return;
                }
                Err(e) => {
                    let _ = tx.send(Err(etcd_err(e))).await;
                    return;
                }
            };
            if resp.canceled() {
                let err = if resp.compact_revision() > 0 {
                    StoreError::Compacted {
                        requested: last,
                        compacted: resp.compact_revision(),
                    }
                } else {
                    StoreError::Unavailable(format!(
                        "etcd cancelled the watch: {}",
                        resp.cancel_reason()
                    ))
                };
                let _ = tx.send(Err(err)).await;
                return;
            }
            if resp.events().is_empty() && !resp.created() {
                // A progress notification: every event up to the header's
                // revision has been sent.
                if let Some(h) = resp.header() {
                    let _ = tx.try_send(Ok(Update::Progress(h.revision())));
                }
                continue;
            }
            for event in resp.events() {
                let converted = self.event(event);
                let event = match converted {
                    Ok(Some(event)) => event,
                    Ok(None) => continue,
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                };
                last = event.revision();
                if tx.send(Ok(Update::Event(event))).await.is_err() {
                    return;
                }
            }
        }
    }

    fn event(&self, event: &etcd_client::Event) -> Result<Option<Event>> {
        let Some(kv) = event.kv() else {
            return Ok(None);
        };
        let prev = event.prev_kv().map(|p| self.kv(p)).transpose()?;
        Ok(Some(match event.event_type() {
            EventType::Put => Event::Put {
                kv: self.kv(kv)?,
                prev,
            },
            EventType::Delete => {
                let key = self.strip(kv.key())?;
                Event::Delete {
                    // etcd omits prev_kv when that revision was compacted.
                    prev: prev.unwrap_or(KeyValue {
                        key,
                        value: Vec::new(),
                        create_revision: 0,
                        mod_revision: 0,
                    }),
                    revision: kv.mod_revision(),
                }
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::progress_fixed_in;

    #[test]
    fn progress_notifications_are_trusted_from_the_fixed_releases_on() {
        for old in [
            "3.4.23", "3.4.30", "3.5.0", "3.5.12", "3.3.27", "2.3.8", "", "x.y.z", "3.5",
        ] {
            assert!(!progress_fixed_in(old), "{old}");
        }
        for fixed in [
            "3.4.31",
            "3.4.37",
            "3.5.13",
            "3.5.21",
            "3.6.0",
            "3.6.4-rc.1",
            "4.0.0",
        ] {
            assert!(progress_fixed_in(fixed), "{fixed}");
        }
    }
}
