//! `/openapi/v2` in protobuf (gnostic's `openapi.v2.Document`), as kubectl
//! up to 1.28 reads it for `explain` and client-side validation, through
//! the older server of a mixed control plane: negotiation of both
//! spellings, per-representation ETags and 304, gzip, a 406 Status for nothing
//! acceptable, and a document that covers the resources only the newer
//! peer serves. The answer is decoded with the repository's protobuf wire
//! reader and checked where kubectl looks.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use skewless_protobuf::{Reader, Wire};
use skewless_testkit::{Client, Identity, Pki, Storage, eventually, start_peer_at};

const BIN: &str = env!("CARGO_BIN_EXE_skewless");
/// What kubectl 1.20 sends; `@` makes it an invalid media type.
const PROTOBUF_AT: &str = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
/// The valid spelling, and the `Content-Type` of every protobuf answer.
const PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";
const MAP_PATH: &str = "/apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicies";
const MAP_DEFINITION: &str = "io.k8s.api.admissionregistration.v1.MutatingAdmissionPolicy";

// A minimal reader of gnostic messages: field numbers from OpenAPIv2.proto
// (Document: paths 8, definitions 9; Paths: path 2; Definitions and
// Properties: additional_properties 1; Named*: name 1, value 2; Schema:
// _ref 1, properties 25, vendor_extension 31; Any: yaml 2).

fn fields(buf: &[u8]) -> Vec<(u32, Wire<'_>)> {
    let mut reader = Reader::new(buf);
    let mut out = Vec::new();
    while let Some(field) = reader.next_field().unwrap() {
        out.push(field);
    }
    out
}

fn messages(buf: &[u8], number: u32) -> Vec<&[u8]> {
    fields(buf)
        .into_iter()
        .filter_map(|(n, w)| match w {
            Wire::Len(b) if n == number => Some(b),
            _ => None,
        })
        .collect()
}

fn message(buf: &[u8], number: u32) -> &[u8] {
    messages(buf, number)
        .pop()
        .unwrap_or_else(|| panic!("no field {number}"))
}

fn string(buf: &[u8], number: u32) -> String {
    String::from_utf8(message(buf, number).to_vec()).unwrap()
}

/// The `Named*` pairs of field `number`, as (name, encoded value).
fn named(buf: &[u8], number: u32) -> Vec<(String, &[u8])> {
    messages(buf, number)
        .into_iter()
        .map(|pair| (string(pair, 1), message(pair, 2)))
        .collect()
}

fn lookup<'a>(pairs: &[(String, &'a [u8])], name: &str) -> &'a [u8] {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| *v)
        .unwrap_or_else(|| panic!("no {name}"))
}

