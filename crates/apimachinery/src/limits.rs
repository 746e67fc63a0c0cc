//! Bounds checked before a request body is parsed, in one linear pass, so
//! that no body can make a parser's work grow faster than its size.

/// The deepest nesting of `[`/`{` a JSON or YAML body may have (serde_json
/// refuses deeper JSON on its own; YAML flow collections are held to the
/// same bound).
pub const MAX_NESTING_DEPTH: usize = 128;

/// Fails when `body`'s flow collections (`[`…`]`, `{`…`}` outside quoted
/// strings) nest deeper than `max`. One pass, no allocation; quoting is
/// followed for JSON and YAML double and single quotes.
pub fn check_nesting(body: &[u8], max: usize) -> Result<(), String> {
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut escaped = false;
    let mut comment = false;
    let mut previous = b'\n';
    for &b in body {
        let after_space = matches!(previous, b' ' | b'\t' | b'\n' | b'\r');
        previous = b;
        if comment {
            comment = b != b'\n';
            continue;
        }
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if b == b'\\' && q == b'"' {
                    escaped = true;
                } else if b == q {
                    quote = None;
                }
            }
            None => match b {
                b'"' | b'\'' => quote = Some(b),
                // A YAML comment starts at a `#` after whitespace only.
                b'#' if after_space => comment = true,
                b'[' | b'{' => {
                    depth += 1;
                    if depth > max {
                        return Err(format!("the request body nests deeper than {max} levels"));
                    }
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            },
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_flow_nesting_is_refused_in_linear_time() {
        let bomb = format!("x: {}{}", "[".repeat(100_000), "]".repeat(100_000));
        let started = std::time::Instant::now();
        assert!(check_nesting(bomb.as_bytes(), MAX_NESTING_DEPTH).is_err());
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        let ok = format!("{}{}", "[".repeat(128), "]".repeat(128));
        assert!(check_nesting(ok.as_bytes(), MAX_NESTING_DEPTH).is_ok());
    }

    #[test]
    fn brackets_in_strings_and_comments_do_not_count() {
        let s = format!(
            r#"{{"a": "{}", "b": '{}'}} # {}"#,
            "[".repeat(500),
            "{".repeat(500),
            "[".repeat(500)
        );
        assert!(check_nesting(s.as_bytes(), 2).is_ok());
        assert!(check_nesting(br#"{"a": "\"[[["}"#, 1).is_ok());
        // `#` inside a plain scalar is no comment: the nesting after it counts.
        assert!(check_nesting(b"x: [a#[[[]]]]", 2).is_err());
    }
}
