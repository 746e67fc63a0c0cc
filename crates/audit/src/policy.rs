//! The audit policy (`audit.k8s.io/v1` `Policy`): which requests are
//! recorded, at which [`Level`], and which [`Stage`]s are left out.
//!
//! Parsing validates like upstream's `validation.ValidatePolicy` and names
//! the offending field (`rules[2].level: ...`). Matching is a pure function
//! of the policy and the [`RequestAttributes`]; it mirrors upstream's
//! policy checker rule for rule, so a policy file behaves here as it does
//! on kube-apiserver. Nothing here does I/O except [`Policy::load`].

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::attributes::RequestAttributes;
use crate::error::{Error, FieldError, PolicyError};

/// The only `apiVersion` a policy document may carry.
const API_VERSION: &str = "audit.k8s.io/v1";

/// How much of a request is recorded. Ordered: each level records all that
/// the one before it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub enum Level {
    /// Nothing is recorded.
    #[default]
    None,
    /// Who did what to which object, when, and how it ended; no bodies.
    Metadata,
    /// Metadata and the request body (resource requests only).
    Request,
    /// Metadata and both the request and the response bodies (resource
    /// requests only).
    RequestResponse,
}

impl Level {
    const ALL: [Level; 4] = [
        Level::None,
        Level::Metadata,
        Level::Request,
        Level::RequestResponse,
    ];

    /// The name used in policy files and events.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "None",
            Level::Metadata => "Metadata",
            Level::Request => "Request",
            Level::RequestResponse => "RequestResponse",
        }
    }

    fn parse(s: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A point in handling a request at which an event may be emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Stage {
    /// As soon as the request is received, before it is handled.
    RequestReceived,
    /// Once response headers are sent, before the body; only for
    /// long-running requests such as watch.
    ResponseStarted,
    /// Once the response body is complete.
    ResponseComplete,
    /// When handling the request panicked.
    Panic,
}

impl Stage {
    const ALL: [Stage; 4] = [
        Stage::RequestReceived,
        Stage::ResponseStarted,
        Stage::ResponseComplete,
        Stage::Panic,
    ];

    /// The name used in policy files and events.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::RequestReceived => "RequestReceived",
            Stage::ResponseStarted => "ResponseStarted",
            Stage::ResponseComplete => "ResponseComplete",
            Stage::Panic => "Panic",
        }
    }

    fn parse(s: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|st| st.as_str() == s)
    }

    fn bit(self) -> u8 {
        match self {
            Stage::RequestReceived => 1,
            Stage::ResponseStarted => 2,
            Stage::ResponseComplete => 4,
            Stage::Panic => 8,
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of [`Stage`]s: the stages for which no event is emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StageSet(u8);

impl StageSet {
    /// The empty set: every stage is emitted.
    pub const EMPTY: StageSet = StageSet(0);

    /// Whether `stage` is in the set.
    pub fn contains(self, stage: Stage) -> bool {
        self.0 & stage.bit() != 0
    }

    /// The set with `stage` added.
    #[must_use]
    pub fn with(self, stage: Stage) -> StageSet {
        StageSet(self.0 | stage.bit())
    }

    /// Both sets together.
    #[must_use]
    pub fn union(self, other: StageSet) -> StageSet {
        StageSet(self.0 | other.0)
    }

    /// Whether no stage is in the set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl FromIterator<Stage> for StageSet {
    fn from_iter<I: IntoIterator<Item = Stage>>(iter: I) -> Self {
        iter.into_iter().fold(StageSet::EMPTY, StageSet::with)
    }
}

/// A group and resources within it that a [`PolicyRule`] applies to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupResources {
    /// API group; `""` is the core group.
    pub group: String,
    /// Resources: `pods`, `pods/log`, `*`, `pods/*`, `*/scale`. Empty means
    /// every resource and subresource of the group.
    pub resources: Vec<String>,
    /// Object names; empty means every object.
    pub resource_names: Vec<String>,
}

/// One rule of a [`Policy`]. A request matches when it matches every
/// non-empty field (an intersection); empty fields match everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PolicyRule {
    /// The level of requests this rule matches.
    pub level: Level,
    /// Authenticated user names.
    pub users: Vec<String>,
    /// Groups, any one of which the user must belong to.
    pub user_groups: Vec<String>,
    /// Kubernetes verbs (`get`, `list`, `watch`, ...; lower-cased HTTP
    /// methods for non-resource requests).
    pub verbs: Vec<String>,
    /// Resources; a rule with resources never matches non-resource requests.
    pub resources: Vec<GroupResources>,
    /// Namespaces; `""` selects cluster-scoped resources. A rule with
    /// namespaces never matches non-resource requests.
    pub namespaces: Vec<String>,
    /// Non-resource paths: exact, `*`, or a prefix ending in `*`.
    pub non_resource_urls: Vec<String>,
    /// Stages not emitted for requests matching this rule, already united
    /// with the policy-wide `omitStages`.
    pub omit_stages: StageSet,
}

