//! Content negotiation: reading `Accept` to choose between aggregated and
//! legacy discovery, Table output or plain objects, or a 406; and reading
//! `Content-Type` to know how a request body is encoded.
//!
//! skewless answers JSON only (protobuf and YAML *responses* are non-goals,
//! except the OpenAPI v2 document, which old kubectl reads only in
//! protobuf: [`openapi_v2_format`]), so every decision here asks "which
//! acceptable JSON form does the client prefer", following upstream's clause ordering (higher `q` first, concrete
//! types before wildcards, otherwise header order) and upstream's rule that a
//! clause asking for a conversion (`as`/`g`/`v`) is only acceptable where that
//! conversion is served. This module must never look at anything but the
//! header values it is given, and never fails: a malformed clause is skipped,
//! as upstream's parser does.

const DISCOVERY_GROUP: &str = "apidiscovery.k8s.io";
const DISCOVERY_V2: &str = "v2";
const DISCOVERY_LIST_KIND: &str = "APIGroupDiscoveryList";
const META_GROUP: &str = "meta.k8s.io";
const META_VERSIONS: [&str; 2] = ["v1", "v1beta1"];

/// One clause of an `Accept` header.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MediaType {
    /// Lowercase type, e.g. `application` or `*`.
    pub type_: String,
    /// Lowercase subtype, e.g. `json` or `*`.
    pub subtype: String,
    /// Parameters other than `q`, in header order; names lowercase, values
    /// unquoted and otherwise verbatim.
    pub params: Vec<(String, String)>,
    /// Quality, 0.0 to 1.0 (1.0 when absent; 0.0 when unparsable).
    pub q: f32,
}

impl MediaType {
    /// The value of a parameter (name compared case-insensitively).
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `type/subtype`.
    #[cfg(test)]
    pub(crate) fn essence(&self) -> String {
        format!("{}/{}", self.type_, self.subtype)
    }

    /// Whether this range covers `application/json`: `application/json`,
    /// `application/*` or `*/*`.
    pub(crate) fn covers_json(&self) -> bool {
        match (self.type_.as_str(), self.subtype.as_str()) {
            ("*", "*") => true,
            ("application", sub) => sub == "json" || sub == "*",
            _ => false,
        }
    }

    /// The conversion this clause asks for through `g`, `v` and `as`, if any
    /// of them is present.
    pub(crate) fn conversion(&self) -> Option<Conversion> {
        let group = self.param("g");
        let version = self.param("v");
        let kind = self.param("as");
        if group.is_none() && version.is_none() && kind.is_none() {
            return None;
        }
        Some(Conversion {
            group: group.unwrap_or_default().to_owned(),
            version: version.unwrap_or_default().to_owned(),
            kind: kind.unwrap_or_default().to_owned(),
        })
    }

    fn acceptable(&self) -> bool {
        self.q > 0.0
    }
}

/// A target group/version/kind a client asks the server to convert the
/// response into (`application/json;as=Table;g=meta.k8s.io;v=v1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Conversion {
    /// The `g` parameter.
    pub group: String,
    /// The `v` parameter.
    pub version: String,
    /// The `as` parameter.
    pub kind: String,
}

impl Conversion {
    fn is(&self, group: &str, version: &str, kind: &str) -> bool {
        self.group == group && self.version == version && self.kind == kind
    }

    /// Whether this is one of the `meta.k8s.io` conversions resource
    /// endpoints serve: `Table`, `PartialObjectMetadata` or
    /// `PartialObjectMetadataList` in `v1` or `v1beta1`.
    pub(crate) fn is_meta_conversion(&self) -> bool {
        self.group == META_GROUP
            && META_VERSIONS.contains(&self.version.as_str())
            && matches!(
                self.kind.as_str(),
                "Table" | "PartialObjectMetadata" | "PartialObjectMetadataList"
            )
    }
}

