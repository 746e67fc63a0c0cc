//! The writer thread: batches concurrent writes into one `BEGIN IMMEDIATE`
//! transaction (group commit) and applies creates, updates and deletes as
//! log rows.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use tokio::sync::{Notify, mpsc, oneshot};

use super::compact::compact_step;
use super::sql::{MAX_BATCH, sql_err};
use crate::{KeyValue, Result, Revision, StoreError};

pub(crate) enum WriteOp {
    Create {
        key: String,
        value: Vec<u8>,
        expires_at: i64,
        reply: oneshot::Sender<Result<KeyValue>>,
    },
    Update {
        key: String,
        value: Vec<u8>,
        expected: Revision,
        expires_at: i64,
        reply: oneshot::Sender<Result<KeyValue>>,
    },
    Delete {
        key: String,
        expected: Option<Revision>,
        reply: oneshot::Sender<Result<(KeyValue, Revision)>>,
    },
    /// One bounded compaction step; replies whether the target is reached.
    Compact {
        target: Revision,
        batch: i64,
        reply: oneshot::Sender<Result<bool>>,
    },
}

// ---------------------------------------------------------------------------
// The writer thread.

pub(crate) fn writer_loop(
    mut conn: Connection,
    mut rx: mpsc::UnboundedReceiver<WriteOp>,
    committed: &Notify,
) {
    let mut batch: Vec<WriteOp> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        // Compaction steps run in transactions of their own so that one
        // step bounds how long writers wait.
        let mut writes = Vec::with_capacity(batch.len());
        for op in batch.drain(..) {
            match op {
                WriteOp::Compact {
                    target,
                    batch,
                    reply,
                } => {
                    let _ = reply.send(compact_step(&mut conn, target, batch));
                }
                op => writes.push(op),
            }
        }
        if !writes.is_empty() {
            commit_batch(&mut conn, writes);
            committed.notify_one();
        }
    }
}

/// The outcome of one write inside a batch, held until the commit decides.
enum Pending {
    Kv(oneshot::Sender<Result<KeyValue>>, Result<KeyValue>),
    Deleted(
        oneshot::Sender<Result<(KeyValue, Revision)>>,
        Result<(KeyValue, Revision)>,
    ),
}

fn commit_batch(conn: &mut Connection, ops: Vec<WriteOp>) {
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            fail_all(ops, &sql_err(e));
            return;
        }
    };
    let mut pending = Vec::with_capacity(ops.len());
    for op in ops {
        match op {
            WriteOp::Create {
                key,
                value,
                expires_at,
                reply,
            } => pending.push(Pending::Kv(
                reply,
                apply_create(&tx, key, value, expires_at),
            )),
            WriteOp::Update {
                key,
                value,
                expected,
                expires_at,
                reply,
            } => pending.push(Pending::Kv(
                reply,
                apply_update(&tx, key, value, expected, expires_at),
            )),
            WriteOp::Delete {
                key,
                expected,
                reply,
            } => pending.push(Pending::Deleted(reply, apply_delete(&tx, key, expected))),
            WriteOp::Compact { reply, .. } => {
                let _ = reply.send(Err(StoreError::Internal("compaction in a batch".into())));
            }
        }
    }
    // Acknowledge only after the commit: an acknowledged write is durable.
    let commit = tx.commit().map_err(sql_err);
    for p in pending {
        match (p, &commit) {
            (Pending::Kv(reply, result), Ok(())) => {
                let _ = reply.send(result);
            }
            (Pending::Deleted(reply, result), Ok(())) => {
                let _ = reply.send(result);
            }
            (Pending::Kv(reply, _), Err(e)) => {
                let _ = reply.send(Err(copy_err(e)));
            }
            (Pending::Deleted(reply, _), Err(e)) => {
                let _ = reply.send(Err(copy_err(e)));
            }
        }
    }
}

fn copy_err(e: &StoreError) -> StoreError {
    match e {
        StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
        other => StoreError::Internal(other.to_string()),
    }
}

fn fail_all(ops: Vec<WriteOp>, e: &StoreError) {
    for op in ops {
        match op {
            WriteOp::Create { reply, .. } | WriteOp::Update { reply, .. } => {
                let _ = reply.send(Err(copy_err(e)));
            }
            WriteOp::Delete { reply, .. } => {
                let _ = reply.send(Err(copy_err(e)));
            }
            WriteOp::Compact { reply, .. } => {
                let _ = reply.send(Err(copy_err(e)));
            }
        }
    }
}

