//! The query parameters of list, watch and get that name a point in
//! history (`resourceVersion`, `resourceVersionMatch`), checked as
//! upstream checks them before any storage is read. Pure: no I/O, never
//! panics on user input.

use crate::request_info::GroupKind;
use crate::status::ApiError;
use crate::validation::FieldError;

/// Parses a `resourceVersion` as upstream's storage versioner does: empty
/// and `"0"` mean "any" (`0`); anything else must be a decimal `uint64`
/// (no sign, no spaces). A bad one is 400 with upstream's words:
/// `invalid resource version: resourceVersion: Invalid value: "abc":
/// strconv.ParseUint: parsing "abc": invalid syntax`.
pub fn parse_resource_version(rv: &str) -> Result<u64, ApiError> {
    if rv.is_empty() || rv == "0" {
        return Ok(0);
    }
    let problem = if !rv.bytes().all(|b| b.is_ascii_digit()) {
        "invalid syntax"
    } else {
        match rv.parse::<u64>() {
            Ok(n) => return Ok(n),
            Err(_) => "value out of range",
        }
    };
    let quoted = crate::validation::go_quote(rv);
    let err = FieldError::invalid(
        "resourceVersion",
        rv,
        format!("strconv.ParseUint: parsing {quoted}: {problem}"),
    );
    Err(ApiError::BadRequest(format!(
        "invalid resource version: {err}"
    )))
}

/// What upstream's `ValidateListOptions` refuses in a (non-watch) list's
/// `resourceVersionMatch`, as 422 on `ListOptions.meta.k8s.io`: a match
/// without a `resourceVersion`, with `continue`, of an unknown value, or
/// `Exact` at `"0"`.
pub fn validate_list_options(
    resource_version: &str,
    resource_version_match: &str,
    continue_token: &str,
) -> Result<(), ApiError> {
    let mut causes = Vec::new();
    let field = "resourceVersionMatch";
    let matching = resource_version_match;
    if !matching.is_empty() {
        if resource_version.is_empty() {
            causes.push(FieldError::forbidden(
                field,
                "resourceVersionMatch is forbidden unless resourceVersion is provided",
            ));
        }
        if !continue_token.is_empty() {
            causes.push(FieldError::forbidden(
                field,
                "resourceVersionMatch is forbidden when continue is provided",
            ));
        }
        if matching != "Exact" && matching != "NotOlderThan" {
            causes.push(FieldError::not_supported(
                field,
                matching,
                &["Exact", "NotOlderThan", ""],
            ));
        }
        if matching == "Exact" && resource_version == "0" {
            causes.push(FieldError::forbidden(
                field,
                "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
            ));
        }
    }
    if causes.is_empty() {
        return Ok(());
    }
    Err(ApiError::Invalid {
        kind: GroupKind::new("meta.k8s.io".to_owned(), "ListOptions".to_owned()),
        name: String::new(),
        causes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_versions_parse_as_go_parses_uint64() {
        assert_eq!(parse_resource_version(""), Ok(0));
        assert_eq!(parse_resource_version("0"), Ok(0));
        assert_eq!(parse_resource_version("42"), Ok(42));
        for (rv, problem) in [
            ("abc", "invalid syntax"),
            ("-5", "invalid syntax"),
            ("+5", "invalid syntax"),
            (" 5", "invalid syntax"),
            ("99999999999999999999", "value out of range"),
        ] {
            let err = parse_resource_version(rv).unwrap_err();
            assert_eq!(err.code(), 400, "{rv}");
            assert_eq!(
                err.to_string(),
                format!(
                    "invalid resource version: resourceVersion: Invalid value: \"{rv}\": \
                     strconv.ParseUint: parsing \"{rv}\": {problem}"
                )
            );
        }
    }

    #[test]
    fn resource_version_match_rules_as_upstream() {
        assert!(validate_list_options("", "", "").is_ok());
        assert!(validate_list_options("5", "Exact", "").is_ok());
        assert!(validate_list_options("0", "NotOlderThan", "").is_ok());
        let cases = [
            (
                ("", "Exact", ""),
                "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: \
                 resourceVersionMatch is forbidden unless resourceVersion is provided",
            ),
            (
                ("5", "NotOlderThan", "tok"),
                "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: \
                 resourceVersionMatch is forbidden when continue is provided",
            ),
            (
                ("5", "Newest", ""),
                "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Unsupported \
                 value: \"Newest\": supported values: \"Exact\", \"NotOlderThan\", \"\"",
            ),
            (
                ("0", "Exact", ""),
                "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: \
                 resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
            ),
        ];
        for ((rv, m, c), message) in cases {
            let err = validate_list_options(rv, m, c).unwrap_err();
            assert_eq!(err.code(), 422);
            assert_eq!(err.to_string(), message);
        }
    }
}
