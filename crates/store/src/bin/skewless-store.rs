//! `skewless-store`: drives a store from the command line, for the
//! multi-process tests and the storage benchmark.
//!
//! ```text
//! skewless-store write-loop --db FILE --prefix P [--count N]
//! skewless-store increment  --db FILE --key K --times N
//! skewless-store stamp      --db FILE --prefix P --count N [--interval-ms M]
//! skewless-store bench      (--db FILE | --etcd URL[,URL]) [--runs N] [--ops N]
//! ```
//!
//! `write-loop` prints `ack <key> <revision> <checksum>` after each durable
//! create, so a test can SIGKILL it and check that every acknowledged write
//! survived. `stamp` writes the wall-clock time into each value so another
//! process can measure watch latency.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use skewless_store::etcd::{EtcdOptions, EtcdStore};
use skewless_store::sqlite::{SqliteOptions, SqliteStore};
use skewless_store::{Event, Store, StoreError, WriteOptions};

type AnyError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("skewless-store: {e}");
        std::process::exit(1);
    }
}

struct Args {
    command: String,
    flags: HashMap<String, String>,
}

impl Args {
    fn parse() -> Result<Self, AnyError> {
        let mut it = std::env::args().skip(1);
        let command = it
            .next()
            .ok_or("missing command (write-loop, increment, stamp, bench)")?;
        let mut flags = HashMap::new();
        while let Some(flag) = it.next() {
            let name = flag
                .strip_prefix("--")
                .ok_or_else(|| format!("unexpected argument {flag:?}"))?;
            let value = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
            flags.insert(name.to_owned(), value);
        }
        Ok(Self { command, flags })
    }

    fn get(&self, name: &str) -> Result<&str, AnyError> {
        self.flags
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| format!("--{name} is required").into())
    }

    fn num(&self, name: &str, default: u64) -> Result<u64, AnyError> {
        match self.flags.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| format!("--{name}: {v:?} is not a number").into()),
        }
    }
}

async fn open(args: &Args) -> Result<Arc<dyn Store>, AnyError> {
    if let Some(db) = args.flags.get("db") {
        Ok(Arc::new(SqliteStore::open(SqliteOptions::new(db)).await?))
    } else if let Some(etcd) = args.flags.get("etcd") {
        let endpoints = etcd.split(',').map(str::to_owned).collect();
        let mut opts = EtcdOptions::new(endpoints);
        opts.prefix = format!("/skewless-bench-{}", std::process::id());
        Ok(Arc::new(EtcdStore::connect(opts).await?))
    } else {
        Err("--db FILE or --etcd URL is required".into())
    }
}

async fn run() -> Result<(), AnyError> {
    let args = Args::parse()?;
    match args.command.as_str() {
        "write-loop" => write_loop(&args).await,
        "increment" => increment(&args).await,
        "stamp" => stamp(&args).await,
        "bench" => bench(&args).await,
        other => Err(format!("unknown command {other:?}").into()),
    }
}

