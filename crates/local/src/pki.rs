//! A control plane's certificates in one directory:
//!
//! - a cluster CA that signs the serving certificate (SANs
//!   `kubernetes.default.svc`, `localhost`, `127.0.0.1`: clients dial
//!   127.0.0.1, peers verify `kubernetes.default.svc`) and the admin client
//!   certificate (CN `admin`, O `system:masters`);
//! - a separate front-proxy CA that signs the client certificate servers
//!   present to peers when they proxy (CN `front-proxy-client`), so a user
//!   certificate can never pass as a peer asserting another user.
//!
//! Certificates come from [`skewless_server::tls::Ca`]; this module only
//! decides what to issue, where it goes, and which `serve` flags use it.

use std::path::{Path, PathBuf};

use anyhow::Context;
use skewless_server::tls::{Ca, install_crypto_provider};

pub const CA: &str = "ca.crt";
pub const SERVING_CERT: &str = "apiserver.crt";
pub const SERVING_KEY: &str = "apiserver.key";
pub const ADMIN_CERT: &str = "admin.crt";
pub const ADMIN_KEY: &str = "admin.key";
/// The ordinary user `cluster up` creates besides the admin (no groups;
/// RBAC decides what it may do), and the one namespace where it may edit
/// (bound to `edit` there).
pub const DEV_USER: &str = "dev";
pub const DEV_NAMESPACE: &str = "dev";
pub const DEV_CERT: &str = "dev.crt";
pub const DEV_KEY: &str = "dev.key";
pub const FRONT_PROXY_CA: &str = "front-proxy-ca.crt";
pub const PROXY_CERT: &str = "front-proxy-client.crt";
pub const PROXY_KEY: &str = "front-proxy-client.key";
/// The proxy client certificate's common name, which every server allows
/// to assert users (`--requestheader-allowed-names`).
pub const PROXY_CN: &str = "front-proxy-client";

/// Every file of a PKI.
const ALL: &[&str] = &[
    CA,
    SERVING_CERT,
    SERVING_KEY,
    ADMIN_CERT,
    ADMIN_KEY,
    DEV_CERT,
    DEV_KEY,
    FRONT_PROXY_CA,
    PROXY_CERT,
    PROXY_KEY,
];

/// Where a PKI's files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pki {
    pub dir: PathBuf,
    pub ca: PathBuf,
    pub serving_cert: PathBuf,
    pub serving_key: PathBuf,
    pub admin_cert: PathBuf,
    pub admin_key: PathBuf,
    pub dev_cert: PathBuf,
    pub dev_key: PathBuf,
    pub front_proxy_ca: PathBuf,
    pub proxy_cert: PathBuf,
    pub proxy_key: PathBuf,
}

/// What [`Pki::ensure`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ensured {
    Generated,
    Reused,
}

impl Pki {
    /// The files of a PKI in `dir` (which may not exist yet).
    pub fn at(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            ca: dir.join(CA),
            serving_cert: dir.join(SERVING_CERT),
            serving_key: dir.join(SERVING_KEY),
            admin_cert: dir.join(ADMIN_CERT),
            admin_key: dir.join(ADMIN_KEY),
            dev_cert: dir.join(DEV_CERT),
            dev_key: dir.join(DEV_KEY),
            front_proxy_ca: dir.join(FRONT_PROXY_CA),
            proxy_cert: dir.join(PROXY_CERT),
            proxy_key: dir.join(PROXY_KEY),
        }
    }

    /// Generates a new PKI into `dir`, replacing any there. Returns the
    /// cluster CA, for callers that issue more certificates; dropping it
    /// keeps no CA key anywhere.
    pub fn generate(dir: &Path) -> anyhow::Result<(Self, Ca)> {
        install_crypto_provider();
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let context = || format!("writing certificates into {}", dir.display());
        let stem = |name: &str| name.trim_end_matches(".crt").to_owned();

        let ca = Ca::generate("skewless-ca").context("generating the cluster CA")?;
        std::fs::write(dir.join(CA), ca.cert_pem()).with_context(context)?;
        ca.issue_server(&[
            "kubernetes.default.svc".into(),
            "localhost".into(),
            "127.0.0.1".into(),
        ])
        .context("issuing the serving certificate")?
        .write(dir, &stem(SERVING_CERT))
        .with_context(context)?;
        ca.issue_client("admin", &["system:masters"])
            .context("issuing the admin certificate")?
            .write(dir, &stem(ADMIN_CERT))
            .with_context(context)?;
        ca.issue_client(DEV_USER, &[])
            .context("issuing the dev user's certificate")?
            .write(dir, &stem(DEV_CERT))
            .with_context(context)?;

        let front_proxy =
            Ca::generate("skewless-front-proxy-ca").context("generating the front-proxy CA")?;
        std::fs::write(dir.join(FRONT_PROXY_CA), front_proxy.cert_pem()).with_context(context)?;
        front_proxy
            .issue_client(PROXY_CN, &[])
            .context("issuing the proxy client certificate")?
            .write(dir, &stem(PROXY_CERT))
            .with_context(context)?;
        Ok((Self::at(dir), ca))
    }

    /// Generates the PKI in `dir` unless every file of it is already there.
    pub fn ensure(dir: &Path) -> anyhow::Result<(Self, Ensured)> {
        if ALL.iter().all(|f| dir.join(f).is_file()) {
            return Ok((Self::at(dir), Ensured::Reused));
        }
        let (pki, _ca) = Self::generate(dir)?;
        Ok((pki, Ensured::Generated))
    }

    /// The `serve` flags that make a server use this PKI: its serving
    /// certificate, the cluster CA for client certificates, and the
    /// front-proxy CA and name for users asserted in headers.
    pub fn serve_args(&self) -> Vec<String> {
        vec![
            format!("--tls-cert-file={}", self.serving_cert.display()),
            format!("--tls-private-key-file={}", self.serving_key.display()),
            format!("--client-ca-file={}", self.ca.display()),
            format!(
                "--requestheader-client-ca-file={}",
                self.front_proxy_ca.display()
            ),
            format!("--requestheader-allowed-names={PROXY_CN}"),
        ]
    }

    /// The `serve` flags that turn the Mixed Version Proxy on with this
    /// PKI: trust peers the cluster CA signed, present the proxy
    /// certificate to them.
    pub fn peer_args(&self) -> Vec<String> {
        vec![
            format!("--peer-ca-file={}", self.ca.display()),
            format!("--proxy-client-cert-file={}", self.proxy_cert.display()),
            format!("--proxy-client-key-file={}", self.proxy_key.display()),
        ]
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_then_reuses() {
        let dir = tempfile::tempdir().unwrap();
        let pki_dir = dir.path().join("pki");
        let (pki, ensured) = Pki::ensure(&pki_dir).unwrap();
        assert_eq!(ensured, Ensured::Generated);
        let ca = std::fs::read(&pki.ca).unwrap();
        assert_eq!(Pki::ensure(&pki_dir).unwrap().1, Ensured::Reused);
        assert_eq!(std::fs::read(&pki.ca).unwrap(), ca);
        for f in ALL {
            assert!(pki_dir.join(f).is_file(), "{f}");
        }
    }
}
