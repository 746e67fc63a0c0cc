//! Go's `%q` formatting, because upstream's RBAC messages (the allow reason,
//! the escalation error) are built with it and clients compare them verbatim.

pub(crate) use skewless_apimachinery::validation::go_quote;

/// A list of strings as Go's `%q` prints a `[]string`: `["a" "b"]`.
pub(crate) fn go_quote_list<S: AsRef<str>>(items: &[S]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| go_quote(s.as_ref())).collect();
    format!("[{}]", quoted.join(" "))
}
