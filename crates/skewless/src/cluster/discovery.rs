//! What a server says about itself: the resources it serves (aggregated
//! discovery, local with `profile=nopeer` or merged across peers), its
//! version, and the Mixed Version Proxy counters in its `/metrics`.
//!
//! Pure parsing is kept apart from fetching so it can be table-tested.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

use skewless_local::Client;

/// A resource as discovery names it: (group, version, resource).
pub type Gvr = (String, String, String);

/// The set of resources one server serves.
pub type Served = BTreeSet<Gvr>;

/// Aggregated discovery of this server alone.
pub const NOPEER: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList;profile=nopeer";
/// Aggregated discovery merged across the control plane.
pub const MERGED: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Requests rerouted out of a server to a peer.
pub const REROUTED_OUT: &str = "apiserver_rerouted_request_total";
/// Requests a server received from a peer's proxy.
pub const PROXIED_IN: &str = "skewless_peer_proxied_requests_received_total";

const TIMEOUT: Duration = Duration::from_secs(5);

/// `group/version`, or `version` for the core group.
pub fn group_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    }
}

/// The resources of an `APIGroupDiscoveryList` (subresources excluded),
/// only those with `verb` when one is given.
pub fn parse_aggregated(doc: &Value, verb: Option<&str>) -> Served {
    let mut out = Served::new();
    for group in doc["items"].as_array().into_iter().flatten() {
        let name = group["metadata"]["name"].as_str().unwrap_or_default();
        for version in group["versions"].as_array().into_iter().flatten() {
            let v = version["version"].as_str().unwrap_or_default();
            for r in version["resources"].as_array().into_iter().flatten() {
                let has_verb = verb.is_none_or(|verb| {
                    r["verbs"]
                        .as_array()
                        .is_some_and(|vs| vs.iter().any(|v| v.as_str() == Some(verb)))
                });
                if let Some(resource) = r["resource"].as_str()
                    && has_verb
                {
                    out.insert((name.to_owned(), v.to_owned(), resource.to_owned()));
                }
            }
        }
    }
    out
}

/// What the server serves: local (`nopeer`) or merged across peers.
pub async fn served(client: &Client, accept: &str) -> anyhow::Result<Served> {
    served_with(client, accept, None).await
}

/// As [`served`], keeping only resources with `verb` when given.
pub async fn served_with(
    client: &Client,
    accept: &str,
    verb: Option<&str>,
) -> anyhow::Result<Served> {
    let mut out = Served::new();
    for path in ["/api", "/apis"] {
        let r = client
            .request("GET", path, &[("accept", accept)], None, TIMEOUT)
            .await?;
        if r.status != 200 {
            bail!(
                "{} {path} answered {}: {}",
                client.url(),
                r.status,
                r.text()
            );
        }
        let doc = r
            .json()
            .with_context(|| format!("{} {path}", client.url()))?;
        out.extend(parse_aggregated(&doc, verb));
    }
    Ok(out)
}

/// The emulated version a server reports (`v1.35.0` → `1.35`).
pub async fn version(client: &Client) -> anyhow::Result<String> {
    let r = client.get("/version", TIMEOUT).await?;
    let v = r.json()?;
    Ok(match (v["major"].as_str(), v["minor"].as_str()) {
        (Some(major), Some(minor)) => format!("{major}.{minor}"),
        _ => v["gitVersion"]
            .as_str()
            .unwrap_or("?")
            .trim_start_matches('v')
            .to_owned(),
    })
}