/// Parses an `Accept` header into clauses, most preferred first.
///
/// Order as upstream: higher `q` first, then concrete types before `*`, then
/// concrete subtypes before `*`, otherwise header order. Clauses are split on
/// commas and parameters on semicolons outside quoted strings; a clause whose
/// range is not `type/subtype` (or a lone `*`) is dropped. Clauses with
/// `q=0` are kept (at the end); the decision functions treat them as "not
/// acceptable".
pub(crate) fn parse_accept(header: &str) -> Vec<MediaType> {
    let mut clauses: Vec<MediaType> = split_unquoted(header, ',')
        .into_iter()
        .filter_map(parse_clause)
        .collect();
    clauses.sort_by(|a, b| {
        b.q.total_cmp(&a.q)
            .then_with(|| (a.type_ == "*").cmp(&(b.type_ == "*")))
            .then_with(|| (a.subtype == "*").cmp(&(b.subtype == "*")))
    });
    clauses
}

fn parse_clause(clause: &str) -> Option<MediaType> {
    let mut pieces = split_unquoted(clause, ';').into_iter();
    let range = pieces.next()?.trim();
    let (type_, subtype) = match range.split_once('/') {
        Some((t, s)) if !s.contains('/') => (t.trim(), s.trim()),
        None if range == "*" => ("*", "*"),
        _ => return None,
    };
    if type_.is_empty() || subtype.is_empty() {
        return None;
    }
    let mut media = MediaType {
        type_: type_.to_ascii_lowercase(),
        subtype: subtype.to_ascii_lowercase(),
        params: Vec::new(),
        q: 1.0,
    };
    for param in pieces {
        let Some((name, value)) = param.split_once('=') else {
            continue;
        };
        let name = name.trim().to_ascii_lowercase();
        let value = unquote(value.trim());
        if name == "q" {
            media.q = value
                .parse::<f32>()
                .ok()
                .filter(|q| q.is_finite())
                .map_or(0.0, |q| q.clamp(0.0, 1.0));
        } else if !name.is_empty() {
            media.params.push((name, value));
        }
    }
    Some(media)
}

/// Splits on `sep` outside double-quoted strings (which may hold `\"`).
fn split_unquoted(input: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, c) in input.char_indices() {
        if escaped {
            escaped = false;
        } else if in_quotes && c == '\\' {
            escaped = true;
        } else if c == '"' {
            in_quotes = !in_quotes;
        } else if c == sep && !in_quotes {
            parts.push(&input[start..i]);
            start = i + c.len_utf8();
        }
    }
    parts.push(&input[start..]);
    parts
}

/// Removes surrounding double quotes and backslash escapes from a quoted
/// string; returns other values unchanged.
fn unquote(value: &str) -> String {
    let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
        return value.to_owned();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Acceptable (q > 0) clauses that skewless could answer as JSON.
fn json_clauses(accept: &str) -> impl Iterator<Item = MediaType> {
    parse_accept(accept)
        .into_iter()
        .filter(|c| c.acceptable() && c.covers_json())
}

/// Which discovery document a request for `/api` or `/apis` gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiscoveryFormat {
    /// Aggregated discovery (`apidiscovery.k8s.io/v2`
    /// `APIGroupDiscoveryList`), with the clause's `profile` (`nopeer` asks
    /// for the local view only).
    Aggregated {
        /// The `profile` parameter of the chosen clause.
        profile: Option<String>,
    },
    /// Legacy discovery (`APIVersions` / `APIGroupList`).
    Legacy,
    /// Nothing the client accepts can be served: 406.
    NotAcceptable,
}

/// Chooses the discovery format for an `Accept` header (empty when absent).
///
/// As upstream's discovery wrapper, plain clauses do not stop the search for
/// an aggregated one: the first acceptable JSON clause asking for
/// `g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList` selects aggregated
/// discovery wherever it appears (`v2beta1` and protobuf-only aggregated
/// clauses are skipped). Otherwise a JSON-compatible clause without any
/// conversion parameters (unknown parameters such as `foo=bar` are ignored),
/// or an empty header, selects legacy discovery; anything else is a 406.
pub fn discovery_kind(accept: &str) -> DiscoveryFormat {
    if accept.trim().is_empty() {
        return DiscoveryFormat::Legacy;
    }
    let clauses: Vec<MediaType> = json_clauses(accept).collect();
    let aggregated = clauses.iter().find(|c| {
        c.conversion()
            .is_some_and(|conv| conv.is(DISCOVERY_GROUP, DISCOVERY_V2, DISCOVERY_LIST_KIND))
    });
    if let Some(clause) = aggregated {
        return DiscoveryFormat::Aggregated {
            profile: clause.param("profile").map(str::to_owned),
        };
    }
    if clauses.iter().any(|c| c.conversion().is_none()) {
        DiscoveryFormat::Legacy
    } else {
        DiscoveryFormat::NotAcceptable
    }
}