fn path_names(document: &[u8]) -> Vec<String> {
    named(message(document, 8), 2)
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

fn definitions(document: &[u8]) -> Vec<(String, &[u8])> {
    named(message(document, 9), 1)
}

/// The YAML of a schema's `x-kubernetes-group-version-kind`.
fn group_version_kind(schema: &[u8]) -> String {
    string(
        lookup(&named(schema, 31), "x-kubernetes-group-version-kind"),
        2,
    )
}

async fn get(client: &Client, headers: &[(&str, &str)]) -> skewless_testkit::Response {
    client.request("GET", "/openapi/v2", headers, None).await
}

fn header(r: &skewless_testkit::Response, name: &str) -> String {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protobuf_document_through_the_older_server_covers_the_newer_peer() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::SharedSqlite(dir.path().to_path_buf());
    let pki = Pki::generate();
    let new = start_peer_at(Path::new(BIN), &pki, &storage, "server-136", "1.36", &[]).await;
    let old = start_peer_at(Path::new(BIN), &pki, &storage, "server-135", "1.35", &[]).await;
    let via_old = old.client(&pki, Identity::Admin);

    // The 1.35 server learns what its peer serves in the background; its
    // documents follow once it has.
    eventually(
        Duration::from_secs(30),
        "the 1.35 server's protobuf document lists mutatingadmissionpolicies",
        || async {
            let r = get(&via_old, &[("accept", PROTOBUF_AT)]).await;
            r.status == 200 && path_names(&r.body).iter().any(|p| p == MAP_PATH)
        },
    )
    .await;

    // kubectl 1.20's request: answered in protobuf, labelled with the
    // spelling client-go can parse.
    let r = get(&via_old, &[("accept", PROTOBUF_AT)]).await;
    assert_eq!(r.status, 200);
    assert_eq!(header(&r, "content-type"), PROTOBUF);
    assert_eq!(header(&r, "vary"), "Accept");
    let etag = header(&r, "etag");
    assert!(etag.starts_with('"') && etag.len() > 100, "{etag}");
    let document = r.body.clone();
    assert_eq!(string(&document, 1), "2.0");

    // What explain and validation read: the kind's group/version/kind, its
    // properties and refs, for a built-in and for the peer-only resource.
    let defs = definitions(&document);
    assert_eq!(
        group_version_kind(lookup(&defs, MAP_DEFINITION)),
        "- group: admissionregistration.k8s.io\n  kind: MutatingAdmissionPolicy\n  version: v1\n"
    );
    let map_spec = lookup(
        &named(message(lookup(&defs, MAP_DEFINITION), 25), 1),
        "spec",
    );
    assert_eq!(
        string(map_spec, 1),
        "#/definitions/io.k8s.api.admissionregistration.v1.MutatingAdmissionPolicySpec"
    );
    lookup(
        &defs,
        "io.k8s.api.admissionregistration.v1.MutatingAdmissionPolicySpec",
    );
    let pod = lookup(&defs, "io.k8s.api.core.v1.Pod");
    assert_eq!(
        group_version_kind(pod),
        "- group: ''\n  kind: Pod\n  version: v1\n"
    );
    assert_eq!(
        string(lookup(&named(message(pod, 25), 1), "spec"), 1),
        "#/definitions/io.k8s.api.core.v1.PodSpec"
    );

    // The valid spelling, and a mixed list preferring protobuf, get the same
    // representation.
    for accept in [
        PROTOBUF.to_owned(),
        format!("application/json;q=0.5, {PROTOBUF_AT}"),
    ] {
        let r = get(&via_old, &[("accept", &accept)]).await;
        assert_eq!(r.status, 200, "{accept}");
        assert_eq!(header(&r, "content-type"), PROTOBUF, "{accept}");
        assert_eq!(header(&r, "etag"), etag, "{accept}");
        assert_eq!(r.body, document, "{accept}");
    }

    // Compressed for clients that accept gzip (Go's transport always does),
    // under the same tag.
    let r = get(
        &via_old,
        &[("accept", PROTOBUF_AT), ("accept-encoding", "gzip")],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(header(&r, "content-encoding"), "gzip");
    assert_eq!(header(&r, "etag"), etag);
    let mut inflated = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&r.body[..]),
        &mut inflated,
    )
    .unwrap();
    assert_eq!(inflated, document);

    // 304 for the tag the client holds.
    let r = get(
        &via_old,
        &[("accept", PROTOBUF_AT), ("if-none-match", &etag)],
    )
    .await;
    assert_eq!(r.status, 304);
    assert_eq!(header(&r, "etag"), etag);
    assert!(r.body.is_empty());

    // JSON is another representation with its own tag: neither tag
    // validates the other representation.
    let json = get(&via_old, &[("accept", "application/json")]).await;
    assert_eq!(json.status, 200);
    assert_eq!(header(&json, "content-type"), "application/json");
    let json_etag = header(&json, "etag");
    assert_ne!(json_etag, etag);
    assert!(json.json()["paths"][MAP_PATH].is_object());
    let r = get(
        &via_old,
        &[("accept", "application/json"), ("if-none-match", &etag)],
    )
    .await;
    assert_eq!(r.status, 200);
    let r = get(
        &via_old,
        &[("accept", PROTOBUF), ("if-none-match", &json_etag)],
    )
    .await;
    assert_eq!(r.status, 200);
    let r = get(
        &via_old,
        &[
            ("accept", "application/json"),
            ("if-none-match", &json_etag),
        ],
    )
    .await;
    assert_eq!(r.status, 304);

    // Nothing acceptable: 406 with a Status.
    let r = get(
        &via_old,
        &[("accept", "application/vnd.kubernetes.protobuf, text/html")],
    )
    .await;
    assert_eq!(r.status, 406);
    let status = r.json();
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["code"], 406);
    assert_eq!(status["reason"], "NotAcceptable");

    // The newer server serves the resource itself and documents it too.
    let r = get(
        &new.client(&pki, Identity::Admin),
        &[("accept", PROTOBUF_AT)],
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(path_names(&r.body).iter().any(|p| p == MAP_PATH));
    lookup(&definitions(&r.body), MAP_DEFINITION);
}
