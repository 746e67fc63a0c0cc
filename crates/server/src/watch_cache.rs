//! The watch cache: per resource, an in-memory copy of its objects at a
//! known revision and a bounded window of its recent events, fed by one
//! store watch, so GET, LIST and WATCH are served from memory.
//!
//! A resource's cache is built on first use (a paged list, then a watch from
//! the list's revision) and lives until the server stops, its store watch
//! fails (the next read builds a new one), or — for a custom resource — the
//! resource stops being served. Objects are kept as the store returned them
//! (`Arc<KeyValue>`, shared by every reader and watcher; never a copy per
//! watcher), each with room for its JSON as clients see it
//! ([`CachedObject::json`]), encoded by the first GET that needs it and
//! served as is by the next ones.
//!
//! The cache's revision moves with its events and with the store's progress
//! reports (every event up to a revision has been delivered), so it reaches
//! the store's current revision even when the newest writes touched other
//! resources. Consistency rules:
//! - a read that must be current ([`ResourceCache::wait_fresh`]) asks the
//!   store for its current revision and waits (at most [`FRESH_WAIT`]) until
//!   the cache has reached it; otherwise the caller reads storage (always,
//!   when the store's progress reports cannot be trusted);
//! - the current state is the snapshot at every revision from the
//!   resource's last change up to the cache's revision, so a page of a list
//!   at such a revision (a continue token from any server sharing the
//!   storage) is served from memory, and any other revision from storage;
//! - a watch from a revision the window covers replays from the window,
//!   then follows live events; from a revision the cache held but evicted,
//!   it ends with `Compacted` (the client's `410 Expired`); from before the
//!   cache began, the store serves it.
//!
//! Fan-out: one broadcast ring per resource of shared events; each watch
//! stream reads it directly (no task or copy per watcher). A watcher that
//! falls more than [`FANOUT`] events behind is closed (its stream ends and
//! the client resumes or re-lists), so a slow client never holds back the
//! others.
//!
//! This module never decodes objects (its callers encode them into
//! [`CachedObject::json`]) and never holds a lock across an await point.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use skewless_apimachinery::metrics::{CounterVec, HistogramVec};
use skewless_store::{
    Event, KeyValue, ListOptions, ProgressRequester, Revision, Store, StoreError, Update, Watch,
};
use tokio::sync::{OnceCell, broadcast, watch};

/// How long a read that must be current waits for the cache to catch up
/// before it reads storage instead.
pub(crate) const FRESH_WAIT: Duration = Duration::from_secs(3);

/// How often a waiting read asks the store again for progress.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// Objects per page of a cache's initial list.
pub(crate) const LOAD_PAGE: usize = 500;

/// Default number of recent events each resource's cache keeps
/// (`--watch-cache-window`).
pub(crate) const DEFAULT_WINDOW: usize = 1000;

/// Events a watcher may fall behind the newest before it is closed (its
/// stream then ends).
pub(crate) const FANOUT: usize = 1024;

/// The caches' metrics, with kube-apiserver's names and labels (`group`
/// empty for the core group).
#[derive(Debug)]
pub(crate) struct CacheMetrics {
    initializations: CounterVec,
    events_received: CounterVec,
    terminated_watchers: CounterVec,
    consistent_reads: CounterVec,
    read_wait: HistogramVec,
}

impl Default for CacheMetrics {
    fn default() -> Self {
        const GR: &[&str] = &["group", "resource"];
        Self {
            initializations: CounterVec::new(
                "apiserver_watch_cache_initializations_total",
                "Counter of watch cache initializations broken by resource type.",
                GR,
            ),
            events_received: CounterVec::new(
                "apiserver_watch_cache_events_received_total",
                "Counter of events received in watch cache broken by resource type.",
                GR,
            ),
            terminated_watchers: CounterVec::new(
                "apiserver_terminated_watchers_total",
                "Counter of watchers closed due to unresponsiveness broken by resource type.",
                GR,
            ),
            consistent_reads: CounterVec::new(
                "apiserver_watch_cache_consistent_read_total",
                "Counter for consistent reads from cache.",
                &["group", "resource", "success", "fallback"],
            ),
            read_wait: HistogramVec::new(
                "apiserver_watch_cache_read_wait_seconds",
                "Histogram of time spent waiting for a watch cache to become fresh.",
                GR,
                &[
                    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0,
                ],
            ),
        }
    }
}

