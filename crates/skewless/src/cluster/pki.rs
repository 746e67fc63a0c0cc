//! The cluster's certificates, generated once into `<state-dir>/pki` and
//! reused on every later run:
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
//! decides what to issue and where it goes. The CA keys are not kept: a
//! cluster needs no new certificates after it is created.

use anyhow::Context;
use skewless_server::tls::Ca;

use super::process::pki_files::*;
use super::state::Layout;

/// Every file a cluster needs.
const ALL: &[&str] = &[
    CA,
    SERVING_CERT,
    SERVING_KEY,
    ADMIN_CERT,
    ADMIN_KEY,
    FRONT_PROXY_CA,
    PROXY_CERT,
    PROXY_KEY,
];

/// What [`ensure`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pki {
    Generated,
    Reused,
}

/// Generates the PKI unless every file of it is already there.
pub fn ensure(layout: &Layout) -> anyhow::Result<Pki> {
    let dir = layout.pki();
    if ALL.iter().all(|f| dir.join(f).is_file()) {
        return Ok(Pki::Reused);
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let context = || format!("writing certificates into {}", dir.display());
    let strip = |name: &str| name.trim_end_matches(".crt").to_owned();

    let ca = Ca::generate("skewless-ca").context("generating the cluster CA")?;
    std::fs::write(dir.join(CA), ca.cert_pem()).with_context(context)?;
    ca.issue_server(&[
        "kubernetes.default.svc".into(),
        "localhost".into(),
        "127.0.0.1".into(),
    ])
    .context("issuing the serving certificate")?
    .write(&dir, &strip(SERVING_CERT))
    .with_context(context)?;
    ca.issue_client("admin", &["system:masters"])
        .context("issuing the admin certificate")?
        .write(&dir, &strip(ADMIN_CERT))
        .with_context(context)?;

    let front_proxy =
        Ca::generate("skewless-front-proxy-ca").context("generating the front-proxy CA")?;
    std::fs::write(dir.join(FRONT_PROXY_CA), front_proxy.cert_pem()).with_context(context)?;
    front_proxy
        .issue_client(PROXY_CN, &[])
        .context("issuing the proxy client certificate")?
        .write(&dir, &strip(PROXY_CERT))
        .with_context(context)?;
    Ok(Pki::Generated)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_then_reuses() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path()).unwrap();
        assert_eq!(ensure(&layout).unwrap(), Pki::Generated);
        let ca = std::fs::read(layout.pki().join(CA)).unwrap();
        assert_eq!(ensure(&layout).unwrap(), Pki::Reused);
        assert_eq!(std::fs::read(layout.pki().join(CA)).unwrap(), ca);
        for f in ALL {
            assert!(layout.pki().join(f).is_file(), "{f}");
        }
    }
}
