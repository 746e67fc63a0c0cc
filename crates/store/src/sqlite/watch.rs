//! Watch fan-out: one feed task per process reads the log forward and
//! broadcasts batches; each watch filters its prefix and catches up from the
//! log when it falls behind.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, broadcast, mpsc};

use super::read::{ReaderPool, read_after};
use super::sql::{READ_PAGE, compacted_revision_tx, current_revision_tx, text_prefix_end};
use crate::{Event, Result, Revision, StoreError, Update};

// ---------------------------------------------------------------------------
// Watch fan-out.

pub(crate) async fn feed_loop(
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

pub(crate) async fn watch_loop(
    readers: Arc<ReaderPool>,
    mut live: broadcast::Receiver<Arc<[Event]>>,
    prefix: String,
    mut last: Revision,
    out: mpsc::Sender<Result<Update>>,
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
                    let events = read_after(tx, from, Some(&p), READ_PAGE)?;
                    // Read in the same transaction: a short page holds every
                    // event of the prefix up to here.
                    Ok((events, current_revision_tx(tx)?))
                })
                .await;
            let (events, current) = match page {
                Ok(page) => page,
                Err(e) => {
                    let _ = out.send(Err(e)).await;
                    return;
                }
            };
            let full = events.len() as i64 == READ_PAGE;
            for event in events {
                last = event.revision();
                if out.send(Ok(Update::Event(event))).await.is_err() {
                    return;
                }
            }
            if !full {
                last = last.max(current);
                let _ = out.try_send(Ok(Update::Progress(last)));
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
                        if in_range(event.key())
                            && out.send(Ok(Update::Event(event.clone()))).await.is_err()
                        {
                            return;
                        }
                        last = event.revision();
                    }
                    let _ = out.try_send(Ok(Update::Progress(last)));
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue 'catch_up,
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }
}
