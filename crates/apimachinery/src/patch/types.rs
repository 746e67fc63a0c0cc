//! The PATCH content types ([`PatchType`]) and what a patch can fail with
//! ([`PatchError`], which knows kube-apiserver's status code).

/// `Content-Type` of an RFC 6902 JSON patch.
pub(crate) const JSON_PATCH_CONTENT_TYPE: &str = "application/json-patch+json";
/// `Content-Type` of an RFC 7386 JSON merge patch.
pub(crate) const MERGE_PATCH_CONTENT_TYPE: &str = "application/merge-patch+json";
/// `Content-Type` of a Kubernetes strategic merge patch.
pub(crate) const STRATEGIC_MERGE_PATCH_CONTENT_TYPE: &str =
    "application/strategic-merge-patch+json";
/// `Content-Type` of a server-side apply request.
pub(crate) const APPLY_PATCH_CONTENT_TYPE: &str = "application/apply-patch+yaml";

use super::excerpt::bounded_message;

/// The media types kube-apiserver accepts for PATCH of a built-in type, in
/// the order its 415 message lists them.
const BUILT_IN_PATCH_TYPES: &[&str] = &[
    JSON_PATCH_CONTENT_TYPE,
    MERGE_PATCH_CONTENT_TYPE,
    STRATEGIC_MERGE_PATCH_CONTENT_TYPE,
    APPLY_PATCH_CONTENT_TYPE,
];

/// The media types accepted for PATCH of a custom resource: no strategic
/// merge patch, since there are no merge keys to merge by.
const CUSTOM_RESOURCE_PATCH_TYPES: &[&str] = &[
    JSON_PATCH_CONTENT_TYPE,
    MERGE_PATCH_CONTENT_TYPE,
    APPLY_PATCH_CONTENT_TYPE,
];

/// The status message kube-apiserver sends with a 422 for a patch that is
/// well-formed but cannot be applied (it hides the cause).
const UNPROCESSABLE_MESSAGE: &str =
    "the server rejected our request due to an error in our request";

/// The four kinds of PATCH request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatchType {
    /// RFC 6902 JSON patch: a JSON array of operations.
    Json,
    /// RFC 7386 JSON merge patch: a JSON object merged key by key.
    Merge,
    /// Kubernetes strategic merge patch: a merge patch that merges lists by
    /// key and understands `$patch` directives. Built-in types only.
    StrategicMerge,
    /// Server-side apply: a YAML (or JSON) object, the applier's full intent.
    Apply,
}

impl PatchType {
    /// The patch type for a request's `Content-Type`, ignoring parameters
    /// such as `; charset=utf-8` and letter case. `None` for anything else
    /// (the server answers 415 with [`accepted_patch_types`]).
    pub fn from_content_type(content_type: &str) -> Option<PatchType> {
        let essence = content_type
            .split_once(';')
            .map_or(content_type, |(essence, _)| essence)
            .trim();
        [
            PatchType::Json,
            PatchType::Merge,
            PatchType::StrategicMerge,
            PatchType::Apply,
        ]
        .into_iter()
        .find(|patch_type| patch_type.content_type().eq_ignore_ascii_case(essence))
    }

    /// The canonical `Content-Type` of this patch type.
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            PatchType::Json => JSON_PATCH_CONTENT_TYPE,
            PatchType::Merge => MERGE_PATCH_CONTENT_TYPE,
            PatchType::StrategicMerge => STRATEGIC_MERGE_PATCH_CONTENT_TYPE,
            PatchType::Apply => APPLY_PATCH_CONTENT_TYPE,
        }
    }
}

/// The PATCH media types a resource accepts, in upstream's order: with
/// strategic merge patch for built-in types, without it for custom
/// resources. This is the `accepted` list of a 415 answer.
pub fn accepted_patch_types(strategic_merge: bool) -> &'static [&'static str] {
    if strategic_merge {
        BUILT_IN_PATCH_TYPES
    } else {
        CUSTOM_RESOURCE_PATCH_TYPES
    }
}

