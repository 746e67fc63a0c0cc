//! Real etcd server processes for tests and benchmarks: a single member or
//! a cluster on free loopback ports, each in its own temporary directory,
//! killed on drop. Not used by the server itself.

#![allow(clippy::expect_used)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Store;
use crate::etcd::{EtcdOptions, EtcdStore};

/// One or more etcd members started for a test.
#[derive(Debug)]
pub struct EtcdCluster {
    pub members: Vec<Member>,
    _dir: tempfile::TempDir,
}

#[derive(Debug)]
pub struct Member {
    pub name: String,
    pub client_url: String,
    child: Option<Child>,
}

impl Member {
    /// Stops this member at once (SIGKILL).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for m in &mut self.members {
            m.kill();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl EtcdCluster {
    /// Starts `n` members forming one cluster and waits until it answers.
    pub async fn start(n: usize) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let ports: Vec<(u16, u16)> = (0..n).map(|_| (free_port(), free_port())).collect();
        let initial: Vec<String> = ports
            .iter()
            .enumerate()
            .map(|(i, (_, peer))| format!("m{i}=http://127.0.0.1:{peer}"))
            .collect();
        let token = format!("skewless-test-{}", std::process::id());
        let mut members = Vec::new();
        for (i, (client, peer)) in ports.iter().enumerate() {
            let name = format!("m{i}");
            let client_url = format!("http://127.0.0.1:{client}");
            let peer_url = format!("http://127.0.0.1:{peer}");
            let log = std::fs::File::create(dir.path().join(format!("{name}.log")))
                .expect("an etcd log file");
            let child = Command::new("etcd")
                .arg("--name")
                .arg(&name)
                .arg("--data-dir")
                .arg(dir.path().join(&name))
                .arg("--listen-client-urls")
                .arg(&client_url)
                .arg("--advertise-client-urls")
                .arg(&client_url)
                .arg("--listen-peer-urls")
                .arg(&peer_url)
                .arg("--initial-advertise-peer-urls")
                .arg(&peer_url)
                .arg("--initial-cluster")
                .arg(initial.join(","))
                .arg("--initial-cluster-token")
                .arg(&token)
                .arg("--logger=zap")
                .arg("--log-level=error")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("etcd is installed (scripts/test.sh installs Debian's etcd-server)");
            members.push(Member {
                name,
                client_url,
                child: Some(child),
            });
        }
        let cluster = Self { members, _dir: dir };
        cluster.wait_ready().await;
        cluster
    }

    pub fn endpoints(&self) -> Vec<String> {
        self.members.iter().map(|m| m.client_url.clone()).collect()
    }

    async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(store) = EtcdStore::connect(EtcdOptions::new(self.endpoints())).await
                && store.current_revision().await.is_ok()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "etcd did not become ready in 30 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
