//! Table tests for the routing decision: upstream's `TestPeerProxy` cases
//! (as our own), the outcomes upstream does not have (peers that do not
//! answer, discovery not known yet), subresources and verbs following their
//! parent resource, and legacy discovery of peer-only groups. Every case
//! goes through the production path: `RequestInfo::parse`, then
//! [`RouteRequest::new`], then [`decide`].

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
    Suspect,
    Down,
}

/// A peer as the table is built from: what it serves, whether its
/// endpoint is known, how it answers, whether its discovery is known.
#[derive(Clone)]
struct Peer {
    served: Vec<GroupVersionResource>,
    endpoint_known: bool,
    health: Health,
    discovery_known: bool,
}

fn peer(served: &[GroupVersionResource], endpoint_known: bool, health: Health) -> Peer {
    Peer {
        served: served.to_vec(),
        endpoint_known,
        health,
        discovery_known: true,
    }
}

/// A live peer whose discovery was never fetched (its fetches fail with
/// a certificate error).
fn unknown_peer() -> Peer {
    Peer {
        served: Vec::new(),
        endpoint_known: true,
        health: Health::Down,
        discovery_known: false,
    }
}

type Peers = Vec<(&'static str, Peer)>;

fn table(entries: &[(&'static str, Peer)]) -> Peers {
    entries.to_vec()
}

fn build(peers: &Peers) -> RoutingTable {
    RoutingTable::new(
        LOCAL,
        peers.iter().map(|(id, p)| {
            let cause = "connection refused".to_owned();
            let view = PeerView {
                id: PeerId::from(*id),
                endpoint: p.endpoint_known.then(|| format!("{id}:6443")),
                link: match p.health {
                    Health::Up => Link::Up,
                    Health::Suspect => Link::Suspect {
                        cause: cause.clone(),
                    },
                    Health::Down => Link::Down {
                        cause: cause.clone(),
                    },
                },
                discovery: if p.discovery_known {
                    Discovery::Known
                } else {
                    Discovery::Unknown {
                        cause: "x509: certificate signed by unknown authority".to_owned(),
                    }
                },
            };
            (view, p.served.iter().collect())
        }),
    )
}

fn proxy(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|id| (*id).to_owned()).collect()
}

/// The outcome of a decision, comparable in tables.
#[derive(Debug, PartialEq)]
enum Want {
    Local,
    NotServed,
    Proxy(Vec<String>),
    /// A 503 whose message contains this text.
    Unavailable(&'static str),
    /// A 503 that tells the proxying peer its view of this server is stale.
    NotServedHere,
}

impl From<Decision> for Want {
    fn from(d: Decision) -> Self {
        match d {
            Decision::Local => Want::Local,
            Decision::NotServed => Want::NotServed,
            Decision::Proxy { candidates } => {
                Want::Proxy(candidates.iter().map(|p| p.id.to_string()).collect())
            }
            Decision::Refuse(e) => {
                Want::Unavailable(Box::leak(format!("{} {}", e.code(), e).into_boxed_str()))
            }
            Decision::NotServedHere(e) => {
                assert_eq!(e.code(), 503, "{e}");
                Want::NotServedHere
            }
        }
    }
}

/// Routes a request through the production path, with `turn` 0.
fn decide_turn(
    method: &str,
    path: &str,
    header: Option<&[u8]>,
    local: &[GroupVersionResource],
    peers: &Peers,
    turn: usize,
) -> Decision {
    let (path, query) = path
        .split_once('?')
        .map_or((path, None), |(p, q)| (p, Some(q)));
    let info = RequestInfo::parse(method, path, query).unwrap();
    let mut headers = http::HeaderMap::new();
    if let Some(value) = header {
        headers.insert(
            PEER_PROXIED_HEADER,
            http::HeaderValue::from_bytes(value).unwrap(),
        );
    }
    let method: http::Method = method.parse().unwrap();
    let request = RouteRequest::new(&method, &info, &headers, |target| match *target {
        Target::Resource {
            group,
            version,
            resource,
        } => local.contains(&gvr(group, version, resource)),
        Target::GroupDiscovery { group, version } => local
            .iter()
            .any(|g| g.group == group && version.is_none_or(|v| v == g.version)),
        Target::Other => true,
    });
    super::decide(&request, &build(peers), turn)
}

fn decide(
    method: &str,
    path: &str,
    header: Option<&[u8]>,
    local: &[GroupVersionResource],
    peers: &Peers,
) -> Want {
    Want::from(decide_turn(method, path, header, local, peers, 0))
}

struct Case {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    header: Option<&'static [u8]>,
    local: Vec<GroupVersionResource>,
    peers: Peers,
    want: Want,
}

fn case(name: &'static str, path: &'static str, peers: Peers, want: Want) -> Case {
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

/// Compares, treating `Unavailable(text)` in `want` as "a 503 whose
/// message contains text".
fn matches(got: &Want, want: &Want) -> bool {
    match (got, want) {
        (Want::Unavailable(g), Want::Unavailable(w)) => g.starts_with("503 ") && g.contains(w),
        _ => got == want,
    }
}

fn run(cases: Vec<Case>) {
    for c in cases {
        let got = decide(c.method, c.path, c.header, &c.local, &c.peers);
        assert!(
            matches(&got, &c.want),
            "case {:?}: got {got:?}, want {:?}",
            c.name,
            c.want
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
            Want::Local,
        ),
        // Upstream serves it here (a 404); beyond upstream, a request a
        // peer proxied here for what this server does not serve is a 503
        // the peer retries elsewhere: the peer's data was stale.
        Case {
            header: Some(b"true"),
            ..case(
                "allow if already proxied once",
                FOO_BAR,
                serving_peer(),
                Want::NotServedHere,
            )
        },
        Case {
            header: Some(b"true"),
            local: vec![foo_bar()],
            ..case(
                "serve here if already proxied once and served here",
                FOO_BAR,
                serving_peer(),
                Want::Local,
            )
        },
        // Before the first peer discovery round the table is empty: the
        // request is served here, as upstream serves it locally while its
        // informers are unsynced.
        case(
            "allow if unsynced informers",
            FOO_BAR,
            Peers::new(),
            Want::NotServed,
        ),
        Case {
            local: vec![foo_bar()],
            ..case(
                "Serve locally if serviceable",
                FOO_BAR,
                serving_peer(),
                Want::Local,
            )
        },
        case(
            "200 if no appropriate peers found, serve locally",
            FOO_BAR,
            table(&[(REMOTE_1, peer(&[gvr("", "foo", "other")], true, Health::Up))]),
            Want::NotServed,
        ),
        case(
            "503 if no endpoint fetched from lease",
            FOO_BAR,
            table(&[(REMOTE_1, peer(&[foo_bar()], false, Health::Up))]),
            Want::Unavailable(NO_ENDPOINT_MESSAGE),
        ),
        // Whether the address answers is the transport's business: routing
        // hands the peer over; a failed connection marks it down (next test).
        case(
            "503 unreachable peer bind address",
            FOO_BAR,
            serving_peer(),
            Want::Proxy(proxy(&[REMOTE_1])),
        ),
        case(
            "503 if one apiserver's endpoint lease wasnt found but another valid (unreachable) apiserver was found",
            FOO_BAR,
            table(&[
                (REMOTE_1, peer(&[foo_bar()], false, Health::Up)),
                (REMOTE_2, peer(&[foo_bar()], true, Health::Up)),
            ]),
            Want::Proxy(proxy(&[REMOTE_2])),
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
            Want::Unavailable("none can be reached right now"),
        ),
        case(
            "a healthy peer is preferred over one marked down",
            FOO_BAR,
            table(&[
                (REMOTE_1, peer(&[foo_bar()], true, Health::Down)),
                (REMOTE_2, peer(&[foo_bar()], true, Health::Up)),
            ]),
            Want::Proxy(proxy(&[REMOTE_2])),
        ),
        case(
            "one without endpoint and one down: down, not no-endpoint",
            FOO_BAR,
            table(&[
                (REMOTE_1, peer(&[foo_bar()], false, Health::Up)),
                (REMOTE_2, peer(&[foo_bar()], true, Health::Down)),
            ]),
            Want::Unavailable("none can be reached right now"),
        ),
        case(
            "no endpoint anywhere wins over health",
            FOO_BAR,
            table(&[
                (REMOTE_1, peer(&[foo_bar()], false, Health::Down)),
                (REMOTE_2, peer(&[foo_bar()], false, Health::Up)),
            ]),
            Want::Unavailable(NO_ENDPOINT_MESSAGE),
        ),
        case(
            "a down peer that does not serve the resource does not matter",
            FOO_BAR,
            table(&[(
                REMOTE_1,
                peer(&[gvr("", "foo", "other")], true, Health::Down),
            )]),
            Want::NotServed,
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
        Want::Proxy(proxy(&["apiserver-a", "apiserver-c", "apiserver-f"]))
    );
}

#[test]
fn own_entry_in_the_peer_table_is_ignored() {
    let peers = table(&[(LOCAL, peer(&[foo_bar()], true, Health::Up))]);
    assert_eq!(decide("GET", FOO_BAR, None, &[], &peers), Want::NotServed);
}

#[test]
fn only_the_exact_header_value_counts() {
    let peers = table(&[(REMOTE_1, peer(&[foo_bar()], true, Health::Up))]);
    for value in [&b"True"[..], b"1", b"true ", b"", b"yes"] {
        assert!(!is_peer_proxied(Some(value)), "{value:?}");
        assert_eq!(
            decide("GET", FOO_BAR, Some(value), &[], &peers),
            Want::Proxy(proxy(&[REMOTE_1])),
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
            Want::NotServed,
        ),
        case(
            "other group",
            "/apis/batch2/v1/jobs",
            peers.clone(),
            Want::NotServed,
        ),
        case(
            "named group",
            "/apis/batch/v1/jobs",
            peers.clone(),
            Want::Proxy(proxy(&[REMOTE_1])),
        ),
        case(
            "core group",
            "/api/v1/pods",
            peers.clone(),
            Want::Proxy(proxy(&[REMOTE_2])),
        ),
        case(
            "core is not a named group",
            "/apis/core/v1/pods",
            peers,
            Want::NotServed,
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
            Want::Proxy(proxy(&[REMOTE_1])),
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
            Want::Local,
            "{method} {path} served here"
        );
        assert_eq!(
            decide(method, path, None, &[], &Peers::new()),
            Want::NotServed,
            "{method} {path} served by nobody"
        );
    }
}

/// Legacy discovery of a group or group/version only peers serve goes to
/// a peer that serves it; everything else non-resource stays here.
#[test]
fn discovery_of_peer_only_groups_is_proxied() {
    let deployments = gvr("apps", "v1", "deployments");
    let peers = table(&[(
        REMOTE_1,
        peer(std::slice::from_ref(&deployments), true, Health::Up),
    )]);
    for path in ["/apis/apps", "/apis/apps/v1"] {
        assert_eq!(
            decide("GET", path, None, &[], &peers),
            Want::Proxy(proxy(&[REMOTE_1])),
            "{path}"
        );
        assert_eq!(
            decide(
                "GET",
                path,
                None,
                std::slice::from_ref(&deployments),
                &peers
            ),
            Want::Local,
            "{path} served here"
        );
        assert_eq!(
            decide("POST", path, None, &[], &peers),
            Want::Local,
            "POST {path}"
        );
    }
    assert_eq!(
        decide("GET", "/apis/apps/v2", None, &[], &peers),
        Want::NotServed
    );
    for path in [
        "/api",
        "/apis",
        "/api/v1",
        "/version",
        "/healthz",
        "/readyz",
        "/openapi/v3/apis/apps/v1",
        "/metrics",
    ] {
        assert_eq!(
            decide("GET", path, None, &[], &peers),
            Want::Local,
            "{path}"
        );
    }
}

/// Uncertainty is never absence: while a live peer's discovery is unknown,
/// a resource no known peer serves answers 503 naming that peer and the
/// cause, never 404; what a known peer serves is still proxied.
#[test]
fn unknown_discovery_is_never_absence() {
    let jobs = gvr("batch", "v1", "jobs");
    let peers = table(&[
        (REMOTE_1, unknown_peer()),
        (
            REMOTE_2,
            peer(std::slice::from_ref(&jobs), true, Health::Up),
        ),
    ]);
    run(vec![
        case(
            "not served by a known peer",
            FOO_BAR,
            peers.clone(),
            Want::Unavailable(
                "discovery of remote-apiserver-1 (x509: certificate signed by unknown authority) is unknown",
            ),
        ),
        case(
            "served by a known peer",
            "/apis/batch/v1/jobs",
            peers.clone(),
            Want::Proxy(proxy(&[REMOTE_2])),
        ),
        case(
            "discovery of a group nobody known serves",
            "/apis/example.com/v1",
            peers,
            Want::Unavailable("is unknown"),
        ),
    ]);
}

/// Suspect peers (no answer in time) come after every peer that is up,
/// and are still tried when nothing else is left.
#[test]
fn suspect_peers_are_tried_last() {
    let jobs = gvr("batch", "v1", "jobs");
    let p = |h| peer(std::slice::from_ref(&jobs), true, h);
    assert_eq!(
        decide(
            "GET",
            "/apis/batch/v1/jobs",
            None,
            &[],
            &table(&[(REMOTE_1, p(Health::Suspect)), (REMOTE_2, p(Health::Up))])
        ),
        Want::Proxy(proxy(&[REMOTE_2, REMOTE_1]))
    );
    assert_eq!(
        decide(
            "GET",
            "/apis/batch/v1/jobs",
            None,
            &[],
            &table(&[(REMOTE_1, p(Health::Suspect)), (REMOTE_2, p(Health::Down))])
        ),
        Want::Proxy(proxy(&[REMOTE_1]))
    );
}

/// The turn rotates the peers that are up, so load spreads over them.
#[test]
fn turns_rotate_over_peers_that_are_up() {
    let jobs = gvr("batch", "v1", "jobs");
    let p = |h| peer(std::slice::from_ref(&jobs), true, h);
    let peers = table(&[
        ("a", p(Health::Up)),
        ("b", p(Health::Up)),
        ("c", p(Health::Suspect)),
    ]);
    let ids = |turn| {
        decide_turn("GET", "/apis/batch/v1/jobs", None, &[], &peers, turn)
            .candidate_ids()
            .iter()
            .map(|s| (*s).to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(0), ["a", "b", "c"]);
    assert_eq!(ids(1), ["b", "a", "c"]);
    assert_eq!(ids(2), ["a", "b", "c"]);
}

#[test]
fn errors_carry_upstream_messages() {
    let decision = decide_turn(
        "GET",
        "/apis/batch/v1/jobs",
        None,
        &[],
        &table(&[(
            REMOTE_1,
            peer(&[gvr("batch", "v1", "jobs")], false, Health::Up),
        )]),
        0,
    );
    let Decision::Refuse(e) = decision else {
        panic!("{decision:?}")
    };
    assert_eq!(
        e.to_string(),
        "Error getting ip and port info of the remote server while proxying"
    );
    assert_eq!(e.code(), 503);
    assert_eq!(e.retry_after_seconds(), Some(RETRY_AFTER_SECONDS));
}

#[test]
fn only_reads_are_retried_after_they_left() {
    use http::Method;
    for m in [Method::GET, Method::HEAD] {
        assert!(may_retry(&m, HopFailure::NoAnswer));
        assert!(may_retry(&m, HopFailure::Broken));
    }
    for m in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
        assert!(may_retry(&m, HopFailure::NotSent), "{m}");
        assert!(!may_retry(&m, HopFailure::NoAnswer), "{m}");
        assert!(!may_retry(&m, HopFailure::Broken), "{m}");
    }
}

#[test]
fn peer_id_is_a_plain_string_everywhere() {
    let id = PeerId::new("apiserver-abc");
    assert_eq!(id.to_string(), "apiserver-abc");
    assert_eq!(serde_json::to_string(&id).unwrap(), r#""apiserver-abc""#);
    assert_eq!(PeerId::from("x").as_str(), "x");
}
