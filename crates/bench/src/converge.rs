//! `skewless-bench converge`: how long after a peer starts serving a new
//! group/version another server lists it in its merged `/apis` and routes
//! a request for it successfully.
//!
//! Two ways, on two servers sharing one SQLite file:
//!
//! - **Restart**: B is restarted (SIGTERM, then a new process) with
//!   `--runtime-config=scheduling.k8s.io/v1alpha2=true`, which A (a plain
//!   1.36 server) does not serve. From the moment the new B listens, three
//!   pollers run side by side on kept-alive connections: B's own answer for
//!   `podgroups` (the moment B serves it), A's merged `/apis` (listed), and
//!   `podgroups` via A (proxied). Convergence is the later of A's two
//!   moments minus B's. Between trials B is restarted without the flag.
//! - **CRD**: a CustomResourceDefinition with a fresh group is created
//!   through B; from its 201 the same pollers measure when B serves the
//!   custom resource and when A lists and serves it (both servers read the
//!   CRD from the shared storage). It is deleted after each trial. Skipped
//!   when the server does not serve CRDs.
//!
//! Pollers wait `--poll-ms` between requests, so figures have that
//! resolution. It never changes the servers it measures.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use http::Method;
use serde::Deserialize;
use skewless_testkit::{Pki, ServerProcess, Storage, start_peer_with_log};

use crate::client::{Connection, Endpoint, Protocol};
use crate::cluster::{self, LOG};
use crate::measure::{ms, percentile};

#[derive(Debug, clap::Args)]
pub struct ConvergeArgs {
    /// Trials per way.
    #[arg(long, default_value_t = 20)]
    pub trials: usize,
    /// The `skewless` binary (default: target/release/skewless).
    #[arg(long)]
    pub binary: Option<PathBuf>,
    /// Milliseconds between two polls of one poller.
    #[arg(long, default_value_t = 5)]
    pub poll_ms: u64,
    /// Leave out the CRD way.
    #[arg(long)]
    pub skip_crd: bool,
    /// Leave out the restart way.
    #[arg(long)]
    pub skip_restart: bool,
}

/// Aggregated discovery, the peer-merged view.
const AGGREGATED: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";
const NEW_GROUP: &str = "scheduling.k8s.io";
const NEW_VERSION: &str = "v1alpha2";
const NEW_LIST: &str = "/apis/scheduling.k8s.io/v1alpha2/podgroups";
const ENABLE: &str = "--runtime-config=scheduling.k8s.io/v1alpha2=true";
/// How long one poller may wait before the trial fails.
const POLL_LIMIT: Duration = Duration::from_secs(20);

#[derive(Deserialize)]
struct GroupList {
    items: Vec<Group>,
}

#[derive(Deserialize)]
struct Group {
    metadata: GroupMeta,
    versions: Vec<GroupVersion>,
}