/// FNV-1a: a checksum the SIGKILL test recomputes to spot torn values.
pub fn checksum(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

async fn write_loop(args: &Args) -> Result<(), AnyError> {
    let store = open(args).await?;
    let prefix = args.get("prefix")?;
    let count = args.num("count", u64::MAX)?;
    let mut out = std::io::stdout().lock();
    for i in 0..count {
        let key = format!("{prefix}{i:08}");
        // A value big enough to span several pages, so a torn write would show.
        let value = format!("{i}:").repeat(600).into_bytes();
        let kv = store.create(&key, value, WriteOptions::default()).await?;
        writeln!(out, "ack {key} {} {}", kv.mod_revision, checksum(&kv.value))?;
        out.flush()?;
    }
    Ok(())
}

async fn increment(args: &Args) -> Result<(), AnyError> {
    let store = open(args).await?;
    let key = args.get("key")?;
    let times = args.num("times", 100)?;
    let mut conflicts = 0u64;
    for _ in 0..times {
        loop {
            let Some(cur) = store.get(key).await? else {
                match store
                    .create(key, b"1".to_vec(), WriteOptions::default())
                    .await
                {
                    Ok(_) => break,
                    Err(StoreError::Exists(_)) => continue,
                    Err(e) => return Err(e.into()),
                }
            };
            let n: u64 = std::str::from_utf8(&cur.value)?.parse()?;
            let next = (n + 1).to_string().into_bytes();
            match store
                .update(key, next, cur.mod_revision, WriteOptions::default())
                .await
            {
                Ok(_) => break,
                Err(StoreError::Conflict { .. }) => conflicts += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }
    println!("done {times} conflicts {conflicts}");
    Ok(())
}

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

async fn stamp(args: &Args) -> Result<(), AnyError> {
    let store = open(args).await?;
    let prefix = args.get("prefix")?;
    let count = args.num("count", 100)?;
    let interval = Duration::from_millis(args.num("interval-ms", 5)?);
    for i in 0..count {
        let value = now_nanos().to_string().into_bytes();
        store
            .create(&format!("{prefix}{i:08}"), value, WriteOptions::default())
            .await?;
        tokio::time::sleep(interval).await;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The benchmark.

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

/// Runs `ops` operations spread over `workers` tasks; returns ops/s and
/// the sorted latencies.
async fn drive<F, Fut>(workers: usize, ops: usize, f: F) -> Result<(f64, Vec<Duration>), AnyError>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), StoreError>> + Send,
{
    let f = Arc::new(f);
    let started = Instant::now();
    let mut handles = Vec::new();
    for w in 0..workers {
        let f = Arc::clone(&f);
        handles.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = w;
            while i < ops {
                let t = Instant::now();
                f(i).await?;
                lat.push(t.elapsed());
                i += workers;
            }
            Ok::<_, StoreError>(lat)
        }));
    }
    let mut all = Vec::with_capacity(ops);
    for h in handles {
        all.extend(h.await??);
    }
    let rate = ops as f64 / started.elapsed().as_secs_f64();
    all.sort();
    Ok((rate, all))
}

/// `ops` creates of 256-byte values under `prefix` from `workers` tasks.
async fn creates(
    store: &Arc<dyn Store>,
    prefix: String,
    workers: usize,
    ops: usize,
) -> Result<(f64, Vec<Duration>), AnyError> {
    let s = Arc::clone(store);
    drive(workers, ops, move |i| {
        let s = Arc::clone(&s);
        let key = format!("{prefix}{i:08}");
        async move {
            s.create(&key, vec![b'x'; 256], WriteOptions::default())
                .await
                .map(drop)
        }
    })
    .await
}

/// Latency from a write's timestamp to its arrival on a watch.
async fn watch_latency(
    store: Arc<dyn Store>,
    prefix: &str,
    count: usize,
    writer: impl std::future::Future<Output = Result<(), AnyError>>,
) -> Result<Vec<Duration>, AnyError> {
    let start = store.current_revision().await?;
    let mut watch = store.watch(prefix, start).await?;
    let collect = async {
        let mut lat = Vec::with_capacity(count);
        while lat.len() < count {
            let event = tokio::time::timeout(Duration::from_secs(30), watch.next())
                .await
                .map_err(|_| "watch stalled")?
                .ok_or("watch ended")??;
            if let Event::Put { kv, .. } = event {
                let sent: u128 = std::str::from_utf8(&kv.value)?.parse()?;
                let now = now_nanos();
                lat.push(Duration::from_nanos(now.saturating_sub(sent) as u64));
            }
        }
        Ok::<_, AnyError>(lat)
    };
    let (lat, written) = tokio::join!(collect, writer);
    written?;
    let mut lat = lat?;
    lat.sort();
    Ok(lat)
}

/// One run's figures for one benchmark row: throughput, p50, p99.
type RunFigures = (f64, Duration, Duration);

async fn bench(args: &Args) -> Result<(), AnyError> {
    let runs = args.num("runs", 3)? as usize;
    let ops = args.num("ops", 4000)? as usize;
    let engine = if args.flags.contains_key("db") {
        "sqlite"
    } else {
        "etcd"
    };
    let mut results: Vec<(String, Vec<RunFigures>)> = Vec::new();
    let mut record = |name: &str, rate: f64, lat: &[Duration]| {
        let row = (rate, percentile(lat, 0.5), percentile(lat, 0.99));
        match results.iter_mut().find(|(n, _)| n == name) {
            Some((_, rows)) => rows.push(row),
            None => results.push((name.to_owned(), vec![row])),
        }
    };
    for run in 0..runs {
        let store = open(args).await?;
        let prefix = format!("/bench/{run}/");

        let (rate, lat) = creates(&store, format!("{prefix}seq/"), 1, ops / 4).await?;
        record("create, 1 writer", rate, &lat);
        let (rate, lat) = creates(&store, format!("{prefix}par/"), 16, ops).await?;
        record("create, 16 writers", rate, &lat);

        let s = Arc::clone(&store);
        let p = prefix.clone();
        let (rate, lat) = drive(16, ops, move |i| {
            let s = Arc::clone(&s);
            let key = format!("{p}par/{i:08}");
            async move {
                let kv = s
                    .get(&key)
                    .await?
                    .ok_or(StoreError::NotFound(key.clone()))?;
                s.update(
                    &key,
                    vec![b'y'; 256],
                    kv.mod_revision,
                    WriteOptions::default(),
                )
                .await
                .map(drop)
            }
        })
        .await?;
        record("get+update, 16 writers", rate, &lat);

        let s = Arc::clone(&store);
        let p = prefix.clone();
        let (rate, lat) = drive(16, ops * 2, move |i| {
            let s = Arc::clone(&s);
            let key = format!("{p}par/{:08}", i % ops.max(1));
            async move { s.get(&key).await.map(drop) }
        })
        .await?;
        record("get, 16 readers", rate, &lat);

        let count = 500;
        let s = Arc::clone(&store);
        let p = format!("{prefix}watch/");
        let writer = async move {
            for i in 0..count {
                let value = now_nanos().to_string().into_bytes();
                s.create(&format!("{p}{i:08}"), value, WriteOptions::default())
                    .await?;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            Ok(())
        };
        let lat = watch_latency(
            Arc::clone(&store),
            &format!("{prefix}watch/"),
            count,
            writer,
        )
        .await?;
        record("watch latency, same process", 0.0, &lat);

        if let Some(db) = args.flags.get("db") {
            let exe = std::env::current_exe()?;
            let p = format!("{prefix}xwatch/");
            let mut child = tokio::process::Command::new(exe);
            child.args([
                "stamp",
                "--db",
                db,
                "--prefix",
                &p,
                "--count",
                &count.to_string(),
            ]);
            let writer = async move {
                let status = child.status().await?;
                if status.success() {
                    Ok(())
                } else {
                    Err(format!("stamp writer failed: {status}").into())
                }
            };
            let lat = watch_latency(Arc::clone(&store), &p, count, writer).await?;
            record("watch latency, other process", 0.0, &lat);
        }
        eprintln!("run {}/{runs} done", run + 1);
    }

    println!(
        "| {engine} | ops/s (min / median / max) | p50 ms (median) | p99 ms (min / median / max) |"
    );
    println!("|---|---|---|---|");
    for (name, rows) in &results {
        let mut rates: Vec<f64> = rows.iter().map(|r| r.0).collect();
        rates.sort_by(|a, b| a.total_cmp(b));
        let mut p50: Vec<Duration> = rows.iter().map(|r| r.1).collect();
        p50.sort();
        let mut p99: Vec<Duration> = rows.iter().map(|r| r.2).collect();
        p99.sort();
        let mid = rows.len() / 2;
        let rate = if rates[mid] > 0.0 {
            format!(
                "{:.0} / {:.0} / {:.0}",
                rates[0],
                rates[mid],
                rates[rates.len() - 1]
            )
        } else {
            "—".to_owned()
        };
        println!(
            "| {name} | {rate} | {} | {} / {} / {} |",
            ms(p50[mid]),
            ms(p99[0]),
            ms(p99[mid]),
            ms(p99[p99.len() - 1])
        );
    }
    Ok(())
}
