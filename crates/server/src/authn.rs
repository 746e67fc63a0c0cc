//! Authentication: who is making this request.
//!
//! Tried in kube-apiserver's order: request-header (front-proxy) identity,
//! client certificate, bearer token. The first that recognises the request
//! wins; none means anonymous. Request-header identity is believed **only**
//! on a connection whose client certificate chains to
//! `--requestheader-client-ca-file` (and whose common name is allowed when a
//! list is given); everywhere else those headers are ignored, and on every
//! request they are removed before anything downstream sees them.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{Context, bail};
use http::HeaderMap;

use crate::options::RequestHeaderOptions;
use crate::tls::PeerCertificate;

/// The authenticated user, as `user.Info` upstream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct UserInfo {
    pub(crate) name: String,
    pub(crate) uid: String,
    pub(crate) groups: Vec<String>,
    pub(crate) extra: BTreeMap<String, Vec<String>>,
}

/// The group every authenticated user is in.
pub(crate) const AUTHENTICATED_GROUP: &str = "system:authenticated";
/// The user and group of requests without credentials (`--anonymous-auth`).
pub(crate) const ANONYMOUS_USER: &str = "system:anonymous";
pub(crate) const UNAUTHENTICATED_GROUP: &str = "system:unauthenticated";
/// The group that may do anything (bound to `cluster-admin`, and allowed
/// before any authorizer is asked, as upstream).
pub(crate) const MASTERS_GROUP: &str = "system:masters";
/// The user name servers use for requests of their own (peer discovery)
/// and own writes; always in [`MASTERS_GROUP`].
pub(crate) const APISERVER_USER: &str = "system:apiserver";

/// What authentication found out about a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Authenticated {
    /// A verified user.
    User(UserInfo),
    /// No credentials at all: `system:anonymous` when `--anonymous-auth`
    /// allows it, else 401.
    Anonymous,
    /// Credentials that prove nothing: always 401.
    Rejected,
}

impl Authenticated {
    /// The verified user, if any.
    pub(crate) fn user(self) -> Option<UserInfo> {
        match self {
            Authenticated::User(u) => Some(u),
            Authenticated::Anonymous | Authenticated::Rejected => None,
        }
    }
}

impl UserInfo {
    /// `system:anonymous` in `system:unauthenticated`.
    pub(crate) fn anonymous() -> Self {
        Self {
            name: ANONYMOUS_USER.to_owned(),
            groups: vec![UNAUTHENTICATED_GROUP.to_owned()],
            ..Self::default()
        }
    }

    /// Whether the user is in `group`.
    pub(crate) fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }

    /// Adds `system:authenticated`, except to the anonymous user (which a
    /// peer asserts in request headers for a proxied anonymous request).
    pub(crate) fn with_authenticated_group(mut self) -> Self {
        if self.name != ANONYMOUS_USER
            && !self.in_group(UNAUTHENTICATED_GROUP)
            && !self.in_group(AUTHENTICATED_GROUP)
        {
            self.groups.push(AUTHENTICATED_GROUP.to_owned());
        }
        self
    }
}

/// Authenticates requests; built once at start-up.
#[derive(Debug, Clone, Default)]
pub(crate) struct Authenticator {
    tokens: HashMap<String, UserInfo>,
    requestheader: RequestHeaderOptions,
}

impl Authenticator {
    pub(crate) fn new(
        token_file: Option<&Path>,
        requestheader: RequestHeaderOptions,
    ) -> anyhow::Result<Self> {
        let tokens = match token_file {
            Some(path) => parse_token_file(
                &std::fs::read_to_string(path)
                    .with_context(|| format!("reading --token-auth-file {}", path.display()))?,
            )
            .with_context(|| format!("parsing --token-auth-file {}", path.display()))?,
            None => HashMap::new(),
        };
        Ok(Self {
            tokens,
            requestheader,
        })
    }

    /// Who is asking: a user, nobody (no credentials at all), or someone
    /// whose credentials prove nothing (an unknown bearer token), who is
    /// refused whatever `--anonymous-auth` says.
    pub(crate) fn authenticate(
        &self,
        peer: &PeerCertificate,
        headers: &HeaderMap,
    ) -> Authenticated {
        if let Some(user) = self.user_from_request_headers(peer, headers) {
            return Authenticated::User(user.with_authenticated_group());
        }
        if let Some((cn, orgs)) = &peer.client {
            return Authenticated::User(
                UserInfo {
                    name: cn.clone(),
                    groups: orgs.clone(),
                    ..UserInfo::default()
                }
                .with_authenticated_group(),
            );
        }
        let Some(authorization) = headers.get(http::header::AUTHORIZATION) else {
            return Authenticated::Anonymous;
        };
        let token = authorization.to_str().ok().and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
        match token.and_then(|t| self.tokens.get(t)) {
            Some(user) => Authenticated::User(user.clone().with_authenticated_group()),
            // A bearer token nobody issued is a failed login; any other
            // scheme is not ours to judge, as upstream (anonymous).
            None if token.is_some() => Authenticated::Rejected,
            None => Authenticated::Anonymous,
        }
    }