/// The sum of every sample of a counter in Prometheus text, leaving out
/// samples labelled `resource=""`: the proxy counters count peer discovery
/// syncs that way (as upstream), and those are not client requests.
pub fn metric_sum(text: &str, name: &str) -> u64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter(|l| !l.contains("{resource=\"\"") && !l.contains(",resource=\"\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

/// The proxy counters of one server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ProxyCounters {
    /// Requests this server sent to a peer (`apiserver_rerouted_request_total`).
    pub rerouted_out: u64,
    /// Requests a peer sent to this server (`skewless_peer_proxied_requests_received_total`).
    pub proxied_in: u64,
    /// Requests this server answered or relayed (`apiserver_request_total`).
    pub requests: u64,
}

pub async fn proxy_counters(client: &Client) -> anyhow::Result<ProxyCounters> {
    let r = client.get("/metrics", TIMEOUT).await?;
    if r.status != 200 {
        bail!("{} /metrics answered {}", client.url(), r.status);
    }
    let text = r.text();
    Ok(ProxyCounters {
        rerouted_out: metric_sum(&text, REROUTED_OUT),
        proxied_in: metric_sum(&text, PROXIED_IN),
        requests: metric_sum(&text, "apiserver_request_total"),
    })
}

/// The peer wire format version server `id`'s identity Lease advertises
/// (1 without the annotation); `None` when the Lease cannot be read.
pub async fn peer_protocol(client: &Client, id: &str) -> Option<u32> {
    use skewless_server::identity::PEER_PROTOCOL_ANNOTATION;
    let path = format!("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/{id}");
    let r = client.get(&path, TIMEOUT).await.ok()?;
    if r.status != 200 {
        return None;
    }
    let lease: serde_json::Value = serde_json::from_slice(&r.body).ok()?;
    match lease["metadata"]["annotations"][PEER_PROTOCOL_ANNOTATION].as_str() {
        Some(v) => v.parse().ok(),
        None => Some(1),
    }
}

/// One server's view of one peer, from its `/readyz?verbose`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PeerLink {
    /// The peer's server ID.
    pub peer: String,
    /// Where it is dialled.
    pub address: String,
    /// `up`, `suspect` or `down`.
    pub link: String,
    /// `known` or `unknown`.
    pub discovery: String,
    /// Seconds since its discovery was last fetched, as printed (`-` if never).
    pub age: String,
    /// Why the link or discovery fails, when it does.
    pub cause: Option<String>,
}

impl PeerLink {
    /// Whether requests can reach the peer and routing knows what it serves.
    pub fn healthy(&self) -> bool {
        self.link == "up" && self.discovery == "known"
    }
}

/// Parses the peers section of `/readyz?verbose`: lines
/// `  peer <id> <address> link=<state> discovery=<state> age=<age> [cause="…" check="…"]`.
pub fn parse_peer_links(text: &str) -> Vec<PeerLink> {
    text.lines()
        .filter_map(|line| {
            let rest = line.trim_start().strip_prefix("peer ")?;
            let mut words = rest.splitn(6, ' ');
            let peer = words.next()?.to_owned();
            let address = words.next()?.to_owned();
            let link = words.next()?.strip_prefix("link=")?.to_owned();
            let discovery = words.next()?.strip_prefix("discovery=")?.to_owned();
            let age = words.next()?.strip_prefix("age=")?.to_owned();
            let cause = words.next().and_then(|tail| {
                let quoted = tail.strip_prefix("cause=")?;
                let end = quoted.find("\" check=").unwrap_or(quoted.len());
                Some(quoted[..end].trim_matches('"').replace("\\\"", "\""))
            });
            Some(PeerLink {
                peer,
                address,
                link,
                discovery,
                age,
                cause,
            })
        })
        .collect()
}

/// A server's view of every peer.
pub async fn peer_links(client: &Client) -> anyhow::Result<Vec<PeerLink>> {
    let r = client.get("/readyz?verbose", TIMEOUT).await?;
    Ok(parse_peer_links(&r.text()))
}

