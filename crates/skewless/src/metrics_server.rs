//! `skewless metrics-server`: the sample extension API server
//! (`skewless_local::metrics_server`) as a process. It serves
//! `metrics.k8s.io/v1beta1` for the pods and nodes of the API server it is
//! pointed at (kubectl's flag names: `--server`, `--certificate-authority`,
//! `--client-certificate`, `--client-key`), over HTTPS with its own
//! certificate, to clients with a request-header client certificate, and
//! logs each request with the user the API server asserted.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use skewless_local::metrics_server::{Config, MetricsServer};
use skewless_local::{Client, Credentials, Protocol};
use skewless_server::tls::{load_certs, load_key};

#[derive(Debug, Args)]
pub struct MetricsServerArgs {
    /// The IP address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind_address: IpAddr,
    /// The port to serve HTTPS on (0 picks a free port).
    #[arg(long, default_value_t = 10250)]
    secure_port: u16,
    /// The serving certificate (the APIService's caBundle must sign it).
    #[arg(long)]
    tls_cert_file: PathBuf,
    /// The key of --tls-cert-file.
    #[arg(long)]
    tls_private_key_file: PathBuf,
    /// The CA of the client certificates allowed to assert users (the API servers' front-proxy CA).
    #[arg(long)]
    requestheader_client_ca_file: PathBuf,
    /// Common names of those certificates allowed to assert users (empty: any).
    #[arg(long, default_value = "")]
    requestheader_allowed_names: String,
    /// The API server pods and nodes are read from (https://host:port).
    #[arg(long)]
    server: String,
    /// The CA that signed the API server's certificate.
    #[arg(long)]
    certificate_authority: PathBuf,
    /// The client certificate to read pods and nodes with.
    #[arg(long)]
    client_certificate: Option<PathBuf>,
    /// The key of --client-certificate.
    #[arg(long)]
    client_key: Option<PathBuf>,
}

pub async fn run(args: MetricsServerArgs) -> anyhow::Result<()> {
    let identity = match (&args.client_certificate, &args.client_key) {
        (Some(c), Some(k)) => Some((c.as_path(), k.as_path())),
        (None, None) => None,
        _ => anyhow::bail!("--client-certificate and --client-key go together"),
    };
    let api = Credentials::load(&args.certificate_authority, identity)?
        .endpoint(&args.server, Protocol::H2)
        .context("--server")?;
    let listener = tokio::net::TcpListener::bind((args.bind_address, args.secure_port))
        .await
        .with_context(|| format!("listening on {}:{}", args.bind_address, args.secure_port))?;
    let server = MetricsServer::start(
        listener,
        Config {
            serving_chain: load_certs(&args.tls_cert_file).context("--tls-cert-file")?,
            serving_key: load_key(&args.tls_private_key_file).context("--tls-private-key-file")?,
            requestheader_client_ca: args.requestheader_client_ca_file,
            allowed_names: args
                .requestheader_allowed_names
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .collect(),
            api: Client::new(api),
        },
    )?;
    // `cluster up` and scripts read the address from this line.
    println!("serving on https://{}", server.addr);
    crate::shutdown::terminated().await;
    tracing::info!("shutting down");
    drop(server);
    Ok(())
}
