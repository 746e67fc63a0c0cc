//! The conformance suite against the embedded SQLite engine, plus what only
//! SQLite has: several OS processes sharing one file, and crash safety.

#[macro_use]
mod support;

use std::sync::Arc;

use skewless_store::sqlite::{SqliteOptions, SqliteStore};
use support::{Fixture, unique_prefix};

async fn fresh() -> Fixture {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(SqliteOptions::new(dir.path().join("state.db")))
        .await
        .expect("opening sqlite");
    Fixture {
        store: Arc::new(store),
        prefix: unique_prefix(),
        _keep: Box::new(dir),
    }
}

conformance_suite!(fresh, fresh);