#[derive(Deserialize)]
struct GroupMeta {
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct GroupVersion {
    version: String,
}

/// Whether merged discovery lists `group/version`.
fn lists(body: &[u8], group: &str, version: &str) -> anyhow::Result<bool> {
    let list: GroupList = serde_json::from_slice(body).context("aggregated /apis")?;
    Ok(list
        .items
        .iter()
        .any(|g| g.metadata.name == group && g.versions.iter().any(|v| v.version == version)))
}

async fn conn(url: &str, pki: &Pki) -> anyhow::Result<Connection> {
    Endpoint::new(url, pki, Protocol::Http1)?
        .connect(1)
        .await?
        .pop()
        .context("no connection")
}

/// Polls until `check` holds; returns the moment it first did.
async fn poll_until(
    mut conn: Connection,
    every: Duration,
    what: &str,
    check: impl AsyncFn(&mut Connection) -> anyhow::Result<bool>,
) -> anyhow::Result<Instant> {
    let deadline = Instant::now() + POLL_LIMIT;
    loop {
        if check(&mut conn).await? {
            return Ok(Instant::now());
        }
        if Instant::now() > deadline {
            bail!("{what}: not within {POLL_LIMIT:?}");
        }
        tokio::time::sleep(every).await;
    }
}

async fn status_is(c: &mut Connection, path: &str, want: u16) -> anyhow::Result<bool> {
    Ok(c.send(&Method::GET, path, None).await?.status == want)
}

async fn merged_lists(c: &mut Connection, group: &str, version: &str) -> anyhow::Result<bool> {
    let reply = c.get_accept("/apis", AGGREGATED).await?;
    anyhow::ensure!(reply.status == 200, "/apis answered {}", reply.status);
    lists(&reply.body, group, version)
}

/// One trial's moments, relative to the reference (B serving it, or the
/// CRD's 201).
#[derive(Debug, Clone, Copy)]
struct Trial {
    /// From the reference until B answers 200 itself (CRD way) or from B
    /// listening until B answers (restart way).
    b_serves: Duration,
    listed: Duration,
    routed: Duration,
}

impl Trial {
    fn both(&self) -> Duration {
        self.listed.max(self.routed)
    }
}

pub async fn run(args: ConvergeArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.trials > 0, "--trials must be at least 1");
    let binary = cluster::binary(args.binary.as_deref())?;
    let pki = Pki::generate();
    let mut out = String::new();
    if !args.skip_restart {
        let trials = restart_way(&args, &binary, &pki).await?;
        out.push_str(&table(
            "B restarted with scheduling.k8s.io/v1alpha2 enabled; from B's first 200 for podgroups",
            "B answers, after it listens",
            &trials,
        ));
    }
    if !args.skip_crd {
        match crd_way(&args, &binary, &pki).await? {
            Some(trials) => {
                out.push('\n');
                out.push_str(&table(
                    "CRD created through B; from the create's 201",
                    "B serves the custom resource",
                    &trials,
                ));
            }
            None => {
                let _ = writeln!(
                    out,
                    "\nCRD way skipped: the server answers 404 for customresourcedefinitions."
                );
            }
        }
    }
    print!("{out}");
    Ok(())
}

async fn restart_way(
    args: &ConvergeArgs,
    binary: &std::path::Path,
    pki: &Pki,
) -> anyhow::Result<Vec<Trial>> {
    let dir = tempfile::tempdir().context("a directory for the shared database")?;
    let storage = Storage::SharedSqlite(dir.path().to_path_buf());
    let a = start_peer_with_log(binary, pki, &storage, "server-a", &[], LOG).await;
    let mut b = start_peer_with_log(binary, pki, &storage, "server-b", &[], LOG).await;
    let every = Duration::from_millis(args.poll_ms);
    let mut trials = Vec::new();
    for trial in 0..args.trials {
        b.terminate().await;
        let mut probe = conn(&a.url, pki).await?;
        let gone = poll_until(
            conn(&a.url, pki).await?,
            every,
            "A to drop the group",
            async |c| Ok(!merged_lists(c, NEW_GROUP, NEW_VERSION).await?),
        );
        gone.await?;
        anyhow::ensure!(
            status_is(&mut probe, NEW_LIST, 404).await?,
            "A still serves podgroups before the trial"
        );
        // A's pollers connect before B starts, so they poll from the start.
        let (a_listed, a_routed) = (conn(&a.url, pki).await?, conn(&a.url, pki).await?);
        let mut flags = pki.peer_args("server-b");
        flags.push(ENABLE.to_owned());
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        let mut new_b = ServerProcess::spawn_with_log(binary, pki, &storage, &flags, LOG).await;
        let listening = Instant::now();
        let result = async {
            let direct = poll_until(
                conn(&new_b.url, pki).await?,
                every,
                "B to serve podgroups",
                async |c| status_is(c, NEW_LIST, 200).await,
            );
            let listed = poll_until(a_listed, every, "A to list the group", async |c| {
                merged_lists(c, NEW_GROUP, NEW_VERSION).await
            });
            let routed = poll_until(a_routed, every, "A to proxy podgroups", async |c| {
                status_is(c, NEW_LIST, 200).await
            });
            let (t0, t1, t2) = tokio::try_join!(direct, listed, routed)?;
            Ok::<_, anyhow::Error>(Trial {
                b_serves: t0.duration_since(listening),
                listed: t1.saturating_duration_since(t0),
                routed: t2.saturating_duration_since(t0),
            })
        }
        .await;
        let t = match result {
            Ok(t) => t,
            Err(e) => bail!(
                "restart trial {}: {e:#}\nserver A log:\n{}\nserver B log:\n{}",
                trial + 1,
                a.log_text(),
                new_b.log_text()
            ),
        };
        trials.push(t);
        new_b.wait_ready(pki).await;
        // Back to B without the group/version for the next trial.
        new_b.terminate().await;
        b = start_peer_with_log(binary, pki, &storage, "server-b", &[], LOG).await;
        eprintln!(
            "restart trial {}/{}: listed {} ms, routed {} ms",
            trial + 1,
            args.trials,
            ms(t.listed),
            ms(t.routed)
        );
    }
    drop(b);
    drop(a);
    Ok(trials)
}

