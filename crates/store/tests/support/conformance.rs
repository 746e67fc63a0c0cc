//! The storage conformance suite: one set of checks that every engine must
//! pass unchanged. Each check takes a fresh [`Fixture`]; `conformance_suite!`
//! turns them into `#[tokio::test]`s for an engine.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use skewless_store::{Event, KeyValue, ListOptions, Revision, StoreError, Watch, WriteOptions};

use super::Fixture;

const NO_TTL: WriteOptions = WriteOptions { ttl: None };

/// Generates one test per conformance check. `$fixture` gives a store that
/// may be shared with other tests; `$private` one that no other test uses
/// (needed where the check compacts history).
macro_rules! conformance_suite {
    ($fixture:path, $private:path) => {
        mod conformance {
            use super::*;
            conformance_suite!(@tests $fixture;
                crud, create_exists, guarded_writes, concurrent_updates_one_winner_per_revision,
                list_at_past_revision, pagination_is_a_consistent_snapshot, count_and_prefix_isolation,
                watch_from_now, watch_from_past_revision, watch_from_zero, watch_resume_no_gap_no_duplicate,
                watch_ordering_under_concurrent_writers, watch_slow_consumer_catches_up,
                ttl_expiry, ttl_refresh, future_revision);
            conformance_suite!(@tests $private;
                watch_compacted, list_compacted, compaction_keeps_current_values);
        }
    };
    (@tests $fixture:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                crate::support::conformance::$name($fixture().await).await;
            }
        )*
    };
}

fn bytes(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

async fn next_event(w: &mut Watch) -> Event {
    match tokio::time::timeout(Duration::from_secs(10), w.next()).await {
        Ok(Some(Ok(e))) => e,
        Ok(Some(Err(e))) => panic!("watch failed: {e}"),
        Ok(None) => panic!("watch ended"),
        Err(_) => panic!("no event within 10 s"),
    }
}

async fn no_event_for(w: &mut Watch, d: Duration) {
    if let Ok(item) = tokio::time::timeout(d, w.next()).await {
        panic!("unexpected watch item: {item:?}");
    }
}

fn put(e: &Event) -> (&KeyValue, Option<&KeyValue>) {
    match e {
        Event::Put { kv, prev } => (kv, prev.as_ref()),
        other => panic!("expected a put, got {other:?}"),
    }
}

pub async fn crud(fx: Fixture) {
    let s = &fx.store;
    let k = fx.key("a");
    assert!(s.get(&k).await.unwrap().is_none());
    let created = s.create(&k, bytes("one"), NO_TTL).await.unwrap();
    assert_eq!(created.create_revision, created.mod_revision);
    assert_eq!(s.get(&k).await.unwrap().as_ref(), Some(&created));

    let updated = s
        .update(&k, bytes("two"), created.mod_revision, NO_TTL)
        .await
        .unwrap();
    assert!(updated.mod_revision > created.mod_revision);
    assert_eq!(updated.create_revision, created.create_revision);
    assert_eq!(s.get(&k).await.unwrap().unwrap().value, bytes("two"));

    let (deleted, at) = s.delete(&k, Some(updated.mod_revision)).await.unwrap();
    assert_eq!(deleted.value, bytes("two"));
    assert!(at > updated.mod_revision);
    assert!(s.get(&k).await.unwrap().is_none());
    assert!(s.current_revision().await.unwrap() >= at);
}

pub async fn create_exists(fx: Fixture) {
    let s = &fx.store;
    let k = fx.key("a");
    let first = s.create(&k, bytes("1"), NO_TTL).await.unwrap();
    match s.create(&k, bytes("2"), NO_TTL).await {
        Err(StoreError::Exists(key)) => assert_eq!(key, k),
        other => panic!("expected Exists, got {other:?}"),
    }
    assert_eq!(s.get(&k).await.unwrap().unwrap().value, bytes("1"));
    s.delete(&k, None).await.unwrap();
    let again = s.create(&k, bytes("3"), NO_TTL).await.unwrap();
    assert!(again.create_revision > first.create_revision);
    assert_eq!(again.create_revision, again.mod_revision);
}

pub async fn guarded_writes(fx: Fixture) {
    let s = &fx.store;
    let k = fx.key("a");
    match s.update(&k, bytes("x"), 1, NO_TTL).await {
        Err(StoreError::NotFound(_)) => {}
        other => panic!("update of a missing key: expected NotFound, got {other:?}"),
    }
    match s.delete(&k, None).await {
        Err(StoreError::NotFound(_)) => {}
        other => panic!("delete of a missing key: expected NotFound, got {other:?}"),
    }
    let v1 = s.create(&k, bytes("1"), NO_TTL).await.unwrap();
    let v2 = s
        .update(&k, bytes("2"), v1.mod_revision, NO_TTL)
        .await
        .unwrap();
    match s.update(&k, bytes("stale"), v1.mod_revision, NO_TTL).await {
        Err(StoreError::Conflict {
            expected, current, ..
        }) => {
            assert_eq!(expected, v1.mod_revision);
            assert_eq!(current.as_deref(), Some(&v2));
        }
        other => panic!("stale update: expected Conflict, got {other:?}"),
    }
    match s.delete(&k, Some(v1.mod_revision)).await {
        Err(StoreError::Conflict { current, .. }) => assert_eq!(current.as_deref(), Some(&v2)),
        other => panic!("stale delete: expected Conflict, got {other:?}"),
    }
    match s.update(&k, bytes("zero"), 0, NO_TTL).await {
        Err(StoreError::Conflict { .. }) => {}
        other => panic!("update at revision 0: expected Conflict, got {other:?}"),
    }
    assert_eq!(s.get(&k).await.unwrap().as_ref(), Some(&v2));
}

pub async fn concurrent_updates_one_winner_per_revision(fx: Fixture) {
    let k = fx.key("counter");
    let start = fx.store.create(&k, bytes("0"), NO_TTL).await.unwrap();
    let tasks = 8;
    let per_task = 15;
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let s = Arc::clone(&fx.store);
        let k = k.clone();
        handles.push(tokio::spawn(async move {
            let mut won = Vec::new();
            for _ in 0..per_task {
                loop {
                    let cur = s.get(&k).await.unwrap().unwrap();
                    let n: u64 = std::str::from_utf8(&cur.value).unwrap().parse().unwrap();
                    match s
                        .update(
                            &k,
                            (n + 1).to_string().into_bytes(),
                            cur.mod_revision,
                            NO_TTL,
                        )
                        .await
                    {
                        Ok(kv) => {
                            won.push((cur.mod_revision, kv.mod_revision));
                            break;
                        }
                        Err(StoreError::Conflict { .. }) => continue,
                        Err(e) => panic!("update failed: {e}"),
                    }
                }
            }
            won
        }));
    }
    let mut based_on = BTreeSet::new();
    let mut produced = BTreeSet::new();
    for h in handles {
        for (base, rev) in h.await.unwrap() {
            // Exactly one winner per base revision.
            assert!(based_on.insert(base), "two updates won on revision {base}");
            assert!(produced.insert(rev));
        }
    }
    let total = (tasks * per_task) as u64;
    assert_eq!(based_on.len() as u64, total);
    assert!(based_on.contains(&start.mod_revision));
    let last = fx.store.get(&k).await.unwrap().unwrap();
    assert_eq!(last.value, total.to_string().into_bytes());
}

