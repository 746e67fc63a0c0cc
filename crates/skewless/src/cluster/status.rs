//! `skewless cluster status`: per server its ID, version, address,
//! readiness, the resources only it serves (from each server's local
//! `profile=nopeer` discovery), and requests rerouted in and out (from
//! `/metrics`, also as a share of its requests), then one line saying
//! whether the control plane is mixed, whether an upgrade is held after
//! its canaries, and the resources whose StorageVersion says the servers
//! write different versions (when the StorageVersion API is on).
//!
//! Read-only: it never changes the state file or a server.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};
use serde::Serialize;

use super::discovery::{self, Served};
use super::process;
use super::state::{Layout, proxy_enabled};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Output {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Output format.
    #[arg(long, short, value_enum, default_value = "table")]
    output: Output,
}

/// One server's line.
#[derive(Debug, Serialize)]
struct ServerStatus {
    id: String,
    /// What the server reports (`/version`), or its configured version when down.
    version: String,
    address: String,
    pid: Option<u32>,
    ready: bool,
    /// `group/version: resources` this server alone serves.
    only_here: Vec<String>,
    /// `group/version: resources` other servers serve and this one does not.
    missing_here: Vec<String>,
    /// Requests a peer proxied to this server.
    rerouted_in: Option<u64>,
    /// Requests this server proxied to a peer.
    rerouted_out: Option<u64>,
    /// `rerouted_out` as a share of the requests it got since it started.
    proxied_share: Option<f64>,
    /// The peer wire format version its identity Lease advertises (1 when
    /// the Lease has no annotation: builds before it was versioned).
    peer_protocol: Option<u32>,
    /// The skewless build it runs, when not this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    binary: Option<String>,
    /// How this server reaches each peer.
    peer_links: Vec<discovery::PeerLink>,
}

#[derive(Debug, Serialize)]
struct ClusterStatus {
    state_dir: String,
    storage: String,
    proxy_enabled: bool,
    mixed: bool,
    summary: String,
    /// An upgrade held after its canaries.
    #[serde(skip_serializing_if = "Option::is_none")]
    upgrade: Option<super::state::HeldUpgrade>,
    servers: Vec<ServerStatus>,
    /// `<group>.<resource>: <server>=<version>, ...` for each StorageVersion
    /// whose servers disagree; empty when they agree or the API is off.
    storage_versions_differ: Vec<String>,
}