/// A parsed and validated audit policy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Policy {
    rules: Vec<PolicyRule>,
    omit_stages: StageSet,
}

// ---- the wire shape, kept apart so that validation can name fields ----

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PolicyDoc {
    api_version: Option<String>,
    kind: Option<String>,
    #[serde(default)]
    rules: Option<Vec<RuleDoc>>,
    #[serde(default)]
    omit_stages: Vec<String>,
    // `metadata` and `omitManagedFields` (here and in rules) are accepted
    // and ignored, as any unknown field is, like upstream's lenient
    // decoder: stripping managed fields is for the server to do before it
    // hands objects to the event.
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RuleDoc {
    #[serde(default)]
    level: String,
    #[serde(default)]
    users: Vec<String>,
    #[serde(default)]
    user_groups: Vec<String>,
    #[serde(default)]
    verbs: Vec<String>,
    #[serde(default)]
    resources: Vec<GroupResourcesDoc>,
    #[serde(default)]
    namespaces: Vec<String>,
    #[serde(default, rename = "nonResourceURLs")]
    non_resource_urls: Vec<String>,
    #[serde(default)]
    omit_stages: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupResourcesDoc {
    #[serde(default)]
    group: String,
    #[serde(default)]
    resources: Vec<String>,
    #[serde(default)]
    resource_names: Vec<String>,
}

impl Policy {
    /// Reads and parses the policy file named by `--audit-policy-file`.
    ///
    /// A file that cannot be read is an error, as on kube-apiserver: a
    /// configured but absent policy must not silently turn auditing off.
    /// Not configuring a policy at all is the way to have no audit; see
    /// [`Policy::load_optional`].
    pub fn load(path: impl AsRef<Path>) -> Result<Policy, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::PolicyRead {
            path: path.display().to_string(),
            source,
        })?;
        Policy::parse(&text).map_err(|source| Error::PolicyInvalid {
            path: path.display().to_string(),
            source,
        })
    }

    /// [`Policy::load`] when a path is configured; `Ok(None)` (no audit)
    /// when it is not.
    pub fn load_optional(path: Option<&str>) -> Result<Option<Policy>, Error> {
        match path {
            None | Some("") => Ok(None),
            Some(p) => Policy::load(p).map(Some),
        }
    }

    /// Parses a policy document, YAML or JSON (JSON is read as YAML).
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let doc: PolicyDoc = serde_norway::from_str(text).map_err(PolicyError::Decode)?;
        match doc.api_version.as_deref() {
            Some(API_VERSION) => {}
            other => return Err(PolicyError::ApiVersion(other.unwrap_or("").to_owned())),
        }
        match doc.kind.as_deref() {
            Some("Policy") => {}
            other => return Err(PolicyError::Kind(other.unwrap_or("").to_owned())),
        }

        let mut errors = Vec::new();
        let omit_stages = parse_stages(&doc.omit_stages, "omitStages", &mut errors);
        let rules = doc.rules.unwrap_or_default();
        let rules: Vec<PolicyRule> = rules
            .into_iter()
            .enumerate()
            .map(|(i, rule)| parse_rule(rule, &format!("rules[{i}]"), omit_stages, &mut errors))
            .collect();
        if !errors.is_empty() {
            return Err(PolicyError::Invalid(errors));
        }
        if rules.is_empty() {
            return Err(PolicyError::NoRules);
        }
        Ok(Policy { rules, omit_stages })
    }

    /// A policy from rules built in code; each rule's `omit_stages` is
    /// united with `omit_stages`, as when parsing.
    pub fn from_rules(rules: Vec<PolicyRule>, omit_stages: StageSet) -> Policy {
        let rules = rules
            .into_iter()
            .map(|mut r| {
                r.omit_stages = r.omit_stages.union(omit_stages);
                r
            })
            .collect();
        Policy { rules, omit_stages }
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[PolicyRule] {
        &self.rules
    }

    /// The level and omitted stages for a request: those of the first rule
    /// that matches, else [`Level::None`] with the policy-wide stages.
    pub fn level_for(&self, attrs: &RequestAttributes) -> (Level, StageSet) {
        self.rules
            .iter()
            .find(|rule| rule.matches(attrs))
            .map_or((Level::None, self.omit_stages), |rule| {
                (rule.level, rule.omit_stages)
            })
    }
}

