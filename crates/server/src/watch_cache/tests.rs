use super::*;

use skewless_store::WriteOptions;
use skewless_store::sqlite::{SqliteOptions, SqliteStore};

fn kv(key: &str, rev: Revision) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: format!("{{\"rev\":{rev}}}").into_bytes(),
        create_revision: rev,
        mod_revision: rev,
    }
}

fn put(key: &str, rev: Revision) -> Event {
    Event::Put {
        kv: kv(key, rev),
        prev: None,
    }
}

/// A cache with no objects at revision 10, fed by hand.
fn empty(window: usize) -> Arc<ResourceCache> {
    ResourceCache::from_state(
        "/core/configmaps/",
        CacheState {
            objects: BTreeMap::new(),
            window: VecDeque::new(),
            window_cap: window,
            origin: 10,
            window_start: 10,
            last_change: 10,
            revision: 10,
        },
        ProgressRequester::default(),
        true,
        Labels::of("/core/configmaps/", Arc::default()),
    )
}

async fn next_event(w: &mut EventStream) -> Option<Event> {
    match tokio::time::timeout(Duration::from_secs(10), w.next()).await {
        Ok(Some(Ok(e))) => Some(e.event.clone()),
        _ => None,
    }
}

fn revisions(page: &CachedPage) -> Vec<(String, Revision)> {
    page.items
        .iter()
        .map(|kv| (kv.key.clone(), kv.mod_revision))
        .collect()
}

#[tokio::test]
async fn events_update_state_and_reach_watchers_in_order() {
    let cache = empty(100);
    let mut all = cache
        .watch("/core/configmaps/", 10)
        .unwrap_or_else(|| panic!("no watch"));
    let mut ns_b = cache
        .watch("/core/configmaps/b/", 10)
        .unwrap_or_else(|| panic!("no watch"));
    cache.apply(put("/core/configmaps/a/x", 11));
    cache.apply(put("/core/configmaps/b/y", 12));
    cache.apply(Event::Delete {
        prev: kv("/core/configmaps/a/x", 11),
        revision: 13,
    });
    // A stale duplicate changes nothing.
    cache.apply(put("/core/configmaps/a/x", 12));
    assert_eq!(cache.revision(), 13);
    assert!(cache.get("/core/configmaps/a/x").is_none());
    assert_eq!(
        cache.get("/core/configmaps/b/y").map(|o| o.kv.mod_revision),
        Some(12)
    );
    let got: Vec<Revision> = [
        next_event(&mut all).await,
        next_event(&mut all).await,
        next_event(&mut all).await,
    ]
    .iter()
    .map(|e| e.as_ref().map_or(0, |e| e.revision()))
    .collect();
    assert_eq!(got, vec![11, 12, 13]);
    // A watch of one namespace sees that namespace only.
    assert_eq!(next_event(&mut ns_b).await.map(|e| e.revision()), Some(12));
    // A watch from a revision the window covers replays after it.
    let mut late = cache
        .watch("/core/configmaps/", 11)
        .unwrap_or_else(|| panic!("no watch"));
    assert_eq!(next_event(&mut late).await.map(|e| e.revision()), Some(12));
    assert_eq!(next_event(&mut late).await.map(|e| e.revision()), Some(13));
}

#[tokio::test]
async fn window_is_capped_and_older_revisions_are_expired() {
    let cache = empty(3);
    for rev in 11..=16 {
        cache.apply(put(&format!("/core/configmaps/a/o{rev}"), rev));
    }
    // Events 14..=16 are kept: from 13 on the window covers everything.
    let mut w = cache
        .watch("/core/configmaps/", 13)
        .unwrap_or_else(|| panic!("no watch"));
    assert_eq!(next_event(&mut w).await.map(|e| e.revision()), Some(14));
    let mut old = cache
        .watch("/core/configmaps/", 12)
        .unwrap_or_else(|| panic!("no watch"));
    match old.next().await {
        Some(Err(StoreError::Compacted {
            requested,
            compacted,
        })) => assert_eq!((requested, compacted), (12, 13)),
        other => panic!("expected Compacted, got {other:?}"),
    }
    // Before the cache began: storage's business.
    assert!(cache.watch("/core/configmaps/", 9).is_none());
}