    fn user_from_request_headers(
        &self,
        peer: &PeerCertificate,
        headers: &HeaderMap,
    ) -> Option<UserInfo> {
        let cn = peer.front_proxy.as_ref()?;
        let rh = &self.requestheader;
        if !rh.allowed_names.is_empty() && !rh.allowed_names.iter().any(|n| n == cn) {
            return None;
        }
        let first = |names: &[String]| {
            names.iter().find_map(|n| {
                headers
                    .get(n.as_str())
                    .and_then(|v| v.to_str().ok())
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned)
            })
        };
        let name = first(&rh.username_headers)?;
        let uid = first(&rh.uid_headers).unwrap_or_default();
        let mut groups = Vec::new();
        for h in &rh.group_headers {
            for v in headers.get_all(h.as_str()) {
                if let Ok(v) = v.to_str() {
                    groups.push(v.to_owned());
                }
            }
        }
        let mut extra: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (header, value) in headers {
            for prefix in &rh.extra_headers_prefix {
                let h = header.as_str();
                if h.len() > prefix.len() && h[..prefix.len()].eq_ignore_ascii_case(prefix) {
                    let key = unescape_extra_key(&h[prefix.len()..]).to_ascii_lowercase();
                    if let Ok(v) = value.to_str() {
                        extra.entry(key).or_default().push(v.to_owned());
                    }
                }
            }
        }
        Some(UserInfo {
            name,
            uid,
            groups,
            extra,
        })
    }

    /// Removes every identity header so nothing downstream can mistake a
    /// client's claim for a verified identity.
    pub(crate) fn strip_identity_headers(&self, headers: &mut HeaderMap) {
        let rh = &self.requestheader;
        for name in rh
            .username_headers
            .iter()
            .chain(&rh.uid_headers)
            .chain(&rh.group_headers)
        {
            headers.remove(name.as_str());
        }
        let doomed: Vec<http::HeaderName> = headers
            .keys()
            .filter(|h| {
                rh.extra_headers_prefix.iter().any(|p| {
                    h.as_str().len() >= p.len() && h.as_str()[..p.len()].eq_ignore_ascii_case(p)
                })
            })
            .cloned()
            .collect();
        for h in doomed {
            headers.remove(h);
        }
    }
}

/// Undoes the `%XX` escaping of extra keys in header names.
pub(crate) fn unescape_extra_key(key: &str) -> String {
    let bytes = key.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 3 <= bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// kube-apiserver's static token file: `token,user,uid[,"group1,group2"]`.
fn parse_token_file(text: &str) -> anyhow::Result<HashMap<String, UserInfo>> {
    let mut tokens = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields = split_csv(line);
        if fields.len() < 3 {
            bail!("line {}: want at least token,user,uid", n + 1);
        }
        let groups = fields
            .get(3)
            .map(|g| {
                g.split(',')
                    .map(str::trim)
                    .filter(|g| !g.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        tokens.insert(
            fields[0].clone(),
            UserInfo {
                name: fields[1].clone(),
                uid: fields[2].clone(),
                groups,
                extra: BTreeMap::new(),
            },
        );
    }
    Ok(tokens)
}

fn split_csv(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    fields.push(cur);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn token_file() {
        let t = parse_token_file("abc,alice,1,\"dev,ops\"\n# comment\nxyz,bob,2\n").unwrap();
        assert_eq!(t["abc"].name, "alice");
        assert_eq!(t["abc"].groups, vec!["dev", "ops"]);
        assert!(t["xyz"].groups.is_empty());
        assert!(parse_token_file("only,two").is_err());
    }

    #[test]
    fn request_headers_need_a_front_proxy_certificate() {
        let a = Authenticator::default();
        let h = headers(&[
            ("x-remote-user", "admin"),
            ("x-remote-group", "system:masters"),
        ]);
        assert_eq!(
            a.authenticate(&PeerCertificate::default(), &h),
            Authenticated::Anonymous
        );
        let client = PeerCertificate {
            client: Some(("alice".into(), vec![])),
            front_proxy: None,
        };
        assert_eq!(a.authenticate(&client, &h).user().unwrap().name, "alice");
        let proxy = PeerCertificate {
            client: None,
            front_proxy: Some("front-proxy".into()),
        };
        let u = a.authenticate(&proxy, &h).user().unwrap();
        assert_eq!(u.name, "admin");
        assert_eq!(u.groups, vec!["system:masters", AUTHENTICATED_GROUP]);
    }

    #[test]
    fn allowed_names_restrict_front_proxies() {
        let a = Authenticator {
            requestheader: RequestHeaderOptions {
                allowed_names: vec!["front-proxy".into()],
                ..Default::default()
            },
            ..Default::default()
        };
        let h = headers(&[("x-remote-user", "admin")]);
        let other = PeerCertificate {
            client: None,
            front_proxy: Some("someone-else".into()),
        };
        assert_eq!(a.authenticate(&other, &h), Authenticated::Anonymous);
    }

    #[test]
    fn extra_headers_are_unescaped_and_stripped() {
        let a = Authenticator::default();
        let mut h = headers(&[
            ("x-remote-user", "u"),
            ("x-remote-extra-scopes%2fa", "v1"),
            ("x-remote-extra-scopes%2fa", "v2"),
            ("x-remote-uid", "42"),
        ]);
        let proxy = PeerCertificate {
            client: None,
            front_proxy: Some("p".into()),
        };
        let u = a.authenticate(&proxy, &h).user().unwrap();
        assert_eq!(u.uid, "42");
        assert_eq!(u.extra["scopes/a"], vec!["v1", "v2"]);
        a.strip_identity_headers(&mut h);
        assert!(h.is_empty());
    }
}