/// A cache's `group` and `resource` labels, from its prefix
/// (`/<group or core>/<resource>/`).
#[derive(Debug)]
struct Labels {
    metrics: Arc<CacheMetrics>,
    group: String,
    resource: String,
}

impl Labels {
    fn of(prefix: &str, metrics: Arc<CacheMetrics>) -> Arc<Self> {
        let mut parts = prefix.trim_matches('/').split('/');
        let group = match parts.next().unwrap_or_default() {
            "core" => "",
            g => g,
        };
        Arc::new(Self {
            group: group.to_owned(),
            resource: parts.next().unwrap_or_default().to_owned(),
            metrics,
        })
    }

    fn values(&self) -> [&str; 2] {
        [&self.group, &self.resource]
    }
}

/// Every resource's cache of one server.
type CacheMap = HashMap<String, Arc<OnceCell<Arc<ResourceCache>>>>;

pub(crate) struct WatchCaches {
    store: Arc<dyn Store>,
    /// `--watch-cache`.
    enabled: bool,
    /// `--watch-cache-window`.
    window: usize,
    /// Per resource prefix; a cache whose feed ended leaves the map (its
    /// objects are freed once no reader holds it).
    caches: Arc<Mutex<CacheMap>>,
    /// Flips to `true` when the server stops: every feed ends.
    shutdown: watch::Receiver<bool>,
    metrics: Arc<CacheMetrics>,
}

/// Drops `ended` from the map, unless a newer cache took its place.
fn forget(caches: &Mutex<CacheMap>, ended: &Arc<ResourceCache>) {
    let mut caches = caches.lock().unwrap_or_else(PoisonError::into_inner);
    if caches
        .get(&ended.prefix)
        .is_some_and(|cell| cell.get().is_some_and(|c| Arc::ptr_eq(c, ended)))
    {
        caches.remove(&ended.prefix);
    }
}

impl std::fmt::Debug for WatchCaches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchCaches")
            .field("enabled", &self.enabled)
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

impl WatchCaches {
    pub(crate) fn new(
        store: Arc<dyn Store>,
        enabled: bool,
        window: usize,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Self {
            store,
            enabled,
            window: window.max(1),
            caches: Arc::default(),
            shutdown,
            metrics: Arc::default(),
        }
    }

    /// Appends the caches' metrics in the Prometheus text format, with each
    /// live cache's revision (`apiserver_watch_cache_resource_version`).
    pub(crate) fn render(&self, out: &mut String) {
        let m = &self.metrics;
        m.initializations.render(out);
        m.events_received.render(out);
        m.terminated_watchers.render(out);
        m.consistent_reads.render(out);
        m.read_wait.render(out);
        out.push_str("# HELP apiserver_watch_cache_resource_version [ALPHA] Current resource version of watch cache broken by resource type.\n# TYPE apiserver_watch_cache_resource_version gauge\n");
        let caches: Vec<Arc<ResourceCache>> = {
            let caches = self.caches.lock().unwrap_or_else(PoisonError::into_inner);
            caches.values().filter_map(|c| c.get().cloned()).collect()
        };
        for c in caches.iter().filter(|c| c.is_live()) {
            out.push_str(&format!(
                "apiserver_watch_cache_resource_version{{group=\"{}\",resource=\"{}\"}} {}\n",
                c.labels.group,
                c.labels.resource,
                c.read().revision
            ));
        }
    }

    /// The cache of the resource whose objects live under `prefix` (the
    /// resource's prefix over all namespaces), built now if needed. `None`
    /// when caching is off or the cache cannot be built (read storage).
    /// `served` tells whether the resource is still served; the cache ends
    /// when a change of `served_changed` makes it false.
    pub(crate) async fn resource(
        &self,
        prefix: &str,
        served: impl Fn() -> bool + Send + 'static,
        served_changed: Option<watch::Receiver<u64>>,
    ) -> Option<Arc<ResourceCache>> {
        if !self.enabled {
            return None;
        }
        let cell = {
            let mut caches = self.caches.lock().unwrap_or_else(PoisonError::into_inner);
            match caches.get_mut(prefix) {
                Some(cell) => {
                    if cell.get().is_some_and(|c| !c.is_live()) {
                        *cell = Arc::default();
                    }
                    Arc::clone(cell)
                }
                None => Arc::clone(caches.entry(prefix.to_owned()).or_default()),
            }
        };
        let cache = cell
            .get_or_try_init(|| async {
                let labels = Labels::of(prefix, Arc::clone(&self.metrics));
                let (cache, watch) =
                    ResourceCache::load(&*self.store, prefix, self.window, labels).await?;
                self.metrics.initializations.inc(&cache.labels.values());
                let feeding = Arc::clone(&cache);
                let caches = Arc::clone(&self.caches);
                let shutdown = self.shutdown.clone();
                tokio::spawn(async move {
                    Arc::clone(&feeding)
                        .feed(watch, shutdown, served, served_changed)
                        .await;
                    forget(&caches, &feeding);
                });
                Ok::<_, StoreError>(cache)
            })
            .await;
        match cache {
            Ok(cache) if cache.is_live() => Some(Arc::clone(cache)),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(prefix, error = %e, "watch cache: loading failed; reading storage");
                None
            }
        }
    }

    /// The store the caches copy.
    pub(crate) fn store(&self) -> &dyn Store {
        &*self.store
    }
}

