//! `cluster up --with-metrics`: the sample metrics server (`skewless
//! metrics-server`, this binary re-executed) beside the API servers, with
//! its own CA and serving certificate in `pki/` (made once, reused), the
//! front-proxy CA as its request-header CA, pods and nodes read from the
//! first server as admin, and its registration in the cluster: Service
//! `kube-system/metrics-server`, an EndpointSlice to `127.0.0.1:<port>`
//! and APIService `v1beta1.metrics.k8s.io` whose `caBundle` is its CA, so
//! `kubectl top` works through every server. `down` stops it with the
//! servers. Its output goes to `logs/metrics-server.log`.
//!
//! Like the servers, a recorded process id counts only while `/proc` shows
//! that process running `metrics-server` with this cluster's certificate.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use base64::Engine as _;
use skewless_local::metrics_server::{self, SERVICE_NAME, SERVICE_NAMESPACE};
use skewless_local::pki::{PROXY_CN, Pki};
use skewless_local::process::Launch;
use skewless_server::tls::Ca;

use super::process;
use super::state::{ClusterState, Layout, MetricsState};

/// Its name in logs and messages.
pub const NAME: &str = "metrics-server";
const CA_FILE: &str = "metrics-server-ca.crt";
const CERT_STEM: &str = "metrics-server";

/// The metrics server's certificate files.
struct Files {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn files(layout: &Layout) -> Files {
    let dir = layout.pki();
    Files {
        ca: dir.join(CA_FILE),
        cert: dir.join(format!("{CERT_STEM}.crt")),
        key: dir.join(format!("{CERT_STEM}.key")),
    }
}

/// Its CA and serving certificate (for `127.0.0.1` and the Service's DNS
/// name), generated unless all three files exist.
fn ensure_pki(layout: &Layout) -> anyhow::Result<Files> {
    let f = files(layout);
    if f.ca.is_file() && f.cert.is_file() && f.key.is_file() {
        return Ok(f);
    }
    skewless_server::tls::install_crypto_provider();
    let ca = Ca::generate("skewless-metrics-server-ca").context("generating its CA")?;
    let dir = layout.pki();
    std::fs::write(&f.ca, ca.cert_pem()).with_context(|| format!("writing {}", f.ca.display()))?;
    ca.issue_server(&[
        "127.0.0.1".into(),
        format!("{SERVICE_NAME}.{SERVICE_NAMESPACE}.svc"),
    ])
    .context("issuing its serving certificate")?
    .write(&dir, CERT_STEM)
    .with_context(|| format!("writing its certificate into {}", dir.display()))?;
    Ok(f)
}

/// Its command line after the binary.
fn args(layout: &Layout, f: &Files, port: u16, api_url: &str) -> Vec<String> {
    let pki: Pki = layout.pki_files();
    vec![
        "metrics-server".into(),
        "--bind-address=127.0.0.1".into(),
        format!("--secure-port={port}"),
        format!("--tls-cert-file={}", f.cert.display()),
        format!("--tls-private-key-file={}", f.key.display()),
        format!(
            "--requestheader-client-ca-file={}",
            pki.front_proxy_ca.display()
        ),
        format!("--requestheader-allowed-names={PROXY_CN}"),
        format!("--server={api_url}"),
        format!("--certificate-authority={}", pki.ca.display()),
        format!("--client-certificate={}", pki.admin_cert.display()),
        format!("--client-key={}", pki.admin_key.display()),
    ]
}

/// Whether `pid` is this cluster's metrics server.
fn is_ours(layout: &Layout, pid: u32) -> bool {
    if !process::alive(pid) {
        return false;
    }
    let flag = format!("--tls-cert-file={}", files(layout).cert.display());
    match std::fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(cmdline) => {
            let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
            args.contains(&NAME.as_bytes()) && args.contains(&flag.as_bytes())
        }
        Err(_) => !std::path::Path::new("/proc/self").exists(),
    }
}