fn parse_stages(names: &[String], field: &str, errors: &mut Vec<FieldError>) -> StageSet {
    let mut set = StageSet::EMPTY;
    for (i, name) in names.iter().enumerate() {
        match Stage::parse(name) {
            Some(stage) => set = set.with(stage),
            None => errors.push(FieldError::new(
                format!("{field}[{i}]"),
                format!(
                    "unknown stage {name:?}: allowed stages are {}",
                    Stage::ALL.map(Stage::as_str).join(",")
                ),
            )),
        }
    }
    set
}

fn parse_rule(
    doc: RuleDoc,
    path: &str,
    policy_omit: StageSet,
    errors: &mut Vec<FieldError>,
) -> PolicyRule {
    let level = if doc.level.is_empty() {
        errors.push(FieldError::new(format!("{path}.level"), "required value"));
        Level::None
    } else if let Some(level) = Level::parse(&doc.level) {
        level
    } else {
        errors.push(FieldError::new(
            format!("{path}.level"),
            format!(
                "unknown level {:?}: supported values: {}",
                doc.level,
                Level::ALL.map(Level::as_str).join(", ")
            ),
        ));
        Level::None
    };

    for (i, url) in doc.non_resource_urls.iter().enumerate() {
        if url == "*" {
            continue;
        }
        let field = format!("{path}.nonResourceURLs[{i}]");
        if !url.starts_with('/') {
            errors.push(FieldError::new(
                field.clone(),
                format!("{url:?}: non-resource URL rules must begin with a '/' character"),
            ));
        }
        let mut all_but_last = url.chars();
        all_but_last.next_back();
        if all_but_last.as_str().contains('*') {
            errors.push(FieldError::new(
                field,
                format!("{url:?}: non-resource URL wildcards '*' must be the final character of the rule"),
            ));
        }
    }
    if !doc.non_resource_urls.is_empty()
        && (!doc.resources.is_empty() || !doc.namespaces.is_empty())
    {
        errors.push(FieldError::new(
            format!("{path}.nonResourceURLs"),
            "rules cannot apply to both regular resources and non-resource URLs",
        ));
    }

    let mut resources = Vec::with_capacity(doc.resources.len());
    for (i, gr) in doc.resources.into_iter().enumerate() {
        if !gr.group.is_empty() && !is_dns_subdomain(&gr.group) {
            errors.push(FieldError::new(
                format!("{path}.resources[{i}].group"),
                format!(
                    "{:?}: must be a lower-case DNS subdomain (a group, without a version)",
                    gr.group
                ),
            ));
        }
        if !gr.resource_names.is_empty() && gr.resources.is_empty() {
            errors.push(FieldError::new(
                format!("{path}.resources[{i}].resourceNames"),
                "using resourceNames requires at least one resource",
            ));
        }
        resources.push(GroupResources {
            group: gr.group,
            resources: gr.resources,
            resource_names: gr.resource_names,
        });
    }

    let omit_stages = parse_stages(&doc.omit_stages, &format!("{path}.omitStages"), errors);
    PolicyRule {
        level,
        users: doc.users,
        user_groups: doc.user_groups,
        verbs: doc.verbs,
        resources,
        namespaces: doc.namespaces,
        non_resource_urls: doc.non_resource_urls,
        omit_stages: omit_stages.union(policy_omit),
    }
}

