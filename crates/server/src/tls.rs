//! TLS for the secure port: the serving certificate (given, or generated
//! self-signed into `--cert-dir` as kube-apiserver does), client-certificate
//! requests against the client CA and the request-header CA, and, after the
//! handshake, which of the two a client's certificate chains to.
//!
//! Also a small PKI ([`Ca`]) used by tests and `skewless cluster` to mint a
//! cluster CA, serving certificates and client certificates.
//!
//! This module must never accept a client certificate on the strength of the
//! handshake alone: the handshake allows any certificate from either CA (or
//! none), and [`ClientCertVerifiers::classify`] decides what it proves.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, UnixTime};

/// Installs the one crypto provider the process uses (ring).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Reads every certificate in a PEM file.
pub fn load_certs(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("reading certificates from {}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("parsing certificates in {}", path.display()))?;
    if certs.is_empty() {
        bail!("{} holds no certificate", path.display());
    }
    Ok(certs)
}

/// Reads a PEM private key.
pub fn load_key(path: &Path) -> anyhow::Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_file(path)
        .with_context(|| format!("reading a private key from {}", path.display()))
}

/// The serving certificate chain and key: loaded from the given files, or
/// generated once (self-signed) into `cert_dir` and reused afterwards.
pub fn serving_identity(
    cert_file: Option<&Path>,
    key_file: Option<&Path>,
    cert_dir: &Path,
    extra_sans: &[String],
) -> anyhow::Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    match (cert_file, key_file) {
        (Some(cert), Some(key)) => Ok((load_certs(cert)?, load_key(key)?)),
        (Some(_), None) | (None, Some(_)) => {
            bail!("--tls-cert-file and --tls-private-key-file must be given together")
        }
        (None, None) => {
            let cert = cert_dir.join("apiserver.crt");
            let key = cert_dir.join("apiserver.key");
            if !cert.exists() || !key.exists() {
                std::fs::create_dir_all(cert_dir)
                    .with_context(|| format!("creating {}", cert_dir.display()))?;
                let mut sans = vec![
                    "localhost".to_owned(),
                    "127.0.0.1".to_owned(),
                    "kubernetes.default.svc".to_owned(),
                ];
                sans.extend(extra_sans.iter().cloned());
                let (cert_pem, key_pem) = self_signed(&sans)?;
                write_private(&key, key_pem.as_bytes())?;
                std::fs::write(&cert, cert_pem)
                    .with_context(|| format!("writing {}", cert.display()))?;
                tracing::info!(cert = %cert.display(), "generated a self-signed serving certificate");
            }
            Ok((load_certs(&cert)?, load_key(&key)?))
        }
    }
}

fn self_signed(sans: &[String]) -> anyhow::Result<(String, String)> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.subject_alt_names = sans_of(sans)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "skewless self-signed");
    let cert = params.self_signed(&key)?;
    Ok((cert.pem(), key.serialize_pem()))
}

fn sans_of(names: &[String]) -> anyhow::Result<Vec<SanType>> {
    names
        .iter()
        .map(|n| {
            Ok(match n.parse::<IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName(n.clone().try_into()?),
            })
        })
        .collect()
}

fn write_private(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    opts.mode(0o600);
    let mut f = opts
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(data)?;
    Ok(())
}

/// What a client's certificate proves, decided after the handshake.
#[derive(Debug, Clone, Default)]
pub struct PeerCertificate {
    /// Chains to `--client-ca-file`: (common name, organizations).
    pub client: Option<(String, Vec<String>)>,
    /// Chains to `--requestheader-client-ca-file`: its common name.
    pub front_proxy: Option<String>,
}

/// Verifiers for the two client CAs.
#[derive(Debug, Clone, Default)]
pub struct ClientCertVerifiers {
    client: Option<Arc<dyn ClientCertVerifier>>,
    front_proxy: Option<Arc<dyn ClientCertVerifier>>,
    /// Both CAs' roots: what the handshake accepts.
    union: Option<Arc<dyn ClientCertVerifier>>,
}

fn verifier(roots: RootCertStore) -> anyhow::Result<Arc<dyn ClientCertVerifier>> {
    Ok(WebPkiClientVerifier::builder(Arc::new(roots))
        .allow_unauthenticated()
        .build()?)
}

fn roots(certs: &[CertificateDer<'static>]) -> anyhow::Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    for c in certs {
        roots.add(c.clone()).context("adding a CA certificate")?;
    }
    Ok(roots)
}

impl ClientCertVerifiers {
    pub fn new(client_ca: Option<&Path>, front_proxy_ca: Option<&Path>) -> anyhow::Result<Self> {
        let client_certs = client_ca.map(load_certs).transpose()?;
        let proxy_certs = front_proxy_ca.map(load_certs).transpose()?;
        let mut all = Vec::new();
        all.extend(client_certs.iter().flatten().cloned());
        all.extend(proxy_certs.iter().flatten().cloned());
        Ok(Self {
            client: client_certs.map(|c| verifier(roots(&c)?)).transpose()?,
            front_proxy: proxy_certs.map(|c| verifier(roots(&c)?)).transpose()?,
            union: if all.is_empty() {
                None
            } else {
                Some(verifier(roots(&all)?)?)
            },
        })
    }