#[test]
fn lists_page_the_current_snapshot_and_only_revisions_it_stands_for() {
    let cache = empty(10);
    for (i, rev) in (11..=15).enumerate() {
        cache.apply(put(&format!("/core/configmaps/a/o{i}"), rev));
    }
    cache.apply(put("/core/configmaps/b/z", 16));
    cache.advance(20);
    let page = cache
        .list("/core/configmaps/a/", None, None, 2)
        .unwrap_or_else(|| panic!("no page"));
    assert_eq!(page.revision, 20);
    assert!(page.more);
    assert_eq!(
        revisions(&page),
        vec![
            ("/core/configmaps/a/o0".to_owned(), 11),
            ("/core/configmaps/a/o1".to_owned(), 12)
        ]
    );
    // The next page at the same revision, after the last key.
    let next = cache
        .list(
            "/core/configmaps/a/",
            Some(20),
            Some("/core/configmaps/a/o1"),
            0,
        )
        .unwrap_or_else(|| panic!("no page"));
    assert_eq!(next.items.len(), 3);
    assert!(!next.more);
    // Any revision from the last change (16) to the cache's (20) is this
    // snapshot; older or newer ones are not held.
    assert!(cache.list("/core/configmaps/", Some(16), None, 0).is_some());
    assert!(cache.list("/core/configmaps/", Some(15), None, 0).is_none());
    assert!(cache.list("/core/configmaps/", Some(21), None, 0).is_none());
}

#[tokio::test]
async fn a_slow_watcher_is_closed_without_holding_back_the_others() {
    let cache = empty(10);
    // Never read while the events come: it falls behind the ring.
    let mut slow = cache
        .watch("/core/configmaps/", 10)
        .unwrap_or_else(|| panic!("no watch"));
    let mut fast = cache
        .watch("/core/configmaps/", 10)
        .unwrap_or_else(|| panic!("no watch"));
    let total = FANOUT as Revision * 2;
    let reader = tokio::spawn(async move {
        let mut n = 0;
        while let Some(e) = next_event(&mut fast).await {
            n += 1;
            if e.revision() == 10 + total {
                break;
            }
        }
        n
    });
    for rev in 11..=10 + total {
        cache.apply(put("/core/configmaps/a/x", rev));
        if rev % 64 == 0 {
            // Let the watchers' tasks run, as a busy server would.
            tokio::task::yield_now().await;
        }
    }
    let n = reader.await.unwrap_or_default();
    assert_eq!(n, total, "the fast watcher saw every event");
    // The slow one's stream ends (its client resumes from where it was).
    let mut slow_seen = 0;
    while let Some(e) = slow.next().await {
        assert!(e.is_ok());
        slow_seen += 1;
    }
    assert!(slow_seen < total, "slow watcher was not closed");
}

