//! Table tests for the routing decision: upstream's `TestPeerProxy` cases
//! (reference §9.1) as our own, the outcomes upstream does not have (peers
//! marked down), and subresources and verbs following their parent resource.

use super::*;
use skewless_apimachinery::request_info::RequestInfo;

const LOCAL: &str = "local-apiserver";
const REMOTE_1: &str = "remote-apiserver-1";
const REMOTE_2: &str = "remote-apiserver-2";

/// Upstream's test resource: group `""`, version `foo`, resource `bar`.
const FOO_BAR: &str = "/api/foo/bar";

fn gvr(group: &str, version: &str, resource: &str) -> GroupVersionResource {
    GroupVersionResource::new(group, version, resource)
}

fn foo_bar() -> GroupVersionResource {
    gvr("", "foo", "bar")
}

#[derive(Clone, Copy)]
enum Health {
    Up,
    Down,
}

/// A peer serving `served`, with or without a known endpoint.
fn peer(served: &[GroupVersionResource], endpoint_known: bool, health: Health) -> PeerState {
    PeerState {
        served: served.iter().cloned().collect(),
        healthy: matches!(health, Health::Up),
        endpoint_known,
    }
}

fn table(entries: &[(&str, PeerState)]) -> PeerTable {
    entries
        .iter()
        .map(|(id, state)| (PeerId::from(*id), state.clone()))
        .collect()
}

fn proxy(ids: &[&str]) -> RoutingDecision {
    RoutingDecision::Proxy {
        candidates: ids.iter().map(|id| PeerId::from(*id)).collect(),
    }
}

/// Routes a request the way the server will: classify it with
/// `RequestInfo`, read the header, look the GVR up in the local set.
fn decide(
    method: &str,
    path: &str,
    header: Option<&[u8]>,
    local: &[GroupVersionResource],
    peers: &PeerTable,
) -> RoutingDecision {
    let (path, query) = path
        .split_once('?')
        .map_or((path, None), |(p, q)| (p, Some(q)));
    let info = RequestInfo::parse(method, path, query).unwrap();
    let gvr = info.group_version_resource().unwrap_or_default();
    let request = RouteRequest {
        is_resource_request: info.is_resource_request,
        peer_proxied: is_peer_proxied(header),
        gvr: &gvr,
        served_locally: local.contains(&gvr),
    };
    route(&request, LOCAL, peers)
}

struct Case {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    header: Option<&'static [u8]>,
    local: Vec<GroupVersionResource>,
    peers: PeerTable,
    want: RoutingDecision,
}

fn case(name: &'static str, path: &'static str, peers: PeerTable, want: RoutingDecision) -> Case {
    Case {
        name,
        method: "GET",
        path,
        header: None,
        local: vec![],
        peers,
        want,
    }
}

fn run(cases: Vec<Case>) {
    for c in cases {
        assert_eq!(
            decide(c.method, c.path, c.header, &c.local, &c.peers),
            c.want,
            "case {:?}",
            c.name
        );
    }
}

/// Upstream's `TestPeerProxy`, one case each.
#[test]
fn upstream_peer_proxy_cases() {
    let serving_peer = || table(&[(REMOTE_1, peer(&[foo_bar()], true, Health::Up))]);
    run(vec![
        case(
            "allow non resource requests",
            "/foo/bar/baz",
            serving_peer(),
            RoutingDecision::Local,
        ),
        Case {
            header: Some(b"true"),
            ..case(
                "allow if already proxied once",
                FOO_BAR,
                serving_peer(),
                RoutingDecision::Local,
            )
        },
        // Before the first peer discovery round the table is empty: the
        // request is served here, as upstream serves it locally while its
        // informers are unsynced.
        case(
            "allow if unsynced informers",
            FOO_BAR,
            PeerTable::new(),
            RoutingDecision::NotServed,
        ),
        Case {
            local: vec![foo_bar()],
            ..case(
                "Serve locally if serviceable",
                FOO_BAR,
                serving_peer(),
                RoutingDecision::Local,
            )
        },
        case(
            "200 if no appropriate peers found, serve locally",
            FOO_BAR,
            table(&[(REMOTE_1, peer(&[gvr("", "foo", "other")], true, Health::Up))]),
            RoutingDecision::NotServed,
        ),
        case(
            "503 if no endpoint fetched from lease",
            FOO_BAR,
            table(&[(REMOTE_1, peer(&[foo_bar()], false, Health::Up))]),
            RoutingDecision::NoEndpoint,
        ),
        // Whether the address answers is the transport's business: routing
        // hands the peer over; a failed connection marks it down (next test).
        case(
            "503 unreachable peer bind address",
            FOO_BAR,
            serving_peer(),
            proxy(&[REMOTE_1]),
        ),
        case(
            "503 if one apiserver's endpoint lease wasnt found but another valid (unreachable) apiserver was found",
            FOO_BAR,
            table(&[
                (REMOTE_1, peer(&[foo_bar()], false, Health::Up)),
                (REMOTE_2, peer(&[foo_bar()], true, Health::Up)),
            ]),
            proxy(&[REMOTE_2]),
        ),
    ]);
}