pub async fn list_at_past_revision(fx: Fixture) {
    let s = &fx.store;
    let a = s.create(&fx.key("a"), bytes("a1"), NO_TTL).await.unwrap();
    s.create(&fx.key("b"), bytes("b1"), NO_TTL).await.unwrap();
    let then = s.current_revision().await.unwrap();
    s.update(&fx.key("a"), bytes("a2"), a.mod_revision, NO_TTL)
        .await
        .unwrap();
    s.delete(&fx.key("b"), None).await.unwrap();
    s.create(&fx.key("c"), bytes("c1"), NO_TTL).await.unwrap();

    let past = s
        .list(
            &fx.prefix,
            ListOptions {
                revision: then,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(past.revision, then);
    let got: Vec<_> = past
        .items
        .iter()
        .map(|kv| (kv.key.clone(), kv.value.clone()))
        .collect();
    assert_eq!(
        got,
        vec![(fx.key("a"), bytes("a1")), (fx.key("b"), bytes("b1"))]
    );

    let now = s.list(&fx.prefix, ListOptions::default()).await.unwrap();
    assert!(now.revision > then);
    let got: Vec<_> = now
        .items
        .iter()
        .map(|kv| (kv.key.clone(), kv.value.clone()))
        .collect();
    assert_eq!(
        got,
        vec![(fx.key("a"), bytes("a2")), (fx.key("c"), bytes("c1"))]
    );
}

pub async fn pagination_is_a_consistent_snapshot(fx: Fixture) {
    let s = &fx.store;
    for i in 0..10 {
        s.create(
            &fx.key(&format!("k{i:02}")),
            bytes(&format!("v{i}")),
            NO_TTL,
        )
        .await
        .unwrap();
    }
    let mut seen = Vec::new();
    let mut opts = ListOptions {
        limit: 3,
        ..Default::default()
    };
    let mut pages = 0;
    loop {
        let page = s.list(&fx.prefix, opts.clone()).await.unwrap();
        pages += 1;
        assert!(page.items.len() <= 3);
        seen.extend(
            page.items
                .iter()
                .map(|kv| (kv.key.clone(), kv.value.clone())),
        );
        // Writes between pages must not show up in later pages.
        let n = pages;
        s.create(&fx.key(&format!("k{n:02}x")), bytes("new"), NO_TTL)
            .await
            .unwrap();
        let victim = fx.key(&format!("k{:02}", 9 - n));
        let _ = s.delete(&victim, None).await;
        if !page.more {
            break;
        }
        opts.revision = page.revision;
        opts.start_after = page.items.last().map(|kv| kv.key.clone());
    }
    assert_eq!(pages, 4);
    let expected: Vec<_> = (0..10)
        .map(|i| (fx.key(&format!("k{i:02}")), bytes(&format!("v{i}"))))
        .collect();
    assert_eq!(seen, expected);
}

pub async fn count_and_prefix_isolation(fx: Fixture) {
    let s = &fx.store;
    s.create(&fx.key("a/1"), bytes("x"), NO_TTL).await.unwrap();
    s.create(&fx.key("a/2"), bytes("x"), NO_TTL).await.unwrap();
    s.create(&fx.key("ab"), bytes("x"), NO_TTL).await.unwrap();
    s.create(&fx.key("b/1"), bytes("x"), NO_TTL).await.unwrap();
    s.delete(&fx.key("a/2"), None).await.unwrap();
    assert_eq!(s.count(&fx.key("a/")).await.unwrap(), 1);
    assert_eq!(s.count(&fx.prefix).await.unwrap(), 3);
    let list = s.list(&fx.key("a/"), ListOptions::default()).await.unwrap();
    assert_eq!(list.items.len(), 1);
    assert_eq!(list.items[0].key, fx.key("a/1"));
}

pub async fn watch_from_now(fx: Fixture) {
    let s = &fx.store;
    let now = s.current_revision().await.unwrap();
    let mut w = s.watch(&fx.prefix, now).await.unwrap();
    let k = fx.key("a");
    let c = s.create(&k, bytes("1"), NO_TTL).await.unwrap();
    let u = s
        .update(&k, bytes("2"), c.mod_revision, NO_TTL)
        .await
        .unwrap();
    let (_, d) = s.delete(&k, None).await.unwrap();
    // A key outside the prefix is not delivered.
    s.create(
        &format!("{}-outside", fx.prefix.trim_end_matches('/')),
        bytes("o"),
        NO_TTL,
    )
    .await
    .unwrap();

    let e = next_event(&mut w).await;
    let (kv, prev) = put(&e);
    assert_eq!((kv, prev), (&c, None));
    let e = next_event(&mut w).await;
    let (kv, prev) = put(&e);
    assert_eq!(kv, &u);
    assert_eq!(prev, Some(&c));
    match next_event(&mut w).await {
        Event::Delete { prev, revision } => {
            assert_eq!(revision, d);
            assert_eq!(prev.value, bytes("2"));
            assert_eq!(prev.mod_revision, u.mod_revision);
        }
        other => panic!("expected a delete, got {other:?}"),
    }
    no_event_for(&mut w, Duration::from_millis(300)).await;
}

pub async fn watch_from_past_revision(fx: Fixture) {
    let s = &fx.store;
    let a = s.create(&fx.key("a"), bytes("1"), NO_TTL).await.unwrap();
    let b = s.create(&fx.key("b"), bytes("1"), NO_TTL).await.unwrap();
    let a2 = s
        .update(&fx.key("a"), bytes("2"), a.mod_revision, NO_TTL)
        .await
        .unwrap();
    let mut w = s.watch(&fx.prefix, a.mod_revision).await.unwrap();
    assert_eq!(next_event(&mut w).await.revision(), b.mod_revision);
    assert_eq!(next_event(&mut w).await.revision(), a2.mod_revision);
    let c = s.create(&fx.key("c"), bytes("1"), NO_TTL).await.unwrap();
    assert_eq!(next_event(&mut w).await.revision(), c.mod_revision);
}

pub async fn watch_from_zero(fx: Fixture) {
    let s = &fx.store;
    let mut revs = Vec::new();
    for i in 0..5 {
        revs.push(
            s.create(&fx.key(&format!("k{i}")), bytes("v"), NO_TTL)
                .await
                .unwrap()
                .mod_revision,
        );
    }
    let mut w = s.watch(&fx.prefix, 0).await.unwrap();
    for rev in revs {
        assert_eq!(next_event(&mut w).await.revision(), rev);
    }
    no_event_for(&mut w, Duration::from_millis(200)).await;
}

pub async fn watch_resume_no_gap_no_duplicate(fx: Fixture) {
    let s = &fx.store;
    let start = s.current_revision().await.unwrap();
    let mut w = s.watch(&fx.prefix, start).await.unwrap();
    let mut written = Vec::new();
    for i in 0..5 {
        written.push(
            s.create(&fx.key(&format!("a{i}")), bytes("v"), NO_TTL)
                .await
                .unwrap()
                .mod_revision,
        );
    }
    let mut last = start;
    for _ in 0..3 {
        last = next_event(&mut w).await.revision();
    }
    drop(w);
    for i in 0..5 {
        written.push(
            s.create(&fx.key(&format!("b{i}")), bytes("v"), NO_TTL)
                .await
                .unwrap()
                .mod_revision,
        );
    }
    let mut w = s.watch(&fx.prefix, last).await.unwrap();
    let mut got = written[..3].to_vec();
    for _ in 3..10 {
        got.push(next_event(&mut w).await.revision());
    }
    assert_eq!(got, written);
    no_event_for(&mut w, Duration::from_millis(200)).await;
}

pub async fn watch_ordering_under_concurrent_writers(fx: Fixture) {
    let s = &fx.store;
    let start = s.current_revision().await.unwrap();
    let mut w = s.watch(&fx.prefix, start).await.unwrap();
    let writers = 8;
    let each = 25;
    let mut handles = Vec::new();
    for t in 0..writers {
        let s = Arc::clone(s);
        let prefix = fx.prefix.clone();
        handles.push(tokio::spawn(async move {
            for i in 0..each {
                s.create(&format!("{prefix}w{t}-{i}"), b"v".to_vec(), NO_TTL)
                    .await
                    .unwrap();
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let mut last: Revision = start;
    let mut keys = BTreeSet::new();
    for _ in 0..writers * each {
        let e = next_event(&mut w).await;
        assert!(
            e.revision() > last,
            "revision {} after {}",
            e.revision(),
            last
        );
        last = e.revision();
        assert!(keys.insert(e.key().to_owned()), "duplicate {}", e.key());
    }
    no_event_for(&mut w, Duration::from_millis(300)).await;
}

pub async fn watch_slow_consumer_catches_up(fx: Fixture) {
    let s = &fx.store;
    let start = s.current_revision().await.unwrap();
    let mut w = s.watch(&fx.prefix, start).await.unwrap();
    // Far more events than any queue holds, written while nobody reads.
    let total = 1500;
    let mut handles = Vec::new();
    for t in 0..4 {
        let s = Arc::clone(s);
        let prefix = fx.prefix.clone();
        handles.push(tokio::spawn(async move {
            for i in 0..total / 4 {
                s.create(&format!("{prefix}s{t}-{i}"), vec![b'x'; 64], NO_TTL)
                    .await
                    .unwrap();
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let mut last = start;
    for _ in 0..total {
        let e = next_event(&mut w).await;
        assert!(e.revision() > last);
        last = e.revision();
    }
    no_event_for(&mut w, Duration::from_millis(200)).await;
}

pub async fn ttl_expiry(fx: Fixture) {
    let s = &fx.store;
    let k = fx.key("ephemeral");
    let start = s.current_revision().await.unwrap();
    let mut w = s.watch(&fx.prefix, start).await.unwrap();
    let ttl = WriteOptions {
        ttl: Some(Duration::from_secs(1)),
    };
    s.create(&k, bytes("here"), ttl).await.unwrap();
    assert!(s.get(&k).await.unwrap().is_some());
    put(&next_event(&mut w).await);
    // etcd expires leases with up to about a second of slack.
    match tokio::time::timeout(Duration::from_secs(8), w.next()).await {
        Ok(Some(Ok(Event::Delete { prev, .. }))) => assert_eq!(prev.key, k),
        other => panic!("expected the expiry as a delete, got {other:?}"),
    }
    assert!(s.get(&k).await.unwrap().is_none());
}

pub async fn ttl_refresh(fx: Fixture) {
    let s = &fx.store;
    let k = fx.key("refreshed");
    let ttl = WriteOptions {
        ttl: Some(Duration::from_secs(2)),
    };
    let mut kv = s.create(&k, bytes("0"), ttl).await.unwrap();
    for i in 1..=4 {
        tokio::time::sleep(Duration::from_millis(700)).await;
        kv = s
            .update(&k, i.to_string().into_bytes(), kv.mod_revision, ttl)
            .await
            .unwrap();
    }
    // 2.8 s after the first write, it is still there because it was refreshed.
    assert_eq!(s.get(&k).await.unwrap().unwrap().value, bytes("4"));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(8);
    while s.get(&k).await.unwrap().is_some() {
        assert!(tokio::time::Instant::now() < deadline, "key never expired");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn future_revision(fx: Fixture) {
    let s = &fx.store;
    s.create(&fx.key("a"), bytes("1"), NO_TTL).await.unwrap();
    let now = s.current_revision().await.unwrap();
    let opts = ListOptions {
        revision: now + 1000,
        ..Default::default()
    };
    match s.list(&fx.prefix, opts).await {
        Err(StoreError::FutureRevision { requested, .. }) => assert_eq!(requested, now + 1000),
        other => panic!("expected FutureRevision, got {other:?}"),
    }
}

async fn churn(fx: &Fixture, key: &str, times: usize) -> Vec<Revision> {
    let s = &fx.store;
    let mut kv = s.create(&fx.key(key), bytes("0"), NO_TTL).await.unwrap();
    let mut revs = vec![kv.mod_revision];
    for i in 1..times {
        kv = s
            .update(
                &fx.key(key),
                i.to_string().into_bytes(),
                kv.mod_revision,
                NO_TTL,
            )
            .await
            .unwrap();
        revs.push(kv.mod_revision);
    }
    revs
}

pub async fn watch_compacted(fx: Fixture) {
    let s = &fx.store;
    let revs = churn(&fx, "a", 10).await;
    s.compact(revs[7]).await.unwrap();
    assert!(s.compacted_revision().await.unwrap() >= revs[7]);
    let mut w = s.watch(&fx.prefix, revs[2]).await.unwrap();
    match tokio::time::timeout(Duration::from_secs(10), w.next()).await {
        Ok(Some(Err(StoreError::Compacted { compacted, .. }))) => assert!(compacted >= revs[7]),
        other => panic!("expected Compacted, got {other:?}"),
    }
    assert!(w.next().await.is_none(), "an error ends the watch");
    // Watching from the compaction point itself still works.
    let mut w = s.watch(&fx.prefix, revs[7]).await.unwrap();
    assert_eq!(next_event(&mut w).await.revision(), revs[8]);
    assert_eq!(next_event(&mut w).await.revision(), revs[9]);
}

pub async fn list_compacted(fx: Fixture) {
    let s = &fx.store;
    let revs = churn(&fx, "a", 10).await;
    s.compact(revs[5]).await.unwrap();
    let opts = ListOptions {
        revision: revs[1],
        ..Default::default()
    };
    match s.list(&fx.prefix, opts).await {
        Err(StoreError::Compacted {
            requested,
            compacted,
        }) => {
            assert_eq!(requested, revs[1]);
            assert!(compacted >= revs[5]);
        }
        other => panic!("expected Compacted, got {other:?}"),
    }
    let at = s
        .list(
            &fx.prefix,
            ListOptions {
                revision: revs[5],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(at.items[0].value, bytes("5"));
}

pub async fn compaction_keeps_current_values(fx: Fixture) {
    let s = &fx.store;
    churn(&fx, "a", 20).await;
    churn(&fx, "b", 5).await;
    s.create(&fx.key("gone"), bytes("x"), NO_TTL).await.unwrap();
    s.delete(&fx.key("gone"), None).await.unwrap();
    let before = s.list(&fx.prefix, ListOptions::default()).await.unwrap();
    let now = s.current_revision().await.unwrap();
    s.compact(now).await.unwrap();
    let after = s.list(&fx.prefix, ListOptions::default()).await.unwrap();
    assert_eq!(before.items, after.items);
    assert_eq!(after.items.len(), 2);
    // Writes continue normally after compaction, including re-creating a
    // key whose whole history was compacted.
    let kv = s
        .create(&fx.key("gone"), bytes("back"), NO_TTL)
        .await
        .unwrap();
    assert!(kv.mod_revision > now);
    let a = s.get(&fx.key("a")).await.unwrap().unwrap();
    s.update(&fx.key("a"), bytes("after"), a.mod_revision, NO_TTL)
        .await
        .unwrap();
}