/// One resource's objects, revision and recent events.
pub(crate) struct ResourceCache {
    prefix: String,
    state: RwLock<CacheState>,
    /// The revision the cache has reached (all events up to it applied).
    revision: watch::Sender<Revision>,
    /// Live events, for watchers.
    events: broadcast::Sender<Arc<CachedEvent>>,
    /// `true` once the feed has ended: the cache serves nothing more.
    ended: watch::Sender<bool>,
    progress: ProgressRequester,
    labels: Arc<Labels>,
    /// Whether the store's progress reports can be trusted
    /// ([`Store::progress_is_reliable`]): if not, the cache moves only with
    /// events and never serves a read that must be current.
    progress_reliable: bool,
}

/// One object of a cache.
#[derive(Debug)]
pub(crate) struct CachedObject {
    pub(crate) kv: Arc<KeyValue>,
    /// The object as the clients of one group/version see it, once a GET
    /// encoded it; an object changed by a write is a new `CachedObject`,
    /// so this is never stale.
    json: OnceLock<Encoded>,
}

#[derive(Debug)]
struct Encoded {
    group: Box<str>,
    version: Box<str>,
    json: Bytes,
}

impl CachedObject {
    fn new(kv: Arc<KeyValue>) -> Arc<Self> {
        Arc::new(Self {
            kv,
            json: OnceLock::new(),
        })
    }

    /// The object's JSON for clients of `group`/`version`: the bytes kept
    /// when they were encoded for that group/version, else `encode`'s,
    /// kept when nothing is kept yet (one group/version per object: a
    /// client of another one encodes each time).
    pub(crate) fn json<E>(
        &self,
        group: &str,
        version: &str,
        encode: impl FnOnce(&KeyValue) -> Result<Bytes, E>,
    ) -> Result<Bytes, E> {
        kept(&self.json, group, version, || encode(&self.kv))
    }
}

/// One event of a resource, with room for its watch line as the watchers
/// of one group/version see it when they filter nothing
/// ([`CachedEvent::line`]): encoded by the first such watcher, sent as is
/// by the others.
#[derive(Debug)]
pub(crate) struct CachedEvent {
    pub(crate) event: Event,
    line: OnceLock<Encoded>,
}

impl CachedEvent {
    pub(crate) fn new(event: Event) -> Self {
        Self {
            event,
            line: OnceLock::new(),
        }
    }

    /// The event's watch line for watchers of `group`/`version` that
    /// filter nothing: kept as [`CachedObject::json`] keeps an object's.
    pub(crate) fn line<E>(
        &self,
        group: &str,
        version: &str,
        encode: impl FnOnce(&Event) -> Result<Bytes, E>,
    ) -> Result<Bytes, E> {
        kept(&self.line, group, version, || encode(&self.event))
    }
}

/// The bytes kept in `slot` when they were encoded for `group`/`version`,
/// else `encode`'s, kept when nothing is kept yet.
fn kept<E>(
    slot: &OnceLock<Encoded>,
    group: &str,
    version: &str,
    encode: impl FnOnce() -> Result<Bytes, E>,
) -> Result<Bytes, E> {
    if let Some(e) = slot.get() {
        if &*e.group == group && &*e.version == version {
            return Ok(e.json.clone());
        }
        return encode();
    }
    let json = encode()?;
    let _ = slot.set(Encoded {
        group: group.into(),
        version: version.into(),
        json: json.clone(),
    });
    Ok(json)
}