    /// Decides what the presented chain proves (nothing, when empty).
    pub fn classify(&self, chain: &[CertificateDer<'static>]) -> PeerCertificate {
        let Some((leaf, intermediates)) = chain.split_first() else {
            return PeerCertificate::default();
        };
        let now = UnixTime::now();
        let verified = |v: &Option<Arc<dyn ClientCertVerifier>>| {
            v.as_ref()
                .is_some_and(|v| v.verify_client_cert(leaf, intermediates, now).is_ok())
        };
        let names = subject_names(leaf);
        PeerCertificate {
            client: verified(&self.client).then(|| names.clone()),
            front_proxy: verified(&self.front_proxy).then(|| names.0.clone()),
        }
    }

    /// The rustls server configuration: ALPN h2 and http/1.1, client
    /// certificates requested (never required) when a CA is configured.
    pub fn server_config(
        &self,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> anyhow::Result<rustls::ServerConfig> {
        let builder = rustls::ServerConfig::builder();
        let mut config = match &self.union {
            Some(v) => builder.with_client_cert_verifier(Arc::clone(v)),
            None => builder.with_no_client_auth(),
        }
        .with_single_cert(chain, key)
        .context("the serving certificate and key do not match")?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(config)
    }
}

/// (common name, organizations) of a certificate's subject.
fn subject_names(der: &CertificateDer<'_>) -> (String, Vec<String>) {
    match x509_parser::parse_x509_certificate(der.as_ref()) {
        Ok((_, cert)) => {
            let subject = cert.subject();
            let cn = subject
                .iter_common_name()
                .next()
                .and_then(|a| a.as_str().ok())
                .unwrap_or_default()
                .to_owned();
            let orgs = subject
                .iter_organization()
                .filter_map(|a| a.as_str().ok().map(str::to_owned))
                .collect();
            (cn, orgs)
        }
        Err(_) => (String::new(), Vec::new()),
    }
}

/// A certificate authority that issues serving and client certificates.
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    cert_pem: String,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca").finish_non_exhaustive()
    }
}

/// A PEM certificate and its PEM key.
#[derive(Debug, Clone)]
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
}

impl Issued {
    /// Writes `<dir>/<name>.crt` and `<dir>/<name>.key`; returns their paths.
    pub fn write(&self, dir: &Path, name: &str) -> anyhow::Result<(PathBuf, PathBuf)> {
        std::fs::create_dir_all(dir)?;
        let cert = dir.join(format!("{name}.crt"));
        let key = dir.join(format!("{name}.key"));
        std::fs::write(&cert, &self.cert_pem)?;
        write_private(&key, self.key_pem.as_bytes())?;
        Ok((cert, key))
    }
}

impl Ca {
    /// A new self-signed CA named `common_name`.
    pub fn generate(common_name: &str) -> anyhow::Result<Self> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        let cert = params.self_signed(&key)?;
        Ok(Self {
            cert_pem: cert.pem(),
            issuer: Issuer::new(params, key),
        })
    }

    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// A serving certificate for the given DNS names and IPs.
    pub fn issue_server(&self, sans: &[String]) -> anyhow::Result<Issued> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.subject_alt_names = sans_of(sans)?;
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, "skewless");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.sign(params)
    }

    /// A client certificate: CN is the user, each O a group.
    pub fn issue_client(&self, user: &str, groups: &[&str]) -> anyhow::Result<Issued> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, user);
        for g in groups {
            params.distinguished_name.push(DnType::OrganizationName, *g);
        }
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.sign(params)
    }

    fn sign(&self, params: CertificateParams) -> anyhow::Result<Issued> {
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// Checks the peer proxy's certificates at start-up, so a misconfiguration
/// refuses to start instead of failing every proxied request later: every
/// certificate of the peer CA bundle parses, and the proxy client
/// certificate matches its key and is within its validity period.
pub(crate) fn check_peer_certificates(
    peer_ca: &[CertificateDer<'static>],
    client_chain: &[CertificateDer<'static>],
    client_key: &PrivateKeyDer<'static>,
) -> anyhow::Result<()> {
    for (i, der) in peer_ca.iter().enumerate() {
        if let Err(e) = x509_parser::parse_x509_certificate(der.as_ref()) {
            bail!(
                "--peer-ca-file: certificate {} is not valid X.509: {e}",
                i + 1
            );
        }
    }
    let Some(leaf) = client_chain.first() else {
        bail!("--proxy-client-cert-file holds no certificate");
    };
    let provider = rustls::crypto::ring::default_provider();
    let signing = provider
        .key_provider
        .load_private_key(client_key.clone_key())
        .map_err(|e| anyhow::anyhow!("--proxy-client-key-file: {e}"))?;
    rustls::sign::CertifiedKey::new(client_chain.to_vec(), signing)
        .keys_match()
        .map_err(|e| {
            anyhow::anyhow!(
                "--proxy-client-cert-file and --proxy-client-key-file do not belong together: {e}"
            )
        })?;
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref())
        .map_err(|e| anyhow::anyhow!("--proxy-client-cert-file: not valid X.509: {e}"))?;
    let validity = cert.validity();
    if !validity.is_valid() {
        bail!(
            "--proxy-client-cert-file is outside its validity period ({} to {})",
            validity.not_before,
            validity.not_after
        );
    }
    Ok(())
}
