//! The test PKI: `skewless-local`'s certificates plus what only tests need
//! (a token file, a client certificate from the cluster CA that is not the
//! front proxy's, and one from a CA no server trusts).

use std::path::PathBuf;
use std::sync::Arc;

use skewless_server::tls::Ca;

/// Certificates and credentials for one test cluster, written to a
/// temporary directory: `skewless-local`'s PKI (its files through `Deref`)
/// plus a token file and two more client certificates.
#[derive(Debug)]
pub struct Pki {
    files: skewless_local::Pki,
    pub tokens: PathBuf,
    /// A client certificate from the cluster CA (not the front-proxy CA).
    pub other_cert: PathBuf,
    pub other_key: PathBuf,
    /// A client certificate from a CA no server trusts.
    pub untrusted_cert: PathBuf,
    pub untrusted_key: PathBuf,
    /// The cluster CA itself, to issue more certificates (fake peers).
    pub cluster_ca: Arc<Ca>,
    _tmp: Arc<tempfile::TempDir>,
}

impl std::ops::Deref for Pki {
    type Target = skewless_local::Pki;

    fn deref(&self) -> &Self::Target {
        &self.files
    }
}

/// The bearer token `Pki` puts in the token file for user [`TOKEN_USER`].
pub const TOKEN: &str = "skewless-test-token";
/// The user of [`TOKEN`] (groups `team-a`, `team-b`; bound to
/// `cluster-admin` by RBAC once a test server is ready).
pub const TOKEN_USER: &str = "token-user";

impl Pki {
    pub fn generate() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let (files, ca) = skewless_local::Pki::generate(&dir).unwrap();
        let (other_cert, other_key) = ca
            .issue_client(skewless_local::pki::PROXY_CN, &[])
            .unwrap()
            .write(&dir, "other")
            .unwrap();
        let (untrusted_cert, untrusted_key) = Ca::generate("nobody-trusts-this-ca")
            .unwrap()
            .issue_client("admin", &["system:masters"])
            .unwrap()
            .write(&dir, "untrusted")
            .unwrap();
        let tokens = dir.join("tokens.csv");
        std::fs::write(
            &tokens,
            format!("{TOKEN},{TOKEN_USER},1001,\"team-a,team-b\"\n"),
        )
        .unwrap();
        Self {
            files,
            tokens,
            other_cert,
            other_key,
            untrusted_cert,
            untrusted_key,
            cluster_ca: Arc::new(ca),
            _tmp: Arc::new(tmp),
        }
    }

    /// The flags that turn the Mixed Version Proxy on for a server named `id`.
    pub fn peer_args(&self, id: &str) -> Vec<String> {
        let mut args = vec![format!("--apiserver-id={id}")];
        args.extend(self.files.peer_args());
        args
    }

    /// The flags that make a server use this PKI (and its token file).
    pub fn serve_args(&self) -> Vec<String> {
        let mut args = self.files.serve_args();
        args.push(format!("--token-auth-file={}", self.tokens.display()));
        args
    }
}