/// Why a patch could not be applied. `Display` is the `metav1.Status`
/// message kube-apiserver sends for the same failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// 400 BadRequest: the body cannot be read as a patch of its type (not
    /// JSON or YAML, not an array of operations, not an object), a strategic
    /// merge directive is malformed or unknown, a list element lacks its
    /// merge key, or an apply patch names the wrong `apiVersion`/`kind` or
    /// sets `metadata.managedFields`. (For the strategic-merge cases that
    /// upstream's merge library does not classify it answers 500 with the
    /// same text; a client error is a 400 here.)
    #[error("{0}")]
    BadRequest(String),
    /// 422 Invalid: the patch is well-formed but does not apply to this
    /// object: a JSON patch `test` failed, a path does not exist, an
    /// operation is unknown, a strategic merge patch holds a list of lists,
    /// or the patched object would nest deeper than
    /// [`MAX_OBJECT_DEPTH`](super::MAX_OBJECT_DEPTH). Upstream hides the cause from the client; `detail` keeps it
    /// for logs.
    #[error("{}", UNPROCESSABLE_MESSAGE)]
    Unprocessable {
        /// What went wrong, for logs only.
        detail: String,
    },
    /// 413 RequestEntityTooLarge: a JSON patch with more operations than
    /// [`PatchLimits::max_operations`](super::PatchLimits) (upstream's
    /// `maxJSONPatchOperations`, [`MAX_JSON_PATCH_OPERATIONS`](super::MAX_JSON_PATCH_OPERATIONS)
    /// by default).
    #[error("The allowed maximum operations in a JSON patch is {max}, got {got}")]
    TooManyOperations {
        /// The limit.
        max: usize,
        /// How many operations the patch holds.
        got: usize,
    },
    /// 413 RequestEntityTooLarge: the patched object, or what the
    /// operations of a JSON patch insert into it together, would be larger
    /// than [`PatchLimits::max_bytes`](super::PatchLimits) (a patch bomb).
    /// `Display` is the whole status message; the server's
    /// `ApiError::RequestEntityTooLarge` takes the text after
    /// `Request entity too large: `, that is `limit is N`.
    #[error("Request entity too large: limit is {limit}")]
    TooLarge {
        /// The size limit in bytes.
        limit: usize,
    },
    /// 400 BadRequest: the patch document nests arrays and objects deeper
    /// than [`MAX_PATCH_DEPTH`](super::MAX_PATCH_DEPTH).
    #[error("the patch nests deeper than {max} levels")]
    TooDeep {
        /// The deepest nesting allowed.
        max: usize,
    },
    /// 415 UnsupportedMediaType: strategic merge patch on a type without
    /// patch merge keys (a custom resource). [`accepted_patch_types`]`(false)`
    /// lists what the client may send instead.
    #[error(
        "the body of the request was in an unknown format - accepted media types include: {}",
        CUSTOM_RESOURCE_PATCH_TYPES.join(", ")
    )]
    StrategicMergeUnsupported,
}

impl PatchError {
    /// The HTTP status code kube-apiserver answers with.
    #[cfg(test)]
    pub(crate) fn http_code(&self) -> u16 {
        match self {
            PatchError::BadRequest(_) => 400,
            PatchError::Unprocessable { .. } => 422,
            PatchError::TooManyOperations { .. } | PatchError::TooLarge { .. } => 413,
            PatchError::TooDeep { .. } => 400,
            PatchError::StrategicMergeUnsupported => 415,
        }
    }

    /// The `metav1.StatusReason` of the answer.
    #[cfg(test)]
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            PatchError::BadRequest(_) => "BadRequest",
            PatchError::Unprocessable { .. } => "Invalid",
            PatchError::TooManyOperations { .. } | PatchError::TooLarge { .. } => {
                "RequestEntityTooLarge"
            }
            PatchError::TooDeep { .. } => "BadRequest",
            PatchError::StrategicMergeUnsupported => "UnsupportedMediaType",
        }
    }
}

/// 400 with `message`, cut to [`MAX_MESSAGE_CHARS`](super::MAX_MESSAGE_CHARS)
/// characters.
pub(crate) fn bad_request(message: impl Into<String>) -> PatchError {
    PatchError::BadRequest(bounded_message(message.into()))
}
