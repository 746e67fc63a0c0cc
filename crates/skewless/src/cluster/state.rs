//! The state directory of a local cluster and the state file in it.
//!
//! ```text
//! <state-dir>/
//!   cluster.json    what runs: storage, feature gates, per server its
//!                   ID, version, binary, runtime config, port and process
//!                   id, and an upgrade held after its canaries
//!   kubeconfig      one context per server plus `skewless`
//!   pki/            cluster CA, serving and admin certificates, front-proxy CA
//!   data/           the embedded SQLite store all servers share
//!   logs/<id>.log   each server's output, appended across restarts
//!   run/<id>.kubeconfig  `upgrade --run`'s kubeconfig for each server
//!   upgrade-report.html  `upgrade --report html`'s page (unless a path is given)
//!                   (and `metrics-server.log`, with `up --with-metrics`)
//!   lock            held while a command changes the cluster
//! ```
//!
//! The state file is the only record of which processes belong to the
//! cluster; it is replaced atomically (write, then rename) so a reader never
//! sees half of it. Nothing here may trust a recorded process id on its own:
//! [`crate::cluster::process`] checks that the process is still ours.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use skewless_local::kubeconfig::Kubeconfig;
use skewless_local::{Credentials, Pki};
use skewless_server::options::{FeatureGates, UVIP};

/// The kubeconfig's default context (on the first server).
pub const DEFAULT_CONTEXT: &str = "skewless";

/// Whether the Mixed Version Proxy runs with these feature gates.
pub fn proxy_enabled(feature_gates: &str) -> bool {
    FeatureGates::parse(feature_gates).is_ok_and(|g| g.enabled(UVIP))
}

/// Paths inside a state directory.
#[derive(Debug, Clone)]
pub struct Layout {
    pub dir: PathBuf,
}

impl Layout {
    /// The layout of `dir`, made absolute so the kubeconfig and the
    /// servers' flags work from any working directory.
    pub fn new(dir: &Path) -> anyhow::Result<Self> {
        let dir = if dir.is_absolute() {
            dir.to_path_buf()
        } else {
            std::env::current_dir()
                .context("finding the current directory")?
                .join(dir)
        };
        Ok(Self { dir })
    }

    pub fn state_file(&self) -> PathBuf {
        self.dir.join("cluster.json")
    }
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }
    pub fn pki(&self) -> PathBuf {
        self.dir.join("pki")
    }
    /// The certificates' files in [`Layout::pki`].
    pub fn pki_files(&self) -> Pki {
        Pki::at(&self.pki())
    }

    /// What clients of every server trust and present: the cluster CA and
    /// the admin certificate.
    pub fn credentials(&self) -> anyhow::Result<Credentials> {
        Credentials::admin(&self.pki_files())
    }

    /// Writes the kubeconfig: one cluster and context per server, named by
    /// server ID, and [`DEFAULT_CONTEXT`] on the first server, all as the
    /// admin user.
    pub fn write_kubeconfig(&self, state: &ClusterState) -> anyhow::Result<()> {
        let servers: Vec<(String, String)> = state
            .servers
            .iter()
            .map(|s| (s.id.clone(), s.url()))
            .collect();
        Kubeconfig::admin(&self.pki_files(), &servers, DEFAULT_CONTEXT).write(&self.kubeconfig())
    }

    pub fn data(&self) -> PathBuf {
        self.dir.join("data")
    }
    pub fn logs(&self) -> PathBuf {
        self.dir.join("logs")
    }
    pub fn log(&self, id: &str) -> PathBuf {
        self.logs().join(format!("{id}.log"))
    }

    /// Creates the directories a cluster needs.
    pub fn create(&self) -> anyhow::Result<()> {
        for d in [self.dir.clone(), self.pki(), self.data(), self.logs()] {
            std::fs::create_dir_all(&d).with_context(|| format!("creating {}", d.display()))?;
        }
        Ok(())
    }

    /// Takes the directory's lock, or says who holds it. Commands that
    /// start or stop servers hold it while they do.
    pub fn lock(&self) -> anyhow::Result<File> {
        let path = self.dir.join("lock");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => bail!(
                "another `skewless cluster` command (up, upgrade or down) is changing the cluster in {}; wait for it to finish",
                self.dir.display()
            ),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(e).with_context(|| format!("locking {}", path.display()))
            }
        }
    }

    /// The state file, or `None` when no cluster was ever started here.
    pub fn load(&self) -> anyhow::Result<Option<ClusterState>> {
        let path = self.state_file();
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let state: ClusterState = serde_json::from_slice(&text).with_context(|| {
            format!(
                "{} is not a skewless cluster state file (remove the directory to start over)",
                path.display()
            )
        })?;
        if state.format != FORMAT {
            bail!(
                "{} was written by another skewless version (format {}, expected {FORMAT})",
                path.display(),
                state.format
            );
        }
        Ok(Some(state))
    }

    /// The state file; an error naming the directory when there is none.
    pub fn load_existing(&self) -> anyhow::Result<ClusterState> {
        self.load()?.with_context(|| {
            format!(
                "no cluster in {} (start one with `skewless cluster up --state-dir {}`)",
                self.dir.display(),
                self.dir.display()
            )
        })
    }

    /// Replaces the state file atomically.
    pub fn save(&self, state: &ClusterState) -> anyhow::Result<()> {
        let path = self.state_file();
        let tmp = self
            .dir
            .join(format!(".cluster.json.{}", std::process::id()));
        let text = serde_json::to_vec_pretty(state).context("encoding the cluster state")?;
        std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))
    }
}

