//! The kubeconfig writer: named clusters (all trusting one CA), users with
//! a client certificate or a bearer token, and contexts pairing them.
//! Certificates and keys are embedded, so the file works when copied
//! elsewhere on the machine; it is written with mode 0600 (it holds keys).

use std::path::{Path, PathBuf};

use anyhow::Context;
use base64::Engine as _;

use crate::pki::{DEV_NAMESPACE, DEV_USER, Pki};

/// How a kubeconfig user authenticates.
#[derive(Debug, Clone)]
pub enum User {
    /// A client certificate and its key (PEM files, embedded).
    Certificate { cert: PathBuf, key: PathBuf },
    /// A bearer token.
    Token(String),
}

/// A context: which cluster, as which user, in which namespace.
#[derive(Debug, Clone)]
pub struct KubeContext {
    pub name: String,
    pub cluster: String,
    pub user: String,
    /// The default namespace (kubectl's `default` when `None`).
    pub namespace: Option<String>,
}

impl KubeContext {
    /// A context without a namespace.
    pub fn new(name: &str, cluster: &str, user: &str) -> Self {
        Self {
            name: name.to_owned(),
            cluster: cluster.to_owned(),
            user: user.to_owned(),
            namespace: None,
        }
    }
}

/// A kubeconfig to write.
#[derive(Debug, Clone)]
pub struct Kubeconfig {
    /// The CA every cluster's server certificate is checked against.
    pub ca: PathBuf,
    /// (name, `https://host:port`).
    pub clusters: Vec<(String, String)>,
    /// (name, how it authenticates).
    pub users: Vec<(String, User)>,
    pub contexts: Vec<KubeContext>,
    pub current_context: String,
}

impl Kubeconfig {
    /// One cluster and one context per `(name, url)` server, all as the
    /// PKI's admin user, plus a context `default_context` on the first,
    /// and a context `dev` on the first as the ordinary user `dev` in
    /// namespace `dev`.
    pub fn admin(pki: &Pki, servers: &[(String, String)], default_context: &str) -> Self {
        let mut contexts: Vec<KubeContext> = servers
            .iter()
            .map(|(name, _)| KubeContext::new(name, name, "admin"))
            .collect();
        if let Some((first, _)) = servers.first() {
            contexts.push(KubeContext::new(default_context, first, "admin"));
            contexts.push(KubeContext {
                namespace: Some(DEV_NAMESPACE.to_owned()),
                ..KubeContext::new(DEV_USER, first, DEV_USER)
            });
        }
        Self {
            ca: pki.ca.clone(),
            clusters: servers.to_vec(),
            users: vec![
                (
                    "admin".to_owned(),
                    User::Certificate {
                        cert: pki.admin_cert.clone(),
                        key: pki.admin_key.clone(),
                    },
                ),
                (
                    DEV_USER.to_owned(),
                    User::Certificate {
                        cert: pki.dev_cert.clone(),
                        key: pki.dev_key.clone(),
                    },
                ),
            ],
            contexts,
            current_context: default_context.to_owned(),
        }
    }

    /// The kubeconfig's text.
    pub fn render(&self) -> anyhow::Result<String> {
        let read = |path: &Path| {
            std::fs::read(path)
                .with_context(|| format!("reading {}", path.display()))
                .map(|b| base64::engine::general_purpose::STANDARD.encode(b))
        };
        let ca = read(&self.ca)?;
        let mut text = String::from("apiVersion: v1\nkind: Config\nclusters:\n");
        for (name, url) in &self.clusters {
            text.push_str(&format!(
                "- name: {name}\n  cluster:\n    server: {url}\n    certificate-authority-data: {ca}\n"
            ));
        }
        text.push_str("users:\n");
        for (name, user) in &self.users {
            text.push_str(&format!("- name: {name}\n  user:\n"));
            match user {
                User::Certificate { cert, key } => text.push_str(&format!(
                    "    client-certificate-data: {}\n    client-key-data: {}\n",
                    read(cert)?,
                    read(key)?
                )),
                User::Token(token) => text.push_str(&format!("    token: {token}\n")),
            }
        }
        text.push_str("contexts:\n");
        for c in &self.contexts {
            text.push_str(&format!(
                "- name: {}\n  context:\n    cluster: {}\n    user: {}\n",
                c.name, c.cluster, c.user
            ));
            if let Some(ns) = &c.namespace {
                text.push_str(&format!("    namespace: {ns}\n"));
            }
        }
        text.push_str(&format!("current-context: {}\n", self.current_context));
        Ok(text)
    }

    /// Writes the kubeconfig to `path` (mode 0600).
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let text = self.render()?;
        write_private(path, text.as_bytes()).with_context(|| format!("writing {}", path.display()))
    }
}

fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn one_context_per_server_a_default_on_the_first_and_dev() {
        let dir = tempfile::tempdir().unwrap();
        let (pki, _) = Pki::generate(dir.path()).unwrap();
        let servers = vec![
            ("s-1".to_owned(), "https://127.0.0.1:1".to_owned()),
            ("s-2".to_owned(), "https://127.0.0.1:2".to_owned()),
        ];
        let text = Kubeconfig::admin(&pki, &servers, "dflt").render().unwrap();
        assert!(text.contains("- name: s-2\n  cluster:\n    server: https://127.0.0.1:2\n"));
        assert!(text.contains("- name: dflt\n  context:\n    cluster: s-1\n    user: admin\n"));
        assert!(text.contains(
            "- name: dev\n  context:\n    cluster: s-1\n    user: dev\n    namespace: dev\n"
        ));
        assert!(text.ends_with("current-context: dflt\n"));
        assert_eq!(text.matches("client-key-data").count(), 2, "admin and dev");
    }
}