/// Where skewless differs from upstream: a peer marked down is not a
/// candidate, and if every capable peer is down the answer is 503 at once.
#[test]
fn peers_marked_down() {
    run(vec![
        case(
            "unreachable peer once marked down",
            FOO_BAR,
            table(&[(REMOTE_1, peer(&[foo_bar()], true, Health::Down))]),
            RoutingDecision::AllPeersDown,
        ),
        case(
            "a healthy peer is preferred over one marked down",
            FOO_BAR,
            table(&[
                (REMOTE_1, peer(&[foo_bar()], true, Health::Down)),
                (REMOTE_2, peer(&[foo_bar()], true, Health::Up)),
            ]),
            proxy(&[REMOTE_2]),
        ),
        case(
            "one without endpoint and one down: down, not no-endpoint",
            FOO_BAR,
            table(&[
                (REMOTE_1, peer(&[foo_bar()], false, Health::Up)),
                (REMOTE_2, peer(&[foo_bar()], true, Health::Down)),
            ]),
            RoutingDecision::AllPeersDown,
        ),
        case(
            "no endpoint anywhere wins over health",
            FOO_BAR,
            table(&[
                (REMOTE_1, peer(&[foo_bar()], false, Health::Down)),
                (REMOTE_2, peer(&[foo_bar()], false, Health::Up)),
            ]),
            RoutingDecision::NoEndpoint,
        ),
        case(
            "a down peer that does not serve the resource does not matter",
            FOO_BAR,
            table(&[(
                REMOTE_1,
                peer(&[gvr("", "foo", "other")], true, Health::Down),
            )]),
            RoutingDecision::NotServed,
        ),
    ]);
}

#[test]
fn candidates_are_every_acceptable_peer_in_id_order() {
    let jobs = gvr("batch", "v1", "jobs");
    let peers = table(&[
        (
            "apiserver-c",
            peer(std::slice::from_ref(&jobs), true, Health::Up),
        ),
        (
            "apiserver-a",
            peer(std::slice::from_ref(&jobs), true, Health::Up),
        ),
        (
            "apiserver-d",
            peer(std::slice::from_ref(&jobs), false, Health::Up),
        ),
        (
            "apiserver-b",
            peer(std::slice::from_ref(&jobs), true, Health::Down),
        ),
        ("apiserver-e", peer(&[], true, Health::Up)),
        (
            "apiserver-f",
            peer(std::slice::from_ref(&jobs), true, Health::Up),
        ),
    ]);
    assert_eq!(
        decide("GET", "/apis/batch/v1/jobs", None, &[], &peers),
        proxy(&["apiserver-a", "apiserver-c", "apiserver-f"])
    );
}

#[test]
fn own_entry_in_the_peer_table_is_ignored() {
    let peers = table(&[(LOCAL, peer(&[foo_bar()], true, Health::Up))]);
    assert_eq!(
        decide("GET", FOO_BAR, None, &[], &peers),
        RoutingDecision::NotServed
    );
}

#[test]
fn only_the_exact_header_value_counts() {
    let peers = table(&[(REMOTE_1, peer(&[foo_bar()], true, Health::Up))]);
    for value in [&b"True"[..], b"1", b"true ", b"", b"yes"] {
        assert!(!is_peer_proxied(Some(value)), "{value:?}");
        assert_eq!(
            decide("GET", FOO_BAR, Some(value), &[], &peers),
            proxy(&[REMOTE_1]),
            "{value:?}"
        );
    }
    assert!(!is_peer_proxied(None));
    assert!(is_peer_proxied(Some(b"true")));
}

/// Routing uses group, version and resource, all three exactly.
#[test]
fn group_and_version_must_match_exactly() {
    let peers = table(&[
        (
            REMOTE_1,
            peer(&[gvr("batch", "v1", "jobs")], true, Health::Up),
        ),
        (REMOTE_2, peer(&[gvr("", "v1", "pods")], true, Health::Up)),
    ]);
    run(vec![
        case(
            "other version",
            "/apis/batch/v2/jobs",
            peers.clone(),
            RoutingDecision::NotServed,
        ),
        case(
            "other group",
            "/apis/batch2/v1/jobs",
            peers.clone(),
            RoutingDecision::NotServed,
        ),
        case(
            "named group",
            "/apis/batch/v1/jobs",
            peers.clone(),
            proxy(&[REMOTE_1]),
        ),
        case(
            "core group",
            "/api/v1/pods",
            peers.clone(),
            proxy(&[REMOTE_2]),
        ),
        case(
            "core is not a named group",
            "/apis/core/v1/pods",
            peers,
            RoutingDecision::NotServed,
        ),
    ]);
}