fn crd(group: &str) -> Bytes {
    Bytes::from(
        serde_json::json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": format!("widgets.{group}")},
            "spec": {
                "group": group,
                "scope": "Namespaced",
                "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
                "versions": [{
                    "name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                }],
            },
        })
        .to_string(),
    )
}

async fn crd_way(
    args: &ConvergeArgs,
    binary: &std::path::Path,
    pki: &Pki,
) -> anyhow::Result<Option<Vec<Trial>>> {
    let pair = cluster::Pair::start(binary, pki, &[], &[]).await?;
    let every = Duration::from_millis(args.poll_ms);
    let crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
    let mut writer = conn(&pair.b.url, pki).await?;
    if writer.send(&Method::GET, crds, None).await?.status == 404 {
        return Ok(None);
    }
    let mut trials = Vec::new();
    for trial in 0..args.trials {
        let group = format!("g{trial}.bench.skewless.example.com");
        let list = format!("/apis/{group}/v1/widgets");
        let result = async {
            let (b, a1, a2) = (
                conn(&pair.b.url, pki).await?,
                conn(&pair.a.url, pki).await?,
                conn(&pair.a.url, pki).await?,
            );
            writer
                .expect(&Method::POST, crds, Some(crd(&group)), 201)
                .await?;
            let created = Instant::now();
            let served = poll_until(b, every, "B to serve the CR", async |c| {
                status_is(c, &list, 200).await
            });
            let listed = poll_until(a1, every, "A to list the CRD's group", async |c| {
                merged_lists(c, &group, "v1").await
            });
            let routed = poll_until(a2, every, "A to serve the CR", async |c| {
                status_is(c, &list, 200).await
            });
            let (t0, t1, t2) = tokio::try_join!(served, listed, routed)?;
            writer
                .expect(
                    &Method::DELETE,
                    &format!("{crds}/widgets.{group}"),
                    None,
                    200,
                )
                .await?;
            poll_until(
                conn(&pair.a.url, pki).await?,
                every,
                "A to drop the CRD's group",
                async |c| Ok(!merged_lists(c, &group, "v1").await?),
            )
            .await?;
            Ok::<_, anyhow::Error>(Trial {
                b_serves: t0.duration_since(created),
                listed: t1.duration_since(created),
                routed: t2.duration_since(created),
            })
        }
        .await;
        match result {
            Ok(t) => {
                eprintln!(
                    "CRD trial {}/{}: listed {} ms, served via A {} ms",
                    trial + 1,
                    args.trials,
                    ms(t.listed),
                    ms(t.routed)
                );
                trials.push(t);
            }
            Err(e) => bail!("CRD trial {}: {e:#}\n{}", trial + 1, pair.logs()),
        }
    }
    Ok(Some(trials))
}

fn table(title: &str, reference: &str, trials: &[Trial]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| {title} ({} trials) | p50 ms | p99 ms | max ms |",
        trials.len()
    );
    let _ = writeln!(out, "|---|---|---|---|");
    type Pick = fn(&Trial) -> Duration;
    let rows: [(&str, Pick); 4] = [
        ("listed in A's merged `/apis`", |t| t.listed),
        ("a request via A succeeds", |t| t.routed),
        ("both (convergence)", Trial::both),
        ("", |t| t.b_serves),
    ];
    for (name, pick) in rows {
        let mut v: Vec<Duration> = trials.iter().map(pick).collect();
        v.sort();
        let name = if name.is_empty() { reference } else { name };
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} |",
            ms(percentile(&v, 0.5)),
            ms(percentile(&v, 0.99)),
            ms(v.last().copied().unwrap_or_default()),
        );
    }
    out
}