/// Version of the state file's layout.
pub const FORMAT: u32 = 1;

/// What a cluster is and which processes run it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterState {
    pub format: u32,
    pub storage: Storage,
    /// Passed as `--feature-gates` to every server.
    #[serde(default)]
    pub feature_gates: String,
    pub servers: Vec<ServerState>,
    /// The foreground `skewless cluster up` supervising the servers, if any.
    #[serde(default)]
    pub supervisor_pid: Option<u32>,
    /// An upgrade held after its canaries (`upgrade --canary N`), until
    /// `upgrade --continue` or `upgrade --abort`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<HeldUpgrade>,
    /// The sample metrics server, when `up --with-metrics` asked for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<MetricsState>,
}

/// An upgrade in progress: some servers (the canaries) run the new
/// version or binary, the others still the old.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldUpgrade {
    /// The version every server ends at once the upgrade continues.
    pub to: String,
    /// The binary every server ends with (`None`: the one running `cluster`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<PathBuf>,
    /// The servers replaced so far, with what they ran before.
    pub canaries: Vec<Canary>,
}

/// A server an upgrade replaced before holding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Canary {
    pub id: String,
    /// Its version before the upgrade.
    pub version: String,
    /// Its binary before the upgrade (`None`: the one running `cluster`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<PathBuf>,
}

/// The metrics server beside the servers (`up --with-metrics`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MetricsState {
    /// Where it listens on 127.0.0.1 (0: not chosen yet).
    pub port: u16,
    /// The running process, when one runs.
    #[serde(default)]
    pub pid: Option<u32>,
}

/// Where the servers keep their data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Storage {
    /// The embedded SQLite store in `<state-dir>/data`.
    Sqlite,
    /// An etcd cluster, under a prefix of this cluster's own.
    Etcd {
        servers: Vec<String>,
        prefix: String,
    },
}

/// One server of the cluster.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerState {
    /// `--apiserver-id`, also the kubeconfig context's name.
    pub id: String,
    /// `--emulated-version`.
    pub version: String,
    /// `--runtime-config`.
    #[serde(default)]
    pub runtime_config: String,
    pub port: u16,
    /// The running process, when one runs.
    #[serde(default)]
    pub pid: Option<u32>,
    /// Being replaced by `upgrade`: down on purpose, coming back.
    #[serde(default)]
    pub restarting: bool,
    /// The skewless build it runs (`None`: the binary running `cluster`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<PathBuf>,
}

impl ServerState {
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }
}

impl ClusterState {
    /// Finds a server by 1-based index or by ID.
    pub fn server_index(&self, which: &str) -> anyhow::Result<usize> {
        if let Some(i) = self.servers.iter().position(|s| s.id == which) {
            return Ok(i);
        }
        match which.parse::<usize>() {
            Ok(n) if (1..=self.servers.len()).contains(&n) => Ok(n - 1),
            _ => bail!(
                "no server {which:?}: give a number from 1 to {} or one of {}",
                self.servers.len(),
                self.servers
                    .iter()
                    .map(|s| s.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// A one-line description of the storage.
    pub fn storage_description(&self, layout: &Layout) -> String {
        match &self.storage {
            Storage::Sqlite => format!(
                "embedded SQLite in {}",
                layout.data().join("state.db").display()
            ),
            Storage::Etcd { servers, prefix } => {
                format!("etcd {} under prefix {prefix}", servers.join(","))
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_finds_servers() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path()).unwrap();
        layout.create().unwrap();
        assert!(layout.load().unwrap().is_none());
        let state = ClusterState {
            format: FORMAT,
            storage: Storage::Etcd {
                servers: vec!["http://127.0.0.1:2379".into()],
                prefix: "/skewless/x".into(),
            },
            feature_gates: String::new(),
            servers: vec![ServerState {
                id: "skewless-1".into(),
                version: "1.35".into(),
                runtime_config: String::new(),
                port: 6443,
                pid: Some(42),
                restarting: false,
                binary: Some("/opt/skewless-old".into()),
            }],
            supervisor_pid: None,
            upgrade: Some(HeldUpgrade {
                to: "1.36".into(),
                binary: None,
                canaries: vec![Canary {
                    id: "skewless-1".into(),
                    version: "1.35".into(),
                    binary: None,
                }],
            }),
            metrics: None,
        };
        layout.save(&state).unwrap();
        let back = layout.load_existing().unwrap();
        assert_eq!(back.storage, state.storage);
        assert_eq!(back.servers[0].pid, Some(42));
        assert_eq!(back.servers[0].binary, state.servers[0].binary);
        assert_eq!(back.upgrade, state.upgrade);
        assert_eq!(back.server_index("1").ok(), Some(0));
        assert_eq!(back.server_index("skewless-1").ok(), Some(0));
        let err = back.server_index("2").err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("from 1 to 1")));
    }

    #[test]
    fn a_second_lock_is_refused_with_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path()).unwrap();
        let _held = layout.lock().unwrap();
        let err = layout
            .lock()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("another `skewless cluster` command"), "{err}");
    }
}