/// The conversion a resource endpoint should apply, from the first
/// acceptable JSON clause that is either plain or asks for a `meta.k8s.io`
/// conversion we serve (see [`Conversion::is_meta_conversion`]). `None` means
/// "send the object or list itself" (also for an empty header).
pub(crate) fn output_conversion(accept: &str) -> Option<Conversion> {
    json_clauses(accept)
        .find_map(|clause| match clause.conversion() {
            None => Some(None),
            Some(conv) if conv.is_meta_conversion() => Some(Some(conv)),
            Some(_) => None,
        })
        .flatten()
}

/// The form a resource endpoint answers in, as negotiated from `Accept`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// The object or list itself.
    Object,
    /// A `meta.k8s.io` `Table` of this version (`v1` or `v1beta1`).
    Table(String),
    /// A `meta.k8s.io` `PartialObjectMetadata` of this version: answered by
    /// get and watch; a list asked for in this form is a 406, as upstream.
    PartialObjectMetadata(String),
    /// A `meta.k8s.io` `PartialObjectMetadataList` of this version: answered
    /// by list; a single object asked for in this form is a 406.
    PartialObjectMetadataList(String),
}

/// The form a resource request is answered in, or `None` when nothing the
/// client accepts can be served (406).
///
/// As upstream's negotiation with the REST endpoints' restrictions: the
/// first acceptable JSON clause (by `q`, specificity, then order) that is
/// either plain (no `as`/`g`/`v`; other parameters are ignored) or asks for
/// one of the `meta.k8s.io` conversions (`Table`, `PartialObjectMetadata`,
/// `PartialObjectMetadataList`, in `v1` or `v1beta1`) decides; clauses
/// asking for anything else, and protobuf or YAML clauses, are skipped. An
/// empty header means the object itself. Whether the chosen conversion fits
/// the request (a list, or one object) is the handler's question, not this
/// one's: upstream answers a misfit with 406 rather than trying the next
/// clause.
pub fn resource_output(accept: &str) -> Option<Output> {
    if accept.trim().is_empty() {
        return Some(Output::Object);
    }
    json_clauses(accept).find_map(|clause| match clause.conversion() {
        None => Some(Output::Object),
        Some(conv) if conv.is_meta_conversion() => Some(match conv.kind.as_str() {
            "Table" => Output::Table(conv.version),
            "PartialObjectMetadata" => Output::PartialObjectMetadata(conv.version),
            _ => Output::PartialObjectMetadataList(conv.version),
        }),
        Some(_) => None,
    })
}

/// The `meta.k8s.io` version (`v1` or `v1beta1`) of the Table the client
/// prefers (as `kubectl get` asks for with
/// `application/json;as=Table;v=v1;g=meta.k8s.io`), or `None` if it prefers
/// something else.
pub(crate) fn table_version(accept: &str) -> Option<String> {
    output_conversion(accept)
        .filter(|conv| conv.kind == "Table")
        .map(|conv| conv.version)
}

/// Whether the client prefers Table output; see [`table_version`].
pub fn wants_table(accept: &str) -> bool {
    table_version(accept).is_some()
}

/// `/openapi/v2` in gnostic's `openapi.v2.Document` protobuf message, as
/// client-go (kubectl up to 1.28 for validation and `explain`) asks for it.
/// `@` is not allowed in a media type, so Go's `mime` parser (and thus
/// client-go) rejects it in a `Content-Type`: answers carry
/// [`OPENAPI_V2_PROTOBUF`] instead.
pub const OPENAPI_V2_PROTOBUF_DEPRECATED: &str =
    "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";