struct CacheState {
    objects: BTreeMap<String, Arc<CachedObject>>,
    window: VecDeque<Arc<CachedEvent>>,
    window_cap: usize,
    /// The revision of the initial list: history before it was never here.
    origin: Revision,
    /// Every event of the resource after this revision is in `window`.
    window_start: Revision,
    /// The newest event of this resource (the state is the snapshot at
    /// every revision from here to `revision`).
    last_change: Revision,
    revision: Revision,
}

/// A page of a list served from memory.
#[derive(Debug)]
pub(crate) struct CachedPage {
    pub(crate) items: Vec<Arc<KeyValue>>,
    pub(crate) revision: Revision,
    pub(crate) more: bool,
}

impl ResourceCache {
    /// Loads the objects under `prefix` page by page at one revision and
    /// opens the store watch that follows them.
    async fn load(
        store: &dyn Store,
        prefix: &str,
        window: usize,
        labels: Arc<Labels>,
    ) -> Result<(Arc<Self>, Watch), StoreError> {
        let mut objects = BTreeMap::new();
        let mut revision = 0;
        let mut start_after = None;
        loop {
            let page = store
                .list(
                    prefix,
                    ListOptions {
                        revision,
                        limit: LOAD_PAGE,
                        start_after: start_after.take(),
                    },
                )
                .await?;
            revision = page.revision;
            start_after = page.items.last().map(|kv| kv.key.clone());
            for kv in page.items {
                objects.insert(kv.key.clone(), CachedObject::new(Arc::new(kv)));
            }
            if !page.more {
                break;
            }
        }
        let watch = store.watch(prefix, revision).await?;
        let progress_reliable = store.progress_is_reliable().await;
        let cache = Self::from_state(
            prefix,
            CacheState {
                objects,
                window: VecDeque::new(),
                window_cap: window.max(1),
                origin: revision,
                window_start: revision,
                last_change: revision,
                revision,
            },
            watch.progress_requester(),
            progress_reliable,
            labels,
        );
        Ok((cache, watch))
    }

    fn from_state(
        prefix: &str,
        state: CacheState,
        progress: ProgressRequester,
        progress_reliable: bool,
        labels: Arc<Labels>,
    ) -> Arc<Self> {
        let (revision, _) = watch::channel(state.revision);
        let (ended, _) = watch::channel(false);
        Arc::new(Self {
            prefix: prefix.to_owned(),
            state: RwLock::new(state),
            revision,
            events: broadcast::channel(FANOUT).0,
            ended,
            progress,
            labels,
            progress_reliable,
        })
    }