pub async fn run(layout: &Layout, args: StatusArgs) -> anyhow::Result<ExitCode> {
    let state = layout.load_existing()?;
    let creds = layout.credentials()?;
    let mut servers = Vec::new();
    let mut served: Vec<Option<Served>> = Vec::new();
    let mut storage_versions_differ = None;
    for s in &state.servers {
        let pid = process::running_pid(s);
        let client = creds.client(s.port);
        let (mut ready, mut version, mut counters, mut local, mut links) =
            (false, s.version.clone(), None, None, Vec::new());
        let mut peer_protocol = None;
        // A server that does not answer at all (hung) is asked nothing more:
        // every further question would wait for its timeout too.
        let answers = match pid {
            Some(_) => match client.get("/readyz", Duration::from_secs(3)).await {
                Ok(r) => {
                    ready = r.status == 200;
                    true
                }
                Err(_) => false,
            },
            None => false,
        };
        if answers {
            if let Ok(v) = discovery::version(&client).await {
                version = v;
            }
            counters = discovery::proxy_counters(&client).await.ok();
            local = discovery::served(&client, discovery::NOPEER).await.ok();
            links = discovery::peer_links(&client).await.unwrap_or_default();
            if storage_versions_differ.is_none() {
                storage_versions_differ = storage_version_disagreements(&client).await;
            }
            peer_protocol = discovery::peer_protocol(&client, &s.id).await;
        }
        served.push(local);
        servers.push(ServerStatus {
            id: s.id.clone(),
            version,
            address: s.url(),
            pid,
            ready,
            only_here: Vec::new(),
            missing_here: Vec::new(),
            rerouted_in: counters.map(|c| c.proxied_in),
            rerouted_out: counters.map(|c| c.rerouted_out),
            proxied_share: counters
                .filter(|c| c.requests > 0)
                .map(|c| (c.rerouted_out as f64 / c.requests as f64).min(1.0)),
            binary: s.binary.as_ref().map(|b| b.display().to_string()),
            peer_protocol,
            peer_links: links,
        });
    }
    // Compare only the servers whose discovery we could read.
    let known: Vec<&Served> = served.iter().flatten().collect();
    let union: Served = known.iter().flat_map(|s| s.iter().cloned()).collect();
    let mut partial = 0;
    for gvr in &union {
        let holders: Vec<usize> = served
            .iter()
            .enumerate()
            .filter(|(_, s)| s.as_ref().is_some_and(|s| s.contains(gvr)))
            .map(|(i, _)| i)
            .collect();
        if holders.len() < known.len() {
            partial += 1;
        }
    }
    for (i, s) in served.iter().enumerate() {
        let Some(mine) = s else { continue };
        let others: Served = served
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .flat_map(|(_, s)| s.iter().flatten().cloned())
            .collect();
        servers[i].only_here = discovery::describe(&mine.difference(&others).cloned().collect());
        servers[i].missing_here = discovery::describe(&union.difference(mine).cloned().collect());
    }

    let running: Vec<&ServerStatus> = servers.iter().filter(|s| s.pid.is_some()).collect();
    let mut by_version: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for s in &running {
        by_version
            .entry(s.version.as_str())
            .or_default()
            .push(s.id.as_str());
    }
    let proxy = proxy_enabled(&state.feature_gates);
    let mixed = by_version.len() > 1 || partial > 0;
    let versions = by_version
        .iter()
        .map(|(v, ids)| format!("{v} ({})", ids.join(", ")))
        .collect::<Vec<_>>()
        .join(", ");
    let summary = if running.is_empty() {
        "control plane: not running".to_owned()
    } else if mixed {
        format!(
            "control plane: MIXED: versions {versions}; {partial} resource(s) served by only some servers{}",
            if proxy {
                ", reached from every server through the Mixed Version Proxy"
            } else {
                "; the Mixed Version Proxy is OFF, so servers lacking them answer 404"
            }
        )
    } else {
        format!(
            "control plane: not mixed: every running server is at {versions} and serves the same resources"
        )
    };
    let summary = match &state.upgrade {
        Some(held) => format!(
            "{summary}\nupgrade to {} HELD after its canaries ({}): finish it with `skewless cluster upgrade --continue`, or roll them back with `skewless cluster upgrade --abort`",
            held.to,
            held.canaries
                .iter()
                .map(|c| format!("{}, was {}", c.id, c.version))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        None => summary,
    };
    let status = ClusterStatus {
        state_dir: layout.dir.display().to_string(),
        storage: state.storage_description(layout),
        proxy_enabled: proxy,
        mixed,
        summary,
        upgrade: state.upgrade.clone(),
        servers,
        storage_versions_differ: storage_versions_differ.unwrap_or_default(),
    };
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&status)?),
        Output::Table => print_table(&status),
    }
    let all_ready = !status.servers.is_empty() && status.servers.iter().all(|s| s.ready);
    let links_up = status
        .servers
        .iter()
        .all(|s| s.peer_links.iter().all(discovery::PeerLink::healthy));
    Ok(if all_ready && links_up {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_table(status: &ClusterStatus) {
    let rows: Vec<[String; 8]> = status
        .servers
        .iter()
        .map(|s| {
            let count = |c: Option<u64>| c.map(|c| c.to_string()).unwrap_or_else(|| "-".into());
            [
                s.id.clone(),
                s.version.clone(),
                s.address.clone(),
                match (s.pid, s.ready) {
                    (None, _) => "not running".into(),
                    (Some(_), true) => "yes".into(),
                    (Some(_), false) => "no".into(),
                },
                count(s.rerouted_in),
                count(s.rerouted_out),
                s.proxied_share
                    .map_or_else(|| "-".into(), |p| format!("{:.0}%", p * 100.0)),
                if s.only_here.is_empty() {
                    "-".into()
                } else {
                    s.only_here.join("; ")
                },
            ]
        })
        .collect();
    let header = [
        "SERVER",
        "VERSION",
        "ADDRESS",
        "READY",
        "REROUTED IN",
        "REROUTED OUT",
        "PROXIED",
        "SERVED ONLY HERE",
    ];
    let mut widths = header.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    let line = |cells: [&str; 8]| {
        let mut out = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        println!("{}", out.trim_end());
    };
    line(header);
    for r in &rows {
        line([&r[0], &r[1], &r[2], &r[3], &r[4], &r[5], &r[6], &r[7]].map(String::as_str));
    }
    print_links(status);
    println!();
    println!("storage: {}", status.storage);
    println!("{}", status.summary);
    for d in &status.storage_versions_differ {
        println!("storage versions differ: {d}");
    }
}

/// The StorageVersions (`internal.apiserver.k8s.io/v1alpha1`) whose
/// condition `AllEncodingVersionsEqual` is False, each with every server's
/// encoding version; `None` when the list could not be read (the API off
/// answers 404: nothing to flag, `Some` of nothing).
async fn storage_version_disagreements(client: &skewless_local::Client) -> Option<Vec<String>> {
    let path = "/apis/internal.apiserver.k8s.io/v1alpha1/storageversions";
    let r = client.get(path, Duration::from_secs(5)).await.ok()?;
    if r.status == 404 {
        return Some(Vec::new());
    }
    let list = r.json().ok()?;
    let items = list["items"].as_array()?;
    Some(
        items
            .iter()
            .filter(|sv| {
                sv["status"]["conditions"].as_array().is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c["type"] == "AllEncodingVersionsEqual" && c["status"] == "False")
                })
            })
            .map(|sv| {
                let entries = sv["status"]["storageVersions"]
                    .as_array()
                    .map(|es| {
                        es.iter()
                            .map(|e| {
                                format!(
                                    "{}={}",
                                    e["apiServerID"].as_str().unwrap_or("?"),
                                    e["encodingVersion"].as_str().unwrap_or("?")
                                )
                            })
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default();
                format!(
                    "{}: {entries}",
                    sv["metadata"]["name"].as_str().unwrap_or("?")
                )
            })
            .collect(),
    )
}

/// The peer-link matrix: who reaches whom, how fresh its view of the
/// peer's discovery is, and why a link fails.
fn print_links(status: &ClusterStatus) {
    let rows: Vec<[String; 6]> = status
        .servers
        .iter()
        .flat_map(|s| {
            s.peer_links.iter().map(|l| {
                [
                    s.id.clone(),
                    l.peer.clone(),
                    l.link.to_uppercase(),
                    l.discovery.clone(),
                    l.age.clone(),
                    l.cause.clone().unwrap_or_else(|| "-".into()),
                ]
            })
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    let header = ["FROM", "TO", "LINK", "DISCOVERY", "AGE", "ERROR"];
    let mut widths = header.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    println!();
    println!("peer links:");
    let line = |cells: [&str; 6]| {
        let mut out = String::from("  ");
        for (i, c) in cells.iter().enumerate() {
            out.push_str(&format!("{c:<w$}  ", w = widths[i]));
        }
        println!("{}", out.trim_end());
    };
    line(header);
    for r in &rows {
        line([&r[0], &r[1], &r[2], &r[3], &r[4], &r[5]].map(String::as_str));
    }
}