/// The same representation under its valid spelling, also accepted, and
/// the `Content-Type` of every protobuf answer.
pub const OPENAPI_V2_PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// The representations of `/openapi/v2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenApiV2Format {
    /// `application/json`.
    Json,
    /// The protobuf document ([`OPENAPI_V2_PROTOBUF`]).
    Protobuf,
}

/// The representation of `/openapi/v2` for an `Accept` header, or `None`
/// when the client accepts none of them (406).
///
/// As upstream's OpenAPI handler: the most preferred acceptable clause (by
/// `q`, then specificity, then order) that names JSON or either protobuf
/// spelling decides, parameters ignored; `*/*` and `application/*` mean
/// JSON, as does an empty header.
pub fn openapi_v2_format(accept: &str) -> Option<OpenApiV2Format> {
    if accept.trim().is_empty() {
        return Some(OpenApiV2Format::Json);
    }
    parse_accept(accept)
        .into_iter()
        .filter(MediaType::acceptable)
        .find_map(|clause| {
            if clause.covers_json() {
                return Some(OpenApiV2Format::Json);
            }
            let essence = format!("{}/{}", clause.type_, clause.subtype);
            [OPENAPI_V2_PROTOBUF, OPENAPI_V2_PROTOBUF_DEPRECATED]
                .contains(&essence.as_str())
                .then_some(OpenApiV2Format::Protobuf)
        })
}

/// How a request body is encoded, from its `Content-Type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyFormat {
    /// `application/json` (also the meaning of a missing `Content-Type`).
    Json,
    /// `application/yaml`.
    Yaml,
    /// `application/vnd.kubernetes.protobuf`.
    Protobuf,
    /// `application/json-patch+json` (RFC 6902).
    JsonPatch,
    /// `application/merge-patch+json` (RFC 7386).
    MergePatch,
    /// `application/strategic-merge-patch+json`.
    StrategicMergePatch,
    /// `application/apply-patch+yaml` (server-side apply).
    ApplyPatch,
    /// Anything else; holds the lowercase `type/subtype`.
    Unsupported(String),
}