#[tokio::test]
async fn loads_in_pages_and_catches_up_with_writes_to_other_resources() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(SqliteOptions::new(dir.path().join("db")))
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let n = LOAD_PAGE + 7;
    for i in 0..n {
        let key = format!("/core/configmaps/a/o{i:04}");
        store
            .create(&key, b"{}".to_vec(), WriteOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let (_stop, stopped) = watch::channel(false);
    let caches = WatchCaches::new(Arc::clone(&store), true, 10, stopped);
    let cache = caches
        .resource("/core/configmaps/", || true, None)
        .await
        .unwrap_or_else(|| panic!("no cache"));
    let all = cache
        .list("/core/configmaps/", None, None, 0)
        .unwrap_or_else(|| panic!("no page"));
    assert_eq!(all.items.len(), n);
    // A write to another resource moves the store's revision: the cache
    // learns of it through progress, not an event of its own.
    store
        .create("/core/secrets/a/s", b"{}".to_vec(), WriteOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(cache.wait_fresh(&*store).await);
    let written = store
        .create(
            "/core/configmaps/a/new",
            b"{}".to_vec(),
            WriteOptions::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(cache.wait_fresh(&*store).await);
    assert_eq!(
        cache
            .get("/core/configmaps/a/new")
            .map(|o| o.kv.mod_revision),
        Some(written.mod_revision)
    );
    // Off: no cache, storage serves.
    let (_stop, stopped) = watch::channel(false);
    let off = WatchCaches::new(store, false, 10, stopped);
    assert!(
        off.resource("/core/configmaps/", || true, None)
            .await
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fanout_probe_measures_every_watcher_of_every_event() {
    let latencies = fanout_latencies(50, 4, 256).await;
    assert_eq!(latencies.len(), 200);
}

/// A cache whose resource stops being served ends, leaves the map (its
/// objects are not kept for the life of the process), and the next read
/// of a served resource builds a fresh one.
#[tokio::test]
async fn an_ended_cache_is_forgotten() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(SqliteOptions::new(dir.path().join("db")))
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    );
    store
        .create(
            "/stable.example.com/crontabs/a/x",
            b"{}".to_vec(),
            WriteOptions::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (_stop, stopped) = watch::channel(false);
    let caches = WatchCaches::new(Arc::clone(&store), true, 10, stopped);
    let served = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let (changed, changes) = watch::channel(0u64);
    let still = Arc::clone(&served);
    let first = caches
        .resource(
            "/stable.example.com/crontabs/",
            move || still.load(std::sync::atomic::Ordering::SeqCst),
            Some(changes),
        )
        .await
        .unwrap_or_else(|| panic!("no cache"));
    assert!(first.is_live());
    served.store(false, std::sync::atomic::Ordering::SeqCst);
    changed.send_replace(1);
    for _ in 0..200 {
        let held = caches
            .caches
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key("/stable.example.com/crontabs/");
        if !first.is_live() && !held {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!first.is_live(), "the feed ended");
    assert!(
        !caches
            .caches
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key("/stable.example.com/crontabs/"),
        "the ended cache left the map"
    );
    let again = caches
        .resource("/stable.example.com/crontabs/", || true, None)
        .await
        .unwrap_or_else(|| panic!("no cache"));
    assert!(again.is_live() && !Arc::ptr_eq(&first, &again));
    assert!(again.get("/stable.example.com/crontabs/a/x").is_some());
}

#[test]
fn an_objects_json_is_encoded_once_per_group_version_and_never_outlives_a_change() {
    let cache = empty(10);
    cache.apply(put("/core/configmaps/a/x", 11));
    let encodes = std::cell::Cell::new(0);
    let encode = |kv: &KeyValue| -> Result<Bytes, ()> {
        encodes.set(encodes.get() + 1);
        Ok(Bytes::from(kv.value.clone()))
    };
    let obj = cache.get("/core/configmaps/a/x").unwrap();
    assert_eq!(obj.json("", "v1", encode).unwrap(), "{\"rev\":11}");
    assert_eq!(obj.json("", "v1", encode).unwrap(), "{\"rev\":11}");
    assert_eq!(encodes.get(), 1, "the second GET is served the kept bytes");
    // Another group or version is encoded each time, never given the
    // first one's bytes.
    let other = |kv: &KeyValue| -> Result<Bytes, ()> {
        encodes.set(encodes.get() + 1);
        Ok(Bytes::from(format!("other {}", kv.mod_revision)))
    };
    assert_eq!(obj.json("", "v2", other).unwrap(), "other 11");
    assert_eq!(obj.json("events.k8s.io", "v1", other).unwrap(), "other 11");
    assert_eq!(encodes.get(), 3);
    // A change is a new object: its JSON is encoded afresh.
    cache.apply(put("/core/configmaps/a/x", 12));
    let changed = cache.get("/core/configmaps/a/x").unwrap();
    assert_eq!(changed.json("", "v1", encode).unwrap(), "{\"rev\":12}");
    assert_eq!(encodes.get(), 4);
    // A failed encoding keeps nothing.
    cache.apply(put("/core/configmaps/a/x", 13));
    let failing = cache.get("/core/configmaps/a/x").unwrap();
    assert!(failing.json("", "v1", |_| Err::<Bytes, _>(())).is_err());
    assert_eq!(failing.json("", "v1", encode).unwrap(), "{\"rev\":13}");
}

#[tokio::test]
async fn every_watcher_shares_one_event_and_its_encoded_line() {
    let cache = empty(10);
    let mut live = cache
        .watch("/core/configmaps/", 10)
        .unwrap_or_else(|| panic!("no watch"));
    cache.apply(put("/core/configmaps/a/x", 11));
    // One watcher replays it from the window, the other had it live.
    let mut replay = cache
        .watch("/core/configmaps/", 10)
        .unwrap_or_else(|| panic!("no watch"));
    let first = match live.next().await {
        Some(Ok(e)) => e,
        other => panic!("{other:?}"),
    };
    let second = match replay.next().await {
        Some(Ok(e)) => e,
        other => panic!("{other:?}"),
    };
    assert!(Arc::ptr_eq(&first, &second), "one event, never a copy");
    let encodes = std::cell::Cell::new(0);
    let encode = |e: &Event| -> Result<Bytes, ()> {
        encodes.set(encodes.get() + 1);
        Ok(Bytes::from(format!("line {}\n", e.revision())))
    };
    assert_eq!(first.line("", "v1", encode).unwrap(), "line 11\n");
    assert_eq!(second.line("", "v1", encode).unwrap(), "line 11\n");
    assert_eq!(encodes.get(), 1, "the second watcher sends the kept line");
    // Watchers of another version encode their own.
    assert_eq!(second.line("", "v2", encode).unwrap(), "line 11\n");
    assert_eq!(encodes.get(), 2);
}

#[tokio::test]
async fn unreliable_progress_never_serves_a_read_that_must_be_current() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = SqliteStore::open(SqliteOptions::new(dir.path().join("db")))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut cache = empty(10);
    assert!(cache.wait_fresh(&store).await, "caught up: revision 10 ≥ 0");
    Arc::get_mut(&mut cache)
        .unwrap_or_else(|| panic!("shared"))
        .progress_reliable = false;
    // Even caught up, a current read goes to storage; one at least as new
    // as what the cache holds is still served.
    assert!(!cache.wait_fresh(&store).await);
    assert!(cache.wait_for(10).await);
}

#[test]
fn metrics_are_labelled_by_group_and_resource() {
    let core = Labels::of("/core/configmaps/", Arc::default());
    assert_eq!(core.values(), ["", "configmaps"]);
    let apps = Labels::of("/apps/deployments/", Arc::default());
    assert_eq!(apps.values(), ["apps", "deployments"]);
}