/// The newest row of `key`: (id, deleted, create_revision, value).
struct Latest {
    id: i64,
    deleted: bool,
    create_revision: i64,
    value: Vec<u8>,
}

fn latest(tx: &Connection, key: &str) -> Result<Option<Latest>> {
    tx.prepare_cached(
        "SELECT id, deleted, CASE WHEN created = 1 THEN id ELSE create_revision END, value
         FROM log WHERE name = ?1 ORDER BY id DESC LIMIT 1",
    )
    .map_err(sql_err)?
    .query_row(params![key], |r| {
        Ok(Latest {
            id: r.get(0)?,
            deleted: r.get(1)?,
            create_revision: r.get(2)?,
            value: r.get(3)?,
        })
    })
    .optional()
    .map_err(sql_err)
}

#[allow(clippy::too_many_arguments)]
fn insert(
    tx: &Connection,
    key: &str,
    created: bool,
    deleted: bool,
    create_revision: i64,
    prev_revision: i64,
    expires_at: i64,
    value: &[u8],
    old_value: Option<&[u8]>,
) -> Result<i64> {
    tx.prepare_cached(
        "INSERT INTO log (name, created, deleted, create_revision, prev_revision, expires_at, value, old_value)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .map_err(sql_err)?
    .execute(params![
        key,
        created,
        deleted,
        create_revision,
        prev_revision,
        expires_at,
        value,
        old_value
    ])
    .map_err(sql_err)?;
    Ok(tx.last_insert_rowid())
}

fn apply_create(tx: &Connection, key: String, value: Vec<u8>, expires_at: i64) -> Result<KeyValue> {
    let prev = latest(tx, &key)?;
    let prev_revision = match prev {
        Some(l) if !l.deleted => return Err(StoreError::Exists(key)),
        Some(l) => l.id,
        None => 0,
    };
    let id = insert(
        tx,
        &key,
        true,
        false,
        0,
        prev_revision,
        expires_at,
        &value,
        None,
    )?;
    Ok(KeyValue {
        key,
        value,
        create_revision: id,
        mod_revision: id,
    })
}

fn current_of(l: &Latest, key: &str) -> Option<Box<KeyValue>> {
    (!l.deleted).then(|| {
        Box::new(KeyValue {
            key: key.to_owned(),
            value: l.value.clone(),
            create_revision: l.create_revision,
            mod_revision: l.id,
        })
    })
}

fn apply_update(
    tx: &Connection,
    key: String,
    value: Vec<u8>,
    expected: Revision,
    expires_at: i64,
) -> Result<KeyValue> {
    let Some(prev) = latest(tx, &key)?.filter(|l| !l.deleted) else {
        return Err(StoreError::NotFound(key));
    };
    if prev.id != expected {
        let current = current_of(&prev, &key);
        return Err(StoreError::Conflict {
            key,
            expected,
            current,
        });
    }
    let id = insert(
        tx,
        &key,
        false,
        false,
        prev.create_revision,
        prev.id,
        expires_at,
        &value,
        Some(&prev.value),
    )?;
    Ok(KeyValue {
        key,
        value,
        create_revision: prev.create_revision,
        mod_revision: id,
    })
}

fn apply_delete(
    tx: &Connection,
    key: String,
    expected: Option<Revision>,
) -> Result<(KeyValue, Revision)> {
    let Some(prev) = latest(tx, &key)?.filter(|l| !l.deleted) else {
        return Err(StoreError::NotFound(key));
    };
    if let Some(expected) = expected.filter(|e| *e != prev.id) {
        let current = current_of(&prev, &key);
        return Err(StoreError::Conflict {
            key,
            expected,
            current,
        });
    }
    let id = insert(
        tx,
        &key,
        false,
        true,
        prev.create_revision,
        prev.id,
        0,
        &[],
        Some(&prev.value),
    )?;
    Ok((
        KeyValue {
            key,
            value: prev.value,
            create_revision: prev.create_revision,
            mod_revision: prev.id,
        },
        id,
    ))
}