/// Classifies a `Content-Type`. A missing or blank header means JSON (as
/// upstream's create and update handlers assume); parameters such as
/// `; charset=utf-8` are ignored and the media type compared
/// case-insensitively. Handlers decide which formats their verb allows (a
/// patch requires one of the patch types).
pub fn request_body_format(content_type: Option<&str>) -> BodyFormat {
    let Some(content_type) = content_type.filter(|c| !c.trim().is_empty()) else {
        return BodyFormat::Json;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => BodyFormat::Json,
        "application/yaml" => BodyFormat::Yaml,
        "application/vnd.kubernetes.protobuf" => BodyFormat::Protobuf,
        "application/json-patch+json" => BodyFormat::JsonPatch,
        "application/merge-patch+json" => BodyFormat::MergePatch,
        "application/strategic-merge-patch+json" => BodyFormat::StrategicMergePatch,
        "application/apply-patch+yaml" => BodyFormat::ApplyPatch,
        _ => BodyFormat::Unsupported(essence),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V2: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
    const V2_PROTO: &str =
        "application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
    const V2BETA1: &str =
        "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";

    fn aggregated(profile: Option<&str>) -> DiscoveryFormat {
        DiscoveryFormat::Aggregated {
            profile: profile.map(str::to_owned),
        }
    }

    #[test]
    fn parses_clauses() {
        let clauses = parse_accept(
            " Application/JSON ; as=Table ; v=v1 ; g=meta.k8s.io , text/plain;q=0.5,*;q=0.1",
        );
        assert_eq!(clauses.len(), 3);
        assert_eq!(clauses[0].essence(), "application/json");
        assert_eq!(
            clauses[0].params,
            vec![
                ("as".to_owned(), "Table".to_owned()),
                ("v".to_owned(), "v1".to_owned()),
                ("g".to_owned(), "meta.k8s.io".to_owned())
            ]
        );
        assert_eq!(clauses[0].q, 1.0);
        assert_eq!(
            (clauses[1].essence().as_str(), clauses[1].q),
            ("text/plain", 0.5)
        );
        assert_eq!((clauses[2].essence().as_str(), clauses[2].q), ("*/*", 0.1));
    }

    #[test]
    fn quoted_parameters_may_hold_separators() {
        let clauses = parse_accept(r#"application/json;profile="a,b;c";x="q\"uote",text/html"#);
        assert_eq!(clauses.len(), 2);
        assert_eq!(clauses[0].param("profile"), Some("a,b;c"));
        assert_eq!(clauses[0].param("X"), Some("q\"uote"));
        assert_eq!(clauses[1].essence(), "text/html");
    }

    #[test]
    fn malformed_clauses_are_skipped() {
        let clauses =
            parse_accept("json, /json, application/, a/b/c, ,application/json;novalue;=x");
        assert_eq!(clauses.len(), 1);
        assert_eq!(clauses[0].essence(), "application/json");
        assert!(clauses[0].params.is_empty());
        assert!(parse_accept("").is_empty());
    }

    #[test]
    fn ordering_by_q_then_specificity_then_position() {
        let order = |header: &str| -> Vec<String> {
            parse_accept(header)
                .iter()
                .map(MediaType::essence)
                .collect()
        };
        assert_eq!(
            order("*/*, application/*, application/json, text/plain"),
            ["application/json", "text/plain", "application/*", "*/*"]
        );
        assert_eq!(order("a/x;q=0.2, b/y;q=0.9, c/z"), ["c/z", "b/y", "a/x"]);
        assert_eq!(order("a/x;q=oops, b/y;q=2"), ["b/y", "a/x"]);
        assert_eq!(parse_accept("b/y;q=2")[0].q, 1.0);
    }

    /// Upstream's `TestAggregationEnabled` cases and the clause-skipping rules.
    #[test]
    fn discovery_kind_table() {
        let nopeer = format!("{V2};profile=nopeer");
        let foo = format!("{V2};profile=foo");
        let cases: Vec<(String, DiscoveryFormat)> = vec![
            ("application/json;foo=bar".into(), DiscoveryFormat::Legacy),
            ("".into(), DiscoveryFormat::Legacy),
            ("   ".into(), DiscoveryFormat::Legacy),
            (V2.into(), aggregated(None)),
            ("application/json".into(), DiscoveryFormat::Legacy),
            ("*/*".into(), DiscoveryFormat::Legacy),
            ("application/*".into(), DiscoveryFormat::Legacy),
            (format!("{V2},application/json"), aggregated(None)),
            // Plain clauses are skipped by the aggregated check, as upstream.
            (format!("application/json,{V2}"), aggregated(None)),
            (nopeer.clone(), aggregated(Some("nopeer"))),
            (
                format!("{nopeer},{V2},application/json"),
                aggregated(Some("nopeer")),
            ),
            (foo, aggregated(Some("foo"))),
            // v2beta1 is gone; it is skipped.
            (
                format!("{V2BETA1},application/json"),
                DiscoveryFormat::Legacy,
            ),
            (V2BETA1.into(), DiscoveryFormat::NotAcceptable),
            // Protobuf is never answered; a protobuf aggregated clause is skipped.
            (
                format!("{V2_PROTO},{V2},application/json"),
                aggregated(None),
            ),
            (
                format!("{V2_PROTO},application/json"),
                DiscoveryFormat::Legacy,
            ),
            (V2_PROTO.into(), DiscoveryFormat::NotAcceptable),
            (
                "application/vnd.kubernetes.protobuf".into(),
                DiscoveryFormat::NotAcceptable,
            ),
            (
                "application/vnd.kubernetes.protobuf, */*".into(),
                DiscoveryFormat::Legacy,
            ),
            ("text/html".into(), DiscoveryFormat::NotAcceptable),
            // Wildcards can carry the aggregated parameters too.
            (
                "*/*;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList".into(),
                aggregated(None),
            ),
            // Parameter order does not matter.
            (
                "application/json;as=APIGroupDiscoveryList;v=v2;g=apidiscovery.k8s.io".into(),
                aggregated(None),
            ),
            // q=0 means "not acceptable".
            (
                format!("{V2};q=0,application/json"),
                DiscoveryFormat::Legacy,
            ),
            (
                "application/json;q=0".into(),
                DiscoveryFormat::NotAcceptable,
            ),
            // A Table request is not a discovery format.
            (
                "application/json;as=Table;v=v1;g=meta.k8s.io".into(),
                DiscoveryFormat::NotAcceptable,
            ),
            (",".into(), DiscoveryFormat::NotAcceptable),
        ];
        for (accept, expected) in cases {
            assert_eq!(discovery_kind(&accept), expected, "{accept:?}");
        }
    }

    #[test]
    fn client_go_default_headers() {
        // client-go's defaults (`AcceptV2 + "," + AcceptV1` and the NoPeer variant).
        assert_eq!(
            discovery_kind(&format!("{V2},application/json")),
            aggregated(None)
        );
        assert_eq!(
            discovery_kind(&format!("{V2};profile=nopeer,{V2},application/json")),
            aggregated(Some("nopeer"))
        );
    }

    #[test]
    fn table_negotiation() {
        let kubectl = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        let cases = [
            (kubectl, Some("v1")),
            (
                "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json",
                Some("v1beta1"),
            ),
            ("application/json;as=Table;v=v1;g=meta.k8s.io", Some("v1")),
            ("application/json", None),
            ("", None),
            ("*/*", None),
            // An unserved conversion is skipped in favour of the next clause.
            (
                "application/json;as=Table;v=v2;g=meta.k8s.io,application/json;as=Table;v=v1;g=meta.k8s.io",
                Some("v1"),
            ),
            (
                "application/json;as=Bogus;v=v1;g=example.com,application/json",
                None,
            ),
            // Protobuf tables are never answered.
            (
                "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io,application/json",
                None,
            ),
            // Plain JSON preferred by q.
            (
                "application/json;as=Table;v=v1;g=meta.k8s.io;q=0.5,application/json",
                None,
            ),
            (
                "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json",
                None,
            ),
        ];
        for (accept, expected) in cases {
            assert_eq!(table_version(accept).as_deref(), expected, "{accept:?}");
            assert_eq!(wants_table(accept), expected.is_some(), "{accept:?}");
        }
        assert_eq!(
            output_conversion(
                "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
            ),
            Some(Conversion {
                group: "meta.k8s.io".into(),
                version: "v1".into(),
                kind: "PartialObjectMetadataList".into()
            })
        );
    }

    /// Upstream's negotiation for resource endpoints: metadata-only forms
    /// in both versions, fallbacks to later clauses, and 406 when nothing
    /// can be served.
    #[test]
    fn resource_output_table() {
        use Output::*;
        let pom = |v: &str| PartialObjectMetadata(v.to_owned());
        let poml = |v: &str| PartialObjectMetadataList(v.to_owned());
        // client-go's metadata client (protobuf first, then JSON, then plain).
        let list_header = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";
        let get_header = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json";
        let cases: Vec<(&str, Option<Output>)> = vec![
            ("", Some(Object)),
            ("application/json", Some(Object)),
            ("*/*", Some(Object)),
            ("application/json;charset=utf-8", Some(Object)),
            (list_header, Some(poml("v1"))),
            (get_header, Some(pom("v1"))),
            (
                "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
                Some(pom("v1")),
            ),
            (
                "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1beta1",
                Some(poml("v1beta1")),
            ),
            // Parameter order does not matter.
            (
                "application/json;v=v1;g=meta.k8s.io;as=PartialObjectMetadata",
                Some(pom("v1")),
            ),
            (
                "application/json;as=Table;g=meta.k8s.io;v=v1,application/json",
                Some(Table("v1".into())),
            ),
            // Unserved conversions are skipped for the next clause...
            (
                "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v2,application/json",
                Some(Object),
            ),
            (
                "application/json;as=PartialObjectMetadata;g=example.com;v=v1,application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1beta1",
                Some(pom("v1beta1")),
            ),
            (
                "application/json;as=Bogus;g=meta.k8s.io;v=v1,application/json",
                Some(Object),
            ),
            // ...and alone they are a 406.
            (
                "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v2",
                None,
            ),
            ("application/json;as=Bogus;g=meta.k8s.io;v=v1", None),
            ("application/json;g=meta.k8s.io;v=v1", None),
            ("application/json;as=Deployment;g=apps;v=v1", None),
            ("application/vnd.kubernetes.protobuf", None),
            (
                "application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
                None,
            ),
            ("text/html", None),
            // q decides before order.
            (
                "application/json;q=0.5,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
                Some(poml("v1")),
            ),
            (
                "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1;q=0,application/json",
                Some(Object),
            ),
        ];
        for (accept, expected) in cases {
            assert_eq!(resource_output(accept), expected, "{accept:?}");
        }
    }

    #[test]
    fn body_formats() {
        let cases = [
            (None, BodyFormat::Json),
            (Some(""), BodyFormat::Json),
            (Some("application/json"), BodyFormat::Json),
            (Some("application/json; charset=utf-8"), BodyFormat::Json),
            (Some("Application/JSON;charset=UTF-8"), BodyFormat::Json),
            (Some("application/yaml"), BodyFormat::Yaml),
            (
                Some("application/vnd.kubernetes.protobuf"),
                BodyFormat::Protobuf,
            ),
            (Some("application/json-patch+json"), BodyFormat::JsonPatch),
            (Some("application/merge-patch+json"), BodyFormat::MergePatch),
            (
                Some("application/strategic-merge-patch+json; charset=utf-8"),
                BodyFormat::StrategicMergePatch,
            ),
            (Some("application/apply-patch+yaml"), BodyFormat::ApplyPatch),
            (
                Some("application/x-www-form-urlencoded"),
                BodyFormat::Unsupported("application/x-www-form-urlencoded".into()),
            ),
            (
                Some("Text/Plain; charset=utf-8"),
                BodyFormat::Unsupported("text/plain".into()),
            ),
            (
                Some("application/apply-patch+cbor"),
                BodyFormat::Unsupported("application/apply-patch+cbor".into()),
            ),
        ];
        for (content_type, expected) in cases {
            assert_eq!(
                request_body_format(content_type),
                expected,
                "{content_type:?}"
            );
        }
    }

    #[test]
    fn openapi_v2_representations() {
        use OpenApiV2Format::{Json, Protobuf};
        let at = OPENAPI_V2_PROTOBUF_DEPRECATED;
        let dotted = OPENAPI_V2_PROTOBUF;
        let cases: Vec<(String, Option<OpenApiV2Format>)> = vec![
            ("".into(), Some(Json)),
            ("*/*".into(), Some(Json)),
            ("application/json".into(), Some(Json)),
            ("application/*".into(), Some(Json)),
            // kubectl 1.20 asks for the protobuf form alone.
            (at.into(), Some(Protobuf)),
            (dotted.into(), Some(Protobuf)),
            (at.to_uppercase(), Some(Protobuf)),
            (format!("{dotted}, application/json"), Some(Protobuf)),
            (format!("application/json, {at}"), Some(Json)),
            (format!("application/json;q=0.5, {at}"), Some(Protobuf)),
            (format!("{at};q=0.9, application/json"), Some(Json)),
            (format!("*/*, {dotted}"), Some(Protobuf)),
            (format!("{at};q=0, application/json;q=0.1"), Some(Json)),
            (format!("text/html, {at};charset=x"), Some(Protobuf)),
            ("application/vnd.kubernetes.protobuf".into(), None),
            ("application/yaml, text/html".into(), None),
            (format!("{at};q=0"), None),
        ];
        for (accept, expected) in cases {
            assert_eq!(openapi_v2_format(&accept), expected, "{accept:?}");
        }
    }
}