    fn is_live(&self) -> bool {
        !*self.ended.borrow()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, CacheState> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies the store's updates until the watch fails, the server stops
    /// or the resource is no longer served.
    async fn feed(
        self: Arc<Self>,
        mut watch: Watch,
        mut shutdown: watch::Receiver<bool>,
        served: impl Fn() -> bool + Send + 'static,
        mut served_changed: Option<watch::Receiver<u64>>,
    ) {
        loop {
            let update = tokio::select! {
                u = watch.next_update() => u,
                _ = shutdown.wait_for(|stopping| *stopping) => break,
                changed = async {
                    match served_changed.as_mut() {
                        Some(rx) => rx.changed().await.is_ok(),
                        None => std::future::pending().await,
                    }
                } => {
                    if !changed || !served() {
                        break;
                    }
                    continue;
                }
            };
            match update {
                Some(Ok(Update::Event(e))) => self.apply(e),
                Some(Ok(Update::Progress(rev))) if self.progress_reliable => self.advance(rev),
                Some(Ok(Update::Progress(_))) => {}
                Some(Err(e)) => {
                    tracing::info!(prefix = %self.prefix, error = %e, "watch cache: store watch ended; the next read reloads");
                    break;
                }
                None => break,
            }
        }
        self.ended.send_replace(true);
    }

    /// One event of the resource: the state, the window and the watchers.
    fn apply(&self, event: Event) {
        let rev = event.revision();
        let mut s = self.state.write().unwrap_or_else(PoisonError::into_inner);
        if rev <= s.revision {
            return;
        }
        self.labels
            .metrics
            .events_received
            .inc(&self.labels.values());
        match &event {
            Event::Put { kv, .. } => {
                s.objects
                    .insert(kv.key.clone(), CachedObject::new(Arc::new(kv.clone())));
            }
            Event::Delete { prev, .. } => {
                s.objects.remove(&prev.key);
            }
        }
        let event = Arc::new(CachedEvent::new(event));
        if s.window.len() >= s.window_cap
            && let Some(old) = s.window.pop_front()
        {
            s.window_start = old.event.revision();
        }
        s.window.push_back(Arc::clone(&event));
        s.last_change = rev;
        s.revision = rev;
        // Sent under the lock: a watcher subscribing under it sees each
        // event either in the window or live, never both or neither.
        let _ = self.events.send(event);
        drop(s);
        self.revision.send_replace(rev);
    }

    /// The store reports every event up to `rev` delivered.
    fn advance(&self, rev: Revision) {
        let mut s = self.state.write().unwrap_or_else(PoisonError::into_inner);
        if rev > s.revision {
            s.revision = rev;
            drop(s);
            self.revision.send_replace(rev);
        }
    }

    /// The revision the cache has reached.
    #[cfg(test)]
    pub(crate) fn revision(&self) -> Revision {
        self.read().revision
    }

    /// Waits (at most [`FRESH_WAIT`]) until the cache has reached the
    /// store's current revision; `false`: read storage instead.
    pub(crate) async fn wait_fresh(&self, store: &dyn Store) -> bool {
        if !self.progress_reliable {
            return false;
        }
        let started = Instant::now();
        let fresh = match store.current_revision().await {
            Ok(current) => self.wait_for(current).await,
            Err(_) => false,
        };
        let m = &self.labels.metrics;
        let [group, resource] = self.labels.values();
        m.read_wait.observe(&[group, resource], started.elapsed());
        let (success, fallback) = if fresh {
            ("true", "false")
        } else {
            ("false", "true")
        };
        m.consistent_reads
            .inc(&[group, resource, success, fallback]);
        fresh
    }

    /// Waits (at most [`FRESH_WAIT`]) until the cache has reached `rev`.
    pub(crate) async fn wait_for(&self, rev: Revision) -> bool {
        let mut seen = self.revision.subscribe();
        let reached = async {
            loop {
                if *seen.borrow_and_update() >= rev {
                    return true;
                }
                if !self.is_live() {
                    return false;
                }
                if self.progress_reliable {
                    self.progress.request();
                }
                // Progress requests may be dropped (a full queue, an etcd
                // watch not yet in sync): ask again until it arrives.
                if let Ok(Err(_)) = tokio::time::timeout(PROGRESS_EVERY, seen.changed()).await {
                    return false;
                }
            }
        };
        tokio::time::timeout(FRESH_WAIT, reached)
            .await
            .unwrap_or(false)
    }

    /// The object at `key` in the cache's current state.
    pub(crate) fn get(&self, key: &str) -> Option<Arc<CachedObject>> {
        self.read().objects.get(key).cloned()
    }

    /// A page of the objects under `prefix` after `start_after`, at most
    /// `limit` (0: all), at revision `at` (`None`: the newest the cache
    /// has). `None` when the cache does not hold the state at `at`.
    pub(crate) fn list(
        &self,
        prefix: &str,
        at: Option<Revision>,
        start_after: Option<&str>,
        limit: usize,
    ) -> Option<CachedPage> {
        let s = self.read();
        let revision = match at {
            Some(at) if at < s.last_change || at > s.revision => return None,
            Some(at) => at,
            None => s.revision,
        };
        let lower = match start_after {
            Some(k) => Bound::Excluded(k),
            None => Bound::Included(prefix),
        };
        let mut range = s
            .objects
            .range::<str, _>((lower, Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(_, o)| Arc::clone(&o.kv));
        let items: Vec<_> = if limit == 0 {
            range.by_ref().collect()
        } else {
            range.by_ref().take(limit).collect()
        };
        let more = range.next().is_some();
        Some(CachedPage {
            items,
            revision,
            more,
        })
    }

    /// Events under `prefix` after revision `after`: replayed from the
    /// window, then live. `None`: the cache began after `after` (ask the
    /// store). A revision the window no longer covers gives a stream whose
    /// only item is [`StoreError::Compacted`].
    pub(crate) fn watch(&self, prefix: &str, after: Revision) -> Option<EventStream> {
        let s = self.read();
        if after < s.origin {
            return None;
        }
        if after < s.window_start {
            return Some(EventStream::Failed(Some(StoreError::Compacted {
                requested: after,
                compacted: s.window_start,
            })));
        }
        let live = self.events.subscribe();
        let backlog = s
            .window
            .iter()
            .filter(|e| e.event.revision() > after && e.event.key().starts_with(prefix))
            .cloned()
            .collect();
        drop(s);
        Some(EventStream::Cache(CacheWatch {
            backlog,
            live,
            ended: self.ended.subscribe(),
            prefix: prefix.to_owned(),
            last: after,
            labels: Arc::clone(&self.labels),
        }))
    }
}

/// A watch's events: from a resource's cache (shared, never copied) or
/// from the store.
#[derive(Debug)]
pub(crate) enum EventStream {
    Cache(CacheWatch),
    Store(Watch),
    /// Ends at once with this error.
    Failed(Option<StoreError>),
}

impl EventStream {
    /// The next event; `None` once the stream has ended (a cache watcher
    /// that fell behind ends too: the client resumes from the last
    /// revision it saw). An error is the last item.
    pub(crate) async fn next(&mut self) -> Option<Result<Arc<CachedEvent>, StoreError>> {
        match self {
            EventStream::Cache(w) => w.next().await.map(Ok),
            EventStream::Store(w) => w
                .next()
                .await
                .map(|e| e.map(|e| Arc::new(CachedEvent::new(e)))),
            EventStream::Failed(e) => e.take().map(Err),
        }
    }
}

/// One watcher of a resource's cache: its backlog, then live events under
/// its prefix.
#[derive(Debug)]
pub(crate) struct CacheWatch {
    backlog: VecDeque<Arc<CachedEvent>>,
    live: broadcast::Receiver<Arc<CachedEvent>>,
    ended: watch::Receiver<bool>,
    prefix: String,
    last: Revision,
    labels: Arc<Labels>,
}

impl CacheWatch {
    async fn next(&mut self) -> Option<Arc<CachedEvent>> {
        if let Some(e) = self.backlog.pop_front() {
            self.last = e.event.revision();
            return Some(e);
        }
        loop {
            let e = tokio::select! {
                biased;
                e = self.live.recv() => e,
                _ = self.ended.wait_for(|ended| *ended) => return None,
            };
            match e {
                Ok(e)
                    if e.event.revision() > self.last
                        && e.event.key().starts_with(&self.prefix) =>
                {
                    self.last = e.event.revision();
                    return Some(e);
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    self.labels
                        .metrics
                        .terminated_watchers
                        .inc(&self.labels.values());
                    return None;
                }
                // The cache is gone.
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

/// Fan-out latency in-process, for benchmarks: `watchers` watchers of one
/// resource, then `events` updates of one object of `object_bytes` bytes
/// applied one after another (each once every watcher had the previous
/// one); returns, for every event and watcher, the time from the event
/// entering the cache to the watcher's stream yielding it.
pub async fn fanout_latencies(
    watchers: usize,
    events: usize,
    object_bytes: usize,
) -> Vec<Duration> {
    use tokio::time::Instant;
    const PREFIX: &str = "/core/configmaps/";
    let cache = ResourceCache::from_state(
        PREFIX,
        CacheState {
            objects: BTreeMap::new(),
            window: VecDeque::new(),
            window_cap: DEFAULT_WINDOW,
            origin: 0,
            window_start: 0,
            last_change: 0,
            revision: 0,
        },
        ProgressRequester::default(),
        true,
        Labels::of(PREFIX, Arc::default()),
    );
    let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel::<(Revision, Instant)>();
    let mut tasks = Vec::with_capacity(watchers);
    for _ in 0..watchers {
        let Some(mut w) = cache.watch(PREFIX, 0) else {
            return Vec::new();
        };
        let seen = seen_tx.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(Ok(e)) = w.next().await {
                if seen.send((e.event.revision(), Instant::now())).is_err() {
                    return;
                }
            }
        }));
    }
    let value = vec![b' '; object_bytes];
    let mut latencies = Vec::with_capacity(watchers * events);
    for rev in 1..=events as Revision {
        let kv = KeyValue {
            key: format!("{PREFIX}default/fanout"),
            value: value.clone(),
            create_revision: 1,
            mod_revision: rev,
        };
        let sent = Instant::now();
        cache.apply(Event::Put { kv, prev: None });
        let mut got = 0;
        while got < watchers {
            match seen_rx.recv().await {
                Some((r, at)) if r == rev => {
                    latencies.push(at.saturating_duration_since(sent));
                    got += 1;
                }
                Some(_) => {}
                None => return latencies,
            }
        }
    }
    cache.ended.send_replace(true);
    for t in tasks {
        let _ = t.await;
    }
    latencies
}

#[cfg(test)]
mod tests;