/// Subresources and every verb route by the parent resource.
#[test]
fn subresources_and_verbs_follow_the_parent() {
    let deployments = gvr("apps", "v1", "deployments");
    let pods = gvr("", "v1", "pods");
    let requests: &[(&str, &str)] = &[
        ("GET", "/apis/apps/v1/namespaces/ns/deployments/d"),
        ("GET", "/apis/apps/v1/namespaces/ns/deployments"),
        ("GET", "/apis/apps/v1/deployments"),
        ("GET", "/apis/apps/v1/namespaces/ns/deployments?watch=true"),
        ("GET", "/apis/apps/v1/watch/namespaces/ns/deployments"),
        ("POST", "/apis/apps/v1/namespaces/ns/deployments"),
        ("PUT", "/apis/apps/v1/namespaces/ns/deployments/d"),
        ("PATCH", "/apis/apps/v1/namespaces/ns/deployments/d"),
        ("DELETE", "/apis/apps/v1/namespaces/ns/deployments/d"),
        ("DELETE", "/apis/apps/v1/namespaces/ns/deployments"),
        ("PATCH", "/apis/apps/v1/namespaces/ns/deployments/d/scale"),
        ("PUT", "/apis/apps/v1/namespaces/ns/deployments/d/status"),
        ("GET", "/api/v1/namespaces/ns/pods/p/log"),
        ("POST", "/api/v1/namespaces/ns/pods/p/exec"),
        ("POST", "/api/v1/namespaces/ns/pods/p/eviction"),
    ];
    let remote = table(&[(
        REMOTE_1,
        peer(&[deployments.clone(), pods.clone()], true, Health::Up),
    )]);
    for (method, path) in requests {
        assert_eq!(
            decide(method, path, None, &[], &remote),
            proxy(&[REMOTE_1]),
            "{method} {path} served by a peer"
        );
        assert_eq!(
            decide(
                method,
                path,
                None,
                &[deployments.clone(), pods.clone()],
                &remote
            ),
            RoutingDecision::Local,
            "{method} {path} served here"
        );
        assert_eq!(
            decide(method, path, None, &[], &PeerTable::new()),
            RoutingDecision::NotServed,
            "{method} {path} served by nobody"
        );
    }
}

/// Discovery and other non-resource paths are never proxied, even when
/// nothing local serves them and a peer serves a resource of that name.
#[test]
fn non_resource_requests_stay_local() {
    let peers = table(&[(
        REMOTE_1,
        peer(&[gvr("apps", "v1", "deployments")], true, Health::Up),
    )]);
    for path in [
        "/api",
        "/apis",
        "/apis/apps",
        "/apis/apps/v1",
        "/api/v1",
        "/version",
        "/healthz",
        "/readyz",
        "/openapi/v3/apis/apps/v1",
        "/metrics",
    ] {
        assert_eq!(
            decide("GET", path, None, &[], &peers),
            RoutingDecision::Local,
            "{path}"
        );
    }
}

#[test]
fn errors_carry_upstream_messages() {
    let jobs = gvr("batch", "v1", "jobs");
    let no_endpoint = RoutingDecision::NoEndpoint.error(&jobs).unwrap();
    assert_eq!(
        no_endpoint.to_string(),
        "Error getting ip and port info of the remote server while proxying"
    );
    assert_eq!(no_endpoint.gvr(), &jobs);
    let down = RoutingDecision::AllPeersDown.error(&jobs).unwrap();
    assert_eq!(down.to_string(), ALL_PEERS_DOWN_MESSAGE);
    assert_eq!(down, Error::AllPeersDown { gvr: jobs.clone() });
    for ok in [
        RoutingDecision::Local,
        RoutingDecision::NotServed,
        proxy(&[REMOTE_1]),
    ] {
        assert!(ok.error(&jobs).is_none());
    }
    assert!(RoutingDecision::Local.serves_locally());
    assert!(RoutingDecision::NotServed.serves_locally());
    assert!(!proxy(&[REMOTE_1]).serves_locally());
    assert!(!RoutingDecision::NoEndpoint.serves_locally());
}

#[test]
fn peer_id_is_a_plain_string_everywhere() {
    let id = PeerId::new("apiserver-abc");
    assert_eq!(id.to_string(), "apiserver-abc");
    assert_eq!(serde_json::to_string(&id).unwrap(), r#""apiserver-abc""#);
    let peers = table(&[("apiserver-abc", PeerState::default())]);
    assert!(peers.contains_key("apiserver-abc"));
    assert_eq!(PeerId::from(String::from("x")).as_str(), "x");
}