/// RFC 1123 subdomain: lower-case alphanumerics, `-` and `.`, each label
/// starting and ending alphanumeric, at most 253 characters.
fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
                && b.first().is_some_and(u8::is_ascii_alphanumeric)
                && b.last().is_some_and(u8::is_ascii_alphanumeric)
        })
}

// ---- matching ----

impl PolicyRule {
    /// Whether this rule applies to the request.
    pub fn matches(&self, attrs: &RequestAttributes) -> bool {
        let user = &attrs.user;
        if !self.users.is_empty() && !self.users.contains(&user.username) {
            return false;
        }
        if !self.user_groups.is_empty() && !user.groups.iter().any(|g| self.user_groups.contains(g))
        {
            return false;
        }
        if !self.verbs.is_empty() && !self.verbs.contains(&attrs.verb) {
            return false;
        }
        if !self.namespaces.is_empty() || !self.resources.is_empty() {
            return self.matches_resource(attrs);
        }
        if !self.non_resource_urls.is_empty() {
            return !attrs.is_resource_request
                && self
                    .non_resource_urls
                    .iter()
                    .any(|spec| path_matches(&attrs.path, spec));
        }
        true
    }

    fn matches_resource(&self, attrs: &RequestAttributes) -> bool {
        if !attrs.is_resource_request {
            return false;
        }
        // Cluster-scoped requests carry the empty namespace, which `""`
        // in the rule selects.
        if !self.namespaces.is_empty() && !self.namespaces.contains(&attrs.namespace) {
            return false;
        }
        if self.resources.is_empty() {
            return true;
        }
        self.resources
            .iter()
            .filter(|gr| gr.group == attrs.api_group)
            .any(|gr| gr.matches(attrs))
    }
}

impl GroupResources {
    fn matches(&self, attrs: &RequestAttributes) -> bool {
        if self.resources.is_empty() {
            return true;
        }
        if !self.resource_names.is_empty() && !self.resource_names.contains(&attrs.name) {
            return false;
        }
        let resource = attrs.resource.as_str();
        let sub = attrs.subresource.as_str();
        self.resources.iter().any(|spec| {
            if spec == "*" {
                return true;
            }
            // `pods` matches only the resource itself, `pods/log` only that
            // subresource, as RBAC does.
            let exact = if sub.is_empty() {
                spec == resource
            } else {
                spec.split_once('/') == Some((resource, sub))
            };
            exact
                || (!sub.is_empty() && spec.strip_prefix("*/") == Some(sub))
                || spec.strip_suffix("/*") == Some(resource)
        })
    }
}

/// `*` matches every path, `/x*` every path starting with `/x`, anything
/// else only itself.
fn path_matches(path: &str, spec: &str) -> bool {
    if spec == "*" || spec == path {
        return true;
    }
    match spec.strip_suffix('*') {
        Some(prefix) => path.starts_with(prefix.trim_end_matches('*')),
        None => false,
    }
}

#[cfg(test)]
mod tests;