/// Resources of `all` grouped as `group/version: a, b`, one entry per
/// group/version, for tables and messages.
pub fn describe(resources: &Served) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current: Option<(String, Vec<&str>)> = None;
    for (g, v, r) in resources {
        let gv = group_version(g, v);
        match &mut current {
            Some((cur, list)) if *cur == gv => list.push(r),
            _ => {
                if let Some((cur, list)) = current.take() {
                    out.push(format!("{cur}: {}", list.join(", ")));
                }
                current = Some((gv, vec![r]));
            }
        }
    }
    if let Some((cur, list)) = current {
        out.push(format!("{cur}: {}", list.join(", ")));
    }
    out
}

/// Waits until every client's merged discovery lists every resource in
/// `expected`. Returns how long it took, or `None` on timeout.
pub async fn wait_merged(
    clients: &[Client],
    expected: &Served,
    timeout: Duration,
) -> Option<Duration> {
    let started = Instant::now();
    loop {
        let mut all = true;
        for c in clients {
            match served(c, MERGED).await {
                Ok(merged) if expected.is_subset(&merged) => {}
                _ => {
                    all = false;
                    break;
                }
            }
        }
        if all {
            return Some(started.elapsed());
        }
        if started.elapsed() > timeout {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_lines_of_readyz_parse() {
        let text = "[+]ping ok\nreadyz check passed\npeers (informational, not part of readiness):\n  peer skewless-2 127.0.0.1:6444 link=up discovery=known age=0.4s\n  peer skewless-3 127.0.0.1:6445 link=down discovery=unknown age=- cause=\"invalid peer certificate: UnknownIssuer\" check=\"--peer-ca-file must hold the CA\"\n";
        let links = parse_peer_links(text);
        assert_eq!(links.len(), 2);
        assert!(links[0].healthy());
        assert_eq!(links[0].address, "127.0.0.1:6444");
        assert!(!links[1].healthy());
        assert_eq!(links[1].link, "down");
        assert_eq!(
            links[1].cause.as_deref(),
            Some("invalid peer certificate: UnknownIssuer")
        );
    }

    use serde_json::json;

    #[test]
    fn aggregated_discovery_gives_resources() {
        let doc = json!({"items": [
            {"metadata": {"name": ""}, "versions": [{"version": "v1", "resources": [{"resource": "configmaps", "verbs": ["get", "list"]}]}]},
            {"metadata": {"name": "admissionregistration.k8s.io"}, "versions": [
                {"version": "v1", "resources": [{"resource": "mutatingadmissionpolicies"}, {"resource": "validatingwebhookconfigurations"}]}
            ]},
        ]});
        let served = parse_aggregated(&doc, None);
        assert_eq!(served.len(), 3);
        assert!(served.contains(&("".into(), "v1".into(), "configmaps".into())));
        assert_eq!(
            describe(&served),
            [
                "v1: configmaps",
                "admissionregistration.k8s.io/v1: mutatingadmissionpolicies, validatingwebhookconfigurations"
            ]
        );
        assert!(parse_aggregated(&json!({"kind": "Status"}), None).is_empty());
        assert_eq!(parse_aggregated(&doc, Some("list")).len(), 1);
    }

    #[test]
    fn counters_sum_every_label_set_and_ignore_prefixes() {
        let text = "# HELP apiserver_rerouted_request_total x\n\
            apiserver_rerouted_request_total{code=\"200\",group=\"a\"} 3\n\
            apiserver_rerouted_request_total{code=\"503\",group=\"a\"} 2\n\
            apiserver_rerouted_request_total{code=\"304\",group=\"\",version=\"\",resource=\"\"} 9\n\
            apiserver_rerouted_request_total_other 100\n\
            skewless_peer_proxied_requests_received_total 7\n";
        assert_eq!(metric_sum(text, REROUTED_OUT), 5);
        assert_eq!(metric_sum(text, PROXIED_IN), 7);
        assert_eq!(metric_sum(text, "missing"), 0);
        // `subresource=""` is not `resource=""`.
        let requests = "apiserver_request_total{verb=\"get\",resource=\"pods\",subresource=\"\",code=\"200\"} 4\n";
        assert_eq!(metric_sum(requests, "apiserver_request_total"), 4);
    }
}
