//! `<state-dir>/kubeconfig`: one cluster and context per server, named by
//! server ID, and a default context `skewless` on the first server, all as
//! the admin user. Certificates are embedded so the file works when copied
//! elsewhere on the machine.

use anyhow::Context;
use base64::Engine as _;

use super::process::pki_files::{ADMIN_CERT, ADMIN_KEY, CA};
use super::state::{ClusterState, Layout};

/// The default context's name.
pub const DEFAULT_CONTEXT: &str = "skewless";

/// Writes the kubeconfig (mode 0600: it holds the admin key).
pub fn write(layout: &Layout, state: &ClusterState) -> anyhow::Result<()> {
    let read = |name: &str| {
        let path = layout.pki().join(name);
        std::fs::read(&path)
            .with_context(|| format!("reading {}", path.display()))
            .map(|b| base64::engine::general_purpose::STANDARD.encode(b))
    };
    let (ca, cert, key) = (read(CA)?, read(ADMIN_CERT)?, read(ADMIN_KEY)?);
    let mut clusters = String::new();
    let mut contexts = String::new();
    for s in &state.servers {
        clusters.push_str(&format!(
            "- name: {id}\n  cluster:\n    server: {url}\n    certificate-authority-data: {ca}\n",
            id = s.id,
            url = s.url()
        ));
        contexts.push_str(&format!(
            "- name: {id}\n  context:\n    cluster: {id}\n    user: admin\n",
            id = s.id
        ));
    }
    if let Some(first) = state.servers.first() {
        contexts.push_str(&format!(
            "- name: {DEFAULT_CONTEXT}\n  context:\n    cluster: {}\n    user: admin\n",
            first.id
        ));
    }
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n{clusters}users:\n- name: admin\n  user:\n    client-certificate-data: {cert}\n    client-key-data: {key}\ncontexts:\n{contexts}current-context: {DEFAULT_CONTEXT}\n"
    );
    let path = layout.kubeconfig();
    write_private(&path, text.as_bytes()).with_context(|| format!("writing {}", path.display()))
}

fn write_private(path: &std::path::Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(data)
}
