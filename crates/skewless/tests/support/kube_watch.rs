//! A kube-rs `watcher` running in the background, for tests: its events
//! arrive on a channel, and `start` returns once the initial list is done
//! so every later change shows up as a watch event.

use std::time::Duration;

use futures::StreamExt;
use kube::api::Api;
use kube::runtime::watcher;
use serde::de::DeserializeOwned;

/// Applies (`"apply"`) and deletions (`"delete"`) seen by the watcher.
pub type Events<K> = tokio::sync::mpsc::UnboundedReceiver<(&'static str, K)>;

/// Starts watching `api`; returns after the watcher's initial list.
pub async fn start<K>(api: Api<K>) -> Events<K>
where
    K: kube::Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    let (tx, events) = tokio::sync::mpsc::unbounded_channel();
    let (init_tx, init_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut init = Some(init_tx);
        let mut stream = Box::pin(watcher(api, watcher::Config::default()));
        while let Some(event) = stream.next().await {
            match event {
                Ok(watcher::Event::InitDone) => {
                    if let Some(i) = init.take() {
                        let _ = i.send(());
                    }
                }
                Ok(watcher::Event::Apply(o)) => {
                    let _ = tx.send(("apply", o));
                }
                Ok(watcher::Event::Delete(o)) => {
                    let _ = tx.send(("delete", o));
                }
                Ok(_) => {}
                Err(e) => panic!("watcher: {e}"),
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(20), init_rx)
        .await
        .expect("the watcher's initial list within 20 s")
        .expect("the watcher task is running");
    events
}