/// The recorded metrics server's process, if it still runs.
pub fn running_pid(layout: &Layout, state: &ClusterState) -> Option<u32> {
    state
        .metrics
        .as_ref()
        .and_then(|m| m.pid)
        .filter(|pid| is_ours(layout, *pid))
}

/// Starts it (on its recorded port, else a free one), waits until it
/// listens, records it in `state` and registers it through `admin`.
pub async fn start(
    layout: &Layout,
    state: &mut ClusterState,
    admin: &skewless_local::Client,
    free_port: u16,
    timeout: Duration,
) -> anyhow::Result<tokio::process::Child> {
    let f = ensure_pki(layout)?;
    let port = state
        .metrics
        .as_ref()
        .map(|m| m.port)
        .filter(|p| *p != 0 && std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok())
        .unwrap_or(free_port);
    let Some(api_url) = state.servers.first().map(super::state::ServerState::url) else {
        bail!("no server to read pods and nodes from");
    };
    let exe = std::env::current_exe().context("finding the skewless binary")?;
    let log = layout.log(NAME);
    let mut launch = Launch::serve(&exe, Vec::new(), &log);
    launch.args = args(layout, &f, port, &api_url);
    launch.banner = Some(format!(
        "==> skewless cluster: starting {NAME}: {} {}",
        exe.display(),
        launch.args.join(" ")
    ));
    launch.own_process_group = true;
    let started = launch.spawn()?;
    state.metrics = Some(MetricsState {
        port,
        pid: Some(started.pid),
    });
    layout.save(state)?;
    let addr =
        skewless_local::process::wait_listening(&log, started.log_offset, started.pid, timeout)
            .await
            .with_context(|| format!("{NAME} did not start"))?;
    state.metrics = Some(MetricsState {
        port: addr.port(),
        pid: Some(started.pid),
    });
    layout.save(state)?;
    register(admin, addr.port(), &f).await?;
    Ok(started.child)
}

/// Applies the Service, EndpointSlice and APIService (server-side apply,
/// so a restarted cluster updates them in place).
async fn register(admin: &skewless_local::Client, port: u16, f: &Files) -> anyhow::Result<()> {
    let ca = std::fs::read(&f.ca).with_context(|| format!("reading {}", f.ca.display()))?;
    let ca_bundle = base64::engine::general_purpose::STANDARD.encode(ca);
    let [service, slice, apiservice] = metrics_server::registration(port, &ca_bundle);
    let paths = [
        format!("/api/v1/namespaces/{SERVICE_NAMESPACE}/services/{SERVICE_NAME}"),
        format!(
            "/apis/discovery.k8s.io/v1/namespaces/{SERVICE_NAMESPACE}/endpointslices/{SERVICE_NAME}-1"
        ),
        format!(
            "/apis/apiregistration.k8s.io/v1/apiservices/{}",
            metrics_server::APISERVICE_NAME
        ),
    ];
    for (path, body) in paths.iter().zip([service, slice, apiservice]) {
        let path = format!("{path}?fieldManager=skewless-cluster&force=true");
        let r = admin
            .request(
                "PATCH",
                &path,
                &[("Content-Type", "application/apply-patch+yaml")],
                Some(serde_json::to_vec(&body)?),
                Duration::from_secs(10),
            )
            .await?;
        if !(200..300).contains(&r.status) {
            bail!(
                "registering {NAME}: PATCH {path}: {} {}",
                r.status,
                r.text()
            );
        }
    }
    Ok(())
}

/// Stops it (SIGTERM, then SIGKILL after `timeout`) and records that it
/// no longer runs; the port stays recorded for the next `up`.
pub async fn stop(
    layout: &Layout,
    state: &mut ClusterState,
    timeout: Duration,
) -> anyhow::Result<bool> {
    let pid = running_pid(layout, state);
    if let Some(pid) = pid {
        process::stop(pid, timeout).await?;
    }
    if let Some(m) = &mut state.metrics {
        m.pid = None;
    }
    Ok(pid.is_some())
}
